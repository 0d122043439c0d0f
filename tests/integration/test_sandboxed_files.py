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
import signal

import bgtharness
import pytest
from bgtharness import GLib, Gio, ServiceBus, sha256_file, wait_for

APP = "org.example.Fds"


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


@pytest.mark.parametrize("swap", ["symlink", "replaced"])
def test_fd_download_whose_file_changed_ends_clearly(bus, nginx, dest_dir, swap):
    """While the service was down the app's file became a symbolic link to
    another file, or another file took its name: the transfer ends in
    destination-unwritable and nothing is written anywhere."""
    conn = bus.connect()
    dest = dest_dir / "fd.bin"
    victim = dest_dir / "victim.txt"
    victim.write_bytes(b"precious")
    path = paused_fd_download(bus, conn, nginx, dest)
    bus.kill_service()
    os.rename(dest, dest_dir / "moved-away.bin")
    if swap == "symlink":
        os.symlink(victim, dest)
    else:
        dest.write_bytes(b"another file")
    restart(bus, conn)
    wait_for(lambda: prop(conn, path, "Status") == "error", 30, "the transfer to end")
    assert prop(conn, path, "ErrorStatus") == "destination-unwritable"
    message = prop(conn, path, "ErrorMessage")
    assert "symbolic link" in message or "no longer the file" in message, message
    assert victim.read_bytes() == b"precious"
    if swap == "replaced":
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
