"""The dispatcher's contract with backends (fake backends, no kernel): what each gets, order, rollback, refusals."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Any

import pytest

from capability_sets import host_like
from lueur_net.dataplane import apply as dispatch
from lueur_net.errors import EnvironmentProblem
from lueur_net.lab.topology import Endpoint, Path
from lueur_net.ledger import Ledger
from lueur_net.plan import plan_item
from lueur_net.scenario import Item

PATH = Path(client=Endpoint("lueur-c", "c0", 2, "10.0.0.2"), server=Endpoint(None, "s0", 7, "10.0.0.1"))
HOST = host_like()


class FakeHandle:
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def revert(self) -> None:
        self.log.append(f"revert {self.name}")

    def counters(self) -> dict[str, int]:
        return {"packets": 3}


class FakeBackend:
    def __init__(self, name: str, log: list[str], fail_on: str | None = None) -> None:
        self.name, self.log, self.fail_on = name, log, fail_on
        self.calls: list[tuple[Any, Endpoint, Any]] = []

    def apply(self, fault: Any, endpoint: Endpoint, ledger: Ledger, context: Any) -> FakeHandle:
        if fault.type == self.fail_on:
            raise EnvironmentProblem(f"{fault.id} failed")
        self.calls.append((fault, endpoint, context))
        self.log.append(f"apply {fault.id}")
        return FakeHandle(self.log, fault.id)


class FakeTc:
    """Gets HookPlans (no .type or .id): the tc backend's side of the same contract."""

    name = "tc"

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.calls: list[tuple[Any, Endpoint, Any]] = []

    def apply(self, hook: Any, endpoint: Endpoint, ledger: Ledger, context: Any) -> FakeHandle:
        self.calls.append((hook, endpoint, context))
        self.log.append(f"apply tc {hook.key}")
        return FakeHandle(self.log, f"tc {hook.key}")


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], dict[str, Any]]:
    log: list[str] = []
    backends = {"ebpf": FakeBackend("ebpf", log, fail_on="dns"), "nfqueue": FakeBackend("nfqueue", log),
                "tc": FakeTc(log)}
    monkeypatch.setattr(dispatch, "_loaded", dict(backends))
    return log, backends


def make_item(*faults: dict[str, Any]) -> Item:
    return Item.model_validate({"call": {"method": "GET", "url": "http://x/"}, "context": {"faults": list(faults)}})


def test_each_fault_goes_to_its_backend_with_endpoint_and_context(fakes: Any, tmp_path: FsPath) -> None:
    log, backends = fakes
    plan = plan_item(make_item({"type": "latency", "mean": 20, "side": "client", "direction": "ingress"},
                               {"type": "httperror", "status_code": 503, "side": "client", "direction": "ingress"}),
                     HOST)
    with Ledger.open("t", run_dir=tmp_path) as ledger:
        applied = dispatch.apply_plan(plan, PATH, ledger, t0_ns=123, deadline_ns=456)
        assert applied.counters() == {"f0": {"packets": 3}, "f1": {"packets": 3}}
        applied.revert()
        applied.revert()  # idempotent
    (latency, endpoint, context), = backends["nfqueue"].calls
    assert endpoint == PATH.server  # nfqueue: the receiving end of requests
    assert (context.t0_ns, context.deadline_ns, context.path) == (123, 456, PATH)
    assert backends["ebpf"].calls[0][1] == PATH.client
    assert log == ["apply f0", "apply f1", "revert f1", "revert f0"]


def test_a_failure_reverts_what_was_applied(fakes: Any, tmp_path: FsPath) -> None:
    log, _ = fakes
    plan = plan_item(make_item({"type": "httperror"}, {"type": "dns"}), HOST)
    with Ledger.open("t", run_dir=tmp_path) as ledger, pytest.raises(EnvironmentProblem, match="f1 failed"):
        dispatch.apply_plan(plan, PATH, ledger)
    assert log == ["apply f0", "revert f0"]


def test_refuses_foreign_interfaces_and_a_plan_for_another_topology(fakes: Any, tmp_path: FsPath) -> None:
    foreign = Path(client=PATH.client, server=Endpoint(None, "eth0", 3, "10.0.0.1", owned=False))
    with Ledger.open("t", run_dir=tmp_path) as ledger:
        plan = plan_item(make_item({"type": "httperror", "side": "server"}), HOST)
        with pytest.raises(EnvironmentProblem, match="not created by lueur-net"):
            dispatch.apply_plan(plan, foreign, ledger)
        # client egress = responses: planned on the server end's egress, which only an owned peer allows
        tc_plan = plan_item(make_item({"type": "bandwidth", "rate": 1, "side": "client", "direction": "egress"}),
                            HOST)
        with pytest.raises(EnvironmentProblem, match="peer is not ours"):
            dispatch.apply_plan(tc_plan, foreign, ledger, allow_foreign=True)


def test_unknown_backend_is_an_environment_problem() -> None:
    with pytest.raises(EnvironmentProblem):
        dispatch.backend("nonexistent")


def test_tc_hooks_go_through_the_same_registry_and_contract(fakes: Any, tmp_path: FsPath) -> None:
    from lueur_net.plan.model import HookPlan

    log, backends = fakes
    plan = plan_item(make_item({"type": "bandwidth", "rate": 1, "side": "server", "direction": "ingress"},
                               {"type": "bandwidth", "rate": 2, "side": "client", "direction": "ingress"},
                               {"type": "httperror", "side": "client", "direction": "ingress"}), HOST)
    assert len(plan.hooks) == 2
    with Ledger.open("t", run_dir=tmp_path) as ledger:
        applied = dispatch.apply_plan(plan, PATH, ledger, t0_ns=5, deadline_ns=9, seed=40)
        assert set(applied.counters()) == {"f0", "f1", "f2"}
        applied.revert()
    hooks = [call[0] for call in backends["tc"].calls]
    assert hooks == list(plan.hooks) and all(isinstance(hook, HookPlan) for hook in hooks)
    assert [call[1] for call in backends["tc"].calls] == [dispatch.endpoint_of(PATH, h.side) for h in plan.hooks]
    assert [(c.t0_ns, c.deadline_ns, c.seed) for _, _, c in backends["tc"].calls] == [(5, 9, 40), (5, 9, 41)]
    keys = [hook.key for hook in plan.hooks]
    assert log == [f"apply tc {keys[0]}", f"apply tc {keys[1]}", "apply f2",
                   "revert f2", f"revert tc {keys[1]}", f"revert tc {keys[0]}"]


def test_every_backend_is_named_in_the_one_registry() -> None:
    assert set(dispatch.BACKENDS) == {"tc", "ebpf", "nfqueue"}
    assert not hasattr(dispatch, "register_backend")  # nothing registers at run time


def test_a_backend_is_found_after_its_module_was_imported_directly() -> None:
    """A package-level `backend()` beside a `backend.py` module is replaced by the module once the module is
    imported; the registry then said "'module' object is not callable" (only after some other test ran)."""
    import importlib

    for name, target in dispatch.BACKENDS.items():
        module, _, function = target.partition(":")
        importlib.import_module(module)  # what a test or a tool importing the backend module directly does
        dispatch._loaded.pop(name, None)
        assert callable(getattr(importlib.import_module(module), function)), name
        assert dispatch.backend(name).apply
