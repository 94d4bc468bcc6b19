"""`lueur-net lab up|down|list` and `lueur-net shell`: labs for manual exploration."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from typing import Any

import click


from lueur_net.errors import EnvironmentProblem

POOL_HELP = ("Range the labs take their /29 blocks from, inside 10/8, 172.16/12, 192.168/16 or 100.64/10 "
             "[default: $LUEUR_NET_LAB_POOL, else 10.213.0.0/16].")

URL_PATTERN = re.compile(r"https?://[^\s'\"]+")


def _serve_spec(command: str | None, timeout: float) -> Any:
    if command is None:
        return None
    from lueur_net.lab.serve import ServeSpec

    return ServeSpec(command, cwd=os.getcwd(), env=dict(os.environ), ready_timeout=timeout)


def _print_lab(lab: dict[str, Any]) -> None:
    click.echo(f"lab {lab['run_id']} (holder pid {lab['pid']}, addresses {lab['block']})")
    click.echo(f"  client namespace  {lab['client_netns']}")
    for name in ("host_path", "server_path"):
        path = lab.get(name)
        if path:
            client, server = path["client"], path["server"]
            where = server["netns"] or "host"
            click.echo(
                f"  {name.replace('_', ' '):17} {client['ifname']} {client['address']} (ifindex {client['ifindex']})"
                f"  <->  {server['ifname']} {server['address']} (ifindex {server['ifindex']}, in {where})"
            )
    for url, upstream in lab.get("upstreams", {}).items():
        click.echo(f"  upstream          {url} -> {upstream['address']}:{upstream['port']} ({upstream['where']})")
    if lab.get("server_pid"):
        click.echo(f"  server            pid {lab['server_pid']}, output in {lab['server_log']}")


@click.group(
    epilog="""\b
Examples:
  sudo lueur-net lab up http://localhost:9090/
  sudo lueur-net lab up --serve "python3 -m http.server 9090" http://localhost:9090/
  sudo lueur-net lab list
  sudo lueur-net shell --lab 3fa21b -- curl -s http://localhost:9090/
  sudo lueur-net lab down 3fa21b
"""
)
def lab() -> None:
    """Keep a lab up for manual exploration (namespaces, veth pairs, NAT), list labs, take them down."""


@lab.command(
    epilog="""\b
Examples:
  sudo lueur-net lab up http://localhost:9090/
  sudo lueur-net lab up --serve "uvicorn app:app --port 9090" http://localhost:9090/
  sudo lueur-net lab up --pool 172.30.0.0/24 http://localhost:8080/ http://localhost:5432/
  sudo lueur-net lab up --dns http://myhost:8080/      # lookups cross the lab (for DNS faults)
"""
)
@click.argument("urls", nargs=-1)
@click.option("--serve", "serve_command", metavar="CMD", help="Start this server in its own namespace (cwd, env kept).")
@click.option("--serve-timeout", default=30.0, show_default=True, help="Seconds to wait for the server's port.")
@click.option("--pool", "lab_pool", metavar="CIDR", help=POOL_HELP)
@click.option("--lab-pool", "lab_pool", metavar="CIDR", hidden=True)  # the old name, still accepted
@click.option("--dns", is_flag=True, help="Resolve names through the lab's DNS responder, across the lab's path.")
def up(
    urls: tuple[str, ...], serve_command: str | None, serve_timeout: float, lab_pool: str | None, dns: bool
) -> None:
    """Build a lab in which URLS work as written, keep it up, print its names and addresses."""
    from lueur_net.lab import kept
    from lueur_net.lab.lab import require_root

    require_root()
    description = kept.start(list(urls), _serve_spec(serve_command, serve_timeout), lab_pool, dns)
    _print_lab(description)
    click.echo(f"enter it: sudo lueur-net shell --lab {description['run_id']}")
    click.echo(f"take it down: sudo lueur-net lab down {description['run_id']}")


@lab.command(
    epilog="""\b
Examples:
  sudo lueur-net lab down            # the only lab that is up
  sudo lueur-net lab down 3fa21b
"""
)
@click.argument("lab_id", required=False)
def down(lab_id: str | None) -> None:
    """Take a lab down (reverting everything it created)."""
    from lueur_net.lab import kept
    from lueur_net.lab.lab import require_root

    require_root()
    description = kept.find(lab_id)
    kept.stop(description)
    click.echo(f"lab {description['run_id']} is down")


@lab.command(
    name="list",
    epilog="""\b
Examples:
  sudo lueur-net lab list
  sudo lueur-net lab list --json
