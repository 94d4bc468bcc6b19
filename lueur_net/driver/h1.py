"""The load path's HTTP/1.1 client: asyncio protocol + httptools' llhttp parser, kept-alive connections per client.

Why not httpx here: profiled at 1500 rps, most of a call's CPU went to httpx/httpcore/anyio layers (request
objects, header normalisation, pool scans, anyio streams, trace callbacks), not to the socket. A load sends the same
request thousands of times, so this client builds its bytes once (with httpx's own `build_request`, so the headers
on the wire and `bytes_out` are exactly what httpx would send), writes them on a kept-alive connection and lets
llhttp (the parser of Node.js, through httptools) parse the response. No HTTP parsing of our own.

Scope: plain `http://` URLs, HTTP/1.1, no redirects (the driver never follows them). TLS and HTTP/2 stay on httpx
(`lueur_net.driver.call`), which also serves single and repeat calls.

Record fields are the httpx path's: `connect_ms` (TCP connect incl. name resolution, None on a reused connection),
`ttfb_ms` (send -> headers parsed), `total_ms`, `latency_ms`, `status`, `bytes_in` (status line + headers + body as
received, body de-chunked like h11's), `error_class`/`error` through the same `classify` (errno in the chain:
refused, reset, ...; `httpx.RemoteProtocolError` for a peer that breaks HTTP, so it classifies as `protocol`).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import deque
from urllib.parse import urlsplit

import httptools
import httpx

from lueur_net.driver.errorclass import record_failure
from lueur_net.driver.spec import CallSpec
from lueur_net.records.call import CallRecord

_EOL = 2  # "\r\n"
_DISCONNECTED = "Server disconnected without sending a response."  # httpcore's wording, for the same cases


class _Response:
    """What the parser reported for one response, and the future the caller awaits."""

    __slots__ = ("body_bytes", "chunked", "done", "has_length", "header_bytes", "headers_at", "reason", "status")

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done
        self.status = 0
        self.reason = b""
        self.header_bytes = 0  # "name: value\r\n" for each header, as received
        self.body_bytes = 0
        self.headers_at: float | None = None
        self.has_length = False
        self.chunked = False


class H1Connection(asyncio.Protocol):
    """One TCP connection: one request at a time (no pipelining), a fresh llhttp parser per response."""

    def __init__(self, pool: H1Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.response: _Response | None = None
        self.head_only = False
        self.closed = False
        self.keep_alive = False

    # ----- asyncio.Protocol -----

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.parser is None:  # bytes nobody asked for (a server talking on an idle connection): unusable
            self.abort()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(httpx.RemoteProtocolError(f"malformed response: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        response = self.response
        if response is None or response.done.done():
            return
        if exc is None and response.headers_at is not None and not response.has_length and not response.chunked:
            self._complete()  # a body delimited by the end of the connection (no length, not chunked)
            return
        error: BaseException = exc if exc is not None else httpx.RemoteProtocolError(_DISCONNECTED)
        self._fail(error)

    # ----- llhttp callbacks -----

    def on_status(self, reason: bytes) -> None:
        assert self.response is not None
        self.response.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        response = self.response
        assert response is not None
        response.header_bytes += len(name) + 2 + len(value) + _EOL
        lowered = name.lower()
        if lowered == b"content-length":
            response.has_length = True
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            response.chunked = True

    def on_headers_complete(self) -> None:
        response = self.response
        assert response is not None and self.parser is not None
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # an interim answer (100 Continue): the real one follows
            response.reason = b""
            response.header_bytes = 0
            return
        response.status = status
        response.headers_at = time.monotonic()
        if self.head_only or status in (204, 304):  # no body, whatever the headers say
            self._complete()

    def on_body(self, body: bytes) -> None:
        assert self.response is not None
        self.response.body_bytes += len(body)

    def on_message_complete(self) -> None:
        if self.response is not None and self.response.status:  # not the end of an interim answer
            self._complete()

    # ----- the call -----

    def _complete(self) -> None:
        response = self.response
        if response is None or response.done.done():
            return
        self.keep_alive = bool(self.parser is not None and self.parser.should_keep_alive()) and not self.head_only
        response.done.set_result(None)

    def _fail(self, error: BaseException) -> None:
        response = self.response
        self.keep_alive = False
        if response is not None and not response.done.done():
            response.done.set_exception(error)
        self.abort()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def send(self, request: bytes, head_only: bool) -> _Response:
        assert self.transport is not None
        self.response = _Response(self.pool.loop.create_future())
        self.parser = httptools.HttpResponseParser(self)
        self.head_only = head_only
        self.keep_alive = False
        self.transport.write(request)
        return self.response

    def finish(self) -> None:
        """After a call: back to the pool's idle list when the connection can carry another call, else closed."""
        self.response = None
        self.parser = None
        if self.keep_alive and not self.closed:
            self.pool.idle.append(self)
        else:
            self.abort()


