"""The test server speaks Ollama's API the way the analysis relies on, with a real model behind it."""

from __future__ import annotations

import httpx
import ollama
from ollama_llama import MODEL_NAME, OLLAMA_DEFAULT_NUM_CTX, LlamaOllama


def test_speaks_ollama_api(llama_server: LlamaOllama) -> None:
    assert httpx.get(f"{llama_server.url}/api/version").json()["version"]
    client = ollama.Client(host=llama_server.url)
    assert [m.model for m in client.list().models] == [MODEL_NAME]
    shown = client.show(MODEL_NAME)
    assert shown.modelinfo is not None and shown.modelinfo["llama.context_length"] == 8192
    answer = client.generate(model=MODEL_NAME, prompt="Say hello.", options={"num_predict": 12, "temperature": 0})
    assert answer.done and answer.response and 1 <= (answer.eval_count or 0) <= 12
    chunks = list(client.chat(model=MODEL_NAME, messages=[{"role": "user", "content": "Name a colour."}],
                              stream=True, options={"num_predict": 12, "num_ctx": 2048}))
    assert chunks[-1].done and chunks[-1].done_reason in ("stop", "length")
    assert "".join(c.message.content or "" for c in chunks).strip()
    assert llama_server.log[-1].num_ctx == 2048 and llama_server.log[-2].num_ctx == OLLAMA_DEFAULT_NUM_CTX


def test_truncates_a_long_prompt_silently_like_ollama(llama_server: LlamaOllama) -> None:
    """A prompt over num_ctx is cut to its last tokens; the client hears nothing of it, the log does."""
    client = ollama.Client(host=llama_server.url)
    prompt = "FACT: the p95 latency was 500 ms. " * 120 + "\nQuestion: what colour is the sky?"
    answer = client.generate(model=MODEL_NAME, prompt=prompt, options={"num_ctx": 512, "num_predict": 8})
    assert answer.done  # no error, no warning
    entry = llama_server.log[-1]
    assert entry.truncated and entry.prompt_tokens > 512 and entry.kept_tokens <= 512 - 8
    assert answer.prompt_eval_count == entry.kept_tokens
