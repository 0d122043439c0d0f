# bgtharness.py: the real service on a private session bus, and real servers
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Used by the integration suites and by the benchmark. Every ServiceBus runs
# its own dbus-daemon whose service directory activates the build tree's
# bgtransferd-test with a private state, config and runtime directory, so
# the suites never touch the user's session or each other.

import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import gi

gi.require_version("Bgt", "1")
gi.require_version("Gio", "2.0")
from gi.repository import Bgt, Gio, GLib  # noqa: E402

BUILDDIR = os.environ.get("BGT_BUILDDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "_build")
)
SRCDIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUS_NAME = "org.freedesktop.BackgroundTransfer"
MANAGER_PATH = "/org/freedesktop/BackgroundTransfer"
MANAGER_IFACE = "org.freedesktop.BackgroundTransfer.Manager"
TRANSFER_IFACE = "org.freedesktop.BackgroundTransfer.Transfer"
SCHEMA_GROUP = "org/freedesktop/BackgroundTransfer"
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
# CI=true: a missing tool fails the test that needs it instead of skipping it
CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")

# The sanitizer job (tools/run-tests.sh, tests/README.md) runs the suites
# against an ASan/UBSan build with the ASan runtime preloaded into Python;
# valgrind runs the service through BGT_SERVICE_PREFIX
SANITIZED = os.environ.get("BGT_SANITIZED", "").lower() in ("true", "1", "yes")
UNDER_VALGRIND = "valgrind" in os.environ.get("BGT_SERVICE_PREFIX", "")
# The ASan runtime preloaded into this Python (so that GI may load the
# instrumented libbgtransfer) is not passed on: uninstrumented tools
# (secret-tool, gnome-keyring, dbus-daemon, nginx, node) hang or misbehave
# with it, and the instrumented service links it itself. A child that
# loads libbgtransfer gets it back through library_env().
ASAN_PRELOAD = None
if "libasan" in os.environ.get("LD_PRELOAD", ""):
    ASAN_PRELOAD = os.environ.pop("LD_PRELOAD")


def library_env(env=None):
    """The environment for a child process that loads libbgtransfer
    (Python or GJS through GI): env (default os.environ) with the ASan
    runtime preloaded again under the sanitizer job."""
    env = dict(os.environ if env is None else env)
    if ASAN_PRELOAD:
        env["LD_PRELOAD"] = ASAN_PRELOAD
    return env

# What in the service's log is a crash, whatever its exit status
CRASH_PATTERNS = re.compile(
    r"ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: ThreadSanitizer"
    r"|-CRITICAL \*\*|Segmentation fault|\*\*\* stack smashing|double free or corruption"
    r"|malloc\(\): |free\(\): invalid")

# The activation file's Exec: runs the service as a child (the command in a
# shell that execs it, so the child is the service itself), forwards
# SIGTERM/SIGINT/SIGHUP to it, waits, and appends "PID start" and "PID CODE"
# to the exit record (CODE: exit status, or -SIGNAL). It exits when the
# service does, so the bus sees the name go as before.
WRAPPER = """#!{python} -IS
import os, resource, signal
fd = os.open({log!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
def record(line):
    with open({exits!r}, "a") as f:
        f.write(line + "\\n")
forward = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
signal.pthread_sigmask(signal.SIG_BLOCK, forward)
pid = os.fork()
if pid == 0:
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    # No core files from the crashes the suites provoke
    resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, forward)
    os.execv("/bin/sh", ["sh", "-c", {command!r}])
record(f"{{pid}} start")
for sig in forward:
    signal.signal(sig, lambda s, f: os.kill(pid, s))
signal.pthread_sigmask(signal.SIG_UNBLOCK, forward)
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
record(f"{{pid}} {{code}}")
os._exit(code if code >= 0 else 128 - code)
"""

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir={dir}</listen>
  <servicedir>{servicedir}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                return h.hexdigest()
            h.update(chunk)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=30, message="condition"):
    """Runs the default main context until predicate() is true."""
    ctx = GLib.MainContext.default()
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {message}")
        # Wake at least every 50 ms so that predicates on the outside world
        # (files, processes) are re-checked too
        source = GLib.timeout_source_new(50)
        source.set_callback(lambda *a: False)
        source.attach(ctx)
        ctx.iteration(True)
        source.destroy()
    return True


def vardict(pairs):
    """An a{sv} of (key, GLib.Variant) pairs, in order: unlike a dict, it
    can give a key twice (bad input)"""
    return GLib.Variant.new_array(GLib.VariantType("{sv}"), [
        GLib.Variant.new_dict_entry(GLib.Variant("s", k), GLib.Variant("v", v)) for k, v in pairs])


def name_has_owner(conn, name):
    reply = conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                           "NameHasOwner", GLib.Variant("(s)", (name,)), None,
                           Gio.DBusCallFlags.NONE, -1, None)
    return reply.unpack()[0]


def call(obj, method, *args, timeout=60):
    """Calls obj.<method>_async(*args, None, cb) and returns <method>_finish()."""
    box = []
    getattr(obj, method + "_async")(*args, None, lambda o, r: box.append(r))
    wait_for(lambda: box, timeout, method)
    return getattr(obj, method + "_finish")(box[0])


