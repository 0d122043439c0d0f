#!/usr/bin/python3
# check-docs.py: the documentation is built, complete and stands alone
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The docs job of tools/run-tests.sh, after a build with -Ddocs=true (which
# fails on any warning of gi-docgen). Cases, written as JUnit to
# BUILDDIR/test-results/docs.xml for tools/test-summary.py:
#   reference built      the API reference and each of its pages exist
#   no new undocumented  `gi-docgen check` finds nothing undocumented in
#                        the GIR beyond docs/undocumented.txt
#   undocumented.txt     every entry there is still undocumented (document
#                        a symbol, remove its line: the list only shrinks)
#   stand-alone          no Markdown file of the repository links outside
#                        it or to a file that does not exist, and no file
#                        refers to a document kept outside it
#
#   tools/check-docs.py [BUILDDIR]      (exit status 1 when a case fails)

import os
import re
import subprocess
import sys
from xml.sax.saxutils import quoteattr

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["index", "overview", "contract", "dbus", "examples", "completion-groups", "portal"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)")
# What the repository must not lean on: the team's specification outside it
OUTSIDE = re.compile(r"\.\./shared|SPEC\.md|\bSPEC §")


def undocumented(gir):
    """gi-docgen check's findings, without the source positions."""
    r = subprocess.run(["gi-docgen", "check", gir], capture_output=True, text=True)
    found = set()
    for line in (r.stdout + r.stderr).splitlines():
        line = ANSI.sub("", line).strip()
        if not line.startswith("WARNING:"):
            continue
        message = re.sub(r" at \S+:\d+", "", line[len("WARNING:"):].strip())
        found.add(message)
    if r.returncode != 0 and not found:
        raise RuntimeError(f"gi-docgen check failed: {r.stderr.strip()}")
    return found


def tracked_files():
    r = subprocess.run(["git", "-C", TOP, "ls-files", "-z"], capture_output=True)
    if r.returncode == 0:
        return [f for f in r.stdout.decode().split("\0") if f]
    skip = {".git", "node_modules"}
    files = []
    for root, dirs, names in os.walk(TOP):
        dirs[:] = [d for d in dirs if d not in skip and not d.startswith("_")]
        files += [os.path.relpath(os.path.join(root, n), TOP) for n in names]
    return files


def stand_alone_problems():
    problems = []
    for rel in tracked_files():
        path = os.path.join(TOP, rel)
        if rel == "tools/check-docs.py" or not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                problems.append(f"{rel}:{n}: refers to a document outside the repository")
        if not rel.endswith(".md"):
            continue
        fenced = False
        for n, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith("```"):
                fenced = not fenced
            if fenced:
                continue
            for m in LINK.finditer(re.sub(r"`[^`]*`", "", line)):
                target = m.group(2)
                if target.startswith("#") or re.match(r"(class|method|func|ctor|enum|error|"
                                                      r"property|signal|iface|struct|const)@",
                                                      m.group(1)):
                    continue
                if re.match(r"[a-z][a-z0-9+.-]*:", target):
                    problems.append(f"{rel}:{n}: links outside the repository: {target}")
                    continue
                resolved = os.path.normpath(os.path.join(os.path.dirname(path),
                                                         target.split("#")[0]))
                if not (resolved + os.sep).startswith(TOP + os.sep):
                    problems.append(f"{rel}:{n}: links outside the repository: {target}")
                elif not os.path.exists(resolved):
                    problems.append(f"{rel}:{n}: links to {target}, which does not exist")
    return problems


def main(argv):
    builddir = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(TOP, "_build"))
    cases = []  # (name, failure message or None)

    reference = os.path.join(builddir, "docs", "Bgt-1")
    missing = [p for p in PAGES if not os.path.exists(os.path.join(reference, p + ".html"))]
    cases.append(("reference built",
                  f"missing in {reference}: {', '.join(missing)} (configured with -Ddocs=true?)"
                  if missing else None))

    listed_file = os.path.join(TOP, "docs", "undocumented.txt")
    with open(listed_file) as f:
        listed = {line.strip() for line in f if line.strip() and not line.startswith("#")}
    try:
        found = undocumented(os.path.join(builddir, "libbgtransfer", "Bgt-1.gir"))
    except (OSError, RuntimeError) as e:
        cases.append(("no new undocumented", str(e)))
        found = None
    if found is not None:
        new = sorted(found - listed)
        stale = sorted(listed - found)
        cases.append(("no new undocumented",
                      "document these (gi-docgen check):\n  " + "\n  ".join(new) if new else None))
        cases.append(("undocumented.txt",
                      "documented now, remove from docs/undocumented.txt:\n  " + "\n  ".join(stale)
                      if stale else None))
        print(f"docs: {len(found)} undocumented in the GIR, {len(listed)} listed")

    problems = stand_alone_problems()
    cases.append(("stand-alone", "\n  ".join(problems) if problems else None))

    out = os.path.join(builddir, "test-results")
    os.makedirs(out, exist_ok=True)
    xml = []
    for name, failure in cases:
        if failure is None:
            xml.append(f'<testcase classname="docs" name={quoteattr(name)}/>')
        else:
            print(f"docs: {name}: {failure}")
            xml.append(f'<testcase classname="docs" name={quoteattr(name)}>'
                       f'<failure message={quoteattr(failure)}/></testcase>')
    with open(os.path.join(out, "docs.xml"), "w") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="docs">'
                + "".join(xml) + "</testsuite></testsuites>\n")
    failed = sum(1 for _, failure in cases if failure is not None)
    print(f"docs: {len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
