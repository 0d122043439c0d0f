# test_sandboxed_files.py: transfers of files named by descriptor outlive
# the service (docs/contract.md "Applications and isolation")
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A sandboxed app can name its files only through fds (destination-fd,
# source-fd). The service records what each fd is (the host path, device
# and inode) and after a restart opens the same file again, never through
# a symbolic link, or ends the transfer with a clear error, writing
# nothing anywhere.

import os
import shutil
import signal
import subprocess

import bgtharness
import pytest
from bgtharness import GLib, Gio, ServiceBus, sha256_file, wait_for
from test_security import Sandbox, bwrap_works  # noqa: F401

APP = "org.example.Fds"
STOPS = {"kill9": signal.SIGKILL, "sigterm": signal.SIGTERM}


def manager_call(bus, conn, method, uri, options, fds):
    fd_list = Gio.UnixFDList.new()
    handles = {}
    for key, fd in fds.items():
        handles[key] = GLib.Variant("h", fd_list.append(fd))
    opts = {"app-id": GLib.Variant("s", APP)}
    opts.update(options)
    opts.update(handles)
    (path,) = bus.call_manager(method, GLib.Variant("(sa{sv})", (uri, opts)), conn=conn,
                               fd_list=fd_list)
    return path


def restart(bus, conn):
    """kill -9, then the app comes back: a new instance of the service is
    activated, and the connection says again which app it is."""
    bus.kill_service()
    bus.call_manager("GetTransfers", GLib.Variant("(a{sv})", ({"app-id": GLib.Variant("s", APP)},)),
                     conn=conn)


def transfer_call(conn, path, method):
    conn.call_sync(bgtharness.BUS_NAME, path, bgtharness.TRANSFER_IFACE, method, None, None,
                   Gio.DBusCallFlags.NONE, 10000, None)


def prop(conn, path, name):
    return conn.call_sync(bgtharness.BUS_NAME, path, "org.freedesktop.DBus.Properties", "Get",
                          GLib.Variant("(ss)", (bgtharness.TRANSFER_IFACE, name)), None,
                          Gio.DBusCallFlags.NONE, 10000, None).unpack()[0]


def paused_fd_download(bus, conn, nginx, dest, name="medium.bin"):
    """A download into an fd, paused with some of the data on disk."""
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        path = manager_call(bus, conn, "CreateDownload", nginx.url("slow/" + name), {},
                            {"destination-fd": fd})
    finally:
        os.close(fd)
    wait_for(lambda: prop(conn, path, "BytesReceived") >= 512 * 1024, 30, "some data")
    transfer_call(conn, path, "Pause")
    return path


def test_fd_download_resumes_after_kill9(bus, nginx, dest_dir):
    conn = bus.connect()
    dest = dest_dir / "fd.bin"
    path = paused_fd_download(bus, conn, nginx, dest)
    paused_at = prop(conn, path, "BytesReceived")
    transfer_call(conn, path, "Resume")
    restart(bus, conn)
    # The restarted service opens the same file again and resumes with Range
    wait_for(lambda: prop(conn, path, "Status") == "completed", 60, "the download")
    assert sha256_file(dest) == nginx.files["medium.bin"]
    ranged = [line for line in nginx.access_log()
              if "/slow/medium.bin " in line and 'range="bytes=' in line]
    assert ranged, "the download resumed with a Range request"
    assert int(ranged[-1].split('range="bytes=')[1].split("-")[0]) >= paused_at


def ranges_asked(nginx, since, name):
    """The offsets of the Range requests for name in nginx's log since
    line since."""
    return [int(line.split('range="bytes=')[1].split("-")[0])
            for line in nginx.access_log()[since:]
            if f"/{name} " in line and 'range="bytes=' in line]


def stop_service(bus, conn, stop):
    """Stops the service: a signal, or the idle exit once the app's
    connection has left. Returns the app's connection for what follows."""
    if stop in STOPS:
        bus.kill_service(STOPS[stop])
        return conn
    pid = bus.service_pid()
    conn.close_sync(None)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or bgtharness._is_zombie(pid), 30,
             "the idle exit")
    assert bus.exit_status(pid) == 0
    return bus.connect()


