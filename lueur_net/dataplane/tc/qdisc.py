"""Our qdiscs on one device: netem and/or TBF at the root, put, lifted between windows, removed, counted.

Egress layout: netem `4c4e:` with TBF `4c4f:` as its child (parent 4c4e:1) when both are needed, else the one
needed as `4c4e:`. Deleting our root restores the interface's default qdisc. Changes are `replace` (same kind:
the kernel changes it in place), so the scheduler thread can apply window edges and jitter redraws cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lueur_net.dataplane.netlink import (
    EINVAL,
    ENOENT,
    FLAGS_DELETE,
    FLAGS_REPLACE,
    RTM_DELQDISC,
    RTM_NEWQDISC,
    TC_H_ROOT,
    ifindex,
    netlink_errors,
    remove_on_interface,
    request,
)
from lueur_net.dataplane.tc.encode import qdisc_message
from lueur_net.dataplane.tc.netem import netem_values
from lueur_net.dataplane.tc.tbf import tbf_values
from lueur_net.errors import EnvironmentProblem
from lueur_net.ledger import remover
from lueur_net.plan.model import HookConfig, NetemConfig, RateParams

ROOT_HANDLE = 0x4C4E0000  # "4c4e:" ("LN"), distinctive so we never touch someone else's root qdisc
CHILD_PARENT = 0x4C4E0001  # 4c4e:1, the class netem/TBF expose for their child
CHILD_HANDLE = 0x4C4F0000  # "4c4f:"

# A TBF that shapes nothing (100 Gbit/s): what a bandwidth fault becomes between its windows.
PASS_THROUGH_TBF = RateParams(rate_bytes_per_s=12_500_000_000, wire_rate_bytes_per_s=12_500_000_000,
                              burst_bytes=1 << 20, limit_bytes=16 << 20, mtu=1500)

MISSING_QDISC_HINTS = {
    "netem": "modprobe sch_netem (Ubuntu: apt install linux-modules-extra-$(uname -r)); see `lueur-net doctor`",
    "tbf": "modprobe sch_tbf; see `lueur-net doctor`",
}


def handle_text(handle: int) -> str:
    return f"{handle >> 16:x}:{handle & 0xFFFF:x}" if handle & 0xFFFF else f"{handle >> 16:x}:"


@dataclass
class QdiscState:
    """What we have put on the target device: () or ("netem",), ("tbf",), ("netem", "tbf")."""

    kinds: tuple[str, ...] = ()
    packets: int = 0
    drops: int = 0


def _stats(ipr: Any, index: int) -> tuple[int, int]:
    """(packets, drops) of our root qdisc on `index`, 0 if absent."""
    for message in ipr.get_qdiscs(index=index):
        if message["handle"] != ROOT_HANDLE:
            continue
        stats = message.get_attr("TCA_STATS2")
        if stats is not None:
            basic = stats.get_attr("TCA_STATS_BASIC") or {}
            queue = stats.get_attr("TCA_STATS_QUEUE") or {}
            return int(basic.get("packets", 0)), int(queue.get("drops", 0))
    return 0, 0


class HookDevice:
    """Puts HookConfigs on one device (the interface itself, or the IFB for ingress)."""

    def __init__(self, netns: str | None, ifname: str) -> None:
        self.netns = netns
        self.ifname = ifname
        self.state = QdiscState()
        self._index: int | None = None  # looked up once: put() runs at every window edge and jitter redraw

    def index(self, ipr: Any) -> int:
        if self._index is None:
            self._index = ifindex(ipr, self.netns, self.ifname)
        return self._index

    def _send(self, ipr: Any, index: int, kind: str, handle: int, parent: int, options: Any, action: str) -> None:
        message = qdisc_message(kind, index, handle, parent, options)
        deleting = action == "delete"
        # A kernel without the qdisc's module answers ENOENT or EINVAL to adding it: then say which module.
        with netlink_errors(f"{action} {kind} qdisc {handle_text(handle)}", self.netns, self.ifname,
                            None if deleting else MISSING_QDISC_HINTS.get(kind), hint_codes=(ENOENT, EINVAL),
                            gone_ok=deleting):
            request(ipr, message, RTM_DELQDISC if deleting else RTM_NEWQDISC,
                    FLAGS_DELETE if deleting else FLAGS_REPLACE)

    def put(self, ipr: Any, config: HookConfig, extra_delay_ns: int = 0) -> None:
        """Make the device carry `config` (with `extra_delay_ns` of jitter added to netem's delay)."""
        index = self.index(ipr)
        netem = config.netem
        if netem is None and config.jitter:
            netem = NetemConfig()
        if netem is not None and extra_delay_ns:
            netem = netem.with_extra_delay(extra_delay_ns)
        want: tuple[str, ...] = (("netem",) if netem else ()) + (("tbf",) if config.tbf else ())
        if not want:
            self.lift(ipr, index)
            return
        if self.state.kinds == ("netem", "tbf") and want == ("netem",):
            self.remove(ipr)  # deleting netem's child would leave it a noop (drop-all) child: rebuild instead
        if netem is not None:
            self._send(ipr, index, "netem", ROOT_HANDLE, TC_H_ROOT, netem_values(netem), "replace")
            if config.tbf is not None:
                self._send(ipr, index, "tbf", CHILD_HANDLE, CHILD_PARENT, tbf_values(config.tbf), "replace")
        elif config.tbf is not None:
            self._send(ipr, index, "tbf", ROOT_HANDLE, TC_H_ROOT, tbf_values(config.tbf), "replace")
        self.state.kinds = want

    def lift(self, ipr: Any, index: int) -> None:
        """Between windows: keep our qdiscs but make them pass everything (netem without delay, TBF at 100 Gbit/s),
        so packets still queued from the window are delivered on time instead of being dropped with the qdisc."""
        if "netem" in self.state.kinds:
            self._send(ipr, index, "netem", ROOT_HANDLE, TC_H_ROOT, netem_values(NetemConfig()), "replace")
        if "tbf" in self.state.kinds:
            handle, parent = (CHILD_HANDLE, CHILD_PARENT) if "netem" in self.state.kinds else (ROOT_HANDLE, TC_H_ROOT)
            self._send(ipr, index, "tbf", handle, parent, tbf_values(PASS_THROUGH_TBF), "replace")

    def remove(self, ipr: Any) -> None:
        if not self.state.kinds:
            return
        try:
            index = ifindex(ipr, self.netns, self.ifname)
        except EnvironmentProblem:
            self.state.kinds = ()
            return  # the device went away (its namespace was deleted): nothing left to remove
        packets, drops = _stats(ipr, index)
        self.state.packets += packets
        self.state.drops += drops
        self._send(ipr, index, self.state.kinds[0], ROOT_HANDLE, TC_H_ROOT, None, "delete")
        self.state.kinds = ()

    def counters(self, ipr: Any) -> dict[str, int]:
        packets, drops = (0, 0)
        if self.state.kinds:
            try:
                packets, drops = _stats(ipr, ifindex(ipr, self.netns, self.ifname))
            except EnvironmentProblem:
                pass
        return {"packets": self.state.packets + packets, "dropped": self.state.drops + drops}


@remover("tc_qdisc")
def remove_tc_qdisc(fields: dict[str, Any], ipr: Any = None) -> None:
    """fields: netns, ifname, handle. Deletes the root qdisc only if it is still ours (same handle)."""
    handle = int(fields["handle"])

    def act(sock: Any, index: int) -> None:
        for message in sock.get_qdiscs(index=index):
            if message["handle"] == handle and message["parent"] == TC_H_ROOT:
                request(sock, qdisc_message(message.get_attr("TCA_KIND"), index, handle, TC_H_ROOT, None),
                        RTM_DELQDISC, FLAGS_DELETE)

    remove_on_interface(fields, ipr, f"delete qdisc {handle_text(handle)}", act)
