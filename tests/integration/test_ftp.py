# test_ftp.py: FTP and explicit FTPS downloads end to end, through the
# library via GI, against real servers on loopback (docs/contract.md)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Servers (ftpservers.py): pyftpdlib (a user account and anonymous), Debian's
# vsftpd (anonymous; plain, and FTPS with TLS forced for login and data and
# the data connection's TLS session required to resume the control one's),
# and a server of our own whose PASV reply names another host. The tests
# read the servers' command logs to see what the service asked for (REST).

import os
import shutil
import sys
import tempfile
import time

import bgtharness
import pytest
from bgtharness import Bgt, GLib, Gio, ServiceBus, call, sha256_file, wait_for
from ftpservers import BounceFtpd, PyFtpd, VsFtpd
from test_security import Sandbox, bwrap_works  # noqa: F401 (a fixture)

S = Bgt.Status
E = Bgt.ErrorStatus
KIB = 1024
MIB = 1024 * KIB
SLOW_RATE = 512 * KIB  # bytes/s, server side, for the pause and kill tests
SIZES = {"small.txt": 4 * KIB, "one.bin": MIB, "medium.bin": 4 * MIB}


# ---- Servers -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ftp_root():
    """What the FTP servers serve: root, {name: sha256}, and link(name, as_)
    to give a test a file name of its own (so that it finds its own RETRs
    in a server's log)."""
    root = tempfile.mkdtemp(prefix="bgt-ftp-")
    os.chmod(root, 0o755)
    files = {name: bgtharness.make_file(os.path.join(root, name), size)
             for name, size in SIZES.items()}

    class Root:
        path = root
        sha = files

        @staticmethod
        def link(name, as_):
            os.link(os.path.join(root, name), os.path.join(root, as_))
            files[as_] = files[name]
            return as_

    yield Root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A CA of the suite's own (the test build of the service is told to
    trust it, as test_faults.py does) and a certificate for 127.0.0.1; and
    one from a CA nobody trusts."""
    trustme = pytest.importorskip("trustme")
    d = tmp_path_factory.mktemp("ftp-pki")
    ca = trustme.CA()
    out = {"ca": str(d / "ca.pem"), "cert": str(d / "server.pem"),
           "untrusted": str(d / "untrusted.pem")}
    ca.cert_pem.write_to_path(out["ca"])
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(
        out["cert"])
    trustme.CA().issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
        out["untrusted"])
    for path in out.values():
        os.chmod(path, 0o600)
    return out


@pytest.fixture(scope="session")
def pyftpd(ftp_root):
    server = PyFtpd(ftp_root.path)
    yield server
    server.close()


@pytest.fixture(scope="session")
def pyftpd_slow(ftp_root):
    server = PyFtpd(ftp_root.path, rate=SLOW_RATE)
    yield server
    server.close()


def vsftpd_available():
    if not os.path.exists(VsFtpd.BINARY):
        pytest.skip("needs vsftpd")
    if os.geteuid() != 0:
        pytest.skip("vsftpd runs as root")


@pytest.fixture(scope="session")
def vsftpd(ftp_root):
    vsftpd_available()
    server = VsFtpd(ftp_root.path)
    yield server
    server.close()


@pytest.fixture(scope="session")
def vsftpd_slow(ftp_root):
    vsftpd_available()
    server = VsFtpd(ftp_root.path, rate=SLOW_RATE)
    yield server
    server.close()


@pytest.fixture(scope="session")
def vsftpds(ftp_root, pki):
    vsftpd_available()
    server = VsFtpd(ftp_root.path, tls_cert=pki["cert"])
    yield server
    server.close()


@pytest.fixture(scope="session")
def vsftpds_slow(ftp_root, pki):
    vsftpd_available()
    server = VsFtpd(ftp_root.path, rate=SLOW_RATE, tls_cert=pki["cert"])
    yield server
    server.close()


@pytest.fixture(params=["pyftpdlib", "vsftpd"])
def server(request):
    return request.getfixturevalue({"pyftpdlib": "pyftpd", "vsftpd": "vsftpd"}[request.param])


@pytest.fixture(params=["pyftpdlib", "vsftpd"])
def slow_server(request):
    return request.getfixturevalue({"pyftpdlib": "pyftpd_slow",
                                    "vsftpd": "vsftpd_slow"}[request.param])


@pytest.fixture
def bus(request, service_settings, tmp_path, pki):
    """The service, trusting the suite's CA (BGTRANSFERD_TEST_CA_FILE)."""
    svc = ServiceBus(settings=service_settings, tmpdir=str(tmp_path / "session"),
                     env={"BGTRANSFERD_TEST_CA_FILE": pki["ca"]})
    yield svc
    svc.close()
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        sys.stderr.write("---- service log ----\n" + svc.service_log()[-20000:] + "\n")


