# test_download.py: HTTP downloads end to end, through the library via GI
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import signal
import time

import bgtharness
import pytest
from bgtharness import Bgt, GLib, Gio, call, sha256_file, wait_for

S = Bgt.Status


def raises_bgt(code):
    class Matcher:
        def __enter__(self):
            return self

        def __exit__(self, typ, value, tb):
            assert typ is not None, f"expected BGT_ERROR {code.value_nick}, got no error"
            assert isinstance(value, GLib.Error), value
            assert value.matches(Bgt.error_quark(), code), (
                f"expected {code.value_nick}, got {value.domain}:{value.code}: {value.message}"
            )
            self.error = value
            return True

    return Matcher()


def wait_status(transfer, *statuses, timeout=60):
    wait_for(lambda: transfer.props.status in statuses, timeout,
             "status in " + ", ".join(s.value_nick for s in statuses))


def wait_bytes(transfer, at_least, timeout=60):
    wait_for(lambda: transfer.props.bytes_received >= at_least, timeout,
             f"{at_least} bytes received")


def test_download_50mib_matches(nginx, download, dest_dir):
    dest = dest_dir / "big.bin"
    t = download(nginx.url("big.bin"), dest)
    assert t.get_kind() == Bgt.TransferKind.DOWNLOAD
    assert call(t, "wait") is True
    assert t.props.status == S.COMPLETED
    assert t.props.bytes_received == 50 * 1024 * 1024
    assert t.props.total_bytes_to_receive == 50 * 1024 * 1024
    assert t.props.http_status == 200
    assert t.props.error_status == Bgt.ErrorStatus.NONE
    assert t.props.actual_uri == nginx.url("big.bin")
    assert sha256_file(dest) == nginx.files["big.bin"]
    assert os.listdir(dest_dir) == ["big.bin"], "the .bgtpart must be gone"
    headers = t.dup_response_headers()
    assert headers.get("content-length") == str(50 * 1024 * 1024)
    # Byte offsets must mean bytes on disk
    line = [l for l in nginx.access_log() if "/big.bin " in l][-1]
    assert 'accept_encoding="identity"' in line


# What nginx knows of each request's connection: its serial number, and
# how many requests it has carried with this one
LOG_CONNECTIONS = "'$connection $connection_requests $request_method $uri $status'"


@pytest.mark.parametrize("service_settings", [{"max-concurrent-transfers": "1"}], indirect=True)
def test_transfers_reuse_one_kept_alive_connection(www, client, dest_dir):
    """No request a download does not need (no HEAD before the GET: one
    request per transfer), and transfers one after the other to the same
    host go over one kept-alive connection of the service's shared
    SoupSession, not a new connection each (nginx counts the requests
    of each connection)."""
    server = bgtharness.Nginx(www[0], log_format=LOG_CONNECTIONS)
    try:
        d = Bgt.Downloader.new(client)
        ts = [call(d, "create_download", server.url("small.txt"),
                   Gio.File.new_for_path(str(dest_dir / f"k{i}.txt"))) for i in range(6)]
        for t in ts:
            assert call(t, "wait")
        for i in range(6):
            assert sha256_file(dest_dir / f"k{i}.txt") == www[1]["small.txt"]
        requests = [line.split() for line in server.access_log()]
        assert [r[2:5] for r in requests] == [["GET", "/small.txt", "200"]] * 6, requests
        # One connection, its requests counted 1, 2, … 6
        assert len({r[0] for r in requests}) == 1, requests
        assert [int(r[1]) for r in requests] == list(range(1, 7)), requests
    finally:
        server.close()


