# test_portal.py: the portal backend, org.freedesktop.impl.portal.BackgroundTransfer
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# docs/contract.md "The portal backend", docs/portal.md. The test process plays xdg-desktop-portal's
# frontend: one connection that owns org.freedesktop.portal.Desktop on the
# private bus and acts for several apps, passing each call's app id as a
# frontend would once it has identified the app. The apps themselves talk
# to the service as hosts declaring their app id, or for real from a
# bubblewrap sandbox with their own .flatpak-info (test_security.Sandbox).

import os

import pytest
import bgtharness
from bgtharness import (BUS_NAME, TRANSFER_IFACE, GLib, Gio, ServiceBus, _is_zombie, make_file,
                        sha256_file, wait_for)
from test_security import Sandbox, bwrap_works  # noqa: F401

PORTAL_IFACE = "org.freedesktop.impl.portal.BackgroundTransfer"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
FRONTEND_NAME = "org.freedesktop.portal.Desktop"
MANAGER_PATH = "/org/freedesktop/BackgroundTransfer"
MANAGER_IFACE = BUS_NAME + ".Manager"
APP_A = "org.example.PortalA"
APP_B = "org.example.PortalB"
HANDLE = "/org/freedesktop/portal/desktop/request/1_1/t"


@pytest.fixture
def service_settings(request):
    """The servers are on loopback: the apps the portal speaks for are
    granted the local network, except where a test says otherwise."""
    settings = {"local-network-apps": f"['{APP_A}', '{APP_B}']"}
    settings.update(getattr(request, "param", {}))
    return settings


def dbus_error(e):
    return Gio.DBusError.get_remote_error(e) or ""


class Refused:
    """with Refused("AccessDenied"): a call that must fail with that error."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, typ, value, tb):
        assert typ is not None, f"expected {self.name}"
        assert isinstance(value, GLib.Error) and dbus_error(value).endswith("." + self.name), \
            f"expected {self.name}, got {value}"
        self.message = value.message
        return True


def request_name(conn, name):
    return conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "RequestName", GLib.Variant("(su)", (name, 4)), None,
                          Gio.DBusCallFlags.NONE, -1, None).unpack()[0]


class Caller:
    """A connection that calls the portal backend; records the signals the
    service sends it."""

    def __init__(self, bus, own_frontend_name=False):
        self.bus = bus
        self.conn = bus.connect()
        if own_frontend_name:
            assert request_name(self.conn, FRONTEND_NAME) == 1
        self.signals = []  # (path, interface, member, parameters)
        self.conn.signal_subscribe(None, None, None, None, None, Gio.DBusSignalFlags.NONE,
                                   self._on_signal)

    def _on_signal(self, conn, sender, path, iface, member, params):
        if path.startswith(MANAGER_PATH):
            self.signals.append((path, iface, member, params.unpack()))

    def release_name(self):
        self.conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                            "org.freedesktop.DBus", "ReleaseName",
                            GLib.Variant("(s)", (FRONTEND_NAME,)), None, Gio.DBusCallFlags.NONE,
                            -1, None)

    def call(self, method, signature, args, fds=()):
        """@signature None: @args is the parameters' GLib.Variant already"""
        fd_list = Gio.UnixFDList.new()
        for fd in fds:
            fd_list.append(fd)
        reply, _ = self.conn.call_with_unix_fd_list_sync(
            BUS_NAME, PORTAL_PATH, PORTAL_IFACE, method,
            args if signature is None else GLib.Variant(signature, args), None,
            Gio.DBusCallFlags.NONE, 30000, fd_list, None)
        return reply.unpack()

    def create(self, kind, app_id, uri, options=None, fds=()):
        """CreateDownload or CreateUpload; returns the results. The apps
        have network access (the frontend says so) unless options say
        otherwise."""
        opts = {"network": GLib.Variant("b", True)}
        opts.update(options or {})
        response, results = self.call(f"Create{kind}", "(ossa{sv})",
                                      (HANDLE, app_id, uri, opts), fds)
        assert response == 0
        return results

    def download_to(self, app_id, uri, path, **options):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            opts = {"destination-fd": GLib.Variant("h", 0)}
            opts.update(options)
            return self.create("Download", app_id, uri, opts, [fd])["transfer"]
        finally:
            os.close(fd)

    def transfers(self, app_id, **filter_):
        return dict(self.call("GetTransfers", "(sa{sv})", (app_id, filter_))[0])

    def control(self, method, app_id, path, *value):
        signature = "(so" + "s" * len(value) + "a{sv})"
        self.call(method, signature, (app_id, path, *value, {}))

    def heard(self, member, path=None):
        return [s for s in self.signals if s[2] == member and (path is None or s[0] == path)]


