"""The host guard: 'the host' is lueur-net's own namespace AND the machine's initial one.

The machine's real interfaces are never touched: a namespace H made by the test plays the initial namespace (the
module's INIT_NETNS points at it, and no kernel thread is consulted), with a veth carrying a default route and
another carrying an address lueur-net did not assign.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.lab import ALLOW_FLAG, Endpoint, Lab, attach, check_fault_target
from lueur_net.lab.safety import interface_facts
from lueur_net.ledger import Ledger


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def state(netns: str) -> list[str]:
    def run(*command: str) -> str:
        return subprocess.run(["nsenter", f"--net=/run/netns/{netns}", *command], capture_output=True, text=True,
                              check=True).stdout

    return [run("tc", "qdisc", "show"), run("tc", "filter", "show"), run("ip", "-o", "link", "show")]


@dataclass
class Host:
    netns: str
    uplink: str  # carries H's default route
    side: str  # carries an address, no default route
    bare: str  # neither


@pytest.fixture
def fake_host(monkeypatch: pytest.MonkeyPatch) -> Iterator[Host]:
    tag = f"{os.getpid() % 100000}"
    host, other = f"lueur-gh-{tag}", f"lueur-gx-{tag}"
    ip("netns", "add", host)
    ip("netns", "add", other)
    try:
        uplink, side, bare = f"lueurgu{tag}", f"lueurgs{tag}", f"lueurgb{tag}"
        ip("link", "add", uplink, "netns", host, "type", "veth", "peer", "name", f"lueurgU{tag}", "netns", other)
        ip("link", "add", side, "netns", host, "type", "veth", "peer", "name", bare, "netns", host)
        for dev in ("lo", uplink, side, bare):
            ip("-n", host, "link", "set", dev, "up")
        ip("-n", host, "addr", "add", "10.252.9.1/24", "dev", uplink)
        ip("-n", host, "addr", "add", "10.252.10.1/24", "dev", side)
        ip("-n", host, "route", "add", "default", "via", "10.252.9.2")
        monkeypatch.setattr(attach, "INIT_NETNS", f"/run/netns/{host}")
        monkeypatch.setattr(attach, "KTHREADD_PID", os.getpid())  # not a kernel thread: only H counts as initial
        yield Host(host, uplink, side, bare)
    finally:
        for name in (host, other):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _endpoint(host: Host, ifname: str) -> Endpoint:
    index = next(fact.ifindex for fact in interface_facts(host.netns) if fact.ifname == ifname)
    return Endpoint(host.netns, ifname, index, "", owned=False)


def test_the_initial_namespace_is_the_host_s_even_when_lueur_net_runs_elsewhere(fake_host: Host,
                                                                               journal: Ledger) -> None:
    before = state(fake_host.netns)
    with pytest.raises(BadInput) as raised:
        Lab.attach(fake_host.netns, ["http://10.252.9.2/"], journal)
    message = raised.value.message
    assert message.startswith(f"{fake_host.netns} is the machine's initial network namespace"), message
    assert f"{fake_host.uplink} carries its default route and has 10.252.9.1/24" in message
    assert f"{fake_host.side} has 10.252.10.1/24" in message
    assert raised.value.exit_code == 2 and raised.value.hint is not None and ALLOW_FLAG in raised.value.hint
    with pytest.raises(BadInput, match="initial network namespace"):
        attach.attach(f"/run/netns/{fake_host.netns}")  # the dry run's resolution refuses it too
    assert state(fake_host.netns) == before
    with Lab.attach(fake_host.netns, ["http://10.252.9.2/"], journal, allow_host_interface=True) as lab:
        assert lab.paths["http://10.252.9.2/"].client.ifname == fake_host.uplink
        assert lab.paths["http://10.252.9.2/"].server.ifindex == 0  # no peer looked up on a host


def test_each_host_interface_is_refused_with_what_ties_it_to_the_host(fake_host: Host) -> None:
    cases = [(fake_host.uplink, "default-route interface"),
             (fake_host.side, r"addresses lueur-net did not assign \(10\.252\.10\.1/24\)"),
             (fake_host.bare, "it is a host interface lueur-net did not create\n")]
    for ifname, reason in cases:
        endpoint = _endpoint(fake_host, ifname)
        with pytest.raises(BadInput, match=reason) as raised:
            check_fault_target(endpoint)
        assert raised.value.message.startswith(f"refusing to put a fault on {ifname} in {fake_host.netns}: ")
        check_fault_target(endpoint, allow_host_interface=True)


def test_an_initial_namespace_that_cannot_be_read_is_an_environment_problem(fake_host: Host,
                                                                            journal: Ledger) -> None:
    attach.INIT_NETNS = "/proc/999999999/ns/net"  # monkeypatched by the fixture, so restored afterwards
    with pytest.raises(EnvironmentProblem) as raised:
        Lab.attach(fake_host.netns, [], journal)
    assert raised.value.message.startswith(f"cannot tell whether {fake_host.netns} is the host's network namespace")
    assert raised.value.exit_code == 3 and raised.value.hint is not None and ALLOW_FLAG in raised.value.hint
    with Lab.attach(fake_host.netns, [], journal, allow_host_interface=True) as lab:
        assert lab.host_path.client.ifname == fake_host.uplink
