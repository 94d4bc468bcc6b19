"""The dispatcher's view: planned faults through backend().apply(), with the path, t0 and deadline."""

from __future__ import annotations

import time
from types import SimpleNamespace

from capability_sets import host_like
from ebpf_lab import Pair
from ebpf_traffic import http_get, http_server

from lueur_net.dataplane.ebpf.backend import backend
from lueur_net.lab.topology import Path
from lueur_net.plan import plan_item
from lueur_net.plan.model import LossParams, PlannedFault, Window
from lueur_net.scenario import Item


def _context(pair: Pair, deadline_s: float = 60.0) -> SimpleNamespace:
    now = time.monotonic_ns()
    return SimpleNamespace(
        path=Path(pair.client, pair.server), t0_ns=now, deadline_ns=now + int(deadline_s * 1e9)
    )


def test_httperror_planned_on_server_ingress_rewrites_responses(pair: Pair) -> None:
    """lueur's default (server, ingress) means the responses: the plan puts the rewrite on the server end's egress."""
    item = Item.model_validate({"call": {"method": "GET", "url": "http://localhost/"}, "context": {"faults": [
        {"type": "httperror", "status_code": 503, "side": "server", "direction": "ingress"}]}})
    (planned,) = plan_item(item, host_like()).faults
    assert (planned.side, planned.hook) == ("server", "egress")
    with http_server(pair.server_ns, pair.server.address) as url:
        handle = backend().apply(planned, pair.server, pair.ledger, _context(pair))
        try:
            assert [http_get(pair.client_ns, url) for _ in range(3)] == [503] * 3
            counters = handle.counters()
        finally:
            handle.revert()
        handle.revert()  # idempotent
    assert counters["affected"] == 3


def test_packetloss_window_on_the_item_clock(pair: Pair) -> None:
    """A window that ended before now never fires; an open one fires."""
    from ebpf_traffic import receive_numbers, send_numbered, udp_receiver, udp_sender

    def planned(windows: tuple[Window, ...]) -> PlannedFault:
        return PlannedFault(
            id="f1",
            type="packetloss",
            side="client",
            hook="egress",
            requested_side="client",
            requested_direction="egress",
            traffic="requests",
            backend="ebpf",
            params=LossParams(model="random", probability=1.0),
            windows=windows,
        )

    receiver = udp_receiver(pair.server_ns, pair.server.address, 9500)
    sender = udp_sender(pair.client_ns)
    context = _context(pair)
    context.t0_ns -= 10_000_000_000  # the item started 10 s ago
    for windows, expected in (((Window(0.0, 1.0),), 100), ((Window(5.0, None),), 0)):
        handle = backend().apply(planned(windows), pair.client, pair.ledger, context)
        try:
            send_numbered(sender, (pair.server.address, 9500), 100)
            assert len(receive_numbers(receiver, quiet_s=0.3)) == expected
        finally:
            handle.revert()
    receiver.close()
    sender.close()
