#!/usr/bin/env bash
# ./run.sh [agent|gateway|stack|stop] - set up on first run, then start.
#   agent (default): the local agent on http://127.0.0.1:3000 (admin, local chat, OpenAI API)
#   gateway: the public gateway on 0.0.0.0:8000 (AICLONE_GATEWAY_PORT overrides; see .env.universal)
#   stack: gateway + agent on this machine, the agent linked to the gateway (Ctrl-C stops both)
#   stop: stops the agent this folder started (what the Windows "Stop AI Clone" shortcut runs)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODE=${1:-agent}
PID_FILE=${AICLONE_DATA_DIR:-$ROOT/data}/agent.pid

case "$MODE" in
  agent) ;;
  stop)
    pid=$(cat "$PID_FILE" 2>/dev/null || true)
    if [ -z "$pid" ] || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'aiclone_agent serve'; then
      echo "run.sh: the agent is not running"; rm -f "$PID_FILE"; exit 0
    fi
    kill -TERM "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then echo "run.sh: the agent (pid $pid) did not stop in 15 s" >&2; exit 1; fi
    rm -f "$PID_FILE"; echo "run.sh: the agent stopped"; exit 0 ;;
  gateway)
    "$ROOT/scripts/setup_gateway.sh"
    exec "$ROOT/.venv/bin/python" -m aiclone_gateway serve ;;
  stack)
    exec "$ROOT/scripts/run_stack.sh" ;;
  -h|--help|help)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *)
    echo "run.sh: unknown mode '$MODE' (expected agent, gateway, stack or stop)" >&2; exit 2 ;;
esac

"$ROOT/scripts/setup_local.sh"
mkdir -p "$(dirname "$PID_FILE")"
echo $$ >"$PID_FILE"  # exec keeps this pid: `./run.sh stop` finds the agent by it
exec "$ROOT/.venv/bin/python" -m aiclone_agent serve
