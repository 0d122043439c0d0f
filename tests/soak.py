#!/usr/bin/python3
# soak.py: a chaos soak of bgtransferd, bounded in time
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# About 100 transfers of mixed kinds, sizes and protocols (HTTP from nginx
# and from the fault server, FTP from pyftpdlib, PUT uploads to nginx's
# WebDAV, tus uploads, destinations given as paths and as fds) run while a
# driver, at random, kills the service (SIGKILL, SIGTERM), flips the
# network (offline, metered, roaming: python-dbusmock's NetworkManager and
# ModemManager), the power state (power saver, low battery), pauses,
# resumes, cancels, changes priorities and cost policies, and makes the
# fault server misbehave (resets, early closes, 503 + Retry-After, ranges
# ignored). Then everything is put back, the transfers drain, and the
# service is restarted once more. It fails (exit status 1) unless:
#   - every completed file (download, WebDAV or tus copy) is byte-identical;
#   - every transfer is in a legal final state (completed, canceled, or an
#     error the fault server explains);
#   - no .bgtpart is left beside a finished transfer's destination;
#   - nothing seen completed is lost or changed, also after the restart;
#   - the service's RSS at the end is at most its RSS after the first
#     minute + 5 MiB, and its fd count at most that minute's;
#   - no service died otherwise than by the driver's own kills (the
#     activation wrapper's records and the log's sanitizer/critical lines).
# It prints one summary line:
#   soak: N transfers, K kills, F faults, C completions, B bytes re-fetched, …
#
# Usage (from a build tree):
#   meson devenv -C _build /usr/bin/python3 ../tests/soak.py [--minutes 5]
#       [--transfers 100] [--seed N] [--junit FILE] [--keep]

import argparse
import hashlib
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "integration"))

import bgtharness  # noqa: E402
from bgtharness import (BUS_NAME, MANAGER_IFACE, MANAGER_PATH, TRANSFER_IFACE, Gio,  # noqa: E402
                        GLib, MockModemManager, MockNetworkManager, MockPowerProfiles,
                        MockUPower, Nginx, ServiceBus, SystemBus, sha256_file)
from faultserver import FaultServer  # noqa: E402
from ftpservers import PyFtpd  # noqa: E402

MIB = 1 << 20
FINAL = {"completed", "canceled", "error"}
STATUSES = FINAL | {"idle", "running", "paused-by-application", "paused-costed-network",
                    "paused-no-network", "paused-system-policy", "paused-recoverable-error"}
# What a fault server's transfer may end in when its faults outlast the retries
FAULT_ERRORS = {"connection-reset", "timeout", "server-error", "service-unavailable",
                "protocol-error", "resource-changed", "cannot-connect"}
# Gaps the soak finds that another issue fills, by error message: reported,
# not counted as violations. (fd destinations survive a restart now.)
KNOWN_GAPS = {}
SIZES = [4 << 10, 64 << 10, 300 << 10, 1 * MIB, 3 * MIB, 8 * MIB, 20 * MIB]
SIZE_WEIGHTS = [3, 3, 3, 4, 4, 2, 1]


def log(*args):
    print("#", *args, flush=True)


class Transfer:
    def __init__(self, index, kind, proto, size, sha, uri, src=None, dest=None, fd_dest=False,
                 check=None):
        self.index, self.kind, self.proto = index, kind, proto
        self.size, self.sha, self.uri = size, sha, uri
        self.src, self.dest, self.fd_dest = src, dest, fd_dest
        self.check = check          # for uploads: finds the server's copy
        self.path = None            # the D-Bus object path
        self.props = {}
        self.seen_completed = False
        self.final_seen = None      # the first final status seen
        self.canceled_by_us = False
        self.server_path = None     # the URL path, for the bytes re-fetched

    def name(self):
        return f"#{self.index} {self.kind} {self.proto} {self.size} B"


