"""A repeat's steps change the running fault objects in place, without a kernel: the dispatcher's update, the tc
hook's netlink messages (a netem `change` is a replace on the same handle, never a delete), the eBPF maps, the
nfqueue holder's update message, and the start gate's move of t0 in place.

Before: every step reverted and applied every backend again (an nfqueue holder restarted: ~0.2 s dead time
between calls); AppliedPlan had no update, the holder no update command, the tc hook no update.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from lueur_net.dataplane import apply as dispatcher
from lueur_net.dataplane.apply import AppliedPlan, ApplyContext
from lueur_net.dataplane.netlink import RTM_DELQDISC, RTM_NEWQDISC
from lueur_net.dataplane.tc import hook as tc_hook
from lueur_net.dataplane.tc import qdisc as tc_qdisc
from lueur_net.dataplane.tc.encode import decode, encode
from lueur_net.lab.topology import Endpoint, Path
from lueur_net.plan import Capabilities, plan_item
from lueur_net.plan.model import FaultPlan
from lueur_net.runner.item import ItemFaults, PathPlans
from lueur_net.scenario import Item

MS = 1_000_000
PATH = Path(Endpoint("lueur-c", "c0", 2, "10.0.0.1"), Endpoint("lueur-s", "s0", 3, "10.0.0.2"))


def plan_of(*faults: dict[str, Any]) -> FaultPlan:
    item = Item.model_validate({"call": {"method": "GET", "url": "http://localhost:9090/"},
                                "context": {"upstreams": ["http://localhost:9090/"], "faults": list(faults)}})
    return plan_item(item, Capabilities.all_present())


@dataclass
class FakeHandle:
    updates: list[tuple[Any, ApplyContext]] = field(default_factory=list)
    paused: int = 0
    reverted: bool = False

    def update(self, item: Any, context: ApplyContext) -> None:
        self.updates.append((item, context))

    def pause(self) -> None:
        self.paused += 1

    def revert(self) -> None:
        self.reverted = True

    def counters(self) -> dict[str, int]:
        return {}


def applied_with_fakes(plan: FaultPlan) -> tuple[AppliedPlan, list[FakeHandle]]:
    handles = [FakeHandle() for _ in dispatcher.work_of(plan)]
    applied = AppliedPlan(plan, [(work.fault_ids, handle) for work, handle in zip(dispatcher.work_of(plan), handles)])
    return applied, handles


def test_a_plan_of_the_same_shape_goes_to_the_running_handles() -> None:
    first = plan_of({"type": "latency", "mean": 100}, {"type": "blackhole"})
    second = plan_of({"type": "latency", "mean": 200}, {"type": "blackhole", "period": "start:1s"})
    applied, handles = applied_with_fakes(first)
    assert applied.update(second, PATH, t0_ns=5 * MS, deadline_ns=9 * MS, seed=4) is None
    assert [item for handle in handles for item, _ in handle.updates] == list(
        work.item for work in dispatcher.work_of(second))
    assert [context.seed for handle in handles for _, context in handle.updates] == [4, 5]
    assert all(context.t0_ns == 5 * MS and context.deadline_ns == 9 * MS
               for handle in handles for _, context in handle.updates)
    assert applied.plan is second and not any(handle.reverted for handle in handles)
    assert applied.pause() and [handle.paused for handle in handles] == [1, 1]


@pytest.mark.parametrize("other", [
    ({"type": "latency", "mean": 100}, {"type": "packetloss"}),  # a different eBPF program
    ({"type": "latency", "mean": 100},),  # one piece fewer
    ({"type": "latency", "mean": 100, "direction": "egress"}, {"type": "blackhole"}),  # another hook
])
def test_a_plan_of_another_shape_is_refused_and_nothing_is_touched(other: tuple[dict[str, Any], ...]) -> None:
    applied, handles = applied_with_fakes(plan_of({"type": "latency", "mean": 100}, {"type": "blackhole"}))
    refusal = applied.update(plan_of(*other), PATH, t0_ns=0)
    assert refusal is not None and refusal.startswith("the plan changes shape (")
    assert not any(handle.updates for handle in handles)


class FakeIpr:
    """Records every netlink request the tc hook sends (encoded as the kernel would receive it)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int, Any]] = []

    def get_qdiscs(self, index: int) -> list[Any]:  # revert reads the counters first: none here
        return []

    def link_lookup(self, ifname: str) -> list[int]:  # the remover finds no interface: nothing left to delete
        return []


@pytest.fixture
def netlink_log(monkeypatch: pytest.MonkeyPatch) -> FakeIpr:
    ipr = FakeIpr()

    @contextmanager
    def fake_socket(netns: str | None) -> Any:
        yield ipr

    def fake_request(sock: Any, message: Any, msg_type: int, flags: int) -> tuple[Any, ...]:
        sock.sent.append((msg_type, flags, decode(encode(message, msg_type, flags))))
        return ()

    monkeypatch.setattr(tc_hook, "socket", fake_socket)
    monkeypatch.setattr(tc_qdisc, "request", fake_request)
    monkeypatch.setattr(tc_qdisc, "ifindex", lambda ipr, netns, ifname: 7)
    return ipr


