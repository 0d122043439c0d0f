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
from bgtharness import BUILDDIR, sha256_file

CLI = os.path.join(BUILDDIR, "libbgtransfer", "tools", "bgtransfer")
APP = "org.example.Cli"


@pytest.fixture
def cli(bus):
    env = dict(bus.env, BGTRANSFER_APP_ID=APP, LC_ALL="C.UTF-8")

    def run(*args, check=None, timeout=120, extra_env=None):
        r = subprocess.run([CLI, *args], env=dict(env, **(extra_env or {})),
                           capture_output=True, text=True, timeout=timeout)
        if check is not None:
            assert r.returncode == check, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    run.env = env
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
    assert "completed" in r.stderr  # plain status lines when not on a terminal
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
    assert "paused-by-application" in r.stdout and nginx.url("slow/medium.bin") in r.stdout
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
    assert "cancel" in r.stderr
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
    assert "detached" in err
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
    assert "cannot reach" in r.stderr


def test_wait_survives_a_service_crash(bus, cli, nginx, dest_dir):
    """The library restarts a crashed service for a waiting CLI; the
    download resumes and completes."""
    dest = dest_dir / "crash.bin"
    tid = cli("download", "--no-wait", nginx.url("slow/medium.bin"), str(dest),
              check=0).stdout.strip()
    waiter = subprocess.Popen([CLI, "wait", tid], env=cli.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    wait_json(cli, tid, lambda o: o["bytes"] > 512 * 1024)
    bus.kill_service(signal.SIGKILL)
    out, err = waiter.communicate(timeout=60)
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
