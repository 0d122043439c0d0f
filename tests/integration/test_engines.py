# test_engines.py: the rules of docs/contract.md held by every engine
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# One rule at a time, parametrized over the engines it was missing a test
# for: HTTP download ("http"), plain HTTP upload ("put"), tus ("tus"), FTP
# ("ftp") and explicit FTPS ("ftps"). tests/README.md "Guarantees ×
# engines" names, for each rule and engine, the test that proves it, here
# or in another suite.
#
# Servers: nginx (files, and WebDAV PUT under /dav/), the real tus server
# of test_upload.py, pyftpdlib and Debian's vsftpd (plain, and FTPS with
# TLS forced and session reuse) of test_ftp.py; tcpproxy.Proxy in front of
# them counts connections server-side, stalls one, or answers one request
# itself; a fault is confirmed server-side before its effect is checked.

import os
import signal
import socket
import threading
import time
import uuid

import pytest
from bgtharness import Bgt, Gio, GLib, call, free_port, make_file, sha256_file, wait_for
from faultserver import FaultServer
from ftpservers import PyFtpd, VsFtpd
from tcpproxy import Proxy
from test_ftp import (SLOW_RATE, assert_resumed_with_rest, bus, finish, ftp_root, pki,  # noqa: F401
                      pyftpd, vsftpd_available, vsftpds)
from test_security import Sandbox, bwrap_works  # noqa: F401
from test_upload import TusServer, make_source

S = Bgt.Status
E = Bgt.ErrorStatus
KIB = 1024
MIB = 1024 * KIB
NAME = "half.bin"  # served by nginx and the FTP servers
SIZE = 512 * KIB
RATE = 256 * KIB  # bytes/s: SIZE takes 2 s
TUS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tus")


def settings(**kv):
    return pytest.mark.parametrize("service_settings", [{k.replace("_", "-"): str(v)
                                                         for k, v in kv.items()}], indirect=True,
                                   ids=["settings"])


def engines(*names):
    return pytest.mark.parametrize("engine", names)


# ---- Targets: one engine's server, transfer and result -------------------------------


@pytest.fixture(scope="module")
def half(www, ftp_root):
    """NAME, the same bytes on nginx and on the FTP servers."""
    data = os.urandom(SIZE)
    for root in (www[0], ftp_root.path):
        path = os.path.join(root, NAME)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o644)
    ftp_root.sha[NAME] = sha256_file(os.path.join(www[0], NAME))
    return ftp_root.sha[NAME]


class Target:
    """Where an engine's transfer goes, how to make one and how to check
    its result. proxy: a tcpproxy.Proxy in front of the server (the FTP
    control connection only)."""

    def __init__(self, engine, server, tmp_path, sha, proxy_kw=None):
        self.engine = engine
        self.server = server
        self.tmp_path = tmp_path
        self.sha = sha
        self.kind = "upload" if engine in ("put", "tus") else "download"
        self.proxy = None
        self.made = []
        self.http_prefix = ""
        if proxy_kw is not None:
            self.proxy = Proxy(server.port, **proxy_kw)

    @property
    def port(self):
        return self.proxy.port if self.proxy is not None else self.server.port

    def uri(self, name=NAME):
        if self.engine == "http":
            return f"http://127.0.0.1:{self.port}/{self.http_prefix}{name}"
        if self.engine == "put":
            return f"http://127.0.0.1:{self.port}/dav/{name}"
        if self.engine == "tus":
            return f"http://127.0.0.1:{self.port}/files"
        return f"{self.engine}://127.0.0.1:{self.port}/{name}"

    def create(self, bus, client, size=SIZE, name=None, **options):
        """A transfer; options are D-Bus option values (GLib.Variant)."""
        opts = {"app-id": GLib.Variant("s", client.get_app_id())}
        opts.update(options)
        if self.kind == "download":
            dest = self.tmp_path / f"dl-{len(self.made)}-{NAME}"
            opts["destination"] = GLib.Variant("s", str(dest))
            method, uri = "CreateDownload", self.uri()
            item = dest
        else:
            name = name or f"up-{uuid.uuid4().hex}.bin"
            src = self.tmp_path / name
            sha = make_source(src, size)
            opts["source"] = GLib.Variant("s", str(src))
            if self.engine == "tus":
                opts["protocol"] = GLib.Variant("s", "tus")
            else:
                opts["method"] = GLib.Variant("s", "PUT")
            method, uri = "CreateUpload", self.uri(name)
            item = (name, sha)
        (path,) = bus.call_manager(method, GLib.Variant("(sa{sv})", (uri, opts)),
                                   conn=client.get_connection())
        t = call(client, "get_transfer", path)
        self.made.append((t.get_id(), item))
        return t

    def check(self, t):
        """The transfer completed and its result is byte-identical."""
        ok = finish(t)
        assert ok and t.props.status == S.COMPLETED, \
            f"{t.props.status.value_nick}: {t.props.error_status.value_nick} " \
            f"{t.props.error_message}"
        (item,) = [i for tid, i in self.made if tid == t.get_id()]
        if self.engine in ("http", "ftp", "ftps"):
            assert sha256_file(item) == self.sha
            assert not os.path.exists(str(item) + ".bgtpart")
        elif self.engine == "put":
            name, sha = item
            assert sha256_file(os.path.join(self.server.dav, name)) == sha
        else:
            name, sha = item
            stored = {sha256_file(os.path.join(self.server.dir, f))
                      for f in os.listdir(self.server.dir) if not f.endswith(".json")}
            assert sha in stored, "the tus server holds no upload with the source's bytes"

    def close(self):
        if self.proxy is not None:
            self.proxy.close()


