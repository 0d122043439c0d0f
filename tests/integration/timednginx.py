# timednginx.py: nginx whose access log says when each request ran
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The scheduling tests (test_features.py) prove from the server's side which
# requests overlapped and in which order they came. nginx logs a request
# when it ends: $msec is that moment, $request_time how long it ran since
# its first byte was read, so each line gives the interval [start, end].
# /slow/ serves the same files at a rate of the test's choosing.

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from bgtharness import free_port

CONF = """daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 256; }}
http {{
  default_type application/octet-stream;
  sendfile on;
  log_format timed '$msec $request_time $request_method $uri $status $connection '
                   'sent=$body_bytes_sent';
  access_log {dir}/access.log timed;
  client_body_temp_path {dir}/tmp/body;
  proxy_temp_path {dir}/tmp/proxy;
  fastcgi_temp_path {dir}/tmp/fastcgi;
  uwsgi_temp_path {dir}/tmp/uwsgi;
  scgi_temp_path {dir}/tmp/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location /slow/ {{
      alias {root}/;
      limit_rate {slow_rate};
    }}
    location /dav/ {{
      alias {dir}/dav/;
      dav_methods PUT DELETE;
      create_full_put_path on;
      client_max_body_size 0;
    }}
  }}
}}
"""


class Request:
    """One line of the log: [start, end] in seconds of the wall clock."""

    def __init__(self, line):
        fields = line.split()
        self.end = float(fields[0])
        self.duration = float(fields[1])
        self.start = self.end - self.duration
        self.method = fields[2]
        self.uri = fields[3]
        self.status = int(fields[4])
        self.connection = fields[5]
        self.sent = int(line.rsplit("sent=", 1)[1])

    def __repr__(self):
        return (f"<{self.method} {self.uri} {self.status} "
                f"{self.start:.3f}–{self.end:.3f} sent={self.sent}>")


class TimedNginx:
    def __init__(self, root, slow_rate="256k"):
        self.dir = tempfile.mkdtemp(prefix="bgt-nginx-timed-")
        self.root = root
        self.port = free_port()
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        self.dav = os.path.join(self.dir, "dav")
        os.makedirs(self.dav, exist_ok=True)
        os.chmod(self.dav, 0o777)
        os.chmod(os.path.join(self.dir, "tmp"), 0o777)
        for d in (self.dir, root):
            os.chmod(d, 0o755)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(dir=self.dir, root=root, port=self.port, slow_rate=slow_rate))
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.dir, "-c", conf, "-e", os.path.join(self.dir, "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start")
                time.sleep(0.02)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def requests(self, prefix=""):
        """The requests logged so far whose URI starts with prefix, in the
        order they started."""
        try:
            with open(os.path.join(self.dir, "access.log")) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        reqs = [Request(line) for line in lines if line.strip()]
        return sorted((r for r in reqs if r.uri.startswith(prefix)), key=lambda r: r.start)

    def close(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# nginx logs times to the millisecond: two requests that follow each other
# on one connection may look 1–2 ms apart either way
SLACK = 0.005


def max_overlap(requests):
    """The largest number of requests that were being served at one moment."""
    events = []
    for r in requests:
        events.append((r.start + SLACK, 1))
        events.append((r.end - SLACK, -1))
    events.sort(key=lambda e: (e[0], e[1]))
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak
