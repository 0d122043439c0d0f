# test_bindings.py: the examples in bindings/ run against the real service
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Each example is run as its header says a user would run it: the C one
# compiled with `cc $(pkg-config --cflags --libs bgtransfer-1)` (the build
# tree's uninstalled .pc file), the Vala one with `valac --pkg bgtransfer-1`
# against the vapi generated from the GIR, the Python and GJS ones as they
# are. The download examples fetch a file from nginx with progress and
# report a failure; the completion-group example queues downloads, exits,
# and is started again by D-Bus activation when they have ended.

import os
import subprocess
import sys

import pytest
import bgtharness
from bgtharness import BUILDDIR, SRCDIR, require_tool, sha256_file, wait_for

BINDINGS = os.path.join(SRCDIR, "bindings")
LIBDIR = os.path.join(BUILDDIR, "libbgtransfer")
MEDIUM_SIZE = 4 * 1024 * 1024


def compile_c(outdir):
    require_tool("cc")
    require_tool("pkg-config")
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(BUILDDIR, "meson-uninstalled"))
    r = subprocess.run(["pkg-config", "--cflags", "--libs", "bgtransfer-1"],
                       env=env, capture_output=True, text=True, check=True)
    program = os.path.join(outdir, "download-c")
    # Stricter than a user needs: the example must stay free of warnings
    r = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror",
                        "-o", program, os.path.join(BINDINGS, "c", "download.c")]
                       + r.stdout.split(),
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return [program]


def compile_vala(outdir):
    require_tool("valac")
    vapidir = os.path.join(BUILDDIR, "bindings")
    assert os.path.exists(os.path.join(vapidir, "bgtransfer-1.vapi")), \
        "valac is installed but the build made no vapi (vapigen missing?)"
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(BUILDDIR, "meson-uninstalled"))
    program = os.path.join(outdir, "download-vala")
    # The build tree has the vapi but not its .deps (meson installs that
    # one): name the packages it depends on, as the .deps file would
    r = subprocess.run(["valac", "--pkg", "bgtransfer-1", "--pkg", "gio-2.0",
                        "--pkg", "gio-unix-2.0", "--vapidir", vapidir, "-d", outdir,
                        "-o", program, os.path.join(BINDINGS, "vala", "download.vala")],
                       cwd=outdir, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return [program]


DOWNLOAD_EXAMPLES = {
    "c": compile_c,
    "gjs": lambda outdir: ["gjs", "-m", os.path.join(BINDINGS, "gjs", "download.js")],
    "python": lambda outdir: [sys.executable, os.path.join(BINDINGS, "python", "download.py")],
    "vala": compile_vala,
}


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """example(language): the command that runs that download example,
    compiled once per module where it needs compiling."""
    commands = {}

    def command(language):
        if language not in commands:
            commands[language] = DOWNLOAD_EXAMPLES[language](
                str(tmp_path_factory.mktemp(f"example-{language}")))
        return commands[language]
    return command


def run_example(bus, argv):
    # The library from the build tree (the .pc file gives no rpath)
    env = bgtharness.library_env(bus.env)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (LIBDIR, env.get("LD_LIBRARY_PATH")) if p)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


def progress(stdout):
    """The (received, total) pairs of the "N/M bytes" lines."""
    pairs = []
    for line in stdout.splitlines():
        if line.endswith(" bytes") and "/" in line:
            received, total = line[:-len(" bytes")].split("/")
            pairs.append((int(received), int(total)))
    return pairs


