"""Ingress through an IFB device, for an interface whose peer is not ours (otherwise the planner already moved the
fault to the peer's egress): an IFB `lueurifb<hex>` in the same namespace, the clsact qdisc on the interface
(dataplane.netlink's one rule: created only if absent, released only if ours and empty), a u32 match-all filter
(prio 49152) with a mirred egress redirect into the IFB; our qdiscs then go on the IFB's root (tc/qdisc.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from lueur_net.dataplane.netlink import (
    CLSACT_INGRESS,
    ETH_P_ALL,
    delete_filter,
    ensure_clsact,
    ifindex,
    netlink_errors,
    remove_on_interface,
)
from lueur_net.lab.topology import Endpoint
from lueur_net.ledger import Entry, Ledger, remove_entry, remover

FILTER_PRIO = 49152


@dataclass
class IfbRedirect:
    """Ingress of `endpoint` redirected into an IFB device; removal in reverse order of creation."""

    endpoint: Endpoint
    ifb: str
    entries: list[Entry] = field(default_factory=list)

    @classmethod
    def create(cls, ipr: Any, endpoint: Endpoint, ledger: Ledger) -> IfbRedirect:
        netns, ifname = endpoint.netns, endpoint.ifname
        redirect = cls(endpoint, f"lueurifb{secrets.token_hex(3)}")
        index = ifindex(ipr, netns, ifname)
        redirect.entries.append(ledger.record("link", ifname=redirect.ifb, netns=netns))
        with netlink_errors(f"create IFB device {redirect.ifb}", netns, ifname, "modprobe ifb; see `lueur-net doctor`"):
            ipr.link("add", ifname=redirect.ifb, kind="ifb")
            ifb_index = ifindex(ipr, netns, redirect.ifb)
            ipr.link("set", index=ifb_index, state="up")
        _, clsact = ensure_clsact(ipr, index, netns, ifname, ledger)
        if clsact is not None:
            redirect.entries.append(clsact)
        redirect.entries.append(ledger.record("tc_filter", netns=netns, ifname=ifname, parent=CLSACT_INGRESS,
                                              prio=FILTER_PRIO))
        with netlink_errors(f"add u32 filter with mirred redirect to {redirect.ifb}", netns, ifname,
                            "modprobe cls_u32 act_mirred; see `lueur-net doctor`"):
            ipr.tc("add-filter", "u32", index=index, parent=CLSACT_INGRESS, prio=FILTER_PRIO, protocol=ETH_P_ALL,
                   keys=["0x0/0x0+0"], target=0x10001,
                   action=[{"kind": "mirred", "direction": "egress", "action": "redirect", "ifindex": ifb_index}])
        return redirect

    def remove(self, ipr: Any, ledger: Ledger) -> None:
        """Filter, clsact (if ours), IFB: newest first, through the ledger's removers, on our open socket."""
        for entry in reversed(self.entries):
            remove_entry(entry, ipr=ipr)
            ledger.done(entry)
        self.entries.clear()


@remover("tc_filter")
def remove_tc_filter(fields: dict[str, Any], ipr: Any = None) -> None:
    """fields: netns, ifname, parent, prio. Our u32 redirect filter."""
    remove_on_interface(fields, ipr, f"delete u32 filter prio {fields['prio']}", lambda sock, index: delete_filter(
        sock, index, int(fields["parent"]), int(fields["prio"]), "u32"))
