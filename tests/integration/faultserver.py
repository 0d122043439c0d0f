# faultserver.py: an HTTP server of our own that misbehaves on purpose
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Raw sockets, one thread per connection, loopback only: a handler writes
# whatever bytes it likes, so it can lie about lengths, cut chunks short,
# reset the connection or never answer — what http.server cannot do. Tests
# register a handler per path; every request is recorded (method, path,
# headers) so that tests check what the service asked for.

import fcntl
import hashlib
import socket
import struct
import termios
import threading
import time
import urllib.parse

from bgtharness import free_port

REASONS = {200: "OK", 206: "Partial Content", 301: "Moved Permanently", 302: "Found",
           307: "Temporary Redirect", 404: "Not Found", 408: "Request Timeout",
           410: "Gone", 416: "Range Not Satisfiable", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}


def payload(size, seed=0):
    """Deterministic bytes that differ at every offset modulo a large period."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest() * 128  # 4 KiB
        counter += 1
    return bytes(out[:size])


class Request:
    def __init__(self, method, target, headers, body=b""):
        self.method = method
        self.body = body
        self.target = target
        url = urllib.parse.urlsplit(target)
        self.path = url.path
        self.query = dict(urllib.parse.parse_qsl(url.query))
        self.headers = headers  # lower-case names

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def range_start(self):
        r = self.header("range")
        if not r or not r.startswith("bytes=") or not r.endswith("-"):
            return None
        return int(r[6:-1])


class Conn:
    """One client connection; handlers write raw bytes through it."""

    def __init__(self, sock, server=None):
        self.sock = sock
        self.server = server
        self.closed = False
        self.request = None
        self.body_sent = 0  # bytes sent since the last head()

    def send(self, data):
        self.sock.sendall(data)
        self.body_sent += len(data)

    def head(self, status, headers=(), reason=None):
        lines = [f"HTTP/1.1 {status} {reason or REASONS.get(status, 'Whatever')}"]
        lines += [f"{k}: {v}" for k, v in headers]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        self.body_sent = 0

    def unacknowledged(self):
        """Bytes sent that the peer has not acknowledged yet (SIOCOUTQ)."""
        buf = fcntl.ioctl(self.sock.fileno(), termios.TIOCOUTQ, b"\0" * 4)
        return struct.unpack("i", buf)[0]

    def drain(self, timeout=30):
        """Waits until the client's end has received every byte sent (the
        send queue is empty), so that a cut that follows comes after them
        and not instead of them."""
        deadline = time.monotonic() + timeout
        while self.unacknowledged() > 0:
            if time.monotonic() > deadline:
                raise TimeoutError("the client did not take the bytes sent")
            time.sleep(0.002)  # polling the kernel's queue: it has no event

    def cut(self, how="reset"):
        """Ends the response here once the client has every byte sent so
        far: "reset" (RST), "close" (FIN), or "stall" (silence until the
        client gives up). The fault is recorded (FaultServer.faults), so a
        test can check it fired before judging the outcome."""
        self.drain()
        self.mark(how)
        if how == "reset":
            self.reset()
        elif how == "close":
            self.close()
        elif how == "stall":
            if self.server is not None:
                self.server.stopping.wait(30)
            else:
                time.sleep(30)
            self.close()

    def mark(self, what):
        """Records that the fault what fired, with the body bytes sent."""
        if self.server is not None:
            with self.server.lock:
                self.server.faults.append((self.request.path if self.request else None,
                                           what, self.body_sent))

    def respond(self, status, body=b"", headers=(), close=False):
        headers = list(headers)
        if not any(k.lower() == "content-length" for k, _ in headers):
            headers.append(("Content-Length", str(len(body))))
        if close:
            headers.append(("Connection", "close"))
        self.head(status, headers)
        if body:
            self.send(body)
        if close:
            self.close()

    def reset(self):
        """Closes with a RST: the client sees ECONNRESET."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass


class FaultServer:
    def __init__(self, host="127.0.0.1", ssl_context=None):
        self.host = host
        self.scheme = "https" if ssl_context else "http"
        self.ssl_context = ssl_context
        self.routes = {}
        self.counts = {}
        self.requests = []
        self.faults = []  # (path, what, body bytes sent) of every fault fired
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(64)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        self.route("/trickle", self._trickle)

    def url(self, path):
        return f"{self.scheme}://{self.host}:{self.port}/{path.lstrip('/')}"

    def route(self, path, handler):
        """handler(conn, request, n): n counts the requests to path, from 1."""
        with self.lock:
            self.routes[path] = handler
            self.counts[path] = 0

    def requests_to(self, path):
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def faults_at(self, path):
        """[(what, body bytes sent)] of the faults fired on path."""
        with self.lock:
            return [(what, sent) for p, what, sent in self.faults if p == path]

    def close(self):
        self.stopping.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()

    # --- plumbing ---------------------------------------------------------

    def _accept(self):
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        if self.ssl_context is not None:
            try:
                sock = self.ssl_context.wrap_socket(sock, server_side=True)
            except OSError:
                sock.close()
                return
        conn = Conn(sock, self)
        rfile = sock.makefile("rb")
        try:
            while not conn.closed and not self.stopping.is_set():
                request = self._read_request(rfile)
                if request is None:
                    break
                with self.lock:
                    self.requests.append(request)
                    handler = self.routes.get(request.path)
                    if handler is not None:
                        self.counts[request.path] += 1
                        n = self.counts[request.path]
                if handler is None:
                    conn.respond(404, b"no such scenario\n")
                    continue
                conn.request = request
                handler(conn, request, n)
        except (OSError, ValueError):
            pass
        finally:
            try:
                rfile.close()
            except OSError:
                pass
            conn.close()

    @staticmethod
    def _read_request(rfile):
        line = rfile.readline(65537)
        if not line:
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers = {}
        while True:
            h = rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(rfile.read(size))
                rfile.readline(16)
            body = b"".join(chunks)
        else:
            length = int(headers.get("content-length", "0") or 0)
            if length:
                body = rfile.read(length)
        return Request(method, target, headers, body)

    # --- a behaviour every suite uses ---------------------------------------

    @staticmethod
    def _trickle(conn, req, n):
        """size bytes in chunk-sized writes every interval ms: many small reads."""
        size = int(req.query.get("size", 4 << 20))
        chunk = int(req.query.get("chunk", 8192))
        interval = float(req.query.get("interval", 2)) / 1000
        body = payload(min(size, 1 << 20))
        ring = body + body
        conn.head(200, [("Content-Length", str(size))])
        sent = 0
        while sent < size:
            n = min(chunk, size - sent)
            off = sent % len(body)
            conn.send(ring[off:off + n])
            sent += n
            time.sleep(interval)
