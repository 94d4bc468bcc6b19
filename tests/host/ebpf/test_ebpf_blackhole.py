"""Blackhole program: calls time out while it is attached, and work again once it is reverted."""

from __future__ import annotations

from ebpf_lab import Pair
from ebpf_traffic import http_get, http_server

from lueur_net.dataplane.ebpf import PortRange, Rule, Scope, attach_blackhole

PORT = 8080


def test_blackhole_makes_http_call_time_out(pair: Pair) -> None:
    with http_server(pair.server_ns, pair.server.address, PORT) as url:
        assert http_get(pair.client_ns, url) == 200
        scope = Scope((Rule(dst=pair.server.address, dport=PortRange(PORT, PORT), protocol="tcp"),))
        fault = attach_blackhole(pair.client, "egress", scope=scope, ledger=pair.ledger)
        try:
            assert http_get(pair.client_ns, url, timeout=1.0) == "timeout"
            counters = fault.counters()
        finally:
            fault.revert()
        assert counters.affected >= 1 and counters.affected == counters.matched
        assert http_get(pair.client_ns, url) == 200


def test_blackhole_of_new_connections_spares_open_ones(pair: Pair) -> None:
    with http_server(pair.server_ns, pair.server.address, PORT):
        opened = pair.socket_in(pair.client_ns)
        opened.settimeout(2.0)
        opened.connect((pair.server.address, PORT))
        with attach_blackhole(pair.client, "egress", only="new", ledger=pair.ledger) as fault:
            opened.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert opened.recv(100).startswith(b"HTTP/1.0 200")  # the open connection still works
            fresh = pair.socket_in(pair.client_ns)
            fresh.settimeout(1.0)
            try:
                fresh.connect((pair.server.address, PORT))
                outcome = "connected"
            except TimeoutError:
                outcome = "timeout"
            finally:
                fresh.close()
            assert outcome == "timeout"
            assert fault.counters().affected >= 1
        opened.close()


def test_blackhole_after_handshake_connects_then_stays_silent(pair: Pair) -> None:
    with http_server(pair.server_ns, pair.server.address, PORT):
        with attach_blackhole(pair.server, "egress", only="established", ledger=pair.ledger):
            client = pair.socket_in(pair.client_ns)
            client.settimeout(1.0)
            client.connect((pair.server.address, PORT))  # SYN and SYN-ACK pass
            client.sendall(b"GET / HTTP/1.0\r\n\r\n")
            try:
                data = client.recv(100)
                outcome = f"received {data[:20]!r}"
            except TimeoutError:
                outcome = "timeout"
            finally:
                client.close()
            assert outcome == "timeout"
