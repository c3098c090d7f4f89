#!/usr/bin/env bash
# Check (and, as root on Debian/Ubuntu, install) the system packages Shipyard needs.
#   tools/system-deps.sh up     Python 3.11+, Node.js and npm (to build the web assets)
#   tools/system-deps.sh test   the above plus Chromium, PostgreSQL and bubblewrap
set -euo pipefail
purpose=${1:-up}

missing=()
have() { command -v "$1" >/dev/null 2>&1; }
have node || missing+=(nodejs)
have npm || missing+=(npm)
if [ "$purpose" = test ]; then
  have "${CHROMIUM_PATH:-/usr/bin/chromium}" || [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
  have bwrap || missing+=(bubblewrap)
  have initdb || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && have apt-get; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing system packages: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