# The idle exit comes only when nothing runs or waits for a slot: a running
# or queued transfer keeps the service, so they meet kill -9 and SIGTERM only
@pytest.mark.parametrize("state,stop", [
    ("running", "kill9"), ("running", "sigterm"),
    ("paused", "kill9"), ("paused", "sigterm"), ("paused", "idle"),
    ("queued", "kill9"), ("queued", "sigterm"),
])
def test_fd_download_outlives_the_service(tmp_path, nginx, state, stop):
    """A download into an fd, running, paused or waiting for a slot, is
    completed into the same file after the service stopped, resuming with
    Range from what it had."""
    bus = ServiceBus(tmpdir=str(tmp_path / "s"), idle_timeout=1 if stop == "idle" else 60,
                     settings={"max-concurrent-transfers": 1} if state == "queued" else {})
    try:
        conn = bus.connect()
        since = len(nginx.access_log())
        blocker = None
        if state == "queued":
            # Takes the only slot, and keeps it: of a higher priority, it
            # does not yield to a smaller transfer (bt-scheduler.c)
            blocker = manager_call(bus, conn, "CreateDownload", nginx.url("slow/big.bin"), {
                "destination": GLib.Variant("s", str(tmp_path / "blocker.bin")),
                "priority": GLib.Variant("s", "high")}, {})
            wait_for(lambda: prop(conn, blocker, "Status") == "running", 30, "the blocker")
        dest = tmp_path / "fd.bin"
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            path = manager_call(bus, conn, "CreateDownload", nginx.url("slow/medium.bin"), {},
                                {"destination-fd": fd})
        finally:
            os.close(fd)
        if state == "queued":
            assert prop(conn, path, "Status") == "idle"
        else:
            wait_for(lambda: prop(conn, path, "BytesReceived") >= 512 * 1024, 30, "some data")
        if state == "paused":
            transfer_call(conn, path, "Pause")
        had = prop(conn, path, "BytesReceived")

        conn = stop_service(bus, conn, stop)
        bus.call_manager("GetTransfers",
                         GLib.Variant("(a{sv})", ({"app-id": GLib.Variant("s", APP)},)), conn=conn)
        if state == "paused":
            assert prop(conn, path, "Status") == "paused-by-application"
            transfer_call(conn, path, "Resume")
        if blocker is not None:
            transfer_call(conn, blocker, "Cancel")
        wait_for(lambda: prop(conn, path, "Status") == "completed", 60, "the download")
        assert sha256_file(dest) == nginx.files["medium.bin"]
        resumed = ranges_asked(nginx, since, "slow/medium.bin")
        if state == "queued":
            assert had == 0 and resumed == [], "nothing to resume from"
        else:
            # Paused: from where it stopped; running: from the last
            # checkpoint, something at least
            assert resumed, "the download resumed with a Range request"
            assert resumed[-1] >= (had if state == "paused" else 1)
        bus.assert_alive()
    finally:
        bus.close()


