"""`lueur-net run --dry-run`: the plan of every item and its equivalent tc/ip commands; changes nothing."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lueur_net.dataplane import probe
from lueur_net.errors import BadInput
from lueur_net.lab.attach import attach as resolve_attachment
from lueur_net.plan import Capabilities, plan_item, render_plan
from lueur_net.plan.render import describe_params
from lueur_net.runner.plans import Placement, allowed_ends, plan_run
from lueur_net.runner.run import SERVE_AND_ATTACH, select
from lueur_net.scenario import load

if TYPE_CHECKING:
    from lueur_net.lab.topology import Path

MEANING = ("# side/direction as in lueur (a proxy): server ingress (the default) and client egress hit the responses, "
           "server egress and client ingress the requests")


def dry_run(paths: Sequence[str], only: str | None = None, *, attach: str | None = None, serve: str | None = None,
            iface: str | None = None, allow_host_interface: bool = False) -> str:
    """The plan of every item (each step of a repeat) and its equivalent tc/ip commands, for the lab `run` would
    build with the same options. Probes capabilities (and resolves --attach) only when root; changes nothing."""
    if serve and attach:
        raise BadInput(SERVE_AND_ATTACH)
    selected = select(load(paths), only)
    root = os.geteuid() == 0
    if root:
        capabilities = probe.probe_capabilities()
        source = f"capabilities probed on this kernel ({os.uname().release})"
    else:
        capabilities = Capabilities.all_present()
        source = "not root: planned for a stock kernel with every feature (run as root to plan for this one)"
    lines = [f"# dry run: nothing is changed; {source}", MEANING]
    path: Path | None = None
    placement = Placement()
    if attach:
        if root:
            path = resolve_attachment(attach, iface, allow_host_interface=allow_host_interface).path
            placement = Placement(peer_is_ours=False, ends=allowed_ends(path, allow_host_interface))
        else:
            placement = Placement(peer_is_ours=False, ends=("client",))
        lines.append(f"# attached to {attach}: calls run there, faults go on "
                     f"{'its interface ' + path.client.ifname if path else 'its interface (<client-if>)'}; "
                     f"its host peer is {'usable' if 'server' in placement.ends else 'not ours, so it is left alone'}")
    elif serve:
        lines.append(f"# --serve: {serve!r} would run in its own namespace; <server-if> is its end of the link "
                     "from the client namespace (both ends are lueur-net's)")
    run = plan_run(selected, capabilities, plan_item)  # refuses what no backend here can do, as `run` would
    for items in run:
        for planned in items:
            lines.append(f"\n## {planned.ref.label}")
            spec = planned.spec
            if spec.repeat is not None and spec.repeat.add_baseline_call:
                lines.append("baseline call: no fault")
            for iteration, plan in enumerate(planned.plans.iterations(spec.fault_iterations, placement)):
                if iteration == 0:
                    lines.append(render_plan(plan, path))
                else:
                    steps = "; ".join(f"{fault.id} {describe_params(fault)}" for fault in plan.faults) or "no faults"
                    lines.append(f"iteration {iteration}: {steps}")
    return "\n".join(lines)
