#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs qvirt, builds the
# test guest, and installs it with qvirt-install as virt-install would,
# from its ISO onto a new 1 GiB disk, ending at the installed system's
# marker on its serial console.
#
# The demo's guests, disks and state live below target/demo (QVIRT_ROOT),
# so it leaves the machine's own guest folders alone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
cargo install --locked --path . --root /usr/local
tests/guest/build.sh

export QVIRT_ROOT=$PWD/target/demo
rm -rf "$QVIRT_ROOT"
# --virt-type qemu: the build machines' /dev/kvm (kvm_pvm) runs no stock
# kernel; drop it where KVM works.
qvirt-install --name demo --memory 256 --vcpus 1 --osinfo generic \
    --disk size=1 --cdrom target/test-guest/guest.iso --graphics none \
    --virt-type "${QVIRT_DEMO_VIRT_TYPE:-qemu}"
grep -a -q 'QVIRT-GUEST INSTALLED-SYSTEM' "$QVIRT_ROOT/lib/demo/console.log"
qemu-img info "$QVIRT_ROOT/images/demo.qcow2" | head -3
echo "demo: the guest installed itself and booted from its disk"
