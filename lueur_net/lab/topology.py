"""What the lab hands the data plane: both ends of each path, as (namespace, interface).

A path joins the client namespace to where the upstream lives (the host, a server namespace, or an attached
namespace). `client` is the interface in the client namespace; `server` is the interface at the other end of
the same link, facing the client. Requests leave through client egress and arrive at server ingress;
responses leave through server egress and arrive at client ingress. So a scenario's `side` picks the end and
`direction` picks the hook, with no guessing. `owned` says whether lueur-net created that interface (only then
may a fault go on it without an explicit flag; see DESIGN principle 2).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    """One interface: `netns` is an `ip netns` name or a /proc/PID/ns/net path, None for the host namespace."""

    netns: str | None
    ifname: str
    ifindex: int
    address: str  # IPv4 address of the interface, without prefix length
    owned: bool = True


@dataclass(frozen=True)
class Path:
    """One link between the client namespace and an upstream; `peer_is_ours` when both ends are veth ends we made."""

    client: Endpoint
    server: Endpoint

    @property
    def peer_is_ours(self) -> bool:
        return self.client.owned and self.server.owned

    def other_end(self, endpoint: Endpoint) -> Endpoint | None:
        """The end facing `endpoint` (what a fault there scopes its traffic to), None if it is not an end."""
        if endpoint == self.client:
            return self.server
        if endpoint == self.server:
            return self.client
        return None
