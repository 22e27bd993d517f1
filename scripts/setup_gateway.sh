#!/usr/bin/env bash
# Sets up (or refreshes) what the gateway needs, idempotently: .venv with requirements.txt,
# backend/ + wire/ on its path, and the chat page. No model, no compiler: all a VDS needs.
# A second run with unchanged requirements takes well under a second.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$ROOT/.venv
PY=$VENV/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

if [ ! -x "$PY" ]; then
  BASE_PY=""
  for candidate in "${AICLONE_PYTHON:-}" python3.12 python3.11 python3.10 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      BASE_PY=$candidate; break
    fi
  done
  [ -n "$BASE_PY" ] || die "Python 3.10+ is required for the gateway (set AICLONE_PYTHON to its path)"
  step "Creating the virtual environment (.venv) with $($BASE_PY --version)"
  "$BASE_PY" -m venv "$VENV"
  "$PY" -m pip install -q --upgrade pip wheel
fi

STAMP=$VENV/.gateway-deps-$(sha256sum "$ROOT/requirements.txt" | cut -c1-16)
if [ ! -f "$STAMP" ]; then
  step "Installing the gateway's Python packages"
  "$PY" -m pip install -q -r "$ROOT/requirements.txt"
  rm -f "$VENV"/.gateway-deps-* && touch "$STAMP"
fi

SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
printf '%s\n' "$ROOT/backend" "$ROOT/wire" > "$SITE/aiclone-gateway.pth"

# The public chat (Vue PWA) the gateway serves at /. Without Node the API still runs.
"$ROOT/scripts/build_frontend.sh" ||
  printf 'setup: the chat page is not built (Node.js 20+ needed); the gateway serves its API only\n' >&2
