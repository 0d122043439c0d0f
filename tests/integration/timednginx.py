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

from bgtharness import Nginx

# When each request ended and how long it ran
LOG_TIMED = "'$msec $request_time $request_method $uri $status $connection sent=$body_bytes_sent'"


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


class TimedNginx(Nginx):
    """bgtharness.Nginx whose access log times each request."""

    def __init__(self, root, slow_rate="256k"):
        super().__init__(root, slow_rate=slow_rate, log_format=LOG_TIMED)

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
