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
# service for that range (Bgt.Download.request_range_async) and waits for
# it (Bgt.Transfer::ranges-added); the script then checks those bytes
# against the server's own (a plain HTTP range request) and waits for the
# download to complete.

import argparse
import sys
import urllib.request

import gi

gi.require_version("Bgt", "1")
from gi.repository import Bgt, Gio, GLib  # noqa: E402

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
    tail = bytearray()

    client = Bgt.Client.new_sync("org.freedesktop.BackgroundTransfer.ExampleRandomAccess", None)
    downloader = Bgt.Downloader.new(client)
    downloader.set_random_access(True)
    downloader.set_connections(args.connections)

    def fail(message):
        print(message, file=sys.stderr)
        outcome["status"] = 1
        loop.quit()

    def on_done(download, result):
        try:
            download.wait_finish(result)
            print(f"saved {args.destination}")
        except GLib.Error as e:
            fail(f"failed: {e.message}")
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
        tail.extend(chunk)
        want = min(MIB, size)
        if len(tail) < want:
            stream.read_bytes_async(want - len(tail), GLib.PRIORITY_DEFAULT, None, on_read,
                                    download, size)
            return
        # RangesDownloaded at this very moment: what is on disk
        on_disk = sum(length for _, length in download.dup_ranges().unpack())
        print(f"read the last {want} bytes while {on_disk} of {size} bytes were on disk")
        if bytes(tail) != server_bytes(args.uri, size - want, size - 1):
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

    def on_stream(download, result):
        try:
            stream = download.open_result_stream_finish(result)
        except GLib.Error as e:
            fail(f"cannot open the data: {e.message}")
            return
        # The size is known once the server has answered (-1 until then)
        if download.props.total_bytes_to_receive >= 0:
            read_tail(stream, download, download.props.total_bytes_to_receive)
            return

        def on_size(download, _pspec):
            if download.props.total_bytes_to_receive >= 0:
                download.disconnect(handler)
                read_tail(stream, download, download.props.total_bytes_to_receive)

        handler = download.connect("notify::total-bytes-to-receive", on_size)

    def on_created(downloader, result):
        try:
            download = downloader.create_download_finish(result)
        except GLib.Error as e:
            fail(f"cannot download: {e.message}")
            return
        download.open_result_stream_async(None, on_stream)

    downloader.create_download_async(args.uri, Gio.File.new_for_commandline_arg(args.destination),
                                     None, on_created)
    loop.run()
    return outcome["status"]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
