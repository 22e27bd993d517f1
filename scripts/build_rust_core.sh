#!/usr/bin/env bash
# Builds clone_core (rust-core/) in release mode and installs it into the venv of $PY.
# Idempotent: skips everything when the stamp (hash of the Rust sources, Cargo.lock and the
# Python version) matches the installed build. Cargo's target dir is shared across clones unless
# CARGO_TARGET_DIR is set; each build writes its wheel to its own folder, so parallel builds
# (several worktrees) cannot delete each other's wheel.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PY:?set PY to the venv python, e.g. PY=.venv/bin/python}"
CACHE="${AICLONE_CACHE:-$HOME/.cache/aiclone}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/cargo-target}"

stamp_of() {
  {
    "$PY" -c 'import sys; print(sys.version)'
    cd "$ROOT"
    find rust-core -type f \( -name '*.rs' -o -name '*.toml' -o -name '*.py' -o -name '*.pyi' -o -name 'py.typed' \) \
      -not -path '*/__pycache__/*' | LC_ALL=C sort | xargs sha256sum
    sha256sum Cargo.toml Cargo.lock
  } | sha256sum | cut -d' ' -f1
}

STAMP="$(stamp_of)"
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
STAMP_FILE="$SITE/clone_core.build-stamp"

if [[ -f "$STAMP_FILE" && "$(cat "$STAMP_FILE")" == "$STAMP" ]] && "$PY" -c 'import clone_core' 2>/dev/null; then
  echo "clone_core: up to date (${STAMP:0:12})"
  exit 0
fi

"$PY" -m maturin --version >/dev/null 2>&1 || "$PY" -m pip install -q 'maturin>=1.7,<2'
mkdir -p "$CACHE/wheels"
WHEELS="$(mktemp -d "$CACHE/wheels/clone_core.XXXXXX")"
trap 'rm -rf "$WHEELS"' EXIT
LOG="$WHEELS.log"
if ! { "$PY" -m maturin build --release -i "$PY" -m "$ROOT/rust-core/python/Cargo.toml" -o "$WHEELS" \
      && "$PY" -m pip install -q --force-reinstall --no-deps "$WHEELS"/clone_core-*.whl; } >"$LOG" 2>&1; then
  tail -n 40 "$LOG" >&2
  echo "clone_core: build failed (full log: $LOG)" >&2
  exit 1
fi
echo "$STAMP" >"$STAMP_FILE"
rm -f "$LOG"
echo "clone_core: built and installed into $SITE (${STAMP:0:12})"
