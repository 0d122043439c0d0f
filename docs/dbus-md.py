#!/usr/bin/python3
# dbus-md.py: the D-Bus interface reference, in Markdown, from the XML
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Reads data/org.freedesktop.BackgroundTransfer.xml and its doc comments
# (gdbus-codegen's format: a comment before each element, starting with the
# element's name and a colon, "@arg: text" for each argument, then the
# text) and writes the page that gi-docgen shows as "D-Bus interface".
# GLib 2.74's `gdbus-codegen --generate-rst` drops the first line of a
# multi-line argument doc, and gi-docgen renders only Markdown: hence this.
# An interface, method, signal, property or argument without a doc comment
# is an error.
#
#   dbus-md.py INTERFACE.xml OUTPUT.md

import re
import sys
import textwrap
import xml.etree.ElementTree as ET


def comment_before(parent, element):
    """The comment that comes right before element among parent's children."""
    previous = None
    for child in parent:
        if child is element:
            break
        previous = child
    if previous is not None and previous.tag is ET.Comment and not (previous.tail or "").strip():
        return previous.text
    return None


def parse_doc(text, name):
    """(short description, {arg: text}, body) of a doc comment that starts
    with name followed by a colon."""
    text = textwrap.dedent(text.strip("\n"))
    head, sep, rest = text.partition(":")
    if head.strip() != name or not sep:
        raise SystemExit(f"dbus-md: the comment before {name} starts with {head.strip()!r}")
    lines = rest.splitlines()
    first = lines[0].strip()
    lines = textwrap.dedent("\n".join(lines[1:])).splitlines()
    if first:
        lines.insert(0, first)
    short, args, body = "", {}, []
    current = None
    for i, line in enumerate(lines):
        m = re.match(r"@(\w+):\s*(.*)$", line)
        if m:
            if m.group(1) == "short_description":
                short = m.group(2)
                current = None
                continue
            current = m.group(1)
            args[current] = [m.group(2)]
            continue
        if current is not None and (line.startswith(" ") or not line.strip()):
            # A continuation of the argument: indented, or a blank line
            # that more indented lines follow
            following = next((lt for lt in lines[i + 1:] if lt.strip()), "")
            if line.strip() or following.startswith(" "):
                args[current].append(line)
                continue
        current = None
        body.append(line)
    args = {k: escape(render_arg(v)) for k, v in args.items()}
    return short, args, escape("\n".join(body).strip())


def render_arg(lines):
    first, rest = lines[0], textwrap.dedent("\n".join(lines[1:]))
    # Continuation lines of the first sentence join it; a list starts after
    # a blank line
    para, _, tail = rest.partition("\n\n")
    if para and not para.lstrip().startswith("*"):
        first = " ".join([first] + [p.strip() for p in para.splitlines()])
        rest = tail
    return (first + ("\n\n" + rest.strip("\n") if rest.strip() else "")).strip()


def escape(text):
    """Angle brackets outside code spans are text, not HTML."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def conventions(node, tree_root_comments):
    """The file's leading comment after its title and SPDX lines, with the
    blank lines Markdown needs before a list and around the error names."""
    text = textwrap.dedent(tree_root_comments.strip("\n"))
    lines = [lt for lt in text.splitlines() if "SPDX-License-Identifier" not in lt]
    while lines and (not lines[0].strip() or "version 1" in lines[0]):
        lines.pop(0)
    out, in_names = [], False
    for line in lines:
        # An indented D-Bus name alone on its line: one of the error names
        is_name = re.fullmatch(r"\s+[a-z]+(\.[A-Za-z]+)+", line) is not None
        previous = out[-1] if out else ""
        starts_list = line.startswith("- ") and not previous.startswith(("- ", "  "))
        if (starts_list or is_name != in_names) and previous.strip():
            out.append("")
        out.append(f"- `{line.strip()}`" if is_name else escape(line))
        in_names = is_name
    return "\n".join(out)


def doc_of(parent, element, name, where):
    text = comment_before(parent, element)
    if text is None:
        raise SystemExit(f"dbus-md: {where} has no doc comment")
    return parse_doc(text, name)


def markdown(xml_path):
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    tree = ET.parse(xml_path, parser)
    node = tree.getroot()
    # ElementTree keeps no comment outside the root element: read the
    # leading one from the text
    with open(xml_path) as f:
        m = re.search(r"<!--(.*?)-->\s*<node", f.read(), re.S)
    if m is None:
        raise SystemExit("dbus-md: no comment before <node> describes the interface")
    out = ["Title: D-Bus interface", "",
           "# D-Bus interface", "",
           "This page is generated from `org.freedesktop.BackgroundTransfer.xml`, "
           "which the service is built from and installs to "
           "`$datadir/dbus-1/interfaces`. What the members mean together — "
           "statuses, errors, retries, policy, isolation — is in the "
           "[contract](contract.html).", "",
           "## Conventions and errors", "", conventions(node, m.group(1)), ""]
    for iface in node.findall("interface"):
        name = iface.get("name")
        short, _, body = doc_of(node, iface, name, f"interface {name}")
        out += [f"## {name}", "", f"{short}.", "", body, ""]
        for kind, title in (("method", "Methods"), ("signal", "Signals")):
            members = iface.findall(kind)
            if not members:
                continue
            out += [f"### {title}", ""]
            for member in members:
                mname = member.get("name")
                where = f"{kind} {name}.{mname}"
                _, args, mbody = doc_of(iface, member, mname, where)
                params = []
                for arg in member.findall("arg"):
                    direction = arg.get("direction", "in" if kind == "method" else "")
                    params.append(f"{direction.upper() + ' ' if direction else ''}"
                                  f"{arg.get('type')} {arg.get('name')}")
                out += [f"#### {mname}", "", "```", f"{mname} ({', '.join(params)})", "```", ""]
                for arg in member.findall("arg"):
                    aname = arg.get("name")
                    if aname not in args:
                        raise SystemExit(f"dbus-md: argument {aname} of {where} has no doc")
                    out += [f"`{aname}` (`{arg.get('type')}`): {args[aname]}", ""]
                unknown = set(args) - {a.get("name") for a in member.findall("arg")}
                if unknown:
                    raise SystemExit(f"dbus-md: {where} documents no such argument {unknown}")
                if mbody:
                    out += [mbody, ""]
        props = iface.findall("property")
        if props:
            out += ["### Properties", "", "| property | type | access | meaning |",
                    "|---|---|---|---|"]
            for prop in props:
                pname = prop.get("name")
                _, _, pbody = doc_of(iface, prop, pname, f"property {name}:{pname}")
                pbody = " ".join(pbody.split())
                out.append(f"| `{pname}` | `{prop.get('type')}` | {prop.get('access')} | {pbody} |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def main(argv):
    if len(argv) != 3:
        print("usage: dbus-md.py INTERFACE.xml OUTPUT.md", file=sys.stderr)
        return 2
    text = markdown(argv[1])
    with open(argv[2], "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