@pytest.mark.parametrize("state,stop", [
    ("running", "kill9"), ("running", "sigterm"), ("paused", "idle"),
])
def test_fd_upload_outlives_the_service(tmp_path, nginx, state, stop):
    """A PUT from source-fd, stopped with the service, is sent again whole
    from the same file (a plain PUT has no offset to resume from)."""
    bus = ServiceBus(tmpdir=str(tmp_path / "s"), idle_timeout=1 if stop == "idle" else 60)
    try:
        conn = bus.connect()
        src = tmp_path / "up.bin"
        sha = bgtharness.make_file(str(src), 1024 * 1024)
        fd = os.open(src, os.O_RDONLY)
        try:
            path = manager_call(bus, conn, "CreateUpload", nginx.url(f"dav/fd-{state}-{stop}.bin"),
                                {"method": GLib.Variant("s", "PUT"),
                                 "max-rate": GLib.Variant("t", 256 * 1024)}, {"source-fd": fd})
        finally:
            os.close(fd)
        wait_for(lambda: prop(conn, path, "BytesSent") > 0, 30, "the upload to start")
        if state == "paused":
            transfer_call(conn, path, "Pause")
        conn = stop_service(bus, conn, stop)
        bus.call_manager("GetTransfers",
                         GLib.Variant("(a{sv})", ({"app-id": GLib.Variant("s", APP)},)), conn=conn)
        if state == "paused":
            transfer_call(conn, path, "Resume")
        wait_for(lambda: prop(conn, path, "Status") == "completed", 60, "the upload")
        assert sha256_file(os.path.join(nginx.dav, f"fd-{state}-{stop}.bin")) == sha
    finally:
        bus.close()


@pytest.mark.parametrize(
    "service_settings", [{"local-network-apps": "['org.example.FdSandbox']"}], indirect=True)
def test_sandboxed_app_fd_download_survives_kill9(bwrap_works, bus, nginx, tmp_path):  # noqa: F811
    """A Flatpak app (bubblewrap, its own .flatpak-info) downloads into a
    file it opened in its sandbox; after a kill -9 the service opens that
    same file again and completes it."""
    app = Sandbox(bus, "org.example.FdSandbox", str(tmp_path / "app"))
    dest = tmp_path / "app" / "out.bin"
    since = len(nginx.access_log())
    path = app.run("create-fd", nginx.url("slow/medium.bin"), str(dest))
    assert isinstance(path, str), path
    wait_for(lambda: int(app.run("get", path, "BytesReceived")) >= 512 * 1024, 30, "some data")
    bus.kill_service()
    # The app's next call starts the service again
    assert app.run("wait-completed", path) == "completed"
    assert sha256_file(dest) == nginx.files["medium.bin"]
    assert ranges_asked(nginx, since, "slow/medium.bin"), "resumed with a Range request"


@pytest.mark.parametrize("swap", ["symlink", "replaced", "renamed-over"])
def test_fd_download_whose_file_changed_ends_clearly(bus, nginx, dest_dir, swap):
    """While the service was down the app's file became a symbolic link to
    another file, or another file took its name (written there, or renamed
    over it): the transfer ends in destination-unwritable and nothing is
    written anywhere."""
    conn = bus.connect()
    dest = dest_dir / "fd.bin"
    victim = dest_dir / "victim.txt"
    victim.write_bytes(b"precious")
    path = paused_fd_download(bus, conn, nginx, dest)
    bus.kill_service()
    if swap == "renamed-over":
        (dest_dir / "new.bin").write_bytes(b"another file")
        os.rename(dest_dir / "new.bin", dest)
    else:
        os.rename(dest, dest_dir / "moved-away.bin")
    if swap == "symlink":
        os.symlink(victim, dest)
    elif swap == "replaced":
        dest.write_bytes(b"another file")
    restart(bus, conn)
    wait_for(lambda: prop(conn, path, "Status") == "error", 30, "the transfer to end")
    assert prop(conn, path, "ErrorStatus") == "destination-unwritable"
    message = prop(conn, path, "ErrorMessage")
    assert "symbolic link" in message or "no longer the file" in message, message
    assert victim.read_bytes() == b"precious"
    if swap != "symlink":
        assert dest.read_bytes() == b"another file"
    # Resume refuses too: the file is not the app's any more
    with pytest.raises(GLib.Error):
        transfer_call(conn, path, "Resume")


