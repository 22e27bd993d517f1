#!/usr/bin/env bash
# ./run.sh [agent|gateway|stack] - set up on first run, then start.
#   agent (default): the local agent on http://127.0.0.1:3000 (admin, local chat, OpenAI API)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODE=${1:-agent}

case "$MODE" in
  agent) ;;
  gateway|stack)
    echo "run.sh: '$MODE' needs the gateway (backend/), which is not part of this release yet; use ./run.sh agent" >&2
    exit 2 ;;
  -h|--help|help)
    sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *)
    echo "run.sh: unknown mode '$MODE' (expected agent, gateway or stack)" >&2; exit 2 ;;
esac

"$ROOT/scripts/setup_local.sh"
exec "$ROOT/.venv/bin/python" -m aiclone_agent serve
