#!/bin/bash
# Build the qvirt test guest: a Debian kernel plus a busybox initramfs whose
# /init reports what the guest sees on the serial port, packaged for direct
# kernel boot, as a bootable disk and as an "installer" ISO.
# See tests/guest/README.md for the outputs and the QVIRT-GUEST markers.
#
#   tests/guest/build.sh [OUTDIR]        build (or reuse) the guest in OUTDIR
#                                        (default: <repo>/target/test-guest)
#   tests/guest/build.sh --install-deps  only apt-get install the missing host
#                                        packages (HOST_PACKAGES below)
set -euo pipefail

# ---------------------------------------------------------------------------
# Host packages (Debian 12). One entry per line: ROLE PACKAGE CHECK...
#   need  required to build; installed automatically when a CHECK is missing
#   want  optional output (disk.qcow2); installed automatically when root
#   run   only needed to boot the guest in tests; installed by --install-deps
# A CHECK is a command name or an absolute file path.
HOST_PACKAGES='
need apt            apt-get apt-cache
need dpkg           dpkg-deb
need coreutils      sha256sum truncate
need gzip           gzip
need cpio           cpio
need kmod           modprobe depmod
need xz-utils       xz
need dosfstools     mkfs.vfat
need mtools         mcopy
need fdisk          sfdisk
need syslinux       syslinux
need syslinux-common /usr/lib/syslinux/mbr/mbr.bin /usr/lib/syslinux/modules/bios/ldlinux.c32
need isolinux       /usr/lib/ISOLINUX/isolinux.bin /usr/lib/ISOLINUX/isohdpfx.bin
need xorriso        xorriso
want qemu-utils     qemu-img
run  qemu-system-x86 qemu-system-x86_64
'

# Drivers the guest loads, in groups; modprobe --show-depends adds their
# dependencies. The "base" group loads first, and so does anything that more
# than one group needs. Then the other groups load at the same time, since
# their probes mostly sleep under TCG. Within a group, modules load one after
# the other, so device names (sda, eth0...) come out in a stable order.
GUEST_MODULE_GROUPS='
base    virtio_pci
storage virtio_blk virtio_scsi ata_piix ahci nvme sd_mod sr_mod isofs
net     virtio_net e1000 e1000e
input   button evdev virtio_console
memory  virtio_balloon
'

KERNEL_META=linux-image-amd64     # its Depends: names the real kernel package
BUSYBOX_PKG=busybox-static
ISO_VOLID=QVIRT-TEST-GUEST         # /init recognises its boot medium by it
DISK_MIB=40                       # whole disk; the FAT16 partition starts at 1 MiB
# Every timestamp in the outputs; fixed on purpose, whatever the environment
# says, so that the outputs depend on this script and the .debs only
# (and FAT cannot store dates before 1980).
export SOURCE_DATE_EPOCH=1704067200   # 2024-01-01T00:00:00Z
export LC_ALL=C TZ=UTC
PATH=$PATH:/usr/sbin:/sbin

SCRIPT=$(readlink -f "$0")
REPO_ROOT=$(cd "$(dirname "$SCRIPT")/../.." && pwd)

