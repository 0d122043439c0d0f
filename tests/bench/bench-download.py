#!/usr/bin/python3
# bench-download.py: bgtransfer against curl and aria2c, side by side, one run
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Not a test: it prints figures (SPEC §7). Serves a file from a loopback
# nginx and downloads it with curl, aria2c and the real bgtransferd (on a
# private bus, through libbgtransfer), several rounds each, interleaved so
# that the machine's state is shared fairly. Prints throughput, CPU seconds
# per GiB of the downloading process (for bgtransfer: the service) and the
# ratios to curl, from medians.
#
# Usage (from a built tree):
#   meson devenv -C _build /usr/bin/python3 ../tests/bench/bench-download.py [--size-mib 1024] [--rounds 3]

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import bgtharness  # noqa: E402
from bgtharness import Bgt, Gio, call  # noqa: E402

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


class Bgtransfer:
    def __init__(self, workdir, settings):
        self.bus = bgtharness.ServiceBus(settings=settings,
                                         tmpdir=os.path.join(workdir, "session"))
        self.client = self.bus.client("org.freedesktop.BackgroundTransfer.Bench")
        self.downloader = Bgt.Downloader.new(self.client)
        self.downloader.set_overwrite(True)

    def download(self, url, dest):
        # Warm the service up before timing (activation, TLS backend, store)
        pid = self.bus.service_pid()
        cpu0 = cpu_seconds(pid) if pid else None
        start = time.monotonic()
        t = call(self.downloader, "create_download", url, Gio.File.new_for_path(dest))
        call(t, "wait")
        wall = time.monotonic() - start
        pid = pid or self.bus.service_pid()
        cpu = cpu_seconds(pid) - (cpu0 or 0)
        call(t, "remove")
        return wall, cpu

    def close(self):
        self.bus.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                    help="a GSettings value of the service (GVariant text)")
    ap.add_argument("--only", action="append", default=[], help="measure only these tools")
    ap.add_argument("--workdir", default=None, help="where to put the files (default: /tmp)")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="bgt-bench-", dir=args.workdir)
    os.chmod(work, 0o755)  # nginx's workers run unprivileged
    root = os.path.join(work, "www")
    os.makedirs(root)
    size = args.size_mib << 20
    print(f"# preparing a {args.size_mib} MiB file in {root}", flush=True)
    bgtharness.make_file(os.path.join(root, "file.bin"), size)
    nginx = bgtharness.Nginx(root)
    url = nginx.url("file.bin")
    dest = os.path.join(work, "out.bin")
    bgt = Bgtransfer(work, dict(kv.split("=", 1) for kv in args.setting))

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
    }
    if args.only:
        tools = {k: v for k, v in tools.items()
                 if k in args.only or k in ("curl", "curl + fsync", "bgtransfer")}
    results = {name: [] for name in tools}
    try:
        # One unmeasured round of the service: activation and first-use costs
        drop(dest)
        bgt.download(url, dest)
        for r in range(args.rounds):
            for name, fn in tools.items():
                drop(dest)
                wall, cpu = fn()
                if os.path.getsize(dest) != size:
                    raise RuntimeError(f"{name} wrote {os.path.getsize(dest)} bytes")
                results[name].append((wall, cpu))
                print(f"round {r + 1}  {name:16} {wall:7.3f} s  {size / wall / (1 << 20):8.1f} MiB/s"
                      f"  CPU {cpu / (size / GIB):6.3f} s/GiB", flush=True)
    finally:
        bgt.close()
        nginx.close()
        shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"{'tool':16} {'median MiB/s':>12} {'CPU s/GiB':>10}")
    med = {}
    for name, rows in results.items():
        wall = statistics.median(w for w, _ in rows)
        cpu = statistics.median(c for _, c in rows) / (size / GIB)
        med[name] = (size / wall / (1 << 20), cpu)
        print(f"{name:16} {med[name][0]:12.1f} {cpu:10.3f}")
    print()
    tput = med["bgtransfer"][0] / med["curl"][0]
    cpu = med["bgtransfer"][1] / med["curl"][1] if med["curl"][1] > 0 else float("inf")
    print(f"single connection: bgtransfer/curl throughput {tput:.2f} (target >= 0.95), "
          f"service CPU/curl CPU {cpu:.2f} (target <= 1.5)")
    durable = med["bgtransfer"][0] / med["curl + fsync"][0]
    print(f"                   bgtransfer/(curl + fsync) throughput {durable:.2f}: bgtransfer "
          "flushes a download to the disk before it renames it into place, curl does not; "
          "when the disk is slower than loopback, the disk sets the pace")
    if "aria2c -x4 -s4" in med:
        print(f"4 connections: aria2c -x4 -s4 {med['aria2c -x4 -s4'][0]:.1f} MiB/s; "
              "bgtransfer has no segmented downloads yet (option 'connections' is refused)")


if __name__ == "__main__":
    main()
