"""The bulk transfer shared by the tc host tests and the netem kernel tests (tests/bulk_transfer.py), on loopback."""

from __future__ import annotations

import socket
import threading

from bulk_transfer import goodput, receive_all, send_all


def test_every_byte_arrives_and_goodput_counts_from_the_first_read() -> None:
    size = 3 * 1024 * 1024
    listener = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(target=lambda: send_all(listener.accept()[0], size), daemon=True)
    thread.start()
    with socket.create_connection(listener.getsockname(), timeout=10) as client:
        received = receive_all(client)
    thread.join(timeout=10)
    listener.close()
    assert received["bytes"] == size and 0 < received["first_size"] <= size
    assert received["first"] <= received["last"]
    if received["last"] > received["first"]:
        elapsed = received["last"] - received["first"]
        assert goodput(received) == (size - received["first_size"]) / elapsed


def test_one_read_is_infinitely_fast_rather_than_a_division_by_zero() -> None:
    assert goodput({"bytes": 10, "first": 5.0, "last": 5.0, "first_size": 10}) == float("inf")