class ServiceBus:
    """A private session bus that D-Bus-activates the build tree's service.

    It knows every service process it activated (the wrapper's exit record)
    and how each ended: crashes() lists the deaths nobody declared (a signal,
    a non-zero status, a sanitizer report or a GLib critical in the log);
    kill_service() and expect_exit() declare deliberate ones; an idle exit
    with status 0 is no crash. conftest.py fails every test during which a
    ServiceBus saw a crash."""

    instances = []  # every ServiceBus not yet checked to the end (conftest)

    def __init__(self, settings=None, env=None, idle_timeout=60, tmpdir=None, prefix=None,
                 keyring=False, verbose=True):
        self.dir = tmpdir or tempfile.mkdtemp(prefix="bgt-test-")
        self.state_home = os.path.join(self.dir, "state")
        self.config_home = os.path.join(self.dir, "config")
        self.runtime_dir = os.path.join(self.dir, "runtime")
        self.servicedir = os.path.join(self.dir, "services")
        for d in (self.state_home, self.config_home, self.runtime_dir, self.servicedir):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.runtime_dir, 0o700)
        self.log_path = os.path.join(self.dir, "service.log")
        self.settings = dict(settings or {})
        self.write_settings()

        # The activation file runs a wrapper that starts the service as its
        # child, waits for it and records "PID start" and "PID CODE" lines in
        # exits_path (CODE: the exit status, or minus the signal that killed
        # it): D-Bus activation restarts a crashed service, and only its
        # parent can see how it ended
        self.exits_path = os.path.join(self.dir, "service.exits")
        wrapper = os.path.join(self.dir, "bgtransferd")
        # BGT_SERVICE_ENV: "NAME=VALUE …" for the service alone (the
        # sanitizer job turns LeakSanitizer on there, off in Python)
        service_env = os.environ.get("BGT_SERVICE_ENV", "")
        # verbose: its debug messages in the log (the benchmarks run it
        # as installed, without them)
        command = "exec {} {} {} {} {}".format(
            f"env {service_env}" if service_env else "",
            # BGT_SERVICE_PREFIX runs it under a tool: valgrind, perf record…
            prefix or os.environ.get("BGT_SERVICE_PREFIX", ""),
            # BGT_SERVICE: another build of it (sanitizers)
            os.environ.get("BGT_SERVICE", os.path.join(BUILDDIR, "src", "bgtransferd-test")),
            "--verbose" if verbose else "", os.environ.get("BGT_SERVICE_ARGS", ""))
        with open(wrapper, "w") as f:
            f.write(WRAPPER.format(python=PYTHON, command=command, log=self.log_path,
                                   exits=self.exits_path))
        os.chmod(wrapper, 0o755)
        # What the harness knows of the service's processes: the pid it
        # considers the live one, the deaths declared by the test, and how
        # much of the exit record the last check has seen
        self._pid = None
        self._declared = {}   # pid → signal number, or None for any way out
        # A bus on the directory of an earlier one (a "reboot") starts
        # where that one's records end: its deaths were judged by it
        self._checked_exits = len(self.exit_records())
        self._checked_log = len(self.service_log())
        self._close_problems = []
        self.closed = False
        ServiceBus.instances.append(self)
        with open(os.path.join(self.servicedir, BUS_NAME + ".service"), "w") as f:
            f.write(f"[D-BUS Service]\nName={BUS_NAME}\nExec={wrapper}\n")
        conf = os.path.join(self.dir, "bus.conf")
        with open(conf, "w") as f:
            f.write(BUS_CONF.format(dir=self.dir, servicedir=self.servicedir))

        self.env = dict(os.environ)
        self.env.update(
            {
                "XDG_STATE_HOME": self.state_home,
                "XDG_CONFIG_HOME": self.config_home,
                "XDG_RUNTIME_DIR": self.runtime_dir,
                "GSETTINGS_SCHEMA_DIR": os.path.join(BUILDDIR, "data"),
                "GSETTINGS_BACKEND": "keyfile",
                "BGTRANSFERD_IDLE_TIMEOUT": str(idle_timeout),
                "G_DEBUG": "fatal-criticals",
                "GIO_USE_VFS": "local",
                "NO_AT_BRIDGE": "1",
            }
        )
        self.env.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
        self.env.update(env or {})
        self.daemon = subprocess.Popen(
            ["dbus-daemon", "--nofork", "--print-address=1", "--config-file=" + conf],
            stdout=subprocess.PIPE,
            env=self.env,
        )
        self.address = self.daemon.stdout.readline().decode().strip()
        if not self.address:
            raise RuntimeError("dbus-daemon did not start")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        self._connections = []
        self.conn = self.connect()
        self.keyring = None
        if keyring:
            self.start_keyring()

    def start_keyring(self):
        """A real Secret Service on this bus: gnome-keyring-daemon with a
        login keyring of the test's own, unlocked."""
        home = os.path.join(self.dir, "home")
        os.makedirs(home, exist_ok=True)
        env = dict(self.env, HOME=home, XDG_DATA_HOME=os.path.join(home, ".local", "share"))
        self.keyring = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.keyring.stdin.write(b"bgtransfer-test-keyring")
        self.keyring.stdin.close()
        wait_for(lambda: self.has_owner("org.freedesktop.secrets"), 20, "the Secret Service")

    def has_owner(self, name):
        return name_has_owner(self.conn, name)

    def write_settings(self):
        path = os.path.join(self.config_home, "glib-2.0", "settings")
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "keyfile"), "w") as f:
            f.write(f"[{SCHEMA_GROUP}]\n")
            for key, value in self.settings.items():
                f.write(f"{key}={value}\n")

    def connect(self):
        conn = Gio.DBusConnection.new_for_address_sync(
            self.address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None,
            None,
        )
        self._connections.append(conn)
        return conn

    def client(self, app_id="", conn=None):
        return Bgt.Client.new_for_connection_sync(conn or self.connect(), app_id, None)

    def service_pid(self):
        """The pid of the process owning the service's name, or None; the
        first one seen (and the first after a declared death) is recorded
        as the live service, which assert_alive() holds it to."""
        try:
            reply = self.conn.call_sync(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "GetConnectionUnixProcessID",
                GLib.Variant("(s)", (BUS_NAME,)),
                None,
                Gio.DBusCallFlags.NONE,
                -1,
                None,
            )
        except GLib.Error:
            return None
        pid = reply.unpack()[0]
        self._observe(pid)
        return pid

    def _observe(self, pid):
        if self._pid is None:
            self._pid = pid
        elif pid != self._pid:
            # Another process owns the name: fine if the recorded one was
            # declared dead or left with status 0 (idle), else not adopted,
            # so that assert_alive() fails
            old = self._pid
            if old in self._declared or self.exit_status(old, timeout=10) == 0:
                self._pid = pid

    def service_running(self):
        return self.has_owner(BUS_NAME)

    # ---- how the service's processes ended ------------------------------------

    def exit_records(self):
        """[(pid, code)] in order: code "start" when the wrapper started it,
        else its exit status, or minus the signal that killed it."""
        try:
            with open(self.exits_path) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        records = []
        for line in lines:
            pid, _, code = line.partition(" ")
            records.append((int(pid), code if code == "start" else int(code)))
        return records

    def started_pids(self):
        return [pid for pid, code in self.exit_records() if code == "start"]

    def exit_status(self, pid, timeout=10):
        """How process pid ended (status, or -signal), waiting up to timeout
        for the wrapper to record it; None if it did not (yet)."""
        deadline = time.monotonic() + timeout
        while True:
            for p, code in self.exit_records():
                if p == pid and code != "start":
                    return code
            if time.monotonic() >= deadline or pid not in self.started_pids():
                return None
            time.sleep(0.02)  # polling a file another process appends to

    def declare_exit(self, pid, sig=None):
        """Declares that process pid dies on purpose: by sig, or any way."""
        self._declared[pid] = sig

    @contextlib.contextmanager
    def expect_exit(self, sig=None):
        """The service may die inside the block (by sig, or any way if
        None): the live service and every one activated during the block
        and gone by its end are declared."""
        current = self.service_pid()
        before = set(self.started_pids())
        if current is not None:
            self.declare_exit(current, sig)
        try:
            yield
        finally:
            live = self.service_pid() if self.service_running() else None
            for pid in set(self.started_pids()) - before:
                if pid != live:
                    self.declare_exit(pid, sig)
            self._pid = live

    def crashes(self, wait=True):
        """What went wrong with the service since the last call: undeclared
        deaths (signal, non-zero status) and crash reports in its log."""
        problems = list(self._close_problems)
        self._close_problems.clear()
        records = self.exit_records()
        if wait:
            # A process gone whose status the wrapper is still writing
            ended = {p for p, c in records if c != "start"}
            for pid in self.started_pids():
                if pid not in ended and not _alive(pid):
                    self.exit_status(pid, timeout=10)
            records = self.exit_records()
        for pid, code in records[self._checked_exits:]:
            if code == "start" or code == 0:
                continue
            if pid in self._declared:
                sig = self._declared[pid]
                if sig is None or code == -sig:
                    continue
            problems.append(f"the service (pid {pid}) {describe_exit(code)}"
                            + (" — not the declared kill" if pid in self._declared else
                               ", and no test declared it"))
        self._checked_exits = len(records)
        log = self.service_log()
        end = log.rfind("\n") + 1
        for m in CRASH_PATTERNS.finditer(log, self._checked_log, end):
            start = log.rfind("\n", 0, m.start()) + 1
            line = log[start:log.find("\n", m.end())]
            problems.append(f"the service's log: {line.strip()[:300]}")
        self._checked_log = max(self._checked_log, end)
        return problems

    def assert_alive(self):
        """Fails unless the service recorded at activation still owns its
        name, and answers; an answer from a re-activated service (D-Bus
        activation restarts a crashed one) does not count."""
        before = self._pid
        pid = self.service_pid()
        if pid is None:
            raise AssertionError("the service is not running"
                                 + self._fate(before))
        if before is not None and pid != before and self._pid != pid:
            raise AssertionError(f"the service was restarted: pid {before} is now {pid}"
                                 + self._fate(before))
        self.conn.call_sync(BUS_NAME, MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping",
                            None, None, Gio.DBusCallFlags.NO_AUTO_START, 30000, None)
        if self.service_pid() != pid:
            raise AssertionError(f"the service (pid {pid}) died while answering a ping"
                                 + self._fate(pid))
        return True

    def _fate(self, pid):
        if pid is None:
            return ""
        code = self.exit_status(pid, timeout=10)
        return f"; pid {pid} {describe_exit(code)}" if code is not None else ""

    def kill_service(self, sig=signal.SIGKILL, timeout=15):
        """Signals the service and waits until its process is gone; the
        death is declared, so it is not a crash (unless it ends otherwise
        than by sig or with status 0)."""
        pid = self.service_pid()
        if pid is None:
            return
        self.declare_exit(pid, sig)
        os.kill(pid, sig)
        wait_for(lambda: not _alive(pid), timeout, "the service to exit")
        # Released, or owned already by a new instance that a client started
        wait_for(lambda: self.service_pid() != pid, timeout, "the name to be released")
        self._pid = None

    def call_manager(self, method, args, conn=None, fd_list=None):
        """A raw call, for what the library does not let one say (bad input)."""
        conn = conn or self.conn
        reply, _ = conn.call_with_unix_fd_list_sync(
            BUS_NAME, MANAGER_PATH, MANAGER_IFACE, method, args, None,
            Gio.DBusCallFlags.NONE, 30000, fd_list, None,
        )
        return reply.unpack()

    def service_log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def close(self):
        try:
            self._stop_service()
        finally:
            # Whatever happened, no daemon outlives the test (it would hold
            # meson's output pipe open until the suite times out)
            if self.keyring is not None:
                self.keyring.terminate()
                self.keyring.wait(10)
            self.daemon.terminate()
            self.daemon.wait(10)
            self.daemon.stdout.close()
            self.closed = True

    def _stop_service(self):
        for conn in self._connections:
            try:
                conn.close_sync(None)
            except GLib.Error:
                pass
        # Every service process still running (the name's owner, and one
        # perhaps being activated) gets SIGTERM and must be gone in 20 s
        records = self.exit_records()
        unended = set(self.started_pids()) - {p for p, c in records if c != "start"}
        pids = {pid for pid in unended if _alive(pid)}
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            # One killed already (and not reaped yet) dies of that kill
            self._declared.setdefault(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        # Each one's end is recorded before the bus is closed, a process
        # killed earlier too: a bus opened next on this directory (a
        # "reboot") starts where these records end
        for pid in unended:
            while _alive(pid):
                if time.monotonic() > deadline:
                    self._close_problems.append(
                        f"the service (pid {pid}) did not exit within 20 s of SIGTERM"
                        + stacks(pid))
                    self.declare_exit(pid, signal.SIGKILL)
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    break
                time.sleep(0.02)  # polling a process that is not our child
            if self.exit_status(pid, timeout=10) is None:
                self._close_problems.append(f"no exit status recorded for the service (pid {pid})")


def stacks(pid):
    """Every thread's stack of a hung process (gdb), for the report."""
    if shutil.which("gdb") is None:
        return ""
    try:
        out = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex",
                              "thread apply all bt"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, errors="replace",
                             timeout=120).stdout
    except subprocess.TimeoutExpired:
        return "; gdb did not answer within 120 s"
    threads = out[out.find("\nThread "):] if "\nThread " in out else out[-4000:]
    return "; its threads:\n" + threads[-12000:]


