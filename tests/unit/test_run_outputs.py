"""A refused run changes nothing in the output folder: exit 2 means nothing changed.

Before, `_check_writable` created results.json and results.calls.parquet (empty) before the lab, so a refused
`--attach` or a URL httpx refused after the lab was built left 0-byte files behind. Now writability is checked
without creating anything, and the folder and files are made only when the run has results to write.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from earlier_results import EARLIER, scenario_and_earlier_output, tree

from lueur_net import runner
from lueur_net.cli.main import main
from lueur_net.dataplane import probe
from lueur_net.errors import BadInput
from lueur_net.plan import Capabilities

def test_checking_an_output_creates_no_folder_and_no_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "deeper" / "results.json"
    runner.check_writable(target)
    runner.check_writable(target.with_name("results.calls.parquet"))
    assert list(tmp_path.iterdir()) == []


def test_checking_an_existing_results_file_neither_truncates_nor_touches_it(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.write_text(EARLIER)
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    before = tree(tmp_path)
    runner.check_writable(target)
    assert tree(tmp_path) == before and target.read_text() == EARLIER


@pytest.mark.parametrize("case", ["parent is a file", "path is a folder", "bad suffix"])
def test_an_output_that_cannot_be_written_is_refused_before_the_run(tmp_path: Path, case: str) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder.json").mkdir()
    target = {"parent is a file": tmp_path / "file" / "results.json", "path is a folder": tmp_path / "folder.json",
              "bad suffix": tmp_path / "results.txt"}[case]
    before = tree(tmp_path)
    with pytest.raises(BadInput, match="cannot write|unknown output format"):
        runner.check_writable(target)
    assert tree(tmp_path) == before


def test_a_run_refused_at_attach_leaves_the_output_folder_as_it_was(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The run gets as far as the lab (root, capabilities, plans, output checks), then --attach is refused."""
    import lueur_net.lab as lab_package
    import lueur_net.lab.lab as lab_module
    import lueur_net.ledger as ledger_module

    def refuse(*args: object, **kwargs: object) -> None:
        raise BadInput("--attach lueur-no-such-ns: no such network namespace")

    monkeypatch.setattr(lab_module, "require_root", lambda: None)
    monkeypatch.setattr(probe, "probe_capabilities", lambda beside=None: Capabilities.all_present())
    monkeypatch.setattr(ledger_module.Ledger, "open", classmethod(lambda cls, purpose: contextlib.nullcontext()))
    monkeypatch.setattr(lab_package.Lab, "attach", staticmethod(refuse))
    scenario, out = scenario_and_earlier_output(tmp_path)
    before = tree(out)
    options = runner.RunOptions(paths=(str(scenario),), serve=None, results_path=out / "results.json",
                                records_path=None, only=None, pool=None, seed=0, attach="lueur-no-such-ns",
                                iface=None, allow_host_interface=False)
    with pytest.raises(BadInput, match="no such network namespace"):
        runner.execute(options, listener=_Quiet())
    assert tree(out) == before  # no results.calls.parquet, results.json not truncated
    options = runner.RunOptions(paths=(str(scenario),), serve=None, results_path=tmp_path / "new" / "r.json",
                                records_path=None, only=None, pool=None, seed=0, attach="lueur-no-such-ns",
                                iface=None, allow_host_interface=False)
    with pytest.raises(BadInput):
        runner.execute(options, listener=_Quiet())
    assert not (tmp_path / "new").exists()


def test_a_run_refused_for_a_bad_url_exits_2_and_writes_nothing(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text('title: t\nitems:\n- call: {method: GET, url: "http://127.0.0.1:9/x\\r\\nX: y"}\n')
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("kept\n")
    before = tree(out)
    assert main(["run", str(scenario), "--result", str(out / "results.json")]) == 2
    assert "contains a control character" in capsys.readouterr().err
    assert tree(out) == before


class _Quiet:
    def scenario_started(self, *args: object) -> None: ...
    def progress(self, *args: object) -> None: ...
    def scenario_finished(self, *args: object) -> None: ...
    def note(self, *args: object) -> None: ...
    def warning(self, *args: object) -> None: ...
