"""`lueur-net scenario`: validate scenario files, print their JSON Schema, show them normalised, generate them from
an OpenAPI document."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
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

GENERATE_EPILOG = """\b
Examples:
  lueur-net scenario generate --spec-file openapi.json                # 8 scenarios per GET operation, to stdout
  lueur-net scenario generate --spec-url http://localhost:9090/openapi.json -o scenarios/
  lueur-net scenario generate --spec-file api.yaml --base-url http://localhost:8080 -o scenarios.yaml
  lueur-net scenario generate --spec-file api.yaml --methods GET,POST --only-operation create_user -o s/
  lueur-net scenario generate --spec-file api.yaml --param user_id=42 -o s/     # an id that exists
  lueur-net scenario generate --spec-file api.yaml --templates my-templates/ -o s/ --force
  sudo lueur-net scenario generate --serve examples/fastapi-sqlite/serve \\
      --spec-url http://localhost:9090/openapi.json -o scenarios/

\b
--output: a path ending in '/', an existing directory or a name without .yaml/.yml gets one file per operation
(named from its operationId, else method and path); otherwise one multi-document file. Existing files are kept
unless --force. Templates: docs/generate.md. Exit status: 0 written, 2 bad spec, option or template (nothing
written), 3 the machine cannot (--serve without root).
"""

GROUP_EPILOG = """\b
Examples:
  lueur-net scenario generate --spec-url http://localhost:9090/openapi.json -o scenarios/
  lueur-net scenario validate examples/fastapi-sqlite/scenario.yaml
  lueur-net scenario show examples/fastapi-sqlite/scenario.yaml --json
  lueur-net scenario schema > scenario.schema.json
