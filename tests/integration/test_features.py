# test_features.py: the features a user relies on, end to end
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Completion groups (the Completed signal and the wake-up of an app that is
# not running), notifications, serialized and parallel groups, priority and
# SetPriority under a limit of one, the concurrency and per-host limits,
# GetTransfers filters, per-transfer max-rate, OpenResult, Rate, retention,
# `bgtransfer monitor` and shell completion. (The Vala vapi: test_bindings.py.)
#
# Scheduling is proved from the server's side: timednginx logs when each
# request started and ended, so overlap and order are what nginx saw.

import fcntl
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import bgtharness
from bgtharness import (BUILDDIR, BUS_NAME, MANAGER_IFACE, MANAGER_PATH, SRCDIR, TRANSFER_IFACE,
                        Bgt, GLib, Gio, ServiceBus, call, make_file, sha256_file, wait_for)
from timednginx import SLACK, TimedNginx, max_overlap

S = Bgt.Status
KIB = 1024
MIB = 1024 * KIB
GROUP_IFACE = "org.freedesktop.BackgroundTransfer.CompletionGroup"
CLI = os.path.join(BUILDDIR, "libbgtransfer", "tools", "bgtransfer")
HERE = os.path.dirname(os.path.abspath(__file__))

# /slow/ at 128 KiB/s. nginx's limit_rate lets a second's worth go at once
# and counts in whole seconds of its clock, so a file of three times the
# rate takes between 1 and 2 s, and one of four times between 2 and 3 s
SLOW_RATE = 128 * KIB
FILES = {"a.bin": 3 * SLOW_RATE, "q.bin": 3 * SLOW_RATE, "m.bin": 4 * SLOW_RATE,
         "small.txt": 4096}


@pytest.fixture(scope="module")
def www():
    root = tempfile.mkdtemp(prefix="bgt-www-features-")
    shas = {name: make_file(os.path.join(root, name), size) for name, size in FILES.items()}
    # Several names for one file, so that the log tells the transfers apart
    for base in ("a", "q", "m"):
        for i in range(10):
            os.link(os.path.join(root, f"{base}.bin"), os.path.join(root, f"{base}{i}.bin"))
            shas[f"{base}{i}.bin"] = shas[f"{base}.bin"]
    yield root, shas
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server(www):
    """A fresh timed nginx per test: its log holds this test's requests only."""
    srv = TimedNginx(www[0], slow_rate=f"{SLOW_RATE // KIB}k")
    srv.shas = www[1]
    srv.root = www[0]
    yield srv
    srv.close()


# ---- Raw D-Bus, for what the library does not say (or to say it exactly) --

class App:
    """One application's connection to the service, speaking raw D-Bus."""

    def __init__(self, bus, app_id):
        self.bus = bus
        self.app_id = app_id
        self.conn = bus.connect()

    def _call(self, path, iface, method, args=None, reply_type=None, fd_list=None):
        reply, out_fds = self.conn.call_with_unix_fd_list_sync(
            BUS_NAME, path, iface, method, args, reply_type, Gio.DBusCallFlags.NONE, 30000,
            fd_list, None)
        return reply, out_fds

    def manager(self, method, signature, *args):
        reply, _ = self._call(MANAGER_PATH, MANAGER_IFACE, method, GLib.Variant(signature, args))
        return reply.unpack()

    def options(self, **opts):
        out = {"app-id": GLib.Variant("s", self.app_id)}
        for key, value in opts.items():
            out[key.replace("_", "-")] = value
        return out

    def download(self, uri, dest, **opts):
        return self.manager("CreateDownload", "(sa{sv})", uri,
                            self.options(destination=GLib.Variant("s", str(dest)), **opts))[0]

    def upload(self, uri, source, **opts):
        return self.manager("CreateUpload", "(sa{sv})", uri,
                            self.options(source=GLib.Variant("s", str(source)), **opts))[0]

    def transfers(self, **filters):
        return self.manager("GetTransfers", "(a{sv})", self.options(**filters))[0]

    def get(self, path, prop, iface=TRANSFER_IFACE):
        reply, _ = self._call(path, "org.freedesktop.DBus.Properties", "Get",
                              GLib.Variant("(ss)", (iface, prop)))
        return reply.unpack()[0]

    def transfer(self, path, method, signature=None, *args):
        reply, fds = self._call(path, TRANSFER_IFACE, method,
                                GLib.Variant(signature, args) if signature else None)
        return reply, fds

    def status(self, path):
        return self.get(path, "Status")

    def wait_finished(self, paths, timeout=60):
        finished = ("completed", "error", "canceled")
        wait_for(lambda: all(self.status(p) in finished for p in paths), timeout,
                 "the transfers to end")

    def open_result(self, path):
        reply, fds = self.transfer(path, "OpenResult")
        return fds.get(reply.unpack()[0])

    def close(self):
        self.conn.close_sync(None)


def read_fd(fd):
    with os.fdopen(fd, "rb") as f:
        return f.read()


def file_bytes(server, name):
    with open(os.path.join(server.root, name), "rb") as f:
        return f.read()


def library_download(client, uri, dest, start=True, **props):
    d = Bgt.Downloader.new(client)
    d.set_start(start)
    for key, value in props.items():
        d.set_property(key.replace("_", "-"), value)
    return call(d, "create_download", uri, Gio.File.new_for_path(str(dest)))


def wait_all(transfers, timeout=60):
    wait_for(lambda: all(t.props.status in (S.COMPLETED, S.ERROR, S.CANCELED)
                         for t in transfers), timeout, "the transfers to end")
    for t in transfers:
        assert t.props.status == S.COMPLETED, t.props.error_message


def slow_requests(server):
    return [r for r in server.requests("/slow/") if r.method == "GET"]


# ---- 1. Completion groups (docs/contract.md) -----------------------------

def member_statuses(transfers):
    """{id: (status, error-status)} from the aa{sv} of Completed/ActivateAction."""
    return {m["id"]: (m["status"], m.get("error-status", "")) for m in transfers}


def test_completion_group_completed_signal_to_the_live_owner(bus, server, dest_dir):
    app = App(bus, "org.example.Live")
    other = App(bus, "org.example.Other")
    other.transfers()  # binds its app id
    group = app.manager("CreateCompletionGroup", "(a{sv})",
                        app.options(action=GLib.Variant("s", "transfers-done")))[0]
    assert group.startswith("/org/freedesktop/BackgroundTransfer/completion_group/")
    assert app.get(group, "Action", GROUP_IFACE) == "transfers-done"
    assert app.get(group, "Enabled", GROUP_IFACE) is False

    received, overheard = [], []

    def subscribe(a, box):
        return a.conn.signal_subscribe(None, GROUP_IFACE, "Completed", group, None,
                                       Gio.DBusSignalFlags.NONE,
                                       lambda c, s, p, i, n, params: box.append(params.unpack()))
    subs = [(app, subscribe(app, received)), (other, subscribe(other, overheard))]
    cg = GLib.Variant("o", group)
    ok = app.download(server.url("slow/a0.bin"), dest_dir / "ok.bin", completion_group=cg)
    missing = app.download(server.url("nothing-here.bin"), dest_dir / "missing.bin",
                           completion_group=cg)
    canceled = app.download(server.url("a1.bin"), dest_dir / "canceled.bin",
                            completion_group=cg, start=GLib.Variant("b", False))
    app.transfer(canceled, "Cancel")
    assert sorted(app.get(group, "Members", GROUP_IFACE)) == sorted([ok, missing, canceled])

    app._call(group, GROUP_IFACE, "Enable")
    assert app.get(group, "Enabled", GROUP_IFACE) is True
    # Not before every member has ended: the slow one is still running
    assert app.status(ok) == "running" and not received

    wait_for(lambda: received, 30, "Completed on the owner's connection")
    assert app.status(ok) == "completed"
    (members,) = received[0]
    ids = {p: app.get(p, "Id") for p in (ok, missing, canceled)}
    assert len(members) == 3
    assert member_statuses(members) == {
        ids[ok]: ("completed", ""),
        ids[missing]: ("error", "not-found"),
        ids[canceled]: ("canceled", ""),
    }
    by_id = {m["id"]: m for m in members}
    assert by_id[ids[ok]]["destination"] == str(dest_dir / "ok.bin")

    # Unicast: another app's connection did not hear it. A round trip to the
    # service from that connection comes after any signal sent before it.
    other.transfers()
    ctx = GLib.MainContext.default()
    while ctx.iteration(False):
        pass
    assert overheard == []
    # Once only
    assert len(received) == 1
    for a, sub in subs:
        a.conn.signal_unsubscribe(sub)


def test_completion_group_reports_a_member_archived_meanwhile(bus, server, dest_dir):
    """Only the 64 most recently used finished transfers stay objects
    (bt-archive.c): a member that ended long before its group fires is read
    back from the store, and reported as any other."""
    app = App(bus, "org.example.Archived")
    group = app.manager("CreateCompletionGroup", "(a{sv})",
                        app.options(action=GLib.Variant("s", "transfers-done")))[0]
    received = []
    app.conn.signal_subscribe(None, GROUP_IFACE, "Completed", group, None,
                              Gio.DBusSignalFlags.NONE,
                              lambda c, s, p, i, n, params: received.append(params.unpack()))
    cg = GLib.Variant("o", group)
    early = app.download(server.url("a0.bin"), dest_dir / "early.bin", completion_group=cg)
    late = app.download(server.url("a1.bin"), dest_dir / "late.bin", completion_group=cg,
                        start=GLib.Variant("b", False))
    app.wait_finished([early])
    ids = {p: app.get(p, "Id") for p in (early, late)}
    # 66 more finish after it; GetTransfers does not count as a use
    completed = GLib.Variant("as", ["completed"])
    for i in range(66):
        app.download(server.url("a0.bin"), dest_dir / f"other{i}.bin")
    wait_for(lambda: len(app.transfers(status=completed)) == 67, 60, "67 downloads")
    assert f"Transfer {ids[early]} archived" in bus.service_log()

    # Enabled, the group still waits for the member that has not run
    app._call(group, GROUP_IFACE, "Enable")
    app.transfers()
    ctx = GLib.MainContext.default()
    while ctx.iteration(False):
        pass
    assert not received
    app.transfer(late, "Start")
    wait_for(lambda: received, 30, "Completed")
    (members,) = received[0]
    assert member_statuses(members) == {ids[early]: ("completed", ""),
                                        ids[late]: ("completed", "")}
    by_id = {m["id"]: m for m in members}
    assert by_id[ids[early]]["destination"] == str(dest_dir / "early.bin")
    assert by_id[ids[late]]["destination"] == str(dest_dir / "late.bin")
    assert f"Transfer {ids[early]} read back" in bus.service_log()
    assert len(received) == 1


def install_woken_app(bus, app_id, output):
    """A .service file in the test bus's service directory: the bus starts
    woken_app.py when something calls app_id."""
    with open(os.path.join(bus.servicedir, app_id + ".service"), "w") as f:
        f.write("[D-BUS Service]\n"
                f"Name={app_id}\n"
                f"Exec={sys.executable} {os.path.join(HERE, 'woken_app.py')} {app_id} {output}\n")


def test_completion_group_wakes_an_app_that_is_not_running(bus, server, dest_dir, tmp_path):
    app_id = "org.example.Woken"
    output = tmp_path / "woken.json"
    install_woken_app(bus, app_id, output)
    assert not bus.has_owner(app_id)

    app = App(bus, app_id)
    group = app.manager("CreateCompletionGroup", "(a{sv})",
                        app.options(action=GLib.Variant("s", "downloads-finished")))[0]
    cg = GLib.Variant("o", group)
    ok = app.download(server.url("slow/a0.bin"), dest_dir / "ok.bin", completion_group=cg)
    missing = app.download(server.url("nothing-here.bin"), dest_dir / "missing.bin",
                           completion_group=cg)
    canceled = app.download(server.url("a1.bin"), dest_dir / "canceled.bin",
                            completion_group=cg, start=GLib.Variant("b", False))
    app.transfer(canceled, "Cancel")
    ids = {p: app.get(p, "Id") for p in (ok, missing, canceled)}
    app._call(group, GROUP_IFACE, "Enable")
    assert app.status(ok) == "running"
    # The app goes away while its transfers run
    app.close()
    assert not bus.has_owner(app_id)

    wait_for(output.exists, 30, "the app to be woken")
    woken = json.loads(output.read_text())
    assert woken["method"] == "ActivateAction"
    assert woken["object-path"] == "/org/example/Woken"
    assert woken["starter-bus-type"] is not None, "not started by D-Bus activation"
    action, parameter, platform_data = woken["args"]
    assert action == "downloads-finished"
    assert len(parameter) == 1
    info = parameter[0]
    assert info["group"] == group
    assert member_statuses(info["transfers"]) == {
        ids[ok]: ("completed", ""),
        ids[missing]: ("error", "not-found"),
        ids[canceled]: ("canceled", ""),
    }
    by_id = {m["id"]: m for m in info["transfers"]}
    assert by_id[ids[ok]]["destination"] == str(dest_dir / "ok.bin")
    assert sha256_file(dest_dir / "ok.bin") == server.shas["a0.bin"]


# ---- 2. Notifications -----------------------------------------------------

@pytest.fixture
def notifications(bus):
    """python-dbusmock's notification daemon on the test's session bus,
    where the service looks for org.freedesktop.Notifications."""
    name = "org.freedesktop.Notifications"
    proc = subprocess.Popen([sys.executable, "-m", "dbusmock", "--template", "notification_daemon"],
                            env=dict(bus.env, DBUS_SESSION_BUS_ADDRESS=bus.address),
                            stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: bus.has_owner(name), 20, "the notification daemon")

        def notify_calls():
            reply = bus.conn.call_sync(name, "/org/freedesktop/Notifications",
                                       "org.freedesktop.DBus.Mock", "GetCalls", None, None,
                                       Gio.DBusCallFlags.NONE, 10000, None)
            # Notify(app_name, replaces_id, app_icon, summary, body, actions, hints, timeout)
            return [args for _, method, args in reply.unpack()[0] if method == "Notify"]
        yield notify_calls
    finally:
        proc.terminate()
        proc.wait(10)


def notify_texts(prefix):
    return GLib.Variant("a{sv}", {
        "success-title": GLib.Variant("s", f"{prefix} done"),
        "success-body": GLib.Variant("s", f"{prefix} is ready"),
        "failure-title": GLib.Variant("s", f"{prefix} failed"),
        "failure-body": GLib.Variant("s", f"{prefix} could not be fetched"),
    })


def test_notifications_success_and_failure_texts(bus, server, dest_dir, notifications):
    app = App(bus, "org.example.Notified")
    good = app.download(server.url("a0.bin"), dest_dir / "good.bin", notify=notify_texts("Good"))
    bad = app.download(server.url("nothing-here.bin"), dest_dir / "bad.bin",
                       notify=notify_texts("Bad"))
    quiet = app.download(server.url("a1.bin"), dest_dir / "quiet.bin")  # no notify option
    app.wait_finished([good, bad, quiet])
    assert [app.status(p) for p in (good, bad, quiet)] == ["completed", "error", "completed"]

    wait_for(lambda: len(notifications()) >= 2, 10, "two notifications")
    calls = notifications()
    texts = sorted((c[3], c[4]) for c in calls)
    assert texts == [("Bad failed", "Bad could not be fetched"), ("Good done", "Good is ready")]
    for c in calls:
        assert c[6].get("desktop-entry") == "org.example.Notified"


# BUG (docs/contract.md: "An app that sets notify without the texts for an outcome
# gets the service's own text for it"): src/bt-manager.c notify_desktop()
# returns without notifying when the app gave no title for the outcome
# (`if (title == NULL) return;`) instead of falling back to a text of the
# service's own. This test asserts the specified behaviour.
def test_notifications_without_texts_use_the_service_text(bus, server, dest_dir, notifications):
    app = App(bus, "org.example.Notified")
    bare = app.download(server.url("a0.bin"), dest_dir / "bare.bin",
                        notify=GLib.Variant("a{sv}", {}))
    only_success = app.download(
        server.url("nothing-here.bin"), dest_dir / "only-success.bin",
        notify=GLib.Variant("a{sv}", {"success-title": GLib.Variant("s", "App says done")}))
    app.wait_finished([bare, only_success])
    assert [app.status(p) for p in (bare, only_success)] == ["completed", "error"]
    wait_for(lambda: len(notifications()) >= 2, 10, "a notification for each outcome")
    summaries = [c[3] for c in notifications()]
    assert all(summaries), summaries
    assert "App says done" not in summaries  # a failure is not told with the success text


# ---- 3. Transfer groups ---------------------------------------------------

def test_serialized_group_never_overlaps_and_keeps_creation_order(bus, client, server, dest_dir):
    call(client, "configure_group", "one-by-one", Bgt.TransferBehavior.SERIALIZED)
    names = ["a3.bin", "a1.bin", "a2.bin"]  # creation order differs from name order
    ts = [library_download(client, server.url("slow/" + n), dest_dir / n, group="one-by-one")
          for n in names]
    wait_all(ts)
    reqs = slow_requests(server)
    assert [r.uri for r in reqs] == ["/slow/" + n for n in names], reqs
    for before, after in zip(reqs, reqs[1:]):
        assert after.start >= before.end - SLACK, f"{after} started before {before} ended"
    assert max_overlap(reqs) == 1
    for n, t in zip(names, ts):
        assert sha256_file(dest_dir / n) == server.shas[n]


def test_parallel_group_overlaps(bus, client, server, dest_dir):
    call(client, "configure_group", "side-by-side", Bgt.TransferBehavior.PARALLEL)
    names = ["a1.bin", "a2.bin", "a3.bin"]
    ts = [library_download(client, server.url("slow/" + n), dest_dir / n, group="side-by-side")
          for n in names]
    wait_all(ts)
    reqs = slow_requests(server)
    assert sorted(r.uri for r in reqs) == sorted("/slow/" + n for n in names)
    assert max_overlap(reqs) == 3, reqs


def test_serialized_group_set_over_the_bus(bus, server, dest_dir):
    """Manager.ConfigureGroup as an app calls it; another app's group of the
    same name is not serialized by it."""
    app = App(bus, "org.example.Serial")
    app.manager("ConfigureGroup", "(sa{sv})", "g",
                app.options(behavior=GLib.Variant("s", "serialized")))
    paths = [app.download(server.url(f"slow/q{i}.bin"), dest_dir / f"q{i}.bin",
                          group=GLib.Variant("s", "g")) for i in range(3)]
    app.wait_finished(paths)
    reqs = slow_requests(server)
    assert [r.uri for r in reqs] == [f"/slow/q{i}.bin" for i in range(3)]
    assert max_overlap(reqs) == 1, reqs


# ---- 4. Priority under max-concurrent-transfers=1 -------------------------

ONE_AT_A_TIME = [{"max-concurrent-transfers": "1"}]


def start_blocker(client, server, dest_dir):
    """A transfer that holds the only slot for two seconds or more."""
    blocker = library_download(client, server.url("slow/m0.bin"), dest_dir / "blocker.bin")
    wait_for(lambda: blocker.props.status == S.RUNNING, 20, "the blocker to run")
    return blocker


@pytest.mark.parametrize("service_settings", ONE_AT_A_TIME, indirect=True)
def test_higher_priority_starts_first(bus, client, server, dest_dir):
    blocker = start_blocker(client, server, dest_dir)
    queued = [
        library_download(client, server.url(f"slow/q{i}.bin"), dest_dir / f"q{i}.bin",
                         priority=p)
        for i, p in enumerate([Bgt.Priority.LOW, Bgt.Priority.DEFAULT, Bgt.Priority.HIGH])
    ]
    for t in queued:
        assert t.props.status == S.IDLE  # waiting for the slot
    wait_all([blocker] + queued)
    reqs = slow_requests(server)
    assert [r.uri for r in reqs] == ["/slow/m0.bin", "/slow/q2.bin", "/slow/q1.bin",
                                     "/slow/q0.bin"], reqs
    assert max_overlap(reqs) == 1


@pytest.mark.parametrize("service_settings", ONE_AT_A_TIME, indirect=True)
def test_set_priority_reorders_the_queue(bus, client, server, dest_dir):
    blocker = start_blocker(client, server, dest_dir)
    first = library_download(client, server.url("slow/q0.bin"), dest_dir / "q0.bin")
    second = library_download(client, server.url("slow/q1.bin"), dest_dir / "q1.bin")
    third = library_download(client, server.url("slow/q2.bin"), dest_dir / "q2.bin")
    call(third, "set_priority", Bgt.Priority.HIGH)
    call(first, "set_priority", Bgt.Priority.LOW)
    assert blocker.props.status == S.RUNNING, "the queue must still be waiting"
    wait_for(lambda: third.props.priority == Bgt.Priority.HIGH, 10, "the new priority")
    wait_all([blocker, first, second, third])
    reqs = slow_requests(server)
    assert [r.uri for r in reqs] == ["/slow/m0.bin", "/slow/q2.bin", "/slow/q1.bin",
                                     "/slow/q0.bin"], reqs


# ---- 5. Concurrency limits ------------------------------------------------

@pytest.mark.parametrize("service_settings", [{"max-concurrent-transfers": "2"}], indirect=True)
def test_max_concurrent_transfers(bus, client, server, dest_dir):
    ts = [library_download(client, server.url(f"slow/q{i}.bin"), dest_dir / f"q{i}.bin")
          for i in range(6)]
    # Never more than two running, as the service reports it
    peak = []
    wait_for(lambda: peak.append(sum(t.props.status == S.RUNNING for t in ts)) or
             all(t.props.status == S.COMPLETED for t in ts), 60, "the downloads")
    assert max(peak) <= 2
    reqs = slow_requests(server)
    assert len(reqs) == 6
    # …and as the server saw it; the limit is used, too
    assert max_overlap(reqs) == 2, reqs


@pytest.mark.parametrize("service_settings", [{"max-concurrent-transfers": "6",
                                               "max-connections-per-host": "2"}], indirect=True)
def test_max_connections_per_host(bus, client, server, dest_dir):
    ts = [library_download(client, server.url(f"slow/q{i}.bin"), dest_dir / f"q{i}.bin")
          for i in range(6)]
    wait_all(ts)
    reqs = slow_requests(server)
    assert len(reqs) == 6
    assert max_overlap(reqs) == 2, reqs
    for i in range(6):
        assert sha256_file(dest_dir / f"q{i}.bin") == server.shas["q.bin"]


def test_small_download_does_not_wait_behind_big_slow_ones(bus, client, dest_dir):
    """Four big slow downloads hold the four slots (the default
    max-concurrent-transfers); a small one queued behind them ends first:
    the big one with the most left yields its slot, and resumes from where
    it stopped as soon as the small one is done (bt-scheduler.c). Never
    more than four run at once."""
    import pathlib
    root = pathlib.Path(tempfile.mkdtemp(prefix="bgt-www-big-"))  # nginx's workers must reach it
    big_size = 24 * MIB
    big_sha = make_file(str(root / "big.bin"), big_size)
    small_sha = make_file(str(root / "small.bin"), 16 * KIB)
    for i in range(4):
        os.link(root / "big.bin", root / f"big{i}.bin")
    server = TimedNginx(str(root), slow_rate="2m")
    try:
        bigs = [library_download(client, server.url(f"slow/big{i}.bin"), dest_dir / f"big{i}.bin")
                for i in range(4)]
        # Running, their size known, their rate measured: big for a while
        wait_for(lambda: all(t.props.status == S.RUNNING and t.props.rate > 0
                             and t.props.total_bytes_to_receive == big_size for t in bigs),
                 30, "the big downloads to run")
        small = library_download(client, server.url("slow/small.bin"), dest_dir / "small.bin")
        assert call(small, "wait")
        assert sha256_file(dest_dir / "small.bin") == small_sha
        # None of the big ones had ended: the small one did not wait for one
        assert all(t.props.status != S.COMPLETED for t in bigs), [t.props.status for t in bigs]
        # One of them yielded and now goes on from where it stopped
        yielded = [t for t in bigs if any(r.uri == f"/slow/{os.path.basename(t.get_destination())}"
                                          and r.sent < big_size
                                          for r in server.requests("/slow/big"))]
        assert len(yielded) == 1, server.requests()
        wait_for(lambda: yielded[0].props.status == S.RUNNING, 10, "the big one to resume")
        reqs = [r for r in server.requests("/slow/") if r.method == "GET"]
        assert max_overlap(reqs) <= 4, reqs
        wait_all(bigs, 60)
        for i in range(4):
            assert sha256_file(dest_dir / f"big{i}.bin") == big_sha
        # The one that yielded asked for the rest only: 5 requests for the
        # big files, 4 × 24 MiB sent in all
        big_reqs = server.requests("/slow/big")
        assert len(big_reqs) == 5, big_reqs
        assert sum(r.sent for r in big_reqs) == 4 * big_size, big_reqs
    finally:
        server.close()
        shutil.rmtree(root, ignore_errors=True)


# ---- 6. GetTransfers filters ----------------------------------------------

def test_get_transfers_filters_return_exactly_the_matching_set(bus, server, dest_dir, tmp_path):
    app = App(bus, "org.example.Filters")
    other = App(bus, "org.example.Someone")
    src = tmp_path / "up.bin"
    make_file(str(src), 1000)
    no = GLib.Variant("b", False)
    g1, g2 = GLib.Variant("s", "g1"), GLib.Variant("s", "g2")

    d_idle_g1 = app.download(server.url("a0.bin"), dest_dir / "1", group=g1, start=no)
    d_done_g1 = app.download(server.url("small.txt"), dest_dir / "2", group=g1)
    d_idle_g2 = app.download(server.url("a1.bin"), dest_dir / "3", group=g2, start=no)
    d_error = app.download(server.url("nothing-here.bin"), dest_dir / "4")
    u_idle_g1 = app.upload(server.url("dav/up.bin"), src, group=g1, start=no,
                           method=GLib.Variant("s", "PUT"))
    u_done = app.upload(server.url("dav/up2.bin"), src, method=GLib.Variant("s", "PUT"))
    # Another app's transfers match the same filters but are not listed
    other.download(server.url("a2.bin"), dest_dir / "5", group=g1, start=no)
    other.download(server.url("small.txt"), dest_dir / "6", group=g1)
    app.wait_finished([d_done_g1, d_error, u_done])
    assert app.status(d_done_g1) == "completed"
    assert app.status(d_error) == "error"
    assert app.status(u_done) == "completed"

    everything = {d_idle_g1, d_done_g1, d_idle_g2, d_error, u_idle_g1, u_done}

    def check(expected, **filters):
        got = app.transfers(**filters)
        assert len(got) == len(set(got)), f"duplicates for {filters}: {got}"
        assert set(got) == expected, filters

    check(everything)
    check({d_idle_g1, d_done_g1, u_idle_g1}, group=g1)
    check({d_idle_g2}, group=g2)
    check(set(), group=GLib.Variant("s", "g3"))
    check({u_idle_g1, u_done}, kind=GLib.Variant("s", "upload"))
    check({d_idle_g1, d_done_g1, d_idle_g2, d_error}, kind=GLib.Variant("s", "download"))
    check({d_idle_g1, d_idle_g2, u_idle_g1}, status=GLib.Variant("as", ["idle"]))
    check({d_done_g1, u_done, d_error}, status=GLib.Variant("as", ["completed", "error"]))
    check(set(), status=GLib.Variant("as", ["running", "canceled"]))
    check({d_idle_g1}, group=g1, kind=GLib.Variant("s", "download"),
          status=GLib.Variant("as", ["idle"]))
    check({u_done}, kind=GLib.Variant("s", "upload"), status=GLib.Variant("as", ["completed"]))
    # A wrongly typed filter is refused rather than ignored
    with pytest.raises(GLib.Error) as e:
        app.transfers(status=GLib.Variant("s", "idle"))
    assert "InvalidArgument" in e.value.message


# ---- 7. Per-transfer max-rate ---------------------------------------------

def test_max_rate_of_a_download(bus, server, dest_dir):
    app = App(bus, "org.example.Rate")
    rate = 256 * KIB
    start = time.monotonic()
    path = app.download(server.url("m1.bin"), dest_dir / "m1.bin",
                        max_rate=GLib.Variant("t", rate))
    app.wait_finished([path])
    elapsed = time.monotonic() - start
    assert app.status(path) == "completed"
    assert sha256_file(dest_dir / "m1.bin") == server.shas["m1.bin"]
    # Lower bound only: 512 KiB at 256 KiB/s is 2 s (nginx alone: milliseconds)
    assert elapsed >= FILES["m.bin"] / rate * 0.8, f"took {elapsed:.2f} s"


# ---- 8. OpenResult --------------------------------------------------------

def test_open_result_for_the_owner(bus, server, dest_dir):
    app = App(bus, "org.example.Reader")
    other = App(bus, "org.example.Snoop")
    other.transfers()
    expected = file_bytes(server, "m2.bin")
    path = app.download(server.url("slow/m2.bin"), dest_dir / "m2.bin")
    wait_for(lambda: app.get(path, "BytesReceived") > 0, 20, "some data")

    # Mid-download: the data so far, read-only
    fd = app.open_result(path)
    assert fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
    so_far = read_fd(fd)
    assert 0 < len(so_far) < len(expected)
    assert so_far == expected[:len(so_far)]
    assert app.status(path) == "running"

    # Not for another app
    with pytest.raises(GLib.Error) as e:
        other.open_result(path)
    assert "AccessDenied" in e.value.message

    app.wait_finished([path])
    assert app.status(path) == "completed"
    assert read_fd(app.open_result(path)) == expected


# ---- 9. Rate --------------------------------------------------------------

def test_rate_while_running_and_zero_at_the_end(bus, client, server, dest_dir):
    t = library_download(client, server.url("slow/m3.bin"), dest_dir / "m3.bin")
    seen = []
    t.connect("notify::rate", lambda obj, pspec: seen.append((obj.props.status, obj.props.rate)))
    wait_for(lambda: t.props.rate > 0 or t.is_finished(), 20, "a rate")
    assert t.props.status == S.RUNNING and t.props.rate > 0
    wait_all([t])
    wait_for(lambda: t.props.rate == 0, 10, "the rate to fall to 0")
    assert t.props.rate == 0
    # As the service says it, not only the library's view
    app = App(bus, "org.example.Tests")
    app.transfers()  # binds the app id: a property read carries none
    assert app.get(t.get_object_path(), "Rate") == 0
    assert any(status == S.RUNNING and rate > 0 for status, rate in seen)


# ---- 10. Retention --------------------------------------------------------

def faketime_lib():
    candidates = glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1") + glob.glob(
        "/usr/lib*/faketime/libfaketimeMT.so.1")
    return candidates[0] if candidates else None


