"""`lueur-net scenario validate|schema|show` through the real entry point (lueur_net.cli.main.main)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from lueur_net.cli.main import main


def test_validate_the_reference_file_reports_eight_scenarios_and_the_period_warning(example_path, capsys) -> None:
    assert main(["scenario", "validate", str(example_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("\nOK  ") + out.startswith("OK  ") == 8
    assert "OK  " + str(example_path) + " #4: 5% packet loss for 4s (1 item)" in out
    assert ":98:19: items[0].context.faults[0].period: warning: percentage period" in out
    assert out.rstrip().endswith("8 valid scenarios, 1 warning")


def test_validate_bad_file_exits_2_with_one_line_per_problem(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: t\nitems:\n  - call: {method: GTE, url: 'http://a/'}\n    expect: {stauts: 200}\n")
    assert main(["scenario", "validate", str(bad)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0].startswith(f"{bad}:3:20: items[0].call.method: unknown HTTP method 'GTE'")
    assert lines[1].startswith(f"{bad}:4:14: items[0].expect.stauts: unknown key 'stauts'; did you mean 'status'?")
    assert lines[2] == "0 valid scenarios, 0 warnings; 2 errors in 1 file"
    assert "Traceback" not in captured.err + captured.out


def test_validate_quiet_prints_only_problems(example_path, capsys) -> None:
    assert main(["scenario", "validate", "-q", str(example_path)]) == 0
    out = capsys.readouterr().out
    assert "OK  " not in out and "warning:" in out


def test_validate_missing_path_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["scenario", "validate", str(tmp_path / "absent.yaml")]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_schema_prints_json(capsys) -> None:
    assert main(["scenario", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema") and "Scenario" not in schema.get("title", "Scenario")


def test_show_prints_resolved_units_as_yaml_and_json(example_path, capsys) -> None:
    assert main(["scenario", "show", str(example_path)]) == 0
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    assert len(documents) == 8
    pulses = documents[2]["scenario"]["items"][0]
    assert pulses["context"]["strategy"]["duration"] == 10.0
    assert pulses["windows"][1] == [{"start": 4.0, "end": 5.5}]
    assert list(pulses["context"]["faults"][0])[0] == "type"
    assert main(["scenario", "show", "--json", str(example_path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown[5]["scenario"]["items"][0]["context"]["faults"][0]["bytes_per_second"] == 512000.0
    assert shown[3]["warnings"] and shown[3]["document"] == 3


def test_show_refuses_a_bad_file(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: t\nitems: []\n")
    assert main(["scenario", "show", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and f"{bad}:2:8: items: is empty" in captured.err


def test_every_help_ends_with_examples(capsys) -> None:
    for command in ([], ["validate"], ["schema"], ["show"]):
        assert main(["scenario", *command, "--help"]) == 0
        out = capsys.readouterr().out
        assert "Examples:" in out and "lueur-net scenario" in out.split("Examples:")[1]