def test_finished_transfers_beyond_the_resident_ones_stay_whole(bus, nginx, dest_dir):
    """The service keeps the 64 most recently used finished transfers as
    objects and the others in its store only (bt-archive.c): an older one is
    still listed, reads back whole and can be removed."""
    client = bus.client("org.example.Archive")
    d = Bgt.Downloader.new(client)
    ts = [call(d, "create_download", nginx.url("small.txt"),
               Gio.File.new_for_path(str(dest_dir / f"a{i}.txt"))) for i in range(70)]
    for t in ts:
        assert call(t, "wait")
    first = ts[0]
    # Another client knows only what the service says
    other = bus.client("org.example.Archive")
    listed = call(other, "list_transfers")
    assert [t.get_id() for t in listed] == [t.get_id() for t in ts]
    again = call(other, "get_transfer", first.get_id())
    assert again.props.status == S.COMPLETED
    assert again.props.bytes_received == 4096
    assert again.props.http_status == 200
    assert again.get_destination() == str(dest_dir / "a0.txt")
    assert again.props.completed_time == first.props.completed_time
    call(again, "remove")
    assert first.get_id() not in {t.get_id() for t in call(other, "list_transfers")}
    assert sha256_file(dest_dir / "a0.txt") == nginx.files["small.txt"]


def test_partial_is_written_beside_destination(nginx, download, dest_dir):
    dest = dest_dir / "slow.bin"
    t = download(nginx.url("slow/big.bin"), dest)
    wait_bytes(t, 1)
    assert (dest_dir / "slow.bin.bgtpart").exists()
    assert not dest.exists(), "nothing may appear at the destination before the end"
    call(t, "cancel")


@pytest.mark.parametrize("service_settings", [{"checkpoint-interval-ms": "600000"}],
                         indirect=True)
def test_write_back_runs_beside_the_download_not_in_the_main_loop(bus, nginx, download,
                                                                  dest_dir):
    """The data is flushed while it comes (so the flush before the rename has
    little left), by a worker thread: the main loop, which serves every
    transfer and the bus, never waits for the disk. (No checkpoint flushes
    here: every flush before the commit's is write-back.)"""
    t = download(nginx.url("big.bin"), dest_dir / "big.bin", start=False)
    pid = bus.service_pid()
    part = str(dest_dir / "big.bin.bgtpart")
    tracer = bgtharness.Strace(pid, "-y", "-P", part, "-e", "trace=fdatasync,ftruncate")
    try:
        call(t, "start")
        wait_status(t, S.COMPLETED, timeout=120)
    finally:
        tracer.close()
    assert sha256_file(dest_dir / "big.bin") == nginx.files["big.bin"]
    size = os.path.getsize(dest_dir / "big.bin")
    calls = [l for l in tracer.lines if "fdatasync(" in l or "ftruncate(" in l]
    commit = [i for i, l in enumerate(calls) if f", {size})" in l and "ftruncate(" in l]
    assert commit, "the commit's flush was not seen:\n" + "\n".join(tracer.lines[-20:])
    rounds = [l for l in calls[:commit[0]] if "fdatasync(" in l]
    assert rounds, "no write-back during the download:\n" + "\n".join(calls)
    assert not [l for l in rounds if not l.startswith("[pid ") or l.startswith(f"[pid {pid}]")], \
        rounds


def test_pause_then_resume_asks_for_a_range(nginx, download, dest_dir):
    dest = dest_dir / "resumed.bin"
    t = download(nginx.url("slow/medium.bin"), dest)
    wait_bytes(t, 512 * 1024)
    call(t, "pause")
    assert t.props.status == S.PAUSED_BY_APPLICATION
    # Pausing a paused transfer is a no-op
    call(t, "pause")
    assert t.props.status == S.PAUSED_BY_APPLICATION
    paused_at = t.props.bytes_received
    assert 0 < paused_at < 4 * 1024 * 1024
    assert (dest_dir / "resumed.bin.bgtpart").stat().st_size >= paused_at
    call(t, "resume")
    assert call(t, "wait") is True
    assert sha256_file(dest) == nginx.files["medium.bin"]
    ranged = [l for l in nginx.access_log() if "/slow/medium.bin " in l and 'range="bytes=' in l]
    assert ranged, "resume must send a Range request"
    last = ranged[-1]
    assert " 206 " in last
    offset = int(last.split('range="bytes=')[1].split("-")[0])
    assert 0 < offset <= paused_at
    assert 'if_range=""' not in last, "resume must send If-Range"


