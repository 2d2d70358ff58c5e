#!/usr/bin/env bash
# Installs the Debian 12 packages bacsc needs to build, test, fuzz and run its
# demo. Safe to re-run: it installs only what is missing. Needs root.
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
      libssl-dev openssl libsqlite3-dev sqlite3 libzip-dev zip unzip
      libjansson-dev libcmocka-dev libmicrohttpd-dev
      chromium nodejs curl
      tshark python3 python3-websockets python3-prometheus-client iproute2 procps xxd)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The web console's browser tests run Playwright (tests/web) on Node; a Node.js
# from elsewhere may bring its own npm, so Debian's is added only when absent.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bacsc: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "bacsc: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
