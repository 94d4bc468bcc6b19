"""Upstreams reached exactly as written from the client namespace, against real servers."""

from __future__ import annotations

import ipaddress
import os
import random
import subprocess
import time
from collections.abc import Iterator

import pytest
from lab_helpers import connect_error, fetch, leftovers, start_server

from lueur_net.errors import BadInput
from lueur_net.lab import Lab, run_in_netns
from lueur_net.ledger import Ledger


def test_localhost_on_the_host_is_reached_as_written(journal: Ledger, loopback_server: int) -> None:
    urls = [f"http://localhost:{loopback_server}/", f"http://127.0.0.1:{loopback_server}/x"]
    with Lab.create(urls, journal) as lab:
        for url in urls:
            status, body = run_in_netns(lab.client_netns, fetch, url)
            assert status == 200 and body == f"hello from 127.0.0.1:{loopback_server}"
        path = lab.paths[urls[0]]
        assert path is lab.host_path and path.peer_is_ours
        assert path.client.netns == lab.client_netns and path.server.netns is None
        assert path.client.ifname.startswith(f"lueur{lab.run_id}") and path.server.ifname.startswith("lueur")
        assert path.client.ifindex > 0 and path.server.ifindex > 0
        assert lab.deadline > time.monotonic() and lab.deadline_ns > 0
        print(f"lab set-up {lab.setup_seconds * 1000:.1f} ms")


def test_names_resolve_in_the_namespace_as_the_host_resolves_them(journal: Ledger, loopback_server: int) -> None:
    import socket

    def resolve(name: str) -> list[str]:
        return sorted({info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)})

    def unknown_fails_fast(name: str) -> float:
        began = time.monotonic()
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo(name, 80)
        return time.monotonic() - began

    with Lab.create([f"http://localhost:{loopback_server}/"], journal) as lab:
        assert run_in_netns(lab.client_netns, resolve, "localhost") == ["127.0.0.1"]
        # No DNS server is reachable from the lab: an unknown name fails at once, not after the host's timeouts.
        assert run_in_netns(lab.client_netns, unknown_fails_fast, "lueur-no-such-name.example") < 3.0


def test_an_unmapped_loopback_port_stays_unreachable(journal: Ledger, loopback_server: int) -> None:
    other = start_server()  # a host loopback service that is NOT an upstream
    try:
        with Lab.create([f"http://localhost:{loopback_server}/"], journal) as lab:
            assert run_in_netns(lab.client_netns, connect_error, "127.0.0.1", other.server_address[1]) is not None
            assert lab.block is not None
            # The host end's address does not expose it either (only mapped ports are DNATed to loopback).
            assert run_in_netns(lab.client_netns, connect_error, lab.block.host, other.server_address[1]) is not None
    finally:
        other.shutdown()
        other.server_close()


