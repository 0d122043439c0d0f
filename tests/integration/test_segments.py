# test_segments.py: segmented, mirrored and random-access downloads
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# docs/contract.md, "Segmented, mirrored and random-access downloads" (issue 12).
# What the servers saw is the proof: nginx's access log gives each
# request's Range, If-Range, what it sent and when it ran (so which ran at
# once); the fault server records every request and the faults it fired.
# Nothing here asserts a speed; a rate limit is checked as a lower bound on
# the time a download takes, as test_engines.py does.

import os
import random
import shutil
import signal
import tempfile
import time

import bgtharness
import pytest
from bgtharness import (BUS_NAME, TRANSFER_IFACE, Bgt, GLib, Gio, MockNetworkManager, ServiceBus,
                        SystemBus, call, make_file, sha256_file, wait_for)
from faultserver import FaultServer, payload

S = Bgt.Status
E = Bgt.ErrorStatus
MIB = 1024 * 1024
APP = "org.example.Segments"
SIZE = 64 * MIB
CHECKPOINT = 4 * MIB  # checkpoint-interval-bytes, the default

# When each request ended and how long it ran, what it asked and what it got
LOG = ("'$msec $request_time $request_method $uri $status range=\"$http_range\" "
       "if_range=\"$http_if_range\" sent=$body_bytes_sent'")


class Request:
    """One line of the access log: [start, end] in seconds, the range asked
    ([first, last + 1), last None when open-ended) and the bytes sent."""

    def __init__(self, line):
        fields = line.split()
        self.end = float(fields[0])
        self.start = self.end - float(fields[1])
        self.uri = fields[3]
        self.status = int(fields[4])
        self.range = line.split('range="', 1)[1].split('"', 1)[0]
        self.if_range = line.split('if_range="', 1)[1].split('"', 1)[0]
        self.sent = int(line.rsplit("sent=", 1)[1])
        self.first, self.last = None, None
        if self.range.startswith("bytes="):
            a, b = self.range[6:].split("-")
            self.first = int(a)
            self.last = int(b) + 1 if b else None

    def delivered(self):
        """[first, first + sent): what the server sent for it"""
        first = self.first or 0
        return first, first + self.sent

    def __repr__(self):
        return f"<{self.status} {self.range} sent={self.sent} {self.start:.3f}–{self.end:.3f}>"


class Server(bgtharness.Nginx):
    def requests(self, uri):
        return sorted((Request(line) for line in self.access_log() if f" {uri} " in line),
                      key=lambda r: r.start)


def max_overlap(requests, slack=0.005):
    """The most requests that were being served at one moment."""
    events = []
    for r in requests:
        events.append((r.start + slack, 1))
        events.append((r.end - slack, -1))
    events.sort()
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def coverage(spans):
    """{offset: times} boundaries → the bytes covered once, twice, …: the
    spans as a sorted list of (start, end, count) runs"""
    points = sorted({p for s in spans for p in s})
    runs = []
    for a, b in zip(points, points[1:]):
        n = sum(1 for s, e in spans if s <= a and b <= e)
        runs.append((a, b, n))
    return runs


@pytest.fixture(scope="module")
def server():
    """A 64 MiB file under several names, one per test (each test reads its
    own name's lines of the access log), /slow/ at 2 MiB/s per connection
    (nginx's limit_rate: a connection's first second comes at once)."""
    root = tempfile.mkdtemp(prefix="bgt-www-")
    os.chmod(root, 0o755)
    sha = make_file(os.path.join(root, "f.bin"), SIZE)
    for name in ("kill.bin", "pause.bin", "policy.bin", "rr.bin", "any.bin", "ranges.bin",
                 "random.bin", "random1.bin", "limit.bin", "host.bin", "other.bin", "mirror.bin",
                 "liar.bin"):
        os.link(os.path.join(root, "f.bin"), os.path.join(root, name))
    s = Server(root, slow_rate="2m", log_format=LOG)
    s.sha = sha
    yield s
    s.close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def faults():
    s = FaultServer()
    yield s
    s.close()


