"""`lueur-net clean`: remove what killed runs left behind, from their ledgers; never touch anything else."""

from __future__ import annotations

import click

from lueur_net.errors import EXIT_ENVIRONMENT


@click.command(
    epilog="""\b
Examples:
  sudo lueur-net clean
  sudo LUEUR_NET_RUN_DIR=/tmp/my-runs lueur-net clean
"""
)
@click.pass_context
def clean(ctx: click.Context) -> None:
    """Remove the namespaces, links, qdiscs, filters, nft tables, files and server processes of runs that died.

    Only objects recorded in a dead run's ledger (under /run/lueur-net) are removed; live runs and everything
    lueur-net did not create are left alone.
    """
    from lueur_net import ledger
    from lueur_net.lab.lab import require_root

    require_root()
    live = ledger.live_runs()
    removed, failures = ledger.clean()
    for description in removed:
        click.echo(f"removed {description}")
    for failure in failures:
        click.echo(f"could not remove {failure}", err=True)
    if not removed and not failures:
        click.echo("nothing to clean")
    if live:
        click.echo(f"left alone: {len(live)} live run(s): " + ", ".join(str(h.get("run_id")) for h in live))
    if failures:
        ctx.exit(EXIT_ENVIRONMENT)