def test_a_netem_step_is_a_change_on_the_same_qdisc_not_a_new_one(netlink_log: FakeIpr) -> None:
    """The kernel tier (netem) cannot run on this host: the message a step sends is checked here instead."""
    ledger = SimpleNamespace(record=lambda kind, **fields: SimpleNamespace(fields=fields), done=lambda entry: None)
    plans = [plan_of({"type": "latency", "mean": mean}).hooks[0] for mean in (100, 200, 300)]
    hook = tc_hook.TcHook(plans[0], PATH.server, ledger, time.monotonic_ns(), None)  # type: ignore[arg-type]
    hook.start()
    for step in plans[1:]:
        hook.update(step, SimpleNamespace(t0_ns=time.monotonic_ns(), deadline_ns=None, seed=1))
    hook.pause()
    kinds = [(msg_type, message.get_attr("TCA_KIND"), message["handle"], message["parent"], message["index"])
             for msg_type, _, message in netlink_log.sent]
    assert kinds == [(RTM_NEWQDISC, "netem", tc_qdisc.ROOT_HANDLE, 0xFFFFFFFF, 7)] * 4  # no RTM_DELQDISC
    assert RTM_DELQDISC not in [msg_type for msg_type, _, _ in netlink_log.sent]
    delays = [message.get_attr("TCA_OPTIONS").get_attr("TCA_NETEM_LATENCY64") for _, _, message in netlink_log.sent]
    assert delays == [100 * MS, 200 * MS, 300 * MS, 0]  # the pause: netem without delay, same qdisc
    assert hook.thread is None  # no scheduler left behind by a step (no windows, no jitter, no deadline)


class ScriptedHolder:
    """The holder's side of the control socket: answers counters, keeps what it was sent."""

    def __init__(self) -> None:
        self.ours, theirs = socket.socketpair()
        self.received: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self._serve, args=(theirs,), daemon=True)
        self.thread.start()

    def _serve(self, sock: socket.socket) -> None:
        with sock, sock.makefile("rb") as reader:
            for line in reader:
                self.received.append(json.loads(line))
                sock.sendall(b'{"packets": 3}\n')


def test_an_nfqueue_step_is_one_message_to_the_running_holder() -> None:
    from lueur_net.dataplane.nfqueue.backend import NfqueueHandle
    from lueur_net.dataplane.nfqueue.delay import NfqueueDelay
    from lueur_net.dataplane.nfqueue.spec import DelaySpec, Match

    holder = ScriptedHolder()
    process = SimpleNamespace(pid=4242)
    delay = NfqueueDelay(None, "s0", 5, DelaySpec(mean_ns=100 * MS), Match(), (), None, process,  # type: ignore[arg-type]
                         holder.ours, None)  # type: ignore[arg-type]
    handle = NfqueueHandle(delay, leaving=False)
    fault = plan_of({"type": "latency", "mean": 250}).faults[0]
    t0 = time.monotonic_ns()
    handle.update(SimpleNamespace(id="f0", hook="ingress", params=fault.params, windows=fault.windows),
                  SimpleNamespace(t0_ns=t0, deadline_ns=t0 + 10**10))
    handle.pause()
    first, paused = holder.received
    assert first["cmd"] == "update" and first["spec"]["mean_ns"] == 250 * MS
    [window] = first["windows"]  # no window in the plan: active from now, cut at the deadline
    assert t0 <= window["start_ns"] <= time.monotonic_ns() and window["end_ns"] == t0 + 10**10
    assert paused == {"cmd": "update", "spec": first["spec"], "windows": [{"start_ns": 0, "end_ns": 0}]}
    with pytest.raises(Exception, match="other hook"):
        handle.update(SimpleNamespace(id="f0", hook="egress", params=fault.params, windows=()), None)


def test_the_holder_takes_a_new_delay_for_the_packets_from_then_on() -> None:
    from lueur_net.dataplane.nfqueue.holder import Holder
    from lueur_net.dataplane.nfqueue.spec import DelaySpec, DuePlanner

    holder = Holder(DuePlanner(DelaySpec(mean_ns=100 * MS)))
    packet = SimpleNamespace(accept=lambda: None)
    holder.on_packet(packet)
    held_due = holder.heap[0][0]
    holder.update({"cmd": "update", "spec": DelaySpec(mean_ns=300 * MS).to_dict(), "windows": []})
    before = time.monotonic_ns()
    holder.on_packet(packet)
    assert holder.heap[0][0] == held_due  # what it held keeps its due time
    assert max(due for due, _, _ in holder.heap) >= before + 300 * MS
    holder.update({"spec": DelaySpec(mean_ns=300 * MS).to_dict(), "windows": [{"start_ns": 0, "end_ns": 0}]})
    holder.on_packet(packet)
    assert holder.counters.passed == 1 and len(holder.heap) == 2  # paused: passed at once


