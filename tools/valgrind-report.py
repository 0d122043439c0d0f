#!/usr/bin/python3
# valgrind-report.py: judges the memcheck logs of the valgrind job
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Reads DIR/memcheck.PID (one per service process the job started, from
# valgrind's --log-file), writes DIR/memcheck.xml (JUnit, one case: no
# definite leak and no memory error in any of them) for
# tools/test-summary.py, prints each offending record, and exits 1 if any.
# A process killed by SIGKILL writes no leak summary: it is counted apart.
# Usage: tools/valgrind-report.py DIR

import glob
import os
import re
import sys
from xml.sax.saxutils import quoteattr

directory = sys.argv[1]
logs = sorted(glob.glob(os.path.join(directory, "memcheck.*")))
logs = [p for p in logs if not p.endswith(".xml")]
problems, checked, unfinished = [], 0, 0
for path in logs:
    with open(path, errors="replace") as f:
        text = f.read()
    if "Command:" not in text or "bgtransferd" not in text:
        continue  # a process valgrind followed that is not the service
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    if summary is None:
        unfinished += 1  # killed (SIGKILL): no summary to judge
        continue
    checked += 1
    definite = re.search(r"definitely lost: ([\d,]+) bytes", text)
    lost = int(definite.group(1).replace(",", "")) if definite else 0
    errors = int(summary.group(1))
    if lost or errors:
        # The records themselves: leaks and errors, with their stacks
        records = re.findall(r"==\d+== (?:Invalid|Conditional|Use of|Mismatched|Syscall param"
                             r"|[\d,]+ (?:\([\d,]+ direct, [\d,]+ indirect\) )?bytes in [\d,]+ "
                             r"blocks are definitely lost)[^\n]*(?:\n==\d+==    [^\n]*)*", text)
        problems.append(f"{os.path.basename(path)}: {lost} bytes definitely lost, {errors} errors")
        for r in records:
            print(r)
for p in problems:
    print("valgrind:", p)
print(f"valgrind: {checked} service processes checked ({unfinished} killed without a summary),"
      f" {len(problems)} with a definite leak or a memory error")
body = "" if not problems and checked else \
    f"<failure message={quoteattr('; '.join(problems) or 'no memcheck log with a summary')}/>"
with open(os.path.join(directory, "memcheck.xml"), "w") as f:
    f.write('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="valgrind">'
            f'<testcase classname="valgrind" name="memcheck: no definite leak, no error in '
            f'{checked} service processes">{body}</testcase></testsuite></testsuites>\n')
sys.exit(1 if problems or not checked else 0)