def test_fd_upload_resumes_after_a_restart(bus, nginx, tmp_path):
    """A PUT from source-fd, stopped by a kill -9 while paused, is sent
    again whole from the same file after the restart."""
    conn = bus.connect()
    src = tmp_path / "up.bin"
    sha = bgtharness.make_file(str(src), 2 * 1024 * 1024)
    fd = os.open(src, os.O_RDONLY)
    try:
        path = manager_call(bus, conn, "CreateUpload", nginx.url("dav/fd-up.bin"),
                            {"method": GLib.Variant("s", "PUT"),
                             "start": GLib.Variant("b", False)}, {"source-fd": fd})
    finally:
        os.close(fd)
    restart(bus, conn)
    transfer_call(conn, path, "Start")
    wait_for(lambda: prop(conn, path, "Status") == "completed", 60, "the upload")
    assert sha256_file(os.path.join(nginx.dav, "fd-up.bin")) == sha


def test_fd_upload_of_a_changed_file_is_resource_changed(bus, nginx, tmp_path):
    conn = bus.connect()
    src = tmp_path / "up.bin"
    bgtharness.make_file(str(src), 256 * 1024)
    fd = os.open(src, os.O_RDONLY)
    try:
        path = manager_call(bus, conn, "CreateUpload", nginx.url("dav/fd-changed.bin"),
                            {"method": GLib.Variant("s", "PUT"),
                             "start": GLib.Variant("b", False)}, {"source-fd": fd})
    finally:
        os.close(fd)
    bus.kill_service()
    with open(src, "ab") as f:
        f.write(b"grown while the service was down")
    restart(bus, conn)
    transfer_call(conn, path, "Start")
    wait_for(lambda: prop(conn, path, "Status") == "error", 30, "the upload to end")
    assert prop(conn, path, "ErrorStatus") == "resource-changed"
    assert not os.path.exists(os.path.join(nginx.dav, "fd-changed.bin"))


def test_the_service_stays_while_it_holds_a_pipe(tmp_path, nginx):
    """A pipe cannot be opened again after a restart: the service does not
    leave when idle while a transfer still needs one. The witness: the
    same transfer from a regular file lets it leave."""
    bus = ServiceBus(tmpdir=str(tmp_path / "s"), idle_timeout=1)
    try:
        def paused_upload(fd):
            conn = bus.connect()
            manager_call(bus, conn, "CreateUpload", nginx.url("dav/p.bin"),
                         {"method": GLib.Variant("s", "PUT"),
                          "start": GLib.Variant("b", False)}, {"source-fd": fd})
            conn.close_sync(None)

        src = tmp_path / "file.bin"
        src.write_bytes(b"x" * 1024)
        fd = os.open(src, os.O_RDONLY)
        paused_upload(fd)
        os.close(fd)
        pid = bus.service_pid()
        # Idle with a regular file: it leaves (status 0, not a crash)
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or bgtharness._is_zombie(pid), 30,
                 "the idle service to leave")

        read_end, write_end = os.pipe()
        paused_upload(read_end)
        os.close(read_end)
        pid = bus.service_pid()
        # Given the witness's time and more, it is still there
        deadline_witness = 10
        with pytest.raises(TimeoutError):
            wait_for(lambda: not os.path.exists(f"/proc/{pid}") or bgtharness._is_zombie(pid),
                     deadline_witness, "the service to leave")
        os.close(write_end)
    finally:
        bus.close()


# ---- Files of the document portal ---------------------------------------------------
#
# xdg-desktop-portal's document portal is not installed here, and its FUSE
# file system could not be mounted for a test anyway: python-dbusmock plays
# its D-Bus interface (org.freedesktop.portal.Documents.Info, as documented),
# and a plain directory plays its mount, $XDG_RUNTIME_DIR/doc/<doc-id>/<name>,
# the app's file there being a hard link to the host file. A logout is
# played by the mount's entry coming back as another file (the portal
# numbers its files anew): the service must open the host file again, not
# the portal's path.

DOC_ID = "a1b2c3d4"


