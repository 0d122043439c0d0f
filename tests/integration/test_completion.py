# test_completion.py: bash, zsh and fish each load bgtransfer's completion
# and are asked for the commands and for a transfer id of the app
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shutil
import subprocess

import pytest
from bgtharness import SRCDIR, Bgt, Gio, call, require
from clitool import CLI

APP = "org.example.Completion"
BASH = os.path.join(SRCDIR, "libbgtransfer", "tools", "bgtransfer.bash-completion")
ZSH_DIR = os.path.join(SRCDIR, "data", "completions")
FISH = os.path.join(SRCDIR, "data", "completions", "bgtransfer.fish")


@pytest.fixture
def ids(bus, nginx, dest_dir):
    """Two transfers of APP (not started), one of another app."""
    def create(app, name):
        downloader = Bgt.Downloader.new(bus.client(app))
        downloader.set_start(False)
        return call(downloader, "create_download", nginx.url("small.txt"),
                    Gio.File.new_for_path(str(dest_dir / name))).get_id()
    mine = sorted(create(APP, f"mine{i}") for i in range(2))
    create("org.example.Else", "theirs")
    return mine


@pytest.fixture
def env(bus):
    return dict(bus.env, BGTRANSFER_APP_ID=APP, LC_ALL="C.UTF-8",
                PATH=os.path.dirname(CLI) + os.pathsep + os.environ.get("PATH", ""))


def shell(name):
    require(shutil.which(name) is not None, f"{name} is not installed")
    return name


def run(argv, env):
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


# ---- bash (with bash-completion's helpers loaded) -------------------------

def bash_complete(env, *words):
    line = " ".join(words)
    script = f"""
[ -f /usr/share/bash-completion/bash_completion ] && source /usr/share/bash-completion/bash_completion
source {BASH}
COMP_WORDS=({' '.join(repr(w) if w else "''" for w in words)})
COMP_CWORD={len(words) - 1}
COMP_LINE={line!r}
COMP_POINT={len(line)}
_bgtransfer bgtransfer {words[-1]!r} {words[-2]!r}
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    return sorted(w for w in run([shell("bash"), "--norc", "--noprofile", "-c", script],
                                 env).splitlines() if w)


def test_bash(env, ids):
    assert bash_complete(env, "bgtransfer", "set-") == \
        ["set-cost-policy", "set-priority", "set-uri"]
    assert bash_complete(env, "bgtransfer", "start", "") == ids
    assert bash_complete(env, "bgtransfer", "set-priority", ids[0], "h") == ["high"]
    assert "--limit-rate=" in bash_complete(env, "bgtransfer", "download", "--li")


# ---- zsh: compinit finds it on fpath; compadd records the candidates ------

def zsh_complete(env, *words):
    prefix = words[-1]
    script = f"""
fpath=({ZSH_DIR} $fpath)
autoload -U compinit && compinit -u -D
[[ $_comps[bgtransfer] == _bgtransfer ]] || {{ print -u2 "not registered: $_comps[bgtransfer]"; exit 1 }}
# What the completion offers, as compadd and _describe would get it
compadd() {{
  local -a out; local from_array=0
  while (( $# )); do
    case $1 in
      --) shift; out+=("$@"); break ;;
      -a) from_array=1; shift ;;
      -[SPJXdtVx]) shift 2 ;;
      -*) shift ;;
      *) out+=("$@"); break ;;
    esac
  done
  if (( from_array )); then for a in $out; do print -rl -- ${{(P)a}}; done
  else print -rl -- $out; fi
}}
_describe() {{ local name=${{@[-1]}}; for c in ${{(P)name}}; do print -r -- ${{c%%:*}}; done }}
_files() {{ }}
words=({' '.join(repr(w) if w else "''" for w in words)})
CURRENT={len(words)}
PREFIX={prefix!r}
_bgtransfer
"""
    out = run([shell("zsh"), "-f", "-c", script], env).splitlines()
    # zsh itself keeps what starts with what is typed
    return sorted(w for w in out if w and w.startswith(prefix))


def test_zsh(env, ids):
    assert zsh_complete(env, "bgtransfer", "set-") == \
        ["set-cost-policy", "set-priority", "set-uri"]
    assert zsh_complete(env, "bgtransfer", "pa") == ["pause"]
    assert zsh_complete(env, "bgtransfer", "pause", "") == ids
    assert zsh_complete(env, "bgtransfer", "show", "--app-id", APP, "") == ids
    assert zsh_complete(env, "bgtransfer", "group", "photos", "s") == ["serialized"]
    assert "--mirror=" in zsh_complete(env, "bgtransfer", "download", "--mi")
    assert zsh_complete(env, "bgtransfer", "pause", "--app-id=org.example.Nobody", "") == []


# ---- fish: its own completion engine, complete -C -------------------------

def fish_complete(env, line):
    out = run([shell("fish"), "--no-config", "-c", f"source {FISH}; complete -C {line!r}"], env)
    return sorted(w.split("\t")[0] for w in out.splitlines() if w)


def test_fish(env, ids):
    assert fish_complete(env, "bgtransfer set-") == ["set-cost-policy", "set-priority", "set-uri"]
    assert fish_complete(env, "bgtransfer re") == ["remove", "resume"]
    assert fish_complete(env, "bgtransfer cancel ") == ids
    assert fish_complete(env, "bgtransfer set-cost-policy x ") == \
        ["always", "default", "unrestricted-only"]
    assert "--if-changed" in fish_complete(env, "bgtransfer download --if")
    assert fish_complete(env, "bgtransfer pause --app-id=org.example.Nobody ") == []
