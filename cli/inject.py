"""`lueur-net inject`: hold lueur-style faults on a live network namespace; `inject list`, `inject stop ID`.

The flags become the scenario's fault models (lueur_net.inject.flags); applying, waiting and reverting is
lueur_net.inject.hold. This module only parses and prints.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from lueur_net.errors import EXIT_OK, BadInput
from lueur_net.inject.flags import FLAG_FAULTS

EPILOG = """\b
Direction is relative to the target namespace: ingress = arriving in it, egress = leaving it.
\b
Examples:
  # 200 ms on everything arriving in namespace `web` for 5 minutes, then everything reverted
  sudo lueur-net inject --attach web --duration 5m --with-latency --latency-mean 200 \\
      --latency-stddev 0 --latency-direction ingress
\b
  # 10% loss on a process's namespace, only for traffic with 10.0.0.0/8 port 5432, for 30 s of a 2 min inject
  sudo lueur-net inject --attach pid:4242 --duration 2m --with-packet-loss --packet-loss-rate 0.1 \\
      --packet-loss-sched "start:25%,duration:25%" --to 10.0.0.0/8:5432
\b
  # the faults of a scenario file's item, until Ctrl-C
  sudo lueur-net inject --attach /proc/4242/ns/net --faults faults.yaml
\b
  # 200 ms on the traffic arriving in one Kubernetes pod, for 5 minutes (docs/kubernetes.md)
  sudo lueur-net inject --attach pod:shop/checkout-7d9f --duration 5m --with-latency --latency-mean 200 \\
      --latency-direction ingress
\b
  # what would be done (plan and equivalent commands); changes nothing
  sudo lueur-net inject --attach web --with-blackhole --dry-run
\b
  # from another shell
  sudo lueur-net inject list
  sudo lueur-net inject stop 3fa9c1
