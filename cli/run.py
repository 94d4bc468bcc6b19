"""`lueur-net run`: parse, hand over to lueur_net.runner, print progress like lueur and a summary."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lueur_net.errors import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:  # the run's modules load when a run starts: `--help` stays quick
    from lueur_net.analysis.reports import RunReports
    from lueur_net.driver.progress import ScenarioTally
    from lueur_net.driver.spec import ItemSpec
    from lueur_net.runner import RunOutcome

NEXT_TO_RESULT = ""  # what --html/--junit hold when given without a path
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

EPILOG = """\b
Examples:
  # the bundled example: start the app in its own namespace, run the eight scenarios
  sudo lueur-net run examples/fastapi-sqlite/scenario.yaml --serve examples/fastapi-sqlite/serve
\b
  # a service already listening on the host's localhost:9090
  sudo lueur-net run scenario.yaml
\b
  # only the scenarios whose title contains "latency", results and every call kept
  sudo lueur-net run scenarios/ --only latency --result out/results.json --records out/calls.csv
\b
  # a pod's network namespace on a Kubernetes node (its eth0; the faults go on the pod's interface)
  sudo lueur-net run scenario.yaml --attach container:3f2a9c1d
\b
  # show the plan and the equivalent tc commands; change nothing (no root needed)
  lueur-net run scenario.yaml --dry-run
