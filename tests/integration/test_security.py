# test_security.py: isolation of apps, sandboxed callers, secrets, files, headers
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# FAULTS C1–C3, C5–C8, X1–X6. Sandboxed apps run for real under bwrap with a
# .flatpak-info of their own, which the service reads through
# /proc/PID/root as xdg-desktop-portal does.

import json
import os
import signal
import subprocess

import bgtharness
import pytest
from bgtharness import BUILDDIR, SRCDIR, Bgt, GLib, Gio, ServiceBus, call, sha256_file, wait_for
from faultserver import FaultServer

HERE = os.path.dirname(os.path.abspath(__file__))
SENTINEL_PASSWORD = "SENTINEL-PASSWORD-8d1f0c"
SENTINEL_TOKEN = "SENTINEL-TOKEN-5be2a7"
SENTINEL_COOKIE = "SENTINEL-COOKIE-41c9e3"


class _Raises:
    def __init__(self, code):
        self.code = code

    def __enter__(self):
        return self

    def __exit__(self, typ, value, tb):
        assert typ is not None, f"expected {self.code.value_nick}"
        assert isinstance(value, GLib.Error) and value.matches(Bgt.error_quark(), self.code), \
            f"expected {self.code.value_nick}, got {value}"
        self.error = value
        return True


# ---- Sandboxed apps ------------------------------------------------------------


class Sandbox:
    """An app in a bwrap sandbox, identified by its .flatpak-info."""

    def __init__(self, bus, app_id, workdir, network=True):
        self.bus = bus
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.info = os.path.join(workdir, "flatpak-info")
        shared = "network;ipc;" if network else "ipc;"
        with open(self.info, "w") as f:
            f.write(f"[Application]\nname={app_id}\nruntime=runtime/org.example.Platform/x86_64/1\n"
                    f"\n[Context]\nshared={shared}\n")

    def run(self, *args):
        argv = ["bwrap", "--unshare-pid", "--die-with-parent",
                "--tmpfs", "/",
                "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
                "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
                "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                "--proc", "/proc", "--dev", "/dev",
                "--ro-bind", SRCDIR, SRCDIR,
                "--ro-bind", BUILDDIR, BUILDDIR,
                "--bind", self.bus.dir, self.bus.dir,
                "--bind", self.workdir, self.workdir,
                "--ro-bind", self.info, "/.flatpak-info",
                "--", "/usr/bin/python3", os.path.join(HERE, "sandboxed_client.py"), *args]
        r = subprocess.run(argv, env=self.bus.env, capture_output=True, text=True, timeout=90)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)


@pytest.fixture(scope="module")
def bwrap_works(tmp_path_factory):
    bgtharness.require_tool("bwrap", "needs bubblewrap")
    r = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-pid", "true"],
                       capture_output=True, text=True)
    bgtharness.require(r.returncode == 0, f"bwrap cannot run here: {r.stderr.strip()}")


def is_error(result, name):
    return isinstance(result, dict) and result.get("error", "").endswith(name)


# The test servers are on loopback: the sandboxed apps that download here are
# granted the local network (test_x3… checks the refusal)
LOCAL_OK = pytest.mark.parametrize(
    "service_settings", [{"local-network-apps": "['org.example.SandA']"}], indirect=True)


@LOCAL_OK
def test_a_sandboxed_app_giving_an_option_twice_is_refused(bwrap_works, bus, nginx, tmp_path):
    """destination-fd twice: which file would be written is a guess;
    refused, nothing created, neither file written"""
    a = Sandbox(bus, "org.example.SandA", str(tmp_path / "a"))
    first, second = tmp_path / "a" / "one", tmp_path / "a" / "two"
    refused = a.run("create-fd-twice", nginx.url("small.txt"), str(first), str(second))
    assert is_error(refused, "InvalidArgument"), refused
    assert a.run("list") == []
    assert first.stat().st_size == 0 and second.stat().st_size == 0


