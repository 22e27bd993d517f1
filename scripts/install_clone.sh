#!/usr/bin/env bash
# Installs a clone trained on the platform into this bundle, then starts it (the platform's
# "install" command). The download logic is Python's (python -m aiclone_agent install-clone),
# shared with scripts/install_clone.ps1; see docs/clone_bundle.md for what the platform serves.
# Usage: scripts/install_clone.sh --clone-id ID --token KEY [--platform URL] [--dir DIR] [--no-start]
#   --dir DIR    the bundle folder to install into (default: this one)
#   --no-start   install only; do not run ./run.sh afterwards
#   The key can also come from AICLONE_PLATFORM_TOKEN (then it stays out of the process list).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
START=1
DIR=$ROOT
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-start) START=0 ;;
    --dir) [ $# -ge 2 ] || { echo "install_clone.sh: --dir needs a folder" >&2; exit 2; }
           DIR=$2; ARGS+=("$1" "$2"); shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ARGS+=("$1") ;;
  esac
  shift
done
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

# The Python environment first (idempotent, seconds when already set up); no default model:
# the clone brings its own base model.
if [ -z "${AICLONE_SKIP_SETUP:-}" ]; then
  AICLONE_SKIP_MODEL_FETCH=1 "$ROOT/scripts/setup_local.sh"
fi
"$ROOT/.venv/bin/python" -m aiclone_agent install-clone "${ARGS[@]}"

[ "$START" = 1 ] || exit 0
if [ "$DIR" != "$ROOT" ]; then
  export AICLONE_CONFIG=$DIR/config/config.yaml AICLONE_MODELS_DIR=$DIR/models AICLONE_DATA_DIR=$DIR/data
fi
exec "$ROOT/run.sh"
