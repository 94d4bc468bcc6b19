"""`lueur-net doctor` probes for real and leaves nothing behind."""

from __future__ import annotations

import json
import subprocess

from click.testing import CliRunner

from lueur_net.cli.main import cli
from lueur_net.dataplane.capabilities import probe_capabilities


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
