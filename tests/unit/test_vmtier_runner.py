"""The kernel tier's host-side runner (vagrant/vm_tier.py): kernel choice, module order, initramfs, arguments."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def vm_tier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vm_tier", REPO / "vagrant" / "vm_tier.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["vm_tier"] = module
    spec.loader.exec_module(module)
    return module


def fake_kernel(boot: Path, modules: Path, release: str, with_modules: bool = True) -> None:
    (boot / f"vmlinuz-{release}").write_bytes(b"kernel")
    if with_modules:
        (modules / release).mkdir(parents=True)
        (modules / release / "modules.dep").write_text("")


def test_vmtier_chooses_newest_non_host_kernel_with_modules(vm_tier: ModuleType, tmp_path: Path) -> None:
    boot, modules = tmp_path / "boot", tmp_path / "modules"
    boot.mkdir()
    fake_kernel(boot, modules, "6.1.0-9-amd64")
    fake_kernel(boot, modules, "6.1.0-56-amd64")
    fake_kernel(boot, modules, "6.12.0-1-amd64", with_modules=False)
    fake_kernel(boot, modules, "6.18.4-host")
    image, release = vm_tier.choose_kernel(boot, modules, host_release="6.18.4-host")
    assert release == "6.1.0-56-amd64" and image == boot / "vmlinuz-6.1.0-56-amd64"
    with pytest.raises(vm_tier.VmTierError, match="setup.sh"):
        vm_tier.choose_kernel(tmp_path / "nothing", modules)


def test_vmtier_module_order_puts_dependencies_first(vm_tier: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "modules.dep").write_text(
        "kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko\n"
        "kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko\n"
        "kernel/fs/netfs/netfs.ko:\n"
        "kernel/net/9p/9pnet.ko:\n"
        "kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio_ring.ko\n"
        "kernel/drivers/virtio/virtio_ring.ko:\n"
    )
    order = [path.name for path in vm_tier.module_load_order(tmp_path, ("9pnet_virtio", "9p", "virtio_pci"))]
    assert order.index("9pnet.ko") < order.index("9pnet_virtio.ko")
    assert order.index("netfs.ko") < order.index("fscache.ko") < order.index("9p.ko")
    assert len(order) == len(set(order)) == 6  # virtio_pci absent from modules.dep: built in


def read_newc(data: bytes) -> dict[str, tuple[int, bytes]]:
    """name -> (mode, content) of a newc archive, parsed independently of the writer."""
    entries, offset = {}, 0
    while True:
        assert data[offset:offset + 6] == b"070701"
        fields = [int(data[offset + 6 + 8 * i: offset + 14 + 8 * i], 16) for i in range(13)]
        mode, size, name_size = fields[1], fields[6], fields[11]
        name_start = offset + 110
        name = data[name_start:name_start + name_size - 1].decode()
        content_start = name_start + name_size + (-(110 + name_size) % 4)
        content = data[content_start:content_start + size]
        offset = content_start + size + (-size % 4)
        if name == "TRAILER!!!":
            return entries
        entries[name] = (mode, content)


def test_vmtier_cpio_newc_round_trip(vm_tier: ModuleType) -> None:
    import io

    out = io.BytesIO()
    vm_tier._cpio_entry(out, "bin", 0o040755, ino=1)
    vm_tier._cpio_entry(out, "bin/hello", 0o100755, b"#!/bin/sh\necho hi\n", ino=2)
    vm_tier._cpio_entry(out, "bin/sh", 0o120777, b"busybox", ino=3)
    vm_tier._cpio_entry(out, "dev/console", 0o020600, rdev=(5, 1), ino=4)
    vm_tier._cpio_entry(out, "TRAILER!!!", 0)
    entries = read_newc(out.getvalue())
    assert entries["bin/hello"] == (0o100755, b"#!/bin/sh\necho hi\n")
    assert entries["bin/sh"] == (0o120777, b"busybox")
    assert set(entries) == {"bin", "bin/hello", "bin/sh", "dev/console"}


def test_vmtier_pytest_arguments(vm_tier: ModuleType) -> None:
    assert vm_tier.pytest_arguments([])[:3] == ["tests/kernel", "-m", "kernel"]
    assert vm_tier.pytest_arguments(["-x", "-k", "netem"])[0] == "tests/kernel"
    chosen = vm_tier.pytest_arguments(["tests/kernel/test_vmtier_smoke.py::test_vmtier_runs_on_another_kernel_than_the_host"])
    assert "tests/kernel" not in chosen and chosen[-1].startswith("tests/kernel/test_vmtier_smoke.py::")