def status_of(frontend, app_id, path):
    return frontend.transfers(app_id).get(path, {}).get("Status")


def app_connection(bus, app_id):
    """A host app that declares its id, as the app would outside a sandbox."""
    conn = bus.connect()
    bus.call_manager("GetTransfers", GLib.Variant("(a{sv})", ({"app-id": GLib.Variant("s", app_id)},)),
                     conn=conn)
    return conn


def app_transfers(bus, conn):
    return bus.call_manager("GetTransfers", GLib.Variant("(a{sv})", ({},)), conn=conn)[0]


def transfer_prop(conn, path, name):
    return conn.call_sync(BUS_NAME, path, "org.freedesktop.DBus.Properties", "Get",
                          GLib.Variant("(ss)", (TRANSFER_IFACE, name)), None,
                          Gio.DBusCallFlags.NONE, 10000, None).unpack()[0]


# ---- Who may call --------------------------------------------------------------


def test_only_the_owner_of_the_frontend_name_may_call(bus, nginx, tmp_path):
    stranger = Caller(bus)
    frontend = Caller(bus, own_frontend_name=True)
    path = frontend.download_to(APP_A, nginx.url("small.txt"), tmp_path / "a.txt",
                                start=GLib.Variant("b", False))

    # The owner of the frontend's name is answered, in full
    assert list(frontend.transfers(APP_A)) == [path]
    version = frontend.conn.call_sync(BUS_NAME, PORTAL_PATH, "org.freedesktop.DBus.Properties",
                                      "Get", GLib.Variant("(ss)", (PORTAL_IFACE, "version")), None,
                                      Gio.DBusCallFlags.NONE, 10000, None).unpack()[0]
    assert version == 1

    # Another host connection is refused, whatever it asks
    for method, signature, args in (
            ("CreateDownload", "(ossa{sv})", (HANDLE, APP_A, nginx.url("small.txt"), {})),
            ("GetTransfers", "(sa{sv})", (APP_A, {})),
            ("Cancel", "(soa{sv})", (APP_A, path, {})),
            ("SetPriority", "(sosa{sv})", (APP_A, path, "high", {}))):
        with Refused("AccessDenied"):
            stranger.call(method, signature, args)
    with Refused("AccessDenied"):
        stranger.conn.call_sync(BUS_NAME, PORTAL_PATH, "org.freedesktop.DBus.Properties", "Get",
                                GLib.Variant("(ss)", (PORTAL_IFACE, "version")), None,
                                Gio.DBusCallFlags.NONE, 10000, None)
    # …and nothing happened to the transfer
    assert status_of(frontend, APP_A, path) == "idle"

    # The owner is checked at each call: once the name is gone, so is the right
    frontend.release_name()
    with Refused("AccessDenied"):
        frontend.transfers(APP_A)
    # …and it passes to the new owner
    assert request_name(stranger.conn, FRONTEND_NAME) == 1
    assert list(stranger.transfers(APP_A)) == [path]
    bus.assert_alive()


