#!/usr/bin/env python3
"""The kernel test tier: run tests/kernel inside ONE QEMU VM booted from Debian's stock kernel.

Why a VM: the development host's kernel lacks sch_netem, sch_fq and friends; Debian's linux-image-amd64 has them
as modules. Why not virtme-ng: a minimal busybox initramfs + 9p root boots in ~4 s against virtme-ng's ~18 s under
TCG (see docs/vm-tier.md), and every step (mounts, exit status, results) is ours to see and to fix.

How:
1. Pick the newest kernel under /boot whose release differs from the running one and has /lib/modules/<release>.
2. Build a small initramfs (cached under /tmp by content hash): static busybox, the 9p and virtio modules of that
   kernel (dependency order from modules.dep) and vagrant/vm-init.sh as /init.
3. Boot QEMU (TCG; KVM is not assumed) with two 9p shares: the host's root read-only, and a fresh results directory
   read-write. /init mounts the root, puts tmpfs on /tmp and /run, and switch_roots into vagrant/vm-guest.sh, which
   runs pytest with the project's venv python and writes its exit status and JUnit file into the results share.
4. The guest's console (pytest's output) streams to our stdout; a hard timeout kills a hung VM.

Exit status: pytest's (0 passed, 1 failed, 5 no tests collected, ...); 3 when the VM cannot be started or died
without a result; 124 on timeout. Standard library only, so it runs before the venv exists (to say so).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
SETUP_HINT = "run sudo ./setup.sh (it installs qemu-system-x86, linux-image-amd64 and busybox-static)"
# The modules /init loads before it can mount the root; their dependencies come from modules.dep.
BOOT_MODULES = ("virtio_pci", "9pnet_virtio", "9p")
EXIT_ENVIRONMENT = 3
EXIT_TIMEOUT = 124


class VmTierError(Exception):
    """A problem that stops the tier before or around the VM; printed as one line."""


# ---------------------------------------------------------------------------------------------- kernel choice


def kernel_release_key(release: str) -> list[int]:
    """Sort key for releases like 6.1.0-56-amd64: numbers compared as numbers."""
    return [int(part) for part in re.findall(r"\d+", release)]


def choose_kernel(boot: Path = Path("/boot"), modules: Path = Path("/lib/modules"),
                  host_release: str | None = None) -> tuple[Path, str]:
    """The newest /boot/vmlinuz-<release> that is not the running kernel and has its modules installed."""
    host_release = host_release or platform.release()
    candidates = []
    for image in boot.glob("vmlinuz-*"):
        release = image.name.removeprefix("vmlinuz-")
        if release != host_release and (modules / release / "modules.dep").is_file():
            candidates.append((kernel_release_key(release), image, release))
    if not candidates:
        raise VmTierError(f"no stock kernel found (/boot/vmlinuz-* with /lib/modules/<release>): {SETUP_HINT}")
    _, image, release = max(candidates)
    if not os.access(image, os.R_OK):
        raise VmTierError(f"{image} is not readable (the kernel tier runs as root: sudo scripts/vm-tier)")
    return image, release


def module_load_order(modules_dir: Path, names: tuple[str, ...]) -> list[Path]:
    """Module files for `names` and their dependencies, each after what it depends on (from modules.dep)."""
    deps: dict[str, list[str]] = {}
    by_name: dict[str, str] = {}
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        target, _, rest = line.partition(":")
        deps[target] = rest.split()
        by_name[Path(target).name.split(".ko")[0].replace("-", "_")] = target
    order: list[str] = []

    def visit(target: str) -> None:
        if target in order:
            return
        for dependency in deps.get(target, []):
            visit(dependency)
        order.append(target)

    for name in names:
        target = by_name.get(name.replace("-", "_"))
        if target is None:
            continue  # built into this kernel
        visit(target)
    return [modules_dir / target for target in order]


# ------------------------------------------------------------------------------------------------- initramfs


def _cpio_entry(out: io.BytesIO, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0),
                ino: int = 0) -> None:
    """Append one file in the kernel's `newc` cpio format (header fields are 8 hex digits)."""
    encoded = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0]
    header = b"070701" + b"".join(f"{value:08x}".encode() for value in fields)
    out.write(header + encoded)
    out.write(b"\0" * (-(len(header) + len(encoded)) % 4))
    out.write(data)
    out.write(b"\0" * (-len(data) % 4))


