"""The tests' and benchmarks' shared quiet HTTP handler (tests/quiet_http.py): one reply, no log line per request."""

from __future__ import annotations

import http.client
import http.server
import threading

import pytest
from quiet_http import QuietHandler


class _Hello(QuietHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/typed":
            self.reply(b"hello", 203, "text/plain")
        else:
            self.reply(b"ok")


def test_a_reply_carries_its_length_and_nothing_is_logged(capsys: pytest.CaptureFixture[str]) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answers = []
        for path in ("/", "/typed"):
            connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
            connection.request("GET", path)
            response = connection.getresponse()
            answers.append((response.status, response.getheader("Content-Type"),
                            response.getheader("Content-Length"), response.read()))
            connection.close()
    finally:
        server.shutdown()
        server.server_close()
    assert answers == [(200, None, "2", b"ok"), (203, "text/plain", "5", b"hello")]
    assert capsys.readouterr().err == ""  # BaseHTTPRequestHandler logs every request to stderr by default