@pytest.fixture
def conn(bus):
    """The owner's raw connection (for the options the library does not
    have, properties and signals)."""
    c = bus.connect()
    bus.call_manager("GetTransfers", GLib.Variant("(a{sv})", ({"app-id": GLib.Variant("s", APP)},)),
                     conn=c)
    return c


@pytest.fixture
def client(bus, conn):
    return bus.client(APP, conn)


def create(bus, conn, client, uri, dest, **options):
    opts = {"destination": GLib.Variant("s", str(dest))}
    for key, value in options.items():
        opts[key.replace("_", "-")] = value
    (path,) = bus.call_manager("CreateDownload", GLib.Variant("(sa{sv})", (uri, opts)), conn=conn)
    return call(client, "get_transfer", path)


def prop(conn, t, name):
    reply = conn.call_sync(BUS_NAME, t.get_object_path(), "org.freedesktop.DBus.Properties", "Get",
                           GLib.Variant("(ss)", (TRANSFER_IFACE, name)), None,
                           Gio.DBusCallFlags.NONE, 10000, None)
    return reply.unpack()[0]


def transfer_call(conn, t, method, args=None):
    return conn.call_sync(BUS_NAME, t.get_object_path(), TRANSFER_IFACE, method, args, None,
                          Gio.DBusCallFlags.NONE, 10000, None).unpack()


def ranges_added(conn, t):
    """Every RangesAdded of t, as it comes: [(added, restarted)]"""
    heard = []
    conn.signal_subscribe(BUS_NAME, TRANSFER_IFACE, "RangesAdded", t.get_object_path(), None,
                          Gio.DBusSignalFlags.NONE,
                          lambda c, s, p, i, sig, params: heard.append(params.unpack()))
    return heard


def finished(t, timeout=120):
    wait_for(lambda: t.props.status in (S.COMPLETED, S.ERROR, S.CANCELED), timeout,
             "the download to end")
    return t.props.status


def u(n):
    return GLib.Variant("u", n)


# ---- Options ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 17])
def test_connections_out_of_range_is_an_invalid_argument(bus, conn, client, server, dest_dir, n):
    with pytest.raises(GLib.Error) as e:
        create(bus, conn, client, server.url("f.bin"), dest_dir / "x", connections=u(n))
    assert "org.freedesktop.BackgroundTransfer.Error.InvalidArgument" in e.value.message
    assert "connections" in e.value.message
    assert os.listdir(dest_dir) == []


def test_request_range_needs_random_access(bus, conn, client, server, dest_dir):
    t = create(bus, conn, client, server.url("slow/rr.bin"), dest_dir / "x",
               start=GLib.Variant("b", False))
    with pytest.raises(GLib.Error) as e:
        call(t, "request_range", 0, 10)
    assert e.value.matches(Bgt.error_quark(), Bgt.Error.INVALID_STATE)
    assert "random-access" in e.value.message
    # Beyond the end of a resource of known size
    r = create(bus, conn, client, server.url("slow/rr.bin"), dest_dir / "y",
               random_access=GLib.Variant("b", True), connections=u(2))
    wait_for(lambda: r.props.total_bytes_to_receive == SIZE, 30, "the size")
    with pytest.raises(GLib.Error) as e:
        transfer_call(conn, r, "RequestRange", GLib.Variant("(tt)", (SIZE, 10)))
    assert "InvalidArgument" in e.value.message
    assert call(r, "request_range", SIZE - 10, 10)
    call(r, "cancel")


# ---- Segments -------------------------------------------------------------------------


