"""A quiet HTTP request handler (no log line per request) with one way to answer a body: the base of the small HTTP
servers of the tests and benchmarks (json_http's Ollama stand-ins, conformance's counting server,
benchmarks/bench_repeat_gap.py's upstream)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output quiet
        pass

    def reply(self, body: bytes, status: int = 200, content_type: str | None = None) -> None:
        """The status line, Content-Type when given, Content-Length, then `body`."""
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
