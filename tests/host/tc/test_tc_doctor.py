"""`lueur-net doctor` probes for real and leaves nothing behind."""

from __future__ import annotations

import json
import subprocess

from click.testing import CliRunner

from lueur_net.cli.main import cli
from lueur_net.dataplane.probe import probe_capabilities


def test_probe_finds_what_the_tc_backend_needs_and_cleans_up() -> None:
    capabilities = probe_capabilities()
    # The tc host tests of this folder use these for real; a kernel without them could not pass them either.
    assert capabilities.tbf and capabilities.clsact and capabilities.u32 and capabilities.mirred and capabilities.ifb
    assert capabilities.ifb_ingress
    for name in capabilities.missing():
        assert capabilities.errors[name], f"{name} is missing without a reason"
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert "lueur-doctor-" not in namespaces


def test_doctor_json_names_a_backend_per_fault_type() -> None:
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    report = json.loads(result.output)
    assert report["backends"]["bandwidth"] == "tbf"
    assert report["backends"]["latency"] in ("netem", "nfqueue")
    assert set(report["missing"]) == {name for group in ("qdiscs", "classifiers", "actions", "other")
                                      for name, present in report["capabilities"][group].items() if not present}
    assert result.exit_code == (0 if report["ok"] else 3)


def test_ebpf_is_missing_when_our_programs_cannot_be_loaded(monkeypatch, tmp_path) -> None:
    """The probe loads lueur's own objects: without them, eBPF is not offered to the planner (no failure later,
    in the middle of a run), and the reason is shown."""
    from lueur_net.dataplane.ebpf import probe as ebpf_probe

    monkeypatch.setattr(ebpf_probe, "object_path", lambda name: tmp_path / f"{name}.bpf.o")  # not there
    capabilities = probe_capabilities()
    assert not capabilities.bpf_load and not capabilities.tcx
    assert capabilities.errors["bpf_load"]
    assert capabilities.tbf  # the rest of the probe is unaffected
