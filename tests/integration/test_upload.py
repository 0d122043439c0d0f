# test_upload.py: PUT and POST, multipart, streams, the server's reply, tus
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Against nginx (WebDAV PUT), a receiver of our own that parses multipart
# bodies, and a real tus 1.0 server (@tus/server from the npm registry, run
# with the machine's Node.js).

import email.parser
import email.policy
import hashlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest
from bgtharness import (SRCDIR, Bgt, Gio, GLib, ServiceBus, call, require, sha256_file,
                        wait_for)
from faultserver import FaultServer

S = Bgt.Status
MIB = 1024 * 1024


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples the service's RSS while a transfer runs."""

    def __init__(self, bus):
        self.bus = bus
        self.peak = 0.0
        self.stop = threading.Event()
        self.pid = bus.service_pid()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, rss_mib(self.pid))
            except OSError:
                return
            time.sleep(0.02)

    def done(self):
        self.stop.set()
        self.thread.join()
        return self.peak


def make_source(path, size):
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        block = os.urandom(MIB)
        n = 0
        while left > 0:
            chunk = (n.to_bytes(8, "little") + block[8:])[:min(MIB, left)]
            f.write(chunk)
            h.update(chunk)
            left -= len(chunk)
            n += 1
    return h.hexdigest()


def uploader(client, method=None, tus=False):
    u = Bgt.Uploader.new(client)
    if method:
        u.set_method(method)
    if tus:
        u.set_resumable(True)
    return u


def open_response(client, t):
    reply, fds = client.get_connection().call_with_unix_fd_list_sync(
        "org.freedesktop.BackgroundTransfer", t.get_object_path(),
        "org.freedesktop.BackgroundTransfer.Transfer", "OpenResponse", None, None,
        Gio.DBusCallFlags.NONE, -1, None, None)
    fd = fds.get(reply.unpack()[0])
    with os.fdopen(fd, "rb") as f:
        return f.read()


def test_put_to_webdav(client, nginx, tmp_path):
    src = tmp_path / "up.bin"
    sha = make_source(src, 20 * MIB)
    t = call(uploader(client, "PUT"), "create_upload", nginx.url("dav/up.bin"),
             Gio.File.new_for_path(str(src)))
    assert t.get_kind() == Bgt.TransferKind.UPLOAD
    sent = []
    t.connect("notify::bytes-sent", lambda o, p: sent.append(o.props.bytes_sent))
    assert call(t, "wait"), t.props.error_message
    assert t.props.http_status in (201, 204)
    assert t.props.bytes_sent == t.props.total_bytes_to_send == 20 * MIB
    assert sent == sorted(sent)
    assert sha256_file(os.path.join(nginx.dav, "up.bin")) == sha


def test_put_of_2_gib_streams_with_flat_memory(bus, client, nginx, tmp_path):
    src = tmp_path / "big.bin"
    sha = make_source(src, 2048 * MIB)
    try:
        t = call(uploader(client, "PUT"), "create_upload", nginx.url("dav/big.bin"),
                 Gio.File.new_for_path(str(src)))
        sampler = PeakRss(bus)
        assert call(t, "wait"), t.props.error_message
        peak = sampler.done()
        print(f"\n2 GiB PUT: service peak RSS {peak:.1f} MiB")
        assert peak < 100, f"the body must be streamed, not held ({peak:.0f} MiB)"
        assert sha256_file(os.path.join(nginx.dav, "big.bin")) == sha
    finally:
        for p in (src, os.path.join(nginx.dav, "big.bin")):
            if os.path.exists(p):
                os.unlink(p)


@pytest.fixture
def receiver():
    server = FaultServer()

    def store(conn, req, n):
        ctype = req.header("content-type")
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + req.body)
        parts = []
        for part in msg.iter_parts():
            payload = part.get_payload(decode=True)
            parts.append({
                "name": part.get_param("name", header="content-disposition"),
                "filename": part.get_filename(),
                "content-type": part.get_content_type(),
                "x-part": part.get("X-Part"),
                "sha256": hashlib.sha256(payload).hexdigest(),
                "size": len(payload),
            })
        reply = json.dumps({"received": parts}).encode()
        conn.respond(200, reply, [("Content-Type", "application/json")])
    server.route("/form", store)
    server.route("/echo", lambda c, r, n: c.respond(201, json.dumps({
        "method": r.method, "size": len(r.body), "sha256": hashlib.sha256(r.body).hexdigest(),
        "chunked": r.header("transfer-encoding") == "chunked"}).encode()))
    server.route("/too-big", lambda c, r, n: c.respond(413, b"too large"))
    server.route("/broken", lambda c, r, n: c.respond(500, b"oops"))
    yield server
    server.close()


def test_multipart_upload_of_files_and_values(bus, client, receiver, tmp_path):
    files = []
    for i in range(3):
        path = tmp_path / f"part{i}.bin"
        files.append((path, make_source(path, 100 * MIB)))
    parts = []
    for i, (path, _) in enumerate(files):
        part = Bgt.ContentPart.new_for_file(f"file{i}", Gio.File.new_for_path(str(path)))
        part.set_filename(f"name-{i}.bin")
        part.set_content_type("application/x-test")
        part.set_header("X-Part", str(i))
        parts.append(part)
    parts.append(Bgt.ContentPart.new_for_value("comment", "three files"))
    u = uploader(client)
    t = call(u, "create_multipart_upload", receiver.url("form"), parts)
    sampler = PeakRss(bus)
    # 300 MiB through a Python receiver: a bound for a loaded machine, not a speed
    assert call(t, "wait", timeout=600), t.props.error_message
    peak = sampler.done()
    print(f"\nmultipart 3 × 100 MiB: service peak RSS {peak:.1f} MiB")
    assert peak < 100
    reply = json.loads(open_response(client, t))
    got = reply["received"]
    assert [p["name"] for p in got] == ["file0", "file1", "file2", "comment"]
    for i, (_, sha) in enumerate(files):
        assert got[i]["sha256"] == sha
        assert got[i]["filename"] == f"name-{i}.bin"
        assert got[i]["content-type"] == "application/x-test"
        assert got[i]["x-part"] == str(i)
    assert got[3]["sha256"] == hashlib.sha256(b"three files").hexdigest()
    assert t.props.http_status == 200


def test_reply_is_kept_for_an_app_that_was_gone(bus, receiver, tmp_path):
    src = tmp_path / "s.bin"
    sha = make_source(src, MIB)
    client = bus.client("org.example.Gone")
    t = call(uploader(client), "create_upload", receiver.url("echo"),
             Gio.File.new_for_path(str(src)))
    tid = t.get_id()
    client.get_connection().close_sync(None)
    # The app comes back after the end and reads the reply
    again = bus.client("org.example.Gone")
    t = call(again, "get_transfer", tid)
    assert call(t, "wait")
    reply = json.loads(open_response(again, t))
    assert reply == {"method": "POST", "size": MIB, "sha256": sha, "chunked": False}


def test_upload_from_a_pipe(client, receiver):
    r, w = os.pipe()
    data = os.urandom(3 * MIB)

    def feed():
        with os.fdopen(w, "wb") as f:
            f.write(data)
    threading.Thread(target=feed, daemon=True).start()
    try:
        t = call(uploader(client), "create_upload_for_fd", receiver.url("echo"), r)
    finally:
        os.close(r)
    assert t.props.is_resumable is False
    assert call(t, "wait"), t.props.error_message
    reply = json.loads(open_response(client, t))
    assert reply["size"] == len(data) and reply["sha256"] == hashlib.sha256(data).hexdigest()
    assert reply["chunked"] is True


