# test_library.py: every public call of libbgtransfer, through GI, against
# the real service
#
# What the library adds to the bus (one signal subscription, a bounded
# call queue, a live list, JS-safe numbers, groups, streams) and that each
# option reaches the service and does what it says. test_api_coverage.py
# checks that every member of the D-Bus interface has a library
# counterpart that some test calls.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import email.parser
import email.policy
import hashlib
import json
import os
import re
import subprocess
import threading
import time

import pytest
import bgtharness
from bgtharness import (PYTHON, SRCDIR, Bgt, Gio, GLib, ServiceBus, call, require,
                        sha256_file, wait_for)
from faultserver import FaultServer, payload
from test_features import notifications  # noqa: F401 (the fixture, on this module's bus)

from gi.repository import GObject  # noqa: E402

S = Bgt.Status
E = Bgt.ErrorStatus
KIB = 1024
MIB = 1024 * KIB


def raises(code):
    """A context manager: a GLib.Error in BGT_ERROR with code."""
    class Matcher:
        def __enter__(self):
            return self

        def __exit__(self, typ, value, tb):
            assert typ is not None, f"expected BGT_ERROR {code.value_nick}, got no error"
            assert isinstance(value, GLib.Error), value
            assert value.matches(Bgt.error_quark(), code), \
                f"expected {code.value_nick}, got {value.domain}:{value.code}: {value.message}"
            self.error = value
            return True
    return Matcher()


def outcome(t, timeout=90):
    """Waits for the end through bgt_transfer_wait_async(); the final status."""
    box = []
    t.wait_async(None, lambda o, r: box.append(r))
    wait_for(lambda: box, timeout, "the transfer to end")
    try:
        t.wait_finish(box[0])
    except GLib.Error:
        pass
    return t.props.status


def downloader(client, **props):
    d = Bgt.Downloader.new(client)
    for key, value in props.items():
        d.set_property(key.replace("_", "-"), value)
    return d


def fetch(client, uri, dest, **props):
    return call(downloader(client, **props), "create_download", uri,
                Gio.File.new_for_path(str(dest)))


@pytest.fixture
def server():
    s = FaultServer()
    yield s
    s.close()


# ---- Version and enumerations ----------------------------------------------

def test_version_macros_follow_the_project_version():
    with open(os.path.join(SRCDIR, "meson.build")) as f:
        version = re.search(r"version:\s*'([0-9.]+)'", f.read()).group(1)
    major, minor, micro = (int(x) for x in version.split("."))
    assert (Bgt.MAJOR_VERSION, Bgt.MINOR_VERSION, Bgt.MICRO_VERSION) == (major, minor, micro)
    assert Bgt.VERSION_STRING == version


def test_status_and_error_helpers():
    assert Bgt.status_is_finished(S.COMPLETED) and Bgt.status_is_finished(S.CANCELED)
    assert Bgt.status_is_finished(S.ERROR) and not Bgt.status_is_finished(S.RUNNING)
    assert Bgt.status_is_paused(S.PAUSED_NO_NETWORK) and not Bgt.status_is_paused(S.IDLE)
    assert Bgt.status_to_string(S.PAUSED_BY_APPLICATION) == "paused-by-application"
    assert Bgt.error_status_to_string(E.NOT_FOUND) == "not-found"
    assert Bgt.error_status_to_string(E.NONE) == ""
    assert Bgt.error_status_get_description(E.NOT_FOUND)
    assert GLib.quark_to_string(Bgt.error_quark()) == "bgt-error-quark"
    # The enumerations of the Manager's states: nicks are the bus strings
    assert [v.value_nick for v in (Bgt.NetworkState.METERED_OVER_LIMIT,
                                   Bgt.PowerState.POWER_SAVER, Bgt.IfChanged.FAIL,
                                   Bgt.TransferBehavior.SERIALIZED)] == \
        ["metered-over-limit", "power-saver", "fail", "serialized"]


# ---- The client ------------------------------------------------------------

def test_client_properties(bus, client):
    assert client.get_app_id() == client.props.app_id == "org.example.Tests"
    assert isinstance(client.get_connection(), Gio.DBusConnection)
    assert client.props.connection is client.get_connection()
    # Known from the construction on, as enumerations
    assert client.get_network_state() == client.props.network_state == \
        Bgt.NetworkState.UNRESTRICTED
    assert client.get_power_state() == client.props.power_state == Bgt.PowerState.NORMAL
    assert client.get_service_version() == client.props.service_version == 1


CONSTRUCTORS = """
import os, gi
gi.require_version("Bgt", "1")
from gi.repository import Bgt, Gio, GLib
loop = GLib.MainLoop()
out = []
def done(source, result, finish):
    try:
        out.append(finish(result))
    finally:
        loop.quit()
# The session bus: one shared connection, acting for one app
Bgt.Client.new_async("org.example.Session", None, done, Bgt.Client.new_finish)
loop.run()
out.append(Bgt.Client.new_sync("org.example.Session", None))
# A connection of its own, for another app
conn = Gio.DBusConnection.new_for_address_sync(
    os.environ["DBUS_SESSION_BUS_ADDRESS"],
    Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
    None, None)
Bgt.Client.new_for_connection_async(conn, "org.example.Own", None, done,
                                    Bgt.Client.new_for_connection_finish)
loop.run()
print(" ".join(c.get_app_id() + ":" + str(c.get_service_version()) for c in out))
try:
    Bgt.Client.new_for_connection_sync(Gio.bus_get_sync(Gio.BusType.SESSION, None),
                                       "org.example.Other", None)
except GLib.Error as e:
    print("refused", e.matches(Bgt.error_quark(), Bgt.Error.ACCESS_DENIED))
"""