def test_cancel_removes_partial(nginx, download, dest_dir):
    dest = dest_dir / "canceled.bin"
    t = download(nginx.url("slow/big.bin"), dest)
    wait_bytes(t, 1)
    call(t, "cancel")
    assert t.props.status == S.CANCELED
    wait_for(lambda: not (dest_dir / "canceled.bin.bgtpart").exists(), 10, "partial removed")
    assert os.listdir(dest_dir) == []
    with raises_bgt(Bgt.Error.TRANSFER_CANCELED):
        call(t, "wait")


def test_not_found(nginx, download, dest_dir):
    t = download(nginx.url("nope"), dest_dir / "nope")
    with raises_bgt(Bgt.Error.TRANSFER_FAILED):
        call(t, "wait")
    assert t.props.status == S.ERROR
    assert t.props.error_status == Bgt.ErrorStatus.NOT_FOUND
    assert t.props.http_status == 404
    assert t.props.error_message
    assert os.listdir(dest_dir) == []


@pytest.mark.parametrize(
    "uri,code",
    [
        ("not a uri", Bgt.Error.INVALID_ARGUMENT),
        ("http://", Bgt.Error.INVALID_ARGUMENT),
        ("//127.0.0.1/x", Bgt.Error.INVALID_ARGUMENT),
        ("gopher://127.0.0.1/x", Bgt.Error.UNSUPPORTED_SCHEME),
        ("file:///etc/passwd", Bgt.Error.UNSUPPORTED_SCHEME),
        ("data:,hello", Bgt.Error.UNSUPPORTED_SCHEME),
    ],
)
def test_bad_uri_is_refused(download, dest_dir, uri, code):
    with raises_bgt(code) as m:
        download(uri, dest_dir / "x")
    assert m.error.message
    assert os.listdir(dest_dir) == []


@pytest.mark.parametrize("dest", ["relative/x", "x", "", "/"])
def test_bad_destination_is_refused(bus, client, nginx, dest):
    # The library makes paths absolute; say it raw on the bus
    with pytest.raises(GLib.Error) as e:
        bus.call_manager("CreateDownload", GLib.Variant(
            "(sa{sv})", (nginx.url("small.txt"), {"destination": GLib.Variant("s", dest)})))
    assert "InvalidArgument" in e.value.message or \
        e.value.matches(Bgt.error_quark(), Bgt.Error.INVALID_ARGUMENT)



@pytest.mark.parametrize("engine", ["http", "ftp", "ftps", "put", "tus"])
def test_an_option_given_twice_is_refused(bus, client, nginx, dest_dir, engine):
    """Which of the two would count is a guess: refused, for either kind
    and every engine (the check comes before an engine is chosen, so no
    server is reached: the FTP URIs need none), and nothing is created or
    written"""
    source = dest_dir / "source.bin"
    source.write_bytes(b"x" * 16)
    s = lambda v: GLib.Variant("s", v)  # noqa: E731
    method, uri, pairs = {
        "http": ("CreateDownload", nginx.url("small.txt"),
                 [("destination", s(str(dest_dir / "a"))), ("destination", s(str(dest_dir / "b")))]),
        "ftp": ("CreateDownload", "ftp://127.0.0.1:9/x",
                [("destination", s(str(dest_dir / "a"))), ("destination", s(str(dest_dir / "b")))]),
        "ftps": ("CreateDownload", "ftps://127.0.0.1:9/x",
                 [("destination", s(str(dest_dir / "a"))), ("priority", s("high")),
                  ("priority", s("low"))]),
        "put": ("CreateUpload", nginx.url("dav/x"),
                [("source", s(str(source))), ("method", s("PUT")), ("source", s(str(source)))]),
        "tus": ("CreateUpload", nginx.url("dav/x"),
                [("source", s(str(source))), ("protocol", s("tus")), ("protocol", s("http"))]),
    }[engine]
    with pytest.raises(GLib.Error) as e:
        bus.call_manager(method, GLib.Variant.new_tuple(s(uri), bgtharness.vardict(pairs)))
    assert e.value.matches(Bgt.error_quark(), Bgt.Error.INVALID_ARGUMENT) \
        or "InvalidArgument" in e.value.message
    assert "twice" in e.value.message
    assert os.listdir(dest_dir) == ["source.bin"]
    assert bus.call_manager("GetTransfers", GLib.Variant("(a{sv})", ({},))) == ([],)


