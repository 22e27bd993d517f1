#!/usr/bin/env bash
# Sets up (or refreshes) everything the agent needs, idempotently:
#   .venv with the Python deps, the Rust core, the web UI, config/config.yaml and the default model.
# The steps, their order, the requirement files and llama.cpp's build flags come from
# scripts/setup_steps.json, shared with the Windows twin scripts/setup_local.ps1.
# Compiled results are reused: the llama-cpp-python wheel and the cargo target dir under
# ~/.cache/aiclone, so a second clone on the same machine sets up in about a minute and a second
# run of the same clone in seconds.
# Usage: scripts/setup_local.sh [--dev] [--llama-build]
#   --dev          adds the gateway's packages and the test tools
#   --llama-build  prints the llama.cpp build this machine gets (flags, cache key) and exits
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export AICLONE_CACHE=${AICLONE_CACHE:-$HOME/.cache/aiclone}
STEPS_FILE=$ROOT/scripts/setup_steps.json
VENV=$ROOT/.venv
PY=$VENV/bin/python
DEV=0
SHOW_BUILD=0
for arg in "$@"; do
  case "$arg" in
    --dev) DEV=1 ;;
    --llama-build) SHOW_BUILD=1 ;;
    *) printf 'setup: unknown option %s (expected --dev or --llama-build)\n' "$arg" >&2; exit 2 ;;
  esac
done
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }
hash_files() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

