# test_scale.py: an application with 10,000 transfers, on a bus with
# dbus-daemon's built-in limits (the test bus sets none: 128 pending
# replies and 512 match rules per connection), hears every one end
#
# The app (many_transfers_app.py, a process of its own so that its RSS is
# its own) asks for all its downloads at once, without pacing, and follows
# each through its properties. Before libbgtransfer queued its calls and
# shared one signal subscription, such an app met LimitsExceeded on its
# 129th call and, past 512 transfers, some never reported their end.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import os
import subprocess

import pytest
import bgtharness
from bgtharness import PYTHON

HERE = os.path.dirname(os.path.abspath(__file__))
N = int(os.environ.get("BGT_SCALE_TRANSFERS", "10000"))


@pytest.fixture
def service_settings():
    # Room for them all (the per-app quota is 1000 by default), and the
    # tiny files fetched 16 at a time so that the run takes minutes
    return {"max-transfers-per-app": str(N + 100), "max-concurrent-transfers": "16",
            "max-connections-per-host": "16"}


def test_every_one_of_many_transfers_is_heard_to_end(bus, nginx, tmp_path):
    tiny = os.path.join(nginx.root, "tiny.txt")
    with open(tiny, "wb") as f:
        f.write(b"a tiny file\n")
    dest = tmp_path / "many"
    dest.mkdir()
    r = subprocess.run([PYTHON, os.path.join(HERE, "many_transfers_app.py"),
                        nginx.url("tiny.txt"), str(dest), str(N)],
                       env=bgtharness.library_env(bus.env), capture_output=True, text=True,
                       timeout=1100)
    assert r.returncode == 0, r.stderr[-5000:]
    result = json.loads(r.stdout)
    print(f"\n{N} transfers: all created after {result['created_s']} s, all ended after "
          f"{result['total_s']} s; the app's RSS {result['rss_mib']} MiB "
          f"(peak {result['peak_rss_mib']} MiB); "
          f"its connection's match rules at most {result['peak_match_rules']}")
    assert result["n_errors"] == 0, result["errors"]
    assert result["created"] == N
    assert result["ended"] == N, f"{N - result['ended']} transfers never reported their end"
    assert result["statuses"] == {"completed": N}
    assert len(os.listdir(dest)) == N
    if result["peak_match_rules"] is not None:
        assert result["peak_match_rules"] <= 2