def test_four_connections_fetch_the_file_once(bus, conn, client, server, dest_dir):
    """Four range requests at once, that between them fetch every byte;
    a byte comes more than once only where a connection took the second
    half of another's segment (work stealing) after the server had sent
    part of it already."""
    dest = dest_dir / "f.bin"
    t = create(bus, conn, client, server.url("slow/f.bin"), dest, connections=u(4))
    assert finished(t) == S.COMPLETED, t.props.error_message
    assert sha256_file(dest) == server.sha

    reqs = server.requests("/slow/f.bin")
    assert all(r.status == 206 and r.range.startswith("bytes=") for r in reqs), reqs
    assert max_overlap(reqs) == 4, reqs
    # The first asks from 0 on; its answer (206, a strong ETag, the size)
    # splits the download; every later one is bounded and checked
    assert reqs[0].range == "bytes=0-" and reqs[0].if_range == "-"
    etag = reqs[1].if_range
    assert etag.startswith('\\x22') and all(r.if_range == etag for r in reqs[1:]), reqs
    # Every byte delivered; more than once only inside a stolen half
    runs = coverage([r.delivered() for r in reqs])
    assert runs[0][0] == 0 and runs[-1][1] >= SIZE and all(n >= 1 for _, _, n in runs), runs
    stolen = [(r.first, r.last or SIZE) for r in reqs[4:]]
    for a, b, n in runs:
        if n > 1:
            assert any(s <= a and b <= e for s, e in stolen), (a, b, reqs)
    twice = sum((b - a) * (n - 1) for a, b, n in runs if n > 1)
    print(f"\n4 connections, {len(reqs)} requests, {twice} bytes sent twice "
          f"(stolen halves the server had sent already)")


def test_ranges_downloaded_is_sorted_merged_and_live(bus, conn, client, server, dest_dir):
    dest = dest_dir / "r.bin"
    t = create(bus, conn, client, server.url("slow/ranges.bin"), dest, connections=u(4))
    heard = ranges_added(conn, t)
    seen = []

    def sample():
        r = prop(conn, t, "RangesDownloaded")
        if r:
            seen.append(r)
        return len(seen) > 0 and len(r) > 1

    # Holes while it runs: several ranges at once
    wait_for(sample, 60, "RangesDownloaded with more than one range")
    assert finished(t) == S.COMPLETED
    assert prop(conn, t, "RangesDownloaded") == [(0, SIZE)]
    for r in seen:
        assert r == sorted(r)
        for (a, la), (b, _) in zip(r, r[1:]):
            assert a + la < b, f"not merged: {r}"
    # RangesAdded told everything, once, and nothing restarted
    wait_for(lambda: heard and sum(length for added, _ in heard for _, length in added) >= SIZE,
             10, "RangesAdded up to the end")
    assert not any(restarted for _, restarted in heard)
    got = sorted(rng for added, _ in heard for rng in added)
    pos = 0
    for offset, length in got:
        assert offset == pos or offset > pos, got
        assert offset >= pos, f"told twice: {got}"
        pos = max(pos, offset + length)
    assert sum(length for _, length in got) == SIZE
    assert sha256_file(dest) == server.sha


def test_pause_and_resume_go_on_with_every_connection(bus, conn, client, server, dest_dir):
    dest = dest_dir / "p.bin"
    t = create(bus, conn, client, server.url("slow/pause.bin"), dest, connections=u(4))
    wait_for(lambda: len(prop(conn, t, "RangesDownloaded")) > 1, 60, "segments on disk")
    call(t, "pause")
    before = prop(conn, t, "RangesDownloaded")
    n_before = len(server.requests("/slow/pause.bin"))
    call(t, "resume")
    assert finished(t) == S.COMPLETED
    assert sha256_file(dest) == server.sha
    after = server.requests("/slow/pause.bin")[n_before:]
    # At once on all connections, every request bounded and checked
    assert after and all(r.if_range.startswith('\\x22') for r in after), after
    first = sorted(after, key=lambda r: r.start)[:4]
    assert len({(r.first, r.last) for r in first}) == len(first)
    # Nothing on disk before the pause is fetched again, but what was in
    # flight when it came
    held = [(o, o + n) for o, n in before]
    for r in after:
        a, b = r.first, r.last or SIZE
        for s, e in held:
            assert b <= s or a >= e, f"{r} asks for data on disk {held}"


@pytest.mark.parametrize("service_settings", [{"max-connections-per-host": "3"}], indirect=True)
def test_connections_count_against_the_host_limit(bus, conn, client, server, dest_dir):
    """A segmented download and another download to the same host: never
    more than max-connections-per-host requests at once between them."""
    a = create(bus, conn, client, server.url("slow/host.bin"), dest_dir / "a", connections=u(4),
               start=GLib.Variant("b", False))
    b = create(bus, conn, client, server.url("slow/other.bin"), dest_dir / "b",
               start=GLib.Variant("b", False))
    a.start_async(None, None)
    b.start_async(None, None)
    assert finished(a) == S.COMPLETED and finished(b) == S.COMPLETED
    reqs = server.requests("/slow/host.bin") + server.requests("/slow/other.bin")
    assert max_overlap(reqs) <= 3, reqs
    assert max_overlap(server.requests("/slow/host.bin")) >= 2


