"""What this machine's kernel can do for lueur-net, as plain data: the planner decides from it (pure), `lueur-net
doctor` prints it.

The probe that fills it for real (a throw-away namespace where every feature is tried) is
`lueur_net.dataplane.probe.probe_capabilities()`: probing is an effect and lives in the data plane, which imports
this module, never the other way round. Tests build their own sets (tests/capability_sets.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

QDISCS = ("netem", "tbf", "htb", "fq", "ingress", "clsact")
CLASSIFIERS = ("u32", "bpf", "matchall", "flower")
ACTIONS = ("mirred", "gact")
OTHERS = ("ifb", "tcx", "bpf_load", "nfqueue", "nfqueue_python")

# What to do when a feature is missing (shown by doctor and in planner errors).
INSTALL_HINTS: dict[str, str] = {
    "netem": "modprobe sch_netem (Ubuntu: apt install linux-modules-extra-$(uname -r); Debian: in linux-image-*)",
    "tbf": "modprobe sch_tbf",
    "htb": "modprobe sch_htb",
    "fq": "modprobe sch_fq",
    "ingress": "modprobe sch_ingress",
    "clsact": "modprobe sch_ingress (clsact lives in the same module; kernel >= 4.5)",
    "u32": "modprobe cls_u32",
    "bpf": "modprobe cls_bpf",
    "matchall": "modprobe cls_matchall",
    "flower": "modprobe cls_flower",
    "mirred": "modprobe act_mirred",
    "gact": "modprobe act_gact",
    "ifb": "modprobe ifb (Ubuntu: apt install linux-modules-extra-$(uname -r))",
    "tcx": "needs kernel >= 6.6 (the eBPF backend falls back to cls_bpf on clsact)",
    "bpf_load": "needs CONFIG_BPF_SYSCALL and root (CAP_BPF + CAP_NET_ADMIN); check `sysctl kernel.unprivileged_bpf_disabled`",
    "nfqueue": "modprobe nfnetlink_queue xt_NFQUEUE; apt install iptables",
    "nfqueue_python": "pip install 'lueur-net[nfqueue]' (needs libnetfilter-queue-dev and gcc to build)",
}


@dataclass(frozen=True)
class Capabilities:
    """One boolean per feature (True = it worked in the probe namespace) and the error text of each failure."""

    kernel: str = ""
    netem: bool = False
    tbf: bool = False
    htb: bool = False
    fq: bool = False
    ingress: bool = False
    clsact: bool = False
    u32: bool = False
    bpf: bool = False
    matchall: bool = False
    flower: bool = False
    mirred: bool = False
    gact: bool = False
    ifb: bool = False
    tcx: bool = False
    bpf_load: bool = False
    nfqueue: bool = False
    nfqueue_python: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def all_present(cls, kernel: str = "stock") -> Capabilities:
        """A stock distribution kernel with every module: for unit tests and a `--dry-run` without root."""
        return cls(kernel=kernel, **{name: True for name in feature_names()})

    def with_features(self, **changes: bool) -> Capabilities:
        values = asdict(self)
        values.update(changes)
        return Capabilities(**values)

    # Derived abilities of the backends.
    @property
    def ebpf_backend(self) -> bool:
        """Programs can be loaded and attached (tcx, or cls_bpf on clsact)."""
        return self.bpf_load and (self.tcx or (self.clsact and self.bpf))

    @property
    def nfqueue_backend(self) -> bool:
        return self.nfqueue and self.nfqueue_python

    @property
    def ifb_ingress(self) -> bool:
        """Ingress shaping on an interface whose peer is not ours: IFB + clsact + u32 + mirred."""
        return self.ifb and self.clsact and self.u32 and self.mirred

    def missing(self) -> list[str]:
        return [name for name in feature_names() if not getattr(self, name)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kernel": self.kernel,
            "qdiscs": {name: getattr(self, name) for name in QDISCS},
            "classifiers": {name: getattr(self, name) for name in CLASSIFIERS},
            "actions": {name: getattr(self, name) for name in ACTIONS},
            "other": {name: getattr(self, name) for name in OTHERS},
            "errors": dict(self.errors),
        }


def feature_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Capabilities) if f.type in ("bool", bool))