class Faults:
    """The fault server's downloads: ranges with a strong ETag, and now and
    then a fault, chosen at random per request, while chaos is on."""

    def __init__(self, server, rng):
        self.server = server
        self.rng = rng
        self.files = {}     # path → bytes
        self.served = {}    # path → body bytes sent
        self.injected = 0   # faults of our own (503, range ignored)
        self.on = True      # faults now and then (chaos), or none (the drain)
        self.bad_spell = 0  # the next requests that all fail
        self.lock = threading.Lock()

    def add(self, path, data):
        self.files[path] = data
        self.served[path] = 0
        self.server.route(path, self.handle)

    def count(self, path, n):
        with self.lock:
            self.served[path] += n

    def handle(self, conn, req, n):
        data = self.files[req.path]
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        with self.lock:
            faulty = self.on and (self.bad_spell > 0 or self.rng.random() < 0.4)
            if self.bad_spell > 0:
                self.bad_spell -= 1
            fault = self.rng.choice(["reset", "close", "503", "ignore-range"]) if faulty else None
        if fault == "503":
            with self.lock:
                self.injected += 1
            conn.respond(503, b"busy\n", [("Retry-After", "1")])
            return
        start = req.range_start()
        if_range = req.header("if-range")
        if fault == "ignore-range" and start:
            with self.lock:
                self.injected += 1
            start = None
        if start is not None and (if_range is None or if_range == etag) and start < len(data):
            body = data[start:]
            conn.head(206, [("Content-Length", str(len(body))), ("ETag", etag),
                            ("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")])
        else:
            body = data
            conn.head(200, [("Content-Length", str(len(body))), ("ETag", etag),
                            ("Accept-Ranges", "bytes")])
        if fault in ("reset", "close") and len(body) > 1:
            cut = self.rng.randrange(1, len(body))
            sent = 0
            try:
                while sent < cut:
                    chunk = body[sent:min(cut, sent + (256 << 10))]
                    conn.send(chunk)
                    sent += len(chunk)
            finally:
                self.count(req.path, sent)
            try:
                conn.cut(fault)
            except TimeoutError:
                conn.reset()  # the service went away with bytes unread
            return
        sent = 0
        try:
            while sent < len(body):
                chunk = body[sent:sent + (256 << 10)]
                conn.send(chunk)
                sent += len(chunk)
                if len(body) > MIB:
                    time.sleep(0.02)  # ~12 MiB/s: long enough to be interrupted
        finally:
            self.count(req.path, sent)