def test_missing_directory_is_refused(nginx, download, tmp_path):
    with raises_bgt(Bgt.Error.INVALID_ARGUMENT) as m:
        download(nginx.url("small.txt"), tmp_path / "missing" / "x")
    assert "missing" in m.error.message
    assert not (tmp_path / "missing").exists()


def test_a_destination_being_written_is_refused_to_another(nginx, download, dest_dir):
    """The partial file is created in a worker thread now: a second
    download into the same destination still gets a clear refusal, and
    the first one goes on untouched."""
    dest = dest_dir / "one.txt"
    first = download(nginx.url("small.txt"), dest, start=False)
    with raises_bgt(Bgt.Error.INVALID_ARGUMENT) as m:
        download(nginx.url("medium.bin"), dest)
    assert "another transfer is writing" in m.error.message, m.error.message
    call(first, "start")
    assert call(first, "wait")
    assert sha256_file(dest) == nginx.files["small.txt"]
    assert os.listdir(dest_dir) == ["one.txt"]


def test_existing_destination_is_not_overwritten(nginx, download, dest_dir):
    dest = dest_dir / "there.txt"
    dest.write_text("precious")
    try:
        t = download(nginx.url("small.txt"), dest)
        with pytest.raises(GLib.Error):
            call(t, "wait")
    except GLib.Error:
        pass
    assert dest.read_text() == "precious"
    t = download(nginx.url("small.txt"), dest, overwrite=True)
    assert call(t, "wait")
    assert sha256_file(dest) == nginx.files["small.txt"]


def test_destination_fd(nginx, client, dest_dir):
    path = dest_dir / "byfd.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        t = call(Bgt.Downloader.new(client), "create_download_for_fd", nginx.url("medium.bin"), fd)
    finally:
        os.close(fd)
    assert call(t, "wait") is True
    assert sha256_file(path) == nginx.files["medium.bin"]


def test_not_started_until_start(nginx, download, dest_dir):
    t = download(nginx.url("small.txt"), dest_dir / "later.txt", start=False)
    assert t.props.status == S.IDLE
    call(t, "refresh")
    assert t.props.status == S.IDLE and t.props.bytes_received == 0
    call(t, "start")
    assert call(t, "wait") is True
    assert sha256_file(dest_dir / "later.txt") == nginx.files["small.txt"]


def test_invalid_states(nginx, download, dest_dir):
    running = download(nginx.url("slow/big.bin"), dest_dir / "running.bin")
    wait_bytes(running, 1)
    with raises_bgt(Bgt.Error.INVALID_STATE):
        call(running, "remove")
    done = download(nginx.url("small.txt"), dest_dir / "done.txt")
    assert call(done, "wait")
    for method in ("start", "pause", "resume", "cancel"):
        with raises_bgt(Bgt.Error.INVALID_STATE):
            call(done, method)
    call(running, "cancel")
    with raises_bgt(Bgt.Error.INVALID_STATE):
        call(running, "cancel")
    # Remove forgets a finished transfer, and leaves its file alone
    call(done, "remove")
    assert (dest_dir / "done.txt").exists()
    client = done.get_client()
    ids = [t.get_id() for t in call(client, "list_transfers")]
    assert done.get_id() not in ids
    with raises_bgt(Bgt.Error.NOT_FOUND):
        call(client, "get_transfer", done.get_id())


def test_transfers_are_keyed_by_app_id(bus, nginx, dest_dir):
    a = bus.client("org.example.A")
    b = bus.client("org.example.B")
    ta = call(Bgt.Downloader.new(a), "create_download", nginx.url("small.txt"),
              Gio.File.new_for_path(str(dest_dir / "a.txt")))
    tb = call(Bgt.Downloader.new(b), "create_download", nginx.url("small.txt"),
              Gio.File.new_for_path(str(dest_dir / "b.txt")))
    assert [t.get_id() for t in call(a, "list_transfers")] == [ta.get_id()]
    assert [t.get_id() for t in call(b, "list_transfers")] == [tb.get_id()]
    # Re-attaching from a new connection of the same app finds it
    a2 = bus.client("org.example.A")
    found = call(a2, "get_transfer", ta.get_id())
    assert found.get_uri() == nginx.url("small.txt")
    assert call(found, "wait")


