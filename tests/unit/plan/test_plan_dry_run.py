"""`lueur-net run --dry-run` (lueur_net.runner.dry_run) as a user without root sees it: for the lab `run` would
build with the same options, every step of a repeat, and what each fault hits in lueur's words."""

from __future__ import annotations

from pathlib import Path

import pytest

from lueur_net import runner
from lueur_net.errors import BadInput

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = str(REPO / "examples" / "fastapi-sqlite" / "scenario.yaml")


@pytest.fixture(autouse=True)
def not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plan for a stock kernel without probing this one (the unit tier touches no kernel object)."""
    monkeypatch.setattr("os.geteuid", lambda: 1000)


def section(text: str, title: str) -> str:
    return text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def test_the_reference_file_is_planned_with_lueurs_meaning() -> None:
    text = runner.dry_run([EXAMPLE])
    assert "server ingress (the default) and client egress hit the responses" in text
    assert "server ingress: responses" in section(text, "512 KBps bandwidth cap")
    assert "server egress: requests" in section(text, "Full black-hole for 1 s")
    assert "client ingress: requests" in section(text, "Single high-latency spike")


def test_every_step_of_a_repeat_is_shown() -> None:
    text = section(runner.dry_run([EXAMPLE]), "Stair-step latency growth")
    assert "baseline call: no fault" in text
    assert "iteration 4: f0 delay 500ms 30ms" in text


def test_a_per_packet_delay_says_what_a_call_should_expect() -> None:
    text = section(runner.dry_run([EXAMPLE]), "Single high-latency spike")
    assert "a call on a new connection should take about 2 x 800 ms more" in text


def test_serve_and_attach_are_refused_together_as_run_refuses_them() -> None:
    with pytest.raises(BadInput, match="exclude each other"):
        runner.dry_run([EXAMPLE], attach="pod", serve="true")


def test_serve_is_planned_for_the_server_namespace() -> None:
    assert "would run in its own namespace" in runner.dry_run([EXAMPLE], serve="./serve")


def test_attach_puts_every_fault_on_the_attached_interface_with_the_same_traffic() -> None:
    text = runner.dry_run([EXAMPLE], attach="pod")
    cap = section(text, "512 KBps bandwidth cap")
    assert "server ingress: responses   -> client end, ingress" in cap  # through an IFB: the peer is not ours
    assert "ifb" in cap and "the server end is not one lueur-net may change here" in cap
    hole = section(text, "Full black-hole for 1 s")
    assert "server egress: requests     -> client end, egress" in hole