@pytest.fixture
def tus_server(tmp_path):
    if not os.path.isdir(os.path.join(TUS_DIR, "node_modules", "@tus", "server")):
        pytest.fail("needs Node.js and @tus/server (tools/install-deps.sh installs them)")
    server = TusServer(tmp_path)
    yield server
    server.close()


@pytest.fixture
def target(request, tmp_path, half):
    """target(engine, **proxy_kw): a Target on the engine's usual server;
    with proxy_kw (stall_after=None for a plain relay), behind a Proxy."""
    made = []

    def make(engine, **proxy_kw):
        server = {"http": "nginx", "put": "nginx", "tus": "tus_server", "ftp": "pyftpd",
                  "ftps": "vsftpds"}[engine]
        t = Target(engine, request.getfixturevalue(server), tmp_path, half,
                   proxy_kw or None)
        made.append(t)
        return t
    yield make
    for t in made:
        t.close()


def timed_transfer(tg, bus, client, check=True, **kw):
    """Creates a transfer and waits for its end (checking its result);
    returns it and the seconds it took."""
    start = time.monotonic()
    t = tg.create(bus, client, **kw)
    if check:
        tg.check(t)
    else:
        finish(t)
    return t, time.monotonic() - start


def statuses_of(t):
    """The statuses t goes through from now on, starting with its current
    one: a transfer starts at once, and may have changed before we look."""
    seen = [t.props.status]
    t.connect("notify::status", lambda o, p: seen.append(o.props.status))
    return seen


def reactivate(bus, client, t):
    """After a kill -9: the first call D-Bus-activates the service again,
    which re-reads its store and goes on by itself."""
    (again,) = [x for x in call(client, "list_transfers") if x.get_id() == t.get_id()]
    return again


# ---- 1., 2. Rate limits ---------------------------------------------------------------


@engines("http", "put", "tus", "ftps")
def test_max_rate_option_is_respected(engine, target, bus, client):
    tg = target(engine)
    t, elapsed = timed_transfer(tg, bus, client, **{"max-rate": GLib.Variant("t", RATE)})
    floor = SIZE / RATE * 0.8
    assert elapsed >= floor, f"{SIZE} B at max-rate {RATE} B/s took {elapsed:.2f} s"


@engines("http", "put", "tus", "ftps")
@settings(max_download_rate=RATE, max_upload_rate=RATE)
def test_global_rate_limits_are_respected(engine, target, bus, client):
    tg = target(engine)
    t, elapsed = timed_transfer(tg, bus, client)
    floor = SIZE / RATE * 0.8
    assert elapsed >= floor, \
        f"{SIZE} B at max-{tg.kind}-rate {RATE} B/s took {elapsed:.2f} s"


# ---- 3. Per-host connection limit ------------------------------------------------------


