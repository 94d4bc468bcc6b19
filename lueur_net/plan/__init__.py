"""lueur_net.plan: a scenario item turned into a FaultPlan (pure data; see docs/dataplane.md).

Public API:

    plan_item(item, capabilities, *, iteration=0, peer_is_ours=True, mtu=1500, baseline=False) -> FaultPlan
    render_plan(plan) -> str            the plan and its equivalent tc/ip commands (`lueur-net run --dry-run`)
    backend_for(fault_type, capabilities) -> str | None;  backend_table(capabilities) -> {type: backend}
    Capabilities                        what the kernel can do, as data (filled by dataplane.probe_capabilities())

Models: FaultPlan, PlannedFault, HookPlan, Segment, HookConfig, NetemConfig, Window and one parameter type per
fault kind: DelayParams, JitterParams, RateParams, LossParams, ProbabilityParams, BlackholeParams, PoliceParams,
HttpErrorParams, DnsParams, ResetParams (kernel units). EBPF_MAX_WINDOWS: the windows one eBPF fault holds.
"""

from __future__ import annotations

from lueur_net.plan.backends import PREFERENCES, backend_for, backend_table, choose_backend
from lueur_net.plan.capabilities import INSTALL_HINTS, Capabilities
from lueur_net.plan.model import (
    EBPF_MAX_WINDOWS,
    BlackholeParams,
    DelayParams,
    DnsParams,
    FaultPlan,
    HookConfig,
    HookPlan,
    HttpErrorParams,
    JitterParams,
    LossParams,
    NetemConfig,
    PlannedFault,
    PoliceParams,
    ProbabilityParams,
    RateParams,
    ResetParams,
    Segment,
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