def test_a_sandboxed_owner_of_the_frontend_name_is_refused(bwrap_works, bus, nginx,  # noqa: F811
                                                           tmp_path):
    """A Flatpak app cannot own org.freedesktop.portal.Desktop on a real
    session bus; on one that lets it, the service still refuses it."""
    frontend = Caller(bus, own_frontend_name=True)
    frontend.download_to(APP_A, nginx.url("small.txt"), tmp_path / "a.txt",
                         start=GLib.Variant("b", False))
    frontend.release_name()
    app = Sandbox(bus, "org.example.Intruder", str(tmp_path / "sandbox"))
    result = app.run("portal-as-frontend", APP_A)
    assert isinstance(result, dict) and result["error"].endswith(".AccessDenied"), result


# ---- Acting for apps -----------------------------------------------------------


def test_frontend_creates_and_controls_transfers_for_two_apps(bus, nginx, tmp_path):
    frontend = Caller(bus, own_frontend_name=True)
    a = app_connection(bus, APP_A)
    b = app_connection(bus, APP_B)

    # A download for A into a file A opened; an upload for B from B's file
    dest = tmp_path / "a.bin"
    path_a = frontend.download_to(APP_A, nginx.url("slow/medium.bin"), dest)
    src = tmp_path / "b.bin"
    sha_b = make_file(str(src), 256 * 1024)
    fd = os.open(src, os.O_RDONLY)
    try:
        results = frontend.create("Upload", APP_B, nginx.url("dav/portal-b.bin"),
                                  {"source-fd": GLib.Variant("h", 0),
                                   "method": GLib.Variant("s", "PUT"),
                                   "start": GLib.Variant("b", False)}, [fd])
    finally:
        os.close(fd)
    path_b = results["transfer"]
    assert path_b.endswith("/" + results["id"])

    # Each app sees its own, through the portal and by itself
    assert list(frontend.transfers(APP_A)) == [path_a]
    assert list(frontend.transfers(APP_B)) == [path_b]
    assert app_transfers(bus, a) == [path_a]
    assert app_transfers(bus, b) == [path_b]
    props = frontend.transfers(APP_B)[path_b]
    assert props["Kind"] == "upload" and props["Status"] == "idle" and props["Method"] == "PUT"
    # …and nothing of the other: not through the portal, not by itself
    for method in ("Pause", "Cancel", "Start"):
        with Refused("AccessDenied"):
            frontend.control(method, APP_B, path_a)
    with Refused("AccessDenied"):
        frontend.control("SetPriority", APP_A, path_b, "high")
    with Refused("AccessDenied"):
        transfer_prop(b, path_a, "Status")
    # A transfer that does not exist is refused the same way
    with Refused("AccessDenied"):
        frontend.control("Pause", APP_A, path_a[:-4] + "0000")

    # Control, as the app would
    wait_for(lambda: frontend.transfers(APP_A)[path_a]["BytesReceived"] > 0, 30, "some data")
    frontend.control("Pause", APP_A, path_a)
    assert status_of(frontend, APP_A, path_a) == "paused-by-application"
    assert transfer_prop(a, path_a, "Status") == "paused-by-application"
    frontend.control("SetPriority", APP_A, path_a, "high")
    frontend.control("SetCostPolicy", APP_A, path_a, "always")
    props = frontend.transfers(APP_A)[path_a]
    assert (props["Priority"], props["CostPolicy"]) == ("high", "always")
    with Refused("InvalidArgument"):
        frontend.control("SetPriority", APP_A, path_a, "urgent")
    with Refused("InvalidArgument"):
        frontend.call("Pause", "(soa{sv})", (APP_A, path_a, {"bogus": GLib.Variant("b", True)}))
    frontend.control("Resume", APP_A, path_a)
    frontend.control("Start", APP_B, path_b)
    wait_for(lambda: status_of(frontend, APP_B, path_b) == "completed", 30, "B's upload")
    assert sha256_file(os.path.join(nginx.dav, "portal-b.bin")) == sha_b
    wait_for(lambda: status_of(frontend, APP_A, path_a) == "completed", 60, "A's download")
    assert sha256_file(dest) == nginx.files["medium.bin"]

    # Finished: InvalidState as on the Transfer interface; then removed
    with Refused("InvalidState"):
        frontend.control("Cancel", APP_A, path_a)
    frontend.control("Remove", APP_A, path_a)
    assert frontend.transfers(APP_A) == {}
    assert app_transfers(bus, a) == []
    assert list(frontend.transfers(APP_B)) == [path_b]