def describe_exit(code):
    if code is None:
        return "ended, status unknown"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with status {code}"


def _alive(pid):
    return os.path.exists(f"/proc/{pid}") and not _is_zombie(pid)


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].startswith("Z")
    except (OSError, IndexError):  # gone (ENOENT, or ESRCH while reading)
        return True


class Strace:
    """strace attached to a running process to inject a fault. Its own
    output is kept: wait_attached() returns once strace has said it is
    attached (no sleep "for strace to attach"), wait_line() once a line
    proves the fault landed (e.g. "+++ killed by SIGKILL +++")."""

    def __init__(self, pid, *args):
        require_tool("strace")
        self.lines = []
        self.proc = subprocess.Popen(["strace", "-f", "-p", str(pid), *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, errors="replace")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_line("attached", 20)

    def _read(self):
        # Drained all along: a full pipe would stop strace, and the service
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, text, timeout=30):
        """Waits for a line of strace's containing text; returns it."""
        found = []

        def seen():
            found.extend(l for l in self.lines if text in l)
            return found or (self.proc.poll() is not None and not self._reader.is_alive())
        wait_for(seen, timeout, f"strace to print {text!r}")
        assert found, f"strace ended without printing {text!r}:\n" + "\n".join(self.lines[-20:])
        return found[0]

    def release(self):
        """Lets the calls strace holds back (a long delay_enter) go on at
        once: killed, strace leaves its tracee to the kernel, which detaches
        it and lets it run (a clean detach may hang on a held call)."""
        self.proc.kill()
        self.proc.wait(10)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            # strace can hang detaching from a tracee that is being killed:
            # SIGKILL lets the kernel detach it, and the tracee goes on (or dies)
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(10)


