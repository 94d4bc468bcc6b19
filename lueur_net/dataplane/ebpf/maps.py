"""The map value layouts of bpf/*.bpf.c as ctypes structures, and their encoding from the model.

Each structure mirrors one C struct field for field (same order, same widths, same padding); BpfMap.update
checks sizes against the object, so a drift fails loudly at load time.
"""

from __future__ import annotations

import ctypes
import socket
import struct

from lueur_net.dataplane.ebpf.model import MAX_RULES, MAX_WINDOWS, PROTOCOLS, Scope, Timing, network

u8, u16, u32, u64 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64


class RuleValue(ctypes.Structure):
    _fields_ = [
        ("src_addr", u32),
        ("src_mask", u32),
        ("dst_addr", u32),
        ("dst_mask", u32),
        ("sport_min", u16),
        ("sport_max", u16),
        ("dport_min", u16),
        ("dport_max", u16),
        ("protocol", u8),
        ("pad", u8 * 3),
    ]


class ScopeValue(ctypes.Structure):
    _fields_ = [("count", u32), ("pad", u32), ("rules", RuleValue * MAX_RULES)]


class WindowValue(ctypes.Structure):
    _fields_ = [("start_ns", u64), ("end_ns", u64)]


class TimingValue(ctypes.Structure):
    _fields_ = [("deadline_ns", u64), ("count", u32), ("pad", u32), ("windows", WindowValue * MAX_WINDOWS)]


class AliveValue(ctypes.Structure):
    """struct lueur_alive: the controller's last heartbeat and how old it may get (0 = no check)."""

    _fields_ = [("last_ns", u64), ("max_age_ns", u64)]


class LossParams(ctypes.Structure):
    _fields_ = [
        ("mode", u32),
        ("pad", u32),
        ("probability", u64),
        ("ge_p", u64),
        ("ge_r", u64),
        ("ge_loss_good", u64),
        ("ge_loss_bad", u64),
    ]


class BlackholeParams(ctypes.Structure):
    _fields_ = [("mode", u32), ("pad", u32)]


class PoliceParams(ctypes.Structure):
    _fields_ = [("rate_bytes_per_s", u64), ("burst_bytes", u64)]


class HttpErrorParams(ctypes.Structure):
    _fields_ = [("probability", u64), ("status", u8 * 4), ("pad", u32)]


class DnsParams(ctypes.Structure):
    _fields_ = [("probability", u64), ("action", u32), ("rcode", u32), ("port", u16), ("pad", u16 * 3)]


class ResetParams(ctypes.Structure):
    _fields_ = [("probability", u64)]


def _address_and_mask(text: str | None) -> tuple[int, int]:
    """An IPv4 prefix as (address, mask), both as the u32 whose memory holds network byte order."""
    if text is None:
        return 0, 0
    net = network(text)
    as_native = struct.Struct("=I").unpack  # the bytes in network order, read in host order
    return as_native(net.network_address.packed)[0], as_native(net.netmask.packed)[0]


def encode_scope(scope: Scope) -> ScopeValue:
    value = ScopeValue()
    value.count = len(scope.rules)
    for index, rule in enumerate(scope.rules):
        slot = value.rules[index]
        slot.src_addr, slot.src_mask = _address_and_mask(rule.src)
        slot.dst_addr, slot.dst_mask = _address_and_mask(rule.dst)
        slot.sport_min, slot.sport_max = rule.sport.low, rule.sport.high
        slot.dport_min, slot.dport_max = rule.dport.low, rule.dport.high
        slot.protocol = PROTOCOLS[rule.protocol]
    return value


def encode_timing(timing: Timing) -> TimingValue:
    value = TimingValue()
    value.deadline_ns = timing.deadline_ns or 0
    value.count = len(timing.windows)
    for index, window in enumerate(timing.windows):
        value.windows[index].start_ns = window.start_ns
        value.windows[index].end_ns = window.end_ns
    return value


def address_of(value: int) -> str:
    """The dotted form of an address field (for messages and tests)."""
    return socket.inet_ntoa(struct.pack("=I", value))
