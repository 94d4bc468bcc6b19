"""The load path's llhttp client (lueur_net.driver.h1) against real servers on 127.0.0.1: the same record fields
and error classes as the httpx path, kept-alive connections reused, chunked bodies counted like httpx counts them.

Each load here is a short open-loop item driven through `drive` (the load strategy picks the client from
LUEUR_NET_LOAD_CLIENT, "llhttp" by default), so the tests cover the path `run` uses.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from driver_servers import CHUNKED_PARTS, LocalServer, closed_port

from lueur_net.driver import CallSpec, ItemSpec, LoadSpec, drive
from lueur_net.driver.h1 import H1Pool
from lueur_net.driver.strategies import DEFAULT_LOAD_CLIENT, LOAD_CLIENT_ENV, load_client_name
from lueur_net.records.call import CallRecord


def load_spec(url: str, *, calls: int = 1, timeout_s: float = 5.0, method: str = "GET",
              body: bytes | None = None) -> ItemSpec:
    """`calls` calls from one virtual client, 20 ms apart: sequential on a fast server (so one kept connection)."""
    return ItemSpec("h1 test", 0, 0, CallSpec(method, url, timeout_s=timeout_s, body=body),
                    load=LoadSpec(duration_s=calls / 50.0, clients=1, rps=50.0))


def one_load_call(url: str, **kwargs: Any) -> CallRecord:
    [record] = drive(load_spec(url, **kwargs)).records
    return record


def test_the_load_path_uses_llhttp_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOAD_CLIENT_ENV, raising=False)
    assert DEFAULT_LOAD_CLIENT == "llhttp" and load_client_name() == "llhttp"
    monkeypatch.setenv(LOAD_CLIENT_ENV, "nonsense")
    with pytest.raises(ValueError, match=LOAD_CLIENT_ENV):
        load_client_name()


def test_refused_port() -> None:
    record = one_load_call(f"http://127.0.0.1:{closed_port()}/")
    assert record.error_class == "refused", record.error
    assert record.status is None and record.total_ms is not None and record.latency_ms is not None


def test_timeout_from_a_server_that_never_answers(make_server: Any) -> None:
    server = make_server("never")
    record = one_load_call(server.url, timeout_s=0.3)
    assert record.error_class == "timeout" and record.status is None
    assert record.error == "no complete response within 0.3 s"
    assert 250.0 <= record.total_ms < 3000.0  # type: ignore[operator]


def test_reset_from_a_server_that_closes_with_linger_zero(make_server: Any) -> None:
    server = make_server("reset")
    record = one_load_call(server.url)
    assert record.error_class == "reset", record.error
    assert record.status is None


def test_a_server_that_closes_without_answering_is_a_protocol_error(make_server: Any) -> None:
    server = make_server("close")
    record = one_load_call(server.url)
    assert record.error_class == "protocol", record.error
    assert "Server disconnected without sending a response" in (record.error or "")


def test_keep_alive_reuses_one_connection(make_server: Any) -> None:
    server = make_server("ok")
    records = drive(load_spec(server.url, calls=10)).records
    assert len(records) == 10 and all(r.status == 200 and r.error_class is None for r in records)
    assert records[0].connect_ms is not None  # the first call opened the connection
    assert all(r.connect_ms is None for r in records[1:])  # every later one reused it
    assert server.connections == 1 and server.requests == 10


def test_chunked_body_is_read_to_its_end_and_the_connection_kept(make_server: Any) -> None:
    server = make_server("chunked")
    records = drive(load_spec(server.url, calls=3)).records
    assert all(r.status == 200 and r.error_class is None for r in records), [r.error for r in records]
    head = len(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert all(r.bytes_in == head + sum(len(part) for part in CHUNKED_PARTS) for r in records)
    assert server.connections == 1


@pytest.mark.parametrize("behaviour", ["ok", "chunked"])
def test_records_match_the_httpx_load_client(make_server: Any, monkeypatch: pytest.MonkeyPatch,
                                             behaviour: str) -> None:
    """Same server, same call, both clients: the same HTTP-level sizes, status and connection reuse."""
    server = make_server(behaviour)
    got: dict[str, list[CallRecord]] = {}
    for client in ("httpx", "llhttp"):
        monkeypatch.setenv(LOAD_CLIENT_ENV, client)
        got[client] = drive(load_spec(server.url, calls=3, method="POST", body=b"x" * 100)).records
    for ours, theirs in zip(got["llhttp"], got["httpx"], strict=True):
        assert (ours.status, ours.bytes_out, ours.bytes_in) == (theirs.status, theirs.bytes_out, theirs.bytes_in)
        assert (ours.connect_ms is None) == (theirs.connect_ms is None)
        assert ours.ttfb_ms is not None and 0 < ours.ttfb_ms <= ours.total_ms <= ours.latency_ms  # type: ignore[operator]


def test_a_server_closing_an_idle_connection_costs_no_call(local_server: LocalServer) -> None:
    """The server drops the kept-alive connection between two calls: the next call opens a new one."""

    async def two_calls() -> list[CallRecord]:
        pool = H1Pool(CallSpec("GET", local_server.url, timeout_s=5.0))
        t0 = time.monotonic()
        records = []
        for seq in range(2):
            record = CallRecord("h1", 0, 0, 0, "fault", 0, seq, "GET", local_server.url, 0.0, 0.0)
            records.append(await pool.perform(record, t0))
            if seq == 0:
                local_server.stop_connections()
                await asyncio.sleep(0.1)  # the FIN reaches the idle connection
        await pool.aclose()
        return records

    first, second = asyncio.run(two_calls())
    assert first.status == 200 and second.status == 200, second.error
    assert second.connect_ms is not None
