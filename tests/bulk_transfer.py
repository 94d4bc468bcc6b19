"""A bulk TCP transfer measured at the receiver, shared by the tc host tests (sender and receiver are processes, one
per namespace: tests/host/tc/conftest.py) and the netem kernel tests (one process, a socket opened in each namespace,
the sender a thread: tests/kernel/netem/conftest.py): how the bytes are sent, how the receiver times them and what
goodput means."""

from __future__ import annotations

import socket
import time
from typing import Any

BLOCK = b"x" * 65536


def send_all(connection: socket.socket, size: int) -> None:
    """`size` bytes, then close (the receiver reads to the end of the stream)."""
    sent = 0
    while sent < size:
        sent += connection.send(BLOCK[: min(len(BLOCK), size - sent)])
    connection.close()


def receive_all(connection: socket.socket) -> dict[str, Any]:
    """Read to the end of the stream: bytes, the CLOCK_MONOTONIC times of the first and the last read, and the first
    read's size."""
    total, first, last, first_size = 0, 0.0, 0.0, 0
    while True:
        data = connection.recv(1 << 20)
        if not data:
            break
        now = time.monotonic()
        if not total:
            first, first_size = now, len(data)
        total += len(data)
        last = now
    return {"bytes": total, "first": first, "last": last, "first_size": first_size}


def goodput(received: dict[str, Any]) -> float:
    """Bytes/s from the first read to the last, the first read not counted (its bytes arrived before the first
    timestamp); infinite when everything came in one read."""
    elapsed = received["last"] - received["first"]
    return (received["bytes"] - received["first_size"]) / elapsed if elapsed > 0 else float("inf")
