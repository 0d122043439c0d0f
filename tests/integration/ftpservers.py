# ftpservers.py: real FTP servers on loopback, and one that misbehaves
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# - PyFtpd: pyftpdlib in a subprocess (this file run as a script), with a
#   user account and anonymous access, optionally throttled; every command
#   it receives (PASS masked) and every accepted connection go to a log.
# - VsFtpd: Debian's vsftpd, started as root with a config file of its own:
#   anonymous access to a root in a temp dir, plain or explicit FTPS with TLS
#   forced for login and data (require_ssl_reuse=YES, its default), its
#   protocol log in a file the tests read.
# - BounceFtpd: our own FTP server whose PASV reply names another address
#   (127.0.0.2) than the control connection's; it serves the data on the
#   control connection's address and records who connects where.
#
# Readiness is a connection that reads the 220 greeting; each launcher has
# close().

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def die_with_parent():
    """preexec_fn: the server gets SIGTERM if the test process dies."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def wait_for_greeting(port, proc, describe, timeout=15):
    """Returns once the server on port answers 220; raises if proc died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5) as s:
                s.settimeout(5)
                if s.recv(256).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{describe} exited ({proc.returncode}) before it was ready")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{describe} did not answer on port {port}")
        time.sleep(0.02)  # polling a port; there is nothing to wait on


class FtpLog:
    """A server's log. mark() says where it ends now; since=mark reads only
    what came after. sessions(): [(session key, [commands])]."""

    def log_lines(self):
        raise NotImplementedError

    def mark(self):
        return len(self.log_lines())

    def sessions(self, since=0):
        raise NotImplementedError

    def commands(self, since=0):
        return [c for _, cmds in self.sessions(since) for c in cmds]

    def rest_before_retr(self, path, since=0):
        """The REST argument of each RETR of path (None when no REST came
        between the previous RETR and that one), in order."""
        out = []
        for _, cmds in self.sessions(since):
            rest = None
            for c in cmds:
                verb, _, arg = c.partition(" ")
                verb = verb.upper()
                if verb == "REST":
                    rest = int(arg)
                elif verb == "RETR":
                    if arg.lstrip("/") == path.lstrip("/"):
                        out.append(rest)
                    rest = None
        return out


# ---- pyftpdlib ---------------------------------------------------------------


class PyFtpd(FtpLog):
    """pyftpdlib on a loopback port: user USER/PASSWORD and anonymous, both
    read-only on root; rate (bytes/s) throttles every data connection."""

    USER = "alice"
    PASSWORD = "wonderland-7c2e"

    def __init__(self, root, rate=0, tmpdir=None):
        self.dir = tmpdir or tempfile.mkdtemp(prefix="bgt-pyftpd-")
        self.root = root
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "commands.log")
        open(self.log_path, "w").close()
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "pyftpd", str(self.port), root,
             self.log_path, self.USER, self.PASSWORD, str(rate)],
            stdout=subprocess.DEVNULL, stderr=self.stderr, preexec_fn=die_with_parent)
        try:
            wait_for_greeting(self.port, self.proc, "pyftpdlib")
        except RuntimeError:
            self.close()
            raise

    def url(self, path, user=None, password=None, host="127.0.0.1"):
        auth = f"{user}:{password}@" if user else ""
        return f"ftp://{auth}{host}:{self.port}/{path.lstrip('/')}"

    def log_lines(self):
        with open(self.log_path) as f:
            return f.read().splitlines()

    def sessions(self, since=0):
        by_peer = {}
        for line in self.log_lines()[since:]:
            peer, _, what = line.partition(" ")
            if what.startswith("CMD "):
                by_peer.setdefault(peer, []).append(what[4:])
        return list(by_peer.items())

    def connections(self, since=0):
        """Peers of every accepted control connection, in order."""
        return [line.split(" ")[0] for line in self.log_lines()[since:]
                if line.endswith(" CONNECT")]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_pyftpd(port, root, log_path, user, password, rate):
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler
    from pyftpdlib.servers import FTPServer
    import logging

    logging.basicConfig(level=logging.WARNING)
    log = open(log_path, "a", buffering=1)
    lock = threading.Lock()

    def record(handler, what):
        with lock:
            log.write(f"{handler.remote_ip}:{handler.remote_port} {what}\n")

    authorizer = DummyAuthorizer()
    authorizer.add_user(user, password, root, perm="elr")
    authorizer.add_anonymous(root, perm="elr")

    class Handler(FTPHandler):
        def on_connect(self):
            record(self, "CONNECT")

        def pre_process_command(self, line, cmd, arg):
            shown = "****" if cmd == "PASS" else arg
            record(self, f"CMD {cmd} {shown}".rstrip())
            return super().pre_process_command(line, cmd, arg)

    Handler.authorizer = authorizer
    Handler.passive_ports = None
    Handler.permit_foreign_addresses = False
    if int(rate) > 0:
        class Throttled(ThrottledDTPHandler):
            write_limit = int(rate)
            read_limit = 0
        Handler.dtp_handler = Throttled
    server = FTPServer(("127.0.0.1", int(port)), Handler)
    signal.signal(signal.SIGTERM, lambda *a: server.close_all() or sys.exit(0))
    server.serve_forever()


