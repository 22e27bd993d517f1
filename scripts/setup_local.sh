#!/usr/bin/env bash
# Sets up (or refreshes) everything the agent needs, idempotently:
#   .venv with the Python deps, the Rust core, the web UI, config/config.yaml and the default model.
# Compiled results are reused: pip's wheel cache (llama-cpp-python), the cargo target dir
# under ~/.cache/aiclone, so a second clone on the same machine sets up in about a minute
# and a second run of the same clone in seconds.
# Usage: scripts/setup_local.sh [--dev]   (--dev adds the gateway's packages and the test tools)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export AICLONE_CACHE=${AICLONE_CACHE:-$HOME/.cache/aiclone}
VENV=$ROOT/.venv
PY=$VENV/bin/python
DEV=0
[ "${1:-}" = "--dev" ] && DEV=1
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

find_python() {
  for candidate in "${AICLONE_PYTHON:-}" python3.12 python3.11 python3.10 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

hash_files() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

if [ ! -x "$PY" ]; then
  BASE_PY=$(find_python) || die "Python 3.10+ is required (set AICLONE_PYTHON to its path)"
  step "Creating the virtual environment (.venv) with $($BASE_PY --version)"
  "$BASE_PY" -m venv "$VENV"
  "$PY" -m pip install -q --upgrade pip wheel
fi

# llama-cpp-python compiles llama.cpp. We build its wheel once per (version, CMAKE_ARGS, Python)
# into our own cache and install from there. The default CPU build targets AVX2 rather than
# -march=native: native builds pick up AMX tile instructions that crash (SIGILL) on CPUs or VMs
# that advertise AMX without enabling it. For a GPU build: CMAKE_ARGS="-DGGML_CUDA=on" ./run.sh
LLAMA_REQ=$(grep -E '^llama-cpp-python==' "$ROOT/requirements-local.txt")
export CMAKE_ARGS=${CMAKE_ARGS:-"-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"}
LLAMA_KEY=$(printf '%s|%s|%s|%s' "$LLAMA_REQ" "$CMAKE_ARGS" "$(uname -m)" "$("$PY" -c 'import sys; print(sys.version_info[:2])')" | sha256sum | cut -c1-16)
LLAMA_WHEELS=$AICLONE_CACHE/wheels/llama-$LLAMA_KEY
if ! ls "$LLAMA_WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  step "Compiling $LLAMA_REQ (once per machine, about 8 minutes on 2 cores; CMAKE_ARGS=$CMAKE_ARGS)"
  "$PY" -m pip wheel --no-deps --no-cache-dir -w "$LLAMA_WHEELS.tmp" "$LLAMA_REQ"
  rm -rf "$LLAMA_WHEELS" && mv "$LLAMA_WHEELS.tmp" "$LLAMA_WHEELS"
fi

REQS=("$ROOT/requirements-local.txt")
[ "$DEV" = 1 ] && REQS+=("$ROOT/requirements.txt" "$ROOT/requirements-dev.txt")
STAMP=$VENV/.deps-$(printf '%s %s' "$(hash_files "${REQS[@]}")" "$LLAMA_KEY" | sha256sum | cut -c1-16)
if [ ! -f "$STAMP" ]; then
  step "Installing Python packages"
  args=(--find-links "$LLAMA_WHEELS")
  for r in "${REQS[@]}"; do args+=(-r "$r"); done
  "$PY" -m pip install "${args[@]}"
  "$PY" -m pip install -q --no-deps --force-reinstall "$LLAMA_WHEELS"/llama_cpp_python-*.whl
  rm -f "$VENV"/.deps-* && touch "$STAMP"
fi

# The agent's, the gateway's and the wire contract's source trees go on the venv's path,
# so `python -m aiclone_agent` works anywhere.
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
printf '%s\n' "$ROOT/local-inference" "$ROOT/backend" "$ROOT/wire" > "$SITE/aiclone.pth"

if [ -x "$ROOT/scripts/build_rust_core.sh" ]; then
  PY=$PY "$ROOT/scripts/build_rust_core.sh"
fi

# The admin panel (Vue). Without Node the agent still runs, with its small built-in page.
if ! "$ROOT/scripts/build_frontend.sh"; then
  [ "$DEV" = 1 ] && die "the web UI did not build (see above)"
  printf 'setup: the web UI is not built (Node.js 20+ needed); the agent serves its basic page\n' >&2
fi

if [ ! -f "$ROOT/config/config.yaml" ] && [ -z "${AICLONE_CONFIG:-}" ]; then
  step "Creating config/config.yaml from config/config.default.yaml"
  cp "$ROOT/config/config.default.yaml" "$ROOT/config/config.yaml"
fi

# scripts/install_clone.sh sets AICLONE_SKIP_MODEL_FETCH: the clone brings its own base model.
if [ -z "${AICLONE_SKIP_MODEL_FETCH:-}" ]; then
  "$PY" -m aiclone_agent fetch-model >/dev/null || die "no model: see the message above"
fi