def test_client_constructors_on_the_session_bus(bus):
    """new_async, new_sync and new_for_connection_async: in a process of
    its own, whose session bus is the test's."""
    r = subprocess.run([PYTHON, "-c", CONSTRUCTORS], env=bgtharness.library_env(bus.env),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0] == "org.example.Session:1 org.example.Session:1 org.example.Own:1"
    # One connection acts for one app: a second id on it is refused
    assert lines[1] == "refused True"


def test_service_unavailable(tmp_path):
    """A bus without the service: BGT_ERROR_SERVICE_UNAVAILABLE."""
    other = bgtharness.SystemBus(tmpdir=str(tmp_path / "bus"))
    try:
        with raises(Bgt.Error.SERVICE_UNAVAILABLE):
            Bgt.Client.new_for_connection_sync(other.conn, "org.example.None", None)
    finally:
        other.close()


def test_one_match_rule_for_any_number_of_transfers(bus, client, nginx, dest_dir):
    """docs/contract.md: an app follows all its transfers through one signal
    subscription. dbus-daemon counts the client connection's match rules
    (org.freedesktop.DBus.Debug.Stats)."""
    name = client.get_connection().get_unique_name()

    def peak_match_rules():
        try:
            reply = bus.conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus.Debug.Stats", "GetConnectionStats",
                                       GLib.Variant("(s)", (name,)), None,
                                       Gio.DBusCallFlags.NONE, 10000, None)
        except GLib.Error as e:
            require(False, f"dbus-daemon without statistics: {e.message}")
        return reply.unpack()[0]["PeakMatchRules"]

    before = peak_match_rules()
    d = downloader(client, start=False)
    transfers = [call(d, "create_download", nginx.url("small.txt"),
                      Gio.File.new_for_path(str(dest_dir / f"f{i}"))) for i in range(40)]
    group = call(client, "create_completion_group", "done")
    listed = call(client, "list_transfers")
    assert listed.get_n_items() == 40
    # Every one of them hears its end
    for t in transfers:
        t.start_async(None, None)
    wait_for(lambda: all(t.props.status == S.COMPLETED for t in transfers), 60,
             "40 transfers to complete")
    assert group.props.action == "done"
    # The service's signals and NameOwnerChanged: two rules, however many objects
    assert peak_match_rules() == before <= 2


def test_many_calls_at_once_stay_under_the_bus_limit(bus, client, nginx, dest_dir):
    """300 creations started at once, no pacing: dbus-daemon refuses a
    connection's 129th pending call (LimitsExceeded); the library's queue
    keeps 64 in flight."""
    d = downloader(client, start=False)
    results = []
    for i in range(300):
        d.create_download_async(nginx.url("small.txt"), Gio.File.new_for_path(str(dest_dir / str(i))),
                                None, lambda o, r: results.append(r))
    wait_for(lambda: len(results) == 300, 120, "300 creations")
    transfers = [d.create_download_finish(r) for r in results]
    assert len({t.get_object_path() for t in transfers}) == 300
    assert all(t.props.status == S.IDLE for t in transfers)


def test_cancelled_calls_leave_the_queue(client, nginx, dest_dir):
    """200 calls at once, cancelled at once: those in flight and those
    waiting for their turn all end cancelled, and the queue goes on."""
    t = fetch(client, nginx.url("small.txt"), dest_dir / "q", start=False)
    cancellable = Gio.Cancellable()
    outcomes = []

    def done(o, r):
        try:
            o.refresh_finish(r)
            outcomes.append("done")
        except GLib.Error as e:
            cancelled = e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
            outcomes.append("cancelled" if cancelled else e.message)
    for _ in range(200):
        t.refresh_async(cancellable, done)
    cancellable.cancel()
    wait_for(lambda: len(outcomes) == 200, 20, "200 cancelled calls")
    assert outcomes == ["cancelled"] * 200
    assert call(t, "refresh") is True


def test_live_list_follows_added_and_removed(bus, client, nginx, dest_dir):
    before = fetch(client, nginx.url("small.txt"), dest_dir / "before", start=False)
    listed = call(client, "list_transfers")
    assert [t.get_object_path() for t in listed] == [before.get_object_path()]
    # Held: the same list again
    assert call(client, "list_transfers") is listed
    changes = []
    listed.connect("items-changed", lambda m, pos, rem, add: changes.append((pos, rem, add)))

    # Created through another connection of the app: TransferAdded
    other = bus.client("org.example.Tests")
    later = fetch(other, nginx.url("small.txt"), dest_dir / "later", start=False)
    wait_for(lambda: listed.get_n_items() == 2, 20, "the new transfer in the list")
    assert changes == [(1, 0, 1)]
    assert listed.get_item(1).get_object_path() == later.get_object_path()
    # Another app's transfers never show
    fetch(bus.client("org.example.Else"), nginx.url("small.txt"), dest_dir / "else", start=False)

    # Removed: TransferRemoved
    call(before, "cancel")
    call(before, "remove")
    wait_for(lambda: listed.get_n_items() == 1, 20, "the removed transfer to leave the list")
    assert changes[-1] == (0, 1, 0)
    assert listed.get_item(0).get_object_path() == later.get_object_path()