def test_retention_days_forget_finished_transfers_after_restart(tmp_path, server):
    """retention-days=1: a finished transfer whose CompletedTime is older
    than that is gone after a restart; an unfinished one stays; a restart
    within the period keeps both."""
    bgtharness.skip_if(bgtharness.SANITIZED, "the sanitizer job: ASan refuses a preloaded "
                       "libfaketime (its runtime must come first)")
    lib = faketime_lib()
    if lib is None:
        pytest.skip("needs libfaketime")
    clock = tmp_path / "clock"
    clock.write_text("+0\n")
    bus = ServiceBus(settings={"retention-days": "1"}, tmpdir=str(tmp_path / "s"), prefix=(
        f"env LD_PRELOAD={lib} FAKETIME_TIMESTAMP_FILE={clock} FAKETIME_NO_CACHE=1 "
        "DONT_FAKE_MONOTONIC=1"))
    dest = tmp_path / "dl"
    dest.mkdir()
    try:
        app = App(bus, "org.example.Retention")
        done = app.download(server.url("small.txt"), dest / "done.txt")
        waiting = app.download(server.url("a0.bin"), dest / "waiting.bin",
                               start=GLib.Variant("b", False))
        app.wait_finished([done])
        assert app.status(done) == "completed"
        assert app.get(done, "CompletedTime") > 0

        # Restart the same day: both are still there
        bus.kill_service(signal.SIGTERM)
        assert set(app.transfers()) == {done, waiting}
        assert app.status(done) == "completed"

        # Two days later (the service's wall clock), restarted
        bus.kill_service(signal.SIGTERM)
        clock.write_text("+2d\n")
        assert app.transfers() == [waiting]
        assert app.status(waiting) == "idle"
        assert (dest / "done.txt").exists()  # the file is the user's: only the record goes
    finally:
        bus.close()


