"""The lab's nftables rulesets (text for `nft -f`), how they are loaded, and the remover for host tables.

pyroute2 has no nftables ruleset builder, so rulesets are generated here as text (pure functions, unit-tested)
and loaded with `nft -f -`, inside a namespace by a thread that entered it (see enter.in_netns_thread).
Tables inside the lab's own namespaces vanish with the namespace; the one table on the host is recorded in the
ledger as kind "nft_table" and deleted whole.

How a loopback upstream (http://localhost:PORT/ served on the host's 127.0.0.1:PORT) is reached:
  client ns, nat output:      ip daddr 127.0.0.1 tcp dport PORT  -> dnat to HOST_END
  client ns, nat postrouting: oifname CLIENT_END ip saddr 127.0.0.0/8 -> snat to CLIENT_ADDR
  host, nat prerouting:       iifname HOST_END ip daddr HOST_END tcp dport PORT -> dnat to 127.0.0.1:PORT
with route_localnet=1 on both veth ends. The guard on the host drops anything else arriving on HOST_END for
127.0.0.0/8 (route_localnet would otherwise expose every loopback port to root inside the namespace).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from lueur_net.errors import EnvironmentProblem

# nft 1.0.6 rejects `priority dstnat` on the output hook, so numeric priorities throughout.
PRIORITY_RAW = -300
PRIORITY_DSTNAT = -100
PRIORITY_SRCNAT = 100
NAMESPACE_TABLE = "lueur"


@dataclass(frozen=True)
class Redirect:
    """Inside the client namespace: connections to (address, port) go to `to` instead, leaving via `ifname`."""

    address: str
    port: int
    to: str


def client_ruleset(
    redirects: list[Redirect], snat: Mapping[str, str], forwarded: Mapping[str, tuple[str, str]] | None = None
) -> str:
    """A calling namespace's table; `snat` maps each outgoing veth end to its own address.

    `forwarded` (client namespace with --serve): source address -> (outgoing veth end, its address), so the
    server namespace's connections to the host's loopback leave with the client end's address, which the host
    routes back.
    """
    rules = [
        f"        ip daddr {r.address} tcp dport {r.port} dnat to {r.to}" for r in redirects
    ]
    sources = [f'        oifname "{ifname}" ip saddr 127.0.0.0/8 snat to {address}' for ifname, address in snat.items()]
    sources += [
        f'        oifname "{ifname}" ip saddr {source} snat to {address}'
        for source, (ifname, address) in (forwarded or {}).items()
    ]
    return "\n".join(
        [
            f"table ip {NAMESPACE_TABLE} {{",
            "    chain output {",
            f"        type nat hook output priority {PRIORITY_DSTNAT}; policy accept;",
            *rules,
            "    }",
            "    chain postrouting {",
            f"        type nat hook postrouting priority {PRIORITY_SRCNAT}; policy accept;",
            *sources,
            "    }",
            "}",
            "",
        ]
    )


def arrival_ruleset(
    table: str, ifname: str, address: str, targets: Mapping[int, str], dns_port: int | None = None
) -> str:
    """The table on the side that serves (host or server namespace): guard plus DNAT back to loopback.

    `targets` maps each port to the loopback address its server is bound to (127.0.0.1 also reaches 0.0.0.0).
    `dns_port`: the lab's DNS responder listens on (address, dns_port); queries to port 53 are sent there after
    tc ingress has seen them as DNS (so DNS faults match port 53 on the wire).
    """
    dnat = [
        f'        iifname "{ifname}" ip daddr {address} tcp dport {port} dnat to {target}:{port}'
        for port, target in sorted(targets.items())
    ]
    if dns_port is not None:
        dnat.append(f'        iifname "{ifname}" ip daddr {address} udp dport 53 dnat to {address}:{dns_port}')
    return "\n".join(
        [
            f"table ip {table} {{",
            "    chain guard {",
            f"        type filter hook prerouting priority {PRIORITY_RAW}; policy accept;",
            f'        iifname "{ifname}" ip daddr 127.0.0.0/8 drop',
            f'        iifname "{ifname}" ip saddr 127.0.0.0/8 drop',
            "    }",
            "    chain to_loopback {",
            f"        type nat hook prerouting priority {PRIORITY_DSTNAT}; policy accept;",
            *dnat,
            "    }",
            "}",
            "",
        ]
    )


def nft_binary() -> str:
    found = shutil.which("nft")
    if found is None:
        raise EnvironmentProblem("the `nft` command is missing", hint="install Debian package nftables")
    return found


def load(ruleset: str, where: str) -> None:
    """Load a ruleset with `nft -f -` in the calling thread's namespace; `where` names it in errors."""
    done = subprocess.run([nft_binary(), "-f", "-"], input=ruleset, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise EnvironmentProblem(f"nft could not load the lab's rules in {where}: {done.stderr.strip()}")


def table_exists(family: str, name: str) -> bool:
    """True when the calling thread's namespace already has this table (`nft -f` would merge into it)."""
    done = subprocess.run([nft_binary(), "list", "table", family, name], capture_output=True, text=True, check=False)
    return done.returncode == 0


def delete_table(family: str, name: str) -> bool:
    """Delete one table in the calling thread's namespace; False if it was not there."""
    done = subprocess.run(
        [nft_binary(), "delete", "table", family, name], capture_output=True, text=True, check=False
    )
    if done.returncode == 0:
        return True
    if "No such file or directory" in done.stderr:
        return False
    raise EnvironmentProblem(f"nft could not delete table {family} {name}: {done.stderr.strip()}")
