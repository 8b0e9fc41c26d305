#!/usr/bin/env python3
"""Wall time from starting qvirt-install to the test guest's marker, against
the same QEMU argv started by hand, and qvirt's peak memory while it waits.

    benches/boot.py [RUNS]

Runs the release build on the test guest under TCG (direct kernel boot, no
disk), RUNS times each (default 5), and prints the medians, their ratio,
and the peak RSS (VmHWM) of qvirt-install and of the guest's supervisor.
"""

import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
GUEST = os.environ.get("QVIRT_TEST_GUEST", os.path.join(ROOT, "target", "test-guest"))
MARKER = b"QVIRT-GUEST DONE"


def line(name):
    kernel = f"kernel={GUEST}/vmlinuz,initrd={GUEST}/initrd.gz,kernel_args=\"console=ttyS0\""
    return ["--name", name, "--memory", "256", "--virt-type", "qemu", "--graphics", "none",
            "--osinfo", "generic", "--disk", "none", "--boot", kernel]


def peak_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            match = re.search(r"VmHWM:\s+(\d+)", status.read())
            return int(match.group(1)) if match else 0
    except OSError:
        return 0


def wait_for_marker(path, deadline):
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as log:
                if MARKER in log.read():
                    return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def run_qvirt(root, name):
    env = dict(os.environ, QVIRT_ROOT=root)
    log = os.path.join(root, "lib", name, "console.log")
    start = time.monotonic()
    child = subprocess.Popen([os.path.join(BIN, "qvirt-install")] + line(name), env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    own = supervisor = 0
    while time.monotonic() < start + 120:
        own = max(own, peak_kib(child.pid))
        status = os.path.join(root, "run", name, "status.json")
        if os.path.exists(status):
            try:
                with open(status) as f:
                    supervisor = max(supervisor, peak_kib(json.load(f)["supervisor"]))
            except (OSError, ValueError, KeyError):
                pass
        if wait_for_marker(log, time.monotonic() + 0.05):
            break
    elapsed = time.monotonic() - start
    child.wait(timeout=120)
    return elapsed, own, supervisor


def run_by_hand(root, name):
    env = dict(os.environ, QVIRT_ROOT=root)
    printed = subprocess.run([os.path.join(BIN, "qvirt-install")] + line(name) + ["--print-qemu"],
                             env=env, capture_output=True, text=True, check=True).stdout
    argv = [word for word in shlex.split(printed.strip().splitlines()[-1]) if word != "-S"]
    os.makedirs(os.path.join(root, "run", name), exist_ok=True)
    os.makedirs(os.path.join(root, "lib", name), exist_ok=True)
    log = os.path.join(root, "lib", name, "console.log")
    start = time.monotonic()
    qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    found = wait_for_marker(log, start + 120)
    elapsed = time.monotonic() - start
    qemu.send_signal(signal.SIGTERM)
    qemu.wait(timeout=30)
    if not found:
        sys.exit("the hand-started QEMU never printed the marker")
    return elapsed


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    subprocess.run([os.path.join(ROOT, "tests", "guest", "build.sh")], check=True,
                   stdout=subprocess.DEVNULL)
    qvirt, by_hand, own, supervisor = [], [], [], []
    for index in range(runs):
        with tempfile.TemporaryDirectory(prefix="qvirt-bench") as root:
            elapsed, rss, sup = run_qvirt(root, f"bench{index}")
            qvirt.append(elapsed)
            own.append(rss)
            supervisor.append(sup)
        with tempfile.TemporaryDirectory(prefix="qvirt-bench") as root:
            by_hand.append(run_by_hand(root, f"hand{index}"))
    q, h = statistics.median(qvirt), statistics.median(by_hand)
    print(f"boot to marker, median of {runs}: qvirt-install {q:.2f} s, "
          f"qemu by hand {h:.2f} s, ratio {q / h:.2f}")
    print(f"peak RSS while waiting: qvirt-install {max(own) / 1024:.1f} MiB, "
          f"supervisor {max(supervisor) / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