"""


class TerminalProgress:
    """lueur's progress lines: `⠏ 6/6 Stair-step latency growth ▮▮▮▮▮▮`, redrawn in place on a terminal.

    Counting (one test per single/repeat call, one per load item) is lueur_net.driver.progress.ScenarioTally's;
    this class only draws. Events arrive from the run's progress reader thread, hence the lock.
    """

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.lock = threading.Lock()
        self.tally: ScenarioTally | None = None
        self.tick = 0
        self.began = 0.0

    def _draw(self) -> None:
        if self.live and self.tally is not None:
            self.tick += 1
            self.stream.write(f"\r\033[K{SPINNER[self.tick % len(SPINNER)]} {self.tally.line()}")
            self.stream.flush()

    def scenario_started(self, index: int, total: int, title: str, specs: list[ItemSpec]) -> None:
        from lueur_net.driver.progress import ScenarioTally

        with self.lock:
            self.tally = ScenarioTally(title, specs)
            self.began = time.monotonic()
            self._draw()

    def progress(self, event: dict[str, Any]) -> None:
        with self.lock:
            if self.tally is not None:
                self.tally.update(event)
                self._draw()

    def scenario_finished(self, index: int, document: dict[str, Any]) -> None:
        with self.lock:
            items = document["items"]
            run = sum(item["tests_run"] for item in items)
            failed = sum(item["tests_failed"] for item in items)
            checks = sum(item.get("checks_run", 0) for item in items)
            checks_failed = sum(item.get("checks_failed", 0) for item in items)
            broken = [failure for item in items for failure in item.get("backend_failures", [])]
            mark = "✘" if failed or broken else "✔"  # lueur's mark (its tests), unless a fault was not realised
            outcome = f"  ({failed} failed)" if failed else ""
            if broken:
                outcome += f"  [backend failed: {', '.join(str(b.get('fault')) for b in broken)}]"
            if checks_failed:  # an SLO or load expectation lueur does not count as a failed test
                outcome += f"  [checks: {checks_failed} of {checks} failed]"
            line = (f"{mark} {run}/{run} {document['title']} {'▮' * run}{outcome}"
                    f"  {time.monotonic() - self.began:.1f}s")
            self.stream.write(("\r\033[K" if self.live else "") + line + "\n")
            self.stream.flush()
            self.tally = None

    def note(self, text: str) -> None:
        with self.lock:
            self.stream.write(("\r\033[K" if self.live else "") + text + "\n")
            self.stream.flush()

    def warning(self, text: str) -> None:
        """On stderr, whatever stdout is (a fault that touched no packet must not vanish into a results pipe)."""
        with self.lock:
            if self.live:
                self.stream.write("\r\033[K")
                self.stream.flush()
            sys.stderr.write(f"lueur-net: warning: {text}\n")
            sys.stderr.flush()
            self._draw()


def _banner(text: str) -> str:
    return f" {text} ".center(51, "=")


@click.command(epilog=EPILOG)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--serve", metavar="CMD", help="Start the server under test with CMD in its own namespace "
              "(cwd and environment kept), wait for its port, stop it at the end.")
@click.option("--result", "result", type=click.Path(dir_okay=False, path_type=Path), default=Path("results.json"),
              show_default=True, help="Where to write the results (JSON, schema lueur-net/results v1).")
@click.option("--records", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write every call (.parquet or .csv) [default: next to --result, .calls.parquet].")
@click.option("--only", metavar="TEXT", help="Run only the scenarios whose title contains TEXT (case-insensitive).")
@click.option("--dry-run", is_flag=True, help="Print the plan and the equivalent tc/ip commands; change nothing.")
@click.option("--pool", metavar="CIDR", help="Range the labs take their /29 blocks from, inside 10/8, 172.16/12, "
              "192.168/16 or 100.64/10 [default: $LUEUR_NET_LAB_POOL, else 10.213.0.0/16].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the faults' random draws.")
@click.option("--attach", metavar="TARGET", help="Run the calls in an existing namespace instead of a new lab: an "
              "`ip netns` name, /proc/PID/ns/net, pid:PID, container:ID or pod:NAMESPACE/NAME (resolved through the node's "
              "CRI socket or crictl, docker, podman, nerdctl).")
@click.option("--iface", metavar="NAME", help="With --attach: the interface to fault [default: the namespace's "
              "default-route interface].")
@click.option("--keep-query", is_flag=True, help="Keep query values and URL fragments in results, calls and "
              "reports (redacted by default; secret-looking parameters always are).")
@click.option("--allow-host-interface", is_flag=True, help="Allow faults on a host interface lueur-net did not "
              "create (refused otherwise: your own connection could suffer).")
@click.option("--report", "markdown", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="Markdown report [default: report.md next to --result].")
@click.option("--no-report", is_flag=True, help="Do not write the Markdown report.")
@click.option("--html", is_flag=False, flag_value=NEXT_TO_RESULT, default=None, metavar="[PATH]",
              help="Also write the HTML report with plots (without PATH: report.html next to --result).")
@click.option("--junit", is_flag=False, flag_value=NEXT_TO_RESULT, default=None, metavar="[PATH]",
              help="Also write JUnit XML, one test case per expectation and SLO (without PATH: junit.xml next to --result).")
@click.option("--fail-on", type=click.Choice(["tests", "checks", "never"]), default="checks", show_default=True,
              help="What makes the exit status 1: `checks` any expectation or SLO failed (strict), `tests` "
              "lueur's `Tests failed` is above 0, `never` only lueur-net's own failures give a non-zero status.")
@click.option("--analyze", is_flag=True, help="Ask a local Ollama model for a narrative analysis (analysis.md); "
              "the run's exit status does not depend on it.")
@click.option("--model", default=None, help="Ollama model for --analyze [default: see `lueur-net analyze --help`].")
@click.option("--ollama-host", metavar="URL", help="Ollama server [default: $OLLAMA_HOST or http://127.0.0.1:11434].")
@click.option("--source-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="With --analyze: the application's source, so recommendations come with diffs.")
@click.option("--role", type=click.Choice(["developer", "sre"]), default="developer", show_default=True,
              help="With --analyze: who the analysis is written for.")
@click.option("--analyze-timeout", type=click.FloatRange(min=1.0), default=None, metavar="SECONDS",
              help="With --analyze: the most the whole analysis may take; what is not written by then is the offline "
              "analyzer's, marked [default: 1800, as `lueur-net analyze --timeout`].")
@click.option("--timings", is_flag=True, help="Print where the run's time went, phase by phase (lab set-up, "
              "apply, start-gate wait, driving, revert, ...; also in results.json as `timings`).")
@click.pass_context
def run(ctx: click.Context, paths: tuple[str, ...], serve: str | None, result: Path, records: Path | None,
        only: str | None, dry_run: bool, pool: str | None, seed: int, markdown: Path | None, no_report: bool,
        html: str | None, junit: str | None, analyze: bool, model: str | None, ollama_host: str | None,
        source_dir: Path | None, role: str, analyze_timeout: float | None, attach: str | None, iface: str | None,
        allow_host_interface: bool, keep_query: bool, fail_on: str, timings: bool) -> None:
    """Run scenario files (or folders of them) with real kernel faults and check their expectations and SLOs.

    Prints lueur's `Tests run: N, Tests failed: M` (one test per single/repeat call and per load item; only
    a call missing its expectation fails one), then `Checks: C, failed: F` (every expectation and SLO).

    Exit status: 0 every expectation and SLO held, 1 some failed (with --fail-on checks, the default; see
    --fail-on), 2 bad input (nothing changed), 3 environment problem (not root, missing kernel feature),
    130 interrupted (everything reverted).
    """
    from lueur_net.cli.main import process_started

    began = process_started or time.monotonic()  # the console script's: what the user waits for counts from there
    from lueur_net import runner
    from lueur_net.runner.timings import RunTimings

    if dry_run:
        click.echo(runner.dry_run(paths, only, attach=attach, serve=serve, iface=iface,
                                  allow_host_interface=allow_host_interface))
        ctx.exit(EXIT_OK)
    options = runner.RunOptions(paths=paths, serve=serve, results_path=result, records_path=records, only=only,
                                pool=pool, seed=seed, attach=attach, iface=iface,
                                allow_host_interface=allow_host_interface, keep_query=keep_query)
    progress = TerminalProgress()
    run_timings = RunTimings(started=began)
    run_timings.add("start-up", time.monotonic() - began)
    report_md = None if no_report else markdown or result.parent / "report.md"
    written: list[RunReports | None] = []

    def reports_before_close(outcome: RunOutcome) -> None:
        """The reports, written before the lab's close: the app (`--serve`, asked to stop after the last calls)
        shuts down meanwhile instead of the close waiting for all of it (uvicorn: ~0.17 s). Not with --analyze:
        the lab must not stay up while a model writes."""
        reports_began = time.monotonic()
        written.append(_write_reports(outcome, result.parent, report_md, html, junit, False, None, None, None, role))
        run_timings.add("reports", time.monotonic() - reports_began)

    click.echo(_banner("Running Scenarios"))
    outcome = runner.execute(options, progress, timings=run_timings,
                             before_close=None if analyze else reports_before_close)
    summary = outcome.document["summary"]
    click.echo(_banner("Summary"))
    click.echo(f"Tests run: {summary['tests_run']}, Tests failed: {summary['tests_failed']}")
    click.echo(f"Checks: {summary.get('checks_run', 0)}, failed: {summary.get('checks_failed', 0)}"
               " (every expectation and SLO)")
    click.echo(f"Total time: {time.monotonic() - began:.1f}s")
    if outcome.results_path is not None:
        click.echo(f"Results: {outcome.results_path}" + (f", calls: {outcome.records_path}"
                                                         if outcome.records_path else ""))
    if not written:  # --analyze: after the lab's close
        reports_began = time.monotonic()
        written.append(_write_reports(outcome, result.parent, report_md, html, junit, analyze, model, ollama_host,
                                      source_dir, role, analyze_timeout))
        run_timings.add("reports", time.monotonic() - reports_began)
    _say_written(written[0])
    if timings and outcome.timings is not None:
        from lueur_net.runner.timings import render

        # results.json's phases, plus the end of writing it and the reports after it; the total from the process's
        # start
        click.echo(render(outcome.timings.to_dict(total_s=time.monotonic() - began)))
    ctx.exit(exit_status(summary, fail_on))


def exit_status(summary: dict[str, Any], fail_on: str) -> int:
    """The verdict's exit status under `--fail-on` (errors of lueur-net itself exit before this: 2, 3, 130).

    checks: 1 when any check failed, or any test (a test fails only with a failed expectation, or when an item
    made no call at all, so this is the strictest); tests: 1 when lueur's `Tests failed` is above 0; never: 0.
    """
    tests_failed = int(summary.get("tests_failed", 0))
    if fail_on == "never":
        return EXIT_OK
    if fail_on == "tests":
        return EXIT_FAILED if tests_failed else EXIT_OK
    return EXIT_FAILED if tests_failed or int(summary.get("checks_failed", 0)) or not summary.get("passed", True) \
        else EXIT_OK


def _write_reports(outcome: RunOutcome, folder: Path, markdown: Path | None, html: str | None, junit: str | None,
                   analyze: bool, model: str | None, ollama_host: str | None, source_dir: Path | None,
                   role: str, analyze_timeout: float | None = None) -> RunReports | None:
    """The reports after results.json (what was written, for _say_written; None when none is asked for)."""
    from lueur_net.analysis.defaults import DEFAULT_MODEL, DEFAULT_TOTAL_TIMEOUT_S
    from lueur_net.analysis.llm import LlmOptions
    from lueur_net.analysis.reports import ReportPaths, write_run_reports
    from lueur_net.records.frame import read_records

    def placed(value: str | None, default_name: str) -> Path | None:
        """A path given on the command line is taken as given; the flag alone means the default name next to
        the results (as for report.md)."""
        if value is None:
            return None
        return folder / default_name if value == NEXT_TO_RESULT else Path(value)

    if outcome.records_path is None or (markdown is None and html is None and junit is None and not analyze):
        return None
    llm = None
    if analyze:
        llm = LlmOptions(model=model or DEFAULT_MODEL, host=ollama_host, role=role, source_dir=source_dir,
                         total_timeout_s=analyze_timeout or DEFAULT_TOTAL_TIMEOUT_S)  # a run never waits unbounded
    paths = ReportPaths(markdown=markdown, html=placed(html, "report.html"), junit=placed(junit, "junit.xml"))
    return write_run_reports(outcome.document, read_records(outcome.records_path), paths,
                             llm=llm, analysis_path=folder / "analysis.md", progress=sys.stderr.write)


def _say_written(done: RunReports | None) -> None:
    """Each report's path; an LLM problem is a warning, never a change of the exit status."""
    if done is None:
        return
    for kind, path in done.written.items():
        click.echo(f"{kind.capitalize()}: {path}")
    if done.analysis is not None and getattr(done.analysis, "problem", None):
        click.echo(f"lueur-net: warning: analysis: {done.analysis.problem}", err=True)
