#!/usr/bin/env bash
# Installs what qvirt needs on Debian 12, as root: QEMU and qemu-img, the
# optional tools, and the packages the test guest is built from.
#
#   scripts/setup-debian.sh          runtime packages and test-guest tools
set -euo pipefail
cd "$(dirname "$0")/.."

# What each package is for is in README.md, "What qvirt runs".
RUNTIME='qemu-system-x86 qemu-utils'
OPTIONAL='ovmf swtpm swtpm-tools osinfo-db xorriso iproute2 passt'

missing=()
for package in $RUNTIME $OPTIONAL; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' ||
        missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup: run as root to install: ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
tests/guest/build.sh --install-deps
if ! command -v cargo >/dev/null; then
    echo "setup: cargo is missing: install Rust 1.85 or newer (rustup)" >&2
    exit 1
fi
echo "setup: done"
