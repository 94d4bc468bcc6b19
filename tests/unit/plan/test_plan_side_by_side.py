"""A plan's nfqueue holders start side by side: their packet-mark bits are allocated up front, once, in the
dispatcher's thread (two holders reading the free bits at once could take the same one), then started together."""

from __future__ import annotations

import threading
from pathlib import Path as FsPath
from typing import Any

import pytest

from capability_sets import host_like
from lueur_net.dataplane import apply as dispatch
from lueur_net.dataplane.nfqueue import backend as nfqueue_backend
from lueur_net.dataplane.nfqueue.rule import MARK_BITS, allocate_mark_bits, mark_bit_for
from lueur_net.errors import EnvironmentProblem
from lueur_net.lab.topology import Endpoint, Path
from lueur_net.ledger import Ledger
from lueur_net.plan import plan_item
from lueur_net.scenario import Item

PATH = Path(client=Endpoint("lueur-c", "c0", 2, "10.0.0.2"), server=Endpoint("lueur-s", "s0", 7, "10.0.0.1"))
SAVE = """*mangle
-A PREROUTING -i s0 -m mark ! --mark 0x10000/0x10000 -m comment --comment lueur-abc-q20001 -j NFQUEUE --queue-num 20001
-A PREROUTING -i s0 -m mark ! --mark 0x40000/0x40000 -m comment --comment someone-else -j ACCEPT
-A PREROUTING -i s0 -m mark ! --mark 0x20000/0x20000 -m comment --comment lueur-abc-q20002 -j NFQUEUE --queue-num 20002
COMMIT
"""


def test_allocated_bits_are_distinct_free_and_deterministic() -> None:
    bits = allocate_mark_bits(SAVE, 3)
    assert bits == [0x40000, 0x80000, 0x100000]  # lueur's 0x10000 and 0x20000 are taken; another's mark is not ours
    assert allocate_mark_bits(SAVE, 3) == bits
    assert len(set(allocate_mark_bits("", len(MARK_BITS)))) == len(MARK_BITS)
    assert mark_bit_for(None, SAVE) == 0x40000
    with pytest.raises(EnvironmentProblem, match="no packet-mark bit left"):
        allocate_mark_bits(SAVE, len(MARK_BITS) - 1, "lueur-s")


def test_the_backend_gives_each_piece_of_a_plan_its_own_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    saves = {"lueur-s": SAVE, "lueur-c": ""}
    read: list[str | None] = []
    monkeypatch.setattr(nfqueue_backend, "iptables_save", lambda netns: read.append(netns) or saves[netns])
    pieces = [(None, PATH.server), (None, PATH.client), (None, PATH.server), (None, PATH.server)]
    allocations = nfqueue_backend.NfqueueBackend().prepare(pieces)
    bits = [allocation.mark_bit for allocation in allocations]
    server_bits = [bits[0], bits[2], bits[3]]
    assert len(set(server_bits)) == 3 and not set(server_bits) & {0x10000, 0x20000}
    assert bits[1] == MARK_BITS[0]  # its own namespace: its own free bits
    assert sorted(read, key=str) == ["lueur-c", "lueur-s"]  # one read per namespace
    # each delay's start reads its namespace's rules from that one read, not from an iptables-save of its own
    assert [allocation.save for allocation in allocations] == [SAVE, "", SAVE, SAVE]


class SideBySide:
    """A fake concurrent backend: each apply waits at a barrier only every piece started at once can pass."""

    name = "nfqueue"
    concurrent = True

    def __init__(self, count: int, fail_on: str | None = None) -> None:
        self.barrier = threading.Barrier(count, timeout=5)
        self.fail_on = fail_on
        self.allocations: dict[str, Any] = {}
        self.reverted: list[str] = []

    def prepare(self, pieces: list[tuple[Any, Endpoint]]) -> list[int]:
        return [1 << (16 + position) for position in range(len(pieces))]

    def apply(self, fault: Any, endpoint: Endpoint, ledger: Any, context: Any) -> Any:
        self.barrier.wait()  # raises BrokenBarrierError after 5 s when the pieces start one after another
        ledger.done(ledger.record("process", what=fault.id))
        if fault.id == self.fail_on:
            raise EnvironmentProblem(f"{fault.id} failed")
        self.allocations[fault.id] = context.allocation
        backend = self

        class Handle:
            def revert(self) -> None:
                backend.reverted.append(fault.id)

            def counters(self) -> dict[str, int]:
                return {}
        return Handle()


