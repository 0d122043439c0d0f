#!/usr/bin/python3
# bench-kill9.py: kill -9 mid-download, restart, what is fetched twice
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Not a test: it prints figures (docs/contract.md: after kill -9 and a restart the
# download resumes, re-fetches at most one checkpoint interval, and the
# final file is byte-identical). A download from a loopback nginx at a
# limited rate is killed (SIGKILL) at moments spread over its course, the
# service is D-Bus-activated again by the app and resumes; nginx's access
# log says how many bytes it sent for the file in all, and what it sent
# beyond the file's size is what was fetched twice. Several rounds; every
# file is checked against the source.
#
# tests/bench/run-all imports measure().
#
# Usage: meson devenv -C _build /usr/bin/python3 ../tests/bench/bench-kill9.py
#            [--rounds 3] [--kills 3] [--quick]

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import benchlib  # noqa: E402
import bgtharness  # noqa: E402
from bgtharness import Bgt, Gio, call, wait_for  # noqa: E402

MIB = 1 << 20
SIZE = 64 * MIB
RATE_MIB = 16  # nginx's limit_rate: the download takes 4 s
CHECKPOINT = 4 * MIB  # checkpoint-interval-bytes, the default

LOG_SENT = "'$uri $status sent=$body_bytes_sent'"


def measure(rounds=3, kills=3, log=print):
    """Returns {"rounds", "kills", "refetched": [bytes per interruption],
    "checkpoint": bytes}"""
    work = tempfile.mkdtemp(prefix="bgt-bench-kill9-")
    os.chmod(work, 0o755)
    root = os.path.join(work, "www")
    os.makedirs(root)
    sha = bgtharness.make_file(os.path.join(root, "f.bin"), SIZE)
    for r in range(rounds):
        os.link(os.path.join(root, "f.bin"), os.path.join(root, f"f{r}.bin"))
    nginx = bgtharness.Nginx(root, slow_rate=f"{RATE_MIB}m", log_format=LOG_SENT)
    per_interruption = []
    try:
        for r in range(rounds):
            bus = bgtharness.ServiceBus(tmpdir=os.path.join(work, f"session-{r}"))
            try:
                client = bus.client("org.freedesktop.BackgroundTransfer.BenchKill")
                dest = os.path.join(work, f"out{r}.bin")
                t = call(Bgt.Downloader.new(client), "create_download",
                         nginx.url(f"slow/f{r}.bin"), Gio.File.new_for_path(dest))
                for k in range(kills):
                    # Killed at moments spread over the download
                    goal = SIZE * (k + 1) // (kills + 2)
                    wait_for(lambda: t.props.bytes_received >= goal, 60, "bytes to arrive")
                    bus.kill_service(signal.SIGKILL)
                    call(client, "list_transfers")  # D-Bus-activates the service again
                assert call(t, "wait", timeout=120), t.props.error_message
                benchlib.check_files("bgtransfer", {f"out{r}.bin": sha}, work)
            finally:
                bus.close()
            sent = sum(int(line.rsplit("sent=", 1)[1]) for line in nginx.access_log()
                       if line.startswith(f"/slow/f{r}.bin "))
            per_interruption.append((sent - SIZE) / kills)
            log(f"# round {r + 1}  {kills} kills, {sent - SIZE} bytes fetched twice in all")
    finally:
        nginx.close()
        shutil.rmtree(work, ignore_errors=True)
    return {"rounds": rounds, "kills": kills, "refetched": per_interruption,
            "checkpoint": CHECKPOINT}


def report(res):
    print()
    print(f"{SIZE >> 20} MiB at {RATE_MIB} MiB/s, killed {res['kills']} times in each of "
          f"{res['rounds']} rounds; every final file byte-identical")
    print(benchlib.line("re-fetched per kill", [b / MIB for b in res["refetched"]], "MiB",
                        "{:.2f}", 24))
    print(f"re-fetched per kill, at most {max(res['refetched']) / MIB:.2f} MiB "
          f"(target <= one checkpoint interval, {res['checkpoint'] / MIB:.0f} MiB)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--kills", type=int, default=3, help="kills per download")
    ap.add_argument("--quick", action="store_true", help="1 round, 1 kill")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.kills = 1, 1
    report(measure(args.rounds, args.kills, log=lambda text: print(text, flush=True)))


if __name__ == "__main__":
    main()
