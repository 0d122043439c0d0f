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
# libbgtransfer has no completion-group calls yet, so this example speaks
# the D-Bus interface through GIO (data/org.freedesktop.BackgroundTransfer.xml).

import os
import sys
from urllib.parse import unquote, urlsplit

from gi.repository import Gio, GLib

APP_ID = "org.freedesktop.BackgroundTransfer.ExampleCompletion"
ACTION = "downloads-finished"
REPORT = "downloads-finished.txt"

BUS_NAME = "org.freedesktop.BackgroundTransfer"
MANAGER_PATH = "/org/freedesktop/BackgroundTransfer"
MANAGER_IFACE = "org.freedesktop.BackgroundTransfer.Manager"
GROUP_IFACE = "org.freedesktop.BackgroundTransfer.CompletionGroup"


def call(bus, path, iface, method, args):
    return bus.call_sync(BUS_NAME, path, iface, method, args, None,
                         Gio.DBusCallFlags.NONE, -1, None).unpack()


def queue_downloads(directory, uris):
    """The first run: a completion group and its downloads."""
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    # Every Manager call says which app is calling: the transfers and the
    # group belong to it, and its name is the one the service wakes
    app_id = GLib.Variant("s", APP_ID)
    (group,) = call(bus, MANAGER_PATH, MANAGER_IFACE, "CreateCompletionGroup",
                    GLib.Variant("(a{sv})", ({"app-id": app_id,
                                              "action": GLib.Variant("s", ACTION)},)))
    for uri in uris:
        name = os.path.basename(unquote(urlsplit(uri).path)) or "index.html"
        destination = os.path.join(os.path.abspath(directory), name)
        options = {
            "app-id": app_id,
            "destination": GLib.Variant("s", destination),
            "completion-group": GLib.Variant("o", group),
        }
        (transfer,) = call(bus, MANAGER_PATH, MANAGER_IFACE, "CreateDownload",
                           GLib.Variant("(sa{sv})", (uri, options)))
        print(f"queued {uri} as {transfer}")
    # No more members: from now on the group fires once all of them have ended
    call(bus, group, GROUP_IFACE, "Enable", None)
    print(f"group {group} enabled; the service will wake {APP_ID}")


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
