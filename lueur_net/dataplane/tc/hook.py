"""The tc backend: a HookPlan (netem and/or TBF composed on one end and hook) put on an interface over netlink.

- Egress: our qdiscs at the interface's root: netem `4c4e:` with TBF `4c4f:` as its child (parent 4c4e:1) when
  both are needed, else the one needed as `4c4e:`. Deleting our root restores the interface's default qdisc.
- Ingress (only when the peer is not ours; otherwise the planner already moved the fault to the peer's egress):
  an IFB device `lueurifb<hex>` in the same namespace, a clsact qdisc on the interface (reused if present), a u32
  match-all filter (prio 49152) with a mirred egress redirect into the IFB, and our qdiscs at the IFB's root.
- Windows and jitter: segment 0 is applied before `apply` returns; later segments, jitter redraws and the
  fail-open deadline run in a small scheduler thread that sleeps to absolute CLOCK_MONOTONIC instants
  (t0 + edge) and sends `replace` (same kind: the kernel changes it in place) or `delete`.
- Ledger: every object is recorded before it is created and marked done when removed; the removers below let
  `lueur-net clean` remove what a killed run left. Netlink errors name interface, object and errno text.
"""

from __future__ import annotations

import random
import secrets
import socket as socket_module
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from lueur_net.dataplane.netlink import (
    FLAGS_DELETE,
    FLAGS_REPLACE,
    RTM_DELQDISC,
    RTM_DELTFILTER,
    RTM_NEWQDISC,
    NetlinkError,
    ifindex,
    netlink_problem,
    request,
    socket,
)
from pyroute2.netlink.rtnl.tcmsg import tcmsg

from lueur_net.dataplane.tc_encode import TC_H_ROOT, netem_values, qdisc_message, tbf_values
from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.lab.topology import Endpoint
from lueur_net.ledger import Entry, Ledger, remover
from lueur_net.removers import remove_link
from lueur_net.plan.model import HookConfig, HookPlan, NetemConfig, RateParams, Segment

ROOT_HANDLE = 0x4C4E0000  # "4c4e:" ("LN"), distinctive so we never touch someone else's root qdisc
CHILD_PARENT = 0x4C4E0001  # 4c4e:1, the class netem/TBF expose for their child
CHILD_HANDLE = 0x4C4F0000  # "4c4f:"
CLSACT_HANDLE = 0xFFFF0000
TC_H_CLSACT = 0xFFFFFFF1
CLSACT_INGRESS = 0xFFFFFFF2
FILTER_PRIO = 49152
ETH_P_ALL = 0x0003
ENOENT, EINVAL, ENODEV = 2, 22, 19
GONE = (ENOENT, EINVAL, ENODEV)  # deleting something already gone answers one of these

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
        try:
            request(ipr, message, RTM_NEWQDISC if action != "delete" else RTM_DELQDISC,
                    FLAGS_REPLACE if action != "delete" else FLAGS_DELETE)
        except NetlinkError as error:
            if action == "delete" and error.code in GONE:
                return
            hint = MISSING_QDISC_HINTS.get(kind) if error.code in (ENOENT, EINVAL) and action != "delete" else None
            raise netlink_problem(f"{action} {kind} qdisc {handle_text(handle)}", self.netns, self.ifname, error,
                                  hint) from None

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


@dataclass
class IfbRedirect:
    """Ingress of `endpoint` redirected into an IFB device; removal in reverse order of creation."""

    endpoint: Endpoint
    ifb: str
    entries: list[Entry] = field(default_factory=list)
    created_clsact: bool = False

    @classmethod
    def create(cls, ipr: Any, endpoint: Endpoint, ledger: Ledger) -> IfbRedirect:
        netns, ifname = endpoint.netns, endpoint.ifname
        redirect = cls(endpoint, f"lueurifb{secrets.token_hex(3)}")
        index = ifindex(ipr, netns, ifname)
        redirect.entries.append(ledger.record("link", ifname=redirect.ifb, netns=netns))
        try:
            ipr.link("add", ifname=redirect.ifb, kind="ifb")
            ifb_index = ifindex(ipr, netns, redirect.ifb)
            ipr.link("set", index=ifb_index, state="up")
        except NetlinkError as error:
            raise netlink_problem(f"create IFB device {redirect.ifb}", netns, ifname, error,
                                  "modprobe ifb; see `lueur-net doctor`") from None
        has_clsact = any(m.get_attr("TCA_KIND") == "clsact" for m in ipr.get_qdiscs(index=index))
        if not has_clsact:
            redirect.entries.append(ledger.record("tc_clsact", netns=netns, ifname=ifname))
            try:
                ipr.tc("add", "clsact", index=index)
            except NetlinkError as error:
                raise netlink_problem("add clsact qdisc", netns, ifname, error, "modprobe sch_ingress") from None
            redirect.created_clsact = True
        redirect.entries.append(ledger.record("tc_filter", netns=netns, ifname=ifname, parent=CLSACT_INGRESS,
                                              prio=FILTER_PRIO))
        try:
            ipr.tc("add-filter", "u32", index=index, parent=CLSACT_INGRESS, prio=FILTER_PRIO, protocol=ETH_P_ALL,
                   keys=["0x0/0x0+0"], target=0x10001,
                   action=[{"kind": "mirred", "direction": "egress", "action": "redirect", "ifindex": ifb_index}])
        except NetlinkError as error:
            raise netlink_problem(f"add u32 filter with mirred redirect to {redirect.ifb}", netns, ifname, error,
                                  "modprobe cls_u32 act_mirred; see `lueur-net doctor`") from None
        return redirect

    def remove(self, ipr: Any, ledger: Ledger) -> None:
        for entry in reversed(self.entries):
            REMOVERS_BY_KIND[entry.kind](entry.fields, ipr)
            ledger.done(entry)
        self.entries.clear()