def test_the_frontend_hears_about_what_it_created(bus, nginx, tmp_path):
    """TransferAdded, PropertiesChanged and TransferRemoved of a transfer
    created through the portal reach the frontend's connection and the
    app's, and no other; a transfer the app created by itself is the app's
    business alone."""
    frontend = Caller(bus, own_frontend_name=True)
    app = Caller(bus)  # records signals; declares its app id below
    app_transfers_ = bus.call_manager(
        "GetTransfers", GLib.Variant("(a{sv})", ({"app-id": GLib.Variant("s", APP_A)},)),
        conn=app.conn)[0]
    assert app_transfers_ == []
    spy = Caller(bus)
    spy.conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                       "AddMatch", GLib.Variant("(s)", ("type='signal'",)), None,
                       Gio.DBusCallFlags.NONE, -1, None)

    path = frontend.download_to(APP_A, nginx.url("slow/medium.bin"), tmp_path / "a.bin")
    for who in (frontend, app):
        wait_for(lambda: who.heard("TransferAdded"), 10, "TransferAdded")
        assert [s[3] for s in who.heard("TransferAdded")] == [(path,)]
        wait_for(lambda: any("BytesReceived" in s[3][1]
                             for s in who.heard("PropertiesChanged", path)), 20, "progress")
    frontend.control("Cancel", APP_A, path)
    frontend.control("Remove", APP_A, path)
    for who in (frontend, app):
        wait_for(lambda: who.heard("TransferRemoved"), 10, "TransferRemoved")
        assert any(s[3][1].get("Status") == "canceled"
                   for s in who.heard("PropertiesChanged", path))

    # The app's own transfer: the app hears of it, the frontend does not
    own = bus.call_manager("CreateDownload", GLib.Variant("(sa{sv})", (nginx.url("small.txt"), {
        "destination": GLib.Variant("s", str(tmp_path / "own.txt"))})), conn=app.conn)[0]
    wait_for(lambda: any(s[3][1].get("Status") == "completed"
                         for s in app.heard("PropertiesChanged", own)), 20, "the app's own")
    # A round trip on the frontend's connection: whatever the service sent
    # it before its answer has arrived, and is dispatched here
    frontend.transfers(APP_A)
    ctx = GLib.MainContext.default()
    while ctx.pending():
        ctx.iteration(False)
    assert frontend.heard("TransferAdded")
    assert not [s for s in frontend.signals if s[0] == own or s[3] == (own,)]
    assert spy.signals == [], f"another connection heard {spy.signals}"


# ---- The sandbox's rules ------------------------------------------------------------