RATE = 8 * MIB


def test_max_rate_holds_for_all_connections_together(bus, conn, client, server, dest_dir):
    start = time.monotonic()
    t = create(bus, conn, client, server.url("limit.bin"), dest_dir / "l", connections=u(4),
               max_rate=GLib.Variant("t", RATE))
    assert finished(t) == S.COMPLETED
    elapsed = time.monotonic() - start
    assert max_overlap(server.requests("/limit.bin")) >= 2
    floor = SIZE / RATE * 0.8
    assert elapsed >= floor, f"{SIZE} B at max-rate {RATE} B/s over 4 connections: {elapsed:.2f} s"


def test_a_metered_network_holds_every_connection(server, tmp_path):
    """The cost policy holds the download as a whole: on a metered network
    an unrestricted-only download stops all its connections, and goes on
    with all of them, from what is on disk, when the network is free."""
    system = SystemBus(tmpdir=str(tmp_path / "system"))
    bus = None
    try:
        nm = MockNetworkManager(system)
        bus = ServiceBus(tmpdir=str(tmp_path / "s"),
                         env={"DBUS_SYSTEM_BUS_ADDRESS": system.address})
        c = bus.connect()
        bus.call_manager("GetTransfers",
                         GLib.Variant("(a{sv})", ({"app-id": GLib.Variant("s", APP)},)), conn=c)
        client = bus.client(APP, c)
        dest = tmp_path / "policy.bin"
        t = create(bus, c, client, server.url("slow/policy.bin"), dest, connections=u(4),
                   cost_policy=GLib.Variant("s", "unrestricted-only"))
        # Every connection has data on disk: all four are in flight when the
        # network turns metered (two ranges were not enough: the fourth
        # request could be 7 ms old, under max_overlap()'s slack at both ends)
        wait_for(lambda: len(prop(c, t, "RangesDownloaded")) >= 4, 60, "every segment on disk")
        nm.set_metered(True)
        wait_for(lambda: t.props.status == S.PAUSED_COSTED_NETWORK, 20, "the download to wait")
        # nginx logs a request when it ends: every connection was closed
        wait_for(lambda: len(server.requests("/slow/policy.bin")) >= 4, 20,
                 "every connection to end")
        held = server.requests("/slow/policy.bin")
        assert max_overlap(held) == 4
        on_disk = [(o, o + n) for o, n in prop(c, t, "RangesDownloaded")]
        nm.set_metered(False)
        assert finished(t) == S.COMPLETED, t.props.error_message
        assert sha256_file(dest) == server.sha
        after = server.requests("/slow/policy.bin")[len(held):]
        assert len(after) >= 2 and max_overlap(after) >= 2, after
        for r in after:
            a, b = r.first, r.last or SIZE
            assert all(b <= s or a >= e for s, e in on_disk), f"{r} asks for data on disk"
    finally:
        if bus is not None:
            bus.close()
        system.close()


