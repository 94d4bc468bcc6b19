"""The `lueur-net` entry point: a click group whose subcommands are imported only when used.

Each command lives in its own module of this package; COMMANDS maps the command name to "module:attribute".
Lazy loading keeps `lueur-net --help` and `scenario validate` fast (pandas and pyroute2 are not imported for them).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from lueur_net import __version__
from lueur_net.errors import EXIT_INTERRUPTED, LueurError

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("lueur_net.cli.run", "run"),
    "scenario": ("lueur_net.cli.scenario", "scenario"),
    "doctor": ("lueur_net.cli.doctor", "doctor"),
    "lab": ("lueur_net.cli.lab", "lab"),
    "shell": ("lueur_net.cli.lab", "shell"),
    "clean": ("lueur_net.cli.clean", "clean"),
    "inject": ("lueur_net.cli.inject", "inject"),
    "report": ("lueur_net.cli.report", "report"),
    "analyze": ("lueur_net.cli.analyze", "analyze"),
}


def _available(name: str) -> bool:
    module, _ = COMMANDS[name]
    return importlib.util.find_spec(module) is not None


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise click.UsageError(f"No such command '{name}'.{hint}", ctx)
        return super().resolve_command(ctx, args)


EPILOG = """\b
Examples:
  sudo lueur-net run examples/fastapi-sqlite/scenario.yaml --serve "uvicorn app:app --port 9090"
  lueur-net scenario validate scenarios/
  sudo lueur-net doctor
  sudo lueur-net clean
"""


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="lueur-net")
def cli() -> None:
    """Inject real network faults (tc, eBPF) under an HTTP service and measure what it does."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; turn our errors into one message and an exit status, never a traceback."""
    try:
        # With standalone_mode=False click returns ctx.exit()'s code instead of exiting.
        result = cli.main(args=argv, prog_name="lueur-net", standalone_mode=False)
    except LueurError as error:
        click.echo(f"lueur-net: error: {error}", err=True)
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as error:
        error.show()
        return 2
    except click.Abort:
        click.echo("lueur-net: interrupted", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("lueur-net: interrupted", err=True)
        return EXIT_INTERRUPTED
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