say()  { printf 'build.sh: %s\n' "$*" >&2; }
die()  { say "error: $*"; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# ---------------------------------------------------------------------------
# Host tool handling

have() {   # CHECK: a command on PATH or an existing absolute path
    case $1 in /*) [ -e "$1" ] ;; *) command -v "$1" >/dev/null 2>&1 ;; esac
}

# Print the packages of the given roles whose checks are not all satisfied
# (installed packages are left alone: apt-get install would upgrade them).
packages_for() {
    local roles=" $* " role pkg checks c
    while read -r role pkg checks; do
        [ -n "${role:-}" ] || continue
        case $roles in *" $role "*) ;; *) continue ;; esac
        for c in $checks; do
            have "$c" || { echo "$pkg"; break; }
        done
    done <<<"$HOST_PACKAGES"
}

apt_install() {
    [ $# -gt 0 ] || return 0
    export DEBIAN_FRONTEND=noninteractive
    say "apt-get install $*"
    # (9>&-: nothing apt starts may keep holding the build lock)
    apt-get install -y -q --no-install-recommends "$@" >&2 9>&- && return 0
    say "install failed; running apt-get update and retrying"
    apt-get update -q >&2 9>&-
    apt-get install -y -q --no-install-recommends "$@" >&2 9>&-
}

ensure_host_tools() {
    local missing
    missing=$(packages_for need want | tr '\n' ' ')
    [ -n "${missing// /}" ] || return 0
    if is_root; then
        # shellcheck disable=SC2086
        apt_install $missing || die "apt-get install $missing failed"
    fi
    missing=$(packages_for need | tr '\n' ' ')
    [ -z "${missing// /}" ] || die "missing host packages: $missing(run as root, or: apt-get install $missing)"
}

# ---------------------------------------------------------------------------
# Arguments

if [ "${1:-}" = --install-deps ]; then
    [ $# = 1 ] || die "--install-deps takes no other argument"
    missing=$(packages_for need want run | tr '\n' ' ')
    if [ -n "${missing// /}" ]; then
        is_root || die "not root; missing host packages: $missing"
        # shellcheck disable=SC2086
        apt_install $missing || die "apt-get install $missing failed"
        missing=$(packages_for need want run | tr '\n' ' ')
        [ -z "${missing// /}" ] || die "still missing after apt-get install: $missing"
    fi
    say "host packages are installed"
    exit 0
fi
case ${1:-} in
    -h|--help) sed -n '2,10s/^# \{0,1\}//p' "$SCRIPT"; exit 0 ;;
    -*) die "unknown option $1 (try --help)" ;;
esac
[ $# -le 1 ] || die "usage: $0 [--install-deps | OUTDIR]"

OUT=${1:-$REPO_ROOT/target/test-guest}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DEBS=$OUT/debs
STAMP=$OUT/build.stamp
SCRIPT_HASH=$(sha256sum "$SCRIPT" | cut -d' ' -f1)

# Builds of the same OUTDIR (e.g. parallel tests) take turns.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$OUT/.lock"
    flock 9
fi

# ---------------------------------------------------------------------------
# Cache: reuse the outputs when the stamp names this exact script.

cache_valid() {
    local f
    [ "$(head -n1 "$STAMP" 2>/dev/null)" = "sha256 $SCRIPT_HASH" ] || return 1
    for f in vmlinuz initrd.gz disk.raw guest.iso; do
        [ -s "$OUT/$f" ] || return 1
    done
}

make_qcow2() {   # disk.raw -> disk.qcow2, when qemu-img is available
    rm -f "$OUT/disk.qcow2"
    have qemu-img || return 0
    qemu-img convert -f raw -O qcow2 "$OUT/disk.raw" "$OUT/disk.qcow2.tmp"
    touch -d "@$SOURCE_DATE_EPOCH" "$OUT/disk.qcow2.tmp"
    mv -f "$OUT/disk.qcow2.tmp" "$OUT/disk.qcow2"
}

if cache_valid; then
    extra=
    if [ ! -s "$OUT/disk.qcow2" ] && have qemu-img; then
        make_qcow2
        extra=" (added disk.qcow2)"
    fi
    echo "test guest: cache used in $OUT ($(sed -n 's/^kernel //p' "$STAMP"))$extra"
    exit 0
fi

# ---------------------------------------------------------------------------
# Build from scratch.

START=$(date +%s)
rm -f "$STAMP"
ensure_host_tools
mkdir -p "$DEBS"
rm -rf "$OUT"/.work.*          # left by an interrupted build (we hold the lock)
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM HUP

APT_UPDATED=0
apt_refresh() {   # one apt-get update per run, only when root
    [ $APT_UPDATED = 0 ] && is_root || return 1
    APT_UPDATED=1
    say "apt-get update"
    apt-get update -q >&2 9>&-
}

candidate_version() {   # PACKAGE -> version apt would download (empty if unknown)
    apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1
}

kernel_package() {   # the package the kernel metapackage depends on
    apt-cache depends "$KERNEL_META" 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\).*/\1/p' | head -n1
}

# Print the path of a cached .deb of PACKAGE, downloading it when the cache
# lacks the candidate version. Without apt metadata the newest cached one is used.
get_deb() {
    local pkg=$1 ver f
    ver=$(candidate_version "$pkg")
    if [ -z "$ver" ] && apt_refresh; then ver=$(candidate_version "$pkg"); fi
    if [ -n "$ver" ]; then
        for f in "$DEBS/${pkg}"_*.deb; do
            [ -f "$f" ] || continue
            if [ "$(dpkg-deb -f "$f" Version)" = "$ver" ]; then echo "$f"; return 0; fi
        done
        say "downloading $pkg $ver"
        rm -f "$DEBS/${pkg}"_*.deb
        local sandbox=()
        if is_root; then sandbox=(-o APT::Sandbox::User=root); fi
        (cd "$DEBS" && apt-get download -q=2 "${sandbox[@]}" "$pkg=$ver" >&2) ||
            die "apt-get download $pkg=$ver failed"
        for f in "$DEBS/${pkg}"_*.deb; do [ -f "$f" ] && { echo "$f"; return 0; }; done
        die "download of $pkg left no .deb in $DEBS"
    fi
    f=$(find "$DEBS" -maxdepth 1 -name "${pkg}_*.deb" | sort -V | tail -n1)
    [ -n "$f" ] || die "apt knows no package $pkg and $DEBS has none cached"
    say "no apt metadata for $pkg; using cached $(basename "$f")"
    echo "$f"
}

KPKG=$(kernel_package)
if [ -z "$KPKG" ] && apt_refresh; then KPKG=$(kernel_package); fi
if [ -z "$KPKG" ]; then
    KPKG=$(find "$DEBS" -maxdepth 1 -name 'linux-image-[0-9]*-amd64_*.deb' -printf '%f\n' |
           sort -V | tail -n1 | cut -d_ -f1)
    [ -n "$KPKG" ] || die "cannot resolve $KERNEL_META (no apt metadata, nothing cached)"
fi
# keep the cache to the packages in use
find "$DEBS" -maxdepth 1 -name 'linux-image-*.deb' ! -name "${KPKG}_*" -delete
KERNEL_DEB=$(get_deb "$KPKG")
BUSYBOX_DEB=$(get_deb "$BUSYBOX_PKG")

say "unpacking $(basename "$KERNEL_DEB")"
dpkg-deb -x "$KERNEL_DEB" "$WORK/kernel"
dpkg-deb -x "$BUSYBOX_DEB" "$WORK/busybox"
KVER=$(basename "$(find "$WORK/kernel/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n1)")
[ -f "$WORK/kernel/boot/vmlinuz-$KVER" ] || die "no vmlinuz-$KVER in $KERNEL_DEB"
STAGE=$WORK/out
mkdir -p "$STAGE"
cp "$WORK/kernel/boot/vmlinuz-$KVER" "$STAGE/vmlinuz"

# Write a reproducible newc cpio of directory $1 to stdout.
cpio_of() {
    find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    (cd "$1" && find . -mindepth 1 | sort | cpio -o -H newc -R 0:0 --reproducible --quiet)
}

# --- initramfs -------------------------------------------------------------
ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS"/{bin,dev,proc,sys,tmp,mnt,run,var/log,lib/modules,lib/qvirt,etc/acpi/PWRF}
cp "$WORK/busybox/bin/busybox" "$ROOTFS/bin/busybox"

say "resolving module dependencies for $KVER"
depmod -b "$WORK/kernel" "$KVER"
module_files() {   # MODULE...: the .ko files to insmod, dependencies first
    local m
    for m in "$@"; do
        modprobe -d "$WORK/kernel" -S "$KVER" --show-depends "$m" ||
            die "kernel $KVER has no module $m"
    done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
}
mkdir -p "$WORK/groups"
while read -r group mods; do
    [ -n "${group:-}" ] || continue
    # shellcheck disable=SC2086
    module_files $mods > "$WORK/groups/$group"
done <<<"$GUEST_MODULE_GROUPS"
# base: the base group plus whatever several groups share, in dependency order
(cd "$WORK/groups" && cat ./*) | sort | uniq -d > "$WORK/shared"
cat "$WORK/groups/base" "$WORK/shared" > "$WORK/in-base"
(cd "$WORK/groups" && cat base ./*) | awk '!seen[$0]++' |
    grep -xF -f "$WORK/in-base" > "$WORK/base.list"
install_modules() {   # LISTFILE: copy (decompressed) modules, print their names
    local ko name
    while read -r ko; do
        name=$(basename "$ko")
        case $name in
            *.ko.xz) name=${name%.xz}; xz -dc "$ko" > "$ROOTFS/lib/modules/$name" ;;
            *.ko)    cp "$ko" "$ROOTFS/lib/modules/$name" ;;
            *)       die "unsupported module file $ko" ;;
        esac
        echo "$name"
    done < "$1"
}
install_modules "$WORK/base.list" > "$ROOTFS/lib/modules/base.list"
for g in "$WORK"/groups/*; do
    [ "${g##*/}" = base ] && continue
    grep -vxF -f "$WORK/in-base" "$g" > "$g.only" || true
    install_modules "$g.only" > "$ROOTFS/lib/modules/group-${g##*/}.list"
done

# Shared by /init and the helpers it starts.
cat > "$ROOTFS/lib/qvirt/common.sh" <<'EOF'
# sourced by /init, the power button handler and the TCP greeter
export PATH=/bin
CMDLINE=$(cat /proc/cmdline)
# markers go to the first serial port whatever console= says; only a guest
# without a usable ttyS0 falls back to the kernel console
if (exec 3>>/dev/ttyS0) 2>/dev/null; then exec 3>>/dev/ttyS0; else exec 3>/dev/console; fi

mark() { printf 'QVIRT-GUEST %s\n' "$*" >&3; }

# wait until the serial port has sent everything (stty sets attributes with TCSADRAIN)
drain() { stty onlcr <&3 2>/dev/null; }

# values of NAME=VALUE kernel parameters, one per line, in command line order
params() {
    local w
    set -f
    for w in $CMDLINE; do
        case $w in "$1"=*) printf '%s\n' "${w#*=}" ;; esac
    done
    set +f
}
param() { params "$1" | tail -n 1; }      # the last value
flag()  { [ "$(param "$1")" = 1 ]; }
EOF