# ---- vsftpd ------------------------------------------------------------------

VSFTPD_CONF = """\
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port={port}
background=NO
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
run_as_launching_user=NO
local_enable=NO
anonymous_enable=YES
anon_root={root}
no_anon_password=YES
anon_world_readable_only=YES
write_enable=NO
ftp_username=ftp
nopriv_user=nobody
secure_chroot_dir={empty}
pasv_enable=YES
pasv_min_port={pasv_min}
pasv_max_port={pasv_max}
port_enable=NO
connect_from_port_20=NO
anon_max_rate={rate}
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file={log}
syslog_enable=NO
dual_log_enable=NO
use_localtime=NO
hide_ids=YES
"""

VSFTPD_TLS = """\
ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
require_ssl_reuse=YES
ssl_sslv2=NO
ssl_sslv3=NO
ssl_tlsv1=NO
ssl_ciphers=HIGH
rsa_cert_file={cert}
rsa_private_key_file={cert}
"""


class VsFtpd(FtpLog):
    """Debian's vsftpd as root, anonymous read-only on root; tls_cert (a
    PEM with key and chain) makes it explicit FTPS with TLS forced for the
    login and the data connections, and the session reused between them."""

    BINARY = "/usr/sbin/vsftpd"

    def __init__(self, root, rate=0, tls_cert=None, extra="", tmpdir=None):
        self.dir = tmpdir or tempfile.mkdtemp(prefix="bgt-vsftpd-")
        os.chmod(self.dir, 0o755)
        self.root = root
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "vsftpd.log")
        empty = os.path.join(self.dir, "empty")
        os.makedirs(empty, exist_ok=True)
        os.chmod(empty, 0o555)
        pasv_min = free_port()
        conf = VSFTPD_CONF.format(port=self.port, root=root, empty=empty, pasv_min=pasv_min,
                                  pasv_max=min(pasv_min + 20, 65535), rate=rate,
                                  log=self.log_path)
        if tls_cert:
            conf += VSFTPD_TLS.format(cert=tls_cert)
        conf += extra
        self.conf = os.path.join(self.dir, "vsftpd.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        os.chmod(self.conf, 0o600)
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "w")
        self.proc = subprocess.Popen([self.BINARY, self.conf], stdout=self.stderr,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=die_with_parent)
        try:
            wait_for_greeting(self.port, self.proc, "vsftpd")
        except RuntimeError as e:
            out = self.read(os.path.join(self.dir, "stderr.log"))
            self.close()
            raise RuntimeError(f"{e}: {out}")

    @staticmethod
    def read(path):
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def url(self, path, scheme="ftp"):
        return f"{scheme}://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def log(self):
        return self.read(self.log_path)

    def log_lines(self):
        return self.log().splitlines()

    # Fri Mar  6 10:00:00 2026 [pid 1234] [ftp] FTP command: Client "127.0.0.1", "REST 5"
    LINE = re.compile(r'\[pid (\d+)\] (?:\[[^\]]*\] )?FTP (command|response): '
                      r'Client "[^"]*", "(.*)"$')

    def protocol(self, since=0):
        """[(pid, 'command' or 'response', text)] in order."""
        out = []
        for line in self.log_lines()[since:]:
            m = self.LINE.search(line)
            if m:
                out.append((m.group(1), m.group(2), m.group(3)))
        return out

    def sessions(self, since=0):
        by_pid = {}
        for pid, kind, text in self.protocol(since):
            if kind == "command":
                by_pid.setdefault(pid, []).append(text)
        return list(by_pid.items())

    def responses(self, since=0):
        return [text for _, kind, text in self.protocol(since) if kind == "response"]

    def close(self):
        if self.proc.poll() is None:
            # Its session processes are in its process group
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- A server that lies in its PASV reply ------------------------------------------