@LOCAL_OK
def test_sandboxed_apps_are_isolated(bwrap_works, bus, nginx, tmp_path):
    a = Sandbox(bus, "org.example.SandA", str(tmp_path / "a"))
    b = Sandbox(bus, "org.example.SandB", str(tmp_path / "b"))
    host = bus.client("org.example.Host")

    # A downloads into a file it opened itself; that is the only way it may
    # name a file
    path_a = a.run("create-fd", nginx.url("slow/medium.bin"), str(tmp_path / "a" / "out.bin"))
    assert isinstance(path_a, str) and path_a.startswith("/org/freedesktop/BackgroundTransfer/")
    refused = a.run("create-path", nginx.url("small.txt"), str(tmp_path / "a" / "by-path"))
    assert is_error(refused, "AccessDenied") or is_error(refused, "InvalidArgument"), refused
    assert not (tmp_path / "a" / "by-path").exists()
    # Declaring another app id does not make it someone else
    assert a.run("list") == [path_a]

    # B and the host app see nothing of A, and can do nothing to it
    assert b.run("list") == []
    assert [t.get_object_path() for t in call(host, "list_transfers")] == []
    for method in ("Pause", "Resume", "Cancel", "Remove", "Start", "OpenResult"):
        assert is_error(b.run("call", path_a, method), "AccessDenied"), method
    for prop in ("Uri", "BytesReceived", "Destination", "Status"):
        assert is_error(b.run("get", path_a, prop), "AccessDenied"), prop
    assert is_error(b.run("getall", path_a), "AccessDenied")
    assert path_a.rsplit("/", 1)[1] not in b.run("introspect",
                                                  "/org/freedesktop/BackgroundTransfer/transfer")
    with _Raises(Bgt.Error.ACCESS_DENIED):
        call(host, "get_transfer", path_a)

    # A itself can, and its download completes into its own file
    assert "Uri" in a.run("getall", path_a)
    assert path_a.rsplit("/", 1)[1] in a.run("introspect",
                                              "/org/freedesktop/BackgroundTransfer/transfer")
    assert a.run("wait-completed", path_a) == "completed"
    assert sha256_file(tmp_path / "a" / "out.bin") == nginx.files["medium.bin"]


@LOCAL_OK
def test_x3_sandboxed_app_may_not_reach_the_local_network(bwrap_works, bus, nginx, tmp_path):
    """A sandboxed app must not use the service to reach this machine's own
    services or the local network, unless the user granted it; host apps
    and granted apps may."""
    denied = Sandbox(bus, "org.example.SandB", str(tmp_path / "b"))
    granted = Sandbox(bus, "org.example.SandA", str(tmp_path / "a"))
    path = denied.run("create-fd", nginx.url("small.txt"), str(tmp_path / "b" / "x"))
    assert denied.run("wait-completed", path) == "error"
    assert denied.run("get", path, "ErrorStatus") == "forbidden"
    assert (tmp_path / "b" / "x").read_bytes() == b"", "nothing was fetched"
    ok = granted.run("create-fd", nginx.url("small.txt"), str(tmp_path / "a" / "x"))
    assert granted.run("wait-completed", ok) == "completed"
    host = bus.client("org.example.Host")
    t = call(Bgt.Downloader.new(host), "create_download", nginx.url("small.txt"),
             Gio.File.new_for_path(str(tmp_path / "host.txt")))
    assert call(t, "wait")


def test_sandboxed_app_without_network_is_refused(bwrap_works, bus, nginx, tmp_path):
    offline = Sandbox(bus, "org.example.NoNetwork", str(tmp_path / "n"), network=False)
    result = offline.run("create-fd", nginx.url("small.txt"), str(tmp_path / "n" / "x"))
    assert is_error(result, "AccessDenied"), result
    assert is_error(offline.run("list"), "AccessDenied")