def test_kill9_resumes_every_range(server, tmp_path):
    """kill -9 again and again: the ranges checkpointed resume, the file
    is byte-identical, and what was fetched twice stays within one
    checkpoint interval per kill (docs/contract.md)."""
    seed = int(os.environ.get("BGT_KILL_SEED", time.time()))
    rng = random.Random(seed)
    bus = ServiceBus(tmpdir=str(tmp_path / "s"))
    try:
        c = bus.connect()
        bus.call_manager("GetTransfers",
                         GLib.Variant("(a{sv})", ({"app-id": GLib.Variant("s", APP)},)), conn=c)
        client = bus.client(APP, c)
        dest = tmp_path / "k.bin"
        t = create(bus, c, client, server.url("slow/kill.bin"), dest, connections=u(4))
        wait_for(lambda: len(prop(c, t, "RangesDownloaded")) > 1, 60, "segments on disk")
        kills = 0
        while kills < 8 and not dest.exists():
            end = time.monotonic() + rng.uniform(0.2, 1.5)
            wait_for(lambda: time.monotonic() > end, 5, "a random moment")
            bus.kill_service(signal.SIGKILL)
            kills += 1
            call(client, "list_transfers")  # activates it again: it resumes
        assert kills >= 4, f"only {kills} kills before the end: make the download slower"
        t = call(client, "get_transfer", t.get_object_path())
        assert finished(t) == S.COMPLETED, t.props.error_message
        assert sha256_file(dest) == server.sha
        assert not os.path.exists(str(dest) + ".bgtpart")
        reqs = server.requests("/slow/kill.bin")
        refetched = sum(r.sent for r in reqs) - SIZE
        print(f"\nsegmented kill -9 loop (seed {seed}): {kills} kills, {len(reqs)} requests, "
              f"re-fetched {refetched} bytes (bound: {kills} × {CHECKPOINT})")
        assert refetched <= kills * CHECKPOINT, f"{refetched} bytes re-fetched over {kills} kills"
    finally:
        bus.close()


# ---- Servers that do not play along ----------------------------------------------------

BODY_SIZE = 8 * MIB
V1 = payload(BODY_SIZE, seed=1)
V2 = payload(BODY_SIZE, seed=2)


def serve_ranges(conn, req, body, etag, honour=True, check_if_range=True, chunk=64 * 1024):
    """206 for a Range (bounded or not) when honour and If-Range matches
    (or is not checked), else 200 with everything; a body in chunks, so
    that connections run at the same time."""
    rng = req.header("range")
    if_range = req.header("if-range") if check_if_range else None
    head = [("ETag", etag), ("Accept-Ranges", "bytes")] if etag else []
    if honour and rng and rng.startswith("bytes=") and (if_range is None or if_range == etag):
        a, b = rng[6:].split("-")
        first, last = int(a), (int(b) if b else len(body) - 1)
        last = min(last, len(body) - 1)
        part = body[first:last + 1]
        conn.head(206, head + [("Content-Range", f"bytes {first}-{last}/{len(body)}"),
                               ("Content-Length", str(len(part)))])
    else:
        part = body
        conn.head(200, head + [("Content-Length", str(len(body)))])
    for i in range(0, len(part), chunk):
        conn.send(part[i:i + chunk])
        time.sleep(0.002)


def test_a_200_to_a_segment_restarts_with_one_connection(bus, conn, client, faults, dest_dir):
    def handler(c, req, n):
        if n == 2:
            c.mark("200 to a range")
        serve_ranges(c, req, V1, '"v1"', honour=(n != 2))

    faults.route("/two", handler)
    dest = dest_dir / "two.bin"
    t = create(bus, conn, client, faults.url("two"), dest, connections=u(4))
    assert finished(t) == S.COMPLETED, t.props.error_message
    assert [what for what, _ in faults.faults_at("/two")] == ["200 to a range"]
    assert open(dest, "rb").read() == V1
    reqs = faults.requests_to("/two")
    assert reqs[1].header("range") not in (None, "bytes=0-")
    # The connection that got the 200 read it all, alone: nobody asked again
    assert len(reqs) <= 4, [r.header("range") for r in reqs]


def test_no_ranges_means_one_connection(bus, conn, client, faults, dest_dir):
    faults.route("/plain", lambda c, req, n: serve_ranges(c, req, V1, '"v1"', honour=False))
    dest = dest_dir / "plain.bin"
    t = create(bus, conn, client, faults.url("plain"), dest, connections=u(4))
    assert finished(t) == S.COMPLETED, t.props.error_message
    assert open(dest, "rb").read() == V1
    assert len(faults.requests_to("/plain")) == 1


def test_no_strong_validator_means_one_connection(bus, conn, client, faults, dest_dir):
    faults.route("/weak", lambda c, req, n: serve_ranges(c, req, V1, 'W/"v1"'))
    dest = dest_dir / "weak.bin"
    t = create(bus, conn, client, faults.url("weak"), dest, connections=u(4))
    assert finished(t) == S.COMPLETED, t.props.error_message
    assert open(dest, "rb").read() == V1
    assert len(faults.requests_to("/weak")) == 1