def test_live_list_after_a_restart_of_the_service(bus, client, nginx, dest_dir):
    kept = fetch(client, nginx.url("small.txt"), dest_dir / "kept", start=False)
    listed = call(client, "list_transfers")
    bus.kill_service()
    # A transfer created by another connection while the list's client
    # was away from the new instance: the rebind finds it
    other = bus.client("org.example.Tests")
    new = fetch(other, nginx.url("small.txt"), dest_dir / "new", start=False)
    wait_for(lambda: listed.get_n_items() == 2, 30, "the list reconciled")
    assert {t.get_object_path() for t in listed} == {kept.get_object_path(),
                                                     new.get_object_path()}
    # And the old objects still follow the service
    call(kept, "start")
    assert outcome(kept) == S.COMPLETED


def test_a_wait_follows_the_service_across_its_restart(bus, client, nginx, dest_dir):
    """A transfer's state read from the service is kept current by its
    signals, so a wait does not ask again; a wait made before a kill -9
    still ends, and one made on an object from the previous instance
    reads the new instance's state."""
    done = fetch(client, nginx.url("small.txt"), dest_dir / "done")
    assert outcome(done) == S.COMPLETED
    # Current and finished: answered from what the signals said
    assert outcome(done) == S.COMPLETED
    running = fetch(client, nginx.url("slow/medium.bin"), dest_dir / "medium.bin")
    box = []
    running.wait_async(None, lambda o, r: box.append(r))
    wait_for(lambda: running.props.bytes_received > 0, 30, "the download under way")
    assert not box
    bus.kill_service()
    wait_for(lambda: box, 90, "the wait to end after the restart")
    running.wait_finish(box[0])
    assert running.props.status == S.COMPLETED
    assert sha256_file(dest_dir / "medium.bin") == nginx.files["medium.bin"]
    # An object last read from the dead instance: its wait asks the new one
    assert outcome(done) == S.COMPLETED
    assert done.props.bytes_received == os.path.getsize(dest_dir / "done")



def test_a_read_in_flight_when_the_service_dies_is_made_again(bus, client, nginx, dest_dir):
    """The instance of the service that has a call dies before it answers
    (stopped, then killed): a client starting up, and a look-up of a
    transfer, ask the next instance (D-Bus activation) and never see the
    death. The bus's NoReply is first seen to reach the library."""
    import signal
    transfer = fetch(client, nginx.url("small.txt"), dest_dir / "later", start=False)
    monitor = bgtharness.BusMonitor(bus.address)
    conn = bus.connect()
    me = conn.get_unique_name()
    try:
        for step in ("start", "look-up"):
            pid = bus.service_pid()
            os.kill(pid, signal.SIGSTOP)
            box = []
            if step == "start":
                Bgt.Client.new_for_connection_async(conn, "org.example.Tests", None,
                                                    lambda o, r: box.append(r))
                monitor.wait_message(sender=me, member="GetTransfers")
            else:
                other.get_transfer_async(transfer.get_id(), None, lambda o, r: box.append(r))
                monitor.wait_message(sender=me, member="GetAll",
                                     path=transfer.get_object_path())
            assert not box
            bus.kill_service()
            monitor.wait_message(destination=me, error="org.freedesktop.DBus.Error.NoReply")
            wait_for(lambda: box, 60, f"the {step} to end on the next instance")
            if step == "start":
                other = Bgt.Client.new_for_connection_finish(box[0])
                assert other.get_service_version() == client.get_service_version()
            else:
                found = other.get_transfer_finish(box[0])
                assert found.get_id() == transfer.get_id()
                assert found.props.status == S.IDLE
                assert bus.service_pid() != pid
    finally:
        monitor.close()

def test_find_transfers_filters(client, nginx, dest_dir, tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 1000)
    a = fetch(client, nginx.url("small.txt"), dest_dir / "a", group="g", start=False)
    b = fetch(client, nginx.url("small.txt"), dest_dir / "b", start=False)
    u = Bgt.Uploader.new(client)
    u.set_group("g")
    u.set_start(False)
    c = call(u, "create_upload", nginx.url("dav/c.bin"), Gio.File.new_for_path(str(src)))
    call(b, "cancel")

    def paths(*args):
        return [t.get_object_path() for t in call(client, "find_transfers", *args)]
    assert paths(None, [], []) == [a.get_object_path(), b.get_object_path(), c.get_object_path()]
    assert paths("g", [], []) == [a.get_object_path(), c.get_object_path()]
    assert paths(None, [Bgt.TransferKind.UPLOAD], []) == [c.get_object_path()]
    assert paths(None, [Bgt.TransferKind.DOWNLOAD, Bgt.TransferKind.UPLOAD], [S.CANCELED]) == \
        [b.get_object_path()]
    assert paths("g", [Bgt.TransferKind.DOWNLOAD], [S.IDLE, S.RUNNING]) == [a.get_object_path()]


def test_a_transfer_removed_while_listed_is_left_out(client, nginx, dest_dir):
    """GetTransfers names it, then it is gone before its properties are
    read: the list has the others. (The service answers in order: the
    Remove sent after GetTransfers lands before the GetAll.)"""
    a, b, c = (fetch(client, nginx.url("small.txt"), dest_dir / n, start=False) for n in "abc")
    call(b, "cancel")
    box, removed = [], []
    client.find_transfers_async(None, [], [], None, lambda o, r: box.append(r))
    b.remove_async(None, lambda o, r: removed.append(o.remove_finish(r)))
    wait_for(lambda: box and removed, 30, "the listing")
    listed = client.find_transfers_finish(box[0])
    assert [t.get_object_path() for t in listed] == [a.get_object_path(), c.get_object_path()]
    del box, listed
    import gc
    gc.collect()
    # Each object is still whole: referenced once per holder
    assert [t.get_id() for t in (a, c)] == [a.props.id, c.props.id]
    again = call(client, "find_transfers", None, [], [])
    assert [t for t in again] == [a, c]