@engines("http", "put", "tus", "ftp", "ftps")
@settings(max_connections_per_host=2)
def test_per_host_connection_limit(engine, target, bus, client):
    """Three slow transfers to one host with max-connections-per-host=2:
    never more than two connections at once, counted by a relay in front
    of the server; an FTP transfer takes two (control and data), so FTP
    transfers run one at a time (the relay sees their control
    connections)."""
    tg = target(engine, stall_after=None)
    # nginx sends a file into the socket buffers at once: its /slow/ makes
    # a download hold its connection (the service's own max-rate would
    # not), and the relay sees a connection in use only while bytes pass,
    # so each download must take long enough to overlap another: /slow/
    # sends its first second's worth at once, the rest at 1 MiB/s
    tg.http_prefix = "slow/"
    if engine == "http":
        name = "wide-%d.bin" % os.getpid()
        tg.sha = make_file(os.path.join(tg.server.root, name), 3 * MIB)
        tg.uri = lambda name=name: f"http://127.0.0.1:{tg.port}/slow/{name}"
    # Created stopped, then started together: they would all run at once
    # but for the limit, however slowly this test creates them
    ts = [tg.create(bus, client, **{"max-rate": GLib.Variant("t", 2 * RATE),
                                    "start": GLib.Variant("b", False)}) for _ in range(3)]
    for t in ts:
        t.start_async(None, None)
    for t in ts:
        tg.check(t)
    assert tg.proxy.accepted() >= (3 if engine in ("ftp", "ftps") else 2)
    peak = tg.proxy.peak_concurrency()
    if engine in ("ftp", "ftps"):
        assert peak == 1, f"{peak} FTP control connections at once (each brings a data one)"
    else:
        assert peak == 2, f"{peak} connections at once to one host (limit 2)"


# ---- 4. Connect and response timeouts ---------------------------------------------------


class Silent:
    """Accepts connections, reads what comes and never says a word (no
    HTTP answer, no FTP 220 greeting); records each connection and what
    it received."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = []
        self.received = b""
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                conn, peer = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                self.received += data
        except OSError:
            pass

    def close(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for c in self.accepted:
            c.close()


@engines("put", "tus", "ftp", "ftps")
@settings(connect_timeout=2, response_timeout=2, retry_limit=0)
def test_unanswered_request_times_out(engine, bus, client, tmp_path, half):
    """A server that accepts and never answers: the HTTP request, the
    FTP greeting."""
    silent = Silent()
    try:
        tg = Target(engine, silent, tmp_path, half)
        t, elapsed = timed_transfer(tg, bus, client, check=False, size=64 * KIB)
        assert silent.accepted, "the server never got a connection: the fault did not fire"
        if engine in ("put", "tus"):
            assert silent.received.startswith((b"PUT ", b"POST ")), silent.received[:100]
        assert t.props.status == S.ERROR
        assert t.props.error_status == E.TIMEOUT, \
            f"{t.props.error_status.value_nick}: {t.props.error_message}"
        assert elapsed < 15
    finally:
        silent.close()


# ---- 5. The low-speed watchdog ------------------------------------------------------------

WATCHDOG = settings(connect_timeout=10, response_timeout=10, low_speed_limit=1000,
                    low_speed_time=2)
# A stall must be caught by the low-speed watchdog (2 s), well before the
# 20 s that connect-timeout + response-timeout allow for an answer
CAUGHT_WITHIN = 8


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


@engines("put", "tus")
@WATCHDOG
def test_stalled_upload_is_caught_then_retried(engine, target, bus, client):
    """A relay stops reading the upload's body after 256 KiB: the service
    times out, then a PUT starts again whole, a tus upload goes on from the
    server's offset."""
    tg = target(engine, stall_after=256 * KIB)
    size = 16 * MIB
    t = tg.create(bus, client, size=size)
    seen = statuses_of(t)
    wait_for(tg.proxy.stall_fired.is_set, 30, "the relay to stall the upload")
    stalled_at = time.monotonic()
    wait_for(lambda: S.PAUSED_RECOVERABLE_ERROR in seen or t.props.status == S.ERROR,
             40, "the stall to be noticed")
    caught = time.monotonic() - stalled_at
    tg.proxy.release()
    tg.check(t)
    assert t.props.attempts >= 2
    if engine == "put":
        conns = [c for c in tg.proxy.connections if c.head.startswith(b"PUT")]
        assert conns[-1].upstream_bytes >= size, "the retry sends the body whole"
    else:
        offsets = [int(e["offset"]) for e in tg.server.log
                   if e["method"] == "PATCH" and e["offset"] is not None]
        assert any(o > 0 for o in offsets), f"resumed from the server's offset: {offsets}"
    assert caught < CAUGHT_WITHIN, \
        f"the stalled upload was noticed after {caught:.1f} s (low-speed-time 2 s)"


