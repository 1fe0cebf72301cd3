#!/bin/sh
# Debian's chromium for the console's browser tests (Playwright launches it by path; its own
# browser download is not used). Quiet and quick when it is there already.
set -eu
CHROMIUM="${ZAKOPS_CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo -n"
else
    SUDO=""
fi
echo "installing chromium for the browser tests (apt-get)..." >&2
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
