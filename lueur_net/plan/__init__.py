"""lueur_net.plan: a scenario item turned into a FaultPlan (pure data; see docs/dataplane.md).

Public API:

    plan_item(item, capabilities, *, iteration=0, peer_is_ours=True, mtu=1500, baseline=False) -> FaultPlan
    render_plan(plan) -> str            the plan and its equivalent tc/ip commands (`lueur-net run --dry-run`)
    backend_for(fault_type, capabilities) -> str | None;  backend_table(capabilities) -> {type: backend}
    Capabilities                        what the kernel can do, as data (filled by dataplane.probe_capabilities())

Models: FaultPlan, PlannedFault, HookPlan, Segment, HookConfig, NetemConfig, Window and the parameter types
DelayParams, JitterParams, RateParams, LossParams, ProbabilityParams, BlackholeParams, SourceParams.
"""

from __future__ import annotations

from lueur_net.plan.backends import PREFERENCES, backend_for, backend_table, choose_backend
from lueur_net.plan.capabilities import INSTALL_HINTS, Capabilities
from lueur_net.plan.model import (
    BlackholeParams,
    DelayParams,
    FaultPlan,
    HookConfig,
    HookPlan,
    JitterParams,
    LossParams,
    NetemConfig,
    PlannedFault,
    ProbabilityParams,
    RateParams,
    Segment,
    SourceParams,
    Window,
)
from lueur_net.plan.planner import plan_item, rate_params, traffic_hit, traffic_of
from lueur_net.plan.render import render_plan

__all__ = [
    "PREFERENCES",
    "INSTALL_HINTS",
    "BlackholeParams",
    "Capabilities",
    "DelayParams",
    "FaultPlan",
    "HookConfig",
    "HookPlan",
    "JitterParams",
    "LossParams",
    "NetemConfig",
    "PlannedFault",
    "ProbabilityParams",
    "RateParams",
    "Segment",
    "SourceParams",
    "Window",
    "backend_for",
    "backend_table",
    "choose_backend",
    "plan_item",
    "rate_params",
    "render_plan",
    "traffic_hit",
    "traffic_of",
]
