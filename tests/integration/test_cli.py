# test_cli.py: the bgtransfer command line, as a user and a script use it
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import os
import pty
import select
import signal
import subprocess
import time

import pytest
from bgtharness import sha256_file
from clitool import CLI, LOCALES, Messages, cli_env, make_runner, require_locale

APP = "org.example.Cli"


@pytest.fixture(params=LOCALES, ids=["C", "zh_CN"])
def lang(request):
    """Every test of the CLI runs in English and in Chinese."""
    require_locale(request.param)
    return request.param


@pytest.fixture
def cli(bus, lang):
    run = make_runner(cli_env(bus.env, lang, APP))
    run.msg = Messages(lang)
    return run


def show_json(cli, tid):
    return json.loads(cli("show", "--json", tid, check=0).stdout)


def wait_json(cli, tid, predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        obj = show_json(cli, tid)
        if predicate(obj):
            return obj
        assert time.monotonic() < deadline, f"timed out; last state {obj}"
        time.sleep(0.1)  # polling a CLI: there is no signal to await from here


def test_download_waits_and_succeeds(cli, nginx, dest_dir):
    dest = dest_dir / "medium.bin"
    r = cli("download", nginx.url("medium.bin"), str(dest), check=0)
    assert str(dest) in r.stdout
    assert sha256_file(dest) == nginx.files["medium.bin"]
    assert cli.msg("completed", "status") in r.stderr  # plain status lines when not on a terminal
    assert "\r" not in r.stderr


def test_download_default_name_in_current_directory(cli, nginx, dest_dir):
    r = subprocess.run([CLI, "download", nginx.url("small.txt")], cwd=dest_dir, env=cli.env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert sha256_file(dest_dir / "small.txt") == nginx.files["small.txt"]


def test_download_json(cli, nginx, dest_dir):
    r = cli("download", "--json", nginx.url("small.txt"), str(dest_dir / "s.txt"), check=0)
    obj = json.loads(r.stdout)
    assert obj["status"] == "completed"
    assert obj["uri"] == nginx.url("small.txt")
    assert obj["bytes"] == 4096 and obj["total"] == 4096
    assert obj["error-status"] in ("", "none")
    assert obj["destination"] == str(dest_dir / "s.txt")
    assert len(obj["id"]) > 0


def test_not_found_fails(cli, nginx, dest_dir):
    r = cli("download", nginx.url("nope.bin"), str(dest_dir / "nope.bin"), check=1)
    assert "not-found" in r.stderr
    assert os.listdir(dest_dir) == []


@pytest.mark.parametrize("uri,message", [
    ("gopher://127.0.0.1/x", "scheme"),
    ("http://", "URI"),
])
def test_bad_uri_fails_clearly(cli, dest_dir, uri, message):
    r = cli("download", uri, str(dest_dir / "x"))
    assert r.returncode != 0
    assert message.lower() in r.stderr.lower()
    assert os.listdir(dest_dir) == []


def test_missing_directory_fails_clearly(cli, nginx, tmp_path):
    r = cli("download", nginx.url("small.txt"), str(tmp_path / "nodir" / "x"), check=1)
    assert "nodir" in r.stderr
    assert not (tmp_path / "nodir").exists()


def test_usage_errors(cli):
    assert cli("frobnicate").returncode == 2
    assert cli("download").returncode == 2
    assert cli("download", "--priority=urgent", "http://127.0.0.1/x").returncode == 2
    assert cli("download", "--header=NoColon", "http://127.0.0.1/x").returncode == 2
    r = cli("--help", check=0)
    assert "download" in r.stdout and "wait" in r.stdout


def test_control_a_transfer_by_id(cli, nginx, dest_dir):
    dest = dest_dir / "controlled.bin"
    tid = cli("download", "--no-wait", nginx.url("slow/medium.bin"), str(dest), check=0).stdout.strip()
    assert tid and "\n" not in tid
    wait_json(cli, tid, lambda o: o["bytes"] > 0)
    cli("pause", tid, check=0)
    obj = show_json(cli, tid)
    assert obj["status"] == "paused-by-application"
    cli("pause", tid, check=0)  # a no-op
    r = cli("show", tid, check=0)
    assert cli.msg("paused-by-application", "status") in r.stdout
    assert nginx.url("slow/medium.bin") in r.stdout
    listed = json.loads(cli("list", "--json", check=0).stdout)
    assert [o["id"] for o in listed] == [tid]
    r = cli("remove", tid, check=1)  # not finished
    assert "InvalidState".lower() in r.stderr.lower().replace(" ", "") or "finished" in r.stderr
    cli("resume", tid, check=0)
    cli("wait", tid, check=0)
    assert sha256_file(dest) == nginx.files["medium.bin"]
    assert show_json(cli, tid)["status"] == "completed"
    cli("remove", tid, check=0)
    assert json.loads(cli("list", "--json", check=0).stdout) == []
    r = cli("show", tid, check=1)
    assert tid in r.stderr


def test_cancel_then_wait_fails(cli, nginx, dest_dir):
    tid = cli("download", "--no-wait", nginx.url("slow/big.bin"),
              str(dest_dir / "c.bin"), check=0).stdout.strip()
    wait_json(cli, tid, lambda o: o["bytes"] > 0)
    cli("cancel", tid, check=0)
    r = cli("wait", tid, check=1)
    assert cli.msg("canceled", "status") in r.stderr
    assert os.listdir(dest_dir) == []
    cli("cancel", tid, check=1)  # finished already


def test_transfers_of_other_apps_are_invisible(cli, nginx, dest_dir):
    tid = cli("download", "--no-wait", nginx.url("small.txt"), str(dest_dir / "a"),
              check=0).stdout.strip()
    other = {"BGTRANSFER_APP_ID": "org.example.Other"}
    assert json.loads(cli("list", "--json", extra_env=other, check=0).stdout) == []
    assert cli("show", tid, extra_env=other).returncode == 1
    assert cli("cancel", tid, extra_env=other).returncode == 1
    cli("wait", tid, check=0)


def test_ctrl_c_detaches(cli, nginx, dest_dir):
    dest = dest_dir / "detached.bin"
    proc = subprocess.Popen([CLI, "download", nginx.url("slow/medium.bin"), str(dest)],
                            env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait until it reports progress, then interrupt it like a user would
    line = proc.stderr.readline()
    assert line, "no progress before Ctrl-C"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    tid = out.strip().splitlines()[-1]
    assert cli.msg.before("detached; the transfer goes on: %s") in err
    # The transfer went on without the CLI
    assert show_json(cli, tid)["status"] in ("running", "completed")
    cli("wait", tid, check=0)
    assert sha256_file(dest) == nginx.files["medium.bin"]


def test_progress_bar_on_a_terminal(cli, nginx, dest_dir):
    master, slave = pty.openpty()
    proc = subprocess.Popen([CLI, "download", nginx.url("slow/medium.bin"),
                             str(dest_dir / "tty.bin")],
                            env=dict(cli.env, COLUMNS="100", TERM="xterm"),
                            stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    output = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        assert ready, "no output from the CLI"
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the CLI exited and closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert proc.wait(30) == 0
    os.close(master)
    text = output.decode(errors="replace")
    assert "\r" in text, "the bar is redrawn in place"
    assert "%" in text
    assert sha256_file(dest_dir / "tty.bin") == nginx.files["medium.bin"]


def test_service_unreachable(cli, dest_dir, tmp_path):
    r = cli("list", extra_env={"DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/nobus"})
    assert r.returncode == 1
    assert cli.msg.before("cannot reach the background transfer service: %s") in r.stderr


def test_wait_survives_a_service_crash(bus, cli, nginx, dest_dir):
    """The library restarts a crashed service for a waiting CLI; the
    download resumes and completes."""
    dest = dest_dir / "crash.bin"
    tid = cli("download", "--no-wait", nginx.url("slow/medium.bin"), str(dest),
              check=0).stdout.strip()
    waiter = subprocess.Popen([CLI, "wait", tid], env=cli.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    # Its first progress line: it has found the transfer and waits (a
    # kill before that is test_library's read_in_flight case)
    ready, _, _ = select.select([waiter.stderr], [], [], 60)
    assert ready, "the waiting CLI printed no progress"
    first = waiter.stderr.readline()
    assert first, "the waiting CLI ended before it waited"
    wait_json(cli, tid, lambda o: o["bytes"] > 512 * 1024)
    assert waiter.poll() is None
    bus.kill_service(signal.SIGKILL)
    out, err = waiter.communicate(timeout=60)
    err = first + err
    assert waiter.returncode == 0, err
    assert sha256_file(dest) == nginx.files["medium.bin"]


def test_upload_put_and_multipart(cli, nginx, tmp_path):
    import hashlib
    from faultserver import FaultServer
    src = tmp_path / "up.bin"
    src.write_bytes(os.urandom(300_000))
    cli("upload", "-X", "PUT", str(src), nginx.url("dav/cli-up.bin"), check=0)
    assert sha256_file(os.path.join(nginx.dav, "cli-up.bin")) == sha256_file(src)

    server = FaultServer()
    try:
        bodies = []
        server.route("/form", lambda c, r, n: (bodies.append(r), c.respond(200, b"{}")))
        r = cli("upload", "--json", "--part", f"doc=@{src}", "--part", "note=hello",
                server.url("form"), check=0)
        obj = json.loads(r.stdout)
        assert obj["status"] == "completed" and obj["kind"] == "upload"
        body = bodies[0].body
        assert bodies[0].header("content-type").startswith("multipart/form-data; boundary=")
        assert b'name="doc"; filename="up.bin"' in body and src.read_bytes() in body
        assert b'name="note"' in body and b"hello" in body
        assert cli("upload", "--part", "novalue", server.url("form")).returncode == 2
        assert cli("upload", "--part", "a=b", str(src), server.url("form")).returncode == 2
    finally:
        server.close()


# ---- Every option of the interface is a flag ------------------------------

def test_no_start_then_start(cli, nginx, dest_dir):
    dest = dest_dir / "later.txt"
    tid = cli("download", "--no-start", nginx.url("small.txt"), str(dest), check=0).stdout.strip()
    assert show_json(cli, tid)["status"] == "idle"
    assert not dest.exists()
    cli("start", tid, check=0)
    cli("wait", tid, check=0)
    assert sha256_file(dest) == nginx.files["small.txt"]


def test_set_priority_and_cost_policy(cli, nginx, dest_dir):
    tid = cli("download", "--no-start", "--priority=low", "--cost-policy=unrestricted-only",
              nginx.url("small.txt"), str(dest_dir / "p.txt"), check=0).stdout.strip()
    obj = show_json(cli, tid)
    assert (obj["priority"], obj["cost-policy"]) == ("low", "unrestricted-only")
    cli("set-priority", tid, "high", check=0)
    cli("set-cost-policy", tid, "always", check=0)
    obj = show_json(cli, tid)
    assert (obj["priority"], obj["cost-policy"]) == ("high", "always")
    r = cli("set-priority", tid, "urgent", check=2)
    assert cli.msg.before("invalid priority “%s”: use low, default or high") in r.stderr
    cli("set-cost-policy", tid, "sometimes", check=2)
    cli("set-priority", tid, check=2)
    cli("cancel", tid, check=0)


def test_set_uri_moves_a_paused_download(cli, nginx, dest_dir):
    dest = dest_dir / "moved.bin"
    tid = cli("download", "--no-wait", nginx.url("slow/medium.bin"), str(dest),
              check=0).stdout.strip()
    wait_json(cli, tid, lambda o: o["bytes"] > 0)
    cli("pause", tid, check=0)
    cli("set-uri", tid, nginx.url("medium.bin"), check=0)
    assert show_json(cli, tid)["uri"] == nginx.url("medium.bin")
    cli("resume", tid, check=0)
    cli("wait", tid, check=0)
    assert sha256_file(dest) == nginx.files["medium.bin"]
    cli("set-uri", tid, "not a uri", check=2)


def test_group_behavior(cli, nginx, dest_dir):
    cli("group", "photos", "serialized", check=0)
    cli("group", "photos", "parallel", check=0)
    r = cli("group", "photos", "sideways", check=2)
    assert cli.msg.before("invalid behavior “%s”: use parallel or serialized") in r.stderr
    tid = cli("download", "--no-wait", "--group=photos", "--tag=holiday", nginx.url("small.txt"),
              str(dest_dir / "g.txt"), check=0).stdout.strip()
    cli("wait", tid, check=0)
    obj = show_json(cli, tid)
    assert (obj["group"], obj["tag"]) == ("photos", "holiday")


def test_limit_rate(cli, nginx, dest_dir):
    started = time.monotonic()
    cli("download", "--limit-rate=2M", nginx.url("medium.bin"), str(dest_dir / "r.bin"), check=0)
    assert time.monotonic() - started >= 1.2  # 4 MiB at 2 MiB/s, one second's burst allowed
    assert sha256_file(dest_dir / "r.bin") == nginx.files["medium.bin"]
    for bad in ("fast", "0", "2X", "-1"):
        cli("download", f"--limit-rate={bad}", nginx.url("small.txt"), check=2)


def test_mirror_after_a_failure(cli, nginx, dest_dir):
    dest = dest_dir / "mirrored.bin"
    cli("download", "--mirror", nginx.url("medium.bin"), nginx.url("nope.bin"), str(dest),
        check=0)
    assert sha256_file(dest) == nginx.files["medium.bin"]
    cli("download", "--mirror=::", nginx.url("small.txt"), str(dest_dir / "x"), check=2)


def test_method_checksum_and_if_changed_reach_the_service(cli, dest_dir):
    from faultserver import FaultServer
    server = FaultServer()
    try:
        seen = []
        server.route("/m", lambda c, r, n: (seen.append(r.method), c.respond(200, b"hello")))
        cli("download", "-X", "post", "--if-changed=fail", server.url("m"),
            str(dest_dir / "m"), check=0)
        assert seen == ["POST"]
        r = cli("download", "--checksum=sha256:" + "0" * 64, server.url("m"),
                str(dest_dir / "bad"), check=1)
        assert "checksum-mismatch" in r.stderr
        cli("download", "--if-changed=sometimes", server.url("m"), check=2)
    finally:
        server.close()


@pytest.mark.parametrize("flag,option", [("--connections=4", "connections"),
                                         ("--random-access", "random-access")])
def test_segment_flags_reach_the_service(cli, nginx, dest_dir, flag, option):
    """The service takes them (test_segments.py proves what they do)."""
    dest = dest_dir / "seg.bin"
    cli("download", flag, nginx.url("medium.bin"), str(dest), check=0)
    assert sha256_file(dest) == nginx.files["medium.bin"]
    cli("download", "--connections=17", nginx.url("small.txt"), check=2)


def test_completion_group_flag(bus, cli, nginx, dest_dir):
    from bgtharness import BUS_NAME, MANAGER_IFACE, MANAGER_PATH, GLib, Gio
    conn = bus.connect()
    reply = conn.call_sync(BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "CreateCompletionGroup",
                           GLib.Variant("(a{sv})", ({"app-id": GLib.Variant("s", APP),
                                                     "action": GLib.Variant("s", "done")},)),
                           None, Gio.DBusCallFlags.NONE, 10000, None)
    group = reply.unpack()[0]
    tid = cli("download", "--no-start", f"--completion-group={group}", nginx.url("small.txt"),
              str(dest_dir / "cg"), check=0).stdout.strip()
    members = conn.call_sync(BUS_NAME, group, "org.freedesktop.DBus.Properties", "Get",
                             GLib.Variant("(ss)", ("org.freedesktop.BackgroundTransfer."
                                                   "CompletionGroup", "Members")),
                             None, Gio.DBusCallFlags.NONE, 10000, None).unpack()[0]
    assert any(m.endswith("/" + tid) for m in members), members
    cli("download", "--completion-group=not-a-path", nginx.url("small.txt"), check=2)


# ---- Passwords -------------------------------------------------------------

def basic_auth_server(user, password):
    import base64
    from faultserver import FaultServer
    server = FaultServer()
    good = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    server.route("/secret", lambda c, r, n: c.respond(200, b"the secret")
                 if r.header("authorization") == good
                 else c.respond(401, b"no", [("WWW-Authenticate", 'Basic realm="bgt"')]))
    return server


def run_on_pty(argv, env, answer=None, prompt=None, columns=100, timeout=60):
    """Runs argv with a terminal for stdin, stdout and stderr; types
    `answer` once `prompt` shows. Returns (status, output)."""
    import fcntl
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen(argv, env=env, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    while True:
        ready, _, _ = select.select([master], [], [], max(0.1, deadline - time.monotonic()))
        assert ready, f"no output from the CLI; so far {output!r}"
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the CLI exited and closed the terminal
            break
        if not chunk:
            break
        output += chunk
        if answer is not None and prompt.encode() in output:
            os.write(master, answer.encode() + b"\n")
            answer = None
    status = proc.wait(30)
    os.close(master)
    return status, output.decode(errors="replace")


def test_user_without_password_asks_on_the_terminal_without_echo(cli, dest_dir):
    server = basic_auth_server("bob", "s3cr3t-word")
    try:
        dest = dest_dir / "secret.txt"
        prompt = cli.msg("Password for %s: ") % "bob"
        status, output = run_on_pty([CLI, "download", "-u", "bob", server.url("secret"),
                                     str(dest)], cli.env, answer="s3cr3t-word", prompt=prompt)
        assert status == 0, output
        assert prompt in output
        assert "s3cr3t-word" not in output  # not echoed
        assert dest.read_bytes() == b"the secret"
    finally:
        server.close()


def test_user_without_password_fails_clearly_without_a_terminal(cli, dest_dir):
    r = cli("download", "-u", "bob", "http://127.0.0.1:9/x", str(dest_dir / "x"),
            stdin=subprocess.DEVNULL, check=2)
    assert cli.msg.before("%s USER without a password needs a terminal to ask for it; "
                          "give USER:PASSWORD instead") == ""
    assert "--user" in r.stderr
    assert cli.msg("%s USER without a password needs a terminal to ask for it; "
                   "give USER:PASSWORD instead").replace("%s", "--user") in r.stderr
    assert os.listdir(dest_dir) == []


# ---- Progress and monitor on a terminal ------------------------------------

def display_width(text):
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text
               if not unicodedata.combining(c))


@pytest.mark.parametrize("columns", [60, 34])
def test_progress_fits_the_terminal_and_shows_the_time_left(cli, nginx, dest_dir, columns):
    status, output = run_on_pty([CLI, "download", nginx.url("slow/medium.bin"),
                                 str(dest_dir / "w.bin")], cli.env, columns=columns)
    assert status == 0, output
    # The progress report, not the path printed at the end
    segments = [s for line in output.split("\n") for s in line.split("\r")
                if str(dest_dir) not in s]
    too_wide = [s for s in segments if display_width(s) > columns - 1]
    assert not too_wide, too_wide
    if columns >= 60:
        assert cli.msg.before("ETA %s") in output
        assert cli.msg("%s/s").replace("%s", "") in output  # a rate
        assert "[" in output  # room for a bar


def test_monitor_table_on_a_terminal(cli, nginx, dest_dir):
    import signal as sig
    import struct
    import fcntl
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen([CLI, "monitor"], env=cli.env, stdin=slave, stdout=slave,
                            stderr=slave, start_new_session=True)
    os.close(slave)
    output = b""
    try:
        def read_some(seconds):
            nonlocal output
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.1)
                if ready:
                    output += os.read(master, 65536)
        read_some(1)
        tid = cli("download", "--no-wait", nginx.url("slow/medium.bin"),
                  str(dest_dir / "t.bin"), check=0).stdout.strip()
        cli("wait", tid, check=0)
        read_some(1.5)
        text = output.decode(errors="replace")
        assert tid in text
        assert cli.msg("STATUS") in text and cli.msg("PROGRESS") in text
        assert "\033[" in text  # redrawn in place
        assert cli.msg("completed", "status") in text.split(tid)[-1]
    finally:
        proc.send_signal(sig.SIGINT)
        assert proc.wait(15) == 0
        os.close(master)


def test_monitor_json_follows_the_manager_signals(cli, nginx, dest_dir):
    import threading
    from bgtharness import wait_for
    proc = subprocess.Popen([CLI, "monitor", "--json"], env=cli.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    events = []
    reader = threading.Thread(target=lambda: events.extend(json.loads(line)
                                                           for line in proc.stdout), daemon=True)
    reader.start()
    try:
        time.sleep(1)  # listed and subscribed
        tid = cli("download", "--no-wait", nginx.url("small.txt"), str(dest_dir / "j.txt"),
                  check=0).stdout.strip()
        cli("wait", tid, check=0)
        cli("remove", tid, check=0)
        wait_for(lambda: any(e["event"] == "removed" for e in events), 20, "removed")
        mine = [e for e in events if e["id"] == tid]
        assert mine[0]["event"] == "added" and mine[-1]["event"] == "removed"
        assert "completed" in [e["status"] for e in mine]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0


def test_monitor_follows_on_across_a_restart_of_the_service(bus, cli, nginx, dest_dir):
    """No polling: the library's live list is reconciled with a new
    instance of the service, whose TransferAdded and property changes the
    monitor then reports."""
    import threading
    from bgtharness import wait_for
    old = cli("download", "--no-start", nginx.url("small.txt"), str(dest_dir / "old.txt"),
              check=0).stdout.strip()
    proc = subprocess.Popen([CLI, "monitor", "--json"], env=cli.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    events = []
    reader = threading.Thread(target=lambda: events.extend(json.loads(line)
                                                           for line in proc.stdout), daemon=True)
    reader.start()

    def seen(tid, **what):
        return any(e["id"] == tid and all(e[k] == v for k, v in what.items()) for e in events)
    try:
        wait_for(lambda: seen(old, event="added"), 20, "the monitor's listing")
        bus.kill_service()
        new = cli("download", "--no-wait", nginx.url("small.txt"), str(dest_dir / "new.txt"),
                  check=0).stdout.strip()
        wait_for(lambda: seen(new, event="added"), 20, "the new transfer after the restart")
        wait_for(lambda: seen(new, status="completed"), 20, "the new transfer's end")
        cli("start", old, check=0)
        wait_for(lambda: seen(old, status="completed"), 20, "the old transfer's end")
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