def test_signals_reach_only_the_owner(bus, nginx, dest_dir):
    owner = bus.client("org.example.Owner")
    spy = bus.connect()  # any other app on the bus, listening to everything it may
    spied = []
    spy.signal_subscribe("org.freedesktop.BackgroundTransfer", None, None, None, None,
                         Gio.DBusSignalFlags.NONE, lambda *a: spied.append(a[4]))
    spy.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                  "AddMatch", GLib.Variant("(s)", ("type='signal'",)), None,
                  Gio.DBusCallFlags.NONE, -1, None)
    t = call(Bgt.Downloader.new(owner), "create_download", nginx.url("slow/medium.bin"),
             Gio.File.new_for_path(str(dest_dir / "m.bin")))
    seen = []
    t.connect("notify::bytes-received", lambda o, p: seen.append(o.props.bytes_received))
    wait_for(lambda: len(seen) >= 3, 20, "the owner to hear progress")
    call(t, "cancel")
    assert spied == [], f"another connection heard {spied}"


# ---- Secrets -----------------------------------------------------------------------


def digest_handler(realm="bgt", user="alice", password=SENTINEL_PASSWORD, body=b"digest ok"):
    """RFC 7616 Digest (MD5, qop=auth) done by hand."""
    import hashlib

    def md5(s):
        return hashlib.md5(s.encode()).hexdigest()

    nonce = "6e0d3a51b8"

    def handler(conn, req, n):
        auth = req.header("authorization") or ""
        if auth.startswith("Digest "):
            fields = {}
            for part in auth[7:].split(","):
                k, _, v = part.strip().partition("=")
                fields[k] = v.strip('"')
            ha1 = md5(f"{user}:{realm}:{password}")
            ha2 = md5(f"{req.method}:{fields.get('uri')}")
            expected = md5(f"{ha1}:{nonce}:{fields.get('nc')}:{fields.get('cnonce')}:auth:{ha2}")
            if fields.get("username") == user and fields.get("response") == expected:
                conn.respond(200, body)
                return
        conn.respond(401, b"who are you", [
            ("WWW-Authenticate", f'Digest realm="{realm}", nonce="{nonce}", qop="auth", '
                                 'algorithm=MD5')])
    return handler


def basic_handler(user="alice", password=SENTINEL_PASSWORD, body=b"basic ok"):
    import base64
    good = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def handler(conn, req, n):
        if req.header("authorization") == good:
            conn.respond(200, body)
        else:
            conn.respond(401, b"who are you", [("WWW-Authenticate", 'Basic realm="bgt"')])
    return handler


@pytest.fixture
def keyring_bus(tmp_path):
    bgtharness.require_tool("gnome-keyring-daemon", "needs gnome-keyring")
    svc = ServiceBus(tmpdir=str(tmp_path / "session"), keyring=True)
    yield svc
    svc.close()


