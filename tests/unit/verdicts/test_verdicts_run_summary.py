"""`run`'s summary: lueur's line, then our checks line; the exit status under --fail-on (no root: the runner is
replaced by a stand-in returning a finished results document)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lueur_net import runner
from lueur_net.cli.main import main
from lueur_net.cli.run import exit_status


@dataclass
class FakeOutcome:
    document: dict[str, Any]
    results_path: Path | None = None
    records_path: Path | None = None

    @property
    def passed(self) -> bool:
        return bool(self.document["summary"]["passed"])


# The reference guide's shape: lueur's line says 0 failed while a P95 SLO under load is breached.
SLO_ONLY = {"tests_run": 13, "tests_failed": 0, "checks_run": 9, "checks_failed": 1, "passed": False}
ALL_HELD = {"tests_run": 13, "tests_failed": 0, "checks_run": 9, "checks_failed": 0, "passed": True}
TEST_FAILED = {"tests_run": 13, "tests_failed": 2, "checks_run": 9, "checks_failed": 1, "passed": False}


def _run(monkeypatch: pytest.MonkeyPatch, summary: dict[str, Any], *flags: str) -> int:
    monkeypatch.setattr(runner, "execute", lambda options, progress, **_: FakeOutcome({"summary": summary}))
    return main(["run", "scenario.yaml", *flags])


def test_summary_prints_lueurs_line_then_the_checks_line(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(monkeypatch, SLO_ONLY) == 1  # strict by default: the breached SLO fails the run
    out = capsys.readouterr().out
    lines = out.splitlines()
    tests_at = lines.index("Tests run: 13, Tests failed: 0")
    assert lines[tests_at + 1] == "Checks: 9, failed: 1 (every expectation and SLO)"


@pytest.mark.parametrize(
    ("summary", "fail_on", "status"),
    [
        (SLO_ONLY, "checks", 1), (SLO_ONLY, "tests", 0), (SLO_ONLY, "never", 0),
        (TEST_FAILED, "checks", 1), (TEST_FAILED, "tests", 1), (TEST_FAILED, "never", 0),
        (ALL_HELD, "checks", 0), (ALL_HELD, "tests", 0), (ALL_HELD, "never", 0),
    ],
)
def test_fail_on_chooses_what_fails_the_run(monkeypatch: pytest.MonkeyPatch, summary: dict[str, Any],
                                            fail_on: str, status: int) -> None:
    assert _run(monkeypatch, summary, "--fail-on", fail_on) == status
    assert exit_status(summary, fail_on) == status


def test_a_test_failed_without_a_check_still_fails_checks() -> None:
    """An item that made no call is a failed lueur test with no failed check: `checks` is never laxer."""
    summary = {"tests_run": 1, "tests_failed": 1, "checks_run": 0, "checks_failed": 0, "passed": False}
    assert exit_status(summary, "checks") == 1


def test_fail_on_rejects_other_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "scenario.yaml", "--fail-on", "slos"]) == 2
    assert "--fail-on" in capsys.readouterr().err


def test_help_documents_the_exit_status_and_fail_on(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--fail-on [tests|checks|never]" in text
    assert "1 some failed" in text and "Checks: C, failed: F" in text


def test_the_progress_line_does_not_tick_an_item_whose_backend_failed() -> None:
    import io

    from lueur_net.cli.run import TerminalProgress

    stream = io.StringIO()
    progress = TerminalProgress(stream)
    item = {"tests_run": 1, "tests_failed": 0, "checks_run": 1, "checks_failed": 0,
            "backend_failures": [{"fault": "f0", "backend": "nfqueue", "reason": "the holder exited"}]}
    progress.scenario_finished(0, {"title": "Spike", "items": [item]})
    line = stream.getvalue()
    assert line.startswith("✘ 1/1 Spike") and "backend failed: f0" in line
