"""`lueur-net analyze`: a narrative resilience report from a local Ollama model, or the offline analysis."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lueur_net.analysis.defaults import DEFAULT_MODEL, DEFAULT_NUM_CTX, DEFAULT_TIMEOUT_S, ROLES
from lueur_net.errors import EXIT_BAD_INPUT, EXIT_ENVIRONMENT

EPILOG = f"""\b
Examples:
  lueur-net analyze results.json                                   # model {DEFAULT_MODEL}, analysis.md
  lueur-net analyze results.json --model qwen2.5:7b --role sre -o sre.md
  lueur-net analyze results.json --source-dir examples/fastapi-sqlite   # diffs against the app's code
  OLLAMA_HOST=http://10.0.0.5:11434 lueur-net analyze results.json
  lueur-net analyze results.json --offline                         # deterministic findings only

\b
The model is asked in steps (posture, SLO deep dive, causes, recommendations, threats,
executive summary); its answer streams to stderr. Secrets are redacted from everything
sent. When the server is unreachable, times out, or lacks the model, the offline analysis
is written instead and the exit status says why: 0 report written by the model (or
--offline), 2 unknown model (the message lists the server's models), 3 server unreachable
or timing out.
"""


@click.command(epilog=EPILOG)
@click.argument("results", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--records", type=click.Path(dir_okay=False, path_type=Path),
              help="The per-call records file; default: the one results.json names.")
@click.option("--model", default=DEFAULT_MODEL, show_default=True, help="Ollama model name.")
@click.option("--ollama-host", metavar="URL", help="Ollama server [default: $OLLAMA_HOST or http://127.0.0.1:11434].")
@click.option("--source-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="The service's source code: its most relevant source and config text files are sent "
                   "(redacted; at most 16,000 characters in all; no dependency, venv or build folders, hidden, "
                   "lock, binary or big files; the terminal says what was skipped) and recommendations come "
                   "as unified diffs.")
@click.option("--role", type=click.Choice(ROLES), default="developer", show_default=True,
              help="Whose point of view the report takes.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("analysis.md"),
              show_default=True, help="Where to write the report.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1.0), default=DEFAULT_TIMEOUT_S,
              show_default=True, help="Seconds to wait for each answer of the server.")
@click.option("--num-ctx", type=click.IntRange(min=2048), default=DEFAULT_NUM_CTX, show_default=True,
              help="Context window (tokens) asked of the model.")
@click.option("--offline", is_flag=True, help="Do not ask a model: write the offline analysis.")
@click.option("-q", "--quiet", is_flag=True, help="Do not stream the model's answer to stderr.")
@click.pass_context
def analyze(ctx: click.Context, results: Path, records: Path | None, model: str, ollama_host: str | None,
            source_dir: Path | None, role: str, output: Path, timeout_s: float, num_ctx: int, offline: bool,
            quiet: bool) -> None:
    """Analyse RESULTS (a results.json) with a local LLM through Ollama and write a Markdown report."""
    from lueur_net.analysis.llm import LlmOptions, write_analysis
    from lueur_net.analysis.loading import load_run
    from lueur_net.analysis.redact import Redactor
    from lueur_net.analysis.reports import ReportPaths, write_reports

    redactor = Redactor()
    run = load_run(results, records, redactor)
    if offline:
        write_reports(run, ReportPaths(markdown=output), redactor=redactor, source=str(results))
        click.echo(f"analysis (offline): {output}", err=True)
        return
    options = LlmOptions(model=model, host=ollama_host, role=role, source_dir=source_dir, timeout_s=timeout_s,
                         num_ctx=num_ctx)
    click.echo(f"lueur-net: asking {model} on {options.resolved_host()} ...", err=True)

    def progress(text: str) -> None:
        if not quiet:
            sys.stderr.write(text)
            sys.stderr.flush()

    def notice(text: str) -> None:  # shown even with --quiet: what --source-dir sent and skipped
        sys.stderr.write(text)
        sys.stderr.flush()

    outcome = write_analysis(run, output, options, progress=progress, redactor=redactor, notice=notice)
    if outcome.used_llm:
        click.echo(f"analysis: {output}", err=True)
        return
    click.echo(f"lueur-net: error: {outcome.problem}", err=True)
    click.echo(f"analysis (offline, written instead): {output}", err=True)
    ctx.exit(EXIT_BAD_INPUT if outcome.unknown_model else EXIT_ENVIRONMENT)
