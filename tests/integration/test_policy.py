# test_policy.py: the cost-policy matrix and power awareness, end to end
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# NetworkManager, UPower, power-profiles-daemon and ModemManager are played
# by python-dbusmock on a private system bus; the service follows them
# through GNetworkMonitor, GPowerProfileMonitor and its own proxies. The
# downloads come from a rate-limited nginx location so that they are in
# flight when the state changes.

import os
import time

import pytest
from bgtharness import (Bgt, Gio, GLib, MockModemManager, MockNetworkManager, MockPowerProfiles,
                        MockUPower, ServiceBus, SystemBus, call, sha256_file, wait_for)

S = Bgt.Status
P = Bgt.CostPolicy
POLICIES = [P.UNRESTRICTED_ONLY, P.DEFAULT, P.ALWAYS]


class World:
    def __init__(self, tmp_path, settings):
        self.system = SystemBus(tmpdir=str(tmp_path / "system"))
        self.nm = MockNetworkManager(self.system)
        self.upower = MockUPower(self.system)
        self.ppd = MockPowerProfiles(self.system)
        self.mm = MockModemManager(self.system)
        self.settings = settings
        self.session = str(tmp_path / "session")
        self.bus = None

    def start(self, settings=None):
        self.bus = ServiceBus(settings=dict(self.settings, **(settings or {})),
                              tmpdir=self.session,
                              env={"DBUS_SYSTEM_BUS_ADDRESS": self.system.address})
        self.client = self.bus.client("org.example.Policy")
        return self

    def manager_property(self, name):
        reply = self.client.get_connection().call_sync(
            "org.freedesktop.BackgroundTransfer", "/org/freedesktop/BackgroundTransfer",
            "org.freedesktop.DBus.Properties", "Get",
            GLib.Variant("(ss)", ("org.freedesktop.BackgroundTransfer.Manager", name)), None,
            Gio.DBusCallFlags.NONE, -1, None)
        return reply.unpack()[0]

    def wait_network_state(self, state):
        wait_for(lambda: self.manager_property("NetworkState") == state, 20,
                 f"NetworkState {state}")

    def download(self, nginx, name, cost_policy=P.DEFAULT, priority=Bgt.Priority.DEFAULT,
                 path="slow/medium.bin"):
        d = Bgt.Downloader.new(self.client)
        d.set_cost_policy(cost_policy)
        d.set_priority(priority)
        t = call(d, "create_download", nginx.url(path),
                 Gio.File.new_for_path(os.path.join(self.session, name)))
        t.dest = os.path.join(self.session, name)
        return t

    def close(self):
        if self.bus is not None:
            self.bus.close()
        self.system.close()


@pytest.fixture
def world(tmp_path, service_settings):
    w = World(tmp_path, service_settings)
    yield w
    w.close()


def settled(t, status, timeout=20):
    wait_for(lambda: t.props.status == status, timeout,
             f"{t.get_uri()} ({t.props.cost_policy.value_nick}) to be {status.value_nick}")


def completes(nginx, t):
    assert call(t, "wait"), t.props.error_message
    assert sha256_file(t.dest) == nginx.files["medium.bin"]


def usage_over_limit(session):
    """A metered data budget already spent this period."""
    path = os.path.join(session, "state", "bgtransfer")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "metered-usage"), "w") as f:
        f.write(f"[metered]\nperiod-start={int(time.time() * 1e6) - 10**6}\nbytes=5000000\n")


# state → how to produce it, and what each policy does (docs/contract.md, exactly)
MATRIX = {
    "unrestricted": ((), {}, ["run", "run", "run"]),
    "metered": (("metered",), {}, ["pause", "run", "run"]),
    "metered-over-limit": (("metered", "spent"), {"metered-data-limit": "1000000"},
                           ["pause", "pause", "run"]),
    "roaming": (("roaming",), {}, ["pause", "pause", "run"]),
    "background-restricted": ((), {"restrict-background-data": "true"},
                              ["pause", "pause", "pause"]),
}


@pytest.mark.parametrize("state", list(MATRIX))
def test_cost_policy_matrix(world, nginx, state):
    how, settings, expected = MATRIX[state]
    if "metered" in how:
        world.nm.set_metered(True)
    if "roaming" in how:
        world.mm.set_roaming(True)
    if "spent" in how:
        usage_over_limit(world.session)
    world.start(settings)
    world.wait_network_state(state)

    transfers = [world.download(nginx, f"{p.value_nick}.bin", p) for p in POLICIES]
    for t, verdict in zip(transfers, expected):
        if verdict == "run":
            wait_for(lambda: t.props.bytes_received > 0, 20, f"{t.props.cost_policy} to run")
            assert t.props.status in (S.RUNNING, S.COMPLETED)
        else:
            settled(t, S.PAUSED_COSTED_NETWORK)
            assert t.props.bytes_received == 0
            assert t.props.attempts == 0

    # The state clears: everything resumes by itself and completes
    world.nm.set_metered(False)
    world.mm.set_roaming(False)
    if settings:
        world.bus.settings = {}
        world.bus.write_settings()
    world.wait_network_state("unrestricted")
    for t in transfers:
        completes(nginx, t)


def test_a_running_transfer_pauses_and_resumes_from_its_data(world, nginx):
    world.start()
    t = world.download(nginx, "m.bin", P.UNRESTRICTED_ONLY)
    wait_for(lambda: t.props.bytes_received > 512 * 1024, 20, "progress")
    world.nm.set_metered(True)
    settled(t, S.PAUSED_COSTED_NETWORK)
    held_at = t.props.bytes_received
    world.nm.set_metered(False)
    completes(nginx, t)
    ranged = [l for l in nginx.access_log() if "/slow/medium.bin " in l and 'range="bytes=' in l]
    assert ranged, "resumed with a Range request"
    assert int(ranged[-1].split('range="bytes=')[1].split("-")[0]) <= held_at


