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


def test_python_example_reads_the_end_first(bus, nginx, dest_dir):
    """bindings/python/random-access.py reads the last MiB of a 50 MiB
    download (at 1 MiB/s per connection) through Bgt.ResultStream before
    the download reaches it, and checks it against the server's bytes."""
    dest = dest_dir / "big.bin"
    size = os.path.getsize(os.path.join(nginx.root, "big.bin"))
    r = subprocess.run([sys.executable, os.path.join(SRCDIR, "bindings", "python",
                                                     "random-access.py"),
                        nginx.url("slow/big.bin"), str(dest)],
                       env=bgtharness.library_env(bus.env), capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the last MiB matches the server's" in r.stdout
    on_disk = int(r.stdout.split(" while ", 1)[1].split(" of ", 1)[0])
    # Read while most of what comes before was not there yet
    assert on_disk < size - 1024 * 1024, r.stdout
    assert f"saved {dest}" in r.stdout
    assert sha256_file(dest) == nginx.files["big.bin"]