def changing(c, req, n):
    """v1 to the first two requests, then v2, a 206 whatever If-Range
    says: the resource changed under a segment"""
    if n == 3:
        c.mark("changed")
    if n >= 3:
        serve_ranges(c, req, V2, '"v2"', check_if_range=False)
    else:
        serve_ranges(c, req, V1, '"v1"')


def test_a_changed_etag_on_a_segment_restarts(bus, conn, client, faults, dest_dir):
    faults.route("/changing", changing)
    dest = dest_dir / "c.bin"
    t = create(bus, conn, client, faults.url("changing"), dest, connections=u(4))
    assert finished(t) == S.COMPLETED, t.props.error_message
    assert [what for what, _ in faults.faults_at("/changing")] == ["changed"]
    assert open(dest, "rb").read() == V2  # never a mix
    # From zero again, without the old validator
    after = faults.requests_to("/changing")[3:]
    assert any(r.header("range") == "bytes=0-" and r.header("if-range") is None for r in after)


def test_a_changed_etag_with_if_changed_fail_is_resource_changed(bus, conn, client, faults,
                                                                 dest_dir):
    faults.route("/changing", changing)
    dest = dest_dir / "c.bin"
    t = create(bus, conn, client, faults.url("changing"), dest, connections=u(4),
               if_changed=GLib.Variant("s", "fail"))
    assert finished(t) == S.ERROR
    assert [what for what, _ in faults.faults_at("/changing")] == ["changed"]
    assert t.props.error_status == E.RESOURCE_CHANGED
    assert os.listdir(dest_dir) == []


# ---- Mirrors ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mirror(server):
    """Another nginx: the same file under the same names (hard links, so
    the same ETag), a copy with other bytes of the same size (another ETag),
    and a liar: other bytes with the same size and mtime (the same ETag)."""
    root = tempfile.mkdtemp(prefix="bgt-mirror-")
    os.chmod(root, 0o755)
    os.link(os.path.join(server.root, "f.bin"), os.path.join(root, "mirror.bin"))
    make_file(os.path.join(root, "other.bin"), SIZE)
    make_file(os.path.join(root, "liar.bin"), SIZE)
    st = os.stat(os.path.join(server.root, "f.bin"))
    os.utime(os.path.join(root, "other.bin"), (st.st_atime + 100, st.st_mtime + 100))
    os.utime(os.path.join(root, "liar.bin"), ns=(st.st_atime_ns, st.st_mtime_ns))
    m = Server(root, slow_rate="2m", log_format=LOG)
    yield m
    m.close()
    shutil.rmtree(root, ignore_errors=True)


def test_mirrors_that_agree_feed_segments(bus, conn, client, server, mirror, dest_dir):
    dest = dest_dir / "m.bin"
    t = create(bus, conn, client, server.url("slow/mirror.bin"), dest, connections=u(4),
               mirrors=GLib.Variant("as", [mirror.url("slow/mirror.bin")]))
    assert finished(t) == S.COMPLETED, t.props.error_message
    assert sha256_file(dest) == server.sha
    main, other = server.requests("/slow/mirror.bin"), mirror.requests("/slow/mirror.bin")
    assert other and all(r.status == 206 for r in other), other
    assert max_overlap(main + other) <= 4
    assert sum(r.sent for r in other) > 0


def test_a_mirror_with_other_bytes_is_dropped(bus, conn, client, server, mirror, dest_dir):
    dest = dest_dir / "o.bin"
    t = create(bus, conn, client, server.url("slow/other.bin"), dest, connections=u(4),
               mirrors=GLib.Variant("as", [mirror.url("slow/other.bin")]))
    assert finished(t) == S.COMPLETED, t.props.error_message
    assert sha256_file(dest) == server.sha
    # It was asked, its ETag did not match (nginx answers If-Range with 200),
    # and nothing of it was kept
    other = mirror.requests("/slow/other.bin")
    assert other and all(r.status == 200 for r in other), other
    assert "mirror " + mirror.url("slow/other.bin") + " dropped" in bus.service_log()


