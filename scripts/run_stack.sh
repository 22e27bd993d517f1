#!/usr/bin/env bash
# ./run.sh stack: the gateway (0.0.0.0:$AICLONE_GATEWAY_PORT, default 8000) and the agent
# (127.0.0.1:3000) on this machine, the agent linked to the gateway with a fresh agent token
# (written to config/config.yaml's gateway section). Ctrl-C stops both.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=$ROOT/.venv/bin/python

"$ROOT/scripts/setup_local.sh"
"$ROOT/scripts/setup_gateway.sh"

PORT=${AICLONE_GATEWAY_PORT:-8000}
export AICLONE_GATEWAY_PORT=$PORT
TOKEN=$("$PY" -m aiclone_gateway create-agent-token --name stack --replace | tail -n 1)
"$PY" - "ws://127.0.0.1:$PORT" "$TOKEN" <<'PYEOF'
import sys
from aiclone_agent.core.config import ConfigStore, EnvSettings

url, token = sys.argv[1], sys.argv[2]
ConfigStore(EnvSettings().config).update(lambda data: data["gateway"].update(url=url, agent_token=token))
print(f"agent: linking to {url}")
PYEOF

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$PY" -m aiclone_gateway serve &
pids+=($!)
for _ in $(seq 1 100); do
  "$PY" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz', timeout=1)" 2>/dev/null && break
  sleep 0.2
done
"$PY" -m aiclone_agent serve &
pids+=($!)
echo "stack: public chat and API on http://127.0.0.1:$PORT, admin on http://127.0.0.1:${AICLONE_PORT:-3000} (Ctrl-C stops both)"
wait -n "${pids[@]}"