def test_sandbox_rules_hold_for_portal_transfers(bus, nginx, tmp_path):
    frontend = Caller(bus, own_frontend_name=True)
    url = nginx.url("small.txt")

    # Files only by descriptor: a path is refused, nothing is created
    for kind, key in (("Download", "destination"), ("Upload", "source")):
        with Refused("AccessDenied"):
            frontend.create(kind, APP_A, url if kind == "Download" else nginx.url("dav/x"),
                            {key: GLib.Variant("s", str(tmp_path / "by-path"))})
    with Refused("AccessDenied"):
        frontend.create("Upload", APP_A, nginx.url("dav/x"), {
            "parts": GLib.Variant("aa{sv}", [{"name": GLib.Variant("s", "f"),
                                              "file": GLib.Variant("s", str(tmp_path / "p"))}])})
    assert not (tmp_path / "by-path").exists()
    # Without network permission, refused as the app itself would be
    with Refused("AccessDenied") as refusal:
        frontend.download_to(APP_A, url, tmp_path / "n.txt", network=GLib.Variant("b", False))
    assert "network permission" in refusal.message
    # A sandboxed app has a Flatpak app id; the app is the argument, not an option
    for app_id in ("", "not an id", ":1.42"):
        with Refused("InvalidArgument"):
            frontend.download_to(app_id, url, tmp_path / "i.txt")
    with Refused("InvalidArgument"):
        frontend.download_to(APP_A, url, tmp_path / "i.txt",
                             **{"app-id": GLib.Variant("s", APP_B)})
    with Refused("InvalidArgument"):
        frontend.call("GetTransfers", "(sa{sv})", (APP_A, {"app-id": GLib.Variant("s", APP_B)}))
    with Refused("InvalidArgument"):
        frontend.download_to(APP_A, url, tmp_path / "i.txt", sandboxed=GLib.Variant("s", "no"))
    assert frontend.transfers(APP_A) == {}

    # An unsandboxed app (the frontend says so) may name paths
    host = frontend.create("Download", "", url, {
        "sandboxed": GLib.Variant("b", False),
        "destination": GLib.Variant("s", str(tmp_path / "host.txt"))})["transfer"]
    wait_for(lambda: status_of(frontend, "", host) == "completed", 20, "the host app's download")
    assert sha256_file(tmp_path / "host.txt") == nginx.files["small.txt"]


def test_an_option_given_twice_is_refused_through_the_portal(bus, nginx, tmp_path):
    """The portal's own options and the transfer's alike: which of two
    would count is a guess. Refused, nothing created, nothing written."""
    frontend = Caller(bus, own_frontend_name=True)
    yes, no = GLib.Variant("b", True), GLib.Variant("b", False)
    first, second = tmp_path / "one", tmp_path / "two"
    source = tmp_path / "source.bin"
    source.write_bytes(b"x" * 16)
    cases = [
        ("Download", [("network", yes), ("sandboxed", yes), ("sandboxed", no),
                      ("destination-fd", GLib.Variant("h", 0))], [first]),
        ("Download", [("network", yes), ("network", yes),
                      ("destination-fd", GLib.Variant("h", 0))], [first]),
        ("Download", [("network", yes), ("destination-fd", GLib.Variant("h", 0)),
                      ("destination-fd", GLib.Variant("h", 1))], [first, second]),
        ("Upload", [("network", yes), ("source-fd", GLib.Variant("h", 0)),
                    ("source-fd", GLib.Variant("h", 0))], [source]),
    ]
    for kind, pairs, files in cases:
        fds = [os.open(f, os.O_RDONLY) if kind == "Upload"
               else os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) for f in files]
        try:
            with Refused("InvalidArgument") as refusal:
                frontend.call(f"Create{kind}", None, GLib.Variant.new_tuple(
                    GLib.Variant("o", HANDLE), GLib.Variant("s", APP_A),
                    GLib.Variant("s", nginx.url("small.txt") if kind == "Download"
                                 else nginx.url("dav/twice")),
                    bgtharness.vardict(pairs)), fds)
            assert "twice" in refusal.message, (kind, pairs, refusal.message)
        finally:
            for fd in fds:
                os.close(fd)
    assert frontend.transfers(APP_A) == {}
    assert first.stat().st_size == 0 and second.stat().st_size == 0


@pytest.mark.parametrize("service_settings", [{"local-network-apps": "[]"}], indirect=True)
def test_local_network_rule_holds_for_portal_transfers(bus, nginx, tmp_path):
    """FAULTS X3 through the portal: a download for a sandboxed app to
    127.0.0.1 ends in forbidden and fetches nothing, as the app's own
    would; the same for an unsandboxed app completes."""
    frontend = Caller(bus, own_frontend_name=True)
    before = len(nginx.access_log())
    path = frontend.download_to(APP_A, nginx.url("portal-x3-probe"), tmp_path / "x.txt")
    wait_for(lambda: status_of(frontend, APP_A, path) == "error", 20, "the refusal")
    assert frontend.transfers(APP_A)[path]["ErrorStatus"] == "forbidden"
    assert (tmp_path / "x.txt").read_bytes() == b""
    host = frontend.download_to("org.example.HostApp", nginx.url("small.txt"),
                                tmp_path / "h.txt", sandboxed=GLib.Variant("b", False))
    wait_for(lambda: status_of(frontend, "org.example.HostApp", host) == "completed", 20,
             "the unsandboxed app's download")
    log = nginx.access_log()[before:]
    assert any("/small.txt " in line for line in log)
    assert not any("/portal-x3-probe" in line for line in log), "the server was reached"


