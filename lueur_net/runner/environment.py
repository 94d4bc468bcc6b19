"""What a run does to the machine, as one injectable object: root check, capability probe, ledger, lab, the data
plane's apply, the driver in the client namespace, the signal guard, and the planner.

The orchestration (lueur_net.runner.run) and the item execution (lueur_net.runner.item) call only these, so their
unit tests hand in fakes that record calls (tests/unit/runner): no root, no namespaces, no kernel objects.
`kernel_environment()` is the real one; it looks each function up when it is built, at the start of a run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from lueur_net.dataplane import apply as apply_module
from lueur_net.dataplane import probe as probe_module
from lueur_net.lab import Lab, terminate_on_signals
from lueur_net.lab import lab as lab_module
from lueur_net.ledger import Ledger
from lueur_net.plan import plan_item

if TYPE_CHECKING:
    from lueur_net.plan import Capabilities
    from lueur_net.driver.driving import ItemRun
    from lueur_net.driver.spec import ItemSpec
    from lueur_net.lab.serve import ServeSpec
    from lueur_net.lab.topology import Path
    from lueur_net.plan.model import FaultPlan, Side
    from lueur_net.scenario.models import Item


class AppliedFaults(Protocol):
    """What applying a plan on one path leaves in hand (lueur_net.dataplane.apply.AppliedPlan)."""

    def counters(self) -> Mapping[str, Mapping[str, int]]: ...

    def failures(self) -> list[dict[str, Any]]: ...

    def revert(self) -> None: ...


class ApplyPlan(Protocol):
    """lueur_net.dataplane.apply.apply_plan."""

    def __call__(self, plan: FaultPlan, path: Path, ledger: Ledger, *, t0_ns: int | None = None,
                 deadline_ns: int | None = None, seed: int = 0, allow_foreign: bool = False) -> AppliedFaults: ...


class Planner(Protocol):
    """lueur_net.plan.plan_item."""

    def __call__(self, item: Item, capabilities: Capabilities, *, iteration: int = 0, peer_is_ours: bool = True,
                 ends: tuple[Side, ...] = ("client", "server")) -> FaultPlan: ...


class Drive(Protocol):
    """lueur_net.driver.remote.drive_in_netns."""

    def __call__(self, netns: str | None, spec: ItemSpec, *,
                 on_progress: Callable[[dict[str, Any]], None] | None = None,
                 on_iteration: Callable[[int, str], None] | None = None,
                 on_ready: Callable[[float], float] | None = None) -> ItemRun: ...


class RunLab(Protocol):
    """What the run uses of a lueur_net.lab.Lab: it is entered as a context manager (closing reverts it)."""

    run_id: str
    setup_seconds: float
    client_netns: str
    attached: bool

    @property
    def deadline_ns(self) -> int: ...

    def path_for(self, url: str) -> Path: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: object) -> Any: ...


class CreateLab(Protocol):
    """lueur_net.lab.Lab.create."""

    def __call__(self, upstreams: list[str], ledger: Ledger, serve: ServeSpec | None = None, *,
                 pool: str | None = None, dns: bool = False) -> RunLab: ...


class AttachLab(Protocol):
    """lueur_net.lab.Lab.attach."""

    def __call__(self, target: str, upstreams: list[str], ledger: Ledger, *, iface: str | None = None,
                 allow_host_interface: bool = False) -> RunLab: ...


class Probe(Protocol):
    """lueur_net.dataplane.probe.probe_capabilities: `beside` is called once the probing child is forked."""

    def __call__(self, beside: Callable[[], object] | None = None) -> Capabilities: ...


class Prestart(Protocol):
    """lueur_net.dataplane.apply.prestart_plan: `idle` starts what it starts at the lowest CPU priority."""

    def __call__(self, plan: FaultPlan, path: Path, ledger: Ledger, idle: bool = False) -> None: ...


@dataclass(frozen=True)
class RunEnvironment:
    require_root: Callable[[], None]
    probe: Probe
    open_ledger: Callable[[], AbstractContextManager[Ledger]]
    create_lab: CreateLab
    attach_lab: AttachLab
    apply_plan: ApplyPlan
    drive: Drive
    guard_signals: Callable[[], AbstractContextManager[object]]
    plan: Planner = plan_item
    drive_forks: bool = False  # `drive` forks the driver's process (the run then applies faults after the fork)
    # what each forked driver would import after its fork, imported once here beside the lab's set-up
    # (lueur_net.driver.driving.warm); a fake environment has nothing to warm
    warm_driver: Callable[[], None] | None = None
    # start ahead what applying a plan waits for (nfqueue holders' interpreters: lueur_net.dataplane.apply.
    # prestart_plan), and end what was started and not taken (release_prestarted); a fake has neither
    prestart: Prestart | None = None
    release_prestarted: Callable[[], None] | None = None


def drive_in_netns(netns: str | None, spec: ItemSpec, **hooks: Any) -> ItemRun:
    """lueur_net.driver.remote.drive_in_netns, imported at the first item's drive: by then the warm-up thread has
    imported it, and the driver's modules (httpx, the event loop) were not on the way to the lab and the app."""
    from lueur_net.driver.remote import drive_in_netns as drive

    return drive(netns, spec, **hooks)


def warm() -> None:
    """lueur_net.driver.driving.warm, imported in the warm-up thread itself."""
    from lueur_net.driver.driving import warm as warm_driver

    warm_driver()


def kernel_environment() -> RunEnvironment:
    """The real machine. Attributes are read now, not at import, so a test that replaces one (say, the probe) before
    the run starts is honoured."""
    return RunEnvironment(
        # Grouped by the step of a run that uses them.
        require_root=lab_module.require_root, guard_signals=terminate_on_signals,
        open_ledger=lambda: Ledger.open("run"),
        probe=probe_module.probe_capabilities, plan=plan_item,
        create_lab=Lab.create, attach_lab=Lab.attach,
        apply_plan=apply_module.apply_plan, prestart=apply_module.prestart_plan,
        release_prestarted=apply_module.release_prestarted,
        drive=drive_in_netns, drive_forks=True, warm_driver=warm,
    )
