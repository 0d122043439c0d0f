#!/usr/bin/python3
# bench-store.py: 10,000 queued transfers: RSS, GetTransfers, restart
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Not a test: it prints figures (docs/contract.md: service RSS <= 64 MiB,
# GetTransfers <= 100 ms, service restart to all re-listed <= 2 s).
# Creates N transfers that are not started (start=false), so nothing but
# the store and the bookkeeping is measured. GetTransfers is timed over
# several calls, the restart over several restarts (SIGTERM, then the
# time from the first call to a full listing), in two kinds that alternate
# (benchlib.order): with the store in the page cache, and with the cache
# dropped (as after a reboot; as root only). Before every restart the
# previous one's write-back is done (benchlib.settle). Every listing must
# be exactly the set of transfers created (a difference aborts: no
# figure). Prints medians and min–max.
#
# tests/bench/run-all imports measure().
#
# Usage: meson devenv -C _build /usr/bin/python3 ../tests/bench/bench-store.py
#            [--count 10000] [--rounds 5] [--calls 11] [--quick]

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import benchlib  # noqa: E402
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
    return time.monotonic() - start, set(reply.unpack()[0])


def check_listing(what, listed, created):
    if listed != created:
        raise SystemExit(f"error: {what}: {len(listed)} transfers listed, "
                         f"{len(listed - created)} not created, {len(created - listed)} "
                         "created and missing: no figure")


WARM = "restart, store in the page cache"
COLD = "restart, page cache dropped"


def measure(count=10000, rounds=5, calls=11, log=print):
    """Returns {"count", "created_s", "db_mib", "rss", "rss_after": [MiB],
    "calls": [s], "restarts": {WARM: [s], COLD: [s]}}; every listing is
    checked against the transfers created."""
    work = tempfile.mkdtemp(prefix="bgt-bench-store-")
    dest = os.path.join(work, "dest")
    os.makedirs(dest)
    # No idle exit: every restart is the benchmark's own
    bus = bgtharness.ServiceBus(settings={"max-transfers-per-app": str(count * 2)},
                                tmpdir=os.path.join(work, "session"), idle_timeout=3600,
                                verbose=False)
    try:
        conn = bus.connect()
        get_transfers(conn)  # activates the service, binds the app id
        pending = [0]
        failed = []
        created = set()

        def done(c, result):
            pending[0] -= 1
            try:
                created.add(c.call_finish(result).unpack()[0])
            except GLib.Error as e:
                failed.append(e.message)

        start = time.monotonic()
        sent = 0
        while sent < count:
            # Up to 100 calls in flight (the bus allows 128): the service commits them in groups
            while pending[0] < 100 and sent < count:
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
        if len(created) != count:
            raise SystemExit(f"error: {len(created)} distinct transfers for {count} "
                             "creations: no figure")

        pid = bus.service_pid()
        times = []
        for _ in range(calls):
            t, listed = get_transfers(conn)
            check_listing("GetTransfers", listed, created)
            times.append(t)
        rss = rss_mib(pid)

        # Restarts: stop the service, prepare, then time activation to a full listing
        restarts = {WARM: [], COLD: []}
        rss_after = []
        cold_possible = True
        for r in range(rounds):
            for kind in benchlib.order(restarts, r):
                if kind == COLD and not cold_possible:
                    continue
                bus.kill_service(signal.SIGTERM)
                how = benchlib.settle(drop_caches=kind == COLD)
                if kind == COLD and how != "sync + drop_caches":
                    cold_possible = False  # not root: nothing to drop
                    continue
                start = time.monotonic()
                _, listed = get_transfers(conn)
                restarts[kind].append(time.monotonic() - start)
                check_listing(kind, listed, created)
                rss_after.append(rss_mib(bus.service_pid()))
                log(f"# round {r + 1}  {kind:34} {restarts[kind][-1] * 1000:6.0f} ms")
        db = os.path.join(bus.state_home, "bgtransfer", "state.db")
        db_mib = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s)) / (1 << 20)
    finally:
        bus.close()
        shutil.rmtree(work, ignore_errors=True)
    return {"count": count, "created_s": created_s, "db_mib": db_mib, "rss": rss,
            "rss_after": rss_after, "calls": times, "restarts": restarts}


def report(res):
    count, created_s, rss = res["count"], res["created_s"], res["rss"]
    print()
    print(f"{count} queued transfers (created in {created_s:.1f} s, "
          f"{count / created_s:.0f}/s; store {res['db_mib']:.1f} MiB); every listing checked "
          "against the transfers created")
    print(f"{'service RSS after creating them':34} {rss:8.1f} MiB")
    print(benchlib.line("service RSS after each restart", res["rss_after"], "MiB", "{:.1f}", 34,
                        "restarts"))
    print(benchlib.line("GetTransfers", [t * 1000 for t in res["calls"]], "ms", "{:.1f}", 34,
                        "calls"))
    for kind, times in res["restarts"].items():
        if times:
            print(benchlib.line(kind, [t * 1000 for t in times], "ms", "{:.0f}", 34, "restarts"))
        else:
            print(f"{kind:34} not measured: /proc/sys/vm/drop_caches is not writable")
    print(f"service RSS {rss:.1f} MiB (target <= 64); GetTransfers, median "
          f"{statistics.median(res['calls']) * 1000:.1f} ms (target <= 100)")
    print(f"restart to all re-listed, median "
          f"{statistics.median(res['restarts'][WARM]) * 1000:.0f} ms (target <= 2000)"
          + (f"; with the page cache dropped "
             f"{statistics.median(res['restarts'][COLD]) * 1000:.0f} ms"
             if res["restarts"][COLD] else ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=5, help="restarts of each kind")
    ap.add_argument("--calls", type=int, default=11, help="GetTransfers calls timed")
    ap.add_argument("--quick", action="store_true", help="1,000 transfers, 2 rounds")
    args = ap.parse_args()
    if args.quick:
        args.count, args.rounds, args.calls = 1000, 2, 5
    report(measure(args.count, args.rounds, args.calls, log=lambda text: print(text, flush=True)))


if __name__ == "__main__":
    main()
