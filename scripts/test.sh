#!/usr/bin/env bash
# ./scripts/test.sh - the same setup as ./run.sh (plus test tools), then every suite:
# cargo test/fmt/clippy, ruff (lint and format) and mypy, pytest (agent, gateway, Rust core; the
# tests marked `databases` on SQLite and PostgreSQL), the web UI's type check, unit tests (Vitest)
# and end-to-end tests in Chromium (Playwright) against real servers. Each stage's time is printed
# at the end, and pytest's 25 slowest tests (docs/testing.md says why each takes what it takes).
#
#   ./scripts/test.sh [pytest args]          everything (what CI runs)
#   ./scripts/test.sh --quick [pytest args]  the inner loop: lint, types, cargo test, the tests that
#                                            start no process (pytest -m "not process and not
#                                            browser and not slow"), Vitest; no services, no browser
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

QUICK=0
if [ "${1:-}" = "--quick" ]; then
  QUICK=1
  shift
fi

STAGES=()
stage_started=0
begin() {
  printf '\033[1m==> %s\033[0m\n' "$1"
  stage_name=$1
  stage_started=$SECONDS
}
finish() { STAGES+=("$(printf '%5ss  %s' $((SECONDS - stage_started)) "$stage_name")"); }

begin "setup"
"$ROOT/scripts/setup_local.sh" --dev
PY=$ROOT/.venv/bin/python
if [ $QUICK = 0 ]; then
  "$ROOT/scripts/install_browser.sh"
  eval "$("$ROOT/scripts/test_services.sh")"  # PostgreSQL and Redis for the gateway's tests
fi
export AICLONE_TEST_MODEL=${AICLONE_TEST_MODEL:-$ROOT/models/base/SmolLM2-135M-Instruct.Q4_1.gguf}
finish

status=0
# CI shows only the end of this script's output: every failing command and its failures are printed
# again there (a lint error once scrolled out of sight and failed a submission).
FAILURES=$(mktemp)
trap 'rm -f "$FAILURES" "$FAILURES".out' EXIT
recorded() {  # recorded PATTERN CMD...: run CMD, keep its lines matching PATTERN for the end
  local pattern=$1
  shift
  "$@" 2>&1 | tee "$FAILURES.out"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" != 0 ]; then
    { printf '%s (exit %s):\n' "$*" "$rc"; grep -E "$pattern" "$FAILURES.out" | tail -n 40; } >>"$FAILURES"
  fi
  return "$rc"
}

if [ -f "$ROOT/Cargo.toml" ]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${AICLONE_CACHE:-$HOME/.cache/aiclone}/cargo-target}
  begin "cargo test, fmt --check, clippy"
  recorded 'FAILED|panicked' cargo test --workspace --quiet || status=1
  recorded '^Diff in' cargo fmt --all -- --check || status=1
  recorded '^(error|warning)|-->' cargo clippy --workspace --all-targets --quiet -- -D warnings || status=1
  finish
fi

begin "ruff check, ruff format --check, mypy"
recorded '^[A-Z]+[0-9]+ |-->' "$PY" -m ruff check . || status=1
recorded '^Would reformat' "$PY" -m ruff format --check . || status=1
recorded 'error:' "$PY" -m mypy || status=1
finish

if [ $QUICK = 1 ]; then
  begin "pytest (quick: no process, browser or slow tests)"
  # A test that starts a process without its marker fails at the start (tests/support/processes.py).
  AICLONE_TEST_QUICK=1 recorded '^(FAILED|ERROR) ' "$PY" -m pytest -m "not process and not browser and not slow" --durations=10 "$@" || status=1
  finish
  begin "web UI: type check, unit tests (Vitest)"
  recorded 'error' npm --prefix "$ROOT/frontend" run --silent type-check || status=1
  recorded '(FAIL|✗|×) ' npm --prefix "$ROOT/frontend" run --silent test:unit || status=1
  finish
else
  begin "pytest"
  recorded '^(FAILED|ERROR) ' "$PY" -m pytest --durations=25 "$@" || status=1
  finish
  begin "web UI: type check, unit tests (Vitest), end-to-end (Playwright + Chromium)"
  recorded 'error' npm --prefix "$ROOT/frontend" run --silent type-check || status=1
  recorded '(FAIL|✗|×) ' npm --prefix "$ROOT/frontend" run --silent test:unit || status=1
  recorded '✖ ' npm --prefix "$ROOT/frontend" run --silent test:e2e || status=1
  finish
fi

printf '\033[1m==> stage times\033[0m\n'
printf '%s\n' "${STAGES[@]}"
if [ -s "$FAILURES" ]; then
  printf '\033[1m==> failures\033[0m\n'
  cat "$FAILURES"
fi
exit $status
