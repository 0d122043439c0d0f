#!/usr/bin/python3
# sandboxed_client.py: what an app inside a Flatpak-like sandbox may try
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run under bwrap by test_security.py. Speaks raw D-Bus (no library) so that
# every call is exactly what a hostile app could send. Prints one JSON value:
# the result, or {"error": "<D-Bus error name>"}.

import json
import os
import sys
import time

from gi.repository import Gio, GLib

NAME = "org.freedesktop.BackgroundTransfer"
MANAGER = "/org/freedesktop/BackgroundTransfer"
MANAGER_IFACE = NAME + ".Manager"
TRANSFER_IFACE = NAME + ".Transfer"


def call(conn, path, iface, method, args=None, fds=None):
    reply, _ = conn.call_with_unix_fd_list_sync(NAME, path, iface, method, args, None,
                                                 Gio.DBusCallFlags.NONE, 20000, fds, None)
    return reply.unpack() if reply is not None else None


def main(argv):
    conn = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    action, args = argv[1], argv[2:]
    try:
        if action == "create-fd":
            uri, path = args
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            fds = Gio.UnixFDList.new()
            index = fds.append(fd)
            os.close(fd)
            out = call(conn, MANAGER, MANAGER_IFACE, "CreateDownload",
                       GLib.Variant("(sa{sv})", (uri, {"destination-fd": GLib.Variant("h", index)})),
                       fds)[0]
        elif action == "create-upload-fd":
            # uri path method protocol: a file the app opened itself
            uri, path, method, protocol = args
            fd = os.open(path, os.O_RDONLY)
            fds = Gio.UnixFDList.new()
            index = fds.append(fd)
            os.close(fd)
            out = call(conn, MANAGER, MANAGER_IFACE, "CreateUpload",
                       GLib.Variant("(sa{sv})", (uri, {"source-fd": GLib.Variant("h", index),
                                                       "method": GLib.Variant("s", method),
                                                       "protocol": GLib.Variant("s", protocol)})),
                       fds)[0]
        elif action == "create-fd-twice":
            # destination-fd given twice, each a file of the app's own
            uri, first, second = args
            fds = Gio.UnixFDList.new()
            entries = []
            for path in (first, second):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                entries.append(GLib.Variant.new_dict_entry(
                    GLib.Variant("s", "destination-fd"),
                    GLib.Variant("v", GLib.Variant("h", fds.append(fd)))))
                os.close(fd)
            out = call(conn, MANAGER, MANAGER_IFACE, "CreateDownload", GLib.Variant.new_tuple(
                GLib.Variant("s", uri), GLib.Variant.new_array(GLib.VariantType("{sv}"), entries)),
                fds)[0]
        elif action == "create-path":
            uri, path = args
            out = call(conn, MANAGER, MANAGER_IFACE, "CreateDownload",
                       GLib.Variant("(sa{sv})", (uri, {"destination": GLib.Variant("s", path)})))[0]
        elif action == "list":
            out = call(conn, MANAGER, MANAGER_IFACE, "GetTransfers",
                       GLib.Variant("(a{sv})", ({},)))[0]
        elif action == "call":
            path, method = args
            out = call(conn, path, TRANSFER_IFACE, method)
        elif action == "get":
            path, prop = args
            out = str(call(conn, path, "org.freedesktop.DBus.Properties", "Get",
                           GLib.Variant("(ss)", (TRANSFER_IFACE, prop)))[0])
        elif action == "getall":
            (path,) = args
            out = str(call(conn, path, "org.freedesktop.DBus.Properties", "GetAll",
                           GLib.Variant("(s)", (TRANSFER_IFACE,)))[0])
        elif action == "introspect":
            (path,) = args
            # Identified first (an unidentified caller is shown no node at all)
            call(conn, MANAGER, MANAGER_IFACE, "GetTransfers", GLib.Variant("(a{sv})", ({},)))
            out = call(conn, path, "org.freedesktop.DBus.Introspectable", "Introspect")[0]
        elif action == "portal-as-frontend":
            # A sandboxed app that took the frontend's name on a bus that
            # lets it (a real session bus's Flatpak proxy would not)
            owned = conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                   "org.freedesktop.DBus", "RequestName",
                                   GLib.Variant("(su)", ("org.freedesktop.portal.Desktop", 4)),
                                   None, Gio.DBusCallFlags.NONE, 20000, None).unpack()[0]
            if owned != 1:
                raise SystemExit(f"could not own the frontend's name ({owned})")
            (app_id,) = args
            out = call(conn, "/org/freedesktop/portal/desktop",
                       "org.freedesktop.impl.portal.BackgroundTransfer", "GetTransfers",
                       GLib.Variant("(sa{sv})", (app_id, {})))[0]
            out = [path for path, _ in out]
        elif action == "wait-completed":
            (path,) = args
            deadline = time.monotonic() + 60
            while True:
                status = call(conn, path, "org.freedesktop.DBus.Properties", "Get",
                              GLib.Variant("(ss)", (TRANSFER_IFACE, "Status")))[0]
                if status in ("completed", "error", "canceled") or time.monotonic() > deadline:
                    break
                time.sleep(0.1)  # a probe outside the library: it polls
            out = status
        else:
            raise SystemExit(f"unknown action {action}")
    except GLib.Error as e:
        out = {"error": Gio.DBusError.get_remote_error(e) or e.message}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv)