def test_a_lying_mirror_is_caught_by_the_checksum(bus, conn, client, server, mirror, dest_dir):
    """Other bytes under the same name, size and ETag: only the checksum
    can tell. Mixed into the partial file, they never reach the
    destination: the download starts over from the first URI alone."""
    dest = dest_dir / "liar.bin"
    t = create(bus, conn, client, server.url("slow/liar.bin"), dest, connections=u(4),
               mirrors=GLib.Variant("as", [mirror.url("slow/liar.bin")]),
               checksum=GLib.Variant("s", "sha256:" + server.sha))
    assert finished(t, 180) == S.COMPLETED, t.props.error_message
    assert sha256_file(dest) == server.sha
    assert any(r.status == 206 and r.sent > 0 for r in mirror.requests("/slow/liar.bin"))
    assert "does not match the checksum" in bus.service_log()


# ---- Work stealing ---------------------------------------------------------------------

STEAL_SIZE = 32 * MIB
STEAL_BODY = payload(STEAL_SIZE, seed=3)


def test_a_slow_connection_gives_up_half_of_what_it_has_left(bus, conn, client, faults, dest_dir):
    """One connection crawls: the others, done with their segments, each
    take the second half of what it has left, until too little is left to
    share; none idles while it has more than that."""
    slow_start = STEAL_SIZE // 2  # the third quarter: 16 MiB (see bt-segments.c)

    def crawl(c, req, n):
        rng = req.header("range") or ""
        if rng.startswith(f"bytes={slow_start}-"):
            c.mark("slow")
            serve_slowly(c, req)
        else:
            serve_ranges(c, req, STEAL_BODY, '"s"')

    def serve_slowly(c, req):
        a, b = req.header("range")[6:].split("-")
        first, last = int(a), int(b)
        part = STEAL_BODY[first:last + 1]
        c.head(206, [("ETag", '"s"'), ("Content-Range", f"bytes {first}-{last}/{STEAL_SIZE}"),
                     ("Content-Length", str(len(part)))])
        for i in range(0, len(part), 16 * 1024):
            c.send(part[i:i + 16 * 1024])
            time.sleep(0.02)  # 800 KiB/s

    faults.route("/steal", crawl)
    dest = dest_dir / "steal.bin"
    t = create(bus, conn, client, faults.url("steal"), dest, connections=u(4))
    assert finished(t, 180) == S.COMPLETED, t.props.error_message
    assert [what for what, _ in faults.faults_at("/steal")] == ["slow"]
    assert open(dest, "rb").read() == STEAL_BODY
    ranges = [r.header("range") for r in faults.requests_to("/steal")]
    slow_end = 3 * STEAL_SIZE // 4
    asked = [tuple(int(x) for x in r[6:].split("-")) for r in ranges[4:] if not r.endswith("-")]
    stolen = sorted((a, b + 1) for a, b in asked if slow_start < a and b < slow_end)
    # What it had left went to the others, half by half: the second half of
    # its segment first, then halves of what it (or a thief) had left
    assert len(stolen) >= 2, ranges
    assert any(b == slow_end for _, b in stolen), ranges
    assert len(set(a for a, _ in stolen)) == len(stolen), ranges


# ---- Random access ---------------------------------------------------------------------


def covers(pairs, start, end):
    """Whether the (offset, length) pairs cover [start, end)"""
    pos = start
    for offset, length in sorted(pairs):
        if offset <= pos < offset + length:
            pos = offset + length
    return pos >= end


def read_exactly(stream, count):
    data = b""
    while len(data) < count:
        chunk = call(stream, "read_bytes", count - len(data), GLib.PRIORITY_DEFAULT).get_data()
        assert chunk, "end of the stream before the data"
        data += chunk
    return data


