#!/usr/bin/env bash
# The main demo: installs missing Debian packages, builds bacsc, and runs it.
# Today it decodes BACnet/SC frames captured from an independent implementation
# and our own encodings; later stages (transport, site commissioning) extend it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build >/dev/null
B=build/bacsc
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say "$($B --version)"
say "Decode a Connect-Request (hex from an independent BACnet/SC implementation)"
$B decode 060000010a0b0c0d0e0f00112233445566778899aabbccddeeff064005d9
say "Decode an Encapsulated-NPDU carrying a ReadProperty request, as JSON"
$B decode --json 0104000411223344556601040005010c0c020003e9194d
say "A malformed frame: option list runs past the end"
$B decode 01050007112233445566813f || echo "(exit status $? — malformed input is an error)"
