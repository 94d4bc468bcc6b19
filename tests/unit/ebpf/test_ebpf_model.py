"""Pure parts of the eBPF backend: scope/window validation, map encodings, struct layouts vs the objects."""

from __future__ import annotations

import ctypes
import socket
from types import SimpleNamespace

import pytest

from lueur_net.dataplane.ebpf import maps
from lueur_net.dataplane.ebpf.backend import FOREVER_NS, monotonic_windows
from lueur_net.dataplane.ebpf.faults import KINDS, default_police_burst, object_path
from lueur_net.dataplane.ebpf.model import (
    PROBABILITY_ONE,
    Hook,
    PortRange,
    Rule,
    Scope,
    Timing,
    Window,
    threshold,
)
from lueur_net.errors import BadInput

PARAMS = {
    "loss": maps.LossParams,
    "blackhole": maps.BlackholeParams,
    "police": maps.PoliceParams,
    "httperror": maps.HttpErrorParams,
    "dns": maps.DnsParams,
    "reset": maps.ResetParams,
}


def test_probability_thresholds() -> None:
    assert threshold(0.0) == 0
    assert threshold(1.0) == PROBABILITY_ONE == 1 << 32
    assert threshold(0.25) == 1 << 30
    with pytest.raises(BadInput):
        threshold(1.5)


def test_port_ranges() -> None:
    assert PortRange.parse(None).is_any
    assert PortRange.parse(80) == PortRange(80, 80)
    assert PortRange.parse("8000-8100") == PortRange(8000, 8100)
    for bad in ("http", "90-80", "70000"):
        with pytest.raises(BadInput):
            PortRange.parse(bad)


def test_rules_refuse_what_the_programs_cannot_match() -> None:
    with pytest.raises(BadInput):
        Rule(dst="::1")  # IPv4 only
    with pytest.raises(BadInput):
        Rule(protocol="sctp")
    with pytest.raises(BadInput):
        Scope(tuple(Rule() for _ in range(9)))
    with pytest.raises(BadInput):
        Timing(tuple(Window(i + 1, i + 2) for i in range(17)))
    with pytest.raises(BadInput):
        Window(5, 5)


def test_scope_encoding_is_network_byte_order_in_memory() -> None:
    value = maps.encode_scope(Scope((Rule(src="10.1.2.0/24", dport=PortRange(53, 53), protocol="udp"),)))
    assert value.count == 1
    rule = value.rules[0]
    assert bytes(ctypes.c_uint32(rule.src_addr)) == socket.inet_aton("10.1.2.0")
    assert bytes(ctypes.c_uint32(rule.src_mask)) == socket.inet_aton("255.255.255.0")
    assert (rule.dst_addr, rule.dst_mask) == (0, 0)
    assert (rule.dport_min, rule.dport_max, rule.sport_min, rule.sport_max) == (53, 53, 0, 65535)
    assert rule.protocol == 17
    assert maps.address_of(rule.src_addr) == "10.1.2.0"


def test_peer_scope_follows_the_hook() -> None:
    assert Scope.peer("10.0.0.1", hook=Hook.INGRESS).rules[0].src == "10.0.0.1"
    assert Scope.peer("10.0.0.1", hook=Hook.EGRESS).rules[0].dst == "10.0.0.1"
    assert Scope.peer("10.0.0.1", hook="egress").rules[0].dst == "10.0.0.1"


def test_timing_encoding() -> None:
    value = maps.encode_timing(Timing((Window(10, 20), Window(30, 40)), deadline_ns=99))
    assert (value.deadline_ns, value.count) == (99, 2)
    assert (value.windows[1].start_ns, value.windows[1].end_ns) == (30, 40)
    assert maps.encode_timing(Timing()).deadline_ns == 0  # 0 = no deadline in the program


def test_plan_windows_become_monotonic() -> None:
    plan = [SimpleNamespace(start_s=1.0, end_s=2.5), SimpleNamespace(start_s=3.0, end_s=None)]
    windows = monotonic_windows(plan, t0_ns=1_000, deadline_ns=9_000_000_000)
    assert windows == [Window(1_000_001_000, 2_500_001_000), Window(3_000_001_000, 9_000_000_000)]
    assert monotonic_windows(plan[1:], t0_ns=0, deadline_ns=None) == [Window(3_000_000_000, FOREVER_NS)]
    assert monotonic_windows([], t0_ns=0, deadline_ns=None) == []
    never = monotonic_windows([SimpleNamespace(start_s=5.0, end_s=None)], t0_ns=0, deadline_ns=1)
    assert never == [
        Window(1, 2)
    ]  # past the deadline before it starts: an always-closed window, not "always"


def test_default_police_burst_exceeds_a_gso_packet() -> None:
    assert default_police_burst(1000) == 256 * 1024
    assert default_police_burst(100 * 1024 * 1024) == 1024 * 1024  # 10 ms at 100 MiB/s


@pytest.mark.parametrize("kind", KINDS)
def test_python_layouts_match_the_objects(kind: str) -> None:
    """Opening an object (no load, no root) gives its map value sizes from BTF: they must equal ours."""
    from lueur_net.dataplane.ebpf.libbpf import BpfObject

    try:
        bpf = BpfObject(object_path(kind), load=False)
    except Exception as error:  # noqa: BLE001 - a machine without libbpf or built objects
        pytest.skip(f"cannot open the {kind} object here: {error}")
    try:
        assert bpf.map("lueur_scope").value_size == ctypes.sizeof(maps.ScopeValue)
        assert bpf.map("lueur_timing").value_size == ctypes.sizeof(maps.TimingValue)
        assert bpf.map("lueur_alive").value_size == ctypes.sizeof(maps.AliveValue)
        assert bpf.map("lueur_params").value_size == ctypes.sizeof(PARAMS[kind])
        assert bpf.map("lueur_counters").value_size == 8
    finally:
        bpf.close()
