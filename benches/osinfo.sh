#!/usr/bin/env bash
# The OS database in a fresh process, with the full Debian osinfo-db: the
# median wall time of a lookup by id and of a detection from an ISO, each
# one whole qvirt-install run, and the same lookup with a cold index
# cache. The aim is under 20 ms.
#
#   benches/osinfo.sh             build (release) and measure, 30 runs each
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-30}
command -v hyperfine >/dev/null || { echo "osinfo bench: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
[ -d /usr/share/osinfo/os ] || { echo "osinfo bench: needs osinfo-db" >&2; exit 1; }

cargo build --release --quiet --bin qvirt-install
bin=$PWD/target/release/qvirt-install
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree"
echo qvirt >"$work/tree/README"
xorriso -as mkisofs -quiet -V 'Debian 11.5.0 amd64 n' -o "$work/debian.iso" "$work/tree" 2>/dev/null
export QVIRT_ROOT=$work/root QVIRT_PREDICTABLE=1 QVIRT_KVM=usable QVIRT_NET=none

lookup="$bin --name b --osinfo rhel7.9 --memory 1024 --disk none --pxe --print-qemu"
detect="$bin --test-media-detection $work/debian.iso"
[ "$($detect)" = debian11 ] || { echo "osinfo bench: detection failed" >&2; exit 1; }

median() {   # hyperfine's median of one command, in ms
    hyperfine --shell=none --runs "$runs" --style none --export-json "$work/t.json" \
        ${2:+--prepare "$2"} "$1" >/dev/null
    sed -n 's/^ *"median": *\([0-9.e-]*\),*$/\1/p' "$work/t.json" | head -1 |
        awk '{ printf "%.1f", $1 * 1000 }'
}
echo "osinfo lookup by id (fresh process, warm index): $(median "$lookup") ms"
echo "osinfo detection from an ISO (fresh process, warm index): $(median "$detect") ms"
echo "osinfo lookup with a cold index (rebuilt from the XML): $(median "$lookup" "rm -rf $work/root/cache") ms"
