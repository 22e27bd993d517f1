#!/usr/bin/env bash
# Builds the web UI (frontend/) into frontend/dist/{chat,admin}, idempotently:
#   npm ci     only when package-lock.json changed (stamp in node_modules/),
#   vite build only when the sources or the lock changed (stamp in dist/), so an update that
#   touches the UI always rebuilds it.
# npm's own cache (~/.npm) makes installs in fresh clones fast. A second run takes about a second.
# Usage: scripts/build_frontend.sh [--force]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FRONTEND=$ROOT/frontend
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'build_frontend: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || die "Node.js 20+ is required to build the web UI (https://nodejs.org)"
command -v npm >/dev/null 2>&1 || die "npm is required to build the web UI"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  die "Node.js 20+ is required (found $(node --version))"

cd "$FRONTEND"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

LOCK_HASH=$(sha256sum package-lock.json | cut -c1-16)
DEPS_STAMP=node_modules/.aiclone-deps-$LOCK_HASH
if [ "$FORCE" = 1 ] || [ ! -f "$DEPS_STAMP" ]; then
  step "Installing the web UI's packages (npm ci)"
  npm ci --no-audit --no-fund --prefer-offline
  rm -f node_modules/.aiclone-deps-* && touch "$DEPS_STAMP"
fi

# Everything the build reads (web_ui.inputs in scripts/setup_steps.json, shared with
# build_frontend.ps1); file names and contents both count.
STEPS_PY=${PY:-python3}
mapfile -t PATTERNS < <("$STEPS_PY" -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))["web_ui"]["inputs"]))' "$ROOT/scripts/setup_steps.json")
EXCLUDE=$("$STEPS_PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["web_ui"]["exclude"])' "$ROOT/scripts/setup_steps.json")
INPUTS=()
for pattern in "${PATTERNS[@]}"; do
  for path in $pattern; do [ -e "$path" ] && INPUTS+=("$path"); done
done
SOURCE_HASH=$(
  find "${INPUTS[@]}" -type f ! -name "$EXCLUDE" -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
)
BUILD_STAMP=dist/.aiclone-build-$SOURCE_HASH
if [ "$FORCE" = 1 ] || [ ! -f "$BUILD_STAMP" ] || [ ! -f dist/chat/index.html ] || [ ! -f dist/admin/index.html ]; then
  step "Building the web UI (vite build: frontend/dist/chat, frontend/dist/admin)"
  npm run --silent build
  rm -f dist/.aiclone-build-* && touch "$BUILD_STAMP"
fi