def test_property_changes_are_coalesced(bus, faults, client, dest_dir):
    """At most 10 PropertiesChanged per second per transfer, status at once."""
    # 8 KiB every 2 ms: hundreds of reads a second, each a progress step
    t = call(Bgt.Downloader.new(client), "create_download",
             faults.url("trickle?size=64000000&chunk=8192&interval=2"),
             Gio.File.new_for_path(str(dest_dir / "rate.bin")))
    conn = client.get_connection()
    stamps = []

    def on_signal(connection, sender, path, iface, name, params):
        changed = params.unpack()[1]
        stamps.append((time.monotonic(), set(changed)))

    sub = conn.signal_subscribe(None, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                t.get_object_path(), None, Gio.DBusSignalFlags.NONE, on_signal)
    try:
        wait_bytes(t, 1)
        start = time.monotonic()
        wait_for(lambda: time.monotonic() - start > 4, 10, "4 s of transfer")
        call(t, "pause")
        wait_for(lambda: any("Status" in c for _, c in stamps[-3:]), 5, "the pause signal")
    finally:
        conn.signal_unsubscribe(sub)
    counters = [ts for ts, c in stamps if "BytesReceived" in c and "Status" not in c]
    assert len(counters) >= 30, f"progress must be signalled ({len(counters)} signals)"
    # No one-second window holds more than 10 counter updates
    for i, ts in enumerate(counters):
        window = [x for x in counters[i:] if x - ts < 1.0]
        assert len(window) <= 10, f"{len(window)} signals within 1 s"
    # The status change arrived even though a counter update had just gone
    assert any("Status" in c for _, c in stamps)
    call(t, "cancel")


def test_notify_follows_progress(nginx, download, dest_dir):
    t = download(nginx.url("slow/big.bin"), dest_dir / "notify.bin")
    seen = []
    t.connect("notify::bytes-received", lambda o, p: seen.append(o.props.bytes_received))
    statuses = []
    t.connect("notify::status", lambda o, p: statuses.append(o.props.status))
    wait_for(lambda: len(seen) >= 3, 20, "three progress notifications")
    assert seen == sorted(seen)
    call(t, "pause")
    assert S.PAUSED_BY_APPLICATION in statuses
    call(t, "cancel")


def test_service_exits_when_idle(tmp_path, nginx):
    import bgtharness
    svc = bgtharness.ServiceBus(idle_timeout=1, tmpdir=str(tmp_path / "idle"))
    try:
        client = svc.client("org.example.Idle", conn=svc.connect())
        t = call(Bgt.Downloader.new(client), "create_download", nginx.url("small.txt"),
                 Gio.File.new_for_path(str(tmp_path / "idle.txt")))
        assert call(t, "wait")
        pid = svc.service_pid()
        assert pid
        # While the app is connected the service stays; once it leaves, and
        # nothing runs, the service exits by itself
        client.get_connection().close_sync(None)
        wait_for(lambda: not svc.service_running(), 20, "the idle service to exit")
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or bgtharness._is_zombie(pid), 10,
                 "the process to end")
        # A new call activates it again, and the finished transfer is kept
        again = svc.client("org.example.Idle")
        assert t.get_id() in [x.get_id() for x in call(again, "list_transfers")]
    finally:
        svc.close()


def test_running_transfer_keeps_service_alive(tmp_path, nginx):
    import bgtharness
    svc = bgtharness.ServiceBus(idle_timeout=1, tmpdir=str(tmp_path / "busy"))
    try:
        client = svc.client("org.example.Busy", conn=svc.connect())
        t = call(Bgt.Downloader.new(client), "create_download", nginx.url("slow/medium.bin"),
                 Gio.File.new_for_path(str(tmp_path / "busy.bin")))
        wait_bytes(t, 1)
        pid = svc.service_pid()
        client.get_connection().close_sync(None)
        # The app is gone; the transfer goes on until done (4 MiB at 1 MiB/s)
        path = tmp_path / "busy.bin"
        wait_for(lambda: path.exists(), 30, "the download to finish without its app")
        assert svc.service_pid() in (pid, None)
        assert sha256_file(path) == nginx.files["medium.bin"]
    finally:
        svc.close()