@pytest.mark.parametrize("path,status,error", [("too-big", 413, None), ("broken", 500, None)])
def test_server_refusals(client, receiver, tmp_path, path, status, error):
    src = tmp_path / "s.bin"
    make_source(src, 64 * 1024)
    t = call(uploader(client), "create_upload", receiver.url(path), Gio.File.new_for_path(str(src)))
    with pytest.raises(GLib.Error):
        call(t, "wait")
    assert t.props.status == S.ERROR
    assert t.props.http_status == status
    # A POST whose body went out is not sent again behind the app's back
    assert len(receiver.requests_to("/" + path)) == 1


@pytest.mark.parametrize("service_settings", [{"max-upload-rate": str(MIB)}], indirect=True)
def test_source_deleted_mid_upload(client, nginx, tmp_path):
    """The source is deleted while its bytes are being sent (1 MiB/s, 8
    MiB): the upload ends with ResourceChanged, never as a success."""
    src = tmp_path / "vanishing.bin"
    make_source(src, 8 * MIB)
    u = uploader(client, "PUT")
    t = call(u, "create_upload", nginx.url("dav/vanishing.bin"),
             Gio.File.new_for_path(str(src)))
    wait_for(lambda: t.props.bytes_sent > 0, 20, "the upload to start")
    os.unlink(src)
    # The deletion landed mid-upload: running, some bytes sent, not all
    call(t, "refresh")
    assert t.props.status == S.RUNNING
    assert 0 < t.props.bytes_sent < 8 * MIB
    with pytest.raises(GLib.Error):
        call(t, "wait")
    assert t.props.status == S.ERROR
    assert t.props.error_status == Bgt.ErrorStatus.RESOURCE_CHANGED, t.props.error_message


def test_unreadable_source_and_ftp_are_refused(client, tmp_path):
    with pytest.raises(GLib.Error):
        call(uploader(client), "create_upload", "http://127.0.0.1:9/x",
             Gio.File.new_for_path(str(tmp_path / "missing")))
    src = tmp_path / "s.bin"
    src.write_bytes(b"x")
    with pytest.raises(GLib.Error) as e:
        call(uploader(client), "create_upload", "ftp://127.0.0.1:9/x",
             Gio.File.new_for_path(str(src)))
    assert e.value.matches(Bgt.error_quark(), Bgt.Error.UNSUPPORTED_SCHEME)


# ---- tus ---------------------------------------------------------------------------


class TusServer:
    def __init__(self, tmp_path):
        self.dir = str(tmp_path / "tus-files")
        os.makedirs(self.dir)
        self.log = []
        self.port = 0
        self.start()

    def start(self):
        """Starts (again, on the same port and files after a stop)."""
        script = os.path.join(SRCDIR, "tests", "tus", "server.mjs")
        self.proc = subprocess.Popen(["node", script, self.dir, str(self.port)],
                                     stdout=subprocess.PIPE, text=True,
                                     cwd=os.path.dirname(script))
        self.port = json.loads(self.proc.stdout.readline())["port"]
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def _read(self, proc):
        for line in proc.stdout:
            self.log.append(json.loads(line))

    def url(self):
        return f"http://127.0.0.1:{self.port}/files"

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def tus(tmp_path):
    require(shutil.which("node") is not None and os.path.isdir(
            os.path.join(SRCDIR, "tests", "tus", "node_modules", "@tus", "server")),
            "needs Node.js and @tus/server (tools/install-deps.sh installs them)")
    server = TusServer(tmp_path)
    yield server
    server.close()


