"""`lueur-net inject` on the command line: errors are one line with exit 2 and change nothing; --dry-run plans
without root; --help says what direction means and shows examples."""

from __future__ import annotations

import os

import pytest

from lueur_net.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["inject", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_help_explains_direction_and_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "ingress = arriving in it" in out and "Examples:" in out
    for flag in ("--with-latency", "--latency-mean", "--latency-sched", "--with-http-response",
                 "--http-response-trigger-probability", "--with-police", "--to", "--port", "--protocol"):
        assert flag in out


@pytest.mark.parametrize(("args", "first"), [
    (["--attach", "x", "--with-latency", "--latency-mean", "-3"], "lueur-net: error: --latency-mean: "),
    (["--attach", "x", "--with-blackhole", "--blackhole-sched", "start:5%"], "lueur-net: error: period 'start:5%'"),
    (["--attach", "x", "--with-blackhole", "--duration", "soon"], "lueur-net: error: --duration: "),
    (["--attach", "x"], "lueur-net: error: no fault given"),
    (["--with-blackhole"], "lueur-net: error: --attach TARGET is required"),
    (["--attach", "x", "--with-reset", "--to", "nowhere"], "lueur-net: error: --to: "),
])
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], first: str) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert err.startswith(first), err
    assert len(err.strip().splitlines()) <= 2  # the error, and at most a hint line


def test_dry_run_without_root_prints_the_plan(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # not root: planned for a stock kernel, nothing resolved
    code, out, _ = run(capsys, "--attach", "web", "--duration", "1m", "--with-latency", "--latency-mean", "200",
                       "--latency-stddev", "0", "--latency-direction", "ingress", "--dry-run")
    assert code == 0
    assert "ingress = arriving in it" in out and "Fault plan" in out and "tc qdisc" in out
