"""`lueur-net report` and `lueur-net analyze` end to end on the synthetic run (no root, fake Ollama)."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from analysis_fake_ollama import FakeOllama
from analysis_fixture import SECRET

from lueur_net.cli.main import main


def test_report_writes_all_three(run_files: tuple[Path, Path], tmp_path: Path) -> None:
    results, _ = run_files
    md, html, junit = tmp_path / "r.md", tmp_path / "r.html", tmp_path / "j.xml"
    status = main(["report", str(results), "--report", str(md), "--html", str(html), "--junit", str(junit)])
    assert status == 0
    assert md.read_text().startswith("# lueur-net resilience report")
    assert "<svg" in html.read_text()
    assert len(ElementTree.parse(junit).getroot().findall(".//testcase")) == 7
    for path in (md, html, junit):
        assert SECRET not in path.read_text()


def test_report_default_paths_and_stdout(run_files: tuple[Path, Path], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    results, _ = run_files
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(results), "--html", "--junit"]) == 0
    assert {p.name for p in tmp_path.iterdir()} >= {"report.md", "report.html", "junit.xml"}
    assert main(["report", str(results), "--report", "-"]) == 0
    assert "## SLO Failures" in capsys.readouterr().out


def test_report_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "missing.json")]) == 2
    (tmp_path / "x.json").write_text("{}")
    assert main(["report", str(tmp_path / "x.json")]) == 2
    assert "not a lueur-net results.json" in capsys.readouterr().err


def test_analyze_with_model(run_files: tuple[Path, Path], fake_ollama: FakeOllama, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "analysis.md"
    status = main(["analyze", str(run_files[0]), "--model", "tiny-test", "--ollama-host", fake_ollama.url,
                   "--role", "sre", "-o", str(output)])
    assert status == 0
    assert "## Executive Summary" in output.read_text()
    assert "Notes on" in capsys.readouterr().err  # streamed
    assert "site reliability engineer" in str(fake_ollama.chats()[0]["messages"][0]["content"])


def test_analyze_unknown_model_and_unreachable(run_files: tuple[Path, Path], fake_ollama: FakeOllama,
                                               tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    output = tmp_path / "analysis.md"
    status = main(["analyze", str(run_files[0]), "--model", "nope", "--ollama-host", fake_ollama.url,
                   "-o", str(output)])
    assert status == 2 and "tiny-test:latest" in capsys.readouterr().err and output.exists()
    fake_ollama.stop()
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)  # the environment variable is honoured
    output.unlink()
    status = main(["analyze", str(run_files[0]), "--model", "tiny-test", "-o", str(output)])
    assert status == 3 and "cannot reach the Ollama server" in capsys.readouterr().err
    assert "offline analysis" in output.read_text()


def test_analyze_offline(run_files: tuple[Path, Path], tmp_path: Path) -> None:
    output = tmp_path / "offline.md"
    assert main(["analyze", str(run_files[0]), "--offline", "-o", str(output)]) == 0
    assert "offline analyzer" in output.read_text()


@pytest.mark.parametrize("command", ["report", "analyze"])
def test_help_ends_with_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    assert "Examples:" in capsys.readouterr().out


def test_write_run_reports_in_process(run_files: tuple[Path, Path], fake_ollama: FakeOllama, tmp_path: Path) -> None:
    """What `run` calls after writing results.json: reports plus the analysis, from memory."""
    import json

    from lueur_net.analysis.llm import LlmOptions
    from lueur_net.analysis.reports import ReportPaths, write_run_reports
    from lueur_net.records.frame import read_records

    results, records = run_files
    document = json.loads(results.read_text())
    paths = ReportPaths(markdown=tmp_path / "report.md", html=tmp_path / "report.html", junit=tmp_path / "j.xml")
    done = write_run_reports(document, read_records(records), paths,
                             llm=LlmOptions(model="tiny-test", host=fake_ollama.url),
                             analysis_path=tmp_path / "analysis.md")
    assert set(done.written) == {"markdown", "html", "junit", "analysis"}
    assert done.analysis is not None and done.analysis.used_llm
    fake_ollama.stop()
    done = write_run_reports(document, read_records(records), ReportPaths(), llm=LlmOptions(host=fake_ollama.url),
                             analysis_path=tmp_path / "offline.md")
    assert done.analysis is not None and not done.analysis.used_llm and done.analysis.problem
    assert "offline analysis" in (tmp_path / "offline.md").read_text()


def test_reports_without_records_file(run_files: tuple[Path, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """results.json alone (its calls file gone): verdict tables still render, plots are empty, a warning says why."""
    import json

    results, _ = run_files
    document = json.loads(results.read_text())
    document["records"] = {"path": str(tmp_path / "gone.parquet"), "rows": 0}
    lonely = tmp_path / "results.json"
    lonely.write_text(json.dumps(document))
    md, html, junit = tmp_path / "r.md", tmp_path / "r.html", tmp_path / "j.xml"
    assert main(["report", str(lonely), "--report", str(md), "--html", str(html), "--junit", str(junit)]) == 0
    assert "no per-call records" in capsys.readouterr().err
    assert "## SLO Failures" in md.read_text() and "no calls" in html.read_text()
    assert len(ElementTree.parse(junit).getroot().findall(".//testcase")) == 7


def test_report_and_analyze_read_urls_with_a_password(run_files: tuple[Path, Path], tmp_path: Path) -> None:
    """A URL's user-info password is masked so that the URL still parses: '[redacted]' in the authority read as an
    IPv6 literal and every report crashed ("'redacted' does not appear to be an IPv4 or IPv6 address")."""
    import json

    import pandas as pd

    results, records = run_files
    document = json.loads(results.read_text())
    for scenario in document["scenarios"]:
        for item in scenario["items"]:
            item["call"]["url"] = item["call"]["url"].replace("://", "://bob:pw-5678@", 1)
    calls = pd.read_parquet(records)
    calls["url"] = calls["url"].str.replace("://", "://bob:pw-5678@", n=1, regex=False)
    calls.to_parquet(tmp_path / "calls.parquet")
    document["records"]["path"] = "calls.parquet"
    (tmp_path / "results.json").write_text(json.dumps(document))
    md = tmp_path / "r.md"
    assert main(["report", str(tmp_path / "results.json"), "--report", str(md), "--html", str(tmp_path / "r.html"),
                 "--junit", str(tmp_path / "j.xml")]) == 0
    assert main(["analyze", str(tmp_path / "results.json"), "--offline", "--output", str(tmp_path / "a.md")]) == 0
    for name in ("r.md", "r.html", "j.xml", "a.md"):
        text = (tmp_path / name).read_text()
        assert "pw-5678" not in text, name
    assert "bob:***@" in md.read_text()


@pytest.mark.parametrize(("given", "expected"), [(None, 1800.0), (90.0, 90.0)])
def test_run_analyze_bounds_the_whole_analysis(run_files: tuple[Path, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch, given: float | None,
                                               expected: float) -> None:
    """`run --analyze` had only the per-step limit (a slow model could hold the run for six steps and retries);
    it now hands the whole chain a total limit: --analyze-timeout, else `analyze --timeout`'s default."""
    import json

    from lueur_net.analysis import reports
    from lueur_net.cli.run import _write_reports
    from lueur_net.runner import RunOutcome

    results, records = run_files
    seen: list[object] = []

    def write_run_reports(document: object, calls: object, paths: object, *, llm: object = None,
                          **_: object) -> reports.RunReports:
        seen.append(llm)
        return reports.RunReports({}, None)

    monkeypatch.setattr(reports, "write_run_reports", write_run_reports)
    outcome = RunOutcome(json.loads(results.read_text()), results, records)
    _write_reports(outcome, tmp_path, None, None, None, True, None, "http://127.0.0.1:9", None, "developer", given)
    assert [getattr(llm, "total_timeout_s", None) for llm in seen] == [expected]
