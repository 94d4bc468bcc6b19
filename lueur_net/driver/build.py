"""Build the driver's ItemSpec from the scenario model (the only driver module that knows pydantic models)."""

from __future__ import annotations


from lueur_net.driver.spec import (
    ANCHOR_CALL,
    ANCHOR_ITEM,
    DEFAULT_MAX_IN_FLIGHT,
    CallSpec,
    Expect,
    FaultWindow,
    IterationHook,
    ItemSpec,
    LoadSpec,
    RepeatSpec,
)
from lueur_net.scenario.models import LoadStrategy, RepeatStrategy, Scenario


def fault_windows(scenario: Scenario, item_index: int) -> tuple[FaultWindow, ...]:
    """The item's faults as windows named like the planner's ids (`f<index>`), from their periods.

    A fault without a period is active the whole item. Load items count windows from the item's t0; single and
    repeat items from each call's send (lueur's periods refer to the call's timeout there).
    """
    item = scenario.items[item_index]
    anchor = ANCHOR_ITEM if item.window_anchor == "run" else ANCHOR_CALL
    windows: list[FaultWindow] = []
    for index, fault in enumerate(item.context.faults):
        resolved = item.fault_windows(fault)
        if resolved is None:
            windows.append(FaultWindow(name=f"f{index}", anchor=anchor))
            continue
        windows.extend(
            FaultWindow(name=f"f{index}", start_s=window.start, end_s=window.end, anchor=anchor) for window in resolved
        )
    return tuple(windows)


def item_spec(
    scenario: Scenario,
    item_index: int,
    *,
    scenario_index: int = 0,
    t0: float | None = None,
    windows: tuple[FaultWindow, ...] | None = None,
    hook: IterationHook | None = None,
    progress_fd: int | None = None,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    workers: int = 0,
) -> ItemSpec:
    """The ItemSpec for `scenario.items[item_index]`: URL segments filled, config headers merged, units in s.

    `windows`: the planner's windows when given, else derived from the scenario's periods (`fault_windows`).
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
            max_in_flight=max_in_flight,
            workers=workers,
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
        windows=fault_windows(scenario, item_index) if windows is None else windows,
        t0=t0,
        hook=hook,
        progress_fd=progress_fd,
    )