""",
)
@click.option("--json", "as_json", is_flag=True, help="Print the labs as JSON.")
def list_labs(as_json: bool) -> None:
    """List the labs that are up."""
    from lueur_net.lab import kept

    labs = kept.kept_labs()
    if as_json:
        click.echo(json.dumps(labs, indent=2))
        return
    if not labs:
        click.echo("no lab is up")
    for description in labs:
        _print_lab(description)


def run_inside(netns: str, argv: list[str], env_extra: dict[str, str]) -> int:
    """Run argv in a child inside `netns` (with its /etc/netns files); return its exit status.

    A SIGTERM/SIGHUP at any instant either stops us before the fork, or kills and reaps the child and then acts
    as its handler says; Ctrl-C belongs to the command (lueur_net.lab.signals.run_forked says why).
    """
    from lueur_net.lab.enter import enter_netns
    from lueur_net.lab.signals import run_forked

    def command() -> None:
        status = 126
        try:
            enter_netns(netns)
            os.environ.update(env_extra)
            status = 127
            os.execvp(argv[0], argv)
        except BaseException as error:  # noqa: BLE001 - report and exit with a shell-like status
            print(f"lueur-net: cannot run {argv[0]}: {error}", file=sys.stderr)
        finally:
            os._exit(status)

    (ended,) = run_forked([command], sigint_to_children=True)
    status = ended.status
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


@click.command(
    context_settings={"ignore_unknown_options": True},
    epilog="""\b
Examples:
  sudo lueur-net shell -- curl -s http://localhost:9090/      # a lab made for this command
  sudo lueur-net shell --upstream http://localhost:9090/       # an interactive shell in a fresh lab
  sudo lueur-net shell --lab 3fa21b                            # a shell in a lab kept up by `lab up`
  sudo lueur-net shell --serve "python3 -m http.server 9090" -- curl -sI http://localhost:9090/
  sudo lueur-net shell --attach container:3f2a9c -- ss -tnp                # inside a pod's namespace
""",
)
@click.option("--lab", "lab_id", metavar="ID", help="Enter this lab kept up by `lab up` (else a lab made for the command).")
@click.option("--attach", "target", metavar="TARGET",
              help="Enter an existing namespace instead: NAME, /proc/PID/ns/net, pid:PID, container:ID or "
                   "pod:NAMESPACE/NAME.")
@click.option("--upstream", "upstreams", multiple=True, metavar="URL", help="A URL the fresh lab must reach (repeatable).")
@click.option("--serve", "serve_command", metavar="CMD", help="Start this server in its own namespace first.")
@click.option("--serve-timeout", default=30.0, show_default=True, help="Seconds to wait for the server's port.")
@click.option("--pool", "lab_pool", metavar="CIDR", help=POOL_HELP)
@click.option("--lab-pool", "lab_pool", metavar="CIDR", hidden=True)  # the old name, still accepted
@click.option("--dns", is_flag=True, help="Resolve names through the lab's DNS responder, across the lab's path.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def shell(
    ctx: click.Context,
    lab_id: str | None,
    target: str | None,
    upstreams: tuple[str, ...],
    serve_command: str | None,
    serve_timeout: float,
    lab_pool: str | None,
    dns: bool,
    command: tuple[str, ...],
) -> None:
    """Run a shell, or COMMAND, inside a lab's client namespace.

    Without --lab, a lab is built for this command and removed after it: it reaches every --upstream URL and
    every http(s):// URL written in COMMAND, exactly as written.
    """
    from lueur_net.lab.lab import require_root

    require_root()
    argv = list(command) or [os.environ.get("SHELL", "/bin/sh")]
    if target is not None:
        from lueur_net.lab.attach import resolve_target

        if lab_id or upstreams or serve_command:
            raise click.UsageError("--attach enters an existing namespace; it excludes --lab, --upstream and --serve")
        ctx.exit(run_inside(resolve_target(target), argv, {}))
    if lab_id is not None:
        from lueur_net.lab import kept

        if upstreams or serve_command or dns:
            raise click.UsageError("--upstream, --serve and --dns build a fresh lab; they cannot be used with --lab")
        description = kept.find(lab_id)
        ctx.exit(run_inside(description["client_netns"], argv, {"LUEUR_NET_LAB": description["run_id"]}))
    from lueur_net.lab import Lab, terminate_on_signals
    from lueur_net.ledger import Ledger

    urls = list(dict.fromkeys([*upstreams, *(m.group(0) for arg in command for m in URL_PATTERN.finditer(arg))]))
    with terminate_on_signals(), Ledger.open("shell") as journal:
        spec = _serve_spec(serve_command, serve_timeout)
        with Lab.create(urls, journal, spec, pool=lab_pool, dns=dns) as built:
            code = run_inside(built.client_netns, argv, {"LUEUR_NET_LAB": built.run_id})
    if journal.pending:
        raise EnvironmentProblem("the lab could not be removed completely; run `sudo lueur-net clean`")
    ctx.exit(code)