@engines("ftp", "ftps")
@WATCHDOG
def test_stalled_ftp_data_is_caught_then_resumed(engine, bus, client, tmp_path, ftp_root, pki,
                                                 half):
    """vsftpd's session process is stopped (SIGSTOP) mid-RETR: the data
    stalls; the service times out and resumes with REST on a new session."""
    vsftpd_available()
    name = ftp_root.link("one.bin", f"stall-{engine}.bin")
    server = VsFtpd(ftp_root.path, rate=SLOW_RATE,
                    tls_cert=pki["cert"] if engine == "ftps" else None)
    stopped = []
    try:
        tg = Target(engine, server, tmp_path, ftp_root.sha[name])
        dest = tmp_path / name
        (path,) = bus.call_manager("CreateDownload", GLib.Variant("(sa{sv})", (
            tg.uri(name), {"destination": GLib.Variant("s", str(dest)),
                           "app-id": GLib.Variant("s", client.get_app_id())})),
            conn=client.get_connection())
        t = call(client, "get_transfer", path)
        seen = statuses_of(t)
        wait_for(lambda: t.props.bytes_received >= 256 * KIB, 30, "256 KiB received")
        stopped = descendants(server.proc.pid)
        assert stopped, "no vsftpd session to stop"
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        stalled_at = time.monotonic()
        wait_for(lambda: S.PAUSED_RECOVERABLE_ERROR in seen or t.props.status == S.ERROR,
                 40, "the stall to be noticed")
        caught = time.monotonic() - stalled_at
        assert finish(t), f"{t.props.error_status.value_nick}: {t.props.error_message}"
        assert sha256_file(dest) == ftp_root.sha[name]
        assert t.props.attempts >= 2
        assert_resumed_with_rest(server, name, MIB)
        assert caught < CAUGHT_WITHIN, f"the stall was noticed after {caught:.1f} s"
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        server.close()


# ---- 6., 7. Validators, resume and checkpoints across pause and kill -9 --------------------


def test_plain_put_restarts_whole_after_pause_and_kill9(target, bus, client):
    """A plain PUT has no offset to resume from; after a pause
    and after a kill -9 it is sent again whole, and the server ends up
    with the source's bytes."""
    tg = target("put", stall_after=None)
    size = 2 * MIB
    t = tg.create(bus, client, size=size, **{"max-rate": GLib.Variant("t", 4 * RATE)})

    def puts():
        return [c for c in tg.proxy.connections if c.head.startswith(b"PUT")]
    wait_for(lambda: puts() and puts()[-1].upstream_bytes > 256 * KIB, 30, "256 KiB sent")
    call(t, "pause")
    assert t.props.status == S.PAUSED_BY_APPLICATION
    call(t, "resume")
    wait_for(lambda: len(puts()) >= 2 and puts()[-1].upstream_bytes > 256 * KIB, 30,
             "the PUT to start again")
    bus.kill_service(signal.SIGKILL)
    t = reactivate(bus, client, t)
    tg.check(t)
    sent = [c.upstream_bytes for c in puts()]
    assert len(sent) >= 3, f"PUTs seen: {sent}"
    assert all(b < size for b in sent[:-1]), sent
    assert sent[-1] >= size, "the last PUT carried the whole body"
    assert t.props.bytes_sent == size


def served_bytes(server, name):
    """What vsftpd sent of name, per RETR: its "OK/FAIL DOWNLOAD" lines."""
    out = []
    for line in server.log_lines():
        if "DOWNLOAD:" in line and f'"/{name}"' in line:
            out.append(int(line.rsplit('", ', 1)[1].split(" bytes")[0]))
    return out


