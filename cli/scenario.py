"""`lueur-net scenario`: validate scenario files, print their JSON Schema, show them normalised."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import click

from lueur_net.errors import EXIT_BAD_INPUT
from lueur_net.scenario import LoadedScenario, Problem, check, json_schema

VALIDATE_EPILOG = """\b
Examples:
  lueur-net scenario validate examples/fastapi-sqlite/scenario.yaml
  lueur-net scenario validate scenarios/              # every *.yaml/*.yml below, sorted
  lueur-net scenario validate a.yaml b.yaml -q        # errors only

\b
Exit status: 0 every scenario is valid (warnings allowed), 2 at least one error.
Each problem is one line: path:line:column: field.path: message.
"""

SCHEMA_EPILOG = """\b
Examples:
  lueur-net scenario schema > scenario.schema.json
  lueur-net scenario schema | python3 -m json.tool | less
"""

SHOW_EPILOG = """\b
Examples:
  lueur-net scenario show examples/fastapi-sqlite/scenario.yaml
  lueur-net scenario show examples/fastapi-sqlite/scenario.yaml --json | jq '.[2].scenario.items[0].windows'

\b
Units in the output: durations of calls, latencies, steps and waits in ms; the load duration in
seconds; probabilities 0..1; rates also as bytes_per_second; fault windows in seconds from the
start of the load (load) or of each call (single, repeat).
"""

GROUP_EPILOG = """\b
Examples:
  lueur-net scenario validate examples/fastapi-sqlite/scenario.yaml
  lueur-net scenario show examples/fastapi-sqlite/scenario.yaml --json
  lueur-net scenario schema > scenario.schema.json
"""


@click.group(epilog=GROUP_EPILOG)
def scenario() -> None:
    """Check and inspect lueur scenario files (no root needed, nothing is changed)."""


# The files and directories `validate` and `show` read (check() walks directories for *.yaml/*.yml).
_PATHS = click.argument("paths", nargs=-1, required=True, type=click.Path())


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _report_errors(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)


@scenario.command(epilog=VALIDATE_EPILOG)
@_PATHS
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and warnings, not the OK lines.")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[str, ...], quiet: bool) -> None:
    """Check scenario files and directories; report every problem with its file, line and column."""
    loaded, problems = check(paths)
    by_source: dict[str, list[LoadedScenario]] = defaultdict(list)
    for entry in loaded:
        by_source[entry.source].append(entry)
    warnings = 0
    for source, entries in by_source.items():
        for entry in entries:
            if not quiet:
                items = _plural(len(entry.scenario.items), "item")
                click.echo(f"OK  {source} #{entry.document + 1}: {entry.scenario.title} ({items})")
            for warning in entry.warnings:
                click.echo(f"    {warning}")
                warnings += 1
    _report_errors(problems)
    files = {problem.source for problem in problems}
    summary = f"{_plural(len(loaded), 'valid scenario')}, {_plural(warnings, 'warning')}"
    if problems:
        click.echo(f"{summary}; {_plural(len(problems), 'error')} in {_plural(len(files), 'file')}", err=True)
        ctx.exit(EXIT_BAD_INPUT)
    click.echo(summary)


@scenario.command(epilog=SCHEMA_EPILOG)
def schema() -> None:
    """Print the JSON Schema of one scenario document (generated from the validating models)."""
    click.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))


def _normalised(entry: LoadedScenario) -> dict[str, Any]:
    scenario = entry.scenario.model_dump(mode="json", by_alias=True)
    for item in scenario["items"]:
        # `type` first reads better; the models declare it after the fields every fault shares.
        item["context"]["faults"] = [
            {"type": fault["type"], **{key: value for key, value in fault.items() if key != "type"}}
            for fault in item["context"]["faults"]
        ]
    return {
        "source": entry.source,
        "document": entry.document,
        "scenario": scenario,
        "warnings": [str(warning) for warning in entry.warnings],
    }


@scenario.command(epilog=SHOW_EPILOG)
@_PATHS
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list, one entry per scenario) instead of YAML.")
@click.pass_context
def show(ctx: click.Context, paths: tuple[str, ...], as_json: bool) -> None:
    """Print the scenarios as lueur-net reads them: defaults filled in, units resolved, windows computed."""
    loaded, problems = check(paths)
    if problems:
        _report_errors(problems)
        click.echo(f"{_plural(len(problems), 'error')}; nothing shown", err=True)
        ctx.exit(EXIT_BAD_INPUT)
    documents = [_normalised(entry) for entry in loaded]
    if as_json:
        click.echo(json.dumps(documents, indent=2, ensure_ascii=False))
        return
    import yaml

    click.echo(yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=True, width=110), nl=False)