def test_get_transfer_by_id_or_path(client, nginx, dest_dir):
    t = fetch(client, nginx.url("small.txt"), dest_dir / "t", start=False)
    # One object per transfer
    assert call(client, "get_transfer", t.get_id()) is t
    assert call(client, "get_transfer", t.get_object_path()) is t
    with raises(Bgt.Error.NOT_FOUND):
        call(client, "get_transfer", "no-such-id")
    with raises(Bgt.Error.NOT_FOUND):
        call(client, "get_transfer", "../etc")


# ---- Transfer groups ----------------------------------------------------------

def test_transfer_group(client, nginx, dest_dir):
    group = Bgt.TransferGroup.new(client, "photos")
    assert group.get_client() is client and group.props.client is client
    assert group.get_name() == group.props.name == "photos"
    assert group.get_behavior() == Bgt.TransferBehavior.PARALLEL
    notified = []
    group.connect("notify::behavior", lambda o, p: notified.append(o.props.behavior))
    assert call(group, "set_behavior", Bgt.TransferBehavior.SERIALIZED)
    assert notified == [Bgt.TransferBehavior.SERIALIZED]
    assert group.props.behavior == Bgt.TransferBehavior.SERIALIZED
    # The same through the client, and a refused name
    assert call(client, "configure_group", "photos", Bgt.TransferBehavior.SERIALIZED)

    # Serialized: one at a time, in creation order
    first = fetch(client, nginx.url("slow/medium.bin"), dest_dir / "1", group=group.get_name())
    second = fetch(client, nginx.url("small.txt"), dest_dir / "2", group=group.get_name())
    wait_for(lambda: first.props.status == S.RUNNING, 20, "the first to run")
    assert second.props.status == S.IDLE
    listed = call(group, "list_transfers")
    assert [t.get_object_path() for t in listed] == [first.get_object_path(),
                                                      second.get_object_path()]
    call(first, "cancel")
    assert outcome(second) == S.COMPLETED


# ---- Completion groups ------------------------------------------------------

def test_completion_group(bus, client, nginx, dest_dir):
    group = call(client, "create_completion_group", "transfers-done")
    assert group.get_client() is client
    assert group.get_object_path().startswith(
        "/org/freedesktop/BackgroundTransfer/completion_group/")
    assert group.get_action() == group.props.action == "transfers-done"
    assert group.get_enabled() is False
    assert list(group.get_members()) == []
    members = []
    group.connect("notify::members", lambda o, p: members.append(list(o.props.members)))
    completed = []
    group.connect("completed", lambda g, transfers: completed.append(transfers.unpack()))

    d = downloader(client, completion_group=group)
    assert d.get_completion_group() is group
    u = Bgt.Uploader.new(client)
    u.set_completion_group(group)
    assert u.props.completion_group is group
    u.set_completion_group(None)
    assert u.get_completion_group() is None
    ok = call(d, "create_download", nginx.url("slow/medium.bin"),
              Gio.File.new_for_path(str(dest_dir / "ok")))
    missing = call(d, "create_download", nginx.url("nothing.bin"),
                   Gio.File.new_for_path(str(dest_dir / "missing")))
    assert members[-1] == [ok.get_object_path(), missing.get_object_path()]
    # The service's own list agrees
    call(group, "refresh")
    assert sorted(group.props.members) == sorted(members[-1])
    # One object per group
    assert call(client, "get_completion_group", group.get_object_path()) is group
    with raises(Bgt.Error.NOT_FOUND):
        call(client, "get_completion_group", "/not/a/group")

    enabled = []
    group.connect("notify::enabled", lambda o, p: enabled.append(o.props.enabled))
    assert call(group, "enable")
    assert enabled == [True] and group.props.enabled
    assert not completed
    wait_for(lambda: completed, 60, "Completed")
    # The members' own objects hear their end too (the service may send
    # Completed first)
    wait_for(lambda: ok.props.status == S.COMPLETED, 10, "the member's status")
    statuses = {m["id"]: (m["status"], m.get("error-status", "")) for m in completed[0]}
    assert statuses == {ok.get_id(): ("completed", ""),
                        missing.get_id(): ("error", "not-found")}


# ---- A transfer's properties and signals -----------------------------------