class H1Pool:
    """One virtual client's kept-alive connections to the item's URL: an idle connection is reused (most recently
    used first: it is the one least likely to have been closed by the server), else a new one is opened. Calls in
    flight are not limited here (open loop: concurrency grows as needed; the load's `max_in_flight` bounds it)."""

    def __init__(self, call: CallSpec) -> None:
        parts = urlsplit(call.url)
        if parts.scheme.lower() != "http":
            raise ValueError(f"the llhttp load client serves plain http:// URLs, not {call.url}")
        self.call = call
        self.host = parts.hostname or ""
        self.port = parts.port or 80
        self.head_only = call.method.upper() == "HEAD"
        self.request = build_request_bytes(call)
        self.idle: deque[H1Connection] = deque()
        self.open: set[H1Connection] = set()
        self.loop = asyncio.get_running_loop()

    # The load strategy's client interface (as ShardedClient's): a handle per call, nothing to share out here.
    def acquire(self) -> H1Pool:
        return self

    def release(self, handle: H1Pool) -> None:
        pass

    def warm_up(self) -> None:
        """The request bytes are built in __init__; run the parser's code once so its first use costs nothing."""
        httptools.HttpResponseParser(self).feed_data(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    def forget(self, connection: H1Connection) -> None:
        self.open.discard(connection)
        try:
            self.idle.remove(connection)
        except ValueError:
            pass

    async def _connection(self) -> tuple[H1Connection, float | None]:
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed:
                return connection, None
        began = time.monotonic()
        _, protocol = await self.loop.create_connection(lambda: H1Connection(self), self.host, self.port)
        connected = time.monotonic()
        self.open.add(protocol)
        return protocol, (connected - began) * 1000.0

    async def perform(self, record: CallRecord, t0: float) -> CallRecord:
        """Send the item's request now, fill `record`'s measured fields (times relative to monotonic `t0`)."""
        call = self.call
        record.bytes_out = len(self.request)
        sent = time.monotonic()
        record.sent_s = sent - t0
        connection: H1Connection | None = None
        response: _Response | None = None
        try:
            async with asyncio.timeout(call.timeout_s):
                connection, record.connect_ms = await self._connection()
                response = connection.send(self.request, self.head_only)
                await response.done
        except Exception as error:  # noqa: BLE001 - every failure becomes a classified record
            record_failure(record, error, call.timeout_s)
            if connection is not None:
                connection.keep_alive = False
        end = time.monotonic()
        if connection is not None:
            connection.finish()
        if response is not None and response.headers_at is not None:
            record.ttfb_ms = (response.headers_at - sent) * 1000.0
        record.total_ms = (end - sent) * 1000.0
        record.latency_ms = (end - t0 - record.intended_s) * 1000.0
        if response is not None and response.headers_at is not None:  # as httpx: a status once headers came
            record.status = response.status
            record.bytes_in = (len(b"HTTP/1.1 200 ") + len(response.reason) + _EOL + response.header_bytes + _EOL
                               + response.body_bytes)
        return record

    async def aclose(self) -> None:
        for connection in list(self.open):
            connection.abort()
        self.open.clear()
        self.idle.clear()


@functools.lru_cache(maxsize=16)
def build_request_bytes(call: CallSpec) -> bytes:
    """The request as httpx would write it: httpx builds it (default headers, the call's headers on top, Host,
    Content-Length), we serialise it once per item (CallSpec is frozen; every virtual client shares the bytes).
    A do-nothing transport: httpx's default one builds an SSL context (~10 ms) that a plain request never uses."""
    with httpx.Client(trust_env=False, transport=httpx.MockTransport(lambda request: httpx.Response(500))) as client:
        request = client.build_request(call.method, call.url, headers=list(call.headers), content=call.body)
    lines = [request.method.encode() + b" " + request.url.raw_path + b" HTTP/1.1"]
    lines.extend(name + b": " + value for name, value in request.headers.raw)
    return b"\r\n".join(lines) + b"\r\n\r\n" + (call.body or b"")


def serves(call: CallSpec) -> bool:
    """Whether the llhttp load client can make this call: plain HTTP without credentials in the URL (httpx turns
    those into an Authorization header when it sends, not in build_request). Otherwise the load runs on httpx."""
    parts = urlsplit(call.url)
    return parts.scheme.lower() == "http" and "@" not in parts.netloc
