"""Can this kernel run our programs? Load one for real and try each attach mechanism on an interface.

For `lueur-net doctor` / the capability probe: call inside a throw-away namespace's interface (the probe
attaches a loss program with probability 0 and an empty always-closed window, so no packet is touched,
and detaches it at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lueur_net.dataplane.ebpf import libbpf, maps
from lueur_net.dataplane.ebpf.attach import attach_cls_bpf, attach_tcx
from lueur_net.dataplane.ebpf.faults import object_path
from lueur_net.dataplane.ebpf.model import Hook, Timing, Window
from lueur_net.errors import LueurError


@dataclass
class EbpfProbe:
    libbpf: str | None = None  # libbpf version, None when it cannot be loaded
    bpf_load: bool = False
    tcx: bool = False
    cls_bpf: bool = False
    errors: dict[str, str] = field(default_factory=dict)


def probe(netns: str | None, ifname: str) -> EbpfProbe:
    result = EbpfProbe()
    try:
        result.libbpf = libbpf.version()
        bpf = libbpf.BpfObject(object_path("loss"))
    except LueurError as error:
        result.errors["bpf_load"] = error.message
        return result
    try:
        result.bpf_load = True
        bpf.map("lueur_timing").update(0, maps.encode_timing(Timing((Window(1, 2),))))  # never active
        program_fd = bpf.program_fd("lueur_loss")
        try:
            attach_tcx(program_fd, netns, ifname, Hook.INGRESS, "lueur_probe", None).detach()
            result.tcx = True
        except (OSError, LueurError) as error:
            result.errors["tcx"] = str(error)
        try:
            attach_cls_bpf(program_fd, netns, ifname, Hook.INGRESS, "lueur_probe", None).detach()
            result.cls_bpf = True
        except (OSError, LueurError) as error:
            result.errors["cls_bpf"] = str(error)
    finally:
        bpf.close()
    return result