def test_download_properties_notify_and_ranges(client, nginx, dest_dir):
    d = downloader(client, tag="a tag", priority=Bgt.Priority.HIGH,
                   cost_policy=Bgt.CostPolicy.ALWAYS, start=False)
    dest = dest_dir / "m.bin"
    t = call(d, "create_download", nginx.url("slow/medium.bin"), Gio.File.new_for_path(str(dest)))
    assert t.get_client() is client and t.props.client is client
    assert t.get_kind() == Bgt.TransferKind.DOWNLOAD
    assert t.get_status() == S.IDLE
    assert t.get_uri() == nginx.url("slow/medium.bin")
    assert t.get_method() == "GET"
    assert t.get_tag() == "a tag" and t.get_group() is None
    assert t.get_priority() == Bgt.Priority.HIGH
    assert t.get_cost_policy() == Bgt.CostPolicy.ALWAYS
    assert t.get_destination() == str(dest)
    assert t.get_created_time() > 0 and t.get_completed_time() == 0
    # Before the first response the size is unknown: -1, and so is progress
    assert t.get_total_bytes_to_receive() == -1 and t.get_progress() == -1.0
    assert t.get_bytes_received() == 0 and t.get_bytes_sent() == 0
    assert t.dup_ranges().unpack() == []
    assert not t.is_finished()

    progress, added = [], []
    t.connect("notify::progress", lambda o, p: progress.append(o.props.progress))
    t.connect("ranges-added", lambda o, ranges, restarted: added.append(
        (ranges.unpack(), restarted)))
    call(t, "start")
    assert call(t, "wait") is True
    size = 4 * MIB
    assert t.get_status() == S.COMPLETED and t.is_finished()
    assert t.get_bytes_received() == t.get_total_bytes_to_receive() == size
    assert t.get_progress() == 1.0
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert any(0 < p < 1 for p in progress), "progress between the ends"
    assert t.props.ranges.unpack() == [(0, size)] == t.dup_ranges().unpack()
    # RangesAdded: each byte once, never a restart
    covered = sorted(r for ranges, _ in added for r in ranges)
    assert sum(length for _, length in covered) == size
    assert not any(restarted for _, restarted in added)
    assert t.get_http_status() == 200 and t.get_attempts() == 1
    assert t.get_actual_uri() == nginx.url("slow/medium.bin")
    assert t.get_error_status() == E.NONE and t.get_error_message() is None
    assert t.get_completed_time() >= t.get_created_time()
    assert t.get_rate() >= 0
    headers = dict(t.props.response_headers.unpack())
    assert headers["Content-Length"] == str(size)
    assert t.dup_response_headers()["content-length"] == str(size)
    assert sha256_file(dest) == nginx.files["medium.bin"]


def test_unknown_size_is_minus_one(client, server, dest_dir):
    """A body without a length: the total is -1 (not G_MAXUINT64, which
    JavaScript cannot hold), progress -1 until the end."""
    go_on = threading.Event()

    def chunked(conn, req, n):
        conn.head(200, [("Transfer-Encoding", "chunked")])
        conn.send(b"1000\r\n" + b"a" * 0x1000 + b"\r\n")
        go_on.wait(30)
        conn.send(b"1000\r\n" + b"b" * 0x1000 + b"\r\n0\r\n\r\n")
    server.route("/chunked", chunked)
    t = fetch(client, server.url("chunked"), dest_dir / "c")
    try:
        wait_for(lambda: t.props.bytes_received == 0x1000, 30, "the first chunk")
        assert t.props.total_bytes_to_receive == -1
        assert t.get_progress() == -1.0
    finally:
        go_on.set()
    assert call(t, "wait")
    assert t.props.bytes_received == 0x2000 and t.get_progress() == 1.0


# ---- Methods ------------------------------------------------------------------

def test_start_pause_resume_cancel_remove(client, nginx, dest_dir):
    t = fetch(client, nginx.url("slow/medium.bin"), dest_dir / "p", start=False)
    with raises(Bgt.Error.INVALID_STATE):
        call(t, "remove")
    call(t, "start")
    wait_for(lambda: t.props.bytes_received > 0, 30, "bytes")
    call(t, "pause")
    assert t.props.status == S.PAUSED_BY_APPLICATION
    assert t.get_is_resumable() is True  # nginx answers ranges, with an ETag
    call(t, "set_priority", Bgt.Priority.LOW)
    call(t, "set_cost_policy", Bgt.CostPolicy.UNRESTRICTED_ONLY)
    call(t, "refresh")
    assert t.props.priority == Bgt.Priority.LOW
    assert t.props.cost_policy == Bgt.CostPolicy.UNRESTRICTED_ONLY
    call(t, "resume")
    wait_for(lambda: t.props.status == S.RUNNING, 20, "running again")
    call(t, "cancel")
    assert outcome(t) == S.CANCELED
    with raises(Bgt.Error.INVALID_STATE):
        call(t, "start")
    call(t, "remove")
    with raises(Bgt.Error.NOT_FOUND):
        call(t, "refresh")


def test_wait_sync_and_cancelled_wait(client, nginx, dest_dir):
    t = fetch(client, nginx.url("slow/medium.bin"), dest_dir / "w")
    cancellable = Gio.Cancellable()
    box = []
    t.wait_async(cancellable, lambda o, r: box.append(r))
    cancellable.cancel()
    wait_for(lambda: box, 10, "the cancelled wait")
    with pytest.raises(GLib.Error) as e:
        t.wait_finish(box[0])
    assert e.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
    assert not t.is_finished(), "cancelling the wait leaves the transfer alone"
    assert t.wait_sync(None) is True


def test_set_requested_uri(client, nginx, dest_dir):
    """The same resource under a new URI: the download continues from its
    data (a Range request to the new URI)."""
    dest = dest_dir / "moved.bin"
    t = fetch(client, nginx.url("slow/medium.bin"), dest)
    wait_for(lambda: t.props.bytes_received >= 512 * KIB, 30, "some data")
    call(t, "pause")
    kept = t.props.bytes_received
    uris = []
    t.connect("notify::uri", lambda o, p: uris.append(o.props.uri))
    call(t, "set_requested_uri", nginx.url("medium.bin"))
    wait_for(lambda: uris, 10, "the new URI")
    assert t.get_uri() == nginx.url("medium.bin")
    call(t, "resume")
    assert call(t, "wait")
    assert sha256_file(dest) == nginx.files["medium.bin"]
    # Continued at the new URI from the data kept, not from zero
    line = [l for l in nginx.access_log() if "GET /medium.bin " in l][-1]
    assert 'range="bytes=' in line, line
    offset = int(line.split('range="bytes=')[1].split("-")[0])
    assert 0 < offset <= kept
    with raises(Bgt.Error.INVALID_STATE):
        call(t, "set_requested_uri", nginx.url("small.txt"))


