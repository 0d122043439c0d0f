#!/usr/bin/python3
# bench-many.py: 1,000 files of 16 KiB queued at once, bgtransfer vs aria2c -j16
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Not a test: it prints figures (SPEC §7: total time <= aria2c -j16's).
# bgtransfer runs with its default settings (max-concurrent-transfers 4)
# and again with 16 concurrent transfers, the number aria2c is given.
#
# Usage: meson devenv -C _build /usr/bin/python3 ../tests/bench/bench-many.py [--count 1000]

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
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


def run_bgtransfer(work, urls, out, settings):
    bus = bgtharness.ServiceBus(settings=dict(settings, **{"max-transfers-per-app": "100000"}),
                                tmpdir=os.path.join(work, "session-%d" % len(os.listdir(work))))
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bgt-bench-many-")
    os.chmod(work, 0o755)
    root = os.path.join(work, "www")
    os.makedirs(root)
    for i in range(args.count):
        with open(os.path.join(root, f"f{i:04}.bin"), "wb") as f:
            f.write(os.urandom(16 * 1024))
        os.chmod(os.path.join(root, f"f{i:04}.bin"), 0o644)
    nginx = bgtharness.Nginx(root)
    urls = [nginx.url(f"f{i:04}.bin") for i in range(args.count)]
    results = {}
    try:
        for name, runner in (
            ("aria2c -j16", lambda out: run_aria2(urls, out)),
            ("bgtransfer (defaults: 4 at a time)",
             lambda out: run_bgtransfer(work, urls, out, {})),
            ("bgtransfer (16 at a time)",
             lambda out: run_bgtransfer(work, urls, out, {"max-concurrent-transfers": "16"})),
        ):
            out = os.path.join(work, "out-" + str(len(results)))
            os.makedirs(out)
            results[name] = runner(out)
            assert len([f for f in os.listdir(out) if f.endswith(".bin")]) == args.count
            print(f"{name:36} {results[name]:7.2f} s", flush=True)
    finally:
        nginx.close()
        shutil.rmtree(work, ignore_errors=True)
    base = results["aria2c -j16"]
    for name, t in results.items():
        if name.startswith("bgtransfer"):
            print(f"{name}: {t / base:.2f} × aria2c -j16's time (target <= 1.0)")


if __name__ == "__main__":
    main()