def stored_record(bus, transfer_id):
    """The transfer's record as the store has it (a{sv}, unpacked)."""
    import sqlite3
    db = sqlite3.connect(os.path.join(bus.state_home, "bgtransfer", "state.db"))
    try:
        (blob,) = db.execute("SELECT data FROM transfers WHERE id = ?", (transfer_id,)).fetchone()
    finally:
        db.close()
    return GLib.Variant.new_from_bytes(GLib.VariantType("a{sv}"), GLib.Bytes(blob), False).unpack()


def name_in_service(pid, basename):
    """The name process pid has for the one file it holds open that is
    called basename: a file a sandboxed app handed over is seen by its name
    in the sandbox's mount, not the host's. It may hold it twice for a
    moment (the call that handed it over is freed a little after its
    answer), and an fd may close while it is listed."""
    names = set()
    for n in os.listdir(f"/proc/{pid}/fd"):
        try:
            names.add(os.readlink(f"/proc/{pid}/fd/{n}"))
        except FileNotFoundError:
            pass
    (name,) = [n for n in names if n.endswith("/" + basename)]
    return name


# The flushes strace holds back, by their numbers here (/proc/PID/syscall)
FLUSH_SYSCALLS = {"x86_64": {"fsync": 74, "fdatasync": 75},
                  "aarch64": {"fsync": 82, "fdatasync": 83}}