def test_open_result_reads_the_data(client, nginx, dest_dir):
    t = fetch(client, nginx.url("slow/medium.bin"), dest_dir / "r")
    wait_for(lambda: t.props.bytes_received >= 256 * KIB, 30, "some data")
    call(t, "pause")
    stream = call(t, "open_result")
    assert isinstance(stream, Gio.InputStream)
    partial = stream.read_bytes(8 * MIB, None).get_data()
    stream.close(None)
    assert len(partial) >= 256 * KIB
    call(t, "resume")
    assert call(t, "wait")
    whole = call(t, "open_result").read_bytes(8 * MIB, None).get_data()
    assert hashlib.sha256(whole).hexdigest() == nginx.files["medium.bin"]
    assert whole[:len(partial)] == partial


# ---- The downloader's options ------------------------------------------------

COMMON = ["client", "cost-policy", "priority", "group", "tag", "start", "completion-group",
          "max-rate", "method", "show-notifications", "notify-success-title",
          "notify-success-body", "notify-failure-title", "notify-failure-body"]


def test_downloader_and_uploader_are_symmetric(client):
    """The options both kinds share are the same properties on both."""
    def specs(cls):
        return {p.name: (p.value_type, p.flags, p.default_value)
                for p in cls.list_properties()}
    down, up = specs(Bgt.Downloader), specs(Bgt.Uploader)
    for name in COMMON:
        assert name in down and down[name] == up[name], name
    assert down["max-rate"][0] == GObject.TYPE_INT64
    for cls, new in ((Bgt.Downloader, Bgt.Downloader.new), (Bgt.Uploader, Bgt.Uploader.new)):
        obj = new(client)
        assert obj.get_client() is client and obj.props.client is client
        changes = []
        obj.connect("notify", lambda o, p: changes.append(p.name))
        obj.set_max_rate(1000)
        obj.set_max_rate(1000)  # no change, no notify
        obj.set_method("PUT")
        obj.set_tag("t")
        obj.set_group("g")
        obj.set_priority(Bgt.Priority.LOW)
        obj.set_cost_policy(Bgt.CostPolicy.ALWAYS)
        obj.set_start(False)
        obj.set_show_notifications(True)
        obj.set_notification_texts("a", "b", "c", None)
        assert changes[:8] == ["max-rate", "method", "tag", "group", "priority", "cost-policy",
                               "start", "show-notifications"]
        # set at once: notified together, in no particular order
        assert sorted(changes[8:]) == ["notify-failure-title", "notify-success-body",
                                       "notify-success-title"]
        assert (obj.get_max_rate(), obj.get_method(), obj.get_tag(), obj.get_group(),
                obj.get_priority(), obj.get_cost_policy(), obj.get_start(),
                obj.get_show_notifications()) == \
            (1000, "PUT", "t", "g", Bgt.Priority.LOW, Bgt.CostPolicy.ALWAYS, False, True)
        assert (obj.props.notify_success_title, obj.props.notify_success_body) == ("a", "b")
        assert obj.props.notify_failure_title == "c" and obj.props.notify_failure_body is None
        assert obj.get_completion_group() is None


def test_download_options_reach_the_service(client, server, dest_dir):
    seen = []

    def handler(conn, req, n):
        seen.append(req)
        conn.respond(200, b"hello")
    server.route("/opts", handler)
    d = downloader(client, method="POST", tag="t1", group="grp",
                   priority=Bgt.Priority.LOW, cost_policy=Bgt.CostPolicy.ALWAYS)
    d.set_request_header("X-Test", "yes")
    d.set_request_header("X-Gone", "no")
    d.set_request_header("X-Gone", None)
    t = call(d, "create_download", server.url("opts"), Gio.File.new_for_path(str(dest_dir / "o")))
    assert call(t, "wait")
    assert seen[0].method == "POST" and t.props.method == "POST"
    assert seen[0].header("x-test") == "yes" and seen[0].header("x-gone") is None
    assert (t.props.tag, t.props.group) == ("t1", "grp")
    assert (dest_dir / "o").read_bytes() == b"hello"


def test_server_credential(client, server, dest_dir):
    import base64
    good = "Basic " + base64.b64encode(b"alice:secret").decode()
    server.route("/auth", lambda c, r, n: c.respond(200, b"in") if r.header("authorization") == good
                 else c.respond(401, b"no", [("WWW-Authenticate", 'Basic realm="r"')]))
    d = downloader(client)
    d.set_server_credential("alice", "secret")
    t = call(d, "create_download", server.url("auth"), Gio.File.new_for_path(str(dest_dir / "a")))
    assert call(t, "wait"), t.props.error_message
    assert (dest_dir / "a").read_bytes() == b"in"


@pytest.fixture
def proxied(tmp_path):
    """A service whose HTTP goes through a proxy that wants credentials."""
    import base64
    proxy = FaultServer()
    good = "Basic " + base64.b64encode(b"pat:proxy-secret").decode()
    proxy.route("/through", lambda c, r, n: c.respond(200, b"via the proxy")
                if r.header("proxy-authorization") == good
                else c.respond(407, b"who", [("Proxy-Authenticate", 'Basic realm="p"')]))
    bus = ServiceBus(tmpdir=str(tmp_path / "s"),
                     env={"http_proxy": proxy.url(""), "HTTP_PROXY": proxy.url(""),
                          "no_proxy": "", "NO_PROXY": ""})
    yield bus.client("org.example.Proxied"), proxy
    bus.close()
    proxy.close()


