"""`run --timings`: where the run's time went, per phase, in results.json (`timings`) and printed by the CLI.
Before: neither existed (issue 13 could only guess where ~6 s of the reference run went)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_runner import SCENARIOS, Listener, Machine

from lueur_net.runner import RunOptions, execute
from lueur_net.runner.timings import PHASES, RunTimings, item_intrinsic_s, render


def test_phases_add_up_in_order_and_render() -> None:
    timings = RunTimings()
    timings.add("driving", 1.5)
    timings.add("apply", 0.25)
    timings.add("driving", 0.5)
    timings.intrinsic_s = 1.8
    shown = timings.to_dict(total_s=2.5)
    assert list(shown["phases_s"]) == list(PHASES)
    assert shown["phases_s"]["driving"] == 2.0 and shown["phases_s"]["lab set-up"] == 0.0
    assert (shown["total_s"], shown["intrinsic_s"], shown["overhead_s"]) == (2.5, 1.8, 0.7)
    text = render(shown)
    assert "driving" in text and "unaccounted         0.250" in text and "overhead 0.700" in text
    with pytest.raises(ValueError, match="unknown phase"):
        timings.add("coffee", 1.0)


def test_intrinsic_time_is_what_the_items_ask_for() -> None:
    load = SimpleNamespace(load=SimpleNamespace(duration_s=20.0), repeat=None)
    repeat = SimpleNamespace(load=None, repeat=SimpleNamespace(wait_s=1.0))
    single = SimpleNamespace(load=None, repeat=None)
    assert item_intrinsic_s(load, [0.01] * 100) == 20.0
    assert item_intrinsic_s(repeat, [0.1, 0.2, 0.3]) == pytest.approx(0.6 + 2.0)
    assert item_intrinsic_s(single, [0.25]) == 0.25


def test_a_run_writes_its_timings_in_results_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIOS)
    machine = Machine()
    outcome = execute(RunOptions(paths=(str(scenario),), results_path=tmp_path / "out" / "results.json"),
                      Listener(), machine.environment())
    written = json.loads((tmp_path / "out" / "results.json").read_text())
    timings = written["timings"]
    assert timings == outcome.document["timings"]
    assert set(timings["phases_s"]) == set(PHASES) and timings["phases_s"]["reports"] == 0.0
    assert timings["phases_s"]["validate/plan"] > 0 and timings["phases_s"]["driving"] >= 0
    # the fake driver's calls take 5 ms each: 1 single call + 4 repeat calls; the load item lasts 2 s
    assert timings["intrinsic_s"] == pytest.approx(5 * 0.005 + 2.0)
    assert timings["total_s"] > 0 and timings["overhead_s"] == pytest.approx(timings["total_s"] - 2.025, abs=0.002)