class TcHook:
    """One HookPlan applied on one endpoint (the Handle of the tc backend)."""

    def __init__(self, plan: HookPlan, endpoint: Endpoint, ledger: Ledger, t0_ns: int, deadline_ns: int | None,
                 seed: int = 0) -> None:
        self.plan = plan
        self.endpoint = endpoint
        self.ledger = ledger
        self.t0_ns = t0_ns
        self.deadline_ns = deadline_ns
        self.random = random.Random(seed)
        self.redirect: IfbRedirect | None = None
        self.device: HookDevice | None = None
        self.qdisc_entry: Entry | None = None
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self.reverted = False
        self.changes: list[tuple[int, str]] = []  # (CLOCK_MONOTONIC ns, what): the timeline actually applied

    # ---- apply ----
    def start(self) -> None:
        netns = self.endpoint.netns
        with socket(netns) as ipr:
            if self.plan.hook == "ingress":
                self.redirect = IfbRedirect.create(ipr, self.endpoint, self.ledger)
                self.device = HookDevice(netns, self.redirect.ifb)
            else:
                self.device = HookDevice(netns, self.endpoint.ifname)
            self.qdisc_entry = self.ledger.record("tc_qdisc", netns=netns, ifname=self.device.ifname,
                                                  handle=ROOT_HANDLE)
            first = self._segment_at(self._now_s())
            self._put(ipr, first, self._jitter_draw(first))
        if len(self.plan.segments) > 1 or any(s.config.jitter for s in self.plan.segments) or self.deadline_ns:
            self.thread = threading.Thread(target=self._run, name=f"lueur-tc-{self.plan.key}", daemon=True)
            self.thread.start()

    def _now_s(self) -> float:
        return (time.monotonic_ns() - self.t0_ns) / 1e9

    def _segment_at(self, t: float) -> Segment:
        current = self.plan.segments[0]
        for segment in self.plan.segments:
            if segment.start_s <= t:
                current = segment
        return current

    def _jitter_draw(self, segment: Segment) -> int:
        return sum(round(self.random.uniform(0, j.amplitude_ns)) for j in segment.config.jitter)

    def _put(self, ipr: Any, segment: Segment, extra_ns: int) -> None:
        assert self.device is not None
        with self.lock:
            if self.reverted:
                return
            self.device.put(ipr, segment.config, extra_ns)
            self.changes.append((time.monotonic_ns(), f"{segment.start_s:g}s {' '.join(segment.fault_ids) or '-'}"
                                                      f"{f' +{extra_ns / 1e6:.1f}ms' if extra_ns else ''}"))

    def _next_instant(self, segment: Segment, last_tick_ns: int) -> tuple[int, str]:
        """The next CLOCK_MONOTONIC instant something changes and what: 'edge', 'jitter' or 'deadline'."""
        candidates: list[tuple[int, str]] = []
        if segment.end_s is not None:
            candidates.append((self.t0_ns + round(segment.end_s * 1e9), "edge"))
        if segment.config.jitter:
            period_ns = round(1e9 / max(j.frequency_hz for j in segment.config.jitter))
            candidates.append((last_tick_ns + period_ns, "jitter"))
        if self.deadline_ns is not None:
            candidates.append((self.deadline_ns, "deadline"))
        return min(candidates) if candidates else (0, "none")

    def _run(self) -> None:
        try:
            with socket(self.endpoint.netns) as ipr:
                segment = self._segment_at(self._now_s())
                last_tick = time.monotonic_ns()
                while not self.stop.is_set():
                    instant, what = self._next_instant(segment, last_tick)
                    if what == "none":
                        return
                    if self.stop.wait(max(0.0, (instant - time.monotonic_ns()) / 1e9)):
                        return
                    if what == "deadline":
                        with self.lock:
                            if not self.reverted and self.device is not None:
                                self.device.remove(ipr)
                                self.changes.append((time.monotonic_ns(), "deadline: removed"))
                        return
                    if what == "edge":
                        segment = self._segment_at(self._now_s() + 1e-9)
                    last_tick = instant
                    self._put(ipr, segment, self._jitter_draw(segment))
        except BaseException as error:  # noqa: BLE001 - kept for revert() to report
            self.error = error

    # ---- handle ----
    def revert(self) -> None:
        self.stop.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout=5)
        with self.lock:
            if self.reverted:
                return
            self.reverted = True
        with socket(self.endpoint.netns) as ipr:
            if self.device is not None:
                self.device.remove(ipr)
            if self.qdisc_entry is not None:
                remove_tc_qdisc(self.qdisc_entry.fields, ipr)
                self.ledger.done(self.qdisc_entry)
            if self.redirect is not None:
                self.redirect.remove(ipr, self.ledger)

    def counters(self) -> dict[str, int]:
        if self.device is None:
            return {}
        if self.reverted:
            return {"packets": self.device.state.packets, "dropped": self.device.state.drops}
        with socket(self.endpoint.netns) as ipr:
            return self.device.counters(ipr)


