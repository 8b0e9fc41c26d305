#!/usr/bin/env bash
# Wall time of one `qvirt-install ... --print-qemu` in a fresh process, for
# a typical virt-install line: the median of 50 runs of the release build,
# in milliseconds. It is what a script pays per call, start-up included.
#
#   benches/print-qemu.sh            build (release) and measure
#   RUNS=200 benches/print-qemu.sh   more runs
#
# hyperfine measures when it is installed (apt-get install hyperfine);
# otherwise a loop of date +%s%N does.
set -euo pipefail

cd "$(dirname "$0")/.."
runs=${RUNS:-50}

cargo build --release --quiet --bin qvirt-install
bin=$PWD/target/release/qvirt-install

# A sandbox as the tests use: nothing of the machine's real folders is read
# or written, and the KVM probe is stood in for so every machine plans the
# same commands.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c 1048576 /dev/zero >"$work/debian.iso"
export QVIRT_ROOT=$work/root QVIRT_PREDICTABLE=1 QVIRT_KVM=usable QVIRT_NET=bridge=br0
# The commas are sub-option separators, not array separators.
# shellcheck disable=SC2054
line=(--name bench --memory 2048 --vcpus 2 --disk size=20 --cdrom "$work/debian.iso"
      --os-variant debian12 --network bridge=br0 --graphics vnc,listen=0.0.0.0
      --noautoconsole --print-qemu)

# The line must work before its time means anything.
"$bin" "${line[@]}" >/dev/null

if command -v hyperfine >/dev/null; then
    hyperfine --shell=none --warmup 5 --runs "$runs" --export-json "$work/times.json" \
        --style none "$bin ${line[*]}" >/dev/null
    median=$(sed -n 's/^ *"median": *\([0-9.e-]*\),*$/\1/p' "$work/times.json" | head -1)
    if [ -n "$median" ]; then
        awk -v s="$median" -v n="$runs" \
            'BEGIN { printf "print-qemu: median %.2f ms over %d runs (hyperfine)\n", s * 1000, n }'
        exit 0
    fi
fi

for _ in $(seq 5); do "$bin" "${line[@]}" >/dev/null; done
for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$bin" "${line[@]}" >/dev/null
    end=$(date +%s%N)
    echo $(((end - start) / 1000))
done | sort -n | awk -v n="$runs" '
    { t[NR] = $1 }
    END {
        m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
        printf "print-qemu: median %.2f ms over %d runs (date loop)\n", m / 1000, n
    }'
