"""The capability probe behind `lueur-net doctor` and the planner: `probe_capabilities()` tries every feature for
real, in a throw-away namespace `lueur-doctor-<pid>` (recorded in a ledger, removed afterwards, also on failure),
and returns the plan layer's `Capabilities` (lueur_net.plan.capabilities: plain data the planner decides from).

Inside it (a forked child that entered the namespace, so BPF links, netlink and iptables all act there): a veth
pair, then one attempt per feature; a success is undone at once. A kind the kernel does not know answers ENOENT
(or EINVAL for some qdiscs); the error text is kept for `doctor --json`. Loading a module on demand counts as
present: that is what the run itself would get.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

from lueur_net.dataplane.netlink import (
    CLSACT_INGRESS,
    ETH_P_ALL,
    FLAGS_CREATE,
    FLAGS_DELETE,
    RTM_DELQDISC,
    RTM_NEWQDISC,
    TC_H_ROOT,
    errno_text,
    request,
)
from lueur_net.dataplane.tc.encode import qdisc_message
from lueur_net.dataplane.tc.netem import netem_values
from lueur_net.dataplane.tc.tbf import tbf_values
from lueur_net.ledger import Ledger
from lueur_net.plan.capabilities import Capabilities, feature_names
from lueur_net.plan.model import DelayParams, NetemConfig
from lueur_net.plan.planner import rate_params

PROBE_IF, PROBE_PEER = "lueurdoc0", "lueurdoc1"


class _Result:
    def __init__(self) -> None:
        self.present: dict[str, bool] = {}
        self.errors: dict[str, str] = {}

    def attempt(self, name: str, action: Any) -> bool:
        try:
            action()
        except Exception as error:  # noqa: BLE001 - every failure is a finding, not a crash
            self.present[name] = False
            self.errors[name] = errno_text(error)
            return False
        self.present[name] = True
        return True


def _qdisc(ipr: Any, index: int, kind: str, options: Any, parent: int = TC_H_ROOT, handle: int = 0x4C4E0000) -> None:
    request(ipr, qdisc_message(kind, index, handle, parent, options), RTM_NEWQDISC, FLAGS_CREATE)
    request(ipr, qdisc_message(kind, index, handle, parent, None), RTM_DELQDISC, FLAGS_DELETE)


def _filter_kind_known(ipr: Any, index: int, kind: str) -> None:
    """Ask the kernel for a filter of `kind` with no options: an unknown kind is ENOENT, a known one EINVAL or ok."""
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.rtnl import RTM_NEWTFILTER
    from pyroute2.netlink.rtnl.tcmsg import tcmsg

    message = tcmsg()
    message["family"] = 0
    message["index"] = index
    message["handle"] = 0
    message["parent"] = CLSACT_INGRESS
    message["info"] = (40000 << 16) | 0x0300  # prio 40000, protocol all (network order)
    message["attrs"] = [["TCA_KIND", kind]]
    try:
        request(ipr, message, RTM_NEWTFILTER, FLAGS_CREATE)
    except NetlinkError as error:
        if error.code == 2:
            raise
        return
    ipr.tc("del-filter", kind, index=index, parent=CLSACT_INGRESS, prio=40000, protocol=ETH_P_ALL)


def probe_inside() -> dict[str, Any]:
    """Runs in the probe namespace (a child process). Returns {"present": {...}, "errors": {...}}."""
    from pyroute2 import IPRoute

    result = _Result()
    with IPRoute() as ipr:
        ipr.link("add", ifname=PROBE_IF, kind="veth", peer={"ifname": PROBE_PEER})
        index = ipr.link_lookup(ifname=PROBE_IF)[0]
        peer = ipr.link_lookup(ifname=PROBE_PEER)[0]
        for link in (index, peer):
            ipr.link("set", index=link, state="up")

        result.attempt("netem", lambda: _qdisc(ipr, index, "netem", netem_values(NetemConfig(
            delay=DelayParams(delay_ns=1_000_000, jitter_ns=100_000, distribution="normal")))))
        result.attempt("tbf", lambda: _qdisc(ipr, index, "tbf", tbf_values(rate_params(1_000_000))))
        result.attempt("fq", lambda: _qdisc(ipr, index, "fq", None))

        def htb() -> None:
            ipr.tc("add", "htb", index=index, handle=0x4C4E0000, default=0x10)
            ipr.tc("del", "htb", index=index, handle=0x4C4E0000)

        result.attempt("htb", htb)

        def ingress() -> None:
            ipr.tc("add", "ingress", index=index)
            ipr.tc("del", "ingress", index=index)

        result.attempt("ingress", ingress)
        has_clsact = result.attempt("clsact", lambda: ipr.tc("add", "clsact", index=index))
        if has_clsact:
            def u32() -> None:
                ipr.tc("add-filter", "u32", index=index, parent=CLSACT_INGRESS, prio=10, protocol=ETH_P_ALL,
                       keys=["0x0/0x0+0"], target=0x10001)

            if result.attempt("u32", u32):
                def mirred() -> None:
                    ipr.tc("add-filter", "u32", index=index, parent=CLSACT_INGRESS, prio=11, protocol=ETH_P_ALL,
                           keys=["0x0/0x0+0"], target=0x10001,
                           action=[{"kind": "mirred", "direction": "egress", "action": "mirror", "ifindex": peer}])

                result.attempt("mirred", mirred)

                def gact() -> None:
                    ipr.tc("add-filter", "u32", index=index, parent=CLSACT_INGRESS, prio=12, protocol=ETH_P_ALL,
                           keys=["0x0/0x0+0"], target=0x10001, action=[{"kind": "gact", "action": "ok"}])

                result.attempt("gact", gact)
            else:
                for name in ("mirred", "gact"):
                    result.present[name] = False
                    result.errors[name] = "needs the u32 classifier to probe"
            result.attempt("matchall", lambda: _filter_kind_known(ipr, index, "matchall"))
            result.attempt("flower", lambda: _filter_kind_known(ipr, index, "flower"))
        else:
            for name in ("u32", "matchall", "flower", "mirred", "gact"):
                result.present[name] = False
                result.errors[name] = "needs the clsact qdisc to probe"

        if has_clsact:
            ipr.tc("del", "clsact", index=index)
        _probe_ebpf(result)

        def ifb() -> None:
            ipr.link("add", ifname="lueurdocifb", kind="ifb")
            ipr.link("del", index=ipr.link_lookup(ifname="lueurdocifb")[0])

        result.attempt("ifb", ifb)
        result.attempt("nfqueue", lambda: _nfqueue())
        result.attempt("nfqueue_python", lambda: __import__("netfilterqueue"))
    return {"present": result.present, "errors": result.errors}


def _probe_ebpf(result: _Result) -> None:
    """Our own programs, loaded through libbpf and attached as tcx and as cls_bpf, exactly as a run would: a
    missing or rejected object is a missing feature here, not a failure in the middle of a run."""
    from lueur_net.dataplane.ebpf.probe import probe as probe_programs

    found = probe_programs(None, PROBE_IF)
    for feature, present, key in (("bpf_load", found.bpf_load, "bpf_load"), ("tcx", found.tcx, "tcx"),
                                  ("bpf", found.cls_bpf, "cls_bpf")):
        result.present[feature] = present
        if not present:
            result.errors[feature] = found.errors.get(key) or "needs a loaded BPF program to probe"


def _nfqueue() -> None:
    """An iptables NFQUEUE rule, and a queue bound to it (nfnetlink_queue); the namespace goes with both."""
    iptables = shutil.which("iptables")
    if iptables is None:
        raise OSError("iptables is not installed (apt install iptables)")
    rule = ["-I", "INPUT", "-i", PROBE_IF, "-j", "NFQUEUE", "--queue-num", "4242", "--queue-bypass"]
    done = subprocess.run([iptables, "-w", *rule], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OSError(done.stderr.strip() or f"iptables exited with {done.returncode}")
    subprocess.run([iptables, "-w", "-D", *rule[1:]], capture_output=True, check=False)
    try:
        from netfilterqueue import NetfilterQueue
    except ImportError:
        return  # the rule works; the Python binding is its own finding (nfqueue_python)
    queue = NetfilterQueue()
    try:
        queue.bind(4242, lambda packet: packet.accept())
    finally:
        queue.unbind()


def probe_capabilities(beside: Callable[[], object] | None = None) -> Capabilities:
    """What this kernel can do, probed for real (root needed) in `lueur-doctor-<pid>`; the namespace is recorded
    in a ledger and always removed. Returns the plan layer's Capabilities (plain data). `beside` is called once the
    probing child is forked (~0.14 s of waiting for it here: `run` starts imports then)."""
    from pyroute2 import netns

    from lueur_net.lab.enter import run_in_netns
    from lueur_net import removers  # noqa: F401 - registers the "netns" remover
    from lueur_net.ledger import remove_entry

    name = f"lueur-doctor-{os.getpid()}"
    with Ledger.open("doctor") as ledger:
        entry = ledger.record("netns", name=name)
        try:
            netns.create(name)
            found = run_in_netns(name, probe_inside, after_fork=beside)
        finally:
            remove_entry(entry)
            ledger.done(entry)
    present = {feature: bool(found["present"].get(feature, False)) for feature in feature_names()}
    errors = {feature: text for feature, text in found["errors"].items() if not present.get(feature, False)}
    return Capabilities(kernel=platform.release(), errors=errors, **present)
