"""Every plan a run needs, each made once.

A plan is a pure function of the item, the capabilities, the iteration (a repeat's step grows its delay) and where
faults may go on a path (`Placement`: whether the peer end is ours, which ends lueur-net may change). `ItemPlans`
keeps them: the check before any kernel change plans iteration 0 for the lab's usual placement; after the lab is
up, each path gets its placement's plans for every iteration, before the first fault is applied (a path with the
usual placement reuses the check's plan); applying then only looks them up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lueur_net.dataplane.apply import endpoint_of
from lueur_net.driver.build import item_spec, plan_windows
from lueur_net.errors import BadInput
from lueur_net.lab import check_fault_target

if TYPE_CHECKING:
    from lueur_net.plan import Capabilities
    from lueur_net.driver.spec import ItemSpec
    from lueur_net.lab.topology import Path
    from lueur_net.plan.model import FaultPlan, Side
    from lueur_net.runner.environment import Planner
    from lueur_net.scenario import LoadedScenario
    from lueur_net.scenario.models import Item, Scenario

BOTH_ENDS: tuple[Side, ...] = ("client", "server")


@dataclass(frozen=True)
class Placement:
    """Where the planner may put faults on a path: `peer_is_ours` (both veth ends are ours: tc faults go on the
    sending end's egress) and `ends` (the ends lueur-net may change; an attached pod's host peer may not be)."""

    peer_is_ours: bool = True
    ends: tuple[Side, ...] = BOTH_ENDS


LAB_PLACEMENT = Placement()  # a lab lueur-net built: both ends ours, both usable


def allowed_ends(path: Path, allow_host_interface: bool) -> tuple[Side, ...]:
    """The ends of `path` a fault may go on (an attached pod's host peer is not ours): the planner places a fault
    asked for on another end on one of these, on the same traffic. None allowed: both, so the check names why."""
    ends: list[Side] = []
    for side in BOTH_ENDS:
        try:
            check_fault_target(endpoint_of(path, side), allow_host_interface=allow_host_interface)
        except BadInput:
            continue
        ends.append(side)
    return tuple(ends) or BOTH_ENDS


def placement_of(path: Path, allow_host_interface: bool) -> Placement:
    return Placement(peer_is_ours=path.peer_is_ours, ends=allowed_ends(path, allow_host_interface))


@dataclass
class ItemPlans:
    """One item's plans, made on first use and kept: (iteration, placement) -> FaultPlan."""

    item: Item
    capabilities: Capabilities
    planner: Planner
    _made: dict[tuple[int, Placement], FaultPlan] = field(default_factory=dict, init=False, repr=False)

    def plan(self, iteration: int = 0, placement: Placement = LAB_PLACEMENT) -> FaultPlan:
        """Raises BadInput/EnvironmentProblem (from the planner) for a fault this kernel cannot realise."""
        key = (iteration, placement)
        if key not in self._made:
            self._made[key] = self.planner(self.item, self.capabilities, iteration=iteration,
                                           peer_is_ours=placement.peer_is_ours, ends=placement.ends)
        return self._made[key]

    def iterations(self, count: int, placement: Placement = LAB_PLACEMENT) -> tuple[FaultPlan, ...]:
        """The plans of iterations 0..count-1 (a repeat's count; 1 otherwise)."""
        return tuple(self.plan(iteration, placement) for iteration in range(count))


def checked_plans(plans: ItemPlans, path: Path, count: int, *, allow_host_interface: bool
                  ) -> tuple[FaultPlan, ...]:
    """The plans of every iteration on `path`, after refusing any end the user may not fault (a host interface
    lueur-net did not make): BadInput before the first kernel change."""
    made = plans.iterations(count, placement_of(path, allow_host_interface))
    for plan in made:
        for fault in plan.faults:
            check_fault_target(endpoint_of(path, fault.side), allow_host_interface=allow_host_interface)
    return made


@dataclass(frozen=True)
class ItemRef:
    """Which item of the run this is."""

    scenario: Scenario
    scenario_index: int
    item_index: int
    source: str | None  # the scenario's file

    @property
    def item(self) -> Item:
        return self.scenario.items[self.item_index]

    @property
    def label(self) -> str:
        return f"{self.scenario.title} / item {self.item_index}"


@dataclass(frozen=True)
class PlannedItem:
    """An item ready to run: its plans (iteration 0 made) and the driver's spec, windows from that plan."""

    ref: ItemRef
    plans: ItemPlans
    spec: ItemSpec


def plan_run(selected: Sequence[LoadedScenario], capabilities: Capabilities, planner: Planner
             ) -> list[list[PlannedItem]]:
    """Every selected item planned (iteration 0, a lab's placement), per scenario: raises BadInput or
    EnvironmentProblem before any kernel change if a fault cannot be realised here (DESIGN principle 3)."""
    run: list[list[PlannedItem]] = []
    for scenario_index, entry in enumerate(selected):
        items = []
        for item_index, item in enumerate(entry.scenario.items):
            plans = ItemPlans(item, capabilities, planner)
            spec = item_spec(entry.scenario, item_index, windows=plan_windows(plans.plan(0)),
                             scenario_index=scenario_index)
            items.append(PlannedItem(ItemRef(entry.scenario, scenario_index, item_index, entry.source), plans, spec))
        run.append(items)
    return run
