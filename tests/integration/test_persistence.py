# test_persistence.py: nothing lost across kill -9, restarts and app restarts
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# FAULTS P1–P3. The kill -9 loop prints its totals (pytest -s, or the
# meson test log).

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import bgtharness
import pytest
from bgtharness import Bgt, GLib, Gio, ServiceBus, call, sha256_file, wait_for
from ftpservers import PyFtpd
from test_security import bwrap_works  # noqa: F401 (a fixture)

S = Bgt.Status
MIB = 1024 * 1024
CHECKPOINT = 4 * MIB  # checkpoint-interval-bytes, the default


@pytest.fixture(scope="module")
def limited():
    """A 64 MiB file served as ten URIs at 4 MiB/s each."""
    root = tempfile.mkdtemp(prefix="bgt-www-")
    sha = bgtharness.make_file(os.path.join(root, "f0.bin"), 64 * MIB)
    for i in range(1, 10):
        os.link(os.path.join(root, "f0.bin"), os.path.join(root, f"f{i}.bin"))
    server = bgtharness.Nginx(root, slow_rate="4m")
    server.sha = sha
    yield server
    server.close()
    shutil.rmtree(root, ignore_errors=True)


def reactivate(bus, client):
    """The first call after a kill D-Bus-activates the service again."""
    call(client, "list_transfers")


def fetched_per_uri(nginx):
    """Bytes nginx sent per URI, and the number of requests."""
    out = {}
    for line in nginx.access_log():
        fields = line.split()
        uri = fields[1]
        sent = int(line.rsplit("sent=", 1)[1])
        total, n = out.get(uri, (0, 0))
        out[uri] = (total + sent, n + 1)
    return out


def test_kill9_loop(limited, tmp_path):
    seed = int(os.environ.get("BGT_KILL_SEED", time.time()))
    rng = random.Random(seed)
    bus = ServiceBus(settings={"max-concurrent-transfers": "10"}, tmpdir=str(tmp_path / "s"))
    try:
        client = bus.client("org.example.Kill")
        dests = [tmp_path / f"f{i}.bin" for i in range(10)]
        transfers = [
            call(Bgt.Downloader.new(client), "create_download", limited.url(f"slow/f{i}.bin"),
                 Gio.File.new_for_path(str(dests[i])))
            for i in range(10)
        ]
        kills = 0
        while kills < 30 and not all(d.exists() for d in dests):
            delay = rng.uniform(0.1, 0.8)
            end = time.monotonic() + delay
            wait_for(lambda: time.monotonic() > end, 5, "a random moment")
            bus.kill_service(signal.SIGKILL)
            kills += 1
            reactivate(bus, client)
        assert kills >= 30, f"only {kills} kills before the end: make the downloads slower"
        for t in transfers:
            assert call(t, "wait"), t.props.error_message
        for d in dests:
            assert sha256_file(d) == limited.sha
            assert not os.path.exists(str(d) + ".bgtpart")

        # Re-fetched bytes: what nginx sent beyond the file size, per transfer
        stats = fetched_per_uri(limited)
        worst = 0
        total_refetched = 0
        for i in range(10):
            sent, requests = stats[f"/slow/f{i}.bin"]
            refetched = sent - 64 * MIB
            interruptions = requests - 1
            total_refetched += refetched
            if interruptions:
                worst = max(worst, refetched / interruptions)
            assert refetched <= max(interruptions, 1) * CHECKPOINT, \
                f"f{i}: {refetched} bytes re-fetched over {interruptions} interruptions"
        print(f"\nkill -9 loop (seed {seed}): {kills} kills, 10 × 64 MiB byte-identical; "
              f"re-fetched {total_refetched} bytes in all, at most {worst:.0f} bytes per "
              f"interruption (bound: one checkpoint interval, {CHECKPOINT})")
    finally:
        bus.close()