def flush_under_way(pid, held_call, held_path):
    """Whether a thread of process pid is in held_call (a flush) of the file
    or directory at held_path: /proc says so, held back by strace or not."""
    number = FLUSH_SYSCALLS.get(os.uname().machine, {}).get(held_call)
    assert number is not None, f"{held_call} on {os.uname().machine}: add its number"
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                fields = f.read().split()
            if fields[0] != str(number):
                continue
            if os.readlink(f"/proc/{pid}/fd/{int(fields[1], 16)}") == held_path:
                return True
        except (OSError, IndexError, ValueError):
            continue  # a thread gone, or an fd closed meanwhile
    return False


@contextlib.contextmanager
def killed_during_a_flush(bus, held_call, held_path):
    """strace holds back the service's held_call (fdatasync or fsync) of
    held_path while the block starts what flushes it and checks what must
    hold meanwhile; then the service is killed (SIGKILL), and the held
    flush must have been under way."""
    pid = bus.service_pid()
    with bus.expect_exit(signal.SIGKILL):
        tracer = Strace(pid, "-y", "-P", held_path, "-e", f"trace={held_call}",
                        "-e", f"inject={held_call}:delay_enter=60000000")
        try:
            yield
            # The held flush under way first: a worker thread enters it a
            # moment after what the block waited for (the rename, for the
            # directory's)
            tracer.wait_line(f"{held_call}(")
            os.kill(pid, signal.SIGKILL)
            # strace may hang detaching from it: it goes at once
            tracer.release()
        finally:
            tracer.close()
        wait_for(lambda: not _alive(pid), 30, "the service to be killed")
    assert any(f"{held_call}(" in l and f"{held_path}>" in l for l in tracer.lines), tracer.lines


def kill_while_completing(bus, client, t, dest, held):
    """Starts the download t (created with start=false, into dest) and
    kills the service while its completion is being made durable
    (bt-commit.c): held ("data" or "directory") is the flush strace holds
    back. Checks first that the store says completed, with the data not in
    place yet, while the app was not told."""
    part = str(dest) + ".bgtpart"
    held_call, held_path = (("fdatasync", part) if held == "data"
                            else ("fsync", os.path.dirname(str(dest))))
    with killed_during_a_flush(bus, held_call, held_path):
        call(t, "start")
        wait_for(lambda: stored_record(bus, t.get_id())["status"] == "completed", 30,
                 "the completion in the store")
        record = stored_record(bus, t.get_id())
        assert record["place-unsynced"] is True, record
        # Not reported: a round trip through the service brings every
        # change it sent before
        call(client, "get_transfer", t.get_id())
        assert t.props.status == Bgt.Status.RUNNING
        if held == "data":
            assert os.path.exists(part) and not os.path.exists(dest)
        else:
            wait_for(lambda: os.path.exists(dest), 30, "the rename")
            assert not os.path.exists(part)


# A write of the data as strace shows it, whole or unfinished: its length
# asked for and its offset (the data before them is printed escaped, and
# may hold ", ")
_PWRITE = re.compile(r"pwrite64\(\d+<[^>]*>, .*, (\d+), (\d+)(?:\) = | <unfinished)")