# ---- 11. bgtransfer monitor -----------------------------------------------

class Lines:
    """A subprocess's stdout, line by line, read by a thread."""

    def __init__(self, proc):
        self.lines = []
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc):
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))


@pytest.mark.parametrize("json_output", [True, False], ids=["json", "plain"])
def test_monitor_prints_a_new_transfer_and_its_end(bus, server, dest_dir, json_output):
    app_id = "org.example.Monitor"
    client = bus.client(app_id)
    env = dict(bus.env, BGTRANSFER_APP_ID=app_id, LC_ALL="C.UTF-8")
    # Something to list first, so that we know when the monitor is watching
    old = library_download(client, server.url("a0.bin"), dest_dir / "old.bin", start=False)
    proc = subprocess.Popen([CLI, "monitor"] + (["--json"] if json_output else []), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = Lines(proc)
        wait_for(lambda: any(old.get_id() in line for line in out.lines), 20,
                 "the monitor to list the existing transfer")
        new = library_download(client, server.url("slow/a1.bin"), dest_dir / "new.bin")
        new_id = new.get_id()
        wait_all([new])

        if json_output:
            def events():
                return [json.loads(line) for line in out.lines]
            wait_for(lambda: any(e["id"] == new_id and e["status"] == "completed"
                                 for e in events()), 20, "the monitor to print the end")
            mine = [e for e in events() if e["id"] == new_id]
            assert mine[0]["event"] == "added"
            assert mine[0]["uri"] == server.url("slow/a1.bin")
            assert mine[-1]["status"] == "completed"
            assert mine[-1]["bytes"] == FILES["a.bin"]
            assert all(e["id"] in (new_id, old.get_id()) for e in events())
        else:
            wait_for(lambda: any(new_id in line and "completed" in line.lower()
                                 for line in out.lines), 20, "the monitor to print the end")
            mine = [line for line in out.lines if new_id in line]
            assert server.url("slow/a1.bin") in mine[0]
        assert proc.poll() is None, "monitor keeps running"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
    assert rc == 0, proc.stderr.read()


# ---- 12. Shell completion -------------------------------------------------

COMPLETION = os.path.join(SRCDIR, "libbgtransfer", "tools", "bgtransfer.bash-completion")


def complete(env, *words, bash_completion=False):
    """COMPREPLY for the command line `words` (the last one is being typed)."""
    script = ""
    if bash_completion:
        script += "source /usr/share/bash-completion/bash_completion\n"
    line = " ".join(words)
    script += f"""
source {COMPLETION}
COMP_WORDS=({' '.join(repr(w) if w else "''" for w in words)})
COMP_CWORD={len(words) - 1}
COMP_LINE={line!r}
COMP_POINT={len(line)}
_bgtransfer bgtransfer {words[-1]!r} {words[-2]!r}
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [w for w in r.stdout.splitlines() if w]


@pytest.mark.parametrize("bash_completion", [False, True], ids=["plain-bash", "bash-completion"])
def test_shell_completion(bus, server, dest_dir, bash_completion):
    if bash_completion and not os.path.exists("/usr/share/bash-completion/bash_completion"):
        pytest.skip("bash-completion is not installed")
    env = dict(bus.env, BGTRANSFER_APP_ID="org.example.Shell",
               PATH=os.path.dirname(CLI) + os.pathsep + os.environ.get("PATH", ""))
    assert complete(env, "bgtransfer", "pa", bash_completion=bash_completion) == ["pause"]
    assert sorted(complete(env, "bgtransfer", "re", bash_completion=bash_completion)) == \
        ["remove", "resume"]
    assert complete(env, "bgtransfer", "show", "--js", bash_completion=bash_completion) == \
        ["--json"]

    mine = [library_download(bus.client("org.example.Shell"), server.url(f"a{i}.bin"),
                             dest_dir / f"mine{i}", start=False) for i in range(2)]
    theirs = library_download(bus.client("org.example.Else"), server.url("a3.bin"),
                              dest_dir / "theirs", start=False)
    ids = sorted(t.get_id() for t in mine)
    assert sorted(complete(env, "bgtransfer", "pause", "", bash_completion=bash_completion)) == ids
    # An id's first characters pick it
    prefix = ids[0][:max(len(os.path.commonprefix(ids)) + 1, 3)]
    assert complete(env, "bgtransfer", "cancel", prefix,
                    bash_completion=bash_completion) == [ids[0]]
    # --app-id on the command line names whose ids
    assert complete(env, "bgtransfer", "pause", "--app-id=org.example.Else", "",
                    bash_completion=bash_completion) == [theirs.get_id()]