def test_app_restart_reattaches(bus, nginx, dest_dir):
    script = textwrap.dedent(f"""
        import gi, sys
        gi.require_version("Bgt", "1")
        from gi.repository import Bgt, Gio, GLib
        client = Bgt.Client.new_sync("org.example.Restart", None)
        loop = GLib.MainLoop()
        left = [3]
        def made(d, r):
            print(d.create_download_finish(r).get_id(), flush=True)
            left[0] -= 1
            if left[0] == 0:
                loop.quit()
        for i in range(3):
            d = Bgt.Downloader.new(client)
            d.create_download_async("{nginx.url('slow/medium.bin')}",
                                    Gio.File.new_for_path("{dest_dir}/r%d.bin" % i), None, made)
        loop.run()
    """)
    r = subprocess.run([sys.executable, "-c", script], env=bgtharness.library_env(bus.env),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    ids = set(r.stdout.split())
    assert len(ids) == 3
    # The app is gone; a new instance of it finds its transfers, running
    client = bus.client("org.example.Restart")
    found = list(call(client, "list_transfers"))
    assert {t.get_id() for t in found} == ids
    progress = []
    for t in found:
        t.connect("notify::bytes-received", lambda o, p: progress.append(o.props.bytes_received))
    wait_for(lambda: len(progress) >= 3, 20, "progress signals after re-attaching")
    for t in found:
        assert call(t, "wait")
    for i in range(3):
        assert sha256_file(dest_dir / f"r{i}.bin") == nginx.files["medium.bin"]


def test_states_survive_a_crash(bus, client, nginx, dest_dir):
    def dl(name, path, **props):
        d = Bgt.Downloader.new(client)
        for k, v in props.items():
            d.set_property(k, v)
        return call(d, "create_download", nginx.url(path), Gio.File.new_for_path(str(dest_dir / name)))

    paused = dl("paused.bin", "slow/big.bin")
    wait_for(lambda: paused.props.bytes_received > 0, 20, "progress")
    call(paused, "pause")
    paused_at = paused.props.bytes_received
    canceled = dl("canceled.bin", "slow/big.bin")
    call(canceled, "cancel")
    completed = dl("done.txt", "small.txt")
    assert call(completed, "wait")
    idle = dl("idle.txt", "small.txt", start=False)

    bus.kill_service(signal.SIGKILL)
    client2 = bus.client("org.example.Tests")
    by_id = {t.get_id(): t for t in call(client2, "list_transfers")}
    assert set(by_id) == {paused.get_id(), canceled.get_id(), completed.get_id(), idle.get_id()}
    p = by_id[paused.get_id()]
    assert p.props.status == S.PAUSED_BY_APPLICATION
    assert p.props.bytes_received >= paused_at - CHECKPOINT
    assert by_id[canceled.get_id()].props.status == S.CANCELED
    assert not (dest_dir / "canceled.bin.bgtpart").exists()
    assert by_id[completed.get_id()].props.status == S.COMPLETED
    assert by_id[idle.get_id()].props.status == S.IDLE
    # Still paused once the restarted service has run its queue (a transfer
    # created now is started and completes): nothing resumed it behind the
    # app's back
    probe = dl("probe.txt", "small.txt")
    assert call(probe, "wait")
    call(p, "refresh")
    assert p.props.status == S.PAUSED_BY_APPLICATION
    # It resumes from its data when asked
    call(p, "resume")
    wait_for(lambda: p.props.bytes_received > paused_at, 10, "running again")
    call(p, "cancel")
    # nginx logs a request when it ends
    wait_for(lambda: any("/slow/big.bin " in l and 'range="bytes=' in l
                         for l in nginx.access_log()), 10, "the ranged request in the log")
    # Completed stays listed until removed, also across a restart
    call(by_id[completed.get_id()], "remove")
    bus.kill_service(signal.SIGKILL)
    client3 = bus.client("org.example.Tests")
    assert completed.get_id() not in {t.get_id() for t in call(client3, "list_transfers")}


def test_damaged_database_is_moved_aside(tmp_path, nginx):
    state = tmp_path / "s" / "state" / "bgtransfer"
    state.mkdir(parents=True)
    (state / "state.db").write_bytes(b"this is not a database" * 100)
    bus = ServiceBus(tmpdir=str(tmp_path / "s"))
    try:
        client = bus.client("org.example.Damaged")
        assert list(call(client, "list_transfers")) == []
        t = call(Bgt.Downloader.new(client), "create_download", nginx.url("small.txt"),
                 Gio.File.new_for_path(str(tmp_path / "x.txt")))
        assert call(t, "wait")
        aside = [n for n in os.listdir(state) if ".damaged-" in n]
        assert aside, os.listdir(state)
        assert "aside" in bus.service_log()
    finally:
        bus.close()


def test_kill_during_a_store_commit(bus, client, nginx, dest_dir):
    """P2: killed in the middle of committing; the store opens afterwards and
    holds every transfer whose creation was answered."""
    def create(i):
        return call(Bgt.Downloader.new(client), "create_download", nginx.url("small.txt"),
                    Gio.File.new_for_path(str(dest_dir / f"c{i}.txt"))).get_id()

    pid = bus.service_pid()
    answered = [create(i) for i in range(3)]
    store = os.path.join(bus.state_home, "bgtransfer", "state.db")
    # Each creation commits (WAL write, then its flush) before it is
    # answered: the store's next flush, in whichever thread, kills it
    with bus.expect_exit(signal.SIGKILL):
        tracer = bgtharness.Strace(pid, "-y", "-P", store, "-P", store + "-wal",
                                   "-e", "trace=fsync,fdatasync",
                                   "-e", "inject=fsync,fdatasync:signal=KILL")
        try:
            for i in range(3, 10):
                try:
                    answered.append(create(i))
                except GLib.Error:
                    break
            # The fault landed: strace saw its signal kill the service in a
            # flush of the store
            tracer.wait_line("+++ killed by SIGKILL +++")
            assert any("sync(" in l and "state.db" in l for l in tracer.lines), tracer.lines
        finally:
            tracer.close()
        wait_for(lambda: not bgtharness._alive(pid), 10, "the killed service to go")
    assert bus.exit_status(pid) == -signal.SIGKILL
    assert len(answered) < 10, "the kill came before the last creation"
    client2 = bus.client("org.example.Tests")
    ids = {t.get_id() for t in call(client2, "list_transfers")}
    assert set(answered) <= ids, "an answered creation was lost"
    assert ".damaged-" not in " ".join(os.listdir(os.path.join(bus.state_home, "bgtransfer")))


def test_kill9_while_verifying_then_416_completes(tmp_path):
    """Killed after every byte arrived, while the checksum was being
    verified: the restarted service asks for the rest, the server answers
    416 (nothing left), and the service verifies and finishes (FAULTS P1,
    S2 "416 on resume")."""
    import hashlib
    import pathlib
    root = pathlib.Path(tempfile.mkdtemp(prefix="bgt-www-"))  # nginx's workers must reach it
    size = 512 * MIB
    with open(root / "zeros.bin", "wb") as f:
        f.truncate(size)  # sparse: nginx serves it fast, hashing it takes a while
    os.chmod(root / "zeros.bin", 0o644)
    digest = hashlib.sha256()
    block = bytes(MIB)
    for _ in range(size // MIB):
        digest.update(block)
    server = bgtharness.Nginx(str(root))
    bus = ServiceBus(tmpdir=str(tmp_path / "s"))
    try:
        client = bus.client("org.example.Verify")
        d = Bgt.Downloader.new(client)
        d.set_checksum("sha256:" + digest.hexdigest())
        dest = tmp_path / "zeros.bin"
        t = call(d, "create_download", server.url("zeros.bin"), Gio.File.new_for_path(str(dest)))
        wait_for(lambda: t.props.bytes_received == size, 60, "every byte")
        assert t.props.status == S.RUNNING, "still verifying"
        bus.kill_service(signal.SIGKILL)
        reactivate(bus, client)
        assert call(t, "wait")
        assert dest.stat().st_size == size
        wait_for(lambda: any(" 416 " in l for l in server.access_log()), 10, "the 416")
        assert f'range="bytes={size}-"' in [l for l in server.access_log() if " 416 " in l][0]
    finally:
        bus.close()
        server.close()
        shutil.rmtree(root, ignore_errors=True)


def test_plain_upload_restarts_from_zero_after_a_crash(bus, client, tmp_path):
    """A PUT interrupted by a crash of the service is sent again, whole."""
    from faultserver import FaultServer
    server = FaultServer()
    try:
        bodies = []
        killed = []
        release = threading.Event()

        def handler(conn, req, n):
            bodies.append(req)
            if n == 1:
                # Hold the answer: the service is killed while it waits
                killed.append(True)
                release.wait(30)
                conn.close()
            else:
                conn.respond(201, b"stored")
        server.route("/up", handler)
        src = tmp_path / "up.bin"
        src.write_bytes(os.urandom(300_000))
        uploader = Bgt.Uploader.new(client)
        uploader.set_method("PUT")
        t = call(uploader, "create_upload", server.url("up"), Gio.File.new_for_path(str(src)))
        wait_for(lambda: killed, 20, "the first upload to arrive")
        bus.kill_service(signal.SIGKILL)
        reactivate(bus, client)
        assert call(t, "wait")
        assert t.props.http_status == 201
        puts = server.requests_to("/up")
        assert len(puts) == 2
        assert all(r.method == "PUT" and r.header("content-length") == "300000" for r in puts)
        assert puts[1].header("content-range") is None, "sent whole, from zero"
    finally:
        release.set()
        server.close()


def test_disk_full_while_committing(tmp_path, nginx):
    """The state directory fills up: a creation fails with a clear error,
    nothing committed before is lost, and the service keeps working."""
    session = tmp_path / "s"
    state = session / "state"
    # A tmpfs in a user and mount namespace (no root needed)
    fs = bgtharness.Tmpfs(str(state), "256k")
    bus = None
    try:
        bus = ServiceBus(settings={"max-transfers-per-app": "100000"}, tmpdir=str(session),
                         prefix=fs.service_prefix())
        client = bus.client("org.example.Full")
        answered = []
        error = None
        for i in range(5000):
            try:
                t = call(Bgt.Downloader.new(client), "create_download",
                         nginx.url(f"small.txt?{'x' * 200}{i}"),
                         Gio.File.new_for_path(str(tmp_path / f"f{i}")), )
            except GLib.Error as e:
                error = e
                break
            answered.append(t.get_id())
        print(f"\nstate directory full after {len(answered)} transfers: {error and error.message}")
        assert error is not None, "the 256 KiB state directory never filled up"
        assert answered, "nothing could be created at all"
        assert "space" in error.message.lower() or "full" in error.message.lower(), error.message
        # Still answering, and what was committed is there, also after a restart
        listed = {t.get_id() for t in call(client, "list_transfers")}
        assert set(answered) <= listed
        bus.kill_service(signal.SIGKILL)
        client = bus.client("org.example.Full")
        listed = {t.get_id() for t in call(client, "list_transfers")}
        assert set(answered) <= listed
    finally:
        if bus is not None:
            bus.close()
        fs.close()


def test_flush_failure_is_never_success(tmp_path, nginx):
    """P5: fsync/fdatasync start failing with EIO mid-download (libfiu): the
    download ends in error; it is never retried into a claimed success and
    nothing appears at the destination."""
    bgtharness.skip_if(bgtharness.SANITIZED, "the sanitizer job: ASan refuses a preloaded "
                       "libfiu (its runtime must come first)")
    bgtharness.require_tool("fiu-run", "needs fiu-utils")
    fifo_base = str(tmp_path / "fiu")
    bus = ServiceBus(tmpdir=str(tmp_path / "s"),
                     prefix=f"fiu-run -x -f {fifo_base}")
    try:
        client = bus.client("org.example.Eio")
        dest = tmp_path / "eio.bin"
        t = call(Bgt.Downloader.new(client), "create_download", nginx.url("slow/medium.bin"),
                 Gio.File.new_for_path(str(dest)))
        wait_for(lambda: t.props.bytes_received > 0, 20, "progress")
        pid = bus.service_pid()
        subprocess.run(["fiu-ctrl", "-f", fifo_base,
                        "-c", "enable name=posix/io/sync/*,failinfo=5", str(pid)], check=True)
        box = []
        t.wait_async(None, lambda o, r: box.append(r))
        try:
            wait_for(lambda: box, 60, "the end")
        except TimeoutError as e:
            # Once seen under heavy load, not reproduced since: say where
            # the service stands if it is hung
            raise AssertionError(f"{e}: {t.props.status.value_nick}, "
                                 f"{t.props.bytes_received} bytes" + bgtharness.stacks(pid))
        with pytest.raises(GLib.Error):
            t.wait_finish(box[0])
        assert t.props.status == S.ERROR
        assert t.props.error_message
        print(f"\nflush failure: {t.props.error_status.value_nick}: {t.props.error_message}")
        assert not dest.exists()
    finally:
        bus.close()


def loaded_libraries(pid):
    with open(f"/proc/{pid}/maps") as maps:
        return {line.split()[-1] for line in maps if ".so" in line.split()[-1]}


def test_transfers_load_no_module_once_the_service_is_up(bus, client, nginx, www, tmp_path):
    """The service loads GIO's modules (the proxy resolver, the TLS backend)
    before its first thread (bgtransferd.c). A dlopen beside worker threads
    deadlocks under libfiu's preload, the P5 recipe of FAULTS.md: the test
    above hung 3 times in 40 under load while a first connection loaded
    libproxy. A download, an upload and an FTP download, each the service's
    first of its kind, map no new library."""
    pid = bus.service_pid()
    before = loaded_libraries(pid)
    src = tmp_path / "up.bin"
    bgtharness.make_file(str(src), 64 * 1024)
    ftpd = PyFtpd(www[0])
    try:
        uploader = Bgt.Uploader.new(client)
        uploader.set_method("PUT")
        transfers = [
            call(Bgt.Downloader.new(client), "create_download", nginx.url("medium.bin"),
                 Gio.File.new_for_path(str(tmp_path / "http.bin"))),
            call(uploader, "create_upload", nginx.url("dav/first-upload.bin"),
                 Gio.File.new_for_path(str(src))),
            call(Bgt.Downloader.new(client), "create_download", ftpd.url("medium.bin"),
                 Gio.File.new_for_path(str(tmp_path / "ftp.bin"))),
        ]
        for t in transfers:
            assert call(t, "wait"), t.props.error_message
            assert t.props.status == S.COMPLETED
    finally:
        ftpd.close()
    assert loaded_libraries(pid) - before == set()


@pytest.fixture(scope="module")
def slow_files():
    """A 4 MiB file under names of its own, served at 1 MiB/s."""
    root = tempfile.mkdtemp(prefix="bgt-www-")
    sha = bgtharness.make_file(os.path.join(root, "f.bin"), 4 * MIB)
    server = bgtharness.Nginx(root, slow_rate="1m")
    server.sha = sha

    def link(name):
        os.link(os.path.join(root, "f.bin"), os.path.join(root, name))
        return server.url("slow/" + name)
    server.link = link
    yield server
    server.close()
    shutil.rmtree(root, ignore_errors=True)


def create_for(client, url, dest, kind):
    """A download to a path, or to an fd the app opened (the service writes
    it in place)"""
    if kind == "path":
        return call(Bgt.Downloader.new(client), "create_download", url,
                    Gio.File.new_for_path(str(dest)))
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        return call(Bgt.Downloader.new(client), "create_download_for_fd", url, fd)
    finally:
        os.close(fd)


@pytest.mark.parametrize("kind", ["path", "fd"])
def test_a_failed_flush_is_not_undone_by_the_next(bus, client, slow_files, dest_dir, kind):
    """P5, fsyncgate: a flush of the partial data fails (EIO) and the next one
    would succeed, as on Linux, which reports a failed write-back only once.
    The download ends in error; it is never completed over the lost data."""
    dest = dest_dir / f"eio-{kind}.bin"
    t = create_for(client, slow_files.link(f"eio-{kind}.bin"), dest, kind)
    wait_for(lambda: t.props.bytes_received > 0, 20, "progress")
    data = str(dest) + (".bgtpart" if kind == "path" else "")
    bgtharness.fail_a_flush(bus, t, data, "EIO")
    assert t.props.status == S.ERROR
    assert t.props.error_status == Bgt.ErrorStatus.DESTINATION_UNWRITABLE, t.props.error_status
    assert "Input/output error" in t.props.error_message, t.props.error_message
    if kind == "path":
        assert not dest.exists()
    # Nor does its record say completed once the error is committed, though
    # it may have while the data was being flushed (bt-commit.c)
    record = lambda: bgtharness.stored_record(bus, t.get_id())  # noqa: E731
    wait_for(lambda: record()["status"] != "running", 30, "the error in the store")
    assert (record()["status"], record()["place-unsynced"]) == ("error", False), record()


@pytest.mark.parametrize("service_settings", [{"local-network-apps": "['org.example.SandA']"}],
                         indirect=True)
def test_a_failed_flush_is_not_undone_for_a_sandboxed_app(bwrap_works, bus, slow_files, tmp_path):
    """The same rule for an app in a sandbox, which can only hand over a
    file it opened: its download ends in error, never completed over the
    data a flush lost."""
    from test_security import Sandbox
    app = Sandbox(bus, "org.example.SandA", str(tmp_path / "app"))
    out = tmp_path / "app" / "eio.bin"
    path = app.run("create-fd", slow_files.link("eio-sandboxed.bin"), str(out))
    wait_for(lambda: out.stat().st_size > 0, 20, "progress")
    pid = bus.service_pid()
    bgtharness.inject_a_flush_failure(pid, bgtharness.name_in_service(pid, "eio.bin"), "EIO")
    assert app.run("wait-completed", path) == "error"
    assert app.run("get", path, "ErrorStatus") == "destination-unwritable"


@pytest.mark.parametrize("kind", ["path", "fd"])
def test_a_failed_flush_rewinds_to_the_last_good_one(bus, client, slow_files, dest_dir, kind):
    """A flush of the partial data fails for want of space (ENOSPC): the
    download stops in disk-full, keeping its partial data, but what was
    written since the last good flush may be lost, so Resume fetches it
    again, and the file is complete and byte-identical."""
    name = f"nospace-{kind}.bin"
    dest = dest_dir / name
    t = create_for(client, slow_files.link(name), dest, kind)
    # A checkpoint's flush went well first (the store has it)
    record = lambda: bgtharness.stored_record(bus, t.get_id())  # noqa: E731
    wait_for(lambda: record().get("synced-bytes", 0) > 0, 20, "a good flush")
    good = record()["synced-bytes"]
    data = str(dest) + (".bgtpart" if kind == "path" else "")
    most = bgtharness.fail_a_flush(bus, t, data, "ENOSPC")
    assert t.props.status == S.ERROR
    assert t.props.error_status == Bgt.ErrorStatus.DISK_FULL, t.props.error_status
    kept = t.props.bytes_received
    assert good <= kept < most, f"{kept} bytes kept: good flush at {good}, {most} written"
    assert record()["synced-bytes"] == kept
    call(t, "resume")
    assert call(t, "wait") is True
    assert sha256_file(dest) == slow_files.sha
    last = [l for l in slow_files.access_log() if f"/{name} " in l][-1]
    assert f'range="bytes={kept}-"' in last, last


@pytest.mark.parametrize("jump", ["+2d", "-2d"])
def test_wall_clock_jumps_do_not_move_retries(tmp_path, jump):
    """P6: the service's clock jumps (libfaketime); the retry still comes
    when the monotonic clock says so."""
    bgtharness.skip_if(bgtharness.SANITIZED, "the sanitizer job: ASan refuses a preloaded "
                       "libfaketime (its runtime must come first)")
    lib = bgtharness.find_libfaketime()
    bgtharness.require(lib is not None, "needs faketime (libfaketimeMT.so.1)")
    from faultserver import FaultServer
    clock = tmp_path / "clock"
    clock.write_text("+0\n")
    server = FaultServer()
    bus = ServiceBus(tmpdir=str(tmp_path / "s"), prefix=(
        f"env LD_PRELOAD={lib} FAKETIME_TIMESTAMP_FILE={clock} FAKETIME_NO_CACHE=1 "
        "DONT_FAKE_MONOTONIC=1"))
    try:
        times = []

        def handler(conn, req, n):
            times.append(time.monotonic())
            if n == 1:
                # The wall clock jumps before the service learns it must
                # wait: the jump lands inside the backoff, however late this
                # test gets to look
                clock.write_text(jump + "\n")
                conn.respond(503, b"later", [("Retry-After", "3")])
            else:
                conn.respond(200, b"done")
        server.route("/f", handler)
        client = bus.client("org.example.Clock")
        t = call(Bgt.Downloader.new(client), "create_download", server.url("f"),
                 Gio.File.new_for_path(str(tmp_path / "f")))
        assert call(t, "wait")
        assert t.props.attempts == 2, "retried once, after the backoff"
        # The service's wall clock did jump
        probe = call(Bgt.Downloader.new(client), "create_download", server.url("probe"),
                     Gio.File.new_for_path(str(tmp_path / "probe")), )
        skew_days = (probe.props.created_time / 1e6 - time.time()) / 86400
        assert abs(skew_days - int(jump[:-1])) < 0.1, skew_days
        assert 2.5 < times[1] - times[0] < 6, f"retried after {times[1] - times[0]:.1f} s"
    finally:
        bus.close()
        server.close()


def test_kill_between_rename_and_its_record(bus, client, nginx, dest_dir):
    """P1: killed right after the data was renamed into place, before
    "completed" was recorded: the restarted service finds the file there
    and completes, instead of calling it someone else's."""
    d = Bgt.Downloader.new(client)
    d.set_start(False)
    t = call(d, "create_download", nginx.url("medium.bin"),
             Gio.File.new_for_path(str(dest_dir / "m.bin")))
    pid = bus.service_pid()
    # The commit (bt-commit.c): fdatasync(part), renameat2,
    # fsync(directory) ← killed here, before the completion is recorded;
    # the restarted service knows the file in place for the partial file
    # it created (its identity is in the record)
    with bus.expect_exit(signal.SIGKILL):
        tracer = bgtharness.Strace(pid, "-e", "trace=fsync,renameat2,rename,renameat",
                                   "-e", "inject=fsync:signal=KILL:when=1")
        try:
            call(t, "start")
            tracer.wait_line("+++ killed by SIGKILL +++")
        finally:
            tracer.close()
        wait_for(lambda: not bgtharness._alive(pid), 30, "the service to be killed")
    # The fault landed where intended: the rename came before the
    # directory's fsync, which was the last thing the service did
    calls = [l for l in tracer.lines if "fsync(" in l or "rename" in l]
    assert any("rename" in l and "m.bin" in l for l in calls), tracer.lines
    assert "fsync(" in calls[-1], calls
    assert bus.exit_status(pid) == -signal.SIGKILL
    assert (dest_dir / "m.bin").exists(), "killed after the rename"
    client2 = bus.client("org.example.Tests")
    again = call(client2, "get_transfer", t.get_id())
    assert call(again, "wait")
    assert again.props.status == S.COMPLETED
    assert sha256_file(dest_dir / "m.bin") == nginx.files["medium.bin"]
    assert sorted(os.listdir(dest_dir)) == ["m.bin"]


def test_power_cut_keeps_only_flushed_data(tmp_path, limited):
    """P4: after a power cut, whatever was not flushed may be garbage. The
    service, seeing another boot, trusts only the flushed checkpoint: it
    cuts the partial there and resumes, and the file ends byte-identical."""
    session = str(tmp_path / "s")
    bus = ServiceBus(tmpdir=session)
    dest = tmp_path / "cut.bin"
    try:
        client = bus.client("org.example.Power")
        t = call(Bgt.Downloader.new(client), "create_download", limited.url("slow/f0.bin"),
                 Gio.File.new_for_path(str(dest)))
        wait_for(lambda: t.props.bytes_received > 10 * MIB, 30, "10 MiB")
        bus.kill_service(signal.SIGKILL)
        record = bgtharness.stored_record(bus, t.get_id())
        synced = record["synced-bytes"]
        assert 0 < synced <= record["bytes"]
        # The "power cut": everything after the flushed part turns to zeros
        part = str(dest) + ".bgtpart"
        size = os.path.getsize(part)
        assert size > synced
        with open(part, "r+b") as f:
            f.seek(synced)
            f.write(bytes(size - synced))
    finally:
        bus.close()
    # "Reboot": the same state, another boot
    bus = ServiceBus(tmpdir=session, env={"BGTRANSFERD_SIMULATE_BOOT_ID": "after-the-power-cut"})
    try:
        client = bus.client("org.example.Power")
        again = call(client, "get_transfer", t.get_id())
        assert call(again, "wait")
        assert sha256_file(dest) == limited.sha
        # It asked for the rest from the flushed checkpoint, not from the
        # garbage after it
        ranged = [l for l in limited.access_log() if 'range="bytes=' in l and "/slow/f0.bin " in l]
        assert f'range="bytes={synced}-"' in ranged[-1], ranged
    finally:
        bus.close()


@pytest.mark.parametrize("connections", [1, 4], ids=["one-connection", "segmented"])
@pytest.mark.parametrize("held,lost", [("data", "nothing"), ("directory", "nothing"),
                                       ("directory", "the-rename"),
                                       ("directory", "both-names")])
def test_a_crash_while_the_completion_is_made_durable(tmp_path, nginx, held, lost, connections):
    """P5: the completion is recorded while the data is flushed, renamed
    into place and its directory flushed (bt-commit.c); the transfer says
    completed only once all of it is done. Killed in between (the flush of
    the data, or of the directory, held back), and after a power cut that
    lost what the directory's flush had not kept, the restarted service
    believes the record only if the data is in place under its final name;
    otherwise it fetches again what was not flushed. The app was never
    told it completed. The same for a segmented download (4 connections),
    whose data was written at offsets."""
    session = str(tmp_path / "s")
    dest = tmp_path / "d" / "m.bin"
    part = str(dest) + ".bgtpart"
    dest.parent.mkdir()
    before = fetched_per_uri(nginx).get("/medium.bin", (0, 0))[1]
    bus = ServiceBus(tmpdir=session)
    try:
        client = bus.client("org.example.Power")
        d = Bgt.Downloader.new(client)
        d.set_start(False)
        d.set_connections(connections)
        t = call(d, "create_download", nginx.url("medium.bin"), Gio.File.new_for_path(str(dest)))
        bgtharness.kill_while_completing(bus, client, t, dest, held)
    finally:
        bus.close()
    requests = fetched_per_uri(nginx)["/medium.bin"][1]
    if connections > 1:
        assert requests - before >= connections, "the download was segmented"
    # The power cut: what of the directory did not reach the disk is gone
    if lost == "the-rename":
        os.rename(dest, part)
    elif lost == "both-names":
        os.unlink(dest)
    bus = ServiceBus(tmpdir=session)
    try:
        client = bus.client("org.example.Power")
        again = call(client, "get_transfer", t.get_id())
        assert call(again, "wait")
        assert again.props.status == S.COMPLETED
        assert sha256_file(dest) == nginx.files["medium.bin"]
        assert os.listdir(dest.parent) == ["m.bin"]
        # Believed (nothing fetched again) only if it was in place
        fetched_again = fetched_per_uri(nginx)["/medium.bin"][1] - requests
        if held == "directory" and lost == "nothing":
            assert fetched_again == 0
        else:
            assert fetched_again >= 1
        # Nothing left to check after another crash
        wait_for(lambda: not bgtharness.stored_record(bus, t.get_id())["place-unsynced"], 30,
                 "the record to say the data is in place")
    finally:
        bus.close()


class FdCaller:
    """An app that hands the service a file it opened, to download into:
    a host app through the library, an app in a bwrap sandbox, or an app
    through the portal backend (its frontend passes the fd)."""

    def __init__(self, kind, bus, workdir):
        self.kind, self.bus, self.workdir = kind, bus, workdir
        if kind == "host":
            self.client = bus.client("org.example.Power")
        elif kind == "sandboxed":
            from test_security import Sandbox
            self.app = Sandbox(bus, "org.example.SandA", workdir)
        else:
            from test_portal import APP_A, Caller
            self.app_id, self.frontend = APP_A, Caller(bus, own_frontend_name=True)

    def download(self, url, dest):
        """Creates the download, started; returns its object path."""
        if self.kind == "host":
            t = create_for(self.client, url, dest, "fd")
            return t.get_object_path()
        if self.kind == "sandboxed":
            return self.app.run("create-fd", url, str(dest))
        return self.frontend.download_to(self.app_id, url, dest)

    def state(self, path):
        """(Status, BytesReceived) as the app is told"""
        if self.kind == "host":
            t = call(self.client, "get_transfer", path.rsplit("/", 1)[1])
            return t.props.status.value_nick, t.props.bytes_received
        if self.kind == "sandboxed":
            return (self.app.run("get", path, "Status"),
                    int(self.app.run("get", path, "BytesReceived")))
        props = self.frontend.transfers(self.app_id)[path]
        return props["Status"], props["BytesReceived"]


@pytest.mark.parametrize("reboot", [False, True], ids=["kill", "power-cut"])
@pytest.mark.parametrize("caller", ["host", "sandboxed", "portal"])
def test_a_crash_while_an_fd_destination_is_flushed(request, tmp_path, nginx, caller, reboot):
    """P5 for a file the app opened (a host app, a sandboxed app, the
    portal backend): nothing to rename, so its completion is recorded only
    once its data is flushed. The service is killed while that flush is
    held back (strace), after every byte arrived: the app was not told it
    completed, and the store does not say so. Restarted, in the same boot
    or after a power cut that lost what no flush kept (the file zeroed past
    the flushed bytes), the download ends completed and byte-identical in
    the same file."""
    if caller == "sandboxed":
        request.getfixturevalue("bwrap_works")
    session = str(tmp_path / "s")
    # Sandboxed apps, allowed to reach the loopback servers
    settings = {"local-network-apps": "['org.example.SandA', 'org.example.PortalA']"}
    workdir = str(tmp_path / "app")
    os.makedirs(workdir)
    dest = tmp_path / "app" / "flushed.bin"
    size = 4 * MIB
    bus = ServiceBus(tmpdir=session, settings=settings)
    try:
        app = FdCaller(caller, bus, workdir)
        # Slow (1 MiB/s), so that strace is in place long before the end
        path = app.download(nginx.url("slow/medium.bin"), dest)
        pid = bus.service_pid()
        name = bgtharness.name_in_service(pid, "flushed.bin")
        with bgtharness.killed_during_a_flush(bus, "fdatasync", name):
            wait_for(lambda: app.state(path) == ("running", size)
                     and bgtharness.flush_under_way(pid, "fdatasync", name), 60,
                     "every byte, and the data's flush held back")
            record = bgtharness.stored_record(bus, path.rsplit("/", 1)[1])
            assert record["status"] != "completed", record
            assert app.state(path) == ("running", size)
    finally:
        bus.close()
    synced = record.get("synced-bytes", 0)
    if reboot:
        # What no flush kept is gone
        with open(dest, "r+b") as f:
            f.seek(synced)
            f.write(bytes(size - synced))
    bus = ServiceBus(tmpdir=session, settings=settings,
                     env={"BGTRANSFERD_SIMULATE_BOOT_ID": "after-the-power-cut"} if reboot else None)
    try:
        app = FdCaller(caller, bus, workdir)
        wait_for(lambda: app.state(path)[0] not in ("idle", "running"), 60, "the end")
        assert app.state(path) == ("completed", size)
        assert sha256_file(dest) == nginx.files["medium.bin"]
        record = bgtharness.stored_record(bus, path.rsplit("/", 1)[1])
        assert record["status"] == "completed", record
    finally:
        bus.close()


def test_paused_while_its_data_is_flushed(bus, client, nginx, dest_dir):
    """Paused while the data of its completion is being flushed (held back
    here until the pause is answered, however long that takes), before its
    rename: the commit is abandoned and the record stops saying completed;
    resumed, it completes."""
    dest = dest_dir / "p.bin"
    part = str(dest) + ".bgtpart"
    d = Bgt.Downloader.new(client)
    d.set_start(False)
    t = call(d, "create_download", nginx.url("medium.bin"), Gio.File.new_for_path(str(dest)))
    record = lambda: bgtharness.stored_record(bus, t.get_id())  # noqa: E731
    tracer = bgtharness.Strace(bus.service_pid(), "-y", "-P", part, "-e", "trace=fdatasync",
                               "-e", "inject=fdatasync:delay_enter=600000000")
    try:
        call(t, "start")
        wait_for(lambda: record()["status"] == "completed", 30, "the completion in the store")
        tracer.wait_line("fdatasync(")
        call(t, "pause")
        assert t.props.status == S.PAUSED_BY_APPLICATION
        # Answered once on disk: the record says paused, not completed
        assert (record()["status"], record()["place-unsynced"]) == \
            ("paused-by-application", False), record()
        assert os.path.exists(part) and not dest.exists()
        tracer.release()
    finally:
        tracer.close()
    call(t, "resume")
    assert call(t, "wait") is True
    assert sha256_file(dest) == nginx.files["medium.bin"]
    assert os.listdir(dest_dir) == ["p.bin"]


def test_a_file_removed_after_its_completion_is_not_fetched_again(bus, client, nginx, dest_dir):
    """Once reported, a completion is final: the record stops asking for a
    check of the file's name, and a user who removes the file does not see
    it come back after a crash."""
    before = fetched_per_uri(nginx).get("/small.txt", (0, 0))[1]
    t = call(Bgt.Downloader.new(client), "create_download", nginx.url("small.txt"),
             Gio.File.new_for_path(str(dest_dir / "s.txt")))
    assert call(t, "wait")
    wait_for(lambda: not bgtharness.stored_record(bus, t.get_id())["place-unsynced"], 30,
             "the record to say the name is on disk")
    os.unlink(dest_dir / "s.txt")
    bus.kill_service(signal.SIGKILL)
    again = call(bus.client("org.example.Tests"), "get_transfer", t.get_id())
    assert again.props.status == S.COMPLETED
    assert os.listdir(dest_dir) == []
    assert fetched_per_uri(nginx)["/small.txt"][1] - before == 1
