#!/usr/bin/python3
# test-summary.py: counts test cases, not meson suites, after `meson test`
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Every pytest case (the JUnit XML each integration suite writes with
# --junitxml) and every GTest case (the TAP in meson's testlog.json) is
# counted; a suite that crashed or timed out without results counts as a
# failure. The CI jobs of tools/run-tests.sh add theirs: another meson
# testlog (--testlog JOB=FILE: the sanitizer build's) and JUnit files
# (--junit JOB=FILE: fuzz targets, the valgrind job, the soak), each case
# named JOB:…; a JUnit file that is missing counts as a failure of its job.
# Prints the figures the suites measure (the kill -9 loop, the soak's
# line), the failures, each skip with its reason, and last, alone on its line:
#   N passed, M failed, K skipped
# Usage: tools/test-summary.py [BUILDDIR | --no-build] [--testlog JOB=FILE]...
#                              [--junit JOB=FILE]...

import argparse
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

parser = argparse.ArgumentParser()
parser.add_argument("builddir", nargs="?", default="_build")
parser.add_argument("--no-build", action="store_true", help="no meson testlog of BUILDDIR")
parser.add_argument("--testlog", action="append", default=[], metavar="JOB=FILE")
parser.add_argument("--junit", action="append", default=[], metavar="JOB=FILE")
args = parser.parse_args()
builddir = args.builddir
TAP = re.compile(r"^(not )?ok\b\s*(\d+)?\s*(?:-\s*)?(.*?)(?:\s+#\s*(SKIP|TODO)\b\s*(.*))?$",
                 re.IGNORECASE)

passed = failed = skipped = 0
failures, skips, figures = [], [], []


def junit_path(command):
    for arg in command:
        if arg.startswith("--junitxml="):
            return arg.split("=", 1)[1]
    return None


def junit_cases(xml, job):
    """Counts the cases of a JUnit file; returns how many failed."""
    global passed, failed, skipped
    suite_failed = 0
    for case in ET.parse(xml).getroot().iter("testcase"):
        case_name = f"{job}{case.get('name')}"
        if case.get("summary"):
            figures.append(case.get("summary"))
        tags = {child.tag: child for child in case}
        if "failure" in tags or "error" in tags:
            failed += 1
            suite_failed += 1
            bad = tags.get("failure", tags.get("error"))
            failures.append(f"{case_name}: {(bad.get('message') or '').splitlines()[0:1]}")
        elif "skipped" in tags:
            skipped += 1
            s = tags["skipped"]
            kind = "expected failure" if s.get("type") == "pytest.xfail" else "skipped"
            reason = (s.get("message") or "").strip()
            skips.append(f"{case_name}: {kind}: {reason}")
        else:
            passed += 1
    return suite_failed


def testlog(path, job=""):
    global passed, failed, skipped
    with open(path) as f:
        entries = [json.loads(line) for line in f if line.strip()]

    for e in entries:
        name, result, command = e["name"], e["result"], e.get("command") or []
        suite = job + name.split("/", 1)[-1].strip()
        ok = result in ("OK", "EXPECTEDFAIL")
        stdout = e.get("stdout") or ""
        figures.extend(line.rstrip() for line in stdout.splitlines()
                       if line.startswith("kill -9 loop"))
        xml = junit_path(command)
        if xml is not None:
            # Results older than this run's start are another run's
            if not os.path.exists(xml) or os.path.getmtime(xml) < e["starttime"] - 1:
                failed += 1
                failures.append(f"{suite}: no results ({result}): the suite crashed or timed out")
                continue
            suite_failed = junit_cases(xml, suite + "::")
            if not ok and suite_failed == 0:
                failed += 1
                failures.append(f"{suite}: the suite ended {result} though no case failed")
            continue
        tap = [TAP.match(line) for line in stdout.splitlines()]
        tap = [m for m in tap if m]
        if "--tap" in command or tap:
            plan = re.search(r"^1\.\.(\d+)", stdout, re.MULTILINE)
            for m in tap:
                case_name = f"{suite}::{m.group(3) or m.group(2)}"
                directive = (m.group(4) or "").upper()
                if directive == "SKIP":
                    skipped += 1
                    skips.append(f"{case_name}: skipped: {(m.group(5) or '').strip()}")
                elif m.group(1) and directive != "TODO":
                    failed += 1
                    failures.append(f"{case_name}: not ok")
                else:
                    passed += 1
            missing = int(plan.group(1)) - len(tap) if plan else 0
            if missing > 0 or (not ok and not any(m.group(1) for m in tap)):
                failed += 1
                failures.append(f"{suite}: {result}, {max(missing, 0)} planned cases without a result")
            continue
        # Anything else is one case
        if ok:
            passed += 1
        elif result == "SKIP":
            skipped += 1
            skips.append(f"{suite}: skipped by meson")
        else:
            failed += 1
            failures.append(f"{suite}: {result}")


if not args.no_build:
    testlog(os.path.join(builddir, "meson-logs", "testlog.json"))
for spec in args.testlog:
    job, _, path = spec.partition("=")
    if os.path.exists(path):
        testlog(path, job + ":")
    else:
        failed += 1
        failures.append(f"{job}: no results ({path}): the job did not run to its end")
for spec in args.junit:
    job, _, path = spec.partition("=")
    try:
        junit_cases(path, job + ":")
    except (OSError, ET.ParseError) as e:
        failed += 1
        failures.append(f"{job}: no results ({path}: {e}): the job did not run to its end")

for line in figures:
    print(line)
if failures:
    print("Failed:")
    for line in failures:
        print("  " + line)
if skips:
    print("Skipped:")
    for line in skips:
        print("  " + line)
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
