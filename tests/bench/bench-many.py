#!/usr/bin/python3
# bench-many.py: 1,000 files of 16 KiB queued at once, bgtransfer vs aria2c -j16
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Not a test: it prints figures (docs/contract.md: total time <= aria2c -j16's).
# bgtransfer runs with its default settings (max-concurrent-transfers 4)
# and again with 16 concurrent transfers, the number aria2c is given.
# Several rounds, the competitors' order alternating from round to round,
# each competitor after the same preparation (benchlib.settle: the
# previous one's write-back done, the page cache dropped, the sources read
# back in); every file of every competitor in every round is checked
# against its source's sha256 (a mismatch aborts: no figure). Prints the
# median and min–max per competitor and the ratios of the medians.
#
# Usage: meson devenv -C _build /usr/bin/python3 ../tests/bench/bench-many.py
#            [--count 1000] [--rounds 5] [--quick]

import argparse
import hashlib
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import benchlib  # noqa: E402
import bgtharness  # noqa: E402
from bgtharness import Bgt, Gio, GLib, wait_for  # noqa: E402


def run_aria2(urls, out):
    listing = os.path.join(out, "list.txt")
    with open(listing, "w") as f:
        f.write("\n".join(urls) + "\n")
    start = time.monotonic()
    subprocess.run(["aria2c", "-q", "-j16", "--file-allocation=none", "-d", out, "-i", listing],
                   check=True)
    return time.monotonic() - start


SESSIONS = itertools.count()


def run_bgtransfer(work, urls, out, settings):
    session = os.path.join(work, "session-%d" % next(SESSIONS))
    bus = bgtharness.ServiceBus(settings=dict(settings, **{"max-transfers-per-app": "100000"}),
                                tmpdir=session)
    try:
        client = bus.client("org.freedesktop.BackgroundTransfer.BenchMany")
        downloader = Bgt.Downloader.new(client)
        done = []
        failed = []
        in_flight = [0]

        def on_waited(t, result):
            try:
                t.wait_finish(result)
                done.append(t)
            except GLib.Error as e:
                failed.append(e.message)

        def on_created(d, result):
            in_flight[0] -= 1
            t = d.create_download_finish(result)
            t.wait_async(None, on_waited)
            created.append(t)

        created = []
        start = time.monotonic()
        for i, url in enumerate(urls):
            # Creations and the waits' first reads under the bus's 128 pending replies
            while in_flight[0] >= 30:
                GLib.MainContext.default().iteration(True)
            in_flight[0] += 1
            downloader.create_download_async(url, Gio.File.new_for_path(
                os.path.join(out, os.path.basename(url))), None, on_created)
        wait_for(lambda: len(done) + len(failed) == len(urls), 600, "every download")
        elapsed = time.monotonic() - start
        if failed:
            raise SystemExit(f"{len(failed)} downloads failed: {failed[0]}")
        return elapsed
    finally:
        bus.close()
        shutil.rmtree(session, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="100 files, 2 rounds: does it run?")
    args = ap.parse_args()
    if args.quick:
        args.count, args.rounds = 100, 2
    work = tempfile.mkdtemp(prefix="bgt-bench-many-")
    os.chmod(work, 0o755)
    root = os.path.join(work, "www")
    os.makedirs(root)
    expected = {}
    for i in range(args.count):
        name = f"f{i:04}.bin"
        data = os.urandom(16 * 1024)
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(root, name), 0o644)
        expected[name] = hashlib.sha256(data).hexdigest()
    sources = [os.path.join(root, name) for name in expected]
    nginx = bgtharness.Nginx(root)
    urls = [nginx.url(name) for name in expected]
    competitors = {
        "aria2c -j16": lambda out: run_aria2(urls, out),
        "bgtransfer (defaults: 4 at a time)": lambda out: run_bgtransfer(work, urls, out, {}),
        "bgtransfer (16 at a time)":
            lambda out: run_bgtransfer(work, urls, out, {"max-concurrent-transfers": "16"}),
    }
    results = {name: [] for name in competitors}
    try:
        for r in range(args.rounds):
            for name in benchlib.order(competitors, r):
                out = os.path.join(work, "out")
                os.makedirs(out)
                how = benchlib.settle(warm=sources)
                t = competitors[name](out)
                benchlib.check_files(name, expected, out)
                shutil.rmtree(out)
                results[name].append(t)
                print(f"# round {r + 1}  {name:36} {t:7.2f} s", flush=True)
    finally:
        nginx.close()
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"{args.count} files of 16 KiB, {args.rounds} rounds in alternating order, "
          f"each competitor after {how}, every file checked (sha256)")
    for name, times in results.items():
        print(benchlib.line(name, times, "s"))
    base = statistics.median(results["aria2c -j16"])
    for name, times in results.items():
        if name.startswith("bgtransfer"):
            print(f"{name}/aria2c -j16 time, medians: {statistics.median(times) / base:.2f} "
                  "(target <= 1.0)")


if __name__ == "__main__":
    main()