CHECKPOINT = 256 * KIB


@engines("ftp", "ftps")
@settings(checkpoint_interval_bytes=CHECKPOINT, checkpoint_interval_ms=200)
def test_ftp_kill9_resumes_and_refetches_at_most_one_checkpoint(engine, bus, client, tmp_path,
                                                                ftp_root, pki, half):
    """Validators (SIZE, MDTM) are recorded at the first response: after a
    kill -9 the service sends REST; vsftpd's log says how many bytes it
    served: beyond the file, at most one checkpoint interval."""
    vsftpd_available()
    name = ftp_root.link("one.bin", f"kill-{engine}.bin")
    server = VsFtpd(ftp_root.path, rate=SLOW_RATE,
                    tls_cert=pki["cert"] if engine == "ftps" else None)
    try:
        dest = tmp_path / name
        scheme = engine
        (path,) = bus.call_manager("CreateDownload", GLib.Variant("(sa{sv})", (
            server.url(name, scheme=scheme), {"destination": GLib.Variant("s", str(dest)),
                                              "app-id": GLib.Variant("s", client.get_app_id())})),
            conn=client.get_connection())
        t = call(client, "get_transfer", path)
        wait_for(lambda: t.props.bytes_received >= MIB // 2, 30, "half of the file")
        bus.kill_service(signal.SIGKILL)
        t = reactivate(bus, client, t)
        assert finish(t), f"{t.props.error_status.value_nick}: {t.props.error_message}"
        assert sha256_file(dest) == ftp_root.sha[name]
        assert_resumed_with_rest(server, name, MIB)
        wait_for(lambda: len(served_bytes(server, name)) >= 2, 20, "vsftpd to log both RETRs")
        served = served_bytes(server, name)
        refetched = sum(served) - MIB
        assert refetched <= CHECKPOINT, \
            f"{refetched} bytes served twice (RETRs: {served}; bound {CHECKPOINT})"
    finally:
        server.close()


@settings(checkpoint_interval_bytes=CHECKPOINT, checkpoint_interval_ms=200)
def test_tus_kill9_resends_at_most_one_checkpoint(target, bus, client):
    """tus: after a kill -9 the upload goes on from the server's offset;
    the relay in front of the server counts what was sent: beyond the
    file (and the requests' headers), at most one checkpoint interval."""
    tg = target("tus", stall_after=None)
    size = 4 * MIB
    t = tg.create(bus, client, size=size, **{"max-rate": GLib.Variant("t", 4 * RATE)})
    wait_for(lambda: sum(c.upstream_bytes for c in tg.proxy.connections) > MIB, 30, "1 MiB sent")
    bus.kill_service(signal.SIGKILL)
    t = reactivate(bus, client, t)
    tg.check(t)
    offsets = [int(e["offset"]) for e in tg.server.log
               if e["method"] == "PATCH" and e["offset"] is not None]
    assert len(offsets) >= 2 and offsets[-1] > 0, f"resumed from the server's offset: {offsets}"
    resent = sum(c.upstream_bytes for c in tg.proxy.connections) - size
    assert resent <= CHECKPOINT, f"{resent} bytes sent beyond the file (bound {CHECKPOINT})"


# ---- 8. Retries and backoff -------------------------------------------------------------

BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 4\r\n"
        b"Connection: close\r\n\r\nbusy")


@engines("put", "tus")
def test_http_upload_503_is_retried(engine, target, bus, client):
    """The first request gets 503 with Retry-After: the upload waits in
    paused-recoverable-error, then completes."""
    tg = target(engine, answer_first=BUSY)
    t = tg.create(bus, client, size=64 * KIB)
    seen = statuses_of(t)
    tg.check(t)
    assert tg.proxy.answered.is_set(), "the 503 was never sent"
    assert S.PAUSED_RECOVERABLE_ERROR in seen
    assert t.props.attempts == 2


def hold_a_session(server):
    """One connection of our own that vsftpd accepted (220), so that with
    max_per_ip=1 the next gets 421."""
    box = []

    def try_once():
        s = socket.create_connection(("127.0.0.1", server.port))
        s.settimeout(5)
        if s.recv(256).startswith(b"220"):
            box.append(s)
            return True
        s.close()
        return False
    wait_for(try_once, 20, "a session of our own")
    return box[0]