# ---- Helpers ---------------------------------------------------------------------------


def create(client, uri, dest, credential=None, **props):
    d = Bgt.Downloader.new(client)
    if credential is not None:
        d.set_server_credential(*credential)
    for key, value in props.items():
        d.set_property(key.replace("_", "-"), value)
    return call(d, "create_download", uri, Gio.File.new_for_path(str(dest)))


def create_raw(bus, client, uri, dest, **options):
    """CreateDownload said on the bus, for options the library has no
    property for (max-rate)."""
    opts = {"destination": GLib.Variant("s", str(dest)),
            "app-id": GLib.Variant("s", client.get_app_id())}
    opts.update(options)
    (path,) = bus.call_manager("CreateDownload", GLib.Variant("(sa{sv})", (uri, opts)),
                               conn=client.get_connection())
    return call(client, "get_transfer", path)


def wait_bytes(transfer, at_least, timeout=60):
    wait_for(lambda: transfer.props.bytes_received >= at_least, timeout,
             f"{at_least} bytes received")


def finish(transfer):
    """Waits for the end; True when completed."""
    try:
        return call(transfer, "wait")
    except GLib.Error:
        return False


def assert_completed(transfer, dest, sha, size):
    ok = finish(transfer)
    assert ok, f"{transfer.props.status.value_nick}: {transfer.props.error_status.value_nick}" \
               f" {transfer.props.error_message}"
    assert transfer.props.status == S.COMPLETED
    assert transfer.props.error_status == E.NONE
    assert transfer.props.total_bytes_to_receive == size
    assert transfer.props.bytes_received == size
    assert sha256_file(dest) == sha
    assert not os.path.exists(str(dest) + ".bgtpart")


def assert_failed(transfer, dest, error_status):
    assert not finish(transfer), "the download succeeded"
    assert transfer.props.status == S.ERROR, transfer.props.status.value_nick
    assert transfer.props.error_status == error_status, \
        f"{transfer.props.error_status.value_nick}: {transfer.props.error_message}"
    assert transfer.props.error_message
    assert not os.path.exists(dest), "nothing may appear at the destination"
    assert not os.path.exists(str(dest) + ".bgtpart"), "the partial must be removed"


def assert_resumed_with_rest(server, name, size, at_most=None):
    """The first RETR of name started at 0; the last one was preceded by a
    REST to an offset inside the file."""
    rests = server.rest_before_retr(name)
    assert len(rests) >= 2, f"expected a second RETR of {name}: {server.sessions()}"
    assert rests[0] in (None, 0), f"the first RETR must start at 0: {rests}"
    last = rests[-1]
    assert last is not None and last > 0, \
        f"the RETR after the interruption must be preceded by REST > 0 (RESTs: {rests})"
    assert last < size
    if at_most is not None:
        assert last <= at_most, f"REST {last} beyond the {at_most} bytes the service had"


# ---- 1. Downloads ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["small.txt", "medium.bin"])
def test_anonymous_download(server, ftp_root, client, dest_dir, name):
    dest = dest_dir / name
    t = create(client, server.url(name), dest)
    assert_completed(t, dest, ftp_root.sha[name], SIZES[name])
    assert os.listdir(dest_dir) == [name]
    assert t.props.attempts == 1
    assert t.get_uri() == server.url(name)


