"""`lueur-net analyze`: a narrative resilience report from a local Ollama model, or the offline analysis."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lueur_net.analysis.defaults import (
    DEFAULT_NUM_CTX,
    DEFAULT_NUM_PREDICT,
    DEFAULT_TIMEOUT_S,
    DEFAULT_TOTAL_TIMEOUT_S,
    MIN_NUM_CTX,
    MODEL_ENV,
    ROLES,
)
from lueur_net.errors import EXIT_BAD_INPUT, EXIT_ENVIRONMENT, EXIT_INTERRUPTED, EXIT_OK
if TYPE_CHECKING:
    from lueur_net.analysis.llm import LlmOptions

EPILOG = f"""\b
Examples:
  lueur-net analyze results.json                                   # first model that fits, analysis.md
  lueur-net analyze --list-models                                  # what the server has, and what fits
  lueur-net analyze results.json --model qwen2.5:7b --role sre -o sre.md
  lueur-net analyze results.json --source-dir examples/fastapi-sqlite   # diffs against the app's code
  OLLAMA_HOST=http://10.0.0.5:11434 lueur-net analyze results.json
  lueur-net analyze results.json --offline                         # deterministic findings only

\b
The model is asked in steps (posture, SLO deep dive, causes, recommendations, threats,
executive summary); its answer streams to stderr with each step's tokens/s. Every prompt is
fitted to num_ctx with room for the answer (what was dropped is printed). An answer that is
empty, repeated, not English or missing its table is retried once, then replaced by the
offline analyzer's section (marked). Figures in the summary and SLO deep dive that are not in
the results are flagged. Ctrl-C writes what is done (exit 130). Secrets are redacted from
everything sent. When the server is unreachable, times out, or lacks the model, the offline
analysis is written instead and the exit status says why: 0 report written by the model (or
--offline), 2 unknown model (the message lists the server's models), 3 server unreachable
or timing out.
"""


@click.command(epilog=EPILOG)
@click.argument("results", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--records", type=click.Path(dir_okay=False, path_type=Path),
              help="The per-call records file; default: the one results.json names.")
@click.option("--model", help=f"Ollama model name [default: ${MODEL_ENV}, else the first model the server lists "
                                f"that fits: a completion model with a context of at least {MIN_NUM_CTX} tokens].")
@click.option("--list-models", is_flag=True, help="List the server's models (size, context length, fits or why "
                                                  "not, the default marked *) and exit.")
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
@click.option("--timeout", "total_timeout_s", type=click.FloatRange(min=1.0), default=DEFAULT_TOTAL_TIMEOUT_S,
              show_default=True, help="Seconds for the whole analysis; steps not reached get the offline "
                                      "analyzer's section.")
@click.option("--step-timeout", "timeout_s", type=click.FloatRange(min=1.0), default=DEFAULT_TIMEOUT_S,
              show_default=True, help="Seconds for each step (its answer and one retry).")
@click.option("--num-ctx", type=click.IntRange(min=MIN_NUM_CTX), default=None,
              help=f"Context window (tokens) asked of the model [default: {DEFAULT_NUM_CTX}, capped at the "
                   "model's context length].")
@click.option("--num-predict", type=click.IntRange(min=64), default=DEFAULT_NUM_PREDICT, show_default=True,
              help="Tokens of room kept for each answer (its maximum length).")
@click.option("--offline", is_flag=True, help="Do not ask a model: write the offline analysis.")
@click.option("-q", "--quiet", is_flag=True, help="Do not stream the model's answer to stderr.")
@click.pass_context
def analyze(ctx: click.Context, results: Path | None, records: Path | None, model: str | None,
            list_models: bool, ollama_host: str | None, source_dir: Path | None, role: str, output: Path,
            total_timeout_s: float, timeout_s: float, num_ctx: int | None, num_predict: int, offline: bool,
            quiet: bool) -> None:
    """Analyse RESULTS (a results.json) with a local LLM through Ollama and write a Markdown report."""
    from lueur_net.analysis.llm import LlmOptions, write_analysis
    from lueur_net.analysis.loading import load_run
    from lueur_net.analysis.redact import Redactor
    from lueur_net.analysis.reports import ReportPaths, write_reports

    options = LlmOptions(model=model, host=ollama_host, role=role, source_dir=source_dir, timeout_s=timeout_s,
                         total_timeout_s=total_timeout_s, num_ctx=num_ctx, num_predict=num_predict)
    if list_models:
        ctx.exit(_list_models(options))
    if results is None:
        raise click.UsageError("Missing argument 'RESULTS' (or use --list-models).")
    redactor = Redactor()
    run = load_run(results, records, redactor)
    if offline:
        write_reports(run, ReportPaths(markdown=output), redactor=redactor, source=str(results))
        click.echo(f"analysis (offline): {output}", err=True)
        return
    click.echo(f"lueur-net: asking {model or 'the first model that fits'} on {options.resolved_host()} ...",
               err=True)

    def progress(text: str) -> None:
        if not quiet:
            sys.stderr.write(text)
            sys.stderr.flush()

    def notice(text: str) -> None:  # shown even with --quiet: what --source-dir sent and skipped
        sys.stderr.write(text)
        sys.stderr.flush()

    try:
        outcome = write_analysis(run, output, options, progress=progress, redactor=redactor, notice=notice)
    except KeyboardInterrupt:
        click.echo(f"\nlueur-net: interrupted; the sections done are in {output} (the others are the offline "
                   "analyzer's, marked)", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    flagged = sum(len(step.flagged) for step in outcome.steps)
    replaced = [step.heading for step in outcome.steps if step.replaced]
    if replaced:
        click.echo(f"lueur-net: offline analyzer's section used for: {', '.join(replaced)}", err=True)
    if flagged:
        click.echo(f"lueur-net: {flagged} figures written by the model do not appear in the results (flagged "
                   "in the report)", err=True)
    if outcome.used_llm:
        click.echo(f"analysis: {output}", err=True)
        return
    click.echo(f"lueur-net: error: {outcome.problem}", err=True)
    click.echo(f"analysis (offline, written instead): {output}", err=True)
    ctx.exit(EXIT_BAD_INPUT if outcome.unknown_model else EXIT_ENVIRONMENT)


def _list_models(options: LlmOptions) -> int:
    """Print the server's models, one a line, the one `analyze` would use marked with *; the exit status."""
    from lueur_net.analysis.llm import OllamaUnavailable, UnknownModel, check_model, list_models, make_client

    host = options.resolved_host()
    client = make_client(options)
    try:
        models = list_models(client, host)
        try:
            chosen = check_model(client, options).name
        except UnknownModel:
            chosen = None
    except OllamaUnavailable as error:
        click.echo(f"lueur-net: error: {error}", err=True)
        return EXIT_ENVIRONMENT
    if not models:
        click.echo(f"no models on {host} (pull one with `ollama pull MODEL`)")
        return EXIT_OK
    width = max(len(model.name) for model in models)
    click.echo(f"  {'MODEL':<{width}}  {'SIZE':>9}  {'PARAMS':>7}  {'QUANT':<7}  {'CONTEXT':>7}  FITS")
    for model in models:
        size = f"{model.size / 1e6:,.0f} MB" if model.size else "?"
        why = model.fits()
        click.echo(f"{'*' if model.name == chosen else ' '} {model.name:<{width}}  {size:>9}  "
                   f"{model.parameter_size or '?':>7}  {model.quantization or '?':<7}  "
                   f"{model.context_length or '?':>7}  {'yes' if why is None else 'no: ' + why}")
    return EXIT_OK