@engines("ftp", "ftps")
def test_ftp_421_is_retried(engine, bus, client, tmp_path, ftp_root, pki, half):
    """vsftpd with max_per_ip=1 answers 421 while the test holds a session:
    the download waits in paused-recoverable-error, then completes."""
    vsftpd_available()
    server = VsFtpd(ftp_root.path, tls_cert=pki["cert"] if engine == "ftps" else None,
                    extra="max_per_ip=1\n")
    held = None
    try:
        held = hold_a_session(server)
        mark = server.mark()
        tg = Target(engine, server, tmp_path, half)
        t = tg.create(bus, client)
        seen = statuses_of(t)
        wait_for(lambda: S.PAUSED_RECOVERABLE_ERROR in seen, 20, "a retry to be due")
        assert [r for r in server.responses(since=mark) if r.startswith("421")], \
            "vsftpd never answered 421"
        held.close()
        held = None
        tg.check(t)
        assert t.props.attempts >= 2
    finally:
        if held is not None:
            held.close()
        server.close()


# ---- 9. The local-network rule for sandboxed apps ---------------------------------------------


@engines("put", "tus", "ftps")
def test_sandboxed_app_may_not_reach_a_local_server(bwrap_works, engine, target, bus,  # noqa: F811
                                                    tmp_path):
    """A sandboxed app (not in local-network-apps) names 127.0.0.1: the
    transfer ends in forbidden and the server never sees a connection."""
    tg = target(engine, stall_after=None)
    app = Sandbox(bus, "org.example.SandEngines", str(tmp_path / "app"))
    if engine == "ftps":
        out = tmp_path / "app" / "x"
        path = app.run("create-fd", tg.uri(), str(out))
    else:
        src = tmp_path / "app" / "src.bin"
        make_source(src, 64 * KIB)
        path = app.run("create-upload-fd", tg.uri("sandboxed.bin"), str(src),
                       "PUT", "tus" if engine == "tus" else "plain")
    assert isinstance(path, str) and path.startswith("/org/freedesktop/BackgroundTransfer/"), path
    assert app.run("wait-completed", path) == "error"
    assert app.run("get", path, "ErrorStatus") == "forbidden"
    if engine == "ftps":
        # FTP checks each address before it connects: not even a SYN
        assert tg.proxy.accepted() == 0, "the service connected to the FTP server"
        assert out.read_bytes() == b""
    else:
        # HTTP checks the address once connected, before the request
        # (bt-localnet.c): the server gets not one byte
        sent = [c.upstream_bytes for c in tg.proxy.connections]
        assert not any(sent), f"the service sent {sent} bytes to the server"


# ---- 10. Error mapping (and 8: a permanent error is not retried) ---------------------------


@pytest.mark.parametrize("engine,fault,error", [
    ("put", 404, E.NOT_FOUND), ("put", 401, E.UNAUTHORIZED),
    ("tus", 404, E.NOT_FOUND), ("tus", 401, E.UNAUTHORIZED),
    ("ftps", 550, E.NOT_FOUND), ("ftps", 530, E.UNAUTHORIZED),
], ids=["put-404", "put-401", "tus-404", "tus-401", "ftps-550", "ftps-530"])
def test_permanent_errors_are_mapped_and_not_retried(engine, fault, error, bus, client, tmp_path,
                                                     half, request):
    if engine == "ftps":
        server = request.getfixturevalue("vsftpds")
        mark = server.mark()
        dest = tmp_path / "x"
        d = Bgt.Downloader.new(client)
        if fault == 530:
            d.set_server_credential(PyFtpd.USER, PyFtpd.PASSWORD)  # vsftpd: anonymous only
        name = NAME if fault == 530 else "no-such-file.bin"
        t = call(d, "create_download", server.url(name, scheme="ftps"),
                 Gio.File.new_for_path(str(dest)))
        assert not finish(t)
        assert [r for r in server.responses(since=mark) if r.startswith(str(fault))], \
            f"vsftpd never answered {fault}: {server.responses(since=mark)}"
        assert not dest.exists() and not os.path.exists(str(dest) + ".bgtpart")
    else:
        server = FaultServer()
        try:
            path = "/files" if engine == "tus" else "/dav/x.bin"
            server.route(path, lambda c, r, n: c.respond(fault, b"no"))
            t = Target(engine, server, tmp_path, half).create(bus, client, size=64 * KIB,
                                                              name="x.bin")
            assert not finish(t)
            assert len(server.requests_to(path)) == 1, "a permanent error is not retried"
            assert t.props.http_status == fault
        finally:
            server.close()
    assert t.props.status == S.ERROR
    assert t.props.error_status == error, \
        f"{t.props.error_status.value_nick}: {t.props.error_message}"
    assert t.props.attempts == 1, "a permanent error is not retried"