def latency_plan(count: int) -> Any:
    faults = [{"type": "latency", "mean": 10 + n, "side": "client", "direction": "ingress"} for n in range(count)]
    item = Item.model_validate({"call": {"method": "GET", "url": "http://x/"}, "context": {"faults": faults}})
    return plan_item(item, host_like())


def test_a_plans_holders_start_side_by_side_with_their_allocations(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: FsPath) -> None:
    fake = SideBySide(3)
    monkeypatch.setattr(dispatch, "_loaded", {"nfqueue": fake})
    plan = latency_plan(3)
    assert [fault.backend for fault in plan.faults] == ["nfqueue"] * 3
    with Ledger.open("t", run_dir=tmp_path) as ledger:
        applied = dispatch.apply_plan(plan, PATH, ledger)
        assert [ids for ids, _ in applied.handles] == [("f0",), ("f1",), ("f2",)]  # plan order kept
        assert fake.allocations == {"f0": 0x10000, "f1": 0x20000, "f2": 0x40000}
        applied.revert()
        assert fake.reverted == ["f2", "f1", "f0"]
        assert ledger.pending == 0


def test_one_failed_start_reverts_the_others_and_raises_it(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: FsPath) -> None:
    fake = SideBySide(3, fail_on="f1")
    monkeypatch.setattr(dispatch, "_loaded", {"nfqueue": fake})
    with Ledger.open("t", run_dir=tmp_path) as ledger, pytest.raises(EnvironmentProblem, match="f1 failed"):
        dispatch.apply_plan(latency_plan(3), PATH, ledger)
    assert sorted(fake.reverted) == ["f0", "f2"]


class EndsTogether:
    """A handle whose revert waits at a barrier only handles reverted at once can pass (an nfqueue delay's stop)."""

    revert_side_by_side = True

    def __init__(self, barrier: threading.Barrier, ended: list[str], name: str) -> None:
        self.barrier, self.ended, self.name = barrier, ended, name

    def revert(self) -> None:
        self.barrier.wait()  # BrokenBarrierError after 5 s when the handles end one after another
        self.ended.append(self.name)


class EndsInOrder:
    def __init__(self, ended: list[str], name: str) -> None:
        self.ended, self.name = ended, name

    def revert(self) -> None:
        self.ended.append(self.name)


def test_a_plans_delays_end_side_by_side_and_the_rest_in_reverse_order() -> None:
    """Each delay's stop is an `iptables -D` and a holder's exit (~15 ms): three of them one after another were
    the reference file's slowest revert."""
    ended: list[str] = []
    barrier = threading.Barrier(3, timeout=5)
    applied = dispatch.AppliedPlan(latency_plan(3))
    applied.handles = [(("t0",), EndsInOrder(ended, "t0")), *[((f"f{n}",), EndsTogether(barrier, ended, f"f{n}"))
                                                              for n in range(3)], (("t1",), EndsInOrder(ended, "t1"))]
    applied.revert()
    assert sorted(ended) == ["f0", "f1", "f2", "t0", "t1"] and applied.handles == []
    assert [name for name in ended if name.startswith("t")] == ["t1", "t0"]


def test_a_failed_stop_beside_the_others_is_reported_after_every_other_ended() -> None:
    ended: list[str] = []

    class Fails(EndsInOrder):
        revert_side_by_side = True

        def revert(self) -> None:
            raise OSError("holder gone")

    applied = dispatch.AppliedPlan(latency_plan(2))
    applied.handles = [(("f0",), Fails(ended, "f0")), (("f1",), type("Ok", (EndsInOrder,), {
        "revert_side_by_side": True})(ended, "f1"))]
    with pytest.raises(EnvironmentProblem, match="f0: holder gone"):
        applied.revert()
    assert ended == ["f1"]