def test_secrets_never_rest_in_clear(keyring_bus, tmp_path):
    server = FaultServer()
    monitor = subprocess.Popen(["dbus-monitor", "--address", keyring_bus.address],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        server.route("/basic", basic_handler())
        server.route("/digest", digest_handler())
        server.route("/token", lambda c, r, n: c.respond(
            200 if r.header("authorization") == f"Bearer {SENTINEL_TOKEN}"
            and r.header("cookie") == f"s={SENTINEL_COOKIE}" else 403, b"token ok"))
        client = keyring_bus.client("org.example.Secrets")
        out = tmp_path / "out"
        out.mkdir()

        def fetch(path, **how):
            d = Bgt.Downloader.new(client)
            if "credential" in how:
                d.set_server_credential(*how["credential"])
            for name, value in how.get("headers", {}).items():
                d.set_request_header(name, value)
            t = call(d, "create_download", server.url(path), Gio.File.new_for_path(str(out / path)))
            assert call(t, "wait"), t.props.error_message
            return t

        basic = fetch("basic", credential=("alice", SENTINEL_PASSWORD))
        digest = fetch("digest", credential=("alice", SENTINEL_PASSWORD))
        token = fetch("token", headers={"Authorization": f"Bearer {SENTINEL_TOKEN}",
                                        "Cookie": f"s={SENTINEL_COOKIE}"})
        assert (out / "basic").read_bytes() == b"basic ok"
        assert (out / "digest").read_bytes() == b"digest ok"
        assert (out / "token").read_bytes() == b"token ok"

        # Write-only: nothing reads the secrets back over the bus
        for t in (basic, digest, token):
            props = client.get_connection().call_sync(
                "org.freedesktop.BackgroundTransfer", t.get_object_path(),
                "org.freedesktop.DBus.Properties", "GetAll",
                GLib.Variant("(s)", ("org.freedesktop.BackgroundTransfer.Transfer",)), None,
                Gio.DBusCallFlags.NONE, -1, None)
            text = str(props.unpack())
            for sentinel in (SENTINEL_PASSWORD, SENTINEL_TOKEN, SENTINEL_COOKIE):
                assert sentinel not in text

        # A restart finds them in the keyring: a transfer that needs them
        # again after a crash still authenticates
        again = Bgt.Downloader.new(client)
        again.set_server_credential("alice", SENTINEL_PASSWORD)
        again.set_start(False)
        later = call(again, "create_download", server.url("basic"),
                     Gio.File.new_for_path(str(out / "later")))
        keyring_bus.kill_service()
        client = keyring_bus.client("org.example.Secrets")
        later = call(client, "get_transfer", later.get_id())
        call(later, "start")
        assert call(later, "wait"), later.props.error_message
        assert (out / "later").read_bytes() == b"basic ok"

        # Removing a transfer removes its secrets from the keyring
        def in_keyring(transfer_id):
            r = subprocess.run(["secret-tool", "search", "transfer", transfer_id],
                               env=keyring_bus.env, capture_output=True, text=True, timeout=30)
            return transfer_id in r.stdout + r.stderr
        # Done with them: a completed transfer's secrets leave the keyring
        wait_for(lambda: not in_keyring(later.get_id()), 10, "the secret to be cleared")
        # A failed one keeps them (the app may fix the URI and resume)
        # until it is removed
        failing = Bgt.Downloader.new(client)
        failing.set_server_credential("alice", SENTINEL_PASSWORD)
        failed = call(failing, "create_download", server.url("missing"),
                      Gio.File.new_for_path(str(out / "missing")))
        with pytest.raises(GLib.Error):
            call(failed, "wait")
        assert in_keyring(failed.get_id())
        call(failed, "remove")
        wait_for(lambda: not in_keyring(failed.get_id()), 10, "the secret to be cleared")
    finally:
        server.close()
        keyring_bus.close()
        monitor.terminate()
    capture = monitor.communicate(timeout=10)[0]

    # Nowhere at rest: state, config, runtime, the service's log
    def grep_tree(root):
        hits = []
        for dirpath, _, files in os.walk(root):
            for name in files:
                p = os.path.join(dirpath, name)
                try:
                    data = open(p, "rb").read()
                except OSError:
                    continue
                for sentinel in (SENTINEL_PASSWORD, SENTINEL_TOKEN, SENTINEL_COOKIE):
                    if sentinel.encode() in data:
                        hits.append((p, sentinel))
        return hits

    assert grep_tree(keyring_bus.dir) == []
    # On the bus only in the calls that hand them over: the app's
    # CreateDownload and the service's CreateItem to the keyring
    messages = capture.split(b"\nmethod call")
    assert any(SENTINEL_PASSWORD.encode() in m for m in messages), "the capture saw nothing"
    for m in messages:
        for sentinel in (SENTINEL_PASSWORD, SENTINEL_TOKEN, SENTINEL_COOKIE):
            if sentinel.encode() in m:
                head = m[:300]
                assert b"member=CreateDownload" in head or b"member=CreateItem" in head, head


def test_credentials_in_the_uri_are_refused(bus, client, tmp_path):
    with _Raises(Bgt.Error.INVALID_ARGUMENT) as r:
        call(Bgt.Downloader.new(client), "create_download",
             f"http://alice:{SENTINEL_PASSWORD}@127.0.0.1:9/x",
             Gio.File.new_for_path(str(tmp_path / "x")))
    assert SENTINEL_PASSWORD not in r.error.message
    assert SENTINEL_PASSWORD not in bus.service_log()


# ---- Files -------------------------------------------------------------------------


def test_symlinked_destination_is_not_followed(client, nginx, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    d = tmp_path / "d"
    d.mkdir()
    (d / "link").symlink_to(victim)
    try:
        t = call(Bgt.Downloader.new(client), "create_download", nginx.url("small.txt"),
                 Gio.File.new_for_path(str(d / "link")))
        ok = call(t, "wait")
    except GLib.Error:
        ok = False
    assert not ok
    assert victim.read_text() == "precious"
    assert (d / "link").is_symlink()


def test_planted_partial_symlink_is_not_followed(client, nginx, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    d = tmp_path / "d"
    d.mkdir()
    (d / "file.bgtpart").symlink_to(victim)
    try:
        t = call(Bgt.Downloader.new(client), "create_download", nginx.url("small.txt"),
                 Gio.File.new_for_path(str(d / "file")))
        call(t, "wait")
    except GLib.Error:
        pass
    assert victim.read_text() == "precious"


def test_symlink_swapped_in_during_the_download(client, nginx, tmp_path):
    """FAULTS X4: while the download runs, a racing thread keeps replacing
    the final name and the partial file (atomically, by rename) with
    symlinks to a victim: the service never writes through them."""
    import threading
    victim = tmp_path / "victim"
    victim.write_text("precious")
    victim_inode = victim.stat().st_ino
    d = tmp_path / "d"
    d.mkdir()
    final = d / "race.bin"
    part = d / "race.bin.bgtpart"
    stop = threading.Event()
    swaps = []

    def swapper():
        link = d / ".swap"
        while not stop.is_set():
            for target in (part, final):
                try:
                    os.symlink(victim, link)
                    os.rename(link, target)  # over the real file, if any
                    swaps.append(target.name)
                except OSError:
                    pass
    t = call(Bgt.Downloader.new(client), "create_download", nginx.url("slow/medium.bin"),
             Gio.File.new_for_path(str(final)))
    # The race starts once the download really runs into its partial file
    wait_for(lambda: t.props.bytes_received > 0 and part.exists(), 20, "the download to run")
    th = threading.Thread(target=swapper, daemon=True)
    th.start()
    try:
        wait_for(lambda: len(swaps) > 100, 10, "the swapper to race")
        received = t.props.bytes_received
        assert t.props.status == Bgt.Status.RUNNING, "the race ran while the download did"
        try:
            call(t, "wait")
        except GLib.Error:
            pass
    finally:
        stop.set()
        th.join()
    assert "race.bin.bgtpart" in swaps and "race.bin" in swaps
    assert received < 4 * 1024 * 1024, "swapping began before the data was all there"
    assert victim.read_text() == "precious"
    assert victim.stat().st_ino == victim_inode and not victim.is_symlink()


@pytest.mark.parametrize("path", ["{d}/../escape", "{d}/./x", "{d}//x/..", "{d}/sub/../x"])
def test_dot_segments_in_paths_are_refused(bus, client, tmp_path, path):
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    options = {"destination": GLib.Variant("s", path.format(d=d)),
               "app-id": GLib.Variant("s", client.get_app_id())}
    with pytest.raises(GLib.Error) as e:
        bus.call_manager("CreateDownload", GLib.Variant("(sa{sv})", ("http://127.0.0.1:9/", options)),
                         conn=client.get_connection())
    assert "InvalidArgument" in e.value.message
    assert sorted(os.listdir(tmp_path)) == ["d", "session"] or "escape" not in os.listdir(tmp_path)


@pytest.mark.parametrize("opener", ["rdonly", "directory", "fifo", "devzero"])
def test_bad_destination_fds_are_refused(client, nginx, tmp_path, opener):
    if opener == "rdonly":
        (tmp_path / "r").write_text("")
        fd = os.open(tmp_path / "r", os.O_RDONLY)
    elif opener == "directory":
        fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    elif opener == "fifo":
        os.mkfifo(tmp_path / "fifo")
        fd = os.open(tmp_path / "fifo", os.O_RDWR)
    else:
        fd = os.open("/dev/zero", os.O_WRONLY)
    try:
        with _Raises(Bgt.Error.INVALID_ARGUMENT):
            call(Bgt.Downloader.new(client), "create_download_for_fd", nginx.url("small.txt"), fd)
    finally:
        os.close(fd)


# ---- Headers, schemes, malformed calls, quotas ----------------------------------------


@pytest.mark.parametrize("name,value", [
    ("X-Ok", "a\r\nInjected: yes"), ("X-Ok", "a\nb"), ("X-Ok", "cr\ronly"),
    ("Bad Name", "v"), ("Bad:Name", "v"), ("", "v"),
    ("Host", "evil.example"), ("Content-Length", "0"), ("Transfer-Encoding", "chunked"),
    ("Connection", "close"), ("Upgrade", "h2c"), ("TE", "trailers"), ("Trailer", "x"),
    ("Keep-Alive", "1"), ("Range", "bytes=0-"), ("If-Range", '"x"'),
    pytest.param("X-Big", "v" * (1 << 20), id="one-MiB-value"),
])
def test_bad_headers_are_refused(bus, client, tmp_path, name, value):
    options = {"destination": GLib.Variant("s", str(tmp_path / "h")),
               "headers": GLib.Variant("a(ss)", [(name, value)]),
               "app-id": GLib.Variant("s", client.get_app_id())}
    with pytest.raises(GLib.Error) as e:
        bus.call_manager("CreateDownload", GLib.Variant("(sa{sv})", ("http://127.0.0.1:9/", options)),
                         conn=client.get_connection())
    assert "InvalidArgument" in e.value.message or \
        e.value.matches(Bgt.error_quark(), Bgt.Error.INVALID_ARGUMENT)
    assert not (tmp_path / "h").exists()
    assert bus.service_running()


@pytest.mark.parametrize("uri", ["", "http://[::1", "http://exa mple.org/", "javascript:alert(1)",
                                 "HtTp://127.0.0.1:9/x",
                                 pytest.param("http://127.0.0.1:9/" + "a" * 5000, id="5000-chars"),
                                 "file:///etc/passwd", "data:,x"])
def test_c1_bad_uris(bus, client, tmp_path, uri):
    options = {"destination": GLib.Variant("s", str(tmp_path / "u")),
               "app-id": GLib.Variant("s", client.get_app_id())}
    try:
        bus.call_manager("CreateDownload", GLib.Variant("(sa{sv})", (uri, options)),
                         conn=client.get_connection())
        accepted = True
    except GLib.Error as e:
        accepted = False
        assert "InvalidArgument" in e.message or "UnsupportedScheme" in e.message, e.message
    # A mixed-case scheme is a scheme: the only one allowed to pass
    assert accepted == uri.startswith("HtTp://")


def test_c7_malformed_calls_leave_the_service_standing(bus, client):
    conn = client.get_connection()
    call(client, "list_transfers")
    pid = bus.service_pid()  # the process that must survive every call
    bad = [
        ("CreateDownload", GLib.Variant("(s)", ("http://127.0.0.1:9/",))),
        ("CreateDownload", GLib.Variant("(sa{sv})", ("http://127.0.0.1:9/", {
            "destination-fd": GLib.Variant("h", 7)}))),  # no fd list
        ("CreateDownload", GLib.Variant("(sa{sv})", ("http://127.0.0.1:9/", {
            "destination": GLib.Variant("u", 3)}))),  # wrong type
        ("GetTransfers", GLib.Variant("(a{sv})", ({
            "status": GLib.Variant("as", ["'; DROP TABLE transfers; --"] * 10000)},))),
        ("GetTransfers", GLib.Variant("(a{sv})", ({"status": GLib.Variant("s", "running")},))),
        ("ConfigureGroup", GLib.Variant("(sa{sv})", ("", {}))),
    ]
    for method, args in bad:
        try:
            result = bus.call_manager(method, args, conn=conn)
        except GLib.Error as e:
            # A D-Bus error, typed; NoReply would be a crash
            assert "org.freedesktop" in e.message and "NoReply" not in e.message, e.message
        else:
            assert method == "GetTransfers" and result == ([],), (method, result)
        assert bus.service_pid() == pid, f"the service died on {method}"
    bus.assert_alive()
    assert list(call(client, "list_transfers")) == []
    assert bus.service_pid() == pid


@pytest.mark.parametrize("service_settings", [{"max-transfers-per-app": "5"}], indirect=True)
def test_c8_quota_per_app(bus, tmp_path):
    greedy = bus.client("org.example.Greedy")
    other = bus.client("org.example.Modest")

    def create(client, i):
        d = Bgt.Downloader.new(client)
        d.set_start(False)
        return call(d, "create_download", f"http://127.0.0.1:9/{i}",
                    Gio.File.new_for_path(str(tmp_path / f"{client.get_app_id()}-{i}")))

    for i in range(5):
        create(greedy, i)
    with _Raises(Bgt.Error.QUOTA_EXCEEDED):
        create(greedy, 5)
    # Another app still gets service
    assert create(other, 0).props.status == Bgt.Status.IDLE


@pytest.mark.parametrize("service_settings", [{"max-transfers-per-app": "100000"}], indirect=True)
def test_c8_a_flood_of_calls_does_not_starve_another_app(bus, tmp_path):
    """With the store's flushes held back (nothing can be answered), one app
    fires 360 creations at once: the first 256 wait for their answers, the
    rest are told to wait at once, and another app's creation is still
    taken. Once the flushes go on, every waiting call is answered and the
    flooder is served again.

    The hold, not the service's speed, piles the calls up: however slowly a
    loaded machine (or ASan, or valgrind) reads them, none is answered
    before the hold ends."""
    flooder = [bus.connect() for _ in range(3)]
    modest = bus.client("org.example.Modest")
    for conn in flooder:
        bus.call_manager("GetTransfers", GLib.Variant("(a{sv})", ({
            "app-id": GLib.Variant("s", "org.example.Flood")},)), conn=conn)
    pid = bus.service_pid()
    results = []

    def done(conn, result):
        try:
            conn.call_finish(result)
            results.append("ok")
        except GLib.Error as e:
            results.append(e.message)

    def refused():
        return [r for r in results if "in flight" in r]

    tracer = bgtharness.Strace(pid, "-e", "trace=fsync,fdatasync",
                               "-e", "inject=fsync,fdatasync:delay_enter=600000000")
    try:
        # The whole flood waits in the bus while the service is stopped, so
        # that it arrives at once however slowly this test sends it
        os.kill(pid, signal.SIGSTOP)
        try:
            for c, conn in enumerate(flooder):
                for i in range(120):  # under the bus's 128 pending replies a connection
                    conn.call("org.freedesktop.BackgroundTransfer",
                              "/org/freedesktop/BackgroundTransfer",
                              "org.freedesktop.BackgroundTransfer.Manager", "CreateDownload",
                              GLib.Variant("(sa{sv})", (f"http://127.0.0.1:9/{c}-{i}", {
                                  "destination": GLib.Variant("s", str(tmp_path / f"f{c}-{i}")),
                                  "start": GLib.Variant("b", False)})),
                              GLib.VariantType("(o)"), Gio.DBusCallFlags.NONE, 600000, None,
                              done)
            for conn in flooder:
                conn.flush_sync(None)
        finally:
            os.kill(pid, signal.SIGCONT)
        # Every call past the 256th is told to wait, while the first flush
        # is held: none of the 256 could be answered meanwhile
        wait_for(lambda: len(refused()) == 360 - 256, 300, "the calls past 256 to be refused")
        tracer.wait_line("sync(")
        assert results == refused(), results
        # Another app is not starved: its creation is taken (it waits for
        # the same flush as the flood's)
        modest_box = []
        d = Bgt.Downloader.new(modest)
        d.set_start(False)
        d.create_download_async("http://127.0.0.1:9/modest",
                                Gio.File.new_for_path(str(tmp_path / "modest")), None,
                                lambda o, r: modest_box.append(r))
        # The flushes go on
        tracer.release()
    finally:
        tracer.close()
    wait_for(lambda: len(results) == 360 and modest_box, 300, "every call answered")
    t = d.create_download_finish(modest_box[0])
    assert t.props.status == Bgt.Status.IDLE
    print(f"\nflood: {results.count('ok')} created, {len(refused())} told to wait")
    assert results.count("ok") == 256
    # Answered calls stop counting (an answered call used to stay alive —
    # and counted — for ever): the flooder is served again
    (path,) = bus.call_manager("CreateDownload", GLib.Variant("(sa{sv})", (
        "http://127.0.0.1:9/after", {"destination": GLib.Variant("s", str(tmp_path / "after")),
                                     "start": GLib.Variant("b", False)})), conn=flooder[0])
    assert path.startswith("/org/freedesktop/BackgroundTransfer/transfer/")


def test_proxy_from_the_environment_with_credentials(tmp_path):
    """The system proxy (GProxyResolver: here http_proxy in the service's
    environment) is used, and proxy credentials answer its 407."""
    import base64
    proxy = FaultServer()
    good = "Basic " + base64.b64encode(f"pat:{SENTINEL_PASSWORD}".encode()).decode()

    def handler(conn, req, n):
        if not req.target.startswith("http://"):
            conn.respond(400, b"not a proxy request")
        elif req.header("proxy-authorization") != good:
            conn.respond(407, b"who are you", [("Proxy-Authenticate", 'Basic realm="proxy"')])
        else:
            conn.respond(200, b"via the proxy")
    proxy.route("/through-proxy", handler)
    bus = ServiceBus(tmpdir=str(tmp_path / "s"),
                     env={"http_proxy": proxy.url(""), "HTTP_PROXY": proxy.url(""),
                          "no_proxy": "", "NO_PROXY": ""})
    try:
        client = bus.client("org.example.Proxied")
        dest = tmp_path / "p.txt"
        (path,) = bus.call_manager("CreateDownload", GLib.Variant("(sa{sv})", (
            "http://example.invalid/through-proxy", {
                "destination": GLib.Variant("s", str(dest)),
                "proxy-credential": GLib.Variant("a{sv}", {
                    "username": GLib.Variant("s", "pat"),
                    "password": GLib.Variant("s", SENTINEL_PASSWORD)}),
                "app-id": GLib.Variant("s", "org.example.Proxied")})),
            conn=client.get_connection())
        t = call(client, "get_transfer", path)
        assert call(t, "wait"), t.props.error_message
        assert dest.read_bytes() == b"via the proxy"
        reqs = proxy.requests_to("/through-proxy")
        assert reqs[0].target == "http://example.invalid/through-proxy"
        assert reqs[-1].header("proxy-authorization") == good
        assert SENTINEL_PASSWORD not in bus.service_log()
    finally:
        bus.close()
        proxy.close()


def test_c5_two_transfers_to_one_destination(client, nginx, tmp_path):
    """The second is refused or fails; never two writers in one file."""
    dest = tmp_path / "same.bin"
    first = call(Bgt.Downloader.new(client), "create_download", nginx.url("slow/medium.bin"),
                 Gio.File.new_for_path(str(dest)))
    try:
        second = call(Bgt.Downloader.new(client), "create_download", nginx.url("small.txt"),
                      Gio.File.new_for_path(str(dest)))
        with pytest.raises(GLib.Error):
            call(second, "wait")
    except GLib.Error:
        pass
    assert call(first, "wait")
    assert sha256_file(dest) == nginx.files["medium.bin"]


@pytest.mark.parametrize("kind", ["fifo", "directory", "garbage"])
def test_x2_unreadable_sandbox_metadata_fails_closed(bwrap_works, bus, nginx, tmp_path, kind):
    box = Sandbox(bus, "org.example.Odd", str(tmp_path / "o"))
    os.unlink(box.info)
    if kind == "fifo":
        os.mkfifo(box.info)
    elif kind == "directory":
        os.mkdir(box.info)
    else:
        with open(box.info, "w") as f:
            f.write("[Application\nname=\n")
    result = box.run("list")
    assert is_error(result, "AccessDenied"), result
