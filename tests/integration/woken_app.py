#!/usr/bin/python3
# woken_app.py: an application that is not running until D-Bus starts it
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test_features.py installs a .service file for an app id whose Exec runs
# this script: it owns the app id's name, implements org.freedesktop.Application
# at the conventional path, writes the first call it receives (as JSON) to
# the file named on its command line and exits.
#
#   woken_app.py APP_ID OUTPUT_FILE

import json
import os
import sys

from gi.repository import Gio, GLib

XML = """<node>
  <interface name="org.freedesktop.Application">
    <method name="Activate">
      <arg type="a{sv}" name="platform_data" direction="in"/>
    </method>
    <method name="Open">
      <arg type="as" name="uris" direction="in"/>
      <arg type="s" name="hint" direction="in"/>
      <arg type="a{sv}" name="platform_data" direction="in"/>
    </method>
    <method name="ActivateAction">
      <arg type="s" name="action_name" direction="in"/>
      <arg type="av" name="parameter" direction="in"/>
      <arg type="a{sv}" name="platform_data" direction="in"/>
    </method>
  </interface>
</node>"""


def main():
    app_id, output = sys.argv[1], sys.argv[2]
    path = "/" + app_id.replace(".", "/").replace("-", "_")
    loop = GLib.MainLoop()
    # Started by the bus: it says so in DBUS_STARTER_* (that is the proof
    # the test looks for that this process was D-Bus-activated)
    conn = Gio.DBusConnection.new_for_address_sync(
        os.environ["DBUS_STARTER_ADDRESS"],
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)

    def on_call(connection, sender, object_path, iface, method, params, invocation):
        record = {
            "method": method,
            "object-path": object_path,
            "args": params.unpack(),
            "starter-bus-type": os.environ.get("DBUS_STARTER_BUS_TYPE"),
            "pid": os.getpid(),
        }
        tmp = output + ".tmp"
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, output)
        invocation.return_value(None)
        GLib.idle_add(loop.quit)

    node = Gio.DBusNodeInfo.new_for_xml(XML)
    conn.register_object(path, node.interfaces[0], on_call, None, None)
    # Owned only once the object is there: the queued activation call comes next
    conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                   "RequestName", GLib.Variant("(su)", (app_id, 4)), None,
                   Gio.DBusCallFlags.NONE, -1, None)
    GLib.timeout_add_seconds(60, loop.quit)
    loop.run()
    conn.flush_sync(None)


if __name__ == "__main__":
    main()