def _route_loopback_to_host(port: int, gateway: str, ifname: str) -> str | None:
    """What root inside the namespace could try: send 127.0.0.0/8 to the host end and connect."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        lo = ipr.link_lookup(ifname="lo")[0]
        if any(a.get_attr("IFA_ADDRESS") == "127.0.0.1" for a in ipr.get_addr(index=lo, family=2)):
            ipr.addr("del", index=lo, address="127.0.0.1", prefixlen=8)
        ipr.route("replace", dst="127.0.0.0/8", gateway=gateway, oif=ipr.link_lookup(ifname=ifname)[0])
    return connect_error("127.0.0.1", port, timeout=1.0)


def test_the_guard_blocks_root_in_the_namespace_from_other_loopback_ports(
    journal: Ledger, loopback_server: int
) -> None:
    other = start_server()
    port = other.server_address[1]
    try:
        with Lab.create([f"http://localhost:{loopback_server}/"], journal) as lab:
            assert lab.block is not None and lab.host_path is not None
            args = (port, lab.block.host, lab.host_path.client.ifname)
            assert run_in_netns(lab.client_netns, _route_loopback_to_host, *args) == "TimeoutError"
            # Proof that the guard is what stops it: without its rules the same attempt connects.
            subprocess.run(["nft", "flush", "chain", "ip", f"lueur{lab.run_id}", "guard"], check=True)
            assert run_in_netns(lab.client_netns, _route_loopback_to_host, *args) is None
    finally:
        other.shutdown()
        other.server_close()


@pytest.fixture
def host_address() -> Iterator[str]:
    """Another address of this host: on a port-less bridge this test creates (traffic stays on the host)."""
    from pyroute2 import IPRoute

    name = f"lueurt{os.getpid() % 100000}b"
    address = str(ipaddress.IPv4Address("10.214.0.0") + random.randrange(2, 65000))
    with IPRoute() as ipr:
        ipr.link("add", ifname=name, kind="bridge")
        try:
            index = ipr.link_lookup(ifname=name)[0]
            ipr.addr("add", index=index, address=address, prefixlen=32)
            ipr.link("set", index=index, state="up")
            yield address
        finally:
            ipr.link("del", index=ipr.link_lookup(ifname=name)[0])


def test_another_host_address_is_reached_directly(journal: Ledger, host_address: str) -> None:
    server = start_server(host_address)
    port = server.server_address[1]
    try:
        url = f"http://{host_address}:{port}/"
        with Lab.create([url], journal) as lab:
            assert lab.upstreams[url].where == "host"
            assert run_in_netns(lab.client_netns, fetch, url) == (200, f"hello from {host_address}:{port}")
    finally:
        server.shutdown()
        server.server_close()


def test_refused_upstreams_change_nothing(journal: Ledger) -> None:
    before = set(os.listdir("/sys/class/net"))
    for url in ("http://[::1]:80/", "ftp://localhost/", "http://nowhere.invalid/"):
        with pytest.raises(BadInput):
            Lab.create([url], journal)
    assert leftovers(journal.run_id) == []
    assert not {n for n in set(os.listdir("/sys/class/net")) - before if n.startswith(f"lueur{journal.run_id}")}


def test_close_removes_everything_and_is_idempotent(journal: Ledger, loopback_server: int) -> None:
    lab = Lab.create([f"http://localhost:{loopback_server}/"], journal)
    assert leftovers(journal.run_id) != []
    began = time.monotonic()
    lab.close()
    print(f"lab tear-down {(time.monotonic() - began) * 1000:.1f} ms")
    lab.close()
    assert leftovers(journal.run_id) == []
    assert journal.pending == 0


def test_a_host_server_on_ipv6_loopback_only_is_refused_with_the_reason(journal: Ledger) -> None:
    import http.server
    import socket
    import threading

    from lab_helpers import Hello

    class V6(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6

    server = V6(("::1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(BadInput, match=r"listens on \[::1\]") as raised:
            Lab.create([f"http://localhost:{server.server_address[1]}/"], journal)
        assert raised.value.hint is not None and "0.0.0.0" in raised.value.hint
    finally:
        server.shutdown()
        server.server_close()


def test_with_dns_names_are_resolved_by_the_lab_s_responder_across_the_path(
    journal: Ledger, loopback_server: int
) -> None:
    import socket

    hostname = socket.gethostname().lower()
    try:
        address = socket.getaddrinfo(hostname, None, family=socket.AF_INET)[0][4][0]
    except socket.gaierror:
        pytest.skip(f"this host does not resolve its own name {hostname}")
    if not ipaddress.IPv4Address(address).is_loopback:
        pytest.skip(f"this host's name {hostname} is not on loopback ({address})")
    url = f"http://{hostname}:{loopback_server}/"

    def lookup(name: str) -> str:
        return str(socket.getaddrinfo(name, 80, family=socket.AF_INET, type=socket.SOCK_STREAM)[0][4][0])

    def unknown(name: str) -> str:
        try:
            socket.getaddrinfo(name, 80)
        except socket.gaierror as error:
            return str(error.errno)
        return "resolved"

    with Lab.create([url], journal, dns=True) as lab:
        hosts = open(f"/etc/netns/{lab.client_netns}/hosts").read()
        assert hostname not in hosts.split()  # so the name can only come from the responder
        assert run_in_netns(lab.client_netns, lookup, hostname) == address
        assert run_in_netns(lab.client_netns, fetch, url) == (200, f"hello from 127.0.0.1:{loopback_server}")
        assert run_in_netns(lab.client_netns, unknown, "lueur-no-such-name.test") == str(socket.EAI_NONAME)
        rules = subprocess.run(["nft", "list", "table", "ip", f"lueur{lab.run_id}"], capture_output=True, text=True)
        assert "udp dport 53 dnat" in rules.stdout