def inject_a_flush_failure(pid, data_path, err):
    """pid's next flushes of the data at data_path fail with err (strace
    injects it) until one did; later flushes succeed, as they do on Linux
    once a failed write-back was reported. Returns how far the data had
    been written (pwrite64) before the failed flush."""
    tracer = Strace(pid, "-y", "-P", data_path, "-e", "trace=fdatasync,fsync,pwrite64",
                    "-e", f"inject=fdatasync,fsync:error={err}")
    try:
        line = tracer.wait_line("(INJECTED)")
    finally:
        tracer.close()
    assert os.path.basename(data_path) in line, line
    before = tracer.lines[:tracer.lines.index(line)]
    return max((int(m[2]) + int(m[1]) for m in map(_PWRITE.search, before) if m), default=0)


def fail_a_flush(bus, t, data_path, err):
    """The service's next flushes of the data at data_path fail with err
    (strace injects it), until one did; a later flush will succeed, as it
    does on Linux once a failed write-back was reported. Returns the most
    bytes the transfer had written when the flush failed: what strace saw
    written before it, or what the app was told, whichever is more (the
    app may not have heard of the last bytes: counters go out at most 8
    times a second, and the failure takes them back at once)."""
    most = [t.props.bytes_received]
    handler = t.connect("notify::bytes-received",
                        lambda o, p: most.append(o.props.bytes_received))
    most.append(inject_a_flush_failure(bus.service_pid(), data_path, err))
    box = []
    t.wait_async(None, lambda o, r: box.append(r))
    wait_for(lambda: box, 60, "the end")
    t.disconnect(handler)
    try:
        t.wait_finish(box[0])
    except GLib.Error:
        pass
    else:
        raise AssertionError("completed over the data a flush failed to keep")
    return max(most)


class BusMonitor:
    """Sees every message on a bus (org.freedesktop.DBus.Monitoring), so
    that a test can confirm that a call reached the service, or that the bus
    answered a client with an error, before it judges what followed."""

    def __init__(self, address):
        self._lock = threading.Lock()
        self._seen = []
        self.conn = Gio.DBusConnection.new_for_address_sync(
            address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None, None)
        self.conn.add_filter(self._filter)
        self.conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                            "org.freedesktop.DBus.Monitoring", "BecomeMonitor",
                            GLib.Variant("(asu)", ([], 0)), None, Gio.DBusCallFlags.NONE, -1,
                            None)

    def _filter(self, conn, message, incoming):
        # In GDBus's worker thread: keep what a test asks about; pass on only
        # what is for this connection (the reply to BecomeMonitor): a
        # monitor must send nothing, not even an error to a call it watched
        if not incoming or message.get_destination() == conn.get_unique_name():
            return message
        if incoming:
            seen = {
                "type": message.get_message_type(),
                "sender": message.get_sender(),
                "destination": message.get_destination(),
                "path": message.get_path(),
                "member": message.get_member(),
                "error": message.get_error_name(),
            }
            with self._lock:
                self._seen.append(seen)
        return None

    def messages(self, **match):
        with self._lock:
            return [m for m in self._seen if all(m[k] == v for k, v in match.items())]

    def wait_message(self, timeout=30, **match):
        """Waits for a message whose fields (type, sender, destination, path,
        member, error) are those given; returns it."""
        wait_for(lambda: self.messages(**match), timeout, f"a message {match} on the bus")
        return self.messages(**match)[0]

    def close(self):
        self.conn.close_sync(None)

def require_tool(name, reason=None):
    """Skips the test when the tool is missing, or fails it under CI=true
    (a CI run must not turn green by skipping what it cannot run)."""
    if (os.path.isabs(name) and os.path.exists(name)) or shutil.which(name):
        return
    require(False, reason or f"needs {name}")


def skip_if(condition, reason):
    """Skips the test when condition holds, also under CI=true: for what a
    job cannot run by design (a preloaded libfiu under ASan), never for a
    missing tool (require_tool)."""
    if condition:
        import pytest
        pytest.skip(reason)


def require(condition, reason):
    """Skips (fails under CI=true) unless condition holds."""
    if condition:
        return
    import pytest
    if CI:
        pytest.fail(f"{reason} (CI=true: a missing prerequisite is a failure)", pytrace=False)
    pytest.skip(reason)


