# test_i18n.py: a Chinese-speaking user gets the CLI in Chinese
#
# The zh_CN catalog is complete (no message equal to its English), and
# what the CLI prints in zh_CN.UTF-8 (help of every command, usage
# errors, the service's unreachability) contains no English message.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import gettext
import os
import re
import subprocess

import pytest
from bgtharness import SRCDIR, Bgt
from clitool import CLI, LOCALEDIR, Messages, require_locale

ZH = "zh_CN.UTF-8"


def catalog():
    return gettext.translation("bgtransfer", LOCALEDIR, languages=["zh_CN"])._catalog


def english_messages():
    """The English of every message that is a phrase (words, not a lone
    name such as "URI"), cut at its conversions."""
    phrases = set()
    for key in catalog():
        msgid = key[0] if isinstance(key, tuple) else key
        msgid = msgid.split("\x04")[-1]
        for chunk in re.split(r"%[a-z]|\n", msgid):
            chunk = chunk.strip(" :;.,()“”'")
            if " " in chunk and len(chunk) >= 8:
                phrases.add(chunk)
    return phrases


def run_cli(*args, lang=ZH, **env):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL,
                          env=dict(os.environ, LC_ALL=lang, LANG=lang,
                                   BGTRANSFER_LOCALEDIR=LOCALEDIR, **env))


def test_every_message_is_translated():
    missing = []
    for key, text in catalog().items():
        if key == "":
            continue
        msgid = (key[0] if isinstance(key, tuple) else key).split("\x04")[-1]
        if not text or text == msgid:
            missing.append(msgid)
    assert not missing, missing
    with open(os.path.join(SRCDIR, "po", "LINGUAS")) as f:
        assert "zh_CN" in f.read().split()


def test_msgfmt_reports_nothing_untranslated_or_fuzzy():
    r = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull,
                        os.path.join(SRCDIR, "po", "zh_CN.po")],
                       capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
    assert r.returncode == 0, r.stderr
    assert "untranslated" not in r.stderr and "fuzzy" not in r.stderr, r.stderr
    assert "translated message" in r.stderr


def chinese_outputs():
    commands = re.findall(r"^  ([a-z][a-z-]*) ", run_cli("--help", lang="C.UTF-8").stdout, re.M)
    assert "set-priority" in commands and "monitor" in commands
    results = [run_cli("--help")] + [run_cli(c, "--help") for c in commands]
    results += [
        run_cli("frobnicate"),
        run_cli("download"),
        run_cli("download", "--priority=urgent", "http://127.0.0.1/x"),
        run_cli("download", "--limit-rate=fast", "http://127.0.0.1/x"),
        run_cli("download", "-u", "bob", "http://127.0.0.1/x"),
        run_cli("group", "g", "sideways"),
        run_cli("list", DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent/bus"),
    ]
    return results


def test_cli_output_in_chinese_has_no_english_message():
    require_locale(ZH)
    english = english_messages()
    assert len(english) > 100
    for r in chinese_outputs():
        text = r.stdout + r.stderr
        assert re.search(r"[\u4e00-\u9fff]", text), text  # Chinese indeed
        found = [e for e in english if e in text]
        assert not found, f"English in the Chinese output: {found}\n{text}"


def test_language_alone_is_ignored_in_the_c_locale():
    """LANGUAGE picks a translation only in a real locale: in the C locale
    it is ignored (gettext's rule), so LANG=zh_CN.UTF-8 is what to set."""
    r = run_cli("frobnicate", lang="C", LANGUAGE="zh_CN")
    assert "unknown command" in r.stderr
    require_locale(ZH)
    assert Messages(ZH)("unknown command “%s”").split("“")[0] in run_cli("frobnicate").stderr


def test_library_describes_every_error_status():
    descriptions = {Bgt.error_status_get_description(v)
                    for v in Bgt.ErrorStatus.__enum_values__.values()}
    assert None not in descriptions and "" not in descriptions
    assert len(descriptions) == len(Bgt.ErrorStatus.__enum_values__)
    assert Bgt.error_status_get_description(Bgt.ErrorStatus.NOT_FOUND) == \
        "The file was not found on the server"
