"""`lueur-net report`: the Markdown, HTML and JUnit reports of a finished run, from its results.json."""

from __future__ import annotations

from pathlib import Path

import click


EPILOG = """\b
Examples:
  lueur-net report results.json                          # report.md
  lueur-net report results.json --html --junit           # + report.html, junit.xml
  lueur-net report results.json --report out/r.md --html out/r.html --junit out/junit.xml
  lueur-net report results.json --records calls.parquet --no-report --html
  lueur-net report results.json --report - | less        # Markdown to stdout

\b
The reports redact secrets (Authorization/Cookie/API-key headers, and fields or query
parameters named like password, token, secret). The analysis section is the offline
analyzer's; `lueur-net analyze` asks a local Ollama model for a narrative report.
"""


@click.command(epilog=EPILOG)
@click.argument("results", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--records", type=click.Path(dir_okay=False, path_type=Path),
              help="The per-call records file (.parquet/.csv); default: the one results.json names.")
@click.option("--report", "markdown", default="report.md", show_default=True, metavar="PATH",
              help="Markdown report ('-': standard output).")
@click.option("--no-report", is_flag=True, help="Do not write the Markdown report.")
@click.option("--html", is_flag=False, flag_value="report.html", default=None, metavar="[PATH]",
              help="Also write the HTML report with plots (default path report.html).")
@click.option("--junit", is_flag=False, flag_value="junit.xml", default=None, metavar="[PATH]",
              help="Also write JUnit XML, one test case per expectation and SLO (default path junit.xml).")
def report(results: Path, records: Path | None, markdown: str, no_report: bool, html: str | None,
           junit: str | None) -> None:
    """Write reports from RESULTS (a results.json written by `lueur-net run`)."""
    from lueur_net.analysis.loading import load_run
    from lueur_net.analysis.redact import Redactor
    from lueur_net.analysis.reports import STDOUT, ReportPaths, write_reports

    redactor = Redactor()
    run = load_run(results, records, redactor)
    paths = ReportPaths(
        markdown=None if no_report else Path(markdown),
        html=Path(html) if html else None,
        junit=Path(junit) if junit else None,
    )
    written = write_reports(run, paths, redactor=redactor, source=str(results))
    if run.records.empty and run.items:
        click.echo("lueur-net: warning: no per-call records found (pass --records PATH); plots are empty",
                   err=True)
    for kind, value in written.items():
        if paths.markdown == STDOUT and kind == "markdown":
            click.echo(value, nl=False)
        else:
            click.echo(f"{kind}: {value}", err=True)
