# faultserver.py: a small HTTP server of our own that misbehaves on purpose
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs in a thread of the test process on a loopback port. Each path is a
# behaviour; the query string tunes it. Every request is recorded (method,
# path, headers) so that tests can check what the service asked for.

import http.server
import os
import threading
import time
import urllib.parse

from bgtharness import free_port


class FaultServer:
    def __init__(self):
        self.port = free_port()
        self.requests = []
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                with server.lock:
                    server.requests.append((self.command, url.path, dict(self.headers)))
                behaviour = getattr(server, "serve_" + url.path.strip("/").replace("-", "_"), None)
                if behaviour is None:
                    self.send_error(404)
                    return
                try:
                    behaviour(self, query)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def payload(size, seed=0):
        """Deterministic bytes, so that a test can compare without a file."""
        block = bytes((i * 7 + seed) & 0xFF for i in range(65536))
        return (block * (size // len(block) + 1))[:size]

    # --- behaviours -------------------------------------------------------

    def serve_trickle(self, h, q):
        """size bytes in chunk-sized writes every interval ms: many small reads."""
        size = int(q.get("size", 4 << 20))
        chunk = int(q.get("chunk", 8192))
        interval = float(q.get("interval", 2)) / 1000
        body = self.payload(size)
        h.send_response(200)
        h.send_header("Content-Length", str(size))
        h.end_headers()
        for off in range(0, size, chunk):
            h.wfile.write(body[off:off + chunk])
            h.wfile.flush()
            time.sleep(interval)