def test_an_ebpf_step_rewrites_the_programs_maps() -> None:
    from lueur_net.dataplane.ebpf.backend import EbpfHandle
    from lueur_net.dataplane.ebpf.faults import NEVER

    calls: list[tuple[str, Any]] = []
    fault = SimpleNamespace(kind="loss", set_params=lambda params: calls.append(("params", params)),
                            set_timing=lambda windows, deadline: calls.append(("timing", (tuple(windows), deadline))))
    handle = EbpfHandle(fault, "loss")  # type: ignore[arg-type]
    planned = plan_of({"type": "packetloss", "probability": 0.25, "period": "start:1s,duration:1s"}).faults[0]
    handle.update(planned, SimpleNamespace(t0_ns=10 * 10**9, deadline_ns=20 * 10**9))
    (what, params), (when, (windows, deadline)) = calls
    assert (what, when) == ("params", "timing") and params.probability == 1 << 30  # 0.25 of 2^32
    assert [(w.start_ns, w.end_ns) for w in windows] == [(11 * 10**9, 12 * 10**9)] and deadline == 20 * 10**9
    with pytest.raises(Exception, match="in place"):
        handle.update(plan_of({"type": "blackhole"}).faults[0], SimpleNamespace(t0_ns=0, deadline_ns=None))
    pause: list[Any] = []
    EbpfHandle(SimpleNamespace(kind="loss", pause=lambda: pause.append(NEVER)), "loss").pause()  # type: ignore[arg-type]
    assert pause == [NEVER]


@dataclass
class SlowChangeable:
    """Applied faults that took `apply_s` to apply and move in place at once."""

    moves: list[int] = field(default_factory=list)

    def update(self, plan: Any, path: Any, *, t0_ns: int, deadline_ns: int | None = None, seed: int = 0) -> None:
        self.moves.append(t0_ns)

    def pause(self) -> bool:
        return True

    def counters(self) -> dict[str, dict[str, int]]:
        return {}

    def failures(self) -> list[dict[str, Any]]:
        return []

    def revert(self) -> None:
        pass


def test_the_start_gate_moves_slow_faults_to_a_later_t0_in_place() -> None:
    """Before: t0 was always 0.4 s ahead (idle for a 3 ms tc apply), and a slower apply was reverted and redone."""
    made: list[SlowChangeable] = []

    def apply_plan(plan: Any, path: Any, ledger: Any, **kwargs: Any) -> SlowChangeable:
        time.sleep(0.15)  # an nfqueue holder's start
        made.append(SlowChangeable())
        return made[-1]

    plan = plan_of({"type": "latency", "mean": 100})
    faults = ItemFaults([PathPlans(PATH, (plan,))], apply_plan, None, 10**19, 0, span_s=1.0)  # type: ignore[arg-type]
    began = time.monotonic()
    t0 = faults.start(0.05)
    assert len(made) == 1 and faults.start_attempts == 1 and faults.start_moves == 1
    assert made[0].moves == [int(t0 * 1e9)] and t0 - began < 0.15 + 0.05 + 0.1
    assert faults.apply_s >= 0.15 and faults.gate_wait_s > 0.0


def test_the_start_gate_waits_only_what_the_driver_needs_after_a_quick_apply() -> None:
    applied: list[int] = []

    def apply_plan(plan: Any, path: Any, ledger: Any, **kwargs: Any) -> SlowChangeable:
        applied.append(kwargs["t0_ns"])
        return SlowChangeable()

    plan = plan_of({"type": "latency", "mean": 100})
    faults = ItemFaults([PathPlans(PATH, (plan,))], apply_plan, None, 10**19, 0, span_s=1.0)  # type: ignore[arg-type]
    began = time.monotonic()
    t0 = faults.start(0.0)
    assert t0 - began < 0.1  # before: 0.4 s ahead, whatever the apply cost
    assert applied == [int(t0 * 1e9)] and faults.start_moves == 0


def test_a_step_keeps_the_running_scheduler(netlink_log: FakeIpr) -> None:
    """With a deadline (always, in a run) the hook has a scheduler thread; a step wakes it with the new timeline
    instead of stopping it and starting another (before: a thread and a netlink socket per step)."""
    ledger = SimpleNamespace(record=lambda kind, **fields: SimpleNamespace(fields=fields), done=lambda entry: None)
    plans = [plan_of({"type": "latency", "mean": mean}).hooks[0] for mean in (100, 200, 300)]
    now = time.monotonic_ns()
    hook = tc_hook.TcHook(plans[0], PATH.server, ledger, now, now + 60 * 10**9)  # type: ignore[arg-type]
    hook.start()
    scheduler = hook.thread
    assert scheduler is not None and scheduler.is_alive()
    for step in plans[1:]:
        hook.update(step, SimpleNamespace(t0_ns=time.monotonic_ns(), deadline_ns=now + 60 * 10**9, seed=1))
        assert hook.thread is scheduler and scheduler.is_alive()
    hook.pause()
    assert hook.thread is scheduler and scheduler.is_alive()
    hook.revert()
    assert not scheduler.is_alive() and hook.error is None
    delays = [message.get_attr("TCA_OPTIONS").get_attr("TCA_NETEM_LATENCY64")
              for msg_type, _, message in netlink_log.sent if msg_type == RTM_NEWQDISC]
    assert delays == [100 * MS, 200 * MS, 300 * MS, 0]