"""


def _number(kind: str) -> Any:
    return {"float": float, "int": int}.get(kind, str)


def _fault_options(function: Any) -> Any:
    """One block of options per fault family (lueur's names), added in FLAG_FAULTS order."""
    for family in reversed(FLAG_FAULTS):
        options = [click.option(family.enable, family.enable_dest, is_flag=True, default=False,
                                help=f"Enable the {family.type} fault"
                                + ("." if family.lueur else " (lueur-net's extension)."))]
        for param in family.params:
            kind: Any = click.Choice(param.kind[len("choice:"):].split(",")) if param.kind.startswith("choice:") \
                else _number(param.kind)
            options.append(click.option(family.option(param.flag), family.dest(param.flag), type=kind,
                                        default=None, help=param.help))
        if family.directed:
            options.append(click.option(family.option("direction"), family.dest("direction"),
                                        type=click.Choice(["ingress", "egress", "both"]), default=None,
                                        help=f"ingress (arriving in the namespace), egress or both "
                                        f"[default: {family.direction}]."))
        options.append(click.option(family.option("sched"), family.dest("sched"), metavar="PERIODS", default=None,
                                    help="When it is active: 'start:30s,duration:60s', '%' of --duration."))
        for option in reversed(options):
            function = option(function)
    return function


@click.group(invoke_without_command=True, epilog=EPILOG)
@click.option("--attach", metavar="TARGET", help="The namespace: an `ip netns` name, /proc/PID/ns/net, pid:PID, container:ID (CRI, docker, podman, "
              "nerdctl) or pod:NAMESPACE/NAME (CRI).")
@click.option("--iface", metavar="NAME", help="The interface to fault [default: the namespace's default-route "
              "interface].")
@click.option("--duration", metavar="TIME", help="How long to hold the faults ('5m', '30s', '90' = s); the "
              "faults then revert and the exit status is 0 [default: until Ctrl-C, at most 1 h].")
@click.option("--faults", "faults_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Take the fault list of a scenario file's item instead of fault flags.")
@click.option("--to", metavar="CIDR[:PORT]", help="Only traffic with this peer (source of what arrives, "
              "destination of what leaves), and its port.")
@click.option("--port", metavar="PORT", help="Only packets with this port at either end (TCP unless --protocol).")
@click.option("--protocol", type=click.Choice(["tcp", "udp"]), help="Only this protocol.")
@click.option("--dry-run", is_flag=True, help="Print the plan and the equivalent commands; change nothing.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the faults' random draws.")
@click.option("--allow-host-interface", is_flag=True, help="Allow the host's own namespace (refused otherwise: "
              "your own connection could suffer).")
@_fault_options
@click.pass_context
def inject(ctx: click.Context, attach: str | None, iface: str | None, duration: str | None,
           faults_file: str | None, to: str | None, port: str | None, protocol: str | None, dry_run: bool,
           seed: int, allow_host_interface: bool, **flags: Any) -> None:
    """Hold faults on the live traffic of an existing network namespace (a pod, a container, an `ip netns`).

    Fault flags are lueur's (`fault run --with-latency --latency-mean 300 ...`) plus lueur-net's extensions;
    their values, units and defaults are those of a scenario file's faults.

    Exit status: 0 at the end of --duration (everything reverted), 2 bad input (nothing changed), 3 environment
    problem, 130 on Ctrl-C, SIGTERM or `inject stop` (everything reverted).
    """
    if ctx.invoked_subcommand is not None:
        if attach is not None or any(value not in (None, False) for value in flags.values()):
            raise BadInput("`inject list` and `inject stop` take no fault options")
        return
    from lueur_net.inject.flags import build_request

    request = build_request(flags, duration=duration, faults_file=faults_file, to=to, port=port, protocol=protocol)
    if attach is None:
        raise BadInput("--attach TARGET is required: the namespace to inject into")
    if dry_run:
        click.echo(_dry_run(request, attach, iface, allow_host_interface))
        ctx.exit(EXIT_OK)
    from lueur_net.inject.hold import hold

    live = sys.stderr.isatty()

    def started(status: Any, plan: Any) -> None:
        click.echo(f"inject {status.run_id}: {len(plan.faults)} fault(s) on {status.iface} in {attach}"
                   + ("" if request.duration_s is None else f" for {request.duration_s:g}s")
                   + f"; stop with Ctrl-C or `lueur-net inject stop {status.run_id}`", err=True)
        for fault in plan.faults:
            click.echo(f"  {fault.id} {fault.type} {fault.hook} via {fault.backend}", err=True)

    def refresh(status: Any) -> None:
        if live:
            sys.stderr.write("\r\033[K" + status.line())
            sys.stderr.flush()

    try:
        last = hold(request, attach, iface=iface, allow_host_interface=allow_host_interface, seed=seed,
                    on_start=started, on_status=refresh)
    finally:
        if live:
            sys.stderr.write("\r\033[K")
    click.echo(last.line().replace(" | 0s left", "") + " | done, reverted", err=True)
    ctx.exit(EXIT_OK)


def _dry_run(request: Any, attach: str, iface: str | None, allow_host_interface: bool) -> str:
    """The plan for the target's interface and the equivalent commands (resolved and probed when root)."""
    import os

    from lueur_net.inject.flags import plan_request
    from lueur_net.plan import Capabilities, render_plan

    root = os.geteuid() == 0
    path = None
    if root:
        from lueur_net.dataplane import probe
        from lueur_net.lab.attach import attach as resolve_attachment

        capabilities = probe.probe_capabilities()
        path = resolve_attachment(attach, iface, allow_host_interface=allow_host_interface).path
        source = f"capabilities probed on this kernel ({os.uname().release})"
    else:
        capabilities = Capabilities.all_present()
        source = "not root: planned for a stock kernel with every feature (run as root to plan for this one)"
    plan = plan_request(request, capabilities)
    lines = [f"# dry run: nothing is changed; {source}",
             "# direction is relative to the namespace: ingress = arriving in it, egress = leaving it "
             "(in the plan's lab terms: the namespace is the client end, `responses` arrive, `requests` leave)",
             f"# target {attach}: faults go on {path.client.ifname if path else 'its interface (<client-if>)'}; "
             f"scope: {request.scope.describe()}; "
             + ("until Ctrl-C (at most 1 h)" if request.duration_s is None else f"for {request.duration_s:g}s"),
             render_plan(plan, path)]
    return "\n".join(lines)


@inject.command("list")
def list_injects() -> None:
    """The injects running on this machine (from their ledgers under /run/lueur-net)."""
    from lueur_net.inject.status import describe, running

    found = running()
    if not found:
        click.echo("no inject running")
    for entry in found:
        click.echo(describe(entry))


@inject.command("stop")
@click.argument("run_id")
def stop_inject(run_id: str) -> None:
    """Stop inject RUN_ID (SIGTERM: it reverts everything and exits 130) and wait for it."""
    from lueur_net.inject.status import stop

    entry = stop(run_id)
    if entry.get("stopped"):
        click.echo(f"stopped inject {run_id} (pid {entry['pid']})"
                   + ("; its ledger is left: run `sudo lueur-net clean`" if entry.get("ledger_left") else ""))
    else:
        raise BadInput(f"inject {run_id} (pid {entry['pid']}) did not stop within 15 s")


