#!/usr/bin/env bash
# ./run.sh [agent|gateway|stack] - set up on first run, then start.
#   agent (default): the local agent on http://127.0.0.1:3000 (admin, local chat, OpenAI API)
#   gateway: the public gateway on 0.0.0.0:8000 (AICLONE_GATEWAY_PORT overrides; see .env.universal)
#   stack: gateway + agent on this machine, the agent linked to the gateway (Ctrl-C stops both)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODE=${1:-agent}

case "$MODE" in
  agent) ;;
  gateway)
    "$ROOT/scripts/setup_gateway.sh"
    exec "$ROOT/.venv/bin/python" -m aiclone_gateway serve ;;
  stack)
    exec "$ROOT/scripts/run_stack.sh" ;;
  -h|--help|help)
    sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *)
    echo "run.sh: unknown mode '$MODE' (expected agent, gateway or stack)" >&2; exit 2 ;;
esac

"$ROOT/scripts/setup_local.sh"
exec "$ROOT/.venv/bin/python" -m aiclone_agent serve
