"""Build the driver's ItemSpec from the scenario model and the item's plan (the only driver module that knows
pydantic models and the plan).

The driver computes no fault windows of its own: the planner resolved each fault's periods once, and
`plan_windows` only restates the plan's windows in the driver's terms (names, anchors), so the records' `faults`
column and the data plane agree by construction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lueur_net.driver.spec import (
    ANCHOR_CALL,
    ANCHOR_ITEM,
    CallSpec,
    Expect,
    FaultWindow,
    ItemSpec,
    LoadSpec,
    RepeatSpec,
)
from lueur_net.scenario.models import LoadStrategy, RepeatStrategy, Scenario

if TYPE_CHECKING:
    from lueur_net.plan.model import FaultPlan, PlannedFault


def window_name(fault: PlannedFault) -> str:
    """The window a planned fault belongs to: the scenario fault's, `f<index>`. The planner gives a fault written
    with `direction: both` one planned fault per direction, `f<index>.<direction>`; both share the fault's window."""
    return fault.id.removesuffix(f".{fault.requested_direction}")


def plan_windows(plan: FaultPlan) -> tuple[FaultWindow, ...]:
    """The plan's fault windows for the driver: each fault's windows once (not once per direction), in plan order.

    A fault without windows is active the whole item. Load items (plan anchor "run") count windows from the item's
    t0; single and repeat items from each call's send (lueur's periods refer to the call's timeout there).
    """
    anchor = ANCHOR_ITEM if plan.anchor == "run" else ANCHOR_CALL
    seen: set[str] = set()
    windows: list[FaultWindow] = []
    for fault in plan.faults:
        name = window_name(fault)
        if name in seen:
            continue
        seen.add(name)
        if not fault.windows:
            windows.append(FaultWindow(name=name, anchor=anchor))
        windows.extend(FaultWindow(name=name, start_s=w.start_s, end_s=w.end_s, anchor=anchor) for w in fault.windows)
    return tuple(windows)


def item_spec(
    scenario: Scenario, item_index: int, *, windows: tuple[FaultWindow, ...], scenario_index: int = 0
) -> ItemSpec:
    """The ItemSpec for `scenario.items[item_index]`: URL segments filled, config headers merged, units in s.

    `windows`: the item's fault windows, from its plan (`plan_windows`). The run adds the start gate or the
    iteration hook when it drives the spec (lueur_net.driver.remote.drive_in_netns).
    """
    item = scenario.items[item_index]
    body = item.call.body.encode() if item.call.body is not None else None
    call = CallSpec(
        method=item.call.method,
        url=scenario.url_of(item),
        headers=tuple(scenario.headers_of(item).items()),
        body=body,
        timeout_s=item.call.timeout_ms / 1000.0,
    )
    strategy = item.context.strategy
    repeat = load = None
    if isinstance(strategy, RepeatStrategy):
        repeat = RepeatSpec(
            count=strategy.count,
            step=strategy.step,
            wait_s=strategy.wait / 1000.0,
            failfast=strategy.failfast,
            add_baseline_call=strategy.add_baseline_call,
        )
    elif isinstance(strategy, LoadStrategy):
        load = LoadSpec(
            duration_s=strategy.duration,
            clients=strategy.clients,
            rps=strategy.rps,
        )
    expect = Expect()
    if item.expect is not None:
        expect = Expect(status=item.expect.status, response_time_under_ms=item.expect.response_time_under)
    return ItemSpec(
        scenario=scenario.title,
        scenario_index=scenario_index,
        item=item_index,
        call=call,
        repeat=repeat,
        load=load,
        expect=expect,
        windows=windows,
    )
