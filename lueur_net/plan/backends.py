"""Which backend realises each fault type, given what the kernel can do (a Capabilities object). Pure.

Preferences, first usable wins:
- latency, jitter: netem, else the nfqueue userspace holder (kernels without sch_netem);
- bandwidth: TBF (shaping: queues, does not drop);
- packetloss: netem (composes with a delay in one qdisc), else eBPF;
- blackhole: eBPF (exact windows in the kernel, scoping), else netem with 100% loss;
- duplicate, corrupt, reorder: netem only;
- httperror, dns, reset, police: eBPF only.
"""

from __future__ import annotations

from lueur_net.errors import EnvironmentProblem
from lueur_net.plan.capabilities import INSTALL_HINTS, Capabilities

PREFERENCES: dict[str, tuple[str, ...]] = {
    "latency": ("netem", "nfqueue"),
    "jitter": ("netem", "nfqueue"),
    "bandwidth": ("tbf",),
    "packetloss": ("netem", "ebpf"),
    "blackhole": ("ebpf", "netem"),
    "duplicate": ("netem",),
    "corrupt": ("netem",),
    "reorder": ("netem",),
    "httperror": ("ebpf",),
    "dns": ("ebpf",),
    "reset": ("ebpf",),
    "police": ("ebpf",),
}

# The features each backend needs (names of Capabilities fields or properties).
NEEDS: dict[str, tuple[str, ...]] = {
    "netem": ("netem",),
    "tbf": ("tbf",),
    "nfqueue": ("nfqueue", "nfqueue_python"),
    "ebpf": ("bpf_load", "tcx|clsact+bpf"),
}


def usable(backend: str, capabilities: Capabilities) -> bool:
    if backend == "netem":
        return capabilities.netem
    if backend == "tbf":
        return capabilities.tbf
    if backend == "nfqueue":
        return capabilities.nfqueue_backend
    if backend == "ebpf":
        return capabilities.ebpf_backend
    raise ValueError(f"unknown backend {backend!r}")


def missing_features(backend: str, capabilities: Capabilities) -> list[str]:
    if backend == "ebpf":
        missing = [] if capabilities.bpf_load else ["bpf_load"]
        if not (capabilities.tcx or (capabilities.clsact and capabilities.bpf)):
            missing.append("tcx")
        return missing
    return [name for name in NEEDS[backend] if not getattr(capabilities, name)]


def backend_for(fault_type: str, capabilities: Capabilities) -> str | None:
    """The backend this machine uses for `fault_type`, or None when none is usable."""
    for backend in PREFERENCES[fault_type]:
        if usable(backend, capabilities):
            return backend
    return None


def choose_backend(fault_type: str, capabilities: Capabilities) -> str:
    """Like backend_for, but a missing backend is an EnvironmentProblem naming what to install or load."""
    backend = backend_for(fault_type, capabilities)
    if backend is not None:
        return backend
    return _refuse(fault_type, capabilities)


def _refuse(fault_type: str, capabilities: Capabilities) -> str:
    wanted = PREFERENCES[fault_type]
    missing: list[str] = []
    for backend in wanted:
        missing += [name for name in missing_features(backend, capabilities) if name not in missing]
    hints = "; ".join(f"{name}: {INSTALL_HINTS[name]}" for name in missing if name in INSTALL_HINTS)
    raise EnvironmentProblem(
        f"no backend can realise a '{fault_type}' fault on this kernel (tried {', '.join(wanted)}; "
        f"missing: {', '.join(missing)})",
        hint=hints or None,
    )


def backend_table(capabilities: Capabilities) -> dict[str, str | None]:
    """fault type -> backend used here (None: not available). What `doctor` prints."""
    return {fault_type: backend_for(fault_type, capabilities) for fault_type in PREFERENCES}
