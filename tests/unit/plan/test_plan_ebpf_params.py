"""Every eBPF-only fault kind travels as typed params (kernel units, scenario defaults applied once, by the
planner); the eBPF backend reads those and nothing of the scenario; the window limit has one definition."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from typing import Any

import pytest

from capability_sets import host_like
from lueur_net.dataplane.ebpf import model as ebpf_model
from lueur_net.errors import BadInput
from lueur_net.plan import (
    EBPF_MAX_WINDOWS,
    DnsParams,
    HttpErrorParams,
    PlannedFault,
    PoliceParams,
    ResetParams,
    plan_item,
    render_plan,
)
from lueur_net.plan.model import Window
from lueur_net.scenario import Item

# The package exports a function named `backend`, which hides the module of the same name from `from ... import`.
ebpf_backend = importlib.import_module("lueur_net.dataplane.ebpf.backend")
ROOT = Path(__file__).resolve().parents[3]
HOST = host_like()


def planned(fault: dict[str, Any]) -> PlannedFault:
    item = Item.model_validate({"call": {"method": "GET", "url": "http://localhost:9090/"},
                                "context": {"upstreams": ["http://localhost:9090/"], "faults": [fault]}})
    (one,) = plan_item(item, HOST).faults
    return one


@pytest.mark.parametrize(("fault", "params"), [
    ({"type": "police", "rate": 512, "unit": "KiBps"}, PoliceParams(rate_bytes_per_s=524288, burst_bytes=256 * 1024)),
    ({"type": "police", "rate": 100, "unit": "MBps", "burst": 3000},
     PoliceParams(rate_bytes_per_s=100_000_000, burst_bytes=3000)),
    ({"type": "httperror"}, HttpErrorParams(status_code=500, probability=1.0)),
    ({"type": "httperror", "status_code": 503, "probability": 0.25, "body": "busy"},
     HttpErrorParams(status_code=503, probability=0.25, body="busy")),
    ({"type": "dns"}, DnsParams(answer="nxdomain", probability=0.5)),  # lueur's default share
    ({"type": "dns", "kind": "drop", "rate": 1}, DnsParams(answer="timeout", probability=1.0)),
    ({"type": "reset"}, ResetParams(probability=1.0)),
    ({"type": "reset", "probability": 0.1}, ResetParams(probability=0.1)),
])
def test_each_ebpf_kind_is_planned_with_typed_params(fault: dict[str, Any], params: Any) -> None:
    one = planned(fault)
    assert one.backend == "ebpf" and one.params == params
    shown = one.to_dict()["params"]
    assert shown["kind"] == type(params).__name__ and "values" not in shown
    assert not hasattr(one, "source")


def test_render_describes_each_kind() -> None:
    assert "police 524288 B/s, bucket 262144 B" in _rendered({"type": "police", "rate": 512, "unit": "KiBps"})
    assert "police police" not in _rendered({"type": "police", "rate": 512, "unit": "KiBps"})
    assert "status 503 for 25% of responses (body not sent)" in _rendered(
        {"type": "httperror", "status_code": 503, "probability": 0.25, "body": "x"})
    assert "dns answer SERVFAIL for 50% of queries" in _rendered({"type": "dns", "kind": "servfail"})
    assert "dns drop the answer (timeout) for 100% of queries" in _rendered({"type": "dns", "kind": "timeout",
                                                                              "probability": 1})
    assert "reset 10% of TCP packets' connections (RST)" in _rendered({"type": "reset", "probability": 0.1})


def _rendered(fault: dict[str, Any]) -> str:
    item = Item.model_validate({"call": {"method": "GET", "url": "http://localhost:9090/"},
                                "context": {"upstreams": ["http://localhost:9090/"], "faults": [fault]}})
    return render_plan(plan_item(item, HOST))


@pytest.mark.parametrize(("fault", "kind", "args"), [
    ({"type": "police", "rate": 512, "unit": "KiBps", "burst": 2000}, "police", (524288, 2000)),
    ({"type": "httperror", "status_code": 429, "probability": 0.5}, "httperror", (429, 0.5)),
    ({"type": "dns", "kind": "timeout", "probability": 0.75}, "dns", ("drop", 0.75)),
    ({"type": "dns", "kind": "refused"}, "dns", ("refused", 0.5)),
    ({"type": "reset", "probability": 0.2}, "reset", (0.2,)),
])
def test_the_ebpf_backend_attaches_what_the_params_say(fault: dict[str, Any], kind: str, args: tuple[Any, ...],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # fault_params serves both apply and a repeat's in-place update: one reading of the plan's params.
    calls: list[tuple[str, tuple[Any, ...]]] = []
    for name in ("police", "httperror", "dns", "reset"):
        monkeypatch.setattr(ebpf_backend, f"{name}_params", lambda *a, _name=name: calls.append((_name, a)))
    assert ebpf_backend.fault_params(planned(fault))[0] == kind
    assert calls == [(kind, args)]


def test_the_window_limit_has_one_definition_and_one_check() -> None:
    header = (ROOT / "bpf" / "lueur_common.h").read_text()
    assert int(re.search(r"#define LUEUR_MAX_WINDOWS (\d+)", header).group(1)) == EBPF_MAX_WINDOWS  # type: ignore[union-attr]
    assert ebpf_model.MAX_WINDOWS is EBPF_MAX_WINDOWS
    literal = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "lueur_net").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        and any(isinstance(t, ast.Name) and t.id.endswith("MAX_WINDOWS") for t in node.targets)
    ]
    assert literal == ["lueur_net/plan/model.py"]
    # The backend trusts the plan: 17 windows reach the program's model, not a second count in the backend.
    many = [Window(float(i), float(i) + 0.5) for i in range(EBPF_MAX_WINDOWS + 1)]
    assert len(ebpf_backend.monotonic_windows(many, t0_ns=0, deadline_ns=None)) == EBPF_MAX_WINDOWS + 1
    with pytest.raises(BadInput, match=f"at most {EBPF_MAX_WINDOWS}"):
        ebpf_model.Timing(tuple(ebpf_backend.monotonic_windows(many, t0_ns=0, deadline_ns=None)))
