"""Two namespaces a host test makes to stand for a pod and its peer, joined by a veth, with an HTTP server in one of
them; and what a fault could leave in a namespace (to compare before and after). Used by the `run --attach` and
`inject` host tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextmanager
def pod_and_peer(prefix: str, pod_address: str, peer_address: str, *, server_in: str,
                 port: int = 8000, server_args: tuple[str, ...] = ()) -> Iterator[dict[str, str]]:
    """Namespaces lueur-{prefix}p-TAG (the pod, default route via its peer) and lueur-{prefix}f-TAG (its peer), a
    /24 between them, and `python -m http.server` on `port` in the one `server_in` names ("pod" or "peer"),
    reachable from the other before this yields {"netns", "peer", "iface"}; everything removed afterwards."""
    tag = f"{os.getpid() % 100000}"
    pod_ns, peer_ns = f"lueur-{prefix}p-{tag}", f"lueur-{prefix}f-{tag}"
    pod_if, peer_if = f"lueur{prefix}p{tag}", f"lueur{prefix}f{tag}"
    ip("netns", "add", pod_ns)
    ip("netns", "add", peer_ns)
    server = None
    try:
        ip("link", "add", pod_if, "netns", pod_ns, "type", "veth", "peer", "name", peer_if, "netns", peer_ns)
        ip("-n", pod_ns, "addr", "add", f"{pod_address}/24", "dev", pod_if)
        ip("-n", peer_ns, "addr", "add", f"{peer_address}/24", "dev", peer_if)
        for ns, dev in ((pod_ns, pod_if), (peer_ns, peer_if)):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", dev, "up")
        ip("-n", pod_ns, "route", "add", "default", "via", peer_address)
        if server_in == "pod":
            server_ns, server_address, client_ns = pod_ns, pod_address, peer_ns
        else:
            server_ns, server_address, client_ns = peer_ns, peer_address, pod_ns
        server = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-m", "http.server",
                                   "--bind", server_address, str(port), *server_args],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = subprocess.run(["ip", "netns", "exec", client_ns, sys.executable, "-c",
                                    f"import socket; socket.create_connection(({server_address!r}, {port}), 1)"],
                                   capture_output=True)
            if probe.returncode == 0:
                break
            time.sleep(0.1)
        yield {"netns": pod_ns, "peer": peer_ns, "iface": pod_if}
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(5)
            except subprocess.TimeoutExpired:  # the namespaces below must go whatever the server does
                server.kill()
                server.wait(5)
        for ns in (pod_ns, peer_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def namespace_state(netns: str, iface: str) -> list[str]:
    """What a fault could leave in namespace `netns` (an `ip netns` name), without counters (they change with
    traffic): qdiscs, the interface's filters, iptables rules, links."""
    def run(*command: str) -> str:
        return subprocess.run(["nsenter", f"--net=/run/netns/{netns}", *command], capture_output=True,
                              text=True, check=True).stdout

    return [
        run("tc", "qdisc", "show"),
        run("tc", "filter", "show", "dev", iface, "ingress"),
        run("tc", "filter", "show", "dev", iface, "egress"),
        # Rules only: iptables-nft keeps an emptied table's header once it was used (noted on the issue).
        "\n".join(line for line in run("iptables-save").splitlines() if line.startswith("-")),
        run("ip", "-o", "link", "show").replace(" state UP", ""),
    ]