@pytest.mark.parametrize("connections", [1, 4])
def test_random_access_reads_the_end_first(bus, conn, client, server, dest_dir, connections):
    """A media player seeks to the end of a 64 MiB download that just
    began: the library's stream asks for that range, a connection goes
    there, and the last MiB is read while the bytes before it are not on
    disk yet."""
    name = "random.bin" if connections == 4 else "random1.bin"
    dest = dest_dir / name
    t = create(bus, conn, client, server.url("slow/" + name), dest, connections=u(connections),
               random_access=GLib.Variant("b", True))
    heard = ranges_added(conn, t)
    stream = call(t, "open_result_stream")
    assert isinstance(stream, Bgt.ResultStream) and stream.can_seek()
    assert stream.get_download() == t
    stream.seek(SIZE - MIB, GLib.SeekType.SET, None)
    tail = read_exactly(stream, MIB)
    on_disk = prop(conn, t, "RangesDownloaded")  # at that very moment

    with open(os.path.join(server.root, "f.bin"), "rb") as f:
        f.seek(SIZE - MIB)
        assert tail == f.read()
    assert any(o <= SIZE - MIB and SIZE <= o + n for o, n in on_disk), on_disk
    # The download had not reached it: the byte before is not there
    assert not any(o <= SIZE - MIB - 1 < o + n for o, n in on_disk), on_disk
    assert t.props.status == S.RUNNING
    # RangesAdded told of it (in one or more pieces)
    wait_for(lambda: covers([rng for added, _ in heard for rng in added], SIZE - MIB, SIZE), 10,
             "RangesAdded of the end")
    # The rest reads in order, then the end of the stream
    stream.seek(0, GLib.SeekType.SET, None)
    head = read_exactly(stream, 4 * MIB)
    with open(os.path.join(server.root, "f.bin"), "rb") as f:
        assert head == f.read(4 * MIB)
    assert finished(t) == S.COMPLETED
    stream.seek(-10, GLib.SeekType.END, None)
    assert len(read_exactly(stream, 10)) == 10
    assert call(stream, "read_bytes", 100, GLib.PRIORITY_DEFAULT).get_size() == 0
    stream.close(None)
    assert sha256_file(dest) == server.sha


def test_open_result_at_any_time(bus, conn, client, server, dest_dir):
    """Before any data, while it runs, and after the end, and the same
    descriptor reads the finished file"""
    dest = dest_dir / "any.bin"
    t = create(bus, conn, client, server.url("slow/any.bin"), dest, connections=u(4),
               start=GLib.Variant("b", False))
    stream = call(t, "open_result_stream")
    assert stream.get_size() == -1
    assert not stream.has_data(0, 1)
    call(t, "start")
    # A synchronous read waits too (running this thread's main context)
    first = stream.read_bytes(64 * 1024, None).get_data()
    while len(first) < 64 * 1024:
        first += stream.read_bytes(64 * 1024 - len(first), None).get_data()
    with open(os.path.join(server.root, "f.bin"), "rb") as f:
        assert first == f.read(64 * 1024)
    # The size comes with the same flush of the service's signals
    wait_for(lambda: stream.get_size() == SIZE, 10, "the stream to learn the size")
    assert finished(t) == S.COMPLETED
    stream.seek(SIZE - 4096, GLib.SeekType.SET, None)
    with open(os.path.join(server.root, "f.bin"), "rb") as f:
        f.seek(SIZE - 4096)
        assert read_exactly(stream, 4096) == f.read()
    later = call(t, "open_result_stream")
    assert later.has_data(0, SIZE)
    stream.close(None)
    later.close(None)


def test_a_failed_download_fails_the_waiting_read(bus, conn, client, faults, dest_dir):
    faults.route("/gone", lambda c, req, n: c.respond(404, b"gone"))
    t = create(bus, conn, client, faults.url("gone"), dest_dir / "g",
               random_access=GLib.Variant("b", True), start=GLib.Variant("b", False))
    stream = call(t, "open_result_stream")
    box = []
    stream.read_bytes_async(10, GLib.PRIORITY_DEFAULT, None, lambda s, r: box.append(r))
    call(t, "start")
    wait_for(lambda: box, 30, "the read to end")
    with pytest.raises(GLib.Error) as e:
        stream.read_bytes_finish(box[0])
    assert e.value.matches(Bgt.error_quark(), Bgt.Error.TRANSFER_FAILED)
