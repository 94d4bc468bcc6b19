"""A fake Ollama server on 127.0.0.1 (random port) speaking the documented API the analysis uses.

- GET  /api/tags  -> {"models": [{"name", "model", "modified_at", "size", "digest", "details"}]}
- POST /api/show  -> the model's details, or 404 {"error": "model '...' not found"}
- POST /api/chat  -> with "stream" (default true): NDJSON chunks {"model", "created_at", "message":
  {"role": "assistant", "content"}, "done": false}, then a final {"done": true, "done_reason": "stop", ...
  durations and counts}; without stream, one JSON object. Unknown model: 404 {"error": ...}.

Every request body is kept in `requests` so tests can inspect the prompts. `chat_delay_s` makes /api/chat wait
before answering (to test client timeouts). `answer` (messages -> text) replaces the canned answer; `contexts`
(name -> tokens) puts "<arch>.context_length" in /api/show's model_info, `capabilities` (name -> list) its
capabilities.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from json_http import JsonHandler, LoopbackServer, OwnedServer

MODEL = "tiny-test:latest"
CREATED = "2026-11-27T15:00:00.000000Z"
DETAILS = {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
           "parameter_size": "1B", "quantization_level": "Q4_0"}


def _answer(messages: list[dict[str, Any]]) -> str:
    """A canned Markdown answer naming the task it was given, with a sub-heading, a table where the step asks
    for one and, for recommendations, a unified diff (so the report's table of contents and code blocks are
    exercised)."""
    task = ""
    for message in messages:
        content = str(message.get("content", ""))
        if "## Your task: " in content:
            task = content.split("## Your task: ", 1)[1].split("\n", 1)[0].strip()
    body = f"### Notes on {task}\n\nThe p95 under the 250 ms pulse is the tail that matters for {task}.\n"
    if task in ("Recommendations", "Threats & Next Steps"):  # the steps that ask for a table get one
        body += "\n| Recommendation | Priority |\n|---|---|\n| Enforce timeouts | Critical |\n"
    if task == "Recommendations":
        body += ("\n#### 1. Enforce timeouts\n\n```diff\n--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n"
                 "-engine = create_engine(DATABASE_URL)\n+engine = create_engine(DATABASE_URL, pool_timeout=5)\n"
                 "```\n")
    return body


class _Handler(JsonHandler):
    server: OwnedServer  # owner: the FakeOllama

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length", "0"))
        payload = json.loads(self.rfile.read(length) or b"{}")
        self.server.owner.requests.append((self.path, payload))
        return payload

    def do_GET(self) -> None:
        if self.path == "/api/tags":
            models = [{"name": name, "model": name, "modified_at": CREATED, "size": 1_000_000,
                       "digest": "0" * 64, "details": DETAILS} for name in self.server.owner.models]
            self._json(200, {"models": models})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        payload = self._body()
        model = str(payload.get("model") or payload.get("name") or "")
        if self.path == "/api/show":
            if model not in self.server.owner.models:
                self._json(404, {"error": f"model '{model}' not found"})
                return
            info: dict[str, Any] = {"general.architecture": "llama"}
            if model in self.server.owner.contexts:
                info["llama.context_length"] = self.server.owner.contexts[model]
            self._json(200, {"modelfile": f"FROM {model}", "parameters": "temperature 0.8",
                             "template": "{{ .Prompt }}", "details": DETAILS, "model_info": info,
                             "capabilities": self.server.owner.capabilities.get(model, ["completion"]),
                             "modified_at": CREATED})
            return
        if self.path != "/api/chat":
            self._json(404, {"error": "not found"})
            return
        if model not in self.server.owner.models:
            self._json(404, {"error": f"model \"{model}\" not found, try pulling it first"})
            return
        time.sleep(self.server.owner.chat_delay_s)
        answer = self.server.owner.answer or _answer
        text = answer(payload.get("messages", []))
        if payload.get("stream", True) is False:
            self._json(200, {"model": model, "created_at": CREATED,
                             "message": {"role": "assistant", "content": text}, "done": True,
                             "done_reason": "stop"})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()  # no Content-Length: the body ends when the connection closes
        self.close_connection = True
        words = text.split(" ") if text else []
        for position, word in enumerate(words):
            chunk = word + (" " if position < len(words) - 1 else "")
            line = {"model": model, "created_at": CREATED, "message": {"role": "assistant", "content": chunk},
                    "done": False}
            self.wfile.write(json.dumps(line).encode() + b"\n")
            self.wfile.flush()
        final = {"model": model, "created_at": CREATED, "message": {"role": "assistant", "content": ""},
                 "done": True, "done_reason": "stop", "total_duration": 1_000_000, "load_duration": 1000,
                 "prompt_eval_count": 100, "prompt_eval_duration": 1000, "eval_count": len(words),
                 "eval_duration": 1000}
        self.wfile.write(json.dumps(final).encode() + b"\n")


class FakeOllama(LoopbackServer):
    def __init__(self, models: tuple[str, ...] = (MODEL,)) -> None:
        self.models = list(models)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.chat_delay_s = 0.0
        self.answer: Callable[[list[dict[str, Any]]], str] | None = None
        self.contexts: dict[str, int] = {}
        self.capabilities: dict[str, list[str]] = {}
        super().__init__(_Handler, thread_name="fake-ollama")

    def chats(self) -> list[dict[str, Any]]:
        return [payload for path, payload in self.requests if path == "/api/chat"]