class BounceFtpd:
    """Answers EPSV with 500 and PASV with 227 naming 127.0.0.2 (a "third
    party"); serves the data on 127.0.0.1 at the same port. A listener on
    127.0.0.2 at that port records every connection it gets."""

    def __init__(self, files):
        self.files = files  # name -> bytes
        self.control = socket.create_server(("127.0.0.1", 0))
        self.port = self.control.getsockname()[1]
        # The same port on both addresses
        for _ in range(50):
            self.data = socket.create_server(("127.0.0.1", 0))
            self.data_port = self.data.getsockname()[1]
            try:
                self.decoy = socket.create_server(("127.0.0.2", self.data_port))
                break
            except OSError:
                self.data.close()
        else:
            raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")
        self.decoy_hits = []
        self.data_hits = []
        self.commands = []
        self.closed = False
        self.threads = [threading.Thread(target=self._accept_control, daemon=True),
                        threading.Thread(target=self._accept_decoy, daemon=True)]
        for t in self.threads:
            t.start()

    def url(self, path):
        return f"ftp://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def _accept_decoy(self):
        while not self.closed:
            try:
                conn, peer = self.decoy.accept()
            except OSError:
                return
            self.decoy_hits.append(peer)
            conn.close()

    def _accept_control(self):
        while not self.closed:
            try:
                conn, _ = self.control.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        f = conn.makefile("rb")

        def reply(text):
            conn.sendall(text.encode() + b"\r\n")

        try:
            reply("220 bounce test server")
            rest = 0
            while True:
                line = f.readline()
                if not line:
                    return
                cmd, _, arg = line.decode("latin-1").strip().partition(" ")
                cmd = cmd.upper()
                self.commands.append((cmd, "****" if cmd == "PASS" else arg))
                name = arg.lstrip("/")
                if cmd == "USER":
                    reply("331 password please")
                elif cmd == "PASS":
                    reply("230 logged in")
                elif cmd == "TYPE":
                    reply("200 binary")
                elif cmd == "SIZE":
                    reply(f"213 {len(self.files[name])}" if name in self.files
                          else "550 no such file")
                elif cmd == "MDTM":
                    reply("213 20240101000000" if name in self.files else "550 no such file")
                elif cmd == "EPSV":
                    reply("500 EPSV not understood")
                elif cmd == "PASV":
                    p1, p2 = divmod(self.data_port, 256)
                    reply(f"227 Entering Passive Mode (127,0,0,2,{p1},{p2})")
                elif cmd == "REST":
                    rest = int(arg)
                    reply(f"350 restarting at {rest}")
                elif cmd == "RETR":
                    if name not in self.files:
                        reply("550 no such file")
                        continue
                    self.data.settimeout(20)
                    try:
                        data, peer = self.data.accept()
                    except OSError:
                        reply("425 no data connection")
                        continue
                    self.data_hits.append(peer)
                    reply("150 sending")
                    data.sendall(self.files[name][rest:])
                    data.close()
                    rest = 0
                    reply("226 done")
                elif cmd == "QUIT":
                    reply("221 bye")
                    return
                else:
                    reply("502 not implemented")
        except OSError:
            pass
        finally:
            f.close()
            conn.close()

    def close(self):
        self.closed = True
        for s in (self.control, self.data, self.decoy):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


if __name__ == "__main__":
    if len(sys.argv) == 8 and sys.argv[1] == "pyftpd":
        run_pyftpd(*sys.argv[2:])
    else:
        raise SystemExit("usage: ftpservers.py pyftpd PORT ROOT LOG USER PASSWORD RATE")