def test_download_with_a_password(pyftpd, ftp_root, client, dest_dir):
    dest = dest_dir / "medium.bin"
    t = create(client, pyftpd.url("medium.bin"), dest,
               credential=(PyFtpd.USER, PyFtpd.PASSWORD))
    assert_completed(t, dest, ftp_root.sha["medium.bin"], SIZES["medium.bin"])
    users = [c for c in pyftpd.commands() if c.startswith("USER ")]
    assert f"USER {PyFtpd.USER}" in users


# ---- 2. Pause and resume -----------------------------------------------------------------


def pause_and_resume(server, ftp_root, client, dest_dir, name, uri):
    dest = dest_dir / name
    size = SIZES["medium.bin"]
    t = create(client, uri, dest)
    wait_bytes(t, 256 * KIB)
    call(t, "pause")
    assert t.props.status == S.PAUSED_BY_APPLICATION
    call(t, "refresh")
    paused_at = t.props.bytes_received
    assert 0 < paused_at < size, "the pause must come mid-transfer (slow server)"
    call(t, "resume")
    assert_completed(t, dest, ftp_root.sha[name], size)
    assert_resumed_with_rest(server, name, size)


def test_pause_then_resume_sends_rest(slow_server, ftp_root, client, dest_dir):
    name = ftp_root.link("medium.bin", f"pause-{type(slow_server).__name__}.bin")
    pause_and_resume(slow_server, ftp_root, client, dest_dir, name, slow_server.url(name))


# ---- 3. kill -9 --------------------------------------------------------------------------


@pytest.mark.parametrize("service_settings", [{"checkpoint-interval-bytes": str(256 * KIB),
                                               "checkpoint-interval-ms": "200"}], indirect=True)
def test_kill9_resumes_with_rest(slow_server, ftp_root, bus, client, dest_dir):
    name = ftp_root.link("medium.bin", f"kill-{type(slow_server).__name__}.bin")
    dest = dest_dir / name
    size = SIZES["medium.bin"]
    t = create(client, slow_server.url(name), dest)
    wait_bytes(t, MIB)
    killed_at = t.props.bytes_received
    assert killed_at < size, "the kill must come mid-transfer (slow server)"
    pid = bus.service_pid()
    bus.kill_service()
    # The first call after the kill D-Bus-activates the service again; it
    # re-reads its store and goes on by itself
    (again,) = [x for x in call(client, "list_transfers") if x.get_id() == t.get_id()]
    assert bus.service_pid() not in (None, pid)
    assert_completed(again, dest, ftp_root.sha[name], size)
    assert_resumed_with_rest(slow_server, name, size)


@pytest.mark.parametrize("which", ["pyftpd_slow", "vsftpd_slow", "vsftpds_slow"])
def test_a_failed_flush_rewinds_to_the_last_good_one(which, request, ftp_root, bus, client,
                                                     dest_dir):
    """P5 over FTP and FTPS, the same core as HTTP's: a flush of the partial
    data fails (ENOSPC, strace) after a good one, while the next flush would
    succeed. The download stops in disk-full instead of completing over lost
    data; Resume sends REST to what the good flush kept, and the file is
    byte-identical."""
    server = request.getfixturevalue(which)
    name = ftp_root.link("medium.bin", f"nospace-{which}.bin")
    dest = dest_dir / name
    uri = server.url(name, scheme="ftps") if which == "vsftpds_slow" else server.url(name)
    t = create(client, uri, dest)
    wait_for(lambda: bgtharness.stored_record(bus, t.get_id()).get("synced-bytes", 0) > 0,
             20, "a good flush")
    most = bgtharness.fail_a_flush(bus, t, str(dest) + ".bgtpart", "ENOSPC")
    assert t.props.error_status == Bgt.ErrorStatus.DISK_FULL, t.props.error_message
    kept = t.props.bytes_received
    assert 0 < kept < most, f"{kept} bytes kept, {most} written"
    call(t, "resume")
    assert_completed(t, dest, ftp_root.sha[name], SIZES["medium.bin"])
    assert server.rest_before_retr(name)[-1] == kept