def test_portal_transfer_belongs_to_the_sandboxed_app(bwrap_works, bus, nginx,  # noqa: F811
                                                      tmp_path):
    """The app, in its sandbox, finds the transfer the portal created for
    it and controls it; another sandboxed app does not see it."""
    frontend = Caller(bus, own_frontend_name=True)
    a = Sandbox(bus, APP_A, str(tmp_path / "a"))
    b = Sandbox(bus, APP_B, str(tmp_path / "b"))
    dest = tmp_path / "a" / "out.txt"
    path = frontend.download_to(APP_A, nginx.url("small.txt"), dest, start=GLib.Variant("b", False))
    assert a.run("list") == [path]
    assert b.run("list") == []
    assert b.run("call", path, "Start")["error"].endswith(".AccessDenied")
    assert a.run("call", path, "Start") == []
    assert a.run("wait-completed", path) == "completed"
    assert sha256_file(dest) == nginx.files["small.txt"]


# ---- Archived transfers ----------------------------------------------------------


def test_portal_reaches_a_transfer_archived_behind_others(bus, nginx, tmp_path):
    """The service keeps the 64 most recently used finished transfers as
    objects and the others in its store only (bt-archive.c). Through the
    portal, one archived behind 69 others is listed with the properties it
    had, answers calls, stays refused to another app, and is removed with
    the frontend and the app hearing of it; after a restart, which
    archives every finished transfer, the others are listed alike."""
    frontend = Caller(bus, own_frontend_name=True)
    app = Caller(bus)
    bus.call_manager("GetTransfers",
                     GLib.Variant("(a{sv})", ({"app-id": GLib.Variant("s", APP_A)},)),
                     conn=app.conn)

    def all_completed(paths):
        listed = frontend.transfers(APP_A)
        return all(listed.get(p, {}).get("Status") == "completed" for p in paths)

    # The first finishes before the others start, and nothing uses it after
    # (the frontend's GetTransfers reads an archived transfer's record
    # without bringing it back): the least recently used of 70
    first = frontend.download_to(APP_A, nginx.url("small.txt"), tmp_path / "a0.txt")
    wait_for(lambda: all_completed([first]), 30, "the first download")
    before = frontend.transfers(APP_A)[first]
    paths = [first] + [frontend.download_to(APP_A, nginx.url("small.txt"), tmp_path / f"a{i}.txt")
                       for i in range(1, 70)]
    wait_for(lambda: all_completed(paths), 120, "70 downloads")

    first_id = first.rsplit("/", 1)[1]
    assert f"Transfer {first_id} archived" in bus.service_log()

    listed = frontend.transfers(APP_A)
    assert list(listed) == paths
    assert listed[first] == before
    assert before["BytesReceived"] == 4096 and before["HttpStatus"] == 200
    assert list(frontend.transfers(APP_A, status=GLib.Variant("as", ["completed"]))) == paths
    assert frontend.transfers(APP_A, status=GLib.Variant("as", ["failed"])) == {}
    assert frontend.transfers(APP_B) == {}
    # Listed from its record: it stays archived
    assert f"Transfer {first_id} read back" not in bus.service_log()

    # Another app is refused it as if it did not exist, through the portal
    # and on the bus
    b = app_connection(bus, APP_B)
    with Refused("AccessDenied"):
        frontend.control("Remove", APP_B, first)
    with Refused("AccessDenied"):
        transfer_prop(b, paths[1], "Status")
    assert f"Transfer {first_id} read back" not in bus.service_log()
    # The owner's calls reach it: the rules of a finished transfer hold
    with Refused("InvalidState"):
        frontend.control("Cancel", APP_A, first)
    assert f"Transfer {first_id} read back" in bus.service_log()
    assert transfer_prop(app.conn, paths[1], "BytesReceived") == 4096
    frontend.control("Remove", APP_A, first)
    for who in (frontend, app):
        wait_for(lambda: [s[3] for s in who.heard("TransferRemoved")] == [(first,)], 10,
                 "TransferRemoved")
    assert list(frontend.transfers(APP_A)) == paths[1:]
    assert sha256_file(tmp_path / "a0.txt") == nginx.files["small.txt"]

    # A restart archives every finished transfer without reading it back
    before = frontend.transfers(APP_A)
    bus.kill_service()
    assert frontend.transfers(APP_A) == before
    frontend.control("Remove", APP_A, paths[-1])
    assert list(frontend.transfers(APP_A)) == paths[1:-1]
    bus.assert_alive()