cat > "$ROOTFS/init" <<'EOF'
#!/bin/busybox sh
# PID 1 of the qvirt test guest: report devices as QVIRT-GUEST markers on ttyS0.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
. /lib/qvirt/common.sh

# keep kernel chatter from interleaving with the markers (errors still show)
if [ -z "$(param loglevel)" ] && ! flag qvirt.verbose; then echo 4 > /proc/sys/kernel/printk; fi

# modules (see GUEST_MODULE_GROUPS in build.sh): the shared ones first, then
# each group in its own background job
for m in $(cat /lib/modules/base.list); do
    insmod "/lib/modules/$m" 2>/dev/null
done
for g in /lib/modules/group-*.list; do
    for m in $(cat "$g"); do
        insmod "/lib/modules/$m" 2>/dev/null
    done &
done
wait
# insmod returns once the driver has probed (async probing included), but NVMe
# controllers reset and scan namespaces in the background: wait for them
for c in /sys/class/nvme/nvme*; do
    [ -d "$c" ] || continue
    i=0
    until [ "$(cat "$c/state" 2>/dev/null)" = live ] && [ -n "$(ls -d "$c"/nvme*n* 2>/dev/null)" ]; do
        [ $i -lt 50 ] || break
        sleep 0.1; i=$((i + 1))
    done
