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
# median and min–max per competitor and the ratios of the medians, the
# service's CPU time per file, and the service's RSS and open fds before
# the first creation and after the last download (--window N keeps at
# most N transfers waiting, to tell what the finished transfers cost from
# what a long queue does).
# A fourth competitor is the disk alone: the same files written as the
# service commits a download (a new partial file, fdatasync, the rename,
# the directory's fsync), 4 at a time, with no network and no IPC: what the
# durability contract itself costs on this machine.
# tests/bench/run-all imports Files, measure() and run_bgtransfer().
#
# Usage: meson devenv -C _build /usr/bin/python3 ../tests/bench/bench-many.py
#            [--count 1000] [--rounds 5] [--window N] [--quick]

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
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import benchlib  # noqa: E402
import bgtharness  # noqa: E402
from bgtharness import Bgt, Gio, GLib  # noqa: E402


def run_aria2(urls, out):
    listing = os.path.join(out, "list.txt")
    with open(listing, "w") as f:
        f.write("\n".join(urls) + "\n")
    start = time.monotonic()
    subprocess.run(["aria2c", "-q", "-j16", "--file-allocation=none", "-d", out, "-i", listing],
                   check=True)
    return time.monotonic() - start


SESSIONS = itertools.count()


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid):
    """user + system time of the process, all its threads"""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_durable(sources, out, at_once=4):
    """Writes each source into out as the service commits a download (a
    new partial file, one write, fdatasync, the rename into place, fsync of
    the directory), at_once files at a time; returns the time taken."""
    contents = []
    for path in sources:
        with open(path, "rb") as f:
            contents.append((os.path.basename(path), f.read()))
    dfd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)

    def commit(item):
        name, data = item
        part = os.path.join(out, name + ".part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            if os.write(fd, data) != len(data):
                raise SystemExit(f"short write to {part}")
            os.fdatasync(fd)
        finally:
            os.close(fd)
        os.rename(part, os.path.join(out, name))
        os.fsync(dfd)

    try:
        start = time.monotonic()
        with ThreadPoolExecutor(at_once) as pool:
            for _ in pool.map(commit, contents):
                pass
        return time.monotonic() - start
    finally:
        os.close(dfd)


def run_bgtransfer(work, urls, out, settings, window=None):
    """Downloads every URL through a fresh service; returns {"time": s,
    "rss": (before, after) MiB, "fds": (before, after)} of the service,
    before the first creation and once every download ended. @window: at
    most this many transfers waiting at once (created ahead of the ones
    done), instead of all of them."""
    session = os.path.join(work, "session-%d" % next(SESSIONS))
    bus = bgtharness.ServiceBus(settings=dict(settings, **{"max-transfers-per-app": "100000"}),
                                tmpdir=session, verbose=False)
    try:
        client = bus.client("org.freedesktop.BackgroundTransfer.BenchMany")
        downloader = Bgt.Downloader.new(client)
        pid = bus.service_pid()
        rss_before, fds_before = rss_mib(pid), open_fds(pid)
        cpu_before = cpu_seconds(pid)
        done = []
        failed = []
        in_flight = [0]
        created = [0]
        loop = GLib.MainLoop()

        def finished():
            return len(done) + len(failed)

        def create_more():
            # Creations and the waits' first reads under the bus's 128
            # pending replies; with @window, at most that many waiting
            while (created[0] < len(urls) and in_flight[0] < 30
                   and (window is None or created[0] - finished() < window)):
                url = urls[created[0]]
                created[0] += 1
                in_flight[0] += 1
                downloader.create_download_async(url, Gio.File.new_for_path(
                    os.path.join(out, os.path.basename(url))), None, on_created)

        def on_waited(t, result):
            try:
                t.wait_finish(result)
                done.append(t)
            except GLib.Error as e:
                failed.append(e.message)
            if finished() == len(urls):
                loop.quit()
            elif window is not None:
                create_more()

        def on_created(d, result):
            in_flight[0] -= 1
            try:
                d.create_download_finish(result).wait_async(None, on_waited)
            except GLib.Error as e:
                failed.append(e.message)
                if finished() == len(urls):
                    loop.quit()
            create_more()

        def on_timeout():
            failed.append("timed out after 1800 s waiting for every download")
            guard[0] = 0
            loop.quit()
            return GLib.SOURCE_REMOVE

        # The app's way: a main loop, driven by the library's callbacks
        guard = [GLib.timeout_add_seconds(1800, on_timeout)]
        start = time.monotonic()
        create_more()
        loop.run()
        elapsed = time.monotonic() - start
        if guard[0]:
            GLib.source_remove(guard[0])
        if failed:
            raise SystemExit(f"{len(failed)} downloads failed: {failed[0]}")
        return {"time": elapsed, "rss": (rss_before, rss_mib(pid)),
                "fds": (fds_before, open_fds(pid)), "cpu": cpu_seconds(pid) - cpu_before}
    finally:
        bus.close()
        shutil.rmtree(session, ignore_errors=True)


class Files:
    """count files of 16 KiB served by a loopback nginx, and their sha256"""

    def __init__(self, count, work):
        self.root = os.path.join(work, "www")
        os.makedirs(self.root)
        self.expected = {}
        for i in range(count):
            name = f"f{i:05}.bin"
            data = os.urandom(16 * 1024)
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(data)
            os.chmod(os.path.join(self.root, name), 0o644)
            self.expected[name] = hashlib.sha256(data).hexdigest()
        self.sources = [os.path.join(self.root, name) for name in self.expected]
        self.nginx = bgtharness.Nginx(self.root)
        self.urls = [self.nginx.url(name) for name in self.expected]

    def subset(self, count):
        names = list(self.expected)[:count]
        return ([self.nginx.url(n) for n in names], {n: self.expected[n] for n in names},
                [os.path.join(self.root, n) for n in names])

    def close(self):
        self.nginx.close()


DEFAULTS = "bgtransfer (defaults: 4 at a time)"
SIXTEEN = "bgtransfer (16 at a time)"
ARIA = "aria2c -j16"
DURABLE = "the disk alone (durable, 4 at once)"
# Each runs the files (their urls, or their sources on disk) into out;
# window (run_bgtransfer()) is bgtransfer's alone
COMPETITORS = {
    ARIA: lambda work, urls, sources, out, window: {"time": run_aria2(urls, out)},
    DEFAULTS: lambda work, urls, sources, out, window: run_bgtransfer(work, urls, out, {}, window),
    SIXTEEN: lambda work, urls, sources, out, window: run_bgtransfer(
        work, urls, out, {"max-concurrent-transfers": "16"}, window),
    DURABLE: lambda work, urls, sources, out, window: {"time": run_durable(sources, out)},
}


def measure(files, work, count, rounds, competitors=tuple(COMPETITORS), log=print, window=None):
    """@competitors (names of COMPETITORS) in alternating rounds on the first
    count files; returns {"count", "rounds", "how", "rows": {name: [dict of
    run_bgtransfer() or {"time"}]}}. Every file of every round is checked."""
    urls, expected, sources = files.subset(count)
    results = {name: [] for name in competitors}
    how = ""
    for r in range(rounds):
        for name in benchlib.order(competitors, r):
            out = os.path.join(work, "out")
            os.makedirs(out)
            how = benchlib.settle(warm=sources)
            row = COMPETITORS[name](work, urls, sources, out, window)
            benchlib.check_files(name, expected, out)
            shutil.rmtree(out)
            results[name].append(row)
            extra = (f"   RSS {row['rss'][0]:.1f}→{row['rss'][1]:.1f} MiB, "
                     f"fds {row['fds'][0]}→{row['fds'][1]}, "
                     f"CPU {row['cpu'] / count * 1000:.2f} ms/file" if "rss" in row else "")
            log(f"# round {r + 1}  {name:36} {row['time']:7.2f} s{extra}")
    return {"count": count, "rounds": rounds, "how": how, "rows": results}


def cpu_per_file(count, rows):
    """The service's CPU time per file, in ms, median over the rounds"""
    return statistics.median(row["cpu"] for row in rows) / count * 1000


def report(res):
    print()
    print(f"{res['count']} files of 16 KiB, {res['rounds']} rounds in alternating order, "
          f"each competitor after {res['how']}, every file checked (sha256)")
    for name, rows in res["rows"].items():
        print(benchlib.line(name, [row["time"] for row in rows], "s"))
        if rows and "rss" in rows[0]:
            print(f"{'':36} service RSS {rows[-1]['rss'][0]:.1f} → {rows[-1]['rss'][1]:.1f} MiB, "
                  f"open fds {rows[-1]['fds'][0]} → {rows[-1]['fds'][1]} (last round); "
                  f"service CPU {cpu_per_file(res['count'], rows):.2f} ms per file (median)")
    if ARIA in res["rows"]:
        base = statistics.median(row["time"] for row in res["rows"][ARIA])
        for name, rows in res["rows"].items():
            if name.startswith("bgtransfer"):
                print(f"{name}/{ARIA} time, medians: "
                      f"{statistics.median(row['time'] for row in rows) / base:.2f} "
                      "(target <= 1.0)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--window", type=int, default=None,
                    help="bgtransfer: at most this many waiting at once (default: all queued)")
    ap.add_argument("--quick", action="store_true", help="100 files, 2 rounds: does it run?")
    args = ap.parse_args()
    if args.quick:
        args.count, args.rounds = 100, 2
    work = tempfile.mkdtemp(prefix="bgt-bench-many-")
    os.chmod(work, 0o755)
    files = Files(args.count, work)
    try:
        res = measure(files, work, args.count, args.rounds, window=args.window,
                      log=lambda text: print(text, flush=True))
    finally:
        files.close()
        shutil.rmtree(work, ignore_errors=True)
    report(res)


if __name__ == "__main__":
    main()
