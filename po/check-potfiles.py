#!/usr/bin/env python3
# check-potfiles.py: every source file with translatable strings is listed
# in po/POTFILES.in, and every file listed there exists
#
# Usage: check-potfiles.py SRCDIR
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import re
import sys

# _("…"), N_("…"), C_("ctx", "…"), NC_, Q_, and the g_*gettext calls
MARKED_C = re.compile(r'(?<![A-Za-z0-9_])(?:N?C_|N_|Q_|_|g_d?n?p?gettext|g_dpgettext2)\s*\(\s*"')
SKIP_DIRS = {".git", "tests", "subprojects"}


def marked(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if path.endswith(".gschema.xml"):
        return "gettext-domain=" in text or "translatable=" in text
    if path.endswith((".ui", ".desktop.in", ".metainfo.xml.in")):
        return True
    return MARKED_C.search(text) is not None


def main():
    srcdir = os.path.abspath(sys.argv[1])
    with open(os.path.join(srcdir, "po", "POTFILES.in"), encoding="utf-8") as f:
        listed = {line.strip() for line in f if line.strip() and not line.startswith("#")}
    problems = []
    for name in sorted(listed):
        if not os.path.exists(os.path.join(srcdir, name)):
            problems.append(f"po/POTFILES.in lists {name}, which does not exist")
    for root, dirs, files in os.walk(srcdir):
        # Build directories have a meson-private directory; skip them
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(("_build", "build"))
                         and not os.path.exists(os.path.join(root, d, "meson-private")))
        for name in sorted(files):
            if not name.endswith((".c", ".h", ".gschema.xml", ".ui", ".desktop.in",
                                  ".metainfo.xml.in")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, srcdir)
            if marked(path) and rel not in listed:
                problems.append(f"{rel} has translatable strings but is not in po/POTFILES.in")
    for problem in problems:
        print(problem)
    print(f"{len(listed)} files listed, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
