#!/usr/bin/env bash
# ./scripts/test.sh - the same setup as ./run.sh (plus test tools), then every suite:
# cargo test/fmt/clippy, ruff (lint and format) and mypy, pytest (agent, gateway on SQLite and PostgreSQL, Rust core), the web
# UI's unit tests (Vitest) and its end-to-end tests in Chromium (Playwright) against real servers.
# Extra arguments go to pytest (e.g. ./scripts/test.sh -k openai).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

"$ROOT/scripts/setup_local.sh" --dev
PY=$ROOT/.venv/bin/python
"$ROOT/scripts/install_browser.sh"
eval "$("$ROOT/scripts/test_services.sh")"  # PostgreSQL for the gateway's tests
export AICLONE_TEST_MODEL=${AICLONE_TEST_MODEL:-$ROOT/models/base/SmolLM2-135M-Instruct.Q4_1.gguf}

status=0
if [ -f "$ROOT/Cargo.toml" ]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${AICLONE_CACHE:-$HOME/.cache/aiclone}/cargo-target}
  printf '\033[1m==> cargo test\033[0m\n'
  cargo test --workspace --quiet || status=1
  printf '\033[1m==> cargo fmt --check\033[0m\n'
  cargo fmt --all -- --check || status=1
  printf '\033[1m==> cargo clippy\033[0m\n'
  cargo clippy --workspace --all-targets --quiet -- -D warnings || status=1
fi

printf '\033[1m==> ruff check, ruff format --check, mypy\033[0m\n'
"$PY" -m ruff check . || status=1
"$PY" -m ruff format --check . || status=1
"$PY" -m mypy || status=1

printf '\033[1m==> pytest\033[0m\n'
"$PY" -m pytest "$@" || status=1

printf '\033[1m==> web UI: type check, unit tests (Vitest), end-to-end (Playwright + Chromium)\033[0m\n'
npm --prefix "$ROOT/frontend" run --silent type-check || status=1
npm --prefix "$ROOT/frontend" run --silent test:unit || status=1
npm --prefix "$ROOT/frontend" run --silent test:e2e || status=1
exit $status