@pytest.mark.parametrize("which", ["pyftpd", "vsftpd", "vsftpds"])
@pytest.mark.parametrize("held,lost", [("data", "nothing"), ("directory", "nothing"),
                                       ("directory", "the-rename")])
def test_a_crash_while_the_completion_is_made_durable(which, held, lost, request, ftp_root, bus,
                                                       client, dest_dir):
    """P5 over FTP and FTPS, the same core as HTTP's: killed while the
    completion is recorded and the data flushed (held back), or its
    directory; after a power cut that lost the rename, too. The restarted
    service believes the record only if the data is in place under its
    final name; otherwise it fetches again (another RETR) what was not
    flushed, and the file is byte-identical."""
    server = request.getfixturevalue(which)
    name = ftp_root.link("medium.bin", f"crash-{which}-{held}-{lost}.bin")
    dest = dest_dir / name
    uri = server.url(name, scheme="ftps") if which == "vsftpds" else server.url(name)
    t = create(client, uri, dest, start=False)
    bgtharness.kill_while_completing(bus, client, t, dest, held)
    if lost == "the-rename":
        os.rename(dest, str(dest) + ".bgtpart")
    again = call(bus.client("org.example.Tests"), "get_transfer", t.get_id())
    assert_completed(again, dest, ftp_root.sha[name], SIZES["medium.bin"])
    assert len(server.rest_before_retr(name)) == (1 if (held, lost) == ("directory", "nothing")
                                                  else 2)


# ---- 4. Rate limits ----------------------------------------------------------------------

RATE = 256 * KIB


def timed_download(make):
    start = time.monotonic()
    t = make()
    assert finish(t), t.props.error_message
    return t, time.monotonic() - start


def test_max_rate_option_is_respected(server, ftp_root, bus, client, dest_dir):
    dest = dest_dir / "one.bin"
    t, elapsed = timed_download(lambda: create_raw(
        bus, client, server.url("one.bin"), dest, **{"max-rate": GLib.Variant("t", RATE)}))
    assert sha256_file(dest) == ftp_root.sha["one.bin"]
    floor = SIZES["one.bin"] / RATE * 0.8
    assert elapsed >= floor, f"1 MiB at max-rate {RATE} B/s took {elapsed:.2f} s (< {floor} s)"


@pytest.mark.parametrize("service_settings", [{"max-download-rate": str(RATE)}], indirect=True)
def test_global_max_download_rate_is_respected(server, ftp_root, client, dest_dir):
    dest = dest_dir / "one.bin"
    t, elapsed = timed_download(lambda: create(client, server.url("one.bin"), dest))
    assert sha256_file(dest) == ftp_root.sha["one.bin"]
    floor = SIZES["one.bin"] / RATE * 0.8
    assert elapsed >= floor, \
        f"1 MiB at max-download-rate {RATE} B/s took {elapsed:.2f} s (< {floor} s)"


# ---- 5., 6. Errors -----------------------------------------------------------------------


def test_missing_file_is_not_found(server, client, dest_dir):
    dest = dest_dir / "missing.bin"
    t = create(client, server.url("no-such-file.bin"), dest)
    assert_failed(t, dest, E.NOT_FOUND)
    assert os.listdir(dest_dir) == []
    assert t.props.attempts == 1, "550 is permanent: not retried"


def test_wrong_password_is_unauthorized_and_not_retried(pyftpd, client, dest_dir):
    mark = pyftpd.mark()
    dest = dest_dir / "medium.bin"
    t = create(client, pyftpd.url("medium.bin"), dest, credential=(PyFtpd.USER, "wrong"))
    assert_failed(t, dest, E.UNAUTHORIZED)
    assert t.props.attempts == 1
    logins = [c for c in pyftpd.commands(since=mark) if c.startswith("PASS")]
    assert len(logins) == 1, f"one login attempt, not {len(logins)}"
    assert not [c for c in pyftpd.commands(since=mark) if c.startswith("RETR")]


