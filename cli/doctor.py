"""`lueur-net doctor`: what this kernel can do, probed for real, and which backend each fault type uses here."""

from __future__ import annotations

import json
import os

import click

from lueur_net.errors import EXIT_ENVIRONMENT, EnvironmentProblem

# The fault types of lueur's own format: without a backend for one of these, doctor fails.
CORE_TYPES = ("latency", "jitter", "bandwidth", "packetloss", "blackhole", "httperror", "dns")

GROUPS = (
    ("qdiscs", ("netem", "tbf", "htb", "fq", "ingress", "clsact")),
    ("classifiers", ("u32", "bpf", "matchall", "flower")),
    ("actions", ("mirred", "gact")),
    ("other", ("ifb", "tcx", "bpf_load", "nfqueue", "nfqueue_python")),
)


def _mark(present: bool) -> str:
    return click.style("yes", fg="green") if present else click.style("no ", fg="red")


@click.command(
    epilog="""\b
Examples:
  sudo lueur-net doctor
  sudo lueur-net doctor --json | jq .backends
"""
)
@click.option("--json", "as_json", is_flag=True, help="Print the probe result and backend table as JSON.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Probe the kernel in a throw-away namespace (lueur-doctor-<pid>) and say which backend each fault uses.

    Every feature is tried for real (a qdisc added, a filter with an action, an IFB device, a BPF program
    loaded and attached as a tcx link, an iptables NFQUEUE rule and a bound queue), never guessed from config
    files. For each missing feature, doctor says what to install or load. Exit status 3 when a fault type of
    lueur's format has no backend here.
    """
    from lueur_net.dataplane.probe import probe_capabilities
    from lueur_net.plan.backends import PREFERENCES, backend_table
    from lueur_net.plan.capabilities import INSTALL_HINTS

    if os.geteuid() != 0:
        raise EnvironmentProblem("doctor needs root to create its probe namespace", hint="sudo lueur-net doctor")
    capabilities = probe_capabilities()
    table = backend_table(capabilities)
    missing = capabilities.missing()
    uncovered = [fault_type for fault_type in CORE_TYPES if table[fault_type] is None]
    if as_json:
        click.echo(json.dumps({
            "capabilities": capabilities.to_dict(),
            "backends": table,
            "preferences": {key: list(value) for key, value in PREFERENCES.items()},
            "missing": {name: INSTALL_HINTS.get(name, "") for name in missing},
            "ok": not uncovered,
        }, indent=2))
    else:
        click.echo(f"kernel {capabilities.kernel} (probed in a throw-away namespace)")
        for title, names in GROUPS:
            cells = "  ".join(f"{name} {_mark(getattr(capabilities, name))}" for name in names)
            click.echo(f"  {title:<12} {cells}")
        click.echo("backend per fault type here (first usable of the preferences):")
        for fault_type, chosen in table.items():
            preferred = PREFERENCES[fault_type]
            fallback = "" if chosen in (None, preferred[0]) else f"  (fallback: {preferred[0]} is missing)"
            shown = chosen if chosen else click.style("none", fg="red")
            click.echo(f"  {fault_type:<11} {shown}{fallback}")
        if missing:
            click.echo("missing, and how to get it:")
            for name in missing:
                reason = capabilities.errors.get(name, "")
                click.echo(f"  {name:<15} {reason}")
                click.echo(f"  {'':<15} -> {INSTALL_HINTS.get(name, '')}")
    if uncovered:
        if not as_json:
            click.echo(f"no backend here for: {', '.join(uncovered)}", err=True)
        ctx.exit(EXIT_ENVIRONMENT)
