"""One HTTP call through httpx, measured: the only place the driver touches the network.

Phase durations come from httpx's `trace` request extension (httpcore events such as
`connection.connect_tcp.started` / `.complete`, `connection.start_tls.*`, `http11.receive_response_headers.*`).
The whole call is bounded by the call's timeout (asyncio.timeout around send + body read), and the same value
is given to httpx for connect/read/write/pool so the usual case surfaces as httpx's own timeout errors.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Protocol

import httpx

from lueur_net.driver.errorclass import record_failure
from lueur_net.driver.spec import CallSpec
from lueur_net.records.call import CallRecord

_EOL = 2  # "\r\n"


def preload() -> None:
    """Import what httpcore imports lazily on its first request (~20 ms), before any clock starts."""
    import anyio._backends._asyncio  # noqa: F401
    import anyio._core._sockets  # noqa: F401
    import anyio.abc  # noqa: F401
    import anyio.lowlevel  # noqa: F401
    import anyio.streams.memory  # noqa: F401
    import anyio.streams.stapled  # noqa: F401
    import anyio.streams.tls  # noqa: F401
    import h11  # noqa: F401
    import httpcore  # noqa: F401
    import httptools  # noqa: F401
    import sniffio  # noqa: F401


class _Trace:
    """Collects the monotonic time of each httpcore trace event this call emits."""

    __slots__ = ("times",)

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    async def __call__(self, event_name: str, info: dict[str, object]) -> None:
        self.times[event_name] = time.monotonic()

    def span_ms(self, start_suffix: str, end_suffix: str, *prefixes: str) -> float | None:
        for prefix in prefixes:
            start = self.times.get(prefix + start_suffix)
            end = self.times.get(prefix + end_suffix)
            if start is not None and end is not None:
                return (end - start) * 1000.0
        return None

    def first(self, *names: str) -> float | None:
        for name in names:
            if name in self.times:
                return self.times[name]
        return None


def request_size(request: httpx.Request, body: bytes | None) -> int:
    """Bytes of the request as written on the wire at HTTP level (request line, headers, body)."""
    target = request.url.raw_path
    size = len(request.method) + 1 + len(target) + len(b" HTTP/1.1") + _EOL
    size += sum(len(name) + 2 + len(value) + _EOL for name, value in request.headers.raw) + _EOL
    return size + (len(body) if body else 0)


def response_size(response: httpx.Response) -> int:
    reason = response.reason_phrase.encode()
    size = len(b"HTTP/1.1 200 ") + len(reason) + _EOL
    size += sum(len(name) + 2 + len(value) + _EOL for name, value in response.headers.raw) + _EOL
    return size + response.num_bytes_downloaded


class CallMaker(Protocol):
    """A load client's handle that makes the item's call itself (the llhttp client, a benchmark's candidate)."""

    async def perform(self, record: CallRecord, t0: float) -> CallRecord: ...


async def perform_call(
    client: httpx.AsyncClient | CallMaker, call: CallSpec, record: CallRecord, t0: float
) -> CallRecord:
    """Send `call` now, fill `record`'s measured fields (times relative to monotonic `t0`) and return it.

    `client` is an httpx client (single, repeat, TLS loads) or a load client's handle that sends the item's
    prepared request itself (`lueur_net.driver.h1.H1Pool`)."""
    if not isinstance(client, httpx.AsyncClient):
        return await client.perform(record, t0)
    trace = _Trace()
    request = client.build_request(
        call.method,
        call.url,
        headers=list(call.headers),
        content=call.body,
        extensions={"trace": trace},
    )
    record.bytes_out = request_size(request, call.body)
    sent = time.monotonic()
    record.sent_s = sent - t0
    response: httpx.Response | None = None
    try:
        async with asyncio.timeout(call.timeout_s):
            response = await client.send(request)
            try:
                await response.aread()
            finally:
                await response.aclose()
    except Exception as error:  # noqa: BLE001 - every failure becomes a classified record
        record_failure(record, error, call.timeout_s)
    end = time.monotonic()
    record.connect_ms = trace.span_ms(".started", ".complete", "connection.connect_tcp")
    record.tls_ms = trace.span_ms(".started", ".complete", "connection.start_tls")
    headers_at = trace.first("http11.receive_response_headers.complete", "http2.receive_response_headers.complete")
    record.ttfb_ms = (headers_at - sent) * 1000.0 if headers_at is not None else None
    record.total_ms = (end - sent) * 1000.0
    record.latency_ms = (end - t0 - record.intended_s) * 1000.0
    if response is not None:
        record.status = response.status_code
        record.bytes_in = response_size(response)
    return record


def warm_up_request(client: httpx.AsyncClient, call: CallSpec) -> None:
    """Run httpx's request-building code once before t0 (URL parsing, header normalisation, first-use imports):
    measured ~5 ms on the first call otherwise, all of it send lag. Nothing goes on the wire."""
    client.build_request(call.method, call.url, headers=list(call.headers), content=call.body)


def tls_context(call: CallSpec) -> ssl.SSLContext | bool:
    """One TLS context per item, shared by its clients (building one costs ~10 ms; httpx builds one per client)."""
    if not call.url.lower().startswith("https:"):
        return False  # plain HTTP never uses it
    return ssl.create_default_context()


def make_client(call: CallSpec, max_connections: int, verify: ssl.SSLContext | bool) -> httpx.AsyncClient:
    """An httpx client for one virtual client: a small pool (httpcore's pool scan grows with its size)."""
    return httpx.AsyncClient(
        verify=verify,
        timeout=httpx.Timeout(call.timeout_s),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        follow_redirects=False,
        trust_env=False,  # never send lab traffic through a proxy from the environment
    )


class ShardedClient:
    """One virtual client's connections, as several small httpx clients ("shards") used lowest-first.

    httpcore scans its whole pool on every request and response, so one client with hundreds of connections
    (a stalled server under open-loop load) costs more CPU per call the further behind it falls, which slows the
    schedule further. Shards keep every scan short: a call takes the first shard with fewer than `shard_size`
    calls in flight (never queueing inside httpx), and a new shard opens only when all are busy. At a steady
    rate the first shard's kept-alive connections carry everything.
    """

    def __init__(self, call: CallSpec, verify: ssl.SSLContext | bool, shard_size: int = 8) -> None:
        self.call = call
        self.verify = verify
        self.shard_size = shard_size
        self.shards: list[httpx.AsyncClient] = []
        self.in_flight: list[int] = []

    def acquire(self) -> httpx.AsyncClient:
        for index, busy in enumerate(self.in_flight):
            if busy < self.shard_size:
                self.in_flight[index] += 1
                return self.shards[index]
        self.shards.append(make_client(self.call, self.shard_size, self.verify))
        self.in_flight.append(1)
        return self.shards[-1]

    def release(self, shard: httpx.AsyncClient) -> None:
        self.in_flight[self.shards.index(shard)] -= 1  # a few shards at most: the scan is short

    def warm_up(self) -> None:
        """Build the first shard and run httpx's request-building code once, before the clock starts."""
        shard = self.acquire()
        warm_up_request(shard, self.call)
        self.release(shard)

    async def aclose(self) -> None:
        for shard in self.shards:
            await shard.aclose()
