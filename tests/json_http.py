"""A quiet HTTP request handler that answers JSON, and the loopback server that runs it: the base of the test servers
speaking Ollama's API (the canned one in tests/unit/analysis, the llama.cpp-backed one in tests/llm)."""

from __future__ import annotations

import json
import threading
from http.server import ThreadingHTTPServer
from typing import Any

from quiet_http import QuietHandler


class JsonHandler(QuietHandler):
    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self.reply(json.dumps(payload).encode(), status, "application/json; charset=utf-8")


class OwnedServer(ThreadingHTTPServer):
    """A thread per request; `owner` is the object whose state the handlers answer from (`self.server.owner`)."""

    daemon_threads = True
    owner: Any

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a timeout, a step deadline) closes the socket mid-answer: expected


class LoopbackServer:
    """Serves `handler` on 127.0.0.1 at a free port from a thread of its own: `url`, `start()`, `stop()`."""

    def __init__(self, handler: type[JsonHandler], *, thread_name: str, stop_timeout_s: float = 5.0) -> None:
        self._server = OwnedServer(("127.0.0.1", 0), handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, name=thread_name, daemon=True)
        self._stop_timeout_s = stop_timeout_s

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=self._stop_timeout_s)
