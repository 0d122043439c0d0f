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