def test_set_cost_policy_takes_effect_at_once(world, nginx):
    world.nm.set_metered(True)
    world.start()
    world.wait_network_state("metered")
    t = world.download(nginx, "m.bin", P.UNRESTRICTED_ONLY)
    settled(t, S.PAUSED_COSTED_NETWORK)
    call(t, "set_cost_policy", P.ALWAYS)
    wait_for(lambda: t.props.bytes_received > 0, 10, "running at once")
    # …and back: a running transfer the new policy forbids stops
    call(t, "set_cost_policy", P.UNRESTRICTED_ONLY)
    settled(t, S.PAUSED_COSTED_NETWORK)
    call(t, "set_cost_policy", P.DEFAULT)
    completes(nginx, t)


@pytest.mark.parametrize("service_settings", [{"metered-data-limit": "1500000"}], indirect=True)
def test_metered_data_budget(world, nginx):
    world.nm.set_metered(True)
    world.start()
    world.wait_network_state("metered")
    thrifty = world.download(nginx, "default.bin", P.DEFAULT)
    always = world.download(nginx, "always.bin", P.ALWAYS)
    # Past 1.5 MB moved while metered, the budget is spent
    world.wait_network_state("metered-over-limit")
    settled(thrifty, S.PAUSED_COSTED_NETWORK)
    assert 0 < thrifty.props.bytes_received < 4 * 1024 * 1024
    completes(nginx, always)
    assert thrifty.props.status == S.PAUSED_COSTED_NETWORK
    # Off the metered network the rest comes
    world.nm.set_metered(False)
    completes(nginx, thrifty)


def test_power_saver(world, nginx):
    world.start()
    assert world.manager_property("PowerState") == "normal"
    normal = world.download(nginx, "default.bin", priority=Bgt.Priority.DEFAULT)
    urgent = world.download(nginx, "high.bin", priority=Bgt.Priority.HIGH)
    wait_for(lambda: normal.props.bytes_received > 0, 20, "progress")
    world.ppd.set_profile("power-saver")
    wait_for(lambda: world.manager_property("PowerState") == "power-saver", 20, "power-saver")
    settled(normal, S.PAUSED_SYSTEM_POLICY)
    assert urgent.props.status in (S.RUNNING, S.COMPLETED)
    completes(nginx, urgent)
    assert normal.props.status == S.PAUSED_SYSTEM_POLICY
    world.ppd.set_profile("balanced")
    completes(nginx, normal)


def test_battery_low(world, nginx):
    world.start()
    low = world.download(nginx, "low.bin", priority=Bgt.Priority.LOW)
    urgent = world.download(nginx, "high.bin", priority=Bgt.Priority.HIGH)
    wait_for(lambda: low.props.bytes_received > 0, 20, "progress")
    world.upower.set_battery(on_battery=True, percentage=5.0)
    wait_for(lambda: world.manager_property("PowerState") == "battery-low", 20, "battery-low")
    settled(low, S.PAUSED_SYSTEM_POLICY)
    completes(nginx, urgent)
    # Plugged in: it goes on, even though the charge is still low
    world.upower.set_battery(on_battery=False, percentage=5.0)
    completes(nginx, low)


def test_created_while_forbidden_waits_without_attempts(world, nginx):
    world.mm.set_roaming(True)
    world.start()
    world.wait_network_state("roaming")
    t = world.download(nginx, "m.bin", P.DEFAULT)
    settled(t, S.PAUSED_COSTED_NETWORK)
    assert t.props.attempts == 0
    world.mm.set_roaming(False)
    completes(nginx, t)
    assert t.props.attempts == 1


def test_network_state_changes_are_signalled(world):
    world.start()
    changes = []
    conn = world.client.get_connection()
    conn.signal_subscribe("org.freedesktop.BackgroundTransfer", "org.freedesktop.DBus.Properties",
                          "PropertiesChanged", "/org/freedesktop/BackgroundTransfer", None,
                          Gio.DBusSignalFlags.NONE,
                          lambda *a: changes.append(a[5].unpack()[1]))
    world.nm.set_metered(True)
    wait_for(lambda: any(c.get("NetworkState") == "metered" for c in changes), 20,
             "a PropertiesChanged with NetworkState")


def test_why_a_transfer_waits(world, nginx):
    """The reason is machine-readable: the library's client says the
    network state, and `bgtransfer show` prints it."""
    import subprocess
    from bgtharness import BUILDDIR
    world.mm.set_roaming(True)
    world.start()
    world.wait_network_state("roaming")
    t = world.download(nginx, "m.bin", P.DEFAULT)
    settled(t, S.PAUSED_COSTED_NETWORK)
    wait_for(lambda: world.client.props.network_state == Bgt.NetworkState.ROAMING, 10,
             "the client's state")
    assert world.client.props.power_state == Bgt.PowerState.NORMAL
    r = subprocess.run([os.path.join(BUILDDIR, "libbgtransfer", "tools", "bgtransfer"), "show",
                        t.get_id()], env=dict(world.bus.env, BGTRANSFER_APP_ID="org.example.Policy"),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "Status: paused-costed-network" in r.stdout
    assert "Waiting because: roaming" in r.stdout
    world.mm.set_roaming(False)
    wait_for(lambda: world.client.props.network_state == Bgt.NetworkState.UNRESTRICTED, 10,
             "the notify")
    completes(nginx, t)