@pytest.mark.parametrize("service_settings", [{"max-upload-rate": str(40 * MIB)}], indirect=True)
def test_tus_upload_resumes_after_kill_and_pause(bus, client, tus, tmp_path):
    src = tmp_path / "tus.bin"
    sha = make_source(src, 200 * MIB)
    t = call(uploader(client, tus=True), "create_upload", tus.url(),
             Gio.File.new_for_path(str(src)))
    wait_for(lambda: t.props.bytes_sent > 40 * MIB, 60, "40 MiB sent")
    bus.kill_service(signal.SIGKILL)
    call(client, "list_transfers")  # activates the service again
    t = call(client, "get_transfer", t.get_id())
    wait_for(lambda: t.props.bytes_sent > 100 * MIB, 60, "100 MiB sent")
    call(t, "pause")
    call(t, "resume")
    assert call(t, "wait"), t.props.error_message
    offsets = [int(e["offset"]) for e in tus.log if e["method"] == "PATCH" and e["offset"]]
    print(f"\ntus PATCH offsets: {offsets}")
    assert offsets[0] == 0
    assert len([o for o in offsets if o > 0]) >= 2, "resumed twice from the server's offset"
    assert any(e["method"] == "HEAD" for e in tus.log), "asked the server for its offset"
    stored = [f for f in os.listdir(tus.dir) if not f.endswith(".json")]
    assert len(stored) == 1
    assert sha256_file(os.path.join(tus.dir, stored[0])) == sha


def test_reply_into_a_file_of_the_apps_choice(client, receiver, tmp_path):
    src = tmp_path / "s.bin"
    sha = make_source(src, 2 * MIB)
    reply_file = tmp_path / "reply.json"
    u = uploader(client, "PUT")
    u.set_response_destination(Gio.File.new_for_path(str(reply_file)))
    t = call(u, "create_upload", receiver.url("echo"), Gio.File.new_for_path(str(src)))
    assert call(t, "wait"), t.props.error_message
    assert json.loads(reply_file.read_text()) == {"method": "PUT", "size": 2 * MIB,
                                                   "sha256": sha, "chunked": False}


def test_cancel_an_upload(client, nginx, tmp_path):
    src = tmp_path / "s.bin"
    make_source(src, 64 * MIB)
    u = uploader(client, "PUT")
    u.set_request_header("X-Test", "1")
    t = call(u, "create_upload", nginx.url("dav/canceled.bin"), Gio.File.new_for_path(str(src)))
    call(t, "cancel")
    assert t.props.status == S.CANCELED
    with pytest.raises(GLib.Error):
        call(t, "wait")


@pytest.mark.parametrize("service_settings", [{"max-upload-rate": str(20 * MIB)}], indirect=True)
def test_tus_upload_resumes_after_the_server_goes_away(bus, client, tus, tmp_path):
    """A network drop: the server dies mid-upload and comes back; the
    upload asks it for its offset and goes on from there."""
    src = tmp_path / "tus.bin"
    sha = make_source(src, 60 * MIB)
    t = call(uploader(client, tus=True), "create_upload", tus.url(),
             Gio.File.new_for_path(str(src)))
    wait_for(lambda: t.props.bytes_sent > 10 * MIB, 60, "10 MiB sent")
    tus.close()
    wait_for(lambda: t.props.status == S.PAUSED_RECOVERABLE_ERROR, 30, "a retry to be due")
    tus.start()
    assert call(t, "wait"), t.props.error_message
    offsets = [int(e["offset"]) for e in tus.log if e["method"] == "PATCH" and e["offset"]]
    print(f"\ntus PATCH offsets across a server restart: {offsets}")
    assert any(o > 0 for o in offsets)
    stored = [f for f in os.listdir(tus.dir) if not f.endswith(".json")]
    assert sha256_file(os.path.join(tus.dir, stored[0])) == sha


SLOW_UPLOADS = pytest.mark.parametrize("service_settings", [{"max-upload-rate": str(MIB)}],
                                       indirect=True)


@SLOW_UPLOADS
def test_source_that_changes_size_fails_clearly(client, receiver, tmp_path):
    src = tmp_path / "growing.bin"
    make_source(src, 4 * MIB)
    u = uploader(client)
    t = call(u, "create_upload", receiver.url("echo"), Gio.File.new_for_path(str(src)))
    wait_for(lambda: t.props.bytes_sent > 0, 20, "the upload to start")
    call(t, "pause")
    with open(src, "ab") as f:
        f.write(b"more")
    call(t, "resume")
    with pytest.raises(GLib.Error):
        call(t, "wait")
    assert t.props.error_status == Bgt.ErrorStatus.RESOURCE_CHANGED, t.props.error_message