# ---- removers (also used by `lueur-net clean`) ----


def _with_socket(fields: dict[str, Any], ipr: Any, action: Any) -> None:
    if ipr is not None:
        action(ipr)
        return
    netns = fields.get("netns")
    if netns and "/" not in netns:
        from pyroute2 import netns as netns_module

        if netns not in netns_module.listnetns():
            return  # the namespace is gone, and everything in it
    try:
        opened = socket(netns)
        own = opened.__enter__()
    except BadInput:
        return  # a /proc/PID/ns/net path whose process is gone: the namespace, and our objects, went with it
    try:
        action(own)
    finally:
        opened.__exit__(None, None, None)


@remover("tc_qdisc")
def remove_tc_qdisc(fields: dict[str, Any], ipr: Any = None) -> None:
    """fields: netns, ifname, handle. Deletes the root qdisc only if it is still ours (same handle)."""

    def act(sock: Any) -> None:
        found = sock.link_lookup(ifname=fields["ifname"])
        if not found:
            return
        for message in sock.get_qdiscs(index=found[0]):
            if message["handle"] == int(fields["handle"]) and message["parent"] == TC_H_ROOT:
                try:
                    request(sock, qdisc_message(message.get_attr("TCA_KIND"), found[0], int(fields["handle"]),
                                                TC_H_ROOT, None), RTM_DELQDISC, FLAGS_DELETE)
                except NetlinkError as error:
                    if error.code not in GONE:
                        raise netlink_problem(f"delete qdisc {handle_text(int(fields['handle']))}",
                                              fields.get("netns"), fields["ifname"], error) from None

    _with_socket(fields, ipr, act)


@remover("tc_clsact")
def remove_tc_clsact(fields: dict[str, Any], ipr: Any = None) -> None:
    """fields: netns, ifname. The clsact qdisc we created (with every filter still on it)."""

    def act(sock: Any) -> None:
        found = sock.link_lookup(ifname=fields["ifname"])
        if not found:
            return
        try:
            sock.tc("del", "clsact", index=found[0])
        except NetlinkError as error:
            if error.code not in GONE:
                raise netlink_problem("delete clsact qdisc", fields.get("netns"), fields["ifname"], error) from None

    _with_socket(fields, ipr, act)


@remover("tc_filter")
def remove_tc_filter(fields: dict[str, Any], ipr: Any = None) -> None:
    """fields: netns, ifname, parent, prio. Our u32 redirect filter."""

    def act(sock: Any) -> None:
        found = sock.link_lookup(ifname=fields["ifname"])
        if not found:
            return
        try:
            delete_filter(sock, found[0], int(fields["parent"]), int(fields["prio"]))
        except NetlinkError as error:
            if error.code not in GONE:
                raise netlink_problem(f"delete u32 filter prio {fields['prio']}", fields.get("netns"),
                                      fields["ifname"], error) from None

    _with_socket(fields, ipr, act)


def delete_filter(ipr: Any, index: int, parent: int, prio: int, protocol: int = ETH_P_ALL) -> None:
    """RTM_DELTFILTER for (parent, prio, protocol): tcm_info carries prio in its upper and the protocol (network
    order) in its lower 16 bits, as `tc filter del ... prio P protocol all` sends."""
    message = tcmsg()
    message["family"] = 0
    message["index"] = index
    message["handle"] = 0
    message["parent"] = parent
    message["info"] = (prio << 16) | socket_module.htons(protocol)
    message["attrs"] = [["TCA_KIND", "u32"]]
    request(ipr, message, RTM_DELTFILTER, FLAGS_DELETE)


REMOVERS_BY_KIND = {
    "tc_qdisc": remove_tc_qdisc,
    "tc_clsact": remove_tc_clsact,
    "tc_filter": remove_tc_filter,
    "link": remove_link,
}


class TcBackend:
    """Applies HookPlans (the dispatcher groups tc faults per hook; see apply.py)."""

    name = "tc"

    def apply_hook(self, plan: HookPlan, endpoint: Endpoint, ledger: Ledger, t0_ns: int,
                   deadline_ns: int | None = None, seed: int = 0) -> TcHook:
        hook = TcHook(plan, endpoint, ledger, t0_ns, deadline_ns, seed)
        try:
            hook.start()
        except BaseException:
            hook.revert()
            raise
        return hook