class TusServer:
    """The tus 1.0 server of tests/tus (Node.js), as test_upload.py runs it."""

    def __init__(self, directory):
        import json
        import subprocess
        self.dir = directory
        os.makedirs(directory)
        script = os.path.join(bgtharness.SRCDIR, "tests", "tus", "server.mjs")
        self.proc = subprocess.Popen(["node", script, directory, "0"], stdout=subprocess.PIPE,
                                     text=True, cwd=os.path.dirname(script))
        self.port = json.loads(self.proc.stdout.readline())["port"]
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.port}/files"

    def stored_hashes(self):
        return {sha256_file(os.path.join(self.dir, f)) for f in os.listdir(self.dir)
                if not f.endswith(".json")}

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.dir = tempfile.mkdtemp(prefix="bgt-soak-")
        os.chmod(self.dir, 0o755)  # nginx's workers run unprivileged
        self.violations = []
        self.known_gaps = set()
        self.transfers = []
        self.kills = 0
        self.actions = {}
        self.completions = 0
        self.samples = []   # (seconds since start, pid, rss KiB, fds)
        self.start = time.monotonic()

    # ---- the world ------------------------------------------------------------------

    def setup(self):
        d = self.dir
        self.root = os.path.join(d, "www")
        self.out = os.path.join(d, "out")
        self.src = os.path.join(d, "src")
        for p in (self.root, self.out, self.src, os.path.join(d, "ftpd")):
            os.makedirs(p)
            os.chmod(p, 0o777)
        self.system = SystemBus(tmpdir=os.path.join(d, "system"))
        self.nm = MockNetworkManager(self.system)
        self.upower = MockUPower(self.system)
        self.ppd = MockPowerProfiles(self.system)
        self.mm = MockModemManager(self.system)
        self.nginx = Nginx(self.root, slow_rate="2m", tmpdir=os.path.join(d, "nginx"))
        self.ftp = PyFtpd(self.root, rate=4 * MIB, tmpdir=os.path.join(d, "ftpd"))
        self.fault_server = FaultServer()
        self.faults = Faults(self.fault_server, random.Random(self.rng.random()))
        self.tus = None
        if shutil.which("node") and os.path.isdir(os.path.join(
                bgtharness.SRCDIR, "tests", "tus", "node_modules", "@tus", "server")):
            self.tus = TusServer(os.path.join(d, "tus"))
        elif bgtharness.CI:
            raise RuntimeError("CI=true: the soak needs Node.js and @tus/server")
        else:
            log("no tus server (Node.js and tests/tus/node_modules): no tus uploads")
        settings = {
            "max-concurrent-transfers": "6",
            "connect-timeout": "10",
            "response-timeout": "10",
            "low-speed-time": "10",
            "retry-limit": "6",
            "checkpoint-interval-bytes": str(1 * MIB),
            "checkpoint-interval-ms": "500",
        }
        self.bus = ServiceBus(settings=settings, idle_timeout=3600,
                              tmpdir=os.path.join(d, "session"),
                              env={"DBUS_SYSTEM_BUS_ADDRESS": self.system.address})
        self.make_transfers()

    def close(self):
        for thing in ("bus", "fault_server", "ftp", "nginx", "tus", "system"):
            obj = getattr(self, thing, None)
            if obj is not None:
                try:
                    obj.close()
                except Exception as e:  # noqa: BLE001 — tearing down whatever is left
                    log(f"closing {thing}: {e}")
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            log(f"kept {self.dir}")

    def make_file(self, directory, name, size):
        path = os.path.join(directory, name)
        data = os.urandom(size)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o644)
        return path, data, hashlib.sha256(data).hexdigest()

    def make_transfers(self):
        kinds = (["nginx"] * 30 + ["nginx-fd"] * 10 + ["fault"] * 15 + ["ftp"] * 15
                 + ["dav"] * 15 + ["tus"] * 15)
        if self.tus is None:
            kinds = [k if k != "tus" else "dav" for k in kinds]
        kinds = (kinds * (self.args.transfers // len(kinds) + 1))[:self.args.transfers]
        self.rng.shuffle(kinds)
        for i, kind in enumerate(kinds):
            size = self.rng.choices(SIZES, SIZE_WEIGHTS)[0]
            name = f"f{i:03d}.bin"
            if kind in ("dav", "tus"):
                src, _, sha = self.make_file(self.src, name, size)
                if kind == "dav":
                    uri = self.nginx.url(f"dav/{name}")
                    dav = os.path.join(self.nginx.dav, name)
                    t = Transfer(i, "upload", "webdav", size, sha, uri, src=src,
                                 check=lambda dav=dav, sha=sha: os.path.exists(dav)
                                 and sha256_file(dav) == sha)
                else:
                    t = Transfer(i, "upload", "tus", size, sha, self.tus.url(), src=src,
                                 check=lambda sha=sha: sha in self.tus.stored_hashes())
            else:
                _, data, sha = self.make_file(self.root, name, size)
                slow = self.rng.random() < 0.4
                if kind.startswith("nginx"):
                    path = ("slow/" if slow else "") + name
                    uri = self.nginx.url(path)
                elif kind == "ftp":
                    path = name
                    uri = self.ftp.url(name)
                else:
                    path = "/" + name
                    self.faults.add(path, data)
                    uri = self.fault_server.url(name)
                t = Transfer(i, "download", kind.split("-")[0], size, sha, uri,
                             dest=os.path.join(self.out, name), fd_dest=kind == "nginx-fd")
                t.server_path = "/" + path.lstrip("/")
            self.transfers.append(t)

    # ---- the bus ------------------------------------------------------------------

    def conn(self):
        return self.bus.conn

    def call(self, path, iface, method, args=None, fd_list=None, timeout=30000):
        reply, _ = self.conn().call_with_unix_fd_list_sync(
            BUS_NAME, path, iface, method, args, None, Gio.DBusCallFlags.NONE, timeout,
            fd_list, None)
        return reply.unpack()

    def create(self, t):
        opts = {"cost-policy": GLib.Variant("s", self.rng.choice(["default", "default",
                                                                   "always",
                                                                   "unrestricted-only"])),
                "priority": GLib.Variant("s", self.rng.choice(["low", "default", "high"])),
                "tag": GLib.Variant("s", str(t.index))}
        fd_list = None
        if t.kind == "download":
            if t.fd_dest:
                fd = os.open(t.dest, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
                fd_list = Gio.UnixFDList.new_from_array([fd])  # takes the fd
                opts["destination-fd"] = GLib.Variant("h", 0)
            else:
                opts["destination"] = GLib.Variant("s", t.dest)
            method = "CreateDownload"
        else:
            opts["source"] = GLib.Variant("s", t.src)
            if t.proto == "tus":
                opts["protocol"] = GLib.Variant("s", "tus")
            else:
                opts["method"] = GLib.Variant("s", "PUT")
            method = "CreateUpload"
        (t.path,) = self.call(MANAGER_PATH, MANAGER_IFACE, method,
                              GLib.Variant("(sa{sv})", (t.uri, opts)), fd_list)

    def refresh(self, t):
        (props,) = self.call(t.path, "org.freedesktop.DBus.Properties", "GetAll",
                             GLib.Variant("(s)", (TRANSFER_IFACE,)))
        t.props = props
        if props["Status"] not in STATUSES:
            self.violation(t, f"in no state of the interface: {props['Status']}")
        if props["Status"] == "completed" and not t.seen_completed:
            t.seen_completed = True
            self.completions += 1
            self.check_completed(t, "when it completed")
        elif t.seen_completed and props["Status"] != "completed":
            self.violation(t, f"was completed, now {props['Status']}")
        if t.final_seen and props["Status"] != t.final_seen:
            # Nothing in the run moves a finished transfer (no Resume of an error)
            self.violation(t, f"was {t.final_seen}, now {props['Status']}")
        if props["Status"] in FINAL and not t.final_seen:
            t.final_seen = props["Status"]
        return props

    def sample(self):
        pid = self.bus.service_pid()
        if pid is None:
            return
        try:
            with open(f"/proc/{pid}/status") as f:
                rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except (OSError, StopIteration):
            return
        self.samples.append((time.monotonic() - self.start, pid, rss, fds))

    # ---- the checks ----------------------------------------------------------------

    def violation(self, t, what):
        line = f"{t.name() if t else ''} {t.uri if t else ''}: {what}".strip()
        if line not in self.violations:
            self.violations.append(line)
            log("VIOLATION", line)

    def check_completed(self, t, when):
        if t.kind == "download":
            if not os.path.exists(t.dest):
                self.violation(t, f"completed but its file is missing ({when})")
            elif sha256_file(t.dest) != t.sha:
                self.violation(t, f"completed with different bytes ({when})")
            if not t.fd_dest and os.path.exists(t.dest + ".bgtpart"):
                self.violation(t, f"completed, and its .bgtpart is still there ({when})")
        elif not t.check():
            self.violation(t, f"completed, but the server's copy differs or is missing ({when})")

    def check_final(self, t, when):
        status = t.props.get("Status")
        err = t.props.get("ErrorStatus", "")
        if status not in FINAL:
            self.violation(t, f"not finished {when}: {status}")
            return
        if status == "completed":
            self.check_completed(t, when)
        elif status == "canceled" and not t.canceled_by_us:
            self.violation(t, f"canceled, though nobody canceled it ({when})")
        elif status == "error" and t.props.get("ErrorMessage") in KNOWN_GAPS:
            self.known_gaps.add(f"{t.name()}: {KNOWN_GAPS[t.props['ErrorMessage']]}")
        elif status == "error" and not (t.proto == "fault" and err in FAULT_ERRORS):
            self.violation(t, f"failed {when}: {err}: {t.props.get('ErrorMessage', '')}")
        if status != "completed" and t.kind == "download" and not t.fd_dest:
            if os.path.exists(t.dest):
                self.violation(t, f"{status}, yet its destination exists ({when})")
        if t.kind == "download" and not t.fd_dest and os.path.exists(t.dest + ".bgtpart") \
                and not (status == "error" and err == "disk-full"):
            self.violation(t, f"{status}, and its .bgtpart is left ({when})")

    # ---- the chaos ----------------------------------------------------------------

    def act(self, now_phase):
        live = [t for t in self.transfers if t.path and t.props.get("Status") not in FINAL]
        choices = [("sigkill", 3), ("sigterm", 2), ("offline", 2), ("metered", 2),
                   ("roaming", 1), ("power-saver", 1), ("battery-low", 1), ("pause", 4),
                   ("resume", 4), ("cancel", 1), ("priority", 3), ("cost-policy", 3),
                   ("server", 2)]
        action = self.rng.choices([c for c, _ in choices], [w for _, w in choices])[0]
        self.actions[action] = self.actions.get(action, 0) + 1
        if action in ("sigkill", "sigterm"):
            sig = signal.SIGKILL if action == "sigkill" else signal.SIGTERM
            if self.bus.service_pid() is not None:
                self.bus.kill_service(sig)  # declared: not a crash
                self.kills += 1
        elif action == "offline":
            self.nm.set_online(False)
            self.revert_later(3, lambda: self.nm.set_online(True))
        elif action == "metered":
            self.nm.set_metered(True)
            self.revert_later(5, lambda: self.nm.set_metered(False))
        elif action == "roaming":
            self.mm.set_roaming(True)
            self.revert_later(5, lambda: self.mm.set_roaming(False))
        elif action == "power-saver":
            self.ppd.set_profile("power-saver")
            self.revert_later(5, lambda: self.ppd.set_profile("balanced"))
        elif action == "battery-low":
            self.upower.set_battery(True, 5.0, warning_level=3)
            self.revert_later(5, lambda: self.upower.set_battery(False, 80.0))
        elif action == "server":
            with self.faults.lock:
                self.faults.bad_spell += 5
        elif live:
            t = self.rng.choice(live)
            status = t.props.get("Status")
            try:
                if action == "pause":
                    self.call(t.path, TRANSFER_IFACE, "Pause")
                elif action == "resume":
                    paused = [x for x in live if x.props.get("Status") == "paused-by-application"]
                    if paused:
                        self.call(self.rng.choice(paused).path, TRANSFER_IFACE, "Resume")
                elif action == "cancel":
                    if sum(x.canceled_by_us for x in self.transfers) < len(self.transfers) // 12:
                        t.canceled_by_us = True
                        self.call(t.path, TRANSFER_IFACE, "Cancel")
                elif action == "priority":
                    self.call(t.path, TRANSFER_IFACE, "SetPriority",
                              GLib.Variant("(s)", (self.rng.choice(["low", "default",
                                                                     "high"]),)))
                elif action == "cost-policy":
                    self.call(t.path, TRANSFER_IFACE, "SetCostPolicy",
                              GLib.Variant("(s)", (self.rng.choice(
                                  ["unrestricted-only", "default", "always"]),)))
            except GLib.Error as e:
                # Finished meanwhile, or the service went away under the call
                if "InvalidState" not in e.message and "NoReply" not in e.message \
                        and "ServiceUnknown" not in e.message and "Disconnected" not in e.message:
                    self.violation(t, f"{action} while {status}: {e.message}")

    def revert_later(self, seconds, fn):
        self.pending.append((time.monotonic() + seconds, fn))

    def run_pending(self, everything=False):
        now = time.monotonic()
        due = [p for p in self.pending if everything or p[0] <= now]
        self.pending = [p for p in self.pending if p not in due]
        for _, fn in due:
            fn()

    def poll(self):
        for t in self.transfers:
            if t.path is None:
                continue
            try:
                self.refresh(t)
            except GLib.Error as e:
                if "UnknownObject" in e.message or "NotFound" in e.message:
                    # Lost: a transfer the service no longer knows
                    self.violation(t, f"vanished: {e.message}")
                # else: the service went away under the call; next round

    def pump(self, seconds):
        """Lets the main context run (the mocks' and the bus's signals)."""
        end = time.monotonic() + seconds
        ctx = GLib.MainContext.default()
        while time.monotonic() < end:
            while ctx.pending():
                ctx.iteration(False)
            time.sleep(min(0.05, max(0, end - time.monotonic())))

    def run(self):
        total = self.args.minutes * 60
        chaos_end = self.start + total * 0.75
        create_end = self.start + total * 0.5
        deadline = self.start + total - 15
        self.pending = []
        to_create = list(self.transfers)
        next_action = time.monotonic() + 2
        next_poll = 0
        minute_sample = None
        log(f"{len(self.transfers)} transfers, seed {self.args.seed}, {self.args.minutes} min,"
            f" in {self.dir}")

        while time.monotonic() < chaos_end:
            now = time.monotonic()
            # Creations spread over the first part of the run
            due = int(len(self.transfers) * min(1, (now - self.start) / (create_end - self.start)))
            while to_create and len(self.transfers) - len(to_create) < max(due, 8):
                t = to_create.pop(0)
                try:
                    self.create(t)
                except GLib.Error as e:
                    if "InvalidArgument" in e.message or "AccessDenied" in e.message:
                        raise
                    # Killed under the call: created or not, the tag tells
                    log(f"creating {t.name()}: {e.message}")
                    self.adopt_lost_creations([t])
            if now >= next_action:
                self.act(now)
                next_action = now + self.rng.uniform(0.5, 3.0)
            self.run_pending()
            if now >= next_poll:
                self.poll()
                self.sample()
                next_poll = now + 2
                if minute_sample is None and now - self.start >= 60:
                    minute_sample = self.samples[-1] if self.samples else None
            self.pump(0.1)
        log("chaos over:", ", ".join(f"{k} {v}" for k, v in sorted(self.actions.items())))

        # Creations the kills interrupted: adopted through the tag, or made now
        self.adopt_lost_creations(to_create)
        # Everything back to normal, and the transfers drain
        self.run_pending(everything=True)
        self.nm.set_online(True)
        self.nm.set_metered(False)
        self.mm.set_roaming(False)
        self.ppd.set_profile("balanced")
        self.upower.set_battery(False, 80.0)
        self.faults.on = False
        for t in self.transfers:
            if t.props.get("Status") == "paused-by-application":
                self.call(t.path, TRANSFER_IFACE, "Resume")
        while time.monotonic() < deadline:
            self.poll()
            if minute_sample is None and time.monotonic() - self.start >= 60:
                self.sample()
                minute_sample = self.samples[-1]
            if all(t.props.get("Status") in FINAL for t in self.transfers):
                break
            self.pump(1)
        self.poll()
        self.sample()
        end_sample = self.samples[-1] if self.samples else None
        for t in self.transfers:
            self.check_final(t, "at the end")

        # Flat: RSS and fds of the service at the end against the first minute
        if minute_sample and end_sample:
            if end_sample[2] > minute_sample[2] + 5 * 1024:
                self.violations.append(f"RSS grew: {minute_sample[2]} KiB after the first minute,"
                                       f" {end_sample[2]} KiB at the end")
            if end_sample[3] > minute_sample[3]:
                self.violations.append(f"fds grew: {minute_sample[3]} after the first minute,"
                                       f" {end_sample[3]} at the end")
        else:
            self.violations.append("no RSS sample after the first minute (run too short?)")

        # Nothing completed is lost across one more restart
        self.bus.kill_service(signal.SIGTERM)
        self.kills += 1
        (listed,) = self.call(MANAGER_PATH, MANAGER_IFACE, "GetTransfers",
                              GLib.Variant("(a{sv})", ({},)))
        listed = set(listed)
        for t in self.transfers:
            if t.seen_completed and t.path not in listed:
                self.violation(t, "completed, and not listed after a restart")
        self.poll()
        for t in self.transfers:
            self.check_final(t, "after a restart")
        for problem in self.bus.crashes():
            self.violations.append(problem)
        return minute_sample, end_sample

    def adopt_lost_creations(self, to_create):
        if not to_create:
            return
        (listed,) = self.call(MANAGER_PATH, MANAGER_IFACE, "GetTransfers",
                              GLib.Variant("(a{sv})", ({},)))
        known = {t.path for t in self.transfers if t.path}
        by_tag = {}
        for path in set(listed) - known:
            (tag,) = self.call(path, "org.freedesktop.DBus.Properties", "Get",
                               GLib.Variant("(ss)", (TRANSFER_IFACE, "Tag")))
            by_tag[tag] = path
        for t in to_create:
            t.path = by_tag.get(str(t.index))
            if t.path is None:
                self.create(t)

    def refetched(self):
        """Bytes served beyond each completed download's size (HTTP)."""
        served = {}
        for line in self.nginx.access_log():
            parts = line.split()
            uri = parts[1].replace("/slow/", "/")
            sent = int(parts[-1].split("=")[1])
            served[uri] = served.get(uri, 0) + sent
        for path, n in self.faults.served.items():
            served[path] = served.get(path, 0) + n
        total = 0
        for t in self.transfers:
            if t.kind == "download" and t.seen_completed and t.proto != "ftp":
                total += max(0, served.get("/" + os.path.basename(t.server_path), 0) - t.size)
        return total


def main():
    parser = argparse.ArgumentParser(description="chaos soak of bgtransferd")
    parser.add_argument("--minutes", type=float, default=5,
                        help="how long (at least 1.5: RSS is compared with the first minute's)")
    parser.add_argument("--transfers", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--junit", help="write the outcome as JUnit XML (one case)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    soak = Soak(args)
    failure = None
    try:
        soak.setup()
        minute, end = soak.run()
        refetched = soak.refetched()
    except Exception:  # noqa: BLE001 — reported as the run's failure
        failure = traceback.format_exc()
        log(failure)
        soak.violations.append("the soak itself failed: " + failure.strip().splitlines()[-1])
        minute = end = None
        refetched = 0
    finally:
        soak.close()
    by = {}
    for t in soak.transfers:
        s = t.props.get("Status", "never-created")
        by[s] = by.get(s, 0) + 1
    faults = (len(soak.fault_server.faults) + soak.faults.injected
              if hasattr(soak, "faults") else 0)
    rss = (f"RSS {minute[2] // 1024}→{end[2] // 1024} MiB, fds {minute[3]}→{end[3]}"
           if minute and end else "RSS n/a")
    elapsed = time.monotonic() - soak.start
    summary = (f"soak: {len(soak.transfers)} transfers, {soak.kills} kills, {faults} faults,"
               f" {soak.completions} completions, {refetched} bytes re-fetched;"
               f" {', '.join(f'{v} {k}' for k, v in sorted(by.items()))}; {rss};"
               f" {len(soak.violations)} violations, {len(soak.known_gaps)} known gaps; seed {args.seed}; {elapsed:.0f} s")
    for v in soak.violations:
        print("violation:", v)
    for g in sorted(soak.known_gaps):
        print("known gap:", g)
    print(summary, flush=True)
    if args.junit:
        from xml.sax.saxutils import quoteattr
        body = "" if not soak.violations else \
            f"<failure message={quoteattr('; '.join(soak.violations)[:2000])}/>"
        with open(args.junit, "w") as f:
            f.write('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="soak">'
                    f'<testcase classname="soak" name="chaos-soak" time="{elapsed:.1f}"'
                    f' summary={quoteattr(summary)}>{body}</testcase></testsuite></testsuites>\n')
    return 1 if soak.violations else 0


if __name__ == "__main__":
    sys.exit(main())
