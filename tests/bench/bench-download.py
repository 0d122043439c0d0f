#!/usr/bin/python3
# bench-download.py: bgtransfer against curl and aria2c, side by side, one run
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Not a test: it prints figures (docs/contract.md). Serves a file from a loopback
# nginx and downloads it with curl, aria2c and the real bgtransferd (on a
# private bus, through libbgtransfer), several rounds, the competitors'
# order alternating from round to round (benchlib.order). Before every
# competitor the same preparation (benchlib.settle): the previous one's
# output deleted and its write-back done (sync, drop_caches as root, Dirty
# down), the source read back into the page cache, so that nobody pays for
# another's dirty pages. Every competitor's file in every round is checked
# against the source's sha256 (a mismatch aborts: no figure). The disk's
# own rate (dd conv=fdatasync, the same size) is measured in the same
# rotation and printed beside. Prints the median and min–max throughput,
# the median CPU seconds per GiB of the downloading process (for
# bgtransfer: the service) and the ratios to curl, from medians.
# bgtransfer also runs with the option connections=4 (segmented
# downloads): "n/a (NotSupported)" while the service refuses it.
# tests/bench/run-all imports measure() and medians().
#
# Usage (from a built tree):
#   meson devenv -C _build /usr/bin/python3 ../tests/bench/bench-download.py
#       [--size-mib 1024] [--rounds 5] [--quick]

import argparse
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
from bgtharness import Bgt, Gio, GLib, call  # noqa: E402

GIB = 1 << 30


def cpu_seconds(pid):
    """utime + stime of a live process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def run_child(argv):
    """Runs a command; returns (wall seconds, CPU seconds of it and its children)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {proc.stderr.read().decode()}")
    proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime


def curl_durable(url, dest):
    """curl, then the fsync that bgtransfer does before it renames a
    download into place: the same promise, measured the same way."""
    wall, cpu = run_child(["curl", "-sS", "--fail", "-o", dest, url])
    start = time.monotonic()
    fd = os.open(dest, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return wall + time.monotonic() - start, cpu


def drop(path):
    if os.path.exists(path):
        os.unlink(path)


class NotSupported(Exception):
    """The service refused an option it does not deliver (yet)."""


class Bgtransfer:
    def __init__(self, workdir, settings):
        # No idle exit between its rounds: the CPU figure is the download's
        self.bus = bgtharness.ServiceBus(settings=settings, idle_timeout=3600,
                                         tmpdir=os.path.join(workdir, "session"), verbose=False)
        self.client = self.bus.client("org.freedesktop.BackgroundTransfer.Bench")
        self.downloader = Bgt.Downloader.new(self.client)
        self.downloader.set_overwrite(True)
        self.conn = None

    def download(self, url, dest, connections=None):
        # Warm the service up before timing (activation, TLS backend, store)
        pid = self.bus.service_pid()
        cpu0 = cpu_seconds(pid) if pid else None
        start = time.monotonic()
        if connections is None:
            t = call(self.downloader, "create_download", url, Gio.File.new_for_path(dest))
        else:
            t = self.create_with_connections(url, dest, connections)
        call(t, "wait")
        wall = time.monotonic() - start
        pid = pid or self.bus.service_pid()
        cpu = cpu_seconds(pid) - (cpu0 or 0)
        call(t, "remove")
        return wall, cpu

    def create_with_connections(self, url, dest, connections):
        """The option the library has no property for (segmented
        downloads): CreateDownload on the bus, the same app id."""
        if self.conn is None:
            self.conn = self.client.get_connection()
        options = {
            "destination": GLib.Variant("s", dest),
            "overwrite": GLib.Variant("b", True),
            "connections": GLib.Variant("u", connections),
            "app-id": GLib.Variant("s", "org.freedesktop.BackgroundTransfer.Bench"),
        }
        box = []
        self.conn.call(bgtharness.BUS_NAME, bgtharness.MANAGER_PATH, bgtharness.MANAGER_IFACE,
                       "CreateDownload", GLib.Variant("(sa{sv})", (url, options)),
                       GLib.VariantType("(o)"), Gio.DBusCallFlags.NONE, 60000, None,
                       lambda c, r: box.append(r))
        bgtharness.wait_for(lambda: box, 60, "CreateDownload")
        try:
            path = self.conn.call_finish(box[0]).unpack()[0]
        except GLib.Error as e:
            if "NotSupported" in e.message:
                raise NotSupported(e.message)
            raise
        return call(self.client, "get_transfer", path.rsplit("/", 1)[1])

    def close(self):
        self.bus.close()


DISK = "disk: dd conv=fdatasync"
FOUR = "bgtransfer, 4 connections"


def measure(size_mib=1024, rounds=5, settings=None, only=(), workdir=None, log=print):
    """Every competitor in alternating rounds. Returns {"size": bytes,
    "rounds": n, "how": the preparation, "rows": {name: [(wall s, CPU s)]},
    "refused": {name: why}} (a competitor the service refused is left out
    after its first try)."""
    work = tempfile.mkdtemp(prefix="bgt-bench-", dir=workdir)
    os.chmod(work, 0o755)  # nginx's workers run unprivileged
    root = os.path.join(work, "www")
    os.makedirs(root)
    size = size_mib << 20
    log(f"# preparing a {size_mib} MiB file in {root}")
    source = os.path.join(root, "file.bin")
    digest = bgtharness.make_file(source, size)
    nginx = bgtharness.Nginx(root)
    url = nginx.url("file.bin")
    dest = os.path.join(work, "out.bin")
    bgt = Bgtransfer(work, dict(settings or {}))

    def disk():
        rate = benchlib.dd_rate(os.path.join(work, "dd.bin"), size_mib)
        return size / rate / (1 << 20), 0.0  # as a (wall, CPU) pair

    tools = {
        "curl": lambda: run_child(["curl", "-sS", "--fail", "-o", dest, url]),
        "curl + fsync": lambda: curl_durable(url, dest),
        "aria2c -x1": lambda: run_child(["aria2c", "-q", "-x1", "-s1", "--allow-overwrite=true",
                                         "--file-allocation=none", "-d", work, "-o", "out.bin",
                                         url]),
        "aria2c -x4 -s4": lambda: run_child(["aria2c", "-q", "-x4", "-s4", "--allow-overwrite=true",
                                             "--file-allocation=none", "-d", work, "-o", "out.bin",
                                             url]),
        "bgtransfer": lambda: bgt.download(url, dest),
        FOUR: lambda: bgt.download(url, dest, connections=4),
    }
    if only:
        tools = {k: v for k, v in tools.items()
                 if k in only or k in ("curl", "curl + fsync", "bgtransfer")}
    tools[DISK] = disk
    results = {name: [] for name in tools}
    refused = {}
    how = ""
    try:
        # One unmeasured round of the service: activation and first-use costs
        drop(dest)
        bgt.download(url, dest)
        drop(dest)
        for r in range(rounds):
            for name in benchlib.order(tools, r):
                if name in refused:
                    continue
                how = benchlib.settle(warm=[source])
                try:
                    wall, cpu = tools[name]()
                except NotSupported as e:
                    refused[name] = "NotSupported"
                    log(f"# round {r + 1}  {name:26} refused by the service: {e}")
                    drop(dest + ".bgtpart")
                    continue
                if name != DISK:
                    benchlib.check_files(name, {"out.bin": digest}, work)
                    drop(dest)
                results[name].append((wall, cpu))
                cpu_text = "" if name == DISK else f"  CPU {cpu / (size / GIB):6.3f} s/GiB"
                log(f"# round {r + 1}  {name:26} {wall:7.3f} s  "
                    f"{size / wall / (1 << 20):8.1f} MiB/s{cpu_text}")
    finally:
        bgt.close()
        nginx.close()
        shutil.rmtree(work, ignore_errors=True)
    return {"size": size, "rounds": rounds, "how": how,
            "rows": {k: v for k, v in results.items() if v}, "refused": refused}


def medians(res):
    """{name: (median MiB/s, min MiB/s, max MiB/s, median CPU s/GiB)}"""
    size = res["size"]
    out = {}
    for name, rows in res["rows"].items():
        rate, lo, hi = benchlib.spread([size / w / (1 << 20) for w, _ in rows])
        out[name] = (rate, lo, hi, statistics.median(c for _, c in rows) / (size / GIB))
    return out


def report(res):
    med = medians(res)
    print()
    print(f"{res['size'] >> 20} MiB over loopback, {res['rounds']} rounds in alternating order, "
          f"each competitor after {res['how']}, every file checked (sha256)")
    print(f"{'':26} {'median MiB/s':>12} {'min–max MiB/s':>15} {'CPU s/GiB':>10}")
    for name, (rate, lo, hi, cpu) in med.items():
        cpu_text = "" if name == DISK else f"{cpu:10.3f}"
        print(f"{name:26} {rate:12.1f} {f'{lo:.0f}–{hi:.0f}':>15} {cpu_text}")
    for name, why in res["refused"].items():
        print(f"{name:26} {'n/a (' + why + ')':>12}")
    print()
    if "aria2c -x4 -s4" in med:
        four = (f"bgtransfer {med[FOUR][0]:.1f} MiB/s, ratio "
                f"{med[FOUR][0] / med['aria2c -x4 -s4'][0]:.2f} (target >= 1.0)"
                if FOUR in med else "bgtransfer n/a (the service refuses 'connections')")
        print(f"4 connections: aria2c -x4 -s4 {med['aria2c -x4 -s4'][0]:.1f} MiB/s; {four}")
    durable = med["bgtransfer"][0] / med["curl + fsync"][0]
    print(f"bgtransfer/(curl + fsync) throughput, medians: {durable:.2f} (bgtransfer flushes a "
          "download to the disk before it renames it into place, curl does not; when the disk "
          f"is slower than loopback, the disk sets the pace: dd {med[DISK][0]:.0f} MiB/s)")
    tput = med["bgtransfer"][0] / med["curl"][0]
    cpu = med["bgtransfer"][3] / med["curl"][3] if med["curl"][3] > 0 else float("inf")
    print(f"bgtransfer/curl throughput, medians: {tput:.2f} (target >= 0.95); "
          f"service CPU/curl CPU: {cpu:.2f} (target <= 1.5)")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="64 MiB, 2 rounds: does it run?")
    ap.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                    help="a GSettings value of the service (GVariant text)")
    ap.add_argument("--only", action="append", default=[], help="measure only these tools")
    ap.add_argument("--workdir", default=None, help="where to put the files (default: /tmp)")
    args = ap.parse_args()
    if args.quick:
        args.size_mib, args.rounds = 64, 2
    res = measure(args.size_mib, args.rounds, dict(kv.split("=", 1) for kv in args.setting),
                  args.only, args.workdir, log=lambda text: print(text, flush=True))
    report(res)


if __name__ == "__main__":
    main()
