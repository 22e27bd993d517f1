#!/usr/bin/env bash
# Installs Debian's Chromium for the frontend's end-to-end tests (playwright-core drives it;
# no browser download) and the DejaVu fonts (screenshots; the Russian PDF the RAG tests build).
# Idempotent: does nothing when both are already there.
# Usage: scripts/install_browser.sh   (needs root or sudo for apt-get)
set -euo pipefail

BROWSER=${AICLONE_CHROMIUM:-/usr/bin/chromium}
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
if [ -x "$BROWSER" ] && [ -f "$FONT" ]; then
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
if ! apt-cache show chromium fonts-dejavu-core >/dev/null 2>&1; then
  $SUDO apt-get update -q
fi
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
[ -x "$BROWSER" ] || { echo "install_browser: $BROWSER is still missing after apt-get" >&2; exit 1; }
