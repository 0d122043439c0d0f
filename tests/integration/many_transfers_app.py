# many_transfers_app.py: an application that hands the service N downloads
# at once through libbgtransfer, without pacing, and hears each one end
#
# Run by test_scale.py on the test's bus (DBUS_SESSION_BUS_ADDRESS):
#   many_transfers_app.py URI DEST_DIR N
# Prints one JSON object: how many were created, how many ended and how,
# the time each phase took and this process's RSS.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import os
import sys
import time

import gi

gi.require_version("Bgt", "1")
gi.require_version("Gio", "2.0")
from gi.repository import Bgt, Gio, GLib  # noqa: E402


def rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def peak_match_rules(conn):
    """The most match rules this connection ever had, as dbus-daemon
    counts them (None if it keeps no statistics)"""
    try:
        reply = conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus.Debug.Stats", "GetConnectionStats",
                               GLib.Variant("(s)", (conn.get_unique_name(),)), None,
                               Gio.DBusCallFlags.NONE, 10000, None)
    except GLib.Error:
        return None
    return reply.unpack()[0]["PeakMatchRules"]


def main():
    uri, dest_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    loop = GLib.MainLoop()
    client = Bgt.Client.new_sync("org.example.Many", None)
    downloader = Bgt.Downloader.new(client)
    started = time.monotonic()
    transfers, errors, ended = [], [], {}
    statuses = {}
    created_at = [None]

    def on_status(t, pspec):
        if t.is_finished() and t.get_object_path() not in ended:
            ended[t.get_object_path()] = t.props.status.value_nick
            check_done()

    def check_done():
        if len(transfers) + len(errors) == n and len(ended) == len(transfers):
            loop.quit()

    def on_created(source, result, _):
        try:
            t = source.create_download_finish(result)
        except GLib.Error as e:
            errors.append(e.message)
            check_done()
            return
        transfers.append(t)
        t.connect("notify::status", on_status)
        on_status(t, None)  # may have ended before we listened
        if len(transfers) + len(errors) == n:
            created_at[0] = time.monotonic() - started
        check_done()

    # All at once: the library keeps the bus's limits, not the app
    for i in range(n):
        downloader.create_download_async(uri, Gio.File.new_for_path(os.path.join(dest_dir, str(i))),
                                         None, on_created, None)
    queued = time.monotonic() - started
    GLib.timeout_add_seconds(int(os.environ.get("MANY_TIMEOUT", "900")), loop.quit)
    loop.run()
    for nick in ended.values():
        statuses[nick] = statuses.get(nick, 0) + 1
    print(json.dumps({
        "peak_match_rules": peak_match_rules(client.get_connection()),
        "n": n, "created": len(transfers), "errors": errors[:5], "n_errors": len(errors),
        "ended": len(ended), "statuses": statuses, "queued_s": round(queued, 2),
        "created_s": created_at[0] and round(created_at[0], 2),
        "total_s": round(time.monotonic() - started, 2),
        "rss_mib": round(rss_kib("VmRSS") / 1024, 1), "peak_rss_mib": round(rss_kib("VmHWM") / 1024, 1),
    }))


if __name__ == "__main__":
    main()
