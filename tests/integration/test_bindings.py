# test_bindings.py: the Python and GJS examples download through the library
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import subprocess
import sys

import pytest
import bgtharness
from bgtharness import SRCDIR, sha256_file

EXAMPLES = {
    "python": [sys.executable, os.path.join(SRCDIR, "bindings", "python", "download.py")],
    "gjs": ["gjs", "-m", os.path.join(SRCDIR, "bindings", "gjs", "download.js")],
}


@pytest.mark.parametrize("language", sorted(EXAMPLES))
def test_example_downloads(language, bus, nginx, dest_dir):
    dest = dest_dir / "medium.bin"
    r = subprocess.run(EXAMPLES[language] + [nginx.url("medium.bin"), str(dest)],
                       env=bgtharness.library_env(bus.env), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"saved {dest}" in r.stdout
    assert "/4194304 bytes" in r.stdout, "progress is reported"
    assert sha256_file(dest) == nginx.files["medium.bin"]


@pytest.mark.parametrize("language", sorted(EXAMPLES))
def test_example_reports_failure(language, bus, nginx, dest_dir):
    r = subprocess.run(EXAMPLES[language] + [nginx.url("missing.bin"), str(dest_dir / "m")],
                       env=bgtharness.library_env(bus.env), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1
    assert "not-found" in r.stderr
    assert os.listdir(dest_dir) == []


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
