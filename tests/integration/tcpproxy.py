# tcpproxy.py: a TCP relay on loopback that watches, and can misbehave
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Put in front of a real server (nginx, the tus server, an FTP server's
# control port) so that a test counts, on the server's side, the
# connections the service opens and when each carries bytes; or makes one
# connection stall (the relay stops reading from the client after some
# bytes) or answers one HTTP request itself (a 503) before the real server
# gets the next.
#
# Each connection records when its first and its last byte went through
# (either way), stamped before the byte is passed on: a byte the service
# reacts to is always stamped before the service's reaction, so intervals
# of connections that the service used one after the other never overlap.

import socket
import threading
import time


class Connection:
    def __init__(self, number):
        self.number = number
        self.first = None
        self.last = None
        self.upstream_bytes = 0  # client → server
        self.downstream_bytes = 0
        self.head = b""  # the first bytes the client sent
        self.stalled = False

    def touch(self):
        now = time.monotonic()
        if self.first is None:
            self.first = now
        self.last = now


class Proxy:
    """Relays 127.0.0.1:port to 127.0.0.1:upstream_port.

    stall_after: the first connection whose client sends more than this
      many bytes stops being read (and so stalls) until release();
    answer_first: raw bytes answered, instead of the real server's reply,
      to the first request (read to its end by Content-Length)."""

    def __init__(self, upstream_port, stall_after=None, answer_first=None):
        self.upstream_port = upstream_port
        self.stall_after = stall_after
        self.answer_first = answer_first
        self.connections = []
        self.lock = threading.Lock()
        self.stall_fired = threading.Event()
        self.answered = threading.Event()
        self.stopping = threading.Event()
        self.released = threading.Event()
        self.sockets = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if stall_after is not None:
            # Small buffers, so that a stall is felt at once by the sender
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.listener.bind(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path, scheme="http"):
        return f"{scheme}://127.0.0.1:{self.port}/{path.lstrip('/')}"

    # ---- what the tests read ------------------------------------------------

    def accepted(self):
        with self.lock:
            return len(self.connections)

    def peak_concurrency(self):
        """The most connections that were in use at one moment."""
        with self.lock:
            events = []
            for c in self.connections:
                if c.first is not None:
                    events.append((c.first, 1))
                    events.append((c.last, -1))
        # At equal times an end comes before a start
        events.sort(key=lambda e: (e[0], e[1]))
        live = peak = 0
        for _, delta in events:
            live += delta
            peak = max(peak, live)
        return peak

    def release(self):
        """Ends the stalled connection (both ways)."""
        self.released.set()

    def close(self):
        self.stopping.set()
        self.released.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for s in list(self.sockets):
            try:
                s.close()
            except OSError:
                pass

    # ---- plumbing ---------------------------------------------------------

    def _accept(self):
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                conn = Connection(len(self.connections) + 1)
                self.connections.append(conn)
            self.sockets.append(client)
            threading.Thread(target=self._serve, args=(client, conn), daemon=True).start()

    def _answer(self, client, conn):
        """Reads one request to its end and answers it ourselves."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(65536)
            if not chunk:
                return
            conn.touch()
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        conn.head = head
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        got = len(body)
        while got < length:
            chunk = client.recv(65536)
            if not chunk:
                return
            conn.touch()
            got += len(chunk)
        conn.upstream_bytes = len(head) + 4 + got
        conn.touch()
        self.answered.set()
        client.sendall(self.answer_first)
        client.close()

    def _serve(self, client, conn):
        if self.answer_first is not None and not self.answered.is_set():
            try:
                self._answer(client, conn)
            except OSError:
                pass
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            client.close()
            return
        self.sockets.append(upstream)
        done = threading.Event()
        threading.Thread(target=self._pump, args=(upstream, client, conn, False, done),
                         daemon=True).start()
        self._pump(client, upstream, conn, True, done)

    def _pump(self, src, dst, conn, upstream, done):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                conn.touch()
                if upstream:
                    if len(conn.head) < 4096:
                        conn.head += data[:4096]
                    conn.upstream_bytes += len(data)
                    if (self.stall_after is not None and not self.stall_fired.is_set()
                            and conn.upstream_bytes > self.stall_after):
                        conn.stalled = True
                        self.stall_fired.set()
                        dst.sendall(data)
                        # Stop reading: the sender's window closes
                        self.released.wait()
                        break
                else:
                    conn.downstream_bytes += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            if conn.stalled or done.is_set():
                for s in (src, dst):
                    try:
                        s.close()
                    except OSError:
                        pass
            else:
                done.set()
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