@pytest.mark.parametrize("language", sorted(DOWNLOAD_EXAMPLES))
def test_example_downloads_with_progress(language, example, bus, nginx, dest_dir):
    command = example(language)
    dest = dest_dir / "medium.bin"
    r = run_example(bus, command + [nginx.url("medium.bin"), str(dest)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.rstrip().endswith(f"saved {dest}")
    pairs = progress(r.stdout)
    assert pairs, "progress is reported"
    assert all(total == MEDIUM_SIZE for _, total in pairs)
    received = [n for n, _ in pairs]
    assert received == sorted(received) and 0 < received[-1] <= MEDIUM_SIZE
    assert sha256_file(dest) == nginx.files["medium.bin"]


@pytest.mark.parametrize("language", sorted(DOWNLOAD_EXAMPLES))
def test_example_reports_the_progress_of_a_download_that_ends_at_once(
        language, example, bus, nginx, dest_dir):
    # Each message the example sends waits 300 ms (strace delays its
    # sendmsg calls): 4 KiB from loopback are on disk before the example
    # has asked for the new transfer's properties. The progress it reports
    # must be the state it finds, not only the changes that follow.
    require_tool("strace")
    dest = dest_dir / "small.txt"
    slow = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=sendmsg",
            "-e", "inject=sendmsg:delay_enter=300000"]
    r = run_example(bus, slow + example(language) + [nginx.url("small.txt"), str(dest)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert progress(r.stdout)[-1:] == [(4096, 4096)], r.stdout
    assert r.stdout.rstrip().endswith(f"saved {dest}")
    assert sha256_file(dest) == nginx.files["small.txt"]


@pytest.mark.parametrize("language", sorted(DOWNLOAD_EXAMPLES))
def test_example_reports_failure(language, example, bus, nginx, dest_dir):
    command = example(language)
    r = run_example(bus, command + [nginx.url("missing.bin"), str(dest_dir / "m")])
    assert r.returncode == 1, r.stdout + r.stderr
    assert "not-found" in r.stderr
    assert "saved" not in r.stdout
    assert os.listdir(dest_dir) == []


@pytest.mark.parametrize("language", sorted(DOWNLOAD_EXAMPLES))
def test_example_usage(language, example, bus):
    r = run_example(bus, example(language))
    assert r.returncode == 2
    assert "usage:" in r.stderr


# ---- The completion-group example -----------------------------------------

COMPLETION_EXAMPLE = os.path.join(BINDINGS, "python", "completion-group.py")
COMPLETION_APP_ID = "org.freedesktop.BackgroundTransfer.ExampleCompletion"


def test_completion_group_example_is_woken_by_dbus_activation(bus, nginx, dest_dir):
    # Installed as its header says: a .service file whose Exec starts it in
    # GApplication's service mode (the test bus's service directory stands
    # for ~/.local/share/dbus-1/services)
    with open(os.path.join(bus.servicedir, COMPLETION_APP_ID + ".service"), "w") as f:
        f.write("[D-BUS Service]\n"
                f"Name={COMPLETION_APP_ID}\n"
                f"Exec={sys.executable} {COMPLETION_EXAMPLE} --gapplication-service\n")
    report = dest_dir / "downloads-finished.txt"

    # The first run queues the downloads and exits
    r = run_example(bus, [sys.executable, COMPLETION_EXAMPLE, str(dest_dir),
                          nginx.url("medium.bin"), nginx.url("missing.bin")])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("queued ") == 2
    group = r.stdout.split("group ", 1)[1].split()[0]
    assert group.startswith("/org/freedesktop/BackgroundTransfer/completion_group/")

    # Nothing of the app is left running: only D-Bus activation can start
    # the instance that writes the report
    wait_for(report.exists, 60, "the woken app's report")
    lines = report.read_text().splitlines()
    assert lines[0] == f"group {group}"
    outcomes = sorted(line.split(" ", 1)[1] for line in lines[1:])
    assert outcomes == [f"completed {dest_dir / 'medium.bin'}",
                        f"error (not-found) {dest_dir / 'missing.bin'}"]
    assert sha256_file(dest_dir / "medium.bin") == nginx.files["medium.bin"]
    # The woken instance quits once the action has run
    wait_for(lambda: not bus.has_owner(COMPLETION_APP_ID), 30, "the woken app to quit")


def test_completion_group_example_usage(bus):
    r = run_example(bus, [sys.executable, COMPLETION_EXAMPLE])
    assert r.returncode == 2
    assert "usage:" in r.stderr


# The numbers JavaScript sees: a size the server did not give is -1, not
# G_MAXUINT64 (which a JS number cannot hold: it read 18446744073709552000)
GJS_TOTAL = """
imports.gi.versions.Bgt = '1';
const {Bgt} = imports.gi;
const [id] = ARGV;
const client = Bgt.Client.new_sync('org.example.Tests', null);
const loop = new imports.gi.GLib.MainLoop(null, false);
client.get_transfer_async(id, null, (c, result) => {
    const t = c.get_transfer_finish(result);
    print(JSON.stringify({
        total: t.total_bytes_to_receive, type: typeof t.total_bytes_to_receive,
        getter: t.get_total_bytes_to_receive(), progress: t.progress,
        received: t.bytes_received, network: client.network_state,
        unrestricted: Bgt.NetworkState.UNRESTRICTED,
    }));
    loop.quit();
});
loop.run();
"""


def test_gjs_sees_an_unknown_total_as_minus_one(bus, client, dest_dir):
    import json
    import threading
    from bgtharness import Bgt, Gio, call, require_tool, wait_for
    from faultserver import FaultServer
    require_tool("gjs")
    server = FaultServer()
    go_on = threading.Event()

    def chunked(conn, req, n):
        conn.head(200, [("Transfer-Encoding", "chunked")])
        conn.send(b"400\r\n" + b"a" * 0x400 + b"\r\n")
        go_on.wait(60)
        conn.send(b"0\r\n\r\n")
    server.route("/chunked", chunked)
    try:
        t = call(Bgt.Downloader.new(client), "create_download", server.url("chunked"),
                 Gio.File.new_for_path(str(dest_dir / "c")))
        wait_for(lambda: t.props.bytes_received == 0x400, 30, "the first chunk")
        r = subprocess.run(["gjs", "-c", GJS_TOTAL, t.get_id()],
                           env=bgtharness.library_env(bus.env), capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        seen = json.loads(r.stdout)
        assert seen == {"total": -1, "type": "number", "getter": -1, "progress": -1,
                        "received": 0x400, "network": seen["unrestricted"],
                        "unrestricted": seen["unrestricted"]}
    finally:
        go_on.set()
        server.close()
    assert call(t, "wait")


# ---- The random-access example ----------------------------------------------


def test_random_access_example_reads_the_end_first(bus, nginx, dest_dir):
    """bindings/python/random-access.py reads the last MiB of a 50 MiB
    download (at 1 MiB/s per connection) through Bgt.ResultStream before
    the download reaches it, and checks it against the server's bytes."""
    dest = dest_dir / "big.bin"
    size = os.path.getsize(os.path.join(nginx.root, "big.bin"))
    r = run_example(bus, [sys.executable, os.path.join(BINDINGS, "python", "random-access.py"),
                          nginx.url("slow/big.bin"), str(dest)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the last MiB matches the server's" in r.stdout
    on_disk = int(r.stdout.split(" while ", 1)[1].split(" of ", 1)[0])
    # Read while most of what comes before was not there yet
    assert on_disk < size - 1024 * 1024, r.stdout
    assert r.stdout.rstrip().endswith(f"saved {dest}")
    assert sha256_file(dest) == nginx.files["big.bin"]
