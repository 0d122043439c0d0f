#!/usr/bin/python3
# mdpage.py: a page of docs/ as gi-docgen shows it
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The pages of docs/ read well in the repository, where they link each
# other as NAME.md and the repository's files by relative path. For the
# API reference this copies a page with:
#   - each line "<!-- include PATH LANGUAGE -->" replaced by the file PATH
#     (relative to the page) as a code block, so the examples shown are
#     the ones the test suite runs;
#   - links to NAME.md made links to NAME.html;
#   - links to the interface's XML made links to the page generated from
#     it (dbus-md.py), links to the repository's other files plain text
#     (the reference does not contain them).
# A link or an include naming a file that does not exist is an error, as
# is any link that leaves the repository.
#
#   mdpage.py PAGE.md OUTPUT.md

import os
import re
import sys

# Files of the repository that the reference shows as a page of its own
PAGES = {os.path.join("data", "org.freedesktop.BackgroundTransfer.xml"): "dbus.html"}
INCLUDE = re.compile(r"^<!-- include (\S+) (\S+) -->$")
LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")


def convert(page):
    here = os.path.dirname(os.path.abspath(page))
    top = os.path.dirname(here)
    out = []

    def link(m):
        text, target = m.group(1), m.group(2)
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            if target.startswith("mailto:"):
                return m.group(0)
            raise SystemExit(f"{page}: links outside the repository: {target}")
        if target.startswith("#"):
            return m.group(0)
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(here, path))
        if not (resolved + os.sep).startswith(top + os.sep):
            raise SystemExit(f"{page}: links outside the repository: {target}")
        if os.path.dirname(resolved) == here and path.endswith(".md"):
            if not os.path.exists(resolved):
                raise SystemExit(f"{page}: links to {target}, which does not exist")
            return f"[{text}]({path[:-3]}.html{'#' + anchor if anchor else ''})"
        if not os.path.exists(resolved):
            raise SystemExit(f"{page}: links to {target}, which does not exist")
        page_of = PAGES.get(os.path.relpath(resolved, top))
        if page_of is not None:
            return f"[{text}]({page_of}{'#' + anchor if anchor else ''})"
        return text

    fenced = False
    with open(page) as f:
        for line in f:
            if line.startswith("```"):
                fenced = not fenced
            if fenced:
                out.append(line)
                continue
            m = INCLUDE.match(line.strip())
            if m:
                path = os.path.normpath(os.path.join(here, m.group(1)))
                with open(path) as source:
                    code = source.read().rstrip("\n")
                out.append(f"```{m.group(2)}\n{code}\n```\n")
                continue
            out.append(LINK.sub(link, line))
    return "".join(out)


def main(argv):
    if len(argv) != 3:
        print("usage: mdpage.py PAGE.md OUTPUT.md", file=sys.stderr)
        return 2
    text = convert(argv[1])
    with open(argv[2], "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
