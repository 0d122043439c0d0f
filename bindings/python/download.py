#!/usr/bin/python3
# download.py: download a file in the background with libbgtransfer, from Python
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: download.py URI DESTINATION
#
# The download is handed to the background transfer service: if this script
# is stopped, the transfer goes on. An app that comes back re-attaches to its
# transfers with Bgt.Client.list_transfers_async().

import sys

import gi

gi.require_version("Bgt", "1")
from gi.repository import Bgt, Gio, GLib  # noqa: E402


def main(argv):
    if len(argv) != 3:
        print(f"usage: {argv[0]} URI DESTINATION", file=sys.stderr)
        return 2
    uri, destination = argv[1], argv[2]
    loop = GLib.MainLoop()
    outcome = {"status": 1}

    client = Bgt.Client.new_sync("org.freedesktop.BackgroundTransfer.ExamplePython", None)
    downloader = Bgt.Downloader.new(client)

    def on_progress(transfer, _pspec):
        total = transfer.props.total_bytes_to_receive
        if total >= 0:  # -1 while the server has not said
            print(f"{transfer.props.bytes_received}/{total} bytes", flush=True)

    def on_done(transfer, result):
        try:
            transfer.wait_finish(result)
            print(f"saved {destination}")
            outcome["status"] = 0
        except GLib.Error as e:
            print(f"failed: {e.message}", file=sys.stderr)
        loop.quit()

    def on_created(downloader, result):
        try:
            download = downloader.create_download_finish(result)
        except GLib.Error as e:
            print(f"cannot download: {e.message}", file=sys.stderr)
            loop.quit()
            return
        # The download may have made progress, or ended, before it got
        # here: report where it is, then every change
        on_progress(download, None)
        download.connect("notify::bytes-received", on_progress)
        download.wait_async(None, on_done)

    downloader.create_download_async(uri, Gio.File.new_for_commandline_arg(destination),
                                     None, on_created)
    loop.run()
    return outcome["status"]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