class MockDocuments:
    """org.freedesktop.portal.Documents on the test's session bus."""

    NAME = "org.freedesktop.portal.Documents"
    PATH = "/org/freedesktop/portal/documents"

    def __init__(self, bus):
        self.bus = bus
        env = dict(bus.env)
        self.proc = subprocess.Popen(["/usr/bin/python3", "-m", "dbusmock", self.NAME, self.PATH,
                                      self.NAME], env=env, stdout=subprocess.DEVNULL)
        wait_for(lambda: bus.has_owner(self.NAME), 20, "the mock document portal")

    def mock(self, method, *args):
        self.bus.conn.call_sync(self.NAME, self.PATH, "org.freedesktop.DBus.Mock", method,
                                GLib.Variant("(" + "".join(a[0] for a in args) + ")",
                                             tuple(a[1] for a in args)),
                                None, Gio.DBusCallFlags.NONE, 10000, None)

    def set_document(self, doc_id, host_path, app_id, permissions=("read", "write")):
        """Info(doc_id) answers host_path and the app's permissions; any
        other id is unknown (host_path None: none is known)."""
        host_bytes = os.fsencode(host_path or "") + b"\0"
        known = doc_id if host_path is not None else None
        code = (f"if args[0] != {known!r}:\n"
                f"    raise dbus.exceptions.DBusException('no such document', "
                f"name='org.freedesktop.portal.Error.NotFound')\n"
                f"ret = (dbus.ByteArray({host_bytes!r}), "
                f"{{{app_id!r}: {list(permissions)!r}}})")
        self.mock("AddMethod", ("s", self.NAME), ("s", "Info"), ("s", "s"), ("s", "aya{sas}"),
                  ("s", code))

    def calls(self, method):
        reply = self.bus.conn.call_sync(self.NAME, self.PATH, "org.freedesktop.DBus.Mock",
                                        "GetMethodCalls", GLib.Variant("(s)", (method,)), None,
                                        Gio.DBusCallFlags.NONE, 10000, None)
        return reply.unpack()[0]

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def documents(bus):
    mock = MockDocuments(bus)
    yield mock
    mock.close()


@pytest.mark.parametrize("told_by", ["info", "xattr"])
def test_document_portal_file_is_found_again_after_a_logout(bus, nginx, tmp_path, documents,
                                                            told_by):
    """A download into a file the app got from the FileChooser portal: the
    service records the document and its host file (from the document
    portal's Info, or from the file's user.document-portal.host-path
    attribute of xdg-desktop-portal ≥ 1.19), and after a kill -9 and a
    logout completes the same host file."""
    host = tmp_path / "home" / "report.bin"
    host.parent.mkdir()
    host.write_bytes(b"")
    doc_dir = os.path.join(bus.runtime_dir, "doc", DOC_ID)
    os.makedirs(doc_dir)
    doc_file = os.path.join(doc_dir, "report.bin")
    os.link(host, doc_file)
    if told_by == "xattr":
        os.setxattr(host, "user.document-portal.host-path", os.fsencode(host))
    documents.set_document(DOC_ID, str(host), APP)

    conn = bus.connect()
    since = len(nginx.access_log())
    fd = os.open(doc_file, os.O_WRONLY)
    try:
        path = manager_call(bus, conn, "CreateDownload", nginx.url("slow/medium.bin"), {},
                            {"destination-fd": fd})
    finally:
        os.close(fd)
    # The attribute spares the question
    assert len(documents.calls("Info")) == (1 if told_by == "info" else 0)
    wait_for(lambda: prop(conn, path, "BytesReceived") >= 512 * 1024, 30, "some data")

    bus.kill_service()
    # The logout: the document portal's mount comes back, its entry for the
    # document now a file of its own numbering
    shutil.rmtree(os.path.join(bus.runtime_dir, "doc"))
    os.makedirs(doc_dir)
    with open(doc_file, "wb") as f:
        f.write(b"the portal's new inode")
    asked = len(documents.calls("Info"))
    restart(bus, conn)
    wait_for(lambda: prop(conn, path, "Status") in ("completed", "error"), 60, "the download")
    assert prop(conn, path, "Status") == "completed", prop(conn, path, "ErrorMessage")
    assert sha256_file(host) == nginx.files["medium.bin"]
    with open(doc_file, "rb") as f:
        assert f.read() == b"the portal's new inode"
    assert ranges_asked(nginx, since, "slow/medium.bin"), "resumed with a Range request"
    # The restarted service made sure the document is still the app's
    assert len(documents.calls("Info")) == asked + 1


