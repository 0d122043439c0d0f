#!/usr/bin/python3
# bench-store.py: 10,000 queued transfers: RSS, GetTransfers, restart
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Not a test: it prints figures (SPEC §7: service RSS <= 64 MiB,
# GetTransfers <= 100 ms, service restart to all re-listed <= 2 s).
# Creates N transfers that are not started (start=false), so nothing but
# the store and the bookkeeping is measured.
#
# Usage: meson devenv -C _build /usr/bin/python3 ../tests/bench/bench-store.py [--count 10000]

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import bgtharness  # noqa: E402
from bgtharness import GLib, Gio, wait_for  # noqa: E402

APP = "org.freedesktop.BackgroundTransfer.BenchStore"


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def get_transfers(conn):
    start = time.monotonic()
    reply = conn.call_sync(bgtharness.BUS_NAME, bgtharness.MANAGER_PATH, bgtharness.MANAGER_IFACE,
                           "GetTransfers",
                           GLib.Variant("(a{sv})", ({"app-id": GLib.Variant("s", APP)},)),
                           GLib.VariantType("(ao)"), Gio.DBusCallFlags.NONE, 60000, None)
    return time.monotonic() - start, len(reply.unpack()[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10000)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="bgt-bench-store-")
    dest = os.path.join(work, "dest")
    os.makedirs(dest)
    bus = bgtharness.ServiceBus(settings={"max-transfers-per-app": str(args.count * 2)},
                                tmpdir=os.path.join(work, "session"))
    try:
        conn = bus.connect()
        get_transfers(conn)  # activates the service, binds the app id
        pending = [0]
        failed = []

        def done(c, result):
            pending[0] -= 1
            try:
                c.call_finish(result)
            except GLib.Error as e:
                failed.append(e.message)

        start = time.monotonic()
        sent = 0
        while sent < args.count:
            # Up to 100 calls in flight (the bus allows 128): the service commits them in groups
            while pending[0] < 100 and sent < args.count:
                conn.call(bgtharness.BUS_NAME, bgtharness.MANAGER_PATH, bgtharness.MANAGER_IFACE,
                          "CreateDownload",
                          GLib.Variant("(sa{sv})", (f"http://127.0.0.1:9/f{sent}", {
                              "destination": GLib.Variant("s", os.path.join(dest, f"f{sent}")),
                              "start": GLib.Variant("b", False),
                              "app-id": GLib.Variant("s", APP),
                          })), GLib.VariantType("(o)"), Gio.DBusCallFlags.NONE, 60000, None, done)
                sent += 1
                pending[0] += 1
            GLib.MainContext.default().iteration(True)
        wait_for(lambda: pending[0] == 0, 120, "every creation")
        created_s = time.monotonic() - start
        if failed:
            raise SystemExit(f"{len(failed)} creations failed, first: {failed[0]}")

        pid = bus.service_pid()
        times = []
        for _ in range(5):
            t, n = get_transfers(conn)
            assert n == args.count, n
            times.append(t)
        rss = rss_mib(pid)

        # Restart: stop the service, then time activation to a full listing
        bus.kill_service(signal.SIGTERM)
        start = time.monotonic()
        _, n = get_transfers(conn)
        restart_s = time.monotonic() - start
        assert n == args.count, n
        rss_after = rss_mib(bus.service_pid())
        db = os.path.join(bus.state_home, "bgtransfer", "state.db")
        db_mib = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s)) / (1 << 20)

        print(f"{args.count} queued transfers (created in {created_s:.1f} s, "
              f"{args.count / created_s:.0f}/s; store {db_mib:.1f} MiB)")
        print(f"  service RSS:                    {rss:6.1f} MiB   (target <= 64)")
        print(f"  GetTransfers, median of 5:      {statistics.median(times) * 1000:6.1f} ms    "
              f"(target <= 100)")
        print(f"  restart to all re-listed:       {restart_s * 1000:6.0f} ms    (target <= 2000)")
        print(f"  service RSS after the restart:  {rss_after:6.1f} MiB")
    finally:
        bus.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