class Tmpfs:
    """A small tmpfs that needs no root: mounted in a user and mount
    namespace (unshare -Urm, where the kernel allows unprivileged user
    namespaces) that a process of ours holds. Everyone, the service too,
    reaches it through that process's root: path is
    /proc/HOLDER/root/MOUNTPOINT. (The service cannot run inside the user
    namespace: from there it could not read its callers' /proc entries to
    identify them.)"""

    def __init__(self, mountpoint, size):
        require_tool("unshare")
        require_tool("nsenter")
        os.makedirs(mountpoint, exist_ok=True)
        self.mountpoint = mountpoint
        # unshare execs sh in place (no pid namespace): this pid is in the
        # namespaces, and lives until its stdin closes
        self.holder = subprocess.Popen(
            ["unshare", "-Urm", "--propagation", "private", "sh", "-c",
             'mount -t tmpfs -o "size=$1,mode=0777" bgt-test "$0" && echo ready && exec cat',
             mountpoint, size],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready = self.holder.stdout.readline().strip() == "ready"
        if not ready:
            self.holder.stdin.close()
            err = self.holder.stderr.read().strip()
            self.holder.wait(10)
            require(False, f"cannot mount a tmpfs in a user namespace here: {err}")
        self.pid = self.holder.pid
        self.path = f"/proc/{self.pid}/root" + os.path.abspath(mountpoint)

    def service_prefix(self):
        """A ServiceBus prefix that runs the service in the namespace's
        mount namespace only (its callers stay identifiable), where it sees
        the tmpfs at mountpoint, also after a restart: for what must not go
        through /proc/PID/root (SQLite resolves that link to "/"). Entering
        takes CAP_SYS_ADMIN over the user namespace's parent: root only."""
        require(os.geteuid() == 0, "entering the tmpfs's mount namespace needs root")
        return f"nsenter -t {self.pid} -m"

    def resize(self, size):
        subprocess.run(["nsenter", "-t", str(self.pid), "-U", "-m", "--preserve-credentials",
                        "mount", "-o", f"remount,size={size}", self.mountpoint], check=True)

    def close(self):
        self.holder.stdin.close()
        self.holder.wait(10)
        self.holder.stdout.close()
        self.holder.stderr.close()


def find_libfaketime():
    """libfaketimeMT's path on this architecture, or None."""
    import glob
    dirs = []
    try:
        arch = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"],
                              capture_output=True, text=True).stdout.strip()
        if arch:
            dirs.append(f"/usr/lib/{arch}/faketime")
    except OSError:
        pass
    dirs += glob.glob("/usr/lib/*/faketime") + ["/usr/lib/faketime", "/usr/lib64/faketime",
                                                "/usr/local/lib/faketime"]
    for d in dirs:
        lib = os.path.join(d, "libfaketimeMT.so.1")
        if os.path.exists(lib):
            return lib
    return None


class SystemBus:
    """A private stand-in for the system bus, where python-dbusmock plays
    the system services we do not own (NetworkManager, UPower, …)."""

    def __init__(self, tmpdir=None):
        self.dir = tmpdir or tempfile.mkdtemp(prefix="bgt-sysbus-")
        os.makedirs(self.dir, exist_ok=True)
        conf = os.path.join(self.dir, "system.conf")
        with open(conf, "w") as f:
            f.write(BUS_CONF.replace("<type>session</type>", "<type>system</type>")
                    .format(dir=self.dir, servicedir=self.dir))
        self.daemon = subprocess.Popen(
            ["dbus-daemon", "--nofork", "--print-address=1", "--config-file=" + conf],
            stdout=subprocess.PIPE)
        self.address = self.daemon.stdout.readline().decode().strip()
        self.conn = Gio.DBusConnection.new_for_address_sync(
            self.address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.mocks = []

    def spawn_template(self, template, bus_name, parameters=None, argv=None):
        """Runs a python-dbusmock template (or a plain mock given by argv);
        returns when it owns its name."""
        argv = [sys.executable, "-m", "dbusmock", "--system"] + (argv or ["--template", template])
        if parameters:
            import json
            argv += ["--parameters", json.dumps(parameters)]
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address)
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
        self.mocks.append(proc)
        wait_for(lambda: self.has_owner(bus_name), 20, f"{template} on the bus")
        return proc

    def has_owner(self, name):
        return name_has_owner(self.conn, name)

    def call(self, name, path, iface, method, args=None):
        return self.conn.call_sync(name, path, iface, method, args, None,
                                   Gio.DBusCallFlags.NONE, 10000, None)

    def update_properties(self, name, path, iface, **props):
        """Changes a mock's properties, which emits PropertiesChanged."""
        self.call(name, path, "org.freedesktop.DBus.Mock", "UpdateProperties",
                  GLib.Variant("(sa{sv})", (iface, props)))

    def close(self):
        for proc in self.mocks:
            proc.terminate()
            proc.wait(10)
        self.conn.close_sync(None)
        self.daemon.terminate()
        self.daemon.wait(10)
        self.daemon.stdout.close()


class MockNetworkManager:
    """NetworkManager as python-dbusmock's template plays it."""

    NAME = "org.freedesktop.NetworkManager"
    PATH = "/org/freedesktop/NetworkManager"
    CONNECTIVITY_NONE, CONNECTIVITY_FULL = 1, 4
    STATE_DISCONNECTED, STATE_CONNECTED_GLOBAL = 20, 70

    def __init__(self, system_bus):
        self.bus = system_bus
        system_bus.spawn_template("networkmanager", self.NAME)
        # The template has no Metered (NMMetered: 1 yes, 2 no, 3 guess-yes)
        self._mock("AddProperty", "(ssv)", self.NAME, "Metered", GLib.Variant("u", 2))

    def _mock(self, method, signature, *args, path=None):
        self.bus.call(self.NAME, path or self.PATH, "org.freedesktop.DBus.Mock", method,
                      GLib.Variant(signature, args))

    def set_online(self, online):
        if online:
            self._mock("SetGlobalConnectionState", "(u)", self.STATE_CONNECTED_GLOBAL)
            self._mock("SetConnectivity", "(u)", self.CONNECTIVITY_FULL)
        else:
            self._mock("SetConnectivity", "(u)", self.CONNECTIVITY_NONE)
            self._mock("SetGlobalConnectionState", "(u)", self.STATE_DISCONNECTED)

    def set_metered(self, metered):
        self.bus.update_properties(self.NAME, self.PATH, self.NAME,
                                   Metered=GLib.Variant("u", 1 if metered else 2))