def test_proxy_credential(proxied, tmp_path):
    client, proxy = proxied
    d = Bgt.Downloader.new(client)
    d.set_proxy_credential("pat", "proxy-secret")
    t = call(d, "create_download", "http://example.invalid/through",
             Gio.File.new_for_path(str(tmp_path / "p")))
    assert call(t, "wait"), t.props.error_message
    assert (tmp_path / "p").read_bytes() == b"via the proxy"


def test_upload_proxy_credential(proxied, tmp_path):
    client, proxy = proxied
    src = tmp_path / "src"
    src.write_bytes(b"up")
    u = Bgt.Uploader.new(client)
    u.set_proxy_credential("pat", "proxy-secret")
    u.set_method("PUT")
    t = call(u, "create_upload", "http://example.invalid/through",
             Gio.File.new_for_path(str(src)))
    assert call(t, "wait"), t.props.error_message


def test_mirrors(client, nginx, dest_dir):
    d = downloader(client)
    d.set_mirrors([nginx.url("medium.bin")])
    assert list(d.get_mirrors()) == [nginx.url("medium.bin")]
    t = call(d, "create_download", nginx.url("nope.bin"),
             Gio.File.new_for_path(str(dest_dir / "m")))
    assert call(t, "wait"), t.props.error_message
    assert t.props.actual_uri == nginx.url("medium.bin")
    assert sha256_file(dest_dir / "m") == nginx.files["medium.bin"]
    d.set_mirrors(None)
    assert not d.get_mirrors()


def test_checksum_and_overwrite(client, nginx, dest_dir):
    dest = dest_dir / "s.txt"
    dest.write_bytes(b"old")
    with raises(Bgt.Error.INVALID_ARGUMENT):
        fetch(client, nginx.url("small.txt"), dest)
    d = downloader(client, checksum="sha256:" + nginx.files["small.txt"])
    assert d.get_overwrite() is False
    d.set_overwrite(True)
    assert d.get_overwrite() is True and d.get_checksum().startswith("sha256:")
    t = call(d, "create_download", nginx.url("small.txt"), Gio.File.new_for_path(str(dest)))
    assert call(t, "wait")
    assert sha256_file(dest) == nginx.files["small.txt"]
    bad = fetch(client, nginx.url("small.txt"), dest_dir / "bad", checksum="sha256:" + "0" * 64)
    assert outcome(bad) == S.ERROR
    assert bad.props.error_status == E.CHECKSUM_MISMATCH


def test_if_changed_fail(client, server, dest_dir):
    body1, body2 = payload(300 * KIB, 1), payload(300 * KIB, 2)

    def handler(conn, req, n):
        if n == 1:
            conn.head(200, [("Content-Length", str(len(body1))), ("ETag", '"v1"')])
            conn.send(body1[:100 * KIB])
            conn.cut("reset")
        else:
            conn.respond(200, body2, [("ETag", '"v2"')])
    server.route("/changing", handler)
    t = fetch(client, server.url("changing"), dest_dir / "c", if_changed=Bgt.IfChanged.FAIL)
    assert outcome(t) == S.ERROR
    assert t.props.error_status == E.RESOURCE_CHANGED
    d = downloader(client)
    assert d.get_if_changed() == Bgt.IfChanged.RESTART
    d.set_if_changed(Bgt.IfChanged.FAIL)
    assert d.props.if_changed == Bgt.IfChanged.FAIL


def test_max_rate(client, server, dest_dir):
    size, rate = 512 * KIB, 256 * KIB
    body = payload(size)
    server.route("/rated", lambda c, r, n: c.respond(200, body))
    started = time.monotonic()
    t = fetch(client, server.url("rated"), dest_dir / "r", max_rate=rate)
    assert call(t, "wait")
    elapsed = time.monotonic() - started
    assert elapsed >= size / rate * 0.8, f"{size} B at {rate} B/s took {elapsed:.2f} s"


@pytest.mark.parametrize("option", ["connections", "random-access"])
def test_segment_options_reach_the_service(client, nginx, dest_dir, option):
    """connections and random-access: the service this library ships with
    may not take them yet; then it names the option it refused."""
    d = downloader(client)
    if option == "connections":
        d.set_connections(2)
        assert d.get_connections() == 2
    else:
        d.set_random_access(True)
        assert d.get_random_access() is True
    try:
        t = call(d, "create_download", nginx.url("medium.bin"),
                 Gio.File.new_for_path(str(dest_dir / "seg")))
    except GLib.Error as e:
        assert option in e.message, e.message
        return
    assert call(t, "wait")
    assert sha256_file(dest_dir / "seg") == nginx.files["medium.bin"]


def test_notification_texts(bus, client, nginx, dest_dir, notifications):  # noqa: F811
    d = downloader(client)
    d.set_notification_texts("Fetched", "It is here", "Failed", "It is not")
    assert d.props.show_notifications is True
    assert (d.props.notify_success_title, d.props.notify_success_body) == \
        ("Fetched", "It is here")
    assert call(call(d, "create_download", nginx.url("small.txt"),
                     Gio.File.new_for_path(str(dest_dir / "n"))), "wait")
    wait_for(lambda: notifications(), 20, "a notification")
    summary, body = notifications()[-1][3:5]
    assert (summary, body) == ("Fetched", "It is here")


def test_download_for_fd(client, nginx, dest_dir):
    path = dest_dir / "fd.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        t = call(downloader(client), "create_download_for_fd", nginx.url("medium.bin"), fd)
    finally:
        os.close(fd)
    assert call(t, "wait")
    assert t.get_destination() is None
    assert sha256_file(path) == nginx.files["medium.bin"]