find_python() {
  for candidate in "${AICLONE_PYTHON:-}" python3.13 python3.12 python3.11 python3.10 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

# The Python that reads setup_steps.json: the venv's once it exists.
BASE_PY=$(find_python || true)
JSON_PY=$PY
[ -x "$JSON_PY" ] || JSON_PY=$BASE_PY
[ -n "$JSON_PY" ] || die "Python 3.10+ is required (Debian/Ubuntu: sudo apt-get install -y python3 python3-venv; or set AICLONE_PYTHON to its path)"
# steps_json EXPR: the value of EXPR over the parsed file `d`; lists print one item a line.
steps_json() {
  "$JSON_PY" -c 'import json, sys
v = eval(sys.argv[2], {"d": json.load(open(sys.argv[1], encoding="utf-8"))})
print("\n".join(v) if isinstance(v, list) else v)' "$STEPS_FILE" "$1"
}

mapfile -t AGENT_REQS < <(steps_json 'd["requirements"]["agent"]')
mapfile -t DEV_REQS < <(steps_json 'd["requirements"]["dev"]')
mapfile -t OPTIONAL_PKGS < <(steps_json 'list(d["requirements"]["optional"])')
REQS=()
for r in "${AGENT_REQS[@]}"; do REQS+=("$ROOT/$r"); done
if [ "$DEV" = 1 ]; then for r in "${DEV_REQS[@]}"; do REQS+=("$ROOT/$r"); done; fi

# llama-cpp-python compiles llama.cpp. Its wheel is built once per (version, CMAKE_ARGS, machine,
# Python) into our own cache and installed from there. scripts/llama_build_flags.py picks the flags:
# CUDA for the detected GPU when the driver and the toolkit are there, else the portable CPU build
# (AVX2, not -march=native: native builds pick up AMX tile instructions that crash with SIGILL on
# CPUs or VMs that advertise AMX without enabling it). CMAKE_ARGS set by the owner wins.
llama_build() {
  [ -n "${LLAMA_KEY:-}" ] && return 0
  local line
  while IFS= read -r line; do
    case "$line" in
      CMAKE_ARGS=*) export CMAKE_ARGS=${line#CMAKE_ARGS=} ;;
      CUDACXX=*) export CUDACXX=${line#CUDACXX=} ;;
    esac
  done < <("$JSON_PY" "$ROOT/scripts/llama_build_flags.py")
  [ -n "${CMAKE_ARGS:-}" ] || die "scripts/llama_build_flags.py chose no build flags"
  local package req_files=()
  package=$(steps_json 'd["llama_cpp"]["package"]')
  for r in "${AGENT_REQS[@]}"; do req_files+=("$ROOT/$r"); done
  LLAMA_REQ=$(grep -hE "^${package}==" "${req_files[@]}" | head -n1)
  [ -n "$LLAMA_REQ" ] || die "no pinned $package in ${AGENT_REQS[*]}"
  LLAMA_KEY=$(printf '%s|%s|%s|%s' "$LLAMA_REQ" "$CMAKE_ARGS" "$(uname -m)" "$("$JSON_PY" -c 'import sys; print(sys.version_info[:2])')" | sha256sum | cut -c1-16)
  LLAMA_WHEELS=$AICLONE_CACHE/wheels/llama-$LLAMA_KEY
}
llama_cached() { ls "$LLAMA_WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; }

prerequisite_hint() { steps_json "d['prerequisites']['linux']['$1']"; }

step_prerequisites() {
  # Python itself was checked above: nothing here runs without it.
  local missing=()
  llama_build
  if ! llama_cached && ! command -v c++ >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1 &&
     ! command -v clang++ >/dev/null 2>&1; then
    missing+=("C++ compiler (to compile llama.cpp once): $(prerequisite_hint 'C++ compiler')")
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    printf 'setup: missing prerequisites:\n' >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
}

step_venv() {
  [ -x "$PY" ] && return 0
  step "Creating the virtual environment (.venv) with $($BASE_PY --version)"
  "$BASE_PY" -m venv "$VENV"
  "$PY" -m pip install -q --upgrade pip wheel
}

step_llama_wheel() {
  llama_build
  llama_cached && return 0
  step "Compiling $LLAMA_REQ (once per machine, about 8 minutes on 2 cores; CMAKE_ARGS=$CMAKE_ARGS)"
  # Built into a .tmp folder and renamed when complete: an interrupted build is never taken for a wheel.
  rm -rf "$LLAMA_WHEELS.tmp"
  "$PY" -m pip wheel --no-deps --no-cache-dir -w "$LLAMA_WHEELS.tmp" "$LLAMA_REQ"
  rm -rf "$LLAMA_WHEELS" && mv "$LLAMA_WHEELS.tmp" "$LLAMA_WHEELS"
}

step_python_packages() {
  llama_build
  local stamp
  stamp=$VENV/.deps-$(printf '%s %s' "$(hash_files "${REQS[@]}")" "$LLAMA_KEY" | sha256sum | cut -c1-16)
  [ -f "$stamp" ] && return 0
  step "Installing Python packages"
  # Optional packages are installed on their own afterwards, so that one without a wheel for this
  # platform only switches its feature off instead of failing the whole install.
  local filtered=$VENV/.requirements-without-optional.txt pattern
  pattern=$(printf '%s|' "${OPTIONAL_PKGS[@]}")
  grep -hvE "^(${pattern%|})==" "${REQS[@]}" > "$filtered"
  "$PY" -m pip install --find-links "$LLAMA_WHEELS" -r "$filtered"
  "$PY" -m pip install -q --no-deps --force-reinstall "$LLAMA_WHEELS"/llama_cpp_python-*.whl
  local package pin
  for package in "${OPTIONAL_PKGS[@]}"; do
    pin=$(grep -hE "^${package}==" "${REQS[@]}" | head -n1 | cut -d' ' -f1)
    [ -n "$pin" ] || continue
    "$PY" -m pip install -q "$pin" || printf 'setup: %s did not install: %s\n' "$pin" \
      "$(steps_json "d['requirements']['optional']['$package']")" >&2
  done
  rm -f "$VENV"/.deps-* && touch "$stamp"
}

# The agent's, the gateway's and the wire contract's source trees go on the venv's path,
# so `python -m aiclone_agent` works anywhere.
step_source_paths() {
  local site
  site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  printf '%s\n' "$ROOT/local-inference" "$ROOT/backend" "$ROOT/wire" > "$site/aiclone.pth"
}

step_rust_core() {
  [ -x "$ROOT/scripts/build_rust_core.sh" ] || return 0
  PY=$PY "$ROOT/scripts/build_rust_core.sh"
}

# The admin panel (Vue), rebuilt whenever its sources change. Without Node the agent still runs,
# with its small built-in page.
step_web_ui() {
  PY=$PY "$ROOT/scripts/build_frontend.sh" && return 0
  [ "$DEV" = 1 ] && die "the web UI did not build (see above)"
  printf 'setup: the web UI is not built (Node.js 20+ needed); the agent serves its basic page\n' >&2
}

step_config() {
  if [ ! -f "$ROOT/config/config.yaml" ] && [ -z "${AICLONE_CONFIG:-}" ]; then
    step "Creating config/config.yaml from config/config.default.yaml"
    cp "$ROOT/config/config.default.yaml" "$ROOT/config/config.yaml"
  fi
}

step_model() {
  # scripts/install_clone.sh sets AICLONE_SKIP_MODEL_FETCH: the clone brings its own base model.
  [ -n "${AICLONE_SKIP_MODEL_FETCH:-}" ] && return 0
  "$PY" -m aiclone_agent fetch-model >/dev/null || die "no model: see the message above"
}

if [ "$SHOW_BUILD" = 1 ]; then
  llama_build
  printf 'CMAKE_ARGS=%s\n' "$CMAKE_ARGS"
  printf 'key=%s\n' "$LLAMA_KEY"
  printf 'wheels=%s (%s)\n' "$LLAMA_WHEELS" "$(llama_cached && echo cached || echo 'to compile')"
  exit 0
fi

mapfile -t STEP_IDS < <(steps_json '[s["id"] for s in d["steps"]]')
for id in "${STEP_IDS[@]}"; do
  "step_$id"
done
