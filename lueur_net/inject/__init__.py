"""lueur_net.inject: hold faults on a live network namespace (`lueur-net inject`, docs/inject.md).

    request = build_request(flag_values, duration=..., scope=...)   pure: lueur-style flags -> scenario fault models
    plan = plan_request(request, capabilities)                       pure: the FaultPlan, scoped, or BadInput
    hold(...)                                                        effect: apply on the target, wait, revert

The flags become the scenario's own fault models (lueur_net.scenario), so validation, units and defaults are the
scenario's; the planner (lueur_net.plan) and the data plane (lueur_net.dataplane.apply) do the rest.
"""

from lueur_net.inject.flags import (
    FLAG_FAULTS,
    InjectItem,
    InjectRequest,
    build_request,
    faults_from_file,
    parse_duration,
    parse_scope,
    plan_request,
)

__all__ = [
    "FLAG_FAULTS",
    "InjectItem",
    "InjectRequest",
    "build_request",
    "faults_from_file",
    "parse_duration",
    "parse_scope",
    "plan_request",
]
