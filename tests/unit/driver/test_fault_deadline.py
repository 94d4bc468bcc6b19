"""Each item's faults carry a fail-open deadline at the end of what they were applied for plus a small margin, not
the lab's hour: a run frozen or killed mid-item leaves no fault behind for longer than that."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from lueur_net.driver import CallSpec, ItemSpec, LoadSpec, RepeatSpec
from lueur_net.runner.item import DEADLINE_MARGIN_S, ItemFaults, PathPlans, fault_deadline_ns

S = 1_000_000_000
LAB_DEADLINE_NS = 10_000 * S  # the lab's lifetime cap, an hour or so away


def _spec(**kwargs: Any) -> ItemSpec:
    return ItemSpec(scenario="s", scenario_index=0, item=0, call=CallSpec("GET", "http://x/", timeout_s=2.0), **kwargs)


def test_span_is_the_load_duration_plus_one_timeout_or_one_call() -> None:
    assert _spec(load=LoadSpec(duration_s=20.0, clients=1, rps=1)).span_s == 22.0
    assert _spec().span_s == 2.0
    assert _spec(repeat=RepeatSpec(count=5, wait_s=1.0)).span_s == 2.0  # applied again before every call


def test_deadline_is_t0_plus_span_plus_margin_capped_by_the_lab() -> None:
    assert fault_deadline_ns(100 * S, 22.0, LAB_DEADLINE_NS) == 100 * S + int((22.0 + DEADLINE_MARGIN_S) * S)
    assert fault_deadline_ns(100 * S, 22.0, 110 * S) == 110 * S
    assert 2.0 <= DEADLINE_MARGIN_S <= 5.0


class _Plan:
    faults: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {}


def test_the_item_faults_are_applied_with_the_item_deadline() -> None:
    seen: list[int | None] = []

    def fake_apply_plan(plan: Any, path: Any, ledger: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["deadline_ns"])
        return SimpleNamespace(counters=dict, revert=lambda: None, failures=list)

    path = SimpleNamespace(client=SimpleNamespace(ifname="c"), server=SimpleNamespace(ifname="s"))
    faults = ItemFaults([PathPlans(path, (_Plan(),))], fake_apply_plan, ledger=None,  # type: ignore[arg-type]
                        deadline_ns=LAB_DEADLINE_NS, seed=0, span_s=20.0 + 2.0)
    faults.apply(0, 50 * S)
    assert seen == [50 * S + int((22.0 + DEADLINE_MARGIN_S) * S)]  # before: the lab's deadline, an hour away
