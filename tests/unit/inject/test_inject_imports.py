"""`lueur-net inject` starts without pandas: the fail-open deadline lives in lueur_net.dataplane.deadline, not in the
runner (which pulls pandas, ~1 s of inject's start on the 2-core host)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

# Runs hold() up to its root check, so every module hold() imports is imported, then stops before touching anything.
PROBE = """
import sys
import lueur_net.lab.lab as lab_module

class Stop(Exception):
    pass

def stop():
    raise Stop

lab_module.require_root = stop
import lueur_net.inject.hold as hold
assert hold._limits(10.0) == (18.0, 10.0)
try:
    hold.hold(None, "target")
except Stop:
    pass
else:
    raise SystemExit("hold() did not reach its root check")
print("pandas" in sys.modules, "lueur_net.runner" in sys.modules)
"""


def test_inject_hold_does_not_import_the_runner_or_pandas() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_run_and_inject_share_one_deadline() -> None:
    from lueur_net.dataplane import deadline
    from lueur_net.runner import item

    assert item.fault_deadline_ns is deadline.fault_deadline_ns
    assert item.DEADLINE_MARGIN_S == deadline.DEADLINE_MARGIN_S
