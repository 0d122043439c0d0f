# clitool.py: running the bgtransfer CLI in a locale, and what its
# messages say there
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import gettext
import locale
import os
import subprocess

from bgtharness import BUILDDIR, require

CLI = os.path.join(BUILDDIR, "libbgtransfer", "tools", "bgtransfer")
# The translations the build made: a locale directory of their own
LOCALEDIR = os.path.join(BUILDDIR, "po")
LOCALES = ["C.UTF-8", "zh_CN.UTF-8"]


def locale_available(name):
    try:
        old = locale.setlocale(locale.LC_ALL)
        locale.setlocale(locale.LC_ALL, name)
        locale.setlocale(locale.LC_ALL, old)
        return True
    except locale.Error:
        return False


def require_locale(name):
    require(locale_available(name),
            f"the {name} locale is not generated (tools/install-deps.sh does it)")


class Messages:
    """The CLI's messages as a user of @lang reads them. In zh_CN every
    message asked for must be translated (and differ from its English)."""

    def __init__(self, lang):
        self.lang = lang
        self.translated = not lang.startswith("C")
        if self.translated:
            self.catalog = gettext.translation("bgtransfer", LOCALEDIR,
                                               languages=[lang.split(".")[0]])
        else:
            self.catalog = gettext.NullTranslations()

    def __call__(self, msgid, context=None):
        text = (self.catalog.pgettext(context, msgid) if context
                else self.catalog.gettext(msgid))
        if self.translated:
            assert text != msgid, f"not translated into {self.lang}: {msgid!r}"
        return text

    def before(self, msgid, context=None):
        """The text of a message up to its first conversion (%s, %d)."""
        return self(msgid, context).split("%")[0].strip()


def cli_env(base, lang, app_id):
    return dict(base, BGTRANSFER_APP_ID=app_id, LC_ALL=lang, LANG=lang,
                BGTRANSFER_LOCALEDIR=LOCALEDIR)


def make_runner(env):
    def run(*args, check=None, timeout=120, extra_env=None, **kwargs):
        r = subprocess.run([CLI, *args], env=dict(env, **(extra_env or {})),
                           capture_output=True, text=True, timeout=timeout, **kwargs)
        if check is not None:
            assert r.returncode == check, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r
    run.env = env
    return run