# ---- Restarts ------------------------------------------------------------------------


def test_portal_download_survives_kill9_and_the_frontend_still_hears(bus, nginx, tmp_path):
    frontend = Caller(bus, own_frontend_name=True)
    dest = tmp_path / "a.bin"
    path = frontend.download_to(APP_A, nginx.url("slow/medium.bin"), dest)
    wait_for(lambda: frontend.transfers(APP_A)[path]["BytesReceived"] >= 512 * 1024, 30,
             "some data")
    bus.kill_service()
    frontend.signals.clear()
    # The frontend's next call starts the service again, which resumes
    # the download into the same file and tells the frontend
    assert list(frontend.transfers(APP_A)) == [path]
    wait_for(lambda: any(s[3][1].get("Status") == "completed"
                         for s in frontend.heard("PropertiesChanged", path)), 60,
             "the frontend to hear the end")
    assert sha256_file(dest) == nginx.files["medium.bin"]
    ranged = [line for line in nginx.access_log()
              if "/slow/medium.bin " in line and 'range="bytes=' in line]
    assert ranged, "the download resumed with a Range request"


def test_a_failed_flush_is_not_undone_for_a_portal_transfer(bus, nginx, tmp_path):
    """docs/contract.md's failed-flush rule through the portal backend: a
    flush of the app's file fails (EIO, strace) and the next would
    succeed; the download ends in destination-unwritable, never completed
    over the data the disk lost."""
    frontend = Caller(bus, own_frontend_name=True)
    dest = tmp_path / "eio.bin"
    path = frontend.download_to(APP_A, nginx.url("slow/medium.bin"), dest)
    wait_for(lambda: frontend.transfers(APP_A)[path]["BytesReceived"] > 0, 30, "some data")
    bgtharness.inject_a_flush_failure(bus.service_pid(), str(dest), "EIO")
    wait_for(lambda: status_of(frontend, APP_A, path) not in ("running", "idle"), 60, "the end")
    props = frontend.transfers(APP_A)[path]
    assert (props["Status"], props["ErrorStatus"]) == ("error", "destination-unwritable"), props


def test_the_frontend_does_not_keep_the_service_running(tmp_path):
    """xdg-desktop-portal stays connected for the whole session: its
    connection must not keep the service from leaving when idle, as an
    app's connection does."""
    bus = ServiceBus(tmpdir=str(tmp_path / "s"), idle_timeout=1)
    try:
        frontend = Caller(bus, own_frontend_name=True)
        assert frontend.transfers(APP_A) == {}
        pid = bus.service_pid()
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or _is_zombie(pid), 30,
                 "the idle service to leave")
        assert bus.exit_status(pid) == 0
        # …and comes back at the frontend's next call
        assert frontend.transfers(APP_A) == {}
        assert bus.service_pid() not in (None, pid)
    finally:
        bus.close()
