#!/usr/bin/python3
# random-access.py: read the end of a file first, while it downloads
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: random-access.py [--connections N] URI DESTINATION
#
# What a media player does when it seeks: the download is created with
# random-access (over N connections, 4 by default), its data opened as a
# Bgt.ResultStream, and the last MiB read first. The stream asks the
# service for that range (RequestRange) and waits for it (RangesAdded);
# the script then checks those bytes against the server's own (a plain
# HTTP range request) and waits for the download to complete.

import argparse
import sys
import urllib.request

import gi

gi.require_version("Bgt", "1")
from gi.repository import Bgt, Gio, GLib  # noqa: E402

APP_ID = "org.freedesktop.BackgroundTransfer.ExampleRandomAccess"
BUS_NAME = "org.freedesktop.BackgroundTransfer"
MIB = 1024 * 1024


def server_bytes(uri, first, last):
    request = urllib.request.Request(uri, headers={"Range": f"bytes={first}-{last}"})
    with urllib.request.urlopen(request) as response:
        return response.read()


def main(argv):
    ap = argparse.ArgumentParser(description="Read the end of a download first")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("uri")
    ap.add_argument("destination")
    args = ap.parse_args(argv[1:])
    loop = GLib.MainLoop()
    outcome = {"status": 1}
    client = Bgt.Client.new_sync(APP_ID, None)
    connection = client.get_connection()
    state = {"tail": b""}

    def fail(message):
        print(message, file=sys.stderr)
        loop.quit()

    def bytes_on_disk(download):
        # RangesDownloaded: the (offset, length) pairs on disk right now
        reply = connection.call_sync(
            BUS_NAME, download.get_object_path(), "org.freedesktop.DBus.Properties", "Get",
            GLib.Variant("(ss)", ("org.freedesktop.BackgroundTransfer.Transfer",
                                  "RangesDownloaded")),
            None, Gio.DBusCallFlags.NONE, -1, None)
        return sum(length for _, length in reply.unpack()[0])

    def on_done(download, result):
        try:
            download.wait_finish(result)
            print(f"saved {args.destination}")
        except GLib.Error as e:
            fail(f"failed: {e.message}")
            outcome["status"] = 1
        loop.quit()

    def on_read(stream, result, download, size):
        try:
            chunk = stream.read_bytes_finish(result).get_data()
        except GLib.Error as e:
            fail(f"cannot read: {e.message}")
            return
        if not chunk:
            fail("the stream ended before the last MiB")
            return
        state["tail"] += chunk
        want = min(MIB, size)
        if len(state["tail"]) < want:
            stream.read_bytes_async(want - len(state["tail"]), GLib.PRIORITY_DEFAULT, None,
                                    on_read, download, size)
            return
        on_disk = bytes_on_disk(download)
        print(f"read the last {want} bytes while {on_disk} of {size} bytes were on disk")
        if state["tail"] != server_bytes(args.uri, size - want, size - 1):
            fail("the last MiB differs from the server's")
            return
        print("the last MiB matches the server's")
        outcome["status"] = 0
        stream.close(None)
        download.wait_async(None, on_done)

    def read_tail(stream, download, size):
        stream.seek(max(size - MIB, 0), GLib.SeekType.SET, None)
        stream.read_bytes_async(min(MIB, size), GLib.PRIORITY_DEFAULT, None, on_read, download,
                                size)

    def known_size(download):
        # Unknown until the server's first answer (-1 or G_MAXUINT64)
        total = download.props.total_bytes_to_receive
        return None if total < 0 or total == GLib.MAXUINT64 else total

    def on_stream(download, result):
        try:
            stream = download.open_result_stream_finish(result)
        except GLib.Error as e:
            fail(f"cannot open the data: {e.message}")
            return
        if known_size(download) is not None:
            read_tail(stream, download, known_size(download))
            return

        def on_size(download, _pspec):
            if known_size(download) is not None:
                download.disconnect(state.pop("handler"))
                read_tail(stream, download, known_size(download))

        state["handler"] = download.connect("notify::total-bytes-to-receive", on_size)

    def on_transfer(client, result):
        try:
            download = client.get_transfer_finish(result)
        except GLib.Error as e:
            fail(f"cannot find the download: {e.message}")
            return
        download.open_result_stream_async(None, on_stream)

    def on_created(connection, result):
        try:
            (path,) = connection.call_finish(result).unpack()
        except GLib.Error as e:
            fail(f"cannot download: {e.message}")
            return
        client.get_transfer_async(path, None, on_transfer)

    # The options random-access and connections, through the bus itself
    connection.call(
        BUS_NAME, "/org/freedesktop/BackgroundTransfer",
        "org.freedesktop.BackgroundTransfer.Manager", "CreateDownload",
        GLib.Variant("(sa{sv})", (args.uri, {
            "app-id": GLib.Variant("s", APP_ID),
            "destination": GLib.Variant("s", Gio.File.new_for_commandline_arg(
                args.destination).get_path()),
            "random-access": GLib.Variant("b", True),
            "connections": GLib.Variant("u", args.connections),
        })), None, Gio.DBusCallFlags.NONE, -1, None, on_created)
    loop.run()
    return outcome["status"]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