def build_initramfs(release: str, busybox: Path, cache_dir: Path) -> Path:
    """The initramfs for `release`, built once and cached by the hash of its contents."""
    modules_dir = Path("/lib/modules") / release
    files: list[tuple[str, int, bytes]] = [
        ("bin/busybox", 0o100755, busybox.read_bytes()),
        ("init", 0o100755, (HERE / "vm-init.sh").read_bytes()),
    ]
    module_names = []
    for module in module_load_order(modules_dir, BOOT_MODULES):
        module_names.append(module.name)
        files.append((f"modules/{module.name}", 0o100644, module.read_bytes()))
    # /init loads the modules in this order.
    files.append(("modules/order", 0o100644, "".join(f"{name}\n" for name in module_names).encode()))
    digest = hashlib.sha256()
    for name, mode, data in files:
        digest.update(f"{name}:{mode}:{len(data)}:".encode())
        digest.update(data)
    path = cache_dir / f"lueur-vm-initramfs-{release}-{digest.hexdigest()[:16]}.cpio"
    if path.exists():
        return path
    out = io.BytesIO()
    ino = 1
    for directory in ("bin", "dev", "proc", "sys", "newroot", "results", "modules"):
        _cpio_entry(out, directory, stat.S_IFDIR | 0o755, ino=ino)
        ino += 1
    # The kernel opens /dev/console for init's stdio before anything is mounted.
    _cpio_entry(out, "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1), ino=ino)
    ino += 1
    for name, mode, data in files:
        _cpio_entry(out, name, mode, data, ino=ino)
        ino += 1
    for applet in ("sh", "mount", "insmod", "switch_root", "mkdir", "cat", "echo", "poweroff", "sleep"):
        _cpio_entry(out, f"bin/{applet}", stat.S_IFLNK | 0o777, b"busybox", ino=ino)
        ino += 1
    _cpio_entry(out, "TRAILER!!!", 0)
    temporary = path.with_suffix(f".tmp{os.getpid()}")
    temporary.write_bytes(out.getvalue())
    temporary.rename(path)
    for stale in cache_dir.glob(f"lueur-vm-initramfs-{release}-*.cpio"):  # images of an older vm-init or module set
        if stale != path:
            stale.unlink(missing_ok=True)
    return path


# ------------------------------------------------------------------------------------------------------- run


def find_tool(name: str, hint_package: str) -> Path:
    found = shutil.which(name)
    if not found:
        raise VmTierError(f"{name} not found (Debian package {hint_package}): {SETUP_HINT}")
    return Path(found)


def find_busybox() -> Path:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        path = Path(candidate)
        if path.is_file():
            # A dynamically linked busybox would not run in our initramfs (it has no libc).
            if b"/lib64/ld-linux" in path.read_bytes()[:4096]:
                continue
            return path
    raise VmTierError(f"a static busybox was not found (Debian package busybox-static): {SETUP_HINT}")


def write_guest_params(results: Path, pytest_args: list[str], color: bool, command: str = "") -> None:
    """Everything the guest needs, as shell assignments it sources (paths derived here, at run time)."""
    params = {
        "LUEUR_REPO": str(REPO),
        "LUEUR_PYTHON": str(REPO / ".venv" / "bin" / "python"),
        "LUEUR_HOST_RELEASE": platform.release(),
        "LUEUR_PYTEST_ARGS": shlex.join(pytest_args),
        "LUEUR_COLOR": "yes" if color else "no",
        "LUEUR_COLUMNS": str(shutil.get_terminal_size((120, 40)).columns),
        "LUEUR_EXEC": command,
    }
    (results / "params.sh").write_text("".join(f"{key}={shlex.quote(value)}\n" for key, value in params.items()))


def qemu_command(qemu: Path, kernel: Path, initramfs: Path, results: Path, memory: str, cpus: int) -> list[str]:
    append = "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init tsc=reliable clocksource=tsc"
    return [
        str(qemu), "-accel", "tcg", "-m", memory, "-smp", str(cpus),
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-serial", "stdio", "-nic", "none",
        "-kernel", str(kernel), "-initrd", str(initramfs), "-append", append,
        "-fsdev", "local,id=lueurroot,path=/,security_model=none,readonly=on,multidevs=remap",
        "-device", "virtio-9p-pci,fsdev=lueurroot,mount_tag=lueurroot",
        "-fsdev", f"local,id=lueurout,path={results},security_model=none",
        "-device", "virtio-9p-pci,fsdev=lueurout,mount_tag=lueurout",
        "-fsdev", f"local,id=lueurrepo,path={REPO},security_model=none,readonly=on,multidevs=remap",
        "-device", "virtio-9p-pci,fsdev=lueurrepo,mount_tag=lueurrepo",
    ]


def stream(process: subprocess.Popen[bytes], started: float, marks: dict[str, float]) -> None:
    """Copy the VM console to our stdout and note when pytest starts."""
    assert process.stdout is not None
    for raw in iter(process.stdout.readline, b""):
        line = raw.replace(b"\r\n", b"\n")  # the tty adds CR before LF; lone CRs (progress) stay
        if line.startswith(b"lueur-vm: running pytest") and "pytest" not in marks:
            marks["pytest"] = time.monotonic() - started
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()


def run_tier(args: argparse.Namespace, pytest_args: list[str]) -> int:
    if os.geteuid() != 0:
        raise VmTierError("the kernel tier needs root (its tests create namespaces in the VM as root, and the "
                          "host's /boot kernel must be readable): sudo scripts/vm-tier")
    qemu = find_tool("qemu-system-x86_64", "qemu-system-x86")
    busybox = find_busybox()
    if args.kernel:
        kernel = Path(args.kernel)
        release = kernel.name.removeprefix("vmlinuz-")
        if not kernel.is_file() or not (Path("/lib/modules") / release / "modules.dep").is_file():
            raise VmTierError(f"{kernel}: not a /boot/vmlinuz-<release> with /lib/modules/<release>")
    else:
        kernel, release = choose_kernel()
    venv_python = REPO / ".venv" / "bin" / "python"
    if not venv_python.exists():
        raise VmTierError(f"{venv_python} is missing: {SETUP_HINT}")
    cache_dir = Path(os.environ.get("LUEUR_VM_CACHE", tempfile.gettempdir()))
    initramfs = build_initramfs(release, busybox, cache_dir)

    results = Path(tempfile.mkdtemp(prefix="lueur-vmtier-"))
    try:
        write_guest_params(results, pytest_args, sys.stdout.isatty(), args.exec or "")
        command = qemu_command(qemu, kernel, initramfs, results, args.memory, args.cpus)
        print(f"vm-tier: booting {kernel} ({release}) under QEMU/TCG, {args.memory} memory, {args.cpus} cpus, "
              f"timeout {args.timeout:.0f} s", flush=True)
        started = time.monotonic()
        marks: dict[str, float] = {}
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        reader = threading.Thread(target=stream, args=(process, started, marks), daemon=True)
        reader.start()
        try:
            process.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            reader.join(timeout=5)
            print(f"\nvm-tier: TIMEOUT: the VM did not finish within {args.timeout:.0f} s and was killed "
                  "(raise it with --timeout or LUEUR_VM_TIMEOUT)", file=sys.stderr)
            return EXIT_TIMEOUT
        except KeyboardInterrupt:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        reader.join(timeout=5)
        elapsed = time.monotonic() - started
        status_file = results / "status"
        if not status_file.exists():
            print(f"vm-tier: the VM exited (qemu status {process.returncode}) without a test result; "
                  "see the console output above", file=sys.stderr)
            return EXIT_ENVIRONMENT
        status = int(status_file.read_text().strip() or EXIT_ENVIRONMENT)
        if args.junitxml:
            produced = results / "junit.xml"
            if produced.exists():
                Path(args.junitxml).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(produced, args.junitxml)
            else:
                print("vm-tier: pytest wrote no JUnit file", file=sys.stderr)
        boot = marks.get("pytest")
        boot_text = f"boot to pytest {boot:.1f} s, " if boot is not None else ""
        print(f"vm-tier: {boot_text}whole tier {elapsed:.1f} s, pytest exit status {status}", flush=True)
        return status
    finally:
        shutil.rmtree(results, ignore_errors=True)


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="scripts/vm-tier",
        description="Run the kernel test tier (tests/kernel, marker `kernel`) in one QEMU VM booted from the "
                    "stock Debian kernel. Other arguments go to pytest; test paths replace tests/kernel.",
        epilog="Examples:\n  sudo scripts/vm-tier\n  sudo scripts/vm-tier --junitxml=.test-results/kernel.xml\n"
               "  sudo scripts/vm-tier tests/kernel/test_vmtier_smoke.py -k uname -x\n"
               "  sudo scripts/vm-tier --exec 'cat /sys/devices/system/clocksource/clocksource0/current_clocksource'\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--junitxml", help="copy the VM's JUnit XML here")
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("LUEUR_VM_TIMEOUT", 1800)),
                        help="hard limit for the whole VM run in seconds (default 1800, env LUEUR_VM_TIMEOUT)")
    parser.add_argument("--kernel", help="a /boot/vmlinuz-<release> to boot (default: newest non-host kernel)")
    parser.add_argument("--memory", default=os.environ.get("LUEUR_VM_MEMORY", "2G"), help="VM memory (2G)")
    parser.add_argument("--cpus", type=int, default=int(os.environ.get("LUEUR_VM_CPUS", 2)), help="VM cpus (2)")
    parser.add_argument("--exec", help="run this shell command in the VM (in the repository) instead of pytest; "
                                       "for debugging the VM itself")
    return parser.parse_known_args(argv)


def pytest_arguments(extra: list[str]) -> list[str]:
    """Default selection tests/kernel -m kernel; a test path among the extra arguments replaces tests/kernel."""
    paths_given = any(not item.startswith("-") and (REPO / item.split("::")[0]).exists() for item in extra)
    selection = [] if paths_given else ["tests/kernel"]
    return [*selection, "-m", "kernel", "-p", "no:cacheprovider", *extra]


def main(argv: list[str] | None = None) -> int:
    args, extra = parse(sys.argv[1:] if argv is None else argv)
    try:
        return run_tier(args, pytest_arguments(extra))
    except VmTierError as error:
        print(f"vm-tier: {error}", file=sys.stderr)
        return EXIT_ENVIRONMENT


if __name__ == "__main__":
    sys.exit(main())
