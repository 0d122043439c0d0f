# benchlib.py: what every benchmark does the same way
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Rounds in alternating order, the same preparation before every
# competitor (nobody pays for another's dirty pages), content checked
# against the source every time, medians and spreads.

import hashlib
import os
import statistics
import subprocess
import time

MIB = 1 << 20


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(MIB)
            if not chunk:
                return h.hexdigest()
            h.update(chunk)


class ContentMismatch(SystemExit):
    """A competitor wrote something else than the source: no figure."""


def check_files(competitor, expected, out_dir):
    """expected: {name: sha256}. Every file must be in out_dir with that
    content; a missing or different file aborts the benchmark."""
    for name, digest in expected.items():
        path = os.path.join(out_dir, name)
        if not os.path.exists(path):
            raise ContentMismatch(f"error: {competitor}: {name} is missing: no figure")
        got = sha256_file(path)
        if got != digest:
            raise ContentMismatch(f"error: {competitor}: {name} differs from the source "
                                  f"(sha256 {got[:16]}…, expected {digest[:16]}…): no figure")


def order(names, rnd):
    """The competitors' order in round rnd (0-based): forward and backward
    in turn, rotated by one every two rounds, so that no competitor always
    goes first, last, or right after the same other one (three competitors
    see all six orders in six rounds)."""
    names = list(names)
    k = (rnd // 2) % len(names)
    names = names[k:] + names[:k]
    return names if rnd % 2 == 0 else names[::-1]


def dirty_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Dirty:"):
                return int(line.split()[1])
    return 0


def settle(warm=(), drop_caches=True, dirty_limit_kib=16 * 1024, timeout=60):
    """The preparation before every competitor: the previous one's
    write-back is done (sync, then Dirty in /proc/meminfo below
    dirty_limit_kib: other processes on the machine write too, so not
    zero), the page cache dropped (as root), and the files in warm read
    back into it, so that every competitor starts from the same cache.
    Returns what it could do, for the header."""
    os.sync()
    dropped = False
    if drop_caches:
        try:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("1\n")
            dropped = True
        except OSError:
            pass
    deadline = time.monotonic() + timeout
    while dirty_kib() > dirty_limit_kib and time.monotonic() < deadline:
        os.sync()
        time.sleep(0.1)  # polling the kernel's counter: there is nothing to wait on
    for path in warm:
        with open(path, "rb", buffering=0) as f:
            while f.read(MIB):
                pass
    if dropped:
        return "sync + drop_caches"
    return "sync + Dirty below %d MiB" % (dirty_limit_kib >> 10)


def dd_rate(path, mib):
    """The disk's rate for mib MiB of zeros ending in fdatasync, in MiB/s."""
    start = time.monotonic()
    subprocess.run(["dd", "if=/dev/zero", "of=" + path, "bs=1M", f"count={mib}",
                    "conv=fdatasync"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    elapsed = time.monotonic() - start
    os.unlink(path)
    return mib / elapsed


def spread(values):
    """(median, min, max)"""
    return statistics.median(values), min(values), max(values)


def line(name, values, unit, fmt="{:.2f}", width=36, what="rounds"):
    """One line per competitor: median, then min–max over the rounds."""
    med, lo, hi = spread(values)
    f = fmt.format
    return (f"{name:{width}} median {f(med):>8} {unit}   "
            f"min–max {f(lo)}–{f(hi)} {unit}   ({len(values)} {what})")