# ---- The uploader -------------------------------------------------------------

@pytest.fixture
def receiver():
    """Parses multipart bodies and echoes what it received as JSON."""
    server = FaultServer()

    def form(conn, req, n):
        ctype = req.header("content-type")
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + req.body)
        parts = [{"name": p.get_param("name", header="content-disposition"),
                  "filename": p.get_filename(), "content-type": p.get_content_type(),
                  "x-part": p.get("X-Part"), "data": p.get_payload(decode=True).decode("latin-1")}
                 for p in msg.iter_parts()]
        conn.respond(200, json.dumps(parts).encode(), [("Content-Type", "application/json")])
    server.route("/form", form)
    server.route("/echo", lambda c, r, n: c.respond(201, json.dumps({
        "method": r.method, "body": r.body.decode("latin-1"),
        "tus": r.header("tus-resumable")}).encode()))
    yield server
    server.close()


def test_upload_of_a_file_and_its_response(client, nginx, receiver, tmp_path):
    src = tmp_path / "up.txt"
    src.write_bytes(b"upload me")
    u = Bgt.Uploader.new(client)
    u.set_method("PUT")
    assert u.get_method() == "PUT" and u.get_resumable() is False
    t = call(u, "create_upload", nginx.url("dav/up.txt"), Gio.File.new_for_path(str(src)))
    assert t.get_kind() == Bgt.TransferKind.UPLOAD and t.get_source() == str(src)
    assert call(t, "wait"), t.props.error_message
    assert t.get_bytes_sent() == t.get_total_bytes_to_send() == 9
    assert t.get_progress() == 1.0
    assert open(os.path.join(nginx.dav, "up.txt"), "rb").read() == b"upload me"

    # The reply, kept by the service, as a stream
    u = Bgt.Uploader.new(client)
    t = call(u, "create_upload", receiver.url("echo"), Gio.File.new_for_path(str(src)))
    assert call(t, "wait")
    reply = json.loads(call(t, "open_response").read_bytes(MIB, None).get_data())
    assert reply == {"method": "POST", "body": "upload me", "tus": None}


def test_upload_for_fd_and_response_destinations(client, receiver, tmp_path):
    src = tmp_path / "src.txt"
    src.write_bytes(b"from an fd")
    u = Bgt.Uploader.new(client)
    reply_path = tmp_path / "reply.json"
    u.set_response_destination(Gio.File.new_for_path(str(reply_path)))
    assert u.get_response_destination().get_path() == str(reply_path)
    fd = os.open(src, os.O_RDONLY)
    try:
        t = call(u, "create_upload_for_fd", receiver.url("echo"), fd)
    finally:
        os.close(fd)
    assert call(t, "wait"), t.props.error_message
    assert t.get_source() is None
    assert json.loads(reply_path.read_bytes())["body"] == "from an fd"

    # The reply into an fd the app opened
    out = tmp_path / "reply-fd.json"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        assert u.set_response_destination_fd(fd)
    finally:
        os.close(fd)
    assert u.get_response_destination() is None
    t = call(u, "create_upload", receiver.url("echo"), Gio.File.new_for_path(str(src)))
    assert call(t, "wait"), t.props.error_message
    assert json.loads(out.read_bytes())["body"] == "from an fd"


def test_multipart_parts_of_every_kind(client, receiver, tmp_path):
    a = tmp_path / "a.txt"
    a.write_bytes(b"file a")
    b = tmp_path / "b.txt"
    b.write_bytes(b"file b by fd")
    parts = []
    part = Bgt.ContentPart.new_for_file("a", Gio.File.new_for_path(str(a)))
    assert part.get_name() == "a" and part.get_filename() == "a.txt"
    part.set_content_type("text/x-a")
    part.set_header("X-Part", "1")
    assert part.get_content_type() == part.props.content_type == "text/x-a"
    parts.append(part)
    fd = os.open(b, os.O_RDONLY)
    try:
        part = Bgt.ContentPart.new_for_fd("b", fd)
    finally:
        os.close(fd)  # the part keeps its own duplicate
    part.set_filename("b.bin")
    assert part.props.filename == "b.bin"
    parts.append(part)
    parts.append(Bgt.ContentPart.new_for_value("c", "a value"))
    parts.append(Bgt.ContentPart.new_for_bytes("d", GLib.Bytes.new(b"\x00\x01bytes")))
    u = Bgt.Uploader.new(client)
    t = call(u, "create_multipart_upload", receiver.url("form"), parts)
    assert call(t, "wait"), t.props.error_message
    got = json.loads(call(t, "open_response").read_bytes(MIB, None).get_data())
    assert [(p["name"], p["filename"], p["data"]) for p in got] == [
        ("a", "a.txt", "file a"), ("b", "b.bin", "file b by fd"), ("c", None, "a value"),
        ("d", None, "\x00\x01bytes")]
    assert got[0]["content-type"] == "text/x-a" and got[0]["x-part"] == "1"


def test_resumable_uploads_speak_tus(client, receiver, tmp_path):
    src = tmp_path / "t.bin"
    src.write_bytes(b"tus")
    u = Bgt.Uploader.new(client)
    u.set_resumable(True)
    assert u.props.resumable is True
    t = call(u, "create_upload", receiver.url("echo"), Gio.File.new_for_path(str(src)))
    outcome(t)
    # The creation request of tus, whatever this server makes of it
    assert receiver.requests_to("/echo")[0].header("tus-resumable") == "1.0.0"
