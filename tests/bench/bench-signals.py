#!/usr/bin/python3
# bench-signals.py: property-change signals per second per transfer
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Not a test: it prints figures (docs/contract.md: at most ten
# PropertiesChanged signals per second per transfer). Four downloads run
# side by side from a loopback nginx at a limited rate, so that their byte
# counters change all the time; the app that owns them counts every
# PropertiesChanged signal it receives for each, and the benchmark prints
# the largest number any transfer received within one second (a sliding
# window over the signals' arrival times) and the mean rate. Every file is
# checked against its source.
#
# tests/bench/run-all imports measure().
#
# Usage: meson devenv -C _build /usr/bin/python3 ../tests/bench/bench-signals.py
#            [--seconds 4] [--quick]

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import benchlib  # noqa: E402
import bgtharness  # noqa: E402
from bgtharness import Bgt, Gio, call, wait_for  # noqa: E402

MIB = 1 << 20
RATE_MIB = 8  # per download, nginx's limit_rate
TRANSFERS = 4


def max_in_a_second(times):
    """The most arrival times within any one second"""
    best = 0
    first = 0
    for last, t in enumerate(times):
        while t - times[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


def measure(seconds=4, log=print):
    """Returns {"transfers", "seconds", "max_per_second": [per transfer],
    "mean_per_second": [per transfer]}"""
    work = tempfile.mkdtemp(prefix="bgt-bench-signals-")
    os.chmod(work, 0o755)
    root = os.path.join(work, "www")
    os.makedirs(root)
    size = seconds * RATE_MIB * MIB
    sha = bgtharness.make_file(os.path.join(root, "f.bin"), size)
    for i in range(TRANSFERS):
        os.link(os.path.join(root, "f.bin"), os.path.join(root, f"f{i}.bin"))
    nginx = bgtharness.Nginx(root, slow_rate=f"{RATE_MIB}m")
    bus = bgtharness.ServiceBus(tmpdir=os.path.join(work, "session"))
    arrivals = {}
    try:
        client = bus.client("org.freedesktop.BackgroundTransfer.BenchSignals")
        conn = client.get_connection()

        def on_signal(connection, sender, path, iface, name, params):
            arrivals.setdefault(path, []).append(time.monotonic())

        sub = conn.signal_subscribe(bgtharness.BUS_NAME, "org.freedesktop.DBus.Properties",
                                    "PropertiesChanged", None, bgtharness.TRANSFER_IFACE,
                                    Gio.DBusSignalFlags.NONE, on_signal)
        d = Bgt.Downloader.new(client)
        ts = [call(d, "create_download", nginx.url(f"slow/f{i}.bin"),
                   Gio.File.new_for_path(os.path.join(work, f"out{i}.bin")))
              for i in range(TRANSFERS)]
        for t in ts:
            assert call(t, "wait", timeout=seconds * 10 + 60), t.props.error_message
        wait_for(lambda: all(t.props.status == Bgt.Status.COMPLETED for t in ts), 10,
                 "the completions")
        conn.signal_unsubscribe(sub)
        benchlib.check_files("bgtransfer", {f"out{i}.bin": sha for i in range(TRANSFERS)}, work)
    finally:
        bus.close()
        nginx.close()
        shutil.rmtree(work, ignore_errors=True)
    maxima, means = [], []
    for path, times in sorted(arrivals.items()):
        span = max(times[-1] - times[0], 1e-3)
        maxima.append(max_in_a_second(times))
        means.append(len(times) / span)
        log(f"# {path.rsplit('/', 1)[1][:8]}: {len(times)} signals over {span:.1f} s, "
            f"at most {maxima[-1]} within a second")
    return {"transfers": TRANSFERS, "seconds": seconds, "max_per_second": maxima,
            "mean_per_second": means}


def report(res):
    print()
    print(f"{res['transfers']} downloads side by side at {RATE_MIB} MiB/s each for about "
          f"{res['seconds']} s; PropertiesChanged signals the owner received per transfer")
    print(benchlib.line("most within one second", res["max_per_second"], "signals", "{:.0f}",
                        24, "transfers"))
    print(benchlib.line("mean per second", res["mean_per_second"], "signals", "{:.1f}", 24,
                        "transfers"))
    print(f"property-change signals per second per transfer, at most {max(res['max_per_second'])} "
          "(target <= 10)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=4, help="how long each download runs")
    ap.add_argument("--quick", action="store_true", help="2 s downloads")
    args = ap.parse_args()
    if args.quick:
        args.seconds = 2
    report(measure(args.seconds, log=lambda text: print(text, flush=True)))


if __name__ == "__main__":
    main()