# ---- 7. Sandboxed apps and the local network -----------------------------------------


def test_sandboxed_app_may_not_reach_a_local_ftp_server(bwrap_works, bus, pyftpd,  # noqa: F811
                                                        tmp_path):
    """The local-network rule holds for FTP control and data
    connections: an app not in local-network-apps gets `forbidden`, and the
    server never hears from the service."""
    mark = pyftpd.mark()
    app = Sandbox(bus, "org.example.SandFtp", str(tmp_path / "app"))
    out = tmp_path / "app" / "x"
    path = app.run("create-fd", pyftpd.url("small.txt"), str(out))
    assert isinstance(path, str) and path.startswith("/org/freedesktop/BackgroundTransfer/"), path
    assert app.run("wait-completed", path) == "error"
    assert app.run("get", path, "ErrorStatus") == "forbidden"
    assert out.read_bytes() == b"", "nothing was fetched"
    assert pyftpd.connections(since=mark) == [], "the service connected to the FTP server"


# ---- 8. PASV naming another host --------------------------------------------------------


def test_pasv_naming_another_host_is_not_followed(client, dest_dir):
    payload = os.urandom(300 * KIB)
    server = BounceFtpd({"b.bin": payload})
    try:
        dest = dest_dir / "b.bin"
        t = create(client, server.url("b.bin"), dest)
        ok = finish(t)
        cmds = [c for c, _ in server.commands]
        # The fault fired: EPSV refused, so PASV, whose reply names 127.0.0.2
        assert "PASV" in cmds, f"the service never asked for PASV: {cmds}"
        assert server.decoy_hits == [], "the service connected to the host PASV named"
        if ok:
            assert dest.read_bytes() == payload
            assert server.data_hits, "the data came over the control connection's host"
        else:
            assert t.props.status == S.ERROR
            assert not dest.exists()
    finally:
        server.close()


# ---- 9., 10. FTPS -------------------------------------------------------------------------


def test_ftps_with_forced_tls_and_session_reuse(vsftpds, ftp_root, client, dest_dir):
    """vsftpd with force_anon_logins_ssl, force_anon_data_ssl and
    require_ssl_reuse: the data connection's TLS must resume the control
    connection's session."""
    mark = vsftpds.mark()
    dest = dest_dir / "medium.bin"
    t = create(client, vsftpds.url("medium.bin", scheme="ftps"), dest)
    ok = finish(t)
    responses = vsftpds.responses(since=mark)
    assert not [r for r in responses if "session reuse required" in r], \
        "vsftpd refused the data connection: its TLS session was not resumed"
    assert ok, f"{t.props.error_status.value_nick}: {t.props.error_message}"
    assert_completed(t, dest, ftp_root.sha["medium.bin"], SIZES["medium.bin"])
    cmds = vsftpds.commands(since=mark)
    assert "AUTH TLS" in cmds and "PROT P" in cmds, cmds


def test_ftps_untrusted_certificate(ftp_root, pki, client, dest_dir):
    vsftpd_available()
    server = VsFtpd(ftp_root.path, tls_cert=pki["untrusted"])
    try:
        dest = dest_dir / "small.txt"
        t = create(client, server.url("small.txt", scheme="ftps"), dest)
        assert_failed(t, dest, E.CERTIFICATE_INVALID)
        assert t.props.attempts == 1, "a bad certificate is not retried"
        cmds = server.commands()
        assert "AUTH TLS" in cmds, "the fault did not fire: no TLS was tried"
        assert not [c for c in cmds if c.startswith(("USER", "PASS", "RETR"))], \
            f"nothing may be said over a TLS session that failed its checks: {cmds}"
    finally:
        server.close()


def test_ftps_pause_then_resume_sends_rest(vsftpds_slow, ftp_root, client, dest_dir):
    name = ftp_root.link("medium.bin", "pause-ftps.bin")
    pause_and_resume(vsftpds_slow, ftp_root, client, dest_dir, name,
                     vsftpds_slow.url(name, scheme="ftps"))
