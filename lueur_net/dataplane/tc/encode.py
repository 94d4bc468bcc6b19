"""Netlink messages for our qdiscs, extending pyroute2's tcmsg where it stops short.

pyroute2 0.9 cannot send netem's delay distribution table (TCA_NETEM_DELAY_DIST), its loss models
(TCA_NETEM_LOSS with NETEM_LOSS_GI / NETEM_LOSS_GE), nor the 64-bit delay, jitter and rate attributes. Instead of
shelling out to `tc`, each kind's module (netem.py, tbf.py) declares its complete TCA_OPTIONS layout as a pyroute2
`nla` class; this module's tcmsg subclass picks them by TCA_KIND from OPTIONS_BY_KIND. Messages are sent with
`IPRoute.nlm_request` and decode back with the same classes (which is how the unit tests check every field).
"""

from __future__ import annotations

import struct
from typing import Any

from pyroute2.netlink import nla
from pyroute2.netlink.rtnl.tcmsg import tcmsg

from lueur_net.dataplane.tc.netem import netem_options
from lueur_net.dataplane.tc.tbf import tbf_options

AF_UNSPEC = 0

OPTIONS_BY_KIND: dict[str, type[nla]] = {"netem": netem_options, "tbf": tbf_options}


class lueur_tcmsg(tcmsg):
    """pyroute2's tcmsg, with our TCA_OPTIONS layouts for netem and TBF (others fall back to pyroute2's)."""

    @staticmethod
    def get_options(self: Any, *argv: Any, **kwarg: Any) -> Any:
        kind = self.get_attr("TCA_KIND")
        if kind in OPTIONS_BY_KIND:
            return OPTIONS_BY_KIND[kind]
        return tcmsg.get_options(self, *argv, **kwarg)


def qdisc_message(kind: str, index: int, handle: int, parent: int, options: dict[str, Any] | None) -> lueur_tcmsg:
    """An RTM_NEWQDISC/RTM_DELQDISC body for interface `index`."""
    msg = lueur_tcmsg()
    msg["family"] = AF_UNSPEC
    msg["index"] = index
    msg["handle"] = handle
    msg["parent"] = parent
    msg["attrs"] = [["TCA_KIND", kind]]
    if options is not None:
        msg["attrs"].append(["TCA_OPTIONS", options])
    return msg


def encode(msg: lueur_tcmsg, msg_type: int = 36, flags: int = 0x5) -> bytes:
    """The message's bytes as sent (header included); used by tests and benchmarks."""
    msg["header"]["type"] = msg_type
    msg["header"]["flags"] = flags
    msg.encode()
    return bytes(msg.data)


def decode(data: bytes) -> lueur_tcmsg:
    msg = lueur_tcmsg(data)
    msg.decode()
    return msg


def dist_entries(blob: bytes) -> tuple[int, ...]:
    return struct.unpack(f"={len(blob) // 2}h", blob)