done
# then until the block and network devices stay unchanged for 0.1 s (at most 5 s)
devices() { echo /sys/block/* /sys/class/net/*; }
last=$(devices); i=0
while [ $i -lt 50 ]; do
    sleep 0.1; i=$((i + 1))
    now=$(devices)
    [ "$now" = "$last" ] && break
    last=$now
done

finish() {   # $1 = poweroff | reboot
    drain
    "$1" -f
    while :; do sleep 60; done
}

print_file() {   # TAG FILE [MAXLINES]: each line of FILE as "TAG <line>"
    local line
    if [ -n "${3:-}" ]; then head -n "$3" "$2"; else cat "$2"; fi |
        while IFS= read -r line || [ -n "$line" ]; do mark "$1 $line"; done
}

# the kernel does not write to ttyS0 unless it is a console: end whatever the
# firmware left on the line so the first marker starts a line of its own
grep -q '^ttyS0 ' /proc/consoles 2>/dev/null || printf '\n' >&3
mark "BOOT cmdline=$CMDLINE"
[ "$(param qvirt.boot)" = disk ] && mark "INSTALLED-SYSTEM"

for b in /sys/block/*; do
    name=${b##*/}
    case $name in '*'|loop*|ram*|zram*) continue ;; esac
    mark "DISK $name $(( $(cat "$b/size") * 512 ))"
done

first_nic=
for n in /sys/class/net/*; do
    name=${n##*/}
    case $name in '*'|lo) continue ;; esac
    [ -n "$first_nic" ] || first_nic=$name
    mark "NIC $name $(cat "$n/address")"