def test_sigterm_is_clean(bus, client, nginx, dest_dir):
    t = call(Bgt.Downloader.new(client), "create_download", nginx.url("slow/big.bin"),
             Gio.File.new_for_path(str(dest_dir / "term.bin")))
    wait_bytes(t, 1)
    pid = bus.service_pid()
    bus.kill_service(signal.SIGTERM, timeout=10)
    # It exited by itself, with status 0: not killed by the signal, nor by
    # a crash on the way out
    assert bus.exit_status(pid) == 0, bgtharness.describe_exit(bus.exit_status(pid))
    log = bus.service_log()
    assert "Terminating on a signal" in log
    for bad in ("CRITICAL", "Segmentation", "AddressSanitizer", "runtime error:"):
        assert bad not in log, bad
    # The partial stays for a later resume; nothing is renamed into place
    assert not (dest_dir / "term.bin").exists()


def test_transfer_added_and_removed_reach_only_the_owner(bus, nginx, dest_dir):
    """TransferAdded and TransferRemoved go to every connection of
    the owning app, and to no other app."""
    owner_a, owner_b, other = bus.connect(), bus.connect(), bus.connect()
    heard = {"a": [], "b": [], "other": []}
    for name, conn in (("a", owner_a), ("b", owner_b), ("other", other)):
        conn.signal_subscribe(None, bgtharness.MANAGER_IFACE, None, bgtharness.MANAGER_PATH,
                              None, Gio.DBusSignalFlags.NONE,
                              lambda c, s, p, i, sig, params, n=name: heard[n].append(
                                  (sig, params.unpack()[0])))
    # Each connection declares its app: two of the owner's, one of another's
    for conn, app in ((owner_a, "org.example.Owner"), (owner_b, "org.example.Owner"),
                      (other, "org.example.Other")):
        bus.call_manager("GetTransfers",
                         GLib.Variant("(a{sv})", ({"app-id": GLib.Variant("s", app)},)),
                         conn=conn)
    (path,) = bus.call_manager("CreateDownload", GLib.Variant("(sa{sv})", (
        nginx.url("small.txt"), {"app-id": GLib.Variant("s", "org.example.Owner"),
                                 "destination": GLib.Variant("s", str(dest_dir / "s.bin"))})),
        conn=owner_a)
    wait_for(lambda: ("TransferAdded", path) in heard["a"]
             and ("TransferAdded", path) in heard["b"], 10, "TransferAdded at both owners")
    proxy = Gio.DBusProxy.new_sync(owner_b, Gio.DBusProxyFlags.DO_NOT_LOAD_PROPERTIES, None,
                                   bgtharness.BUS_NAME, path, bgtharness.TRANSFER_IFACE, None)

    def status():
        return proxy.call_sync("org.freedesktop.DBus.Properties.Get",
                               GLib.Variant("(ss)", (bgtharness.TRANSFER_IFACE, "Status")),
                               Gio.DBusCallFlags.NONE, 5000, None).unpack()[0]
    wait_for(lambda: status() == "completed", 30, "the download")
    proxy.call_sync("Remove", None, Gio.DBusCallFlags.NONE, 5000, None)
    wait_for(lambda: ("TransferRemoved", path) in heard["a"]
             and ("TransferRemoved", path) in heard["b"], 10, "TransferRemoved at both owners")
    # The other app heard nothing of it: a later signal of its own proves
    # its subscription works and that nothing of the owner's came before it
    (own,) = bus.call_manager("CreateDownload", GLib.Variant("(sa{sv})", (
        nginx.url("small.txt"), {"destination": GLib.Variant("s", str(dest_dir / "o.bin"))})),
        conn=other)
    wait_for(lambda: heard["other"], 10, "the other app's own TransferAdded")
    assert heard["other"] == [("TransferAdded", own)], heard["other"]


def _raw_download(bus, conn, uri, dest, app_id):
    (path,) = bus.call_manager("CreateDownload", GLib.Variant("(sa{sv})", (
        uri, {"app-id": GLib.Variant("s", app_id), "destination": GLib.Variant("s", str(dest))})),
        conn=conn)
    return path


