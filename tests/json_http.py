"""A quiet HTTP request handler that answers JSON: the base of the test servers speaking Ollama's API (the canned one
in tests/unit/analysis, the llama.cpp-backed one in tests/llm)."""

from __future__ import annotations

import json
from typing import Any

from quiet_http import QuietHandler


class JsonHandler(QuietHandler):
    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self.reply(json.dumps(payload).encode(), status, "application/json; charset=utf-8")
