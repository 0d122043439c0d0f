#!/usr/bin/env python3
# check-translations.py: each language of po/LINGUAS is complete: msgfmt
# --check passes and reports no untranslated or fuzzy message
#
# Usage: check-translations.py SRCDIR
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import subprocess
import sys


def main():
    podir = os.path.join(sys.argv[1], "po")
    with open(os.path.join(podir, "LINGUAS"), encoding="utf-8") as f:
        languages = [w for line in f if not line.startswith("#") for w in line.split()]
    failed = False
    for lang in languages:
        r = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull,
                            os.path.join(podir, lang + ".po")],
                           capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
        report = (r.stdout + r.stderr).strip()
        print(f"{lang}: {report}")
        if r.returncode != 0 or "untranslated" in report or "fuzzy" in report:
            failed = True
    if not languages:
        print("po/LINGUAS names no language")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
