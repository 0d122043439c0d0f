# test_harness.py: the harness turns a crash of the service red
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# D-Bus activation restarts a crashed service, so a test that kills it and
# calls again sees nothing wrong. These cases run small generated test files
# through pytest in a subprocess, with the suites' own conftest.py, and check
# each comes out as it must: a SIGSEGV, SIGABRT or undeclared SIGKILL of the
# service mid-test fails the test; a declared kill and an idle exit do not.

import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

import bgtharness

HERE = os.path.dirname(os.path.abspath(__file__))

GENERATED = textwrap.dedent('''
    import os
    import signal
    import threading

    import pytest
    from bgtharness import ServiceBus, call, wait_for


    def kill_behind_the_tests_back(bus, client, sig):
        call(client, "list_transfers")
        pid = bus.service_pid()
        os.kill(pid, sig)
        wait_for(lambda: bus.service_pid() != pid, 20, "the service to go")
        # Activated again: the test itself sees nothing wrong
        assert list(call(client, "list_transfers")) == []


    def test_sigsegv(bus, client):
        kill_behind_the_tests_back(bus, client, signal.SIGSEGV)


    def test_sigabrt(bus, client):
        kill_behind_the_tests_back(bus, client, signal.SIGABRT)


    def test_undeclared_sigkill(bus, client):
        kill_behind_the_tests_back(bus, client, signal.SIGKILL)


    def test_crash_after_the_test_body(bus, client):
        call(client, "list_transfers")
        os.kill(bus.service_pid(), signal.SIGSEGV)


    def test_liveness_check_sees_the_restart(bus, client):
        call(client, "list_transfers")
        bus.assert_alive()
        kill_behind_the_tests_back(bus, client, signal.SIGSEGV)
        bus.assert_alive()


    def test_declared_kill(bus, client):
        call(client, "list_transfers")
        bus.kill_service()
        assert list(call(client, "list_transfers")) == []
        bus.assert_alive()


    def test_declared_with_expect_exit(bus, client):
        with bus.expect_exit(signal.SIGSEGV):
            kill_behind_the_tests_back(bus, client, signal.SIGSEGV)
        bus.assert_alive()


    def test_expect_exit_of_another_signal(bus, client):
        with bus.expect_exit(signal.SIGKILL):
            kill_behind_the_tests_back(bus, client, signal.SIGSEGV)


    @pytest.mark.service_may_die
    def test_marked(bus, client):
        kill_behind_the_tests_back(bus, client, signal.SIGABRT)


    def test_declared_kill_recorded_late_then_a_reboot(tmp_path):
        # The wrapper records the kill only 0.5 s later (stopped): the bus
        # closed meanwhile still judges that death, not the next bus on
        # its directory
        session = str(tmp_path / "s")
        svc = ServiceBus(tmpdir=session)
        try:
            call(svc.client("org.example.Reboot"), "list_transfers")
            pid = svc.service_pid()
            with open(f"/proc/{pid}/stat") as f:
                wrapper = int(f.read().split(") ")[1].split()[1])
            os.kill(wrapper, signal.SIGSTOP)
            threading.Timer(0.5, os.kill, (wrapper, signal.SIGCONT)).start()
            with svc.expect_exit(signal.SIGKILL):
                os.kill(pid, signal.SIGKILL)
        finally:
            svc.close()
        svc = ServiceBus(tmpdir=session)
        try:
            call(svc.client("org.example.Reboot"), "list_transfers")
        finally:
            svc.close()


    def test_idle_exit(tmp_path):
        svc = ServiceBus(idle_timeout=1, tmpdir=str(tmp_path / "idle"))
        try:
            client = svc.client("org.example.Idle", conn=svc.connect())
            call(client, "list_transfers")
            pid = svc.service_pid()
            client.get_connection().close_sync(None)
            wait_for(lambda: not svc.service_running(), 20, "the idle service to exit")
            assert svc.exit_status(pid) == 0
            client = svc.client("org.example.Idle")
            call(client, "list_transfers")
            svc.assert_alive()
        finally:
            svc.close()
''')

EXPECTED = {
    "test_sigsegv": "failed",
    "test_sigabrt": "failed",
    "test_undeclared_sigkill": "failed",
    "test_crash_after_the_test_body": "failed",
    "test_liveness_check_sees_the_restart": "failed",
    "test_declared_kill": "passed",
    "test_declared_with_expect_exit": "passed",
    "test_expect_exit_of_another_signal": "failed",
    "test_marked": "passed",
    "test_declared_kill_recorded_late_then_a_reboot": "passed",
    "test_idle_exit": "passed",
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    d = tmp_path_factory.mktemp("generated")
    shutil.copy(os.path.join(HERE, "conftest.py"), d / "conftest.py")
    (d / "test_generated.py").write_text(GENERATED)
    junit = d / "results.xml"
    env = dict(bgtharness.library_env(), PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                        f"--junitxml={junit}", "--rootdir", str(d), str(d / "test_generated.py")],
                       cwd=str(d), env=env, capture_output=True, text=True, timeout=300)
    assert junit.exists(), r.stdout + r.stderr
    results = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        results[case.get("name")] = (
            "failed" if kinds & {"failure", "error"} else
            "skipped" if "skipped" in kinds else "passed",
            "\n".join((c.get("message") or "") + (c.text or "") for c in case
                      if c.tag in ("failure", "error")))
    return results


@pytest.mark.parametrize("name", EXPECTED)
def test_the_harness_judges_service_deaths(outcomes, name):
    outcome, message = outcomes[name]
    assert outcome == EXPECTED[name], message
    if outcome == "failed" and name != "test_liveness_check_sees_the_restart":
        assert "SIG" in message, message
