#!/usr/bin/python3
# completion-group.py: downloads that wake their application when they end
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage:
#   completion-group.py DIRECTORY URI...    queue the downloads, then exit
#   completion-group.py --gapplication-service   (how D-Bus starts it)
#
# The first form creates a completion group, queues one download per URI
# into DIRECTORY as members of the group, enables the group and exits: the
# downloads go on in the background transfer service. When every member has
# ended (completed, failed or canceled), the service calls
#   org.freedesktop.Application.ActivateAction("downloads-finished", [info], {})
# on the application's well-known name, its app id. If the app is not
# running, the session bus starts it (D-Bus activation) from a .service file
# such as ~/.local/share/dbus-1/services/APP_ID.service:
#
#   [D-BUS Service]
#   Name=org.freedesktop.BackgroundTransfer.ExampleCompletion
#   Exec=/usr/bin/python3 /path/to/completion-group.py --gapplication-service
#
# Gio.Application does the rest: it owns the name, exports
# org.freedesktop.Application and runs the action, which writes a report
# (DIRECTORY/downloads-finished.txt) and prints it.
#
# The first run uses libbgtransfer (Bgt.Client.create_completion_group_async,
# Bgt.Downloader's completion-group, Bgt.CompletionGroup.enable_async); the
# woken instance needs only GIO.

import os
import sys
from urllib.parse import unquote, urlsplit

import gi

gi.require_version("Bgt", "1")
from gi.repository import Bgt, Gio, GLib  # noqa: E402

APP_ID = "org.freedesktop.BackgroundTransfer.ExampleCompletion"
ACTION = "downloads-finished"
REPORT = "downloads-finished.txt"


def queue_downloads(directory, uris):
    """The first run: a completion group and its downloads, created one
    after another with the library's asynchronous calls."""
    # The client says which app is calling: the transfers and the group
    # belong to it, and its id is the name the service wakes
    client = Bgt.Client.new_sync(APP_ID, None)
    downloader = Bgt.Downloader.new(client)
    loop = GLib.MainLoop()
    pending = list(uris)
    failure = []

    def stop(error=None):
        if error is not None:
            failure.append(error)
        loop.quit()

    def on_group_created(client, result):
        try:
            group = client.create_completion_group_finish(result)
        except GLib.Error as e:
            return stop(e)
        # Every download this downloader creates joins the group
        downloader.props.completion_group = group
        queue_next()

    def queue_next():
        if not pending:
            # No more members: from now on the group fires once all of
            # them have ended
            group = downloader.props.completion_group
            return group.enable_async(None, on_enabled)
        uri = pending.pop(0)
        name = os.path.basename(unquote(urlsplit(uri).path)) or "index.html"
        destination = Gio.File.new_for_path(os.path.join(os.path.abspath(directory), name))
        downloader.create_download_async(uri, destination, None, on_created, uri)

    def on_created(downloader, result, uri):
        try:
            download = downloader.create_download_finish(result)
        except GLib.Error as e:
            return stop(e)
        print(f"queued {uri} as {download.props.object_path}")
        queue_next()

    def on_enabled(group, result):
        try:
            group.enable_finish(result)
        except GLib.Error as e:
            return stop(e)
        print(f"group {group.props.object_path} enabled; the service will wake {APP_ID}")
        stop()

    client.create_completion_group_async(ACTION, None, on_group_created)
    loop.run()
    if failure:
        raise failure[0]


class WokenApp(Gio.Application):
    """The app as D-Bus starts it: handles the action, then quits."""

    def __init__(self):
        super().__init__(application_id=APP_ID)
        # A service started for nothing leaves after 10 s
        self.set_inactivity_timeout(10000)

    def do_startup(self):
        Gio.Application.do_startup(self)
        action = Gio.SimpleAction.new(ACTION, GLib.VariantType.new("a{sv}"))
        action.connect("activate", self.on_downloads_finished)
        self.add_action(action)

    def do_activate(self):
        # Started without the action (a launcher, say): nothing to do
        pass

    def on_downloads_finished(self, action, parameter):
        # info: "group" (o) and "transfers" (aa{sv}: "id", "status",
        # "error-status", "destination")
        info = parameter.unpack()
        lines = [f"group {info['group']}"]
        for t in info["transfers"]:
            reason = f" ({t['error-status']})" if t.get("error-status") else ""
            lines.append(f"{t['id']} {t['status']}{reason} {t.get('destination', '')}")
        print("\n".join(lines))
        destinations = [t["destination"] for t in info["transfers"] if t.get("destination")]
        if destinations:
            report = os.path.join(os.path.dirname(destinations[0]), REPORT)
            with open(report + ".tmp", "w") as f:
                f.write("\n".join(lines) + "\n")
            os.rename(report + ".tmp", report)
        self.quit()


def main(argv):
    if len(argv) >= 3 and not argv[1].startswith("-"):
        try:
            queue_downloads(argv[1], argv[2:])
        except GLib.Error as e:
            print(f"cannot queue the downloads: {e.message}", file=sys.stderr)
            return 1
        return 0
    if len(argv) == 2 and argv[1] == "--gapplication-service":
        return WokenApp().run(argv)
    print(f"usage: {argv[0]} DIRECTORY URI...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
