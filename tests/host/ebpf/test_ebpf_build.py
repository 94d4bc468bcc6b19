"""The shipped objects rebuild from source: `make -C bpf` into a scratch folder gives the same bytes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lueur_net.dataplane.ebpf.faults import KINDS, OBJECTS_DIR

BPF_DIR = Path(__file__).resolve().parents[3] / "bpf"


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang is not installed (setup.sh installs it)")
def test_objects_rebuild_byte_equal(tmp_path: Path) -> None:
    subprocess.run(["make", "-s", "-C", str(BPF_DIR), f"OUT={tmp_path}"], check=True, capture_output=True)
    built = sorted(path.name for path in tmp_path.glob("*.bpf.o"))
    assert built == sorted(f"{kind}.bpf.o" for kind in KINDS)
    for name in built:
        assert (tmp_path / name).read_bytes() == (OBJECTS_DIR / name).read_bytes(), (
            f"{name} differs from its source: run `make -C bpf`"
        )
