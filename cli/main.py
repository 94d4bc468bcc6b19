"""The `lueur-net` entry point: a click group whose subcommands are imported only when used.

Each command lives in its own module of this package; COMMANDS maps the command name to "module:attribute".
Lazy loading keeps `lueur-net --help` and `scenario validate` fast (pandas and pyroute2 are not imported for them).
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
import threading
import time
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


# The monotonic time this process started, set by entry() (the console script) so `run` counts the interpreter's
# start and the imports before it in its total; None when the CLI is called in-process (tests call main()).
process_started: float | None = None


def seconds_since_process_start() -> float:
    """How long ago this process started: /proc/self/stat's start time (clock ticks since boot, field 22) against
    CLOCK_BOOTTIME. 10 ms resolution; 0 where /proc cannot tell."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()  # after the command name, fields start at number 3
        started = int(fields[22 - 3]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)


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


def entry() -> None:
    """The console script: main(), then exit without tearing the interpreter down.

    The interpreter's finalisation (pandas, pyarrow, pyroute2 modules freed one by one) took 0.1-0.3 s after a
    run's last line (measured from an atexit hook to the process's end). Every file is closed and every kernel
    object reverted by then; atexit handlers still run and the standard streams are flushed. When a non-daemon
    thread is still running, the normal exit (which waits for it) is kept."""
    global process_started
    process_started = time.monotonic() - seconds_since_process_start()
    code = main()
    if any(not thread.daemon for thread in threading.enumerate() if thread is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()  # noqa: SLF001 - what a normal exit runs first
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`lueur-net ... | head`): nothing left to say
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()
