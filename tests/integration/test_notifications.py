# test_notifications.py: the desktop notifications of finished transfers,
# against python-dbusmock's notification daemon, in the service's locale
#
# The service's own texts when the app gives none (naming the file, and on
# failure the reason in words), the actions "Open" and "Show in Files" of
# a completed download, the desktop-entry hint, and what "Show in Files"
# does: org.freedesktop.FileManager1.ShowItems, here a dbusmock mock.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import subprocess
import sys

import pytest
from bgtharness import GLib, Gio, ServiceBus, wait_for
from clitool import LOCALES, Messages, cli_env, make_runner, require_locale
from test_features import notifications  # noqa: F401 (the fixture, on this module's bus)

APP = "org.example.Notified"
FILE_MANAGER = "org.freedesktop.FileManager1"
FILE_MANAGER_PATH = "/org/freedesktop/FileManager1"


@pytest.fixture(params=LOCALES, ids=["C", "zh_CN"])
def bus(request, tmp_path):
    """The service runs in the locale of the test: its texts are in it."""
    require_locale(request.param)
    svc = ServiceBus(tmpdir=str(tmp_path / "session"),
                     env={"LC_ALL": request.param, "LANG": request.param})
    svc.lang = request.param
    yield svc
    svc.close()


@pytest.fixture
def msg(bus):
    return Messages(bus.lang)


@pytest.fixture
def cli(bus):
    return make_runner(cli_env(bus.env, bus.lang, APP))


@pytest.fixture
def file_manager(bus):
    """A mocked org.freedesktop.FileManager1 that records its calls."""
    proc = subprocess.Popen([sys.executable, "-m", "dbusmock", FILE_MANAGER, FILE_MANAGER_PATH,
                             FILE_MANAGER], env=dict(bus.env, DBUS_SESSION_BUS_ADDRESS=bus.address),
                            stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: bus.has_owner(FILE_MANAGER), 20, "the file manager mock")
        mock_call(bus, FILE_MANAGER, FILE_MANAGER_PATH, "AddMethod",
                  GLib.Variant("(sssss)", (FILE_MANAGER, "ShowItems", "ass", "", "")))

        def calls():
            reply = mock_call(bus, FILE_MANAGER, FILE_MANAGER_PATH, "GetCalls")
            return [(method, args) for _, method, args in reply.unpack()[0]]
        yield calls
    finally:
        proc.terminate()
        proc.wait(10)


def mock_call(bus, name, path, method, args=None):
    return bus.conn.call_sync(name, path, "org.freedesktop.DBus.Mock", method, args, None,
                              Gio.DBusCallFlags.NONE, 10000, None)


def test_completed_download_default_texts_actions_and_hint(bus, cli, msg, notifications,
                                                            nginx, dest_dir):
    dest = dest_dir / "photo.jpg"
    cli("download", "--notify", nginx.url("small.txt"), str(dest), check=0)
    wait_for(lambda: len(notifications()) == 1, 10, "the notification")
    app_name, replaces, icon, summary, body, actions, hints, timeout = notifications()[0]
    assert summary == msg("Download complete")
    assert body == msg("“%s” is ready.") % "photo.jpg"
    assert actions == ["open", msg("Open"), "show-in-files", msg("Show in Files")]
    assert hints.get("desktop-entry") == APP


def test_failure_names_the_reason_in_words(bus, cli, msg, notifications, nginx, dest_dir):
    cli("download", "--notify", nginx.url("nothing-here.bin"), str(dest_dir / "gone.bin"),
        check=1)
    wait_for(lambda: len(notifications()) == 1, 10, "the notification")
    _, _, _, summary, body, actions, hints, _ = notifications()[0]
    assert summary == msg("Download failed")
    assert body == msg("“%s” could not be downloaded: %s.") % (
        "gone.bin", msg("The file was not found on the server"))
    assert actions == []  # nothing to open
    assert hints.get("desktop-entry") == APP


def test_app_texts_from_the_command_line(bus, cli, notifications, nginx, dest_dir):
    cli("download", "--notify-success=Fetched\nAll good", "--notify-failure=Oops",
        nginx.url("small.txt"), str(dest_dir / "s.txt"), check=0)
    cli("download", "--notify-success=Fetched", "--notify-failure=Oops\nIt broke",
        nginx.url("nothing-here.bin"), str(dest_dir / "n.bin"), check=1)
    wait_for(lambda: len(notifications()) == 2, 10, "two notifications")
    texts = sorted((c[3], c[4]) for c in notifications())
    assert texts == [("Fetched", "All good"), ("Oops", "It broke")]


def test_show_in_files_calls_the_file_manager(bus, cli, notifications, file_manager, nginx,
                                              dest_dir):
    dest = dest_dir / "shown.txt"
    cli("download", "--notify", nginx.url("small.txt"), str(dest), check=0)
    wait_for(lambda: len(notifications()) == 1, 10, "the notification")
    # The daemon template numbers its notifications from 1
    mock_call(bus, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
              "EmitSignal", GLib.Variant("(sssav)", (
                  "org.freedesktop.Notifications", "ActionInvoked", "us",
                  [GLib.Variant("u", 1), GLib.Variant("s", "show-in-files")])))
    wait_for(lambda: file_manager(), 10, "a call to the file manager")
    assert file_manager() == [("ShowItems", [[dest.as_uri()], ""])]

    # Once closed, its actions are forgotten
    mock_call(bus, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
              "EmitSignal", GLib.Variant("(sssav)", (
                  "org.freedesktop.Notifications", "NotificationClosed", "uu",
                  [GLib.Variant("u", 1), GLib.Variant("u", 2)])))
    mock_call(bus, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
              "EmitSignal", GLib.Variant("(sssav)", (
                  "org.freedesktop.Notifications", "ActionInvoked", "us",
                  [GLib.Variant("u", 1), GLib.Variant("s", "show-in-files")])))
    bus.conn.call_sync("org.freedesktop.BackgroundTransfer", "/org/freedesktop/BackgroundTransfer",
                       "org.freedesktop.DBus.Peer", "Ping", None, None,
                       Gio.DBusCallFlags.NONE, 10000, None)  # the service has seen the signals
    assert len(file_manager()) == 1
