# conftest.py: fixtures of the integration suites
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import bgtharness  # noqa: E402
from bgtharness import Gio, Bgt  # noqa: E402, F401

BIG_SIZE = 50 * 1024 * 1024


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "service_may_die: the service may die in this test in any way; "
        "not checked for crashes (prefer bus.expect_exit() around the deed)")


def _service_crashes(item):
    """Crashes of any service seen since the last check; buses closed and
    checked are forgotten."""
    problems = []
    for svc in list(bgtharness.ServiceBus.instances):
        problems += svc.crashes()
        if svc.closed:
            bgtharness.ServiceBus.instances.remove(svc)
    if item.get_closest_marker("service_may_die"):
        return []
    return problems


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """A test during which the service died unexpectedly fails, even when
    D-Bus activation hid the death from the test by starting a new one."""
    outcome = yield
    problems = _service_crashes(item)
    if not problems:
        return
    item.bgt_crashes = problems
    if outcome.excinfo is None:
        pytest.fail("the service crashed during the test:\n  " + "\n  ".join(problems),
                    pytrace=False)


@pytest.fixture(autouse=True)
def service_crash_check(request):
    """The same check once the test's fixtures have closed their buses (the
    service's exit on SIGTERM is checked too): a failure at teardown."""
    for svc in list(bgtharness.ServiceBus.instances):
        svc.crashes(wait=False)  # what came before this test is not its fault
    yield
    problems = _service_crashes(request.node)
    if problems:
        pytest.fail("the service crashed:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
    crashes = getattr(item, "bgt_crashes", None)
    if rep.when == "call" and crashes:
        rep.sections.append(("service crashes", "\n".join(crashes)))


@pytest.fixture(scope="session")
def www():
    """The files nginx serves, with their sha256."""
    root = tempfile.mkdtemp(prefix="bgt-www-")
    files = {
        "big.bin": bgtharness.make_file(os.path.join(root, "big.bin"), BIG_SIZE),
        "small.txt": bgtharness.make_file(os.path.join(root, "small.txt"), 4096),
        "medium.bin": bgtharness.make_file(os.path.join(root, "medium.bin"), 4 * 1024 * 1024),
    }
    yield root, files
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def nginx(www):
    server = bgtharness.Nginx(www[0])
    server.files = www[1]
    yield server
    server.close()


@pytest.fixture(scope="session")
def faults():
    from faultserver import FaultServer
    server = FaultServer()
    yield server
    server.close()


@pytest.fixture
def service_settings(request):
    """GSettings of the service under test: a module overrides this fixture,
    a test parametrizes it (indirect=True) with a dict."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def bus(request, service_settings, tmp_path):
    svc = bgtharness.ServiceBus(settings=service_settings,
                                tmpdir=str(tmp_path / "session"))
    yield svc
    svc.close()
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        sys.stderr.write("---- service log ----\n" + svc.service_log()[-20000:] + "\n")


@pytest.fixture
def client(bus):
    return bus.client("org.example.Tests")


@pytest.fixture
def dest_dir(tmp_path):
    d = tmp_path / "downloads"
    d.mkdir()
    return d


def create_download(client, uri, dest, **props):
    downloader = Bgt.Downloader.new(client)
    for key, value in props.items():
        downloader.set_property(key.replace("_", "-"), value)
    return bgtharness.call(downloader, "create_download", uri, Gio.File.new_for_path(str(dest)))


@pytest.fixture
def download(client):
    return lambda uri, dest, **props: create_download(client, uri, dest, **props)
