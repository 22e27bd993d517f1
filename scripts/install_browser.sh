#!/usr/bin/env bash
# Installs Debian's Chromium for the frontend's end-to-end tests (playwright-core drives it;
# no browser download). Idempotent: does nothing when the browser is already there.
# Usage: scripts/install_browser.sh   (needs root or sudo for apt-get)
set -euo pipefail

BROWSER=${AICLONE_CHROMIUM:-/usr/bin/chromium}
if [ -x "$BROWSER" ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install_browser: run as root or install sudo to apt-get install chromium" >&2; exit 1; }
  SUDO="sudo"
fi

printf '\033[1m==> %s\033[0m\n' "Installing Chromium (apt) for the browser tests"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when apt does not know the package yet.
if ! apt-cache show chromium >/dev/null 2>&1; then
  $SUDO apt-get update -q
fi
$SUDO apt-get install -y -q --no-install-recommends chromium
[ -x "$BROWSER" ] || { echo "install_browser: $BROWSER is still missing after apt-get" >&2; exit 1; }
