"""The llhttp load client writes exactly the request httpx would (headers, order, body), so `bytes_out` and what
the server sees do not depend on which client the load path uses."""

from __future__ import annotations

import httpx
import pytest

from lueur_net.driver.call import request_size
from lueur_net.driver.h1 import build_request_bytes, serves
from lueur_net.driver.spec import CallSpec


@pytest.mark.parametrize("call", [
    CallSpec("GET", "http://localhost:8080/"),
    CallSpec("POST", "http://127.0.0.1:9/a/b?x=1&y=%20", headers=(("X-A", "1"), ("User-Agent", "me")), body=b"{}"),
    CallSpec("HEAD", "http://example.test/p", headers=(("accept", "text/plain"),)),
])
def test_request_bytes_are_httpx_s_request(call: CallSpec) -> None:
    wire = build_request_bytes(call)
    request = httpx.Client(trust_env=False).build_request(call.method, call.url, headers=list(call.headers),
                                                          content=call.body)
    head, _, body = wire.partition(b"\r\n\r\n")
    line, *headers = head.split(b"\r\n")
    assert line == request.method.encode() + b" " + request.url.raw_path + b" HTTP/1.1"
    assert [tuple(h.split(b": ", 1)) for h in headers] == list(request.headers.raw)
    assert body == (call.body or b"")
    assert len(wire) == request_size(request, call.body)  # the httpx path's bytes_out


def test_only_plain_http_goes_to_the_llhttp_client() -> None:
    assert serves(CallSpec("GET", "http://x/")) and serves(CallSpec("GET", "HTTP://x/"))
    assert not serves(CallSpec("GET", "https://x/"))  # TLS stays on httpx
    assert not serves(CallSpec("GET", "http://user:secret@x/"))  # httpx adds the Authorization header at send