def _transfer_call(conn, path, method, args=None):
    return conn.call_sync(bgtharness.BUS_NAME, path, bgtharness.TRANSFER_IFACE, method, args,
                          None, Gio.DBusCallFlags.NONE, 10000, None)


def _transfer_get(conn, path, name):
    return conn.call_sync(bgtharness.BUS_NAME, path, "org.freedesktop.DBus.Properties", "Get",
                          GLib.Variant("(ss)", (bgtharness.TRANSFER_IFACE, name)), None,
                          Gio.DBusCallFlags.NONE, 10000, None).unpack()[0]


def _collect_ranges_added(conn, path):
    heard = []
    conn.signal_subscribe(None, bgtharness.TRANSFER_IFACE, "RangesAdded", path, None,
                          Gio.DBusSignalFlags.NONE,
                          lambda c, s, p, i, sig, params: heard.append(
                              (time.monotonic(),) + tuple(params.unpack())))
    return heard


def test_ranges_added_tell_every_byte_once(bus, nginx, dest_dir):
    """RangesAdded reports the data as it arrives, each byte once,
    in order, at most about ten times a second, the last one by the end;
    RangesDownloaded agrees."""
    conn = bus.connect()
    dest = dest_dir / "ranged.bin"
    path = _raw_download(bus, conn, nginx.url("slow/medium.bin"), dest, "org.example.Ranges")
    heard = _collect_ranges_added(conn, path)
    start = time.monotonic()
    wait_for(lambda: _transfer_get(conn, path, "Status") == "completed", 60, "the download")
    size = os.path.getsize(dest)
    wait_for(lambda: heard and sum(r[1] for _, added, _r in heard for r in added) >= size, 10,
             "RangesAdded to cover the file")
    duration = time.monotonic() - start
    expect = 0
    for _, added, restarted in heard:
        assert not restarted
        for offset, length in added:
            assert offset == expect and length > 0, heard
            expect += length
    assert expect == size
    assert len(heard) <= 10 * duration + 2, f"{len(heard)} signals in {duration:.1f} s"
    assert len(heard) >= 2, "the ranges came as the data did, not only at the end"
    assert _transfer_get(conn, path, "RangesDownloaded") == [(0, size)]


def test_ranges_added_says_when_the_download_restarts(bus, nginx, www, dest_dir):
    """A file that changes on the server while paused: the resume gets the
    whole new file (If-Range fails) and RangesAdded says restarted at once."""
    root, _ = www
    name = "changing-%d.bin" % os.getpid()
    source = os.path.join(root, name)
    bgtharness.make_file(source, 3 * 1024 * 1024)
    conn = bus.connect()
    dest = dest_dir / "changing.bin"
    path = _raw_download(bus, conn, nginx.url("slow/" + name), dest, "org.example.Ranges")
    heard = _collect_ranges_added(conn, path)
    wait_for(lambda: heard and any(added for _, added, _r in heard), 30, "some ranges")
    _transfer_call(conn, path, "Pause")
    # Another version: other bytes, another mtime, so another ETag
    new_sha = bgtharness.make_file(source, 3 * 1024 * 1024)
    st = os.stat(source)
    os.utime(source, (st.st_atime, st.st_mtime + 60))
    _transfer_call(conn, path, "Resume")
    wait_for(lambda: any(r for _, _a, r in heard), 30, "RangesAdded with restarted")
    wait_for(lambda: _transfer_get(conn, path, "Status") == "completed", 60, "the download")
    assert sha256_file(dest) == new_sha
    # After the restart, the ranges start from zero again and cover the file
    restart = max(i for i, (_, _a, r) in enumerate(heard) if r)
    wait_for(lambda: sum(n for _, added, _r in heard[restart:] for _o, n in added)
             >= 3 * 1024 * 1024, 10, "the new version's ranges")
    covered = 0
    for _, added, _r in heard[restart:]:
        for offset, length in added:
            assert offset == covered, heard[restart:]
            covered += length
    assert covered == 3 * 1024 * 1024
    os.unlink(source)