class MockUPower:
    NAME = "org.freedesktop.UPower"
    PATH = "/org/freedesktop/UPower"
    DISPLAY = "/org/freedesktop/UPower/devices/DisplayDevice"

    def __init__(self, system_bus):
        self.bus = system_bus
        system_bus.spawn_template("upower", self.NAME)
        self.set_battery(on_battery=False, percentage=80.0)

    def set_battery(self, on_battery, percentage, warning_level=1):
        # Type 2: battery; State 2 discharging, 1 charging
        self.bus.call(self.NAME, self.PATH, "org.freedesktop.DBus.Mock", "SetupDisplayDevice",
                      GLib.Variant("(uuddddxxbsu)", (2, 2 if on_battery else 1, percentage, 40.0,
                                                     50.0, 10.0, 3600, 0, True, "battery",
                                                     warning_level)))
        self.bus.update_properties(self.NAME, self.PATH, self.NAME,
                                   OnBattery=GLib.Variant("b", on_battery))


class MockPowerProfiles:
    NAME = "net.hadess.PowerProfiles"
    PATH = "/net/hadess/PowerProfiles"

    def __init__(self, system_bus):
        self.bus = system_bus
        system_bus.spawn_template("power_profiles_daemon", self.NAME)

    def set_profile(self, profile):
        self.bus.update_properties(self.NAME, self.PATH, self.NAME,
                                   ActiveProfile=GLib.Variant("s", profile))


class MockModemManager:
    """A modem whose 3GPP registration the test sets (5: roaming, 1: home)."""

    NAME = "org.freedesktop.ModemManager1"
    PATH = "/org/freedesktop/ModemManager1"
    MODEM = PATH + "/Modem/0"
    IFACE = "org.freedesktop.ModemManager1.Modem.Modem3gpp"

    def __init__(self, system_bus):
        self.bus = system_bus
        system_bus.spawn_template(None, self.NAME, argv=["-m", self.NAME, self.PATH, self.NAME])
        self.bus.call(self.NAME, self.PATH, "org.freedesktop.DBus.Mock", "AddObject",
                      GLib.Variant("(ssa{sv}a(ssss))", (self.MODEM, self.IFACE, {
                          "RegistrationState": GLib.Variant("u", 1)}, [])))

    def set_roaming(self, roaming):
        self.bus.update_properties(self.NAME, self.MODEM, self.IFACE,
                                   RegistrationState=GLib.Variant("u", 5 if roaming else 1))


NGINX_CONF = """daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 256; }}
http {{
  default_type application/octet-stream;
  sendfile on;
  log_format custom {log_format};
  access_log {dir}/access.log custom;
  client_body_temp_path {dir}/tmp/body;
  proxy_temp_path {dir}/tmp/proxy;
  fastcgi_temp_path {dir}/tmp/fastcgi;
  uwsgi_temp_path {dir}/tmp/uwsgi;
  scgi_temp_path {dir}/tmp/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location /slow/ {{
      alias {root}/;
      limit_rate {slow_rate};
    }}
    location /dav/ {{
      alias {dir}/dav/;
      dav_methods PUT DELETE;
      create_full_put_path on;
      client_max_body_size 0;
    }}
  }}
}}
"""


# What each request asked for: tests check the service's Range and If-Range
NGINX_LOG_RANGES = ("'$request_method $uri $status range=\"$http_range\" "
                    "if_range=\"$http_if_range\" accept_encoding=\"$http_accept_encoding\" "
                    "sent=$body_bytes_sent'")


class Nginx:
    """A real nginx on a loopback port, unprivileged, serving root."""

    def __init__(self, root, slow_rate="1m", tmpdir=None, log_format=NGINX_LOG_RANGES):
        self.dir = tmpdir or tempfile.mkdtemp(prefix="bgt-nginx-")
        self.root = root
        self.port = free_port()
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        self.dav = os.path.join(self.dir, "dav")  # where PUT uploads land
        os.makedirs(self.dav, exist_ok=True)
        os.chmod(self.dav, 0o777)
        os.chmod(os.path.join(self.dir, "tmp"), 0o777)
        # Workers drop to an unprivileged user when started as root
        for d in (self.dir, root):
            os.chmod(d, 0o755)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, root=root, port=self.port,
                                      slow_rate=slow_rate, log_format=log_format))
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.dir, "-c", conf, "-e", os.path.join(self.dir, "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start: " + self.error_log())
                time.sleep(0.02)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def access_log(self):
        with open(os.path.join(self.dir, "access.log")) as f:
            return f.read().splitlines()

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def close(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def make_file(path, size):
    """A file of random bytes; returns its sha256."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        written = 0
        while written < size:
            chunk = os.urandom(min(1 << 20, size - written))
            f.write(chunk)
            h.update(chunk)
            written += len(chunk)
    os.chmod(path, 0o644)
    return h.hexdigest()