def test_document_portal_host_file_replaced_ends_clearly(bus, nginx, tmp_path, documents):
    """The host file behind the document was replaced while the service was
    down: the transfer ends with a clear error and the new file is left
    alone, as for any file."""
    host = tmp_path / "home" / "report.bin"
    host.parent.mkdir()
    host.write_bytes(b"")
    doc_dir = os.path.join(bus.runtime_dir, "doc", DOC_ID)
    os.makedirs(doc_dir)
    os.link(host, os.path.join(doc_dir, "report.bin"))
    documents.set_document(DOC_ID, str(host), APP)
    conn = bus.connect()
    fd = os.open(os.path.join(doc_dir, "report.bin"), os.O_WRONLY)
    try:
        path = manager_call(bus, conn, "CreateDownload", nginx.url("slow/medium.bin"),
                            {"start": GLib.Variant("b", False)}, {"destination-fd": fd})
    finally:
        os.close(fd)
    bus.kill_service()
    (tmp_path / "home" / "new.bin").write_bytes(b"the user's new file")
    os.rename(tmp_path / "home" / "new.bin", host)
    restart(bus, conn)
    wait_for(lambda: prop(conn, path, "Status") == "error", 30, "the transfer to end")
    assert prop(conn, path, "ErrorStatus") == "destination-unwritable"
    assert f"document {DOC_ID}" in prop(conn, path, "ErrorMessage")
    assert host.read_bytes() == b"the user's new file"


@pytest.mark.parametrize(
    "service_settings", [{"local-network-apps": "['org.example.DocApp']"}], indirect=True)
@pytest.mark.parametrize("change", ["removed", "revoked", "moved"])
def test_document_that_is_no_longer_the_apps_ends_clearly(bwrap_works, bus, tmp_path,  # noqa: F811
                                                          documents, change):
    """While the service was down the user removed the document from the
    document portal, took the app's write permission away, or the document
    came to stand for another file: a sandboxed app's transfer ends with a
    clear error and the host file is not written."""
    app = Sandbox(bus, "org.example.DocApp", str(tmp_path / "app"))
    host = tmp_path / "home" / "report.bin"
    host.parent.mkdir()
    host.write_bytes(b"")
    doc_dir = os.path.join(bus.runtime_dir, "doc", DOC_ID)
    os.makedirs(doc_dir)
    os.link(host, os.path.join(doc_dir, "report.bin"))
    documents.set_document(DOC_ID, str(host), "org.example.DocApp")
    # The app opens its document in the sandbox (the mount bound there)
    path = app.run("create-fd", "http://127.0.0.1:9/never", os.path.join(doc_dir, "report.bin"))
    assert isinstance(path, str), path
    assert app.run("call", path, "Pause") == []
    bus.kill_service()
    if change == "removed":
        documents.set_document(DOC_ID, None, "org.example.DocApp")
    elif change == "revoked":
        documents.set_document(DOC_ID, str(host), "org.example.DocApp", permissions=["read"])
    else:
        (tmp_path / "home" / "other.bin").write_bytes(b"")
        documents.set_document(DOC_ID, str(tmp_path / "home" / "other.bin"), "org.example.DocApp")
    assert app.run("wait-completed", path) == "error"
    assert app.run("get", path, "ErrorStatus") == "destination-unwritable"
    message = app.run("get", path, "ErrorMessage")
    assert {"removed": "no longer in the document portal", "revoked": "may no longer write",
            "moved": "stands for another file"}[change] in message, message
    assert host.read_bytes() == b""
