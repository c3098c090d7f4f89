#!/usr/bin/env bash
# Check (and, as root on Debian/Ubuntu, install) the system packages Shipyard needs.
#   tools/system-deps.sh up     Node.js and npm (to build the web assets), and what safe
#                               sessions need: bubblewrap, slirp4netns, nftables, bindfs,
#                               libseccomp, util-linux's setpriv and nsenter; skopeo, umoci
#                               and mmdebstrap for environments that are OCI images
#   tools/system-deps.sh test   the above plus Chromium, PostgreSQL and CJK fonts (Korean
#                               pages in browser tests and screenshots show real glyphs),
#                               busybox-static and gcc (the images of image-session tests),
#                               docker-registry and apache2-utils (the image sources' tests)
set -euo pipefail
purpose=${1:-up}

missing=()
have() { command -v "$1" >/dev/null 2>&1; }
have node || missing+=(nodejs)
have npm || missing+=(npm)
# The session sandbox (DESIGN §5): without these, sessions are refused (but `up` starts).
sandbox=()
# libseccomp: every session's seccomp filter (pyseccomp loads it).
{ ldconfig -p 2>/dev/null || /sbin/ldconfig -p; } | grep 'libseccomp\.so\.2' >/dev/null || sandbox+=(libseccomp2)
have bwrap || sandbox+=(bubblewrap)
have slirp4netns || sandbox+=(slirp4netns)
have nft || [ -x /usr/sbin/nft ] || sandbox+=(nftables)
have bindfs || sandbox+=(bindfs)  # folders in sessions (shipyard.agent.folders)
have setpriv || sandbox+=(util-linux)
# Environments as OCI images (shipyard.environments.images): copied and imported with skopeo,
# assembled with umoci, Debian bases built with mmdebstrap.
have skopeo || sandbox+=(skopeo)
have umoci || sandbox+=(umoci)
have mmdebstrap || sandbox+=(mmdebstrap)
if [ "$purpose" = test ]; then
  have "${CHROMIUM_PATH:-/usr/bin/chromium}" || [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
  have initdb || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  { fc-list :lang=ko family 2>/dev/null || true; } | grep -q . || missing+=(fonts-noto-cjk)
  # Image sessions' tests: small images from the static busybox, hostile libraries built with gcc.
  [ -x /bin/busybox ] && ! { ldd /bin/busybox >/dev/null 2>&1; } || missing+=(busybox-static)
  have gcc || missing+=(gcc)
  # The image sources' tests push to and copy from a loopback registry with htpasswd auth.
  have docker-registry || missing+=(docker-registry)
  have htpasswd || missing+=(apache2-utils)
fi
[ ${#missing[@]} -eq 0 ] && [ ${#sandbox[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && have apt-get; then
  missing+=("${sandbox[@]}")
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif [ "$purpose" = up ] && [ ${#missing[@]} -eq 0 ]; then
  echo "WARNING: sessions will be refused until these are installed (as root):" \
    "apt-get install ${sandbox[*]}" >&2
else
  missing+=("${sandbox[@]}")
  echo "missing system packages: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