"""


@click.group(epilog=GROUP_EPILOG)
def scenario() -> None:
    """Check, inspect and generate lueur scenario files (no root needed, except generate --serve)."""


def _files_command(epilog: str) -> Callable[[Callable[..., None]], click.Command]:
    """A `scenario` subcommand over PATHS, files and directories (check() walks directories for *.yaml/*.yml), given
    its click context first (it sets the exit status)."""
    paths = click.argument("paths", nargs=-1, required=True, type=click.Path())

    def command(function: Callable[..., None]) -> click.Command:
        return scenario.command(epilog=epilog)(paths(click.pass_context(function)))

    return command


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _report_errors(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)


@_files_command(VALIDATE_EPILOG)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and warnings, not the OK lines.")
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


@_files_command(SHOW_EPILOG)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list, one entry per scenario) instead of YAML.")
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


def _output_is_directory(output: str) -> bool:
    path = Path(output)
    return output.endswith(("/", "\\")) or path.is_dir() or path.suffix.lower() not in (".yaml", ".yml")


def _methods(text: str) -> tuple[str, ...]:
    from lueur_net.generate import GenerateError
    from lueur_net.scenario import HTTP_METHODS

    methods = tuple(dict.fromkeys(part.strip().upper() for part in text.split(",") if part.strip()))
    unknown = [method for method in methods if method not in HTTP_METHODS]
    if not methods or unknown:
        raise GenerateError(f"--methods {text}: {unknown[0] if unknown else 'empty'} is not an HTTP method "
                            f"(one or more of {', '.join(HTTP_METHODS)}, comma-separated)")
    return methods


def _params(given: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    from lueur_net.generate import GenerateError

    pairs = []
    for text in given:
        name, equals, value = text.partition("=")
        if not equals or not name.strip():
            raise GenerateError(f"--param {text!r}: expected NAME=VALUE (e.g. --param user_id=42)")
        pairs.append((name.strip(), value))
    return tuple(pairs)


@scenario.command(epilog=GENERATE_EPILOG)
@click.option("--spec-file", type=click.Path(dir_okay=False), metavar="PATH",
              help="The OpenAPI 3.0/3.1 document, JSON or YAML.")
@click.option("--spec-url", metavar="URL", help="Fetch the OpenAPI document from this http(s) URL.")
@click.option("-o", "--output", metavar="FILE|DIR", help="Where to write [default: stdout, one multi-document "
              "stream].")
@click.option("--base-url", metavar="URL", help="Calls go to URL + path [default: the spec's first server, "
              "else the --spec-url's origin].")
@click.option("--methods", default="GET", show_default=True, metavar="M,M",
              help="Methods to generate for, comma-separated; unsafe ones (POST, PUT, PATCH, DELETE) get a "
              "warning: their calls make real writes.")
@click.option("--only-operation", "only_operations", multiple=True, metavar="ID",
              help="Only this operation (operationId or 'METHOD /path', any method); repeatable.")
@click.option("--upstream", "upstreams", multiple=True, metavar="URL",
              help="The scenarios' context.upstreams (whose traffic the faults hit) [default: the call's "
              "origin]; repeatable.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="The value of the parameters named NAME (path, query, header, cookie) instead of one built from "
              "the schema (e.g. an id that exists: --param user_id=42); repeatable.")
@click.option("--templates", "templates_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Add these *.yaml templates; one named like a built-in replaces it.")
@click.option("--no-builtin-templates", is_flag=True, help="Use only the --templates ones.")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--serve", metavar="CMD", help="Start the application with CMD in a lab namespace just long enough "
              "to fetch --spec-url (root).")
@click.option("--serve-timeout", type=float, default=30.0, show_default=True, metavar="SECONDS",
              help="Seconds to wait for the --serve application's port.")
@click.option("--timeout", type=float, default=10.0, show_default=True, metavar="SECONDS",
              help="Timeout of the --spec-url fetch.")
def generate(spec_file: str | None, spec_url: str | None, output: str | None, base_url: str | None, methods: str,
             only_operations: tuple[str, ...], upstreams: tuple[str, ...], params: tuple[str, ...],
             templates_dir: str | None,
             no_builtin_templates: bool, force: bool, serve: str | None, serve_timeout: float,
             timeout: float) -> None:
    """Write the reference guide's eight scenarios for each operation of an OpenAPI 3.0/3.1 document."""
    from lueur_net import generate as gen
    from lueur_net.generate import fetch

    if (spec_file is None) == (spec_url is None):
        raise gen.GenerateError("give exactly one of --spec-file PATH and --spec-url URL")
    if serve is not None and spec_url is None:
        raise gen.GenerateError("--serve needs --spec-url (where the started application serves its spec)")
    if timeout <= 0 or serve_timeout <= 0:
        raise gen.GenerateError("--timeout and --serve-timeout must be positive")
    options = gen.Options(base_url=base_url, methods=_methods(methods), only_operations=only_operations,
                          upstreams=upstreams, params=_params(params))
    templates = gen.load_templates(Path(templates_dir) if templates_dir else None, builtin=not no_builtin_templates)
    if spec_file is not None:
        try:
            text = Path(spec_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise gen.GenerateError(f"--spec-file {spec_file}: cannot read: "
                                    f"{getattr(error, 'strerror', None) or error}") from None
        spec = gen.load_spec(text, spec_file)
    else:
        assert spec_url is not None
        text = fetch.fetch_served(spec_url, serve, timeout, serve_timeout) if serve else fetch.fetch_url(spec_url, timeout)
        spec = gen.load_spec(text, spec_url, url=spec_url)
    result = gen.generate(spec, templates, options)
    scenarios = sum(len(entry.documents) for entry in result.operations)
    if output is None:
        files = {"<stdout>": gen.single_file(result.operations, "<stdout>")}
    elif _output_is_directory(output):
        files = {str(Path(output) / name): text for name, text in gen.per_operation(result.operations).items()}
    else:
        files = {output: gen.single_file(result.operations, output)}
    existing = [name for name in files if name != "<stdout>" and Path(name).exists()]
    if existing and not force:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise gen.GenerateError(f"{existing[0]}{more}: already exists; nothing written (--force overwrites)")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    for name, content in files.items():
        if name == "<stdout>":
            sys.stdout.write(content)
            continue
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text(content, encoding="utf-8")
    where = "stdout" if output is None else (f"{_plural(len(files), 'file')} in {output}" if _output_is_directory(output)
                                              else output)
    click.echo(f"{_plural(scenarios, 'scenario')} for {_plural(len(result.operations), 'operation')} "
               f"({len(templates)} templates) written to {where}", err=True)