@engines("put", "tus", "ftp", "ftps")
@settings(retry_limit=0)
def test_refused_port_is_cannot_connect(engine, bus, client, tmp_path, half):
    class Nobody:
        port = free_port()  # bound and closed: nobody listens
    t = Target(engine, Nobody, tmp_path, half).create(bus, client, size=64 * KIB)
    assert not finish(t)
    assert t.props.status == S.ERROR
    assert t.props.error_status == E.CANNOT_CONNECT, \
        f"{t.props.error_status.value_nick}: {t.props.error_message}"


@engines("http", "put", "tus", "ftp", "ftps")
@settings(retry_limit=0)
def test_sandboxed_app_cannot_tell_open_local_ports_from_closed(bwrap_works, engine, bus,  # noqa: F811
                                                                tmp_path, half):
    """The local-network rule refuses before connecting: a sandboxed app
    gets forbidden for a local port that listens and for one that does not,
    so it cannot scan this machine's ports through the service."""
    app = Sandbox(bus, "org.example.SandScan", str(tmp_path / "app"))
    src = tmp_path / "app" / "src.bin"
    make_source(src, 4 * KIB)
    listening = Silent()
    try:
        class Closed:
            port = free_port()  # bound and closed: nobody listens
        seen = {}
        for label, server in (("listening", listening), ("closed", Closed)):
            tg = Target(engine, server, tmp_path, half)
            if tg.kind == "download":
                path = app.run("create-fd", tg.uri(), str(tmp_path / "app" / label))
            else:
                path = app.run("create-upload-fd", tg.uri(label), str(src), "PUT",
                               "tus" if engine == "tus" else "plain")
            assert app.run("wait-completed", path) == "error"
            seen[label] = app.run("get", path, "ErrorStatus")
        assert seen == {"listening": "forbidden", "closed": "forbidden"}, seen
        assert listening.accepted == [], "the service connected to a local port"
    finally:
        listening.close()


@engines("http", "put", "tus", "ftp", "ftps")
@settings(retry_limit=0)
def test_portal_transfer_cannot_reach_a_local_server(engine, bus, tmp_path, half):
    """The third kind of caller: a transfer the portal backend creates for
    a sandboxed app obeys the app's local-network rule in every engine —
    forbidden, and not one connection reaches the local server."""
    from test_portal import Caller
    frontend = Caller(bus, own_frontend_name=True)
    app_id = "org.example.PortalEngines"
    listening = Silent()
    try:
        tg = Target(engine, listening, tmp_path, half)
        if tg.kind == "download":
            fd = os.open(tmp_path / "x", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            kind, opts = "Download", {"destination-fd": GLib.Variant("h", 0)}
        else:
            src = tmp_path / "src.bin"
            make_source(src, 4 * KIB)
            fd = os.open(src, os.O_RDONLY)
            kind, opts = "Upload", {"source-fd": GLib.Variant("h", 0),
                                    "method": GLib.Variant("s", "PUT"),
                                    "protocol": GLib.Variant("s",
                                                             "tus" if engine == "tus" else "plain")}
        try:
            path = frontend.create(kind, app_id, tg.uri(), opts, [fd])["transfer"]
        finally:
            os.close(fd)

        def state():
            return frontend.transfers(app_id).get(path, {})
        wait_for(lambda: state().get("Status") == "error", 20, "the refusal")
        assert state()["ErrorStatus"] == "forbidden", state()
        assert listening.accepted == [], "the service connected to a local port"
        if tg.kind == "download":
            assert (tmp_path / "x").read_bytes() == b""
    finally:
        listening.close()
