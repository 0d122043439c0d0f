#!/usr/bin/python3
# bench-segments.py: segmented downloads against aria2c -x4 -s4, side by side, one run
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Not a test: it prints figures (docs/contract.md). bench-download.py (and
# run-all) measure the single stream and a plain four-connection round;
# this one adds the per-connection limit. Serves a file from a loopback
# nginx and downloads it with curl, aria2c and the real bgtransferd (on a
# private bus, through libbgtransfer), over one connection and over four
# (bgtransfer's option connections=4 against aria2c -x4 -s4), the latter
# also from nginx's /slow/, which limits each connection (limit_rate, the
# case where more connections help), several rounds, the competitors'
# order alternating from round to round (benchlib.order). Before every
# competitor the same preparation (benchlib.settle): the previous one's
# output deleted and its write-back done (sync, drop_caches as root, Dirty
# down), the source read back into the page cache, so that nobody pays for
# another's dirty pages. Every competitor's file in every round is checked
# against the source's sha256 (a mismatch aborts: no figure). The disk's
# own rate (dd conv=fdatasync, the same size) is measured in the same
# rotation and printed beside. Prints the median and min–max throughput,
# the median CPU seconds per GiB of the downloading process (for
# bgtransfer: the service) and the ratios to curl and, for four
# connections, to aria2c -x4 -s4, from medians.
#
# Usage (from a built tree):
#   meson devenv -C _build /usr/bin/python3 ../tests/bench/bench-segments.py
#       [--size-mib 1024] [--rounds 5] [--limit-rate 16m] [--quick]

import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import benchlib  # noqa: E402
import bgtharness  # noqa: E402

GIB = 1 << 30


def _load_bench_download():
    """bench-download.py's helpers: the same children, CPU counts and
    service for both benchmarks."""
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("bench_download",
                                                  os.path.join(here, "bench-download.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_bd = _load_bench_download()
cpu_seconds, run_child, curl_durable, drop = (_bd.cpu_seconds, _bd.run_child, _bd.curl_durable,
                                              _bd.drop)
Bgtransfer = _bd.Bgtransfer


DISK = "disk: dd conv=fdatasync"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="64 MiB, 2 rounds: does it run?")
    ap.add_argument("--limit-rate", default="16m",
                    help="nginx's limit_rate per connection for the limited case (nginx syntax)")
    ap.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                    help="a GSettings value of the service (GVariant text)")
    ap.add_argument("--only", action="append", default=[], help="measure only these tools")
    ap.add_argument("--workdir", default=None, help="where to put the files (default: /tmp)")
    args = ap.parse_args()
    if args.quick:
        args.size_mib, args.rounds = 64, 2

    work = tempfile.mkdtemp(prefix="bgt-bench-", dir=args.workdir)
    os.chmod(work, 0o755)  # nginx's workers run unprivileged
    root = os.path.join(work, "www")
    os.makedirs(root)
    size = args.size_mib << 20
    print(f"# preparing a {args.size_mib} MiB file in {root}", flush=True)
    source = os.path.join(root, "file.bin")
    digest = bgtharness.make_file(source, size)
    nginx = bgtharness.Nginx(root, slow_rate=args.limit_rate)
    url = nginx.url("file.bin")
    slow = nginx.url("slow/file.bin")
    limited = f", {args.limit_rate}/conn"
    dest = os.path.join(work, "out.bin")
    bgt = Bgtransfer(work, dict(kv.split("=", 1) for kv in args.setting))

    def disk():
        rate = benchlib.dd_rate(os.path.join(work, "dd.bin"), args.size_mib)
        return size / rate / (1 << 20), 0.0  # as a (wall, CPU) pair

    def aria2c(n, source):
        return lambda: run_child(["aria2c", "-q", f"-x{n}", f"-s{n}", "--allow-overwrite=true",
                                  "--file-allocation=none", "-d", work, "-o", "out.bin", source])

    tools = {
        "curl": lambda: run_child(["curl", "-sS", "--fail", "-o", dest, url]),
        "curl + fsync": lambda: curl_durable(url, dest),
        "aria2c -x1": aria2c(1, url),
        "aria2c -x4 -s4": aria2c(4, url),
        "bgtransfer": lambda: bgt.download(url, dest),
        "bgtransfer connections=4": lambda: bgt.download(url, dest, 4),
        "aria2c -x4 -s4" + limited: aria2c(4, slow),
        "bgtransfer connections=4" + limited: lambda: bgt.download(slow, dest, 4),
    }
    if args.only:
        tools = {k: v for k, v in tools.items()
                 if k in args.only or k in ("curl", "curl + fsync", "bgtransfer")}
    tools[DISK] = disk
    results = {name: [] for name in tools}
    try:
        # One unmeasured round of the service: activation and first-use costs
        drop(dest)
        bgt.download(url, dest)
        drop(dest)
        for r in range(args.rounds):
            for name in benchlib.order(tools, r):
                how = benchlib.settle(warm=[source])
                wall, cpu = tools[name]()
                if name != DISK:
                    benchlib.check_files(name, {"out.bin": digest}, work)
                    drop(dest)
                results[name].append((wall, cpu))
                cpu_text = "" if name == DISK else f"  CPU {cpu / (size / GIB):6.3f} s/GiB"
                print(f"# round {r + 1}  {name:36} {wall:7.3f} s  "
                      f"{size / wall / (1 << 20):8.1f} MiB/s{cpu_text}", flush=True)
    finally:
        bgt.close()
        nginx.close()
        shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"{args.size_mib} MiB over loopback, {args.rounds} rounds in alternating order, "
          f"each competitor after {how}, every file checked (sha256)")
    print(f"{'':36} {'median MiB/s':>12} {'min–max MiB/s':>15} {'CPU s/GiB':>10}")
    med = {}
    for name, rows in results.items():
        rates = [size / w / (1 << 20) for w, _ in rows]
        rate, lo, hi = benchlib.spread(rates)
        cpu = statistics.median(c for _, c in rows) / (size / GIB)
        med[name] = (rate, cpu)
        cpu_text = "" if name == DISK else f"{cpu:10.3f}"
        print(f"{name:36} {rate:12.1f} {f'{lo:.0f}–{hi:.0f}':>15} {cpu_text}")
    print()
    for suffix in ("", limited):
        ours, theirs = "bgtransfer connections=4" + suffix, "aria2c -x4 -s4" + suffix
        if ours in med and theirs in med:
            cpu = med[ours][1] / med[theirs][1] if med[theirs][1] > 0 else float("inf")
            print(f"4 connections{suffix or ', no limit'}: bgtransfer/aria2c -x4 -s4 throughput, "
                  f"medians: {med[ours][0] / med[theirs][0]:.2f} (target >= 1.0); CPU per GiB: "
                  f"service {med[ours][1]:.3f} s, aria2c {med[theirs][1]:.3f} s ({cpu:.2f})")
    durable = med["bgtransfer"][0] / med["curl + fsync"][0]
    print(f"bgtransfer/(curl + fsync) throughput, medians: {durable:.2f} (bgtransfer flushes a "
          "download to the disk before it renames it into place, curl does not; when the disk "
          f"is slower than loopback, the disk sets the pace: dd {med[DISK][0]:.0f} MiB/s)")
    tput = med["bgtransfer"][0] / med["curl"][0]
    cpu = med["bgtransfer"][1] / med["curl"][1] if med["curl"][1] > 0 else float("inf")
    print(f"bgtransfer/curl throughput, medians: {tput:.2f} (target >= 0.95); "
          f"service CPU/curl CPU: {cpu:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