done

for path in $(params qvirt.cat); do
    if [ -f "$path" ]; then print_file "CAT $path" "$path"; else mark "CAT-MISSING $path"; fi
done

# NoCloud seeds: ISO 9660 volumes carrying user-data
for dev in /dev/sr* /dev/vd* /dev/sd*; do
    [ -b "$dev" ] || continue
    mount -t iso9660 -o ro "$dev" /mnt 2>/dev/null || continue
    if [ -f /mnt/user-data ]; then
        print_file CIDATA /mnt/user-data 20
        [ -f /mnt/meta-data ] && print_file METADATA /mnt/meta-data 20
    fi
    umount /mnt
done

# The installer: copy the system image onto the first empty disk, then reboot.
is_install_medium() {   # the ISO 9660 volume id sits at byte 32808
    [ "$(dd if="$1" bs=1 skip=32808 count=@VOLID_LEN@ 2>/dev/null)" = "@VOLID@" ]
}
first_sector_empty() {
    [ "$(cat "/sys/block/${1#/dev/}/size" 2>/dev/null || echo 0)" -gt 0 ] &&
    [ "$(dd if="$1" bs=512 count=1 2>/dev/null | tr -d '\000' | wc -c)" -eq 0 ]
}
if [ "$(param qvirt.boot)" = cdrom ]; then
    target=
    for d in /dev/vda /dev/sda /dev/nvme0n1; do
        [ -b "$d" ] || continue
        is_install_medium "$d" && continue
        first_sector_empty "$d" || continue
        target=$d
        break
    done
    if [ ! -f /payload/disk.raw.gz ]; then
        mark "NO-PAYLOAD"
    elif [ -z "$target" ]; then
        mark "NO-EMPTY-DISK"
    elif gunzip -c /payload/disk.raw.gz | dd of="$target" bs=1M conv=fsync 2>/dev/null; then
        sync
        mark "INSTALLED $target"
        finish reboot
    else
        mark "INSTALL-FAILED $target"
    fi
fi

if flag qvirt.net; then
    ip link set lo up
    if [ -n "$first_nic" ]; then
        ip link set "$first_nic" up
        ip addr add 10.0.2.15/24 dev "$first_nic"
        ip route add default via 10.0.2.2
        i=0
        while [ "$(cat "/sys/class/net/$first_nic/carrier" 2>/dev/null)" != 1 ] && [ $i -lt 50 ]; do
            sleep 0.1; i=$((i + 1))
        done
        # one packet to the gateway so QEMU's user network learns our MAC address
        ping -c 1 -W 1 10.0.2.2 >/dev/null 2>&1
        mark "NET $first_nic 10.0.2.15/24"
    fi
fi

port=$(param qvirt.listen)
if [ -n "$port" ]; then
    nc -ll -p "$port" -e /lib/qvirt/hello </dev/null >/dev/null 2>&1 &
    # listening sockets show in /proc/net/tcp* with state 0A
    hex=$(printf ':%04X ' "$port")
    i=0
    until cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q "$hex.* 0A "; do
        i=$((i + 1))
        [ $i -le 50 ] || break
        sleep 0.1
    done
    if [ $i -le 50 ]; then mark "LISTEN $port"; else mark "LISTEN-FAILED $port"; fi
fi

if flag qvirt.stay; then
    # the ACPI power button: button.ko -> evdev -> acpid -> /etc/acpi/PWRF/00000080
    acpid -f -c /etc/acpi -l /var/log/acpid.log </dev/null &
    acpid_pid=$!
    i=0
    until ls -l "/proc/$acpid_pid/fd" 2>/dev/null | grep -q /dev/input/event; do
        [ $i -lt 50 ] || break
        sleep 0.1; i=$((i + 1))
    done
fi

mark "DONE"
if flag qvirt.stay; then
    while :; do sleep 3600; done
fi
finish poweroff
EOF

cat > "$ROOTFS/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
# run by acpid when the ACPI power button is pressed
. /lib/qvirt/common.sh
if flag qvirt.ignore-powerbutton; then
    mark "POWERBUTTON-IGNORED"
else
    mark "POWERBUTTON"
    drain
    poweroff -f
fi
EOF

cat > "$ROOTFS/lib/qvirt/hello" <<'EOF'
#!/bin/sh
# answers each TCP connection of the qvirt.listen= port
echo "QVIRT-GUEST HELLO"
EOF
sed -i -e "s/@VOLID@/$ISO_VOLID/" -e "s/@VOLID_LEN@/${#ISO_VOLID}/" "$ROOTFS/init"
chmod 755 "$ROOTFS/init" "$ROOTFS/etc/acpi/PWRF/00000080" "$ROOTFS/lib/qvirt/hello"

cpio_of "$ROOTFS" | gzip -9n > "$STAGE/initrd.gz"

# --- bootloader config (syslinux on the disk, isolinux on the ISO) ---------
boot_cfg() {   # $1 = value of qvirt.boot=
    cat <<EOF
SERIAL 0 115200
PROMPT 0
TIMEOUT 0
DEFAULT qvirt
LABEL qvirt
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND console=ttyS0 panic=-1 qvirt.boot=$1
EOF
}

# --- disk.raw: MBR + one bootable FAT16 partition holding syslinux ---------
say "building disk.raw"
PART=$WORK/part.img
PART_KIB=$(( (DISK_MIB - 1) * 1024 ))
export MTOOLS_SKIP_CHECK=1 MTOOLSRC=/dev/null
mkfs.vfat --invariant -C -F 16 -n QVIRTGUEST -i 51ed0001 -h 2048 "$PART" "$PART_KIB" >/dev/null
syslinux --install "$PART"
boot_cfg disk > "$WORK/syslinux.cfg"
touch -d "@$SOURCE_DATE_EPOCH" "$WORK/syslinux.cfg" "$STAGE/vmlinuz" "$STAGE/initrd.gz"
mcopy -m -i "$PART" "$WORK/syslinux.cfg" "$STAGE/vmlinuz" "$STAGE/initrd.gz" ::/
truncate -s "${DISK_MIB}M" "$STAGE/disk.raw"
sfdisk -q "$STAGE/disk.raw" <<EOF
label: dos
label-id: 0x51ed0001
unit: sectors

start=2048, size=$(( PART_KIB * 2 )), type=e, bootable
EOF
dd if="$PART" of="$STAGE/disk.raw" bs=1M seek=1 conv=notrunc status=none
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$STAGE/disk.raw" bs=440 count=1 conv=notrunc status=none

# --- guest.iso: isolinux + kernel + initrd carrying disk.raw.gz ------------
say "building guest.iso"
ISO=$WORK/iso
mkdir -p "$ISO/isolinux" "$WORK/payload/payload"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$ISO/isolinux/"
boot_cfg cdrom > "$ISO/isolinux/isolinux.cfg"
cp "$STAGE/vmlinuz" "$ISO/vmlinuz"
gzip -9nc "$STAGE/disk.raw" > "$WORK/payload/payload/disk.raw.gz"
# the payload rides as a second, uncompressed cpio segment after initrd.gz; the
# kernel only takes it for a cpio header at a 4-byte aligned offset, and skips
# the zero bytes padding up to there
pad=$(( (4 - $(stat -c %s "$STAGE/initrd.gz") % 4) % 4 ))
{ cat "$STAGE/initrd.gz"; head -c "$pad" /dev/zero; cpio_of "$WORK/payload"; } > "$ISO/initrd.gz"
find "$ISO" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
xorriso -as mkisofs -quiet -r -V "$ISO_VOLID" -o "$STAGE/guest.iso" \
    -b isolinux/isolinux.bin -c isolinux/boot.cat \
    -no-emul-boot -boot-load-size 4 -boot-info-table \
    -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin "$ISO" >&2

# --- publish -----------------------------------------------------------------
find "$STAGE" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
for f in vmlinuz initrd.gz disk.raw guest.iso; do
    mv -f "$STAGE/$f" "$OUT/$f"
done
make_qcow2
{
    echo "sha256 $SCRIPT_HASH"
    echo "kernel $KPKG $(dpkg-deb -f "$KERNEL_DEB" Version)"
    echo "busybox $BUSYBOX_PKG $(dpkg-deb -f "$BUSYBOX_DEB" Version)"
} > "$STAMP.tmp"
mv -f "$STAMP.tmp" "$STAMP"

built=
for f in vmlinuz initrd.gz disk.raw disk.qcow2 guest.iso; do
    if [ -e "$OUT/$f" ]; then built="$built $f"; fi
done
echo "test guest: built${built} in $OUT (kernel $KPKG, $(( $(date +%s) - START )) s)"
