"""The Ollama analysis against a fake server speaking Ollama's API on 127.0.0.1 (see analysis_fake_ollama.py)."""

from __future__ import annotations

import socket
from pathlib import Path

from analysis_fake_ollama import MODEL, FakeOllama
from analysis_fixture import API_KEY, SECRET
from lueur_net.analysis.llm import LlmOptions, write_analysis
from lueur_net.analysis.model import Run
from lueur_net.analysis.prompts import steps

HEADINGS = ["Executive Summary", "Overall Resilience Posture", "SLO Failures Deep Dive", "Dashboard Summary",
            "Potential Cause Hypotheses", "Recommendations", "Threats & Next Steps"]


def _prompt_text(server: FakeOllama) -> list[str]:
    return ["\n".join(str(m["content"]) for m in chat["messages"]) for chat in server.chats()]


def test_chain_streams_and_assembles_report(sample_run: Run, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    chunks: list[str] = []
    output = tmp_path / "analysis.md"
    outcome = write_analysis(sample_run, output, LlmOptions(model="tiny-test", host=fake_ollama.url),
                             progress=chunks.append)
    assert outcome.used_llm and outcome.problem is None
    # one chat per step, streamed, each chunk handed to the progress callback
    assert len(fake_ollama.chats()) == len(steps("developer", with_source=False))
    assert all(chat["stream"] is True and chat["model"] == MODEL for chat in fake_ollama.chats())
    assert all(chat["options"]["num_ctx"] >= 8192 for chat in fake_ollama.chats())
    streamed = "".join(chunks)
    assert len(chunks) > 50 and "Notes on Executive Summary" in streamed and "[6/6] Executive Summary" in streamed
    text = output.read_text()
    # the executive summary comes first, after the table of contents, like the reference
    positions = [text.index(f"\n## {heading}\n") for heading in HEADINGS]
    assert positions == sorted(positions)
    assert text.index("## Table of Contents") < positions[0]
    assert "- [Executive Summary](#executive-summary)" in text
    assert "Notes on Recommendations" in text and "```diff" in text


def test_prompts_carry_evidence_and_never_a_secret(sample_run: Run, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    write_analysis(sample_run, tmp_path / "a.md", LlmOptions(model="tiny-test", host=fake_ollama.url))
    prompts = _prompt_text(fake_ollama)
    latency = next(c for c in sample_run.checks if c.title == "P95 < 300ms")
    for prompt in prompts:
        assert SECRET not in prompt and API_KEY not in prompt
        assert f"{latency.observed:.1f} ms" in prompt  # the breached p95
        assert "+9.0 pp" in prompt  # the blackhole's error-rate margin
        assert "6/60" in prompt and "timeout 6" in prompt
    assert SECRET not in (tmp_path / "a.md").read_text()


def test_source_dir_is_sent_redacted(sample_run: Run, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "node_modules").mkdir(parents=True)
    (source / "app.py").write_text(
        'API_KEY = "sk-live-0123456789"\n\n@app.post("/users/")\n'
        "async def create_user(name: str, secret_password: str):\n"
        "    return User(name=name, secret_password=secret_password)\n")
    (source / ".env").write_text("DB_PASSWORD=from-dotenv-123\n")
    (source / "node_modules" / "lib.js").write_text("// vendored /users/ /users/ /users/\n")
    outcome = write_analysis(sample_run, tmp_path / "a.md",
                             LlmOptions(model="tiny-test", host=fake_ollama.url, source_dir=source))
    assert outcome.used_llm
    prompts = _prompt_text(fake_ollama)
    with_source = [p for p in prompts if "### app.py" in p]
    assert len(with_source) == 2  # causes and recommendations
    for prompt in prompts:
        assert "sk-live-0123456789" not in prompt and "from-dotenv-123" not in prompt and "vendored" not in prompt
    assert "secret_password=secret_password" in with_source[0]  # code stays code
    assert "unified diff" in with_source[1]


def test_unknown_model_lists_models_and_writes_offline(sample_run: Run, fake_ollama: FakeOllama,
                                                       tmp_path: Path) -> None:
    output = tmp_path / "analysis.md"
    outcome = write_analysis(sample_run, output, LlmOptions(model="no-such-model", host=fake_ollama.url))
    assert not outcome.used_llm and outcome.unknown_model
    assert outcome.problem is not None and "no-such-model" in outcome.problem and MODEL in outcome.problem
    assert fake_ollama.chats() == []
    text = output.read_text()
    assert "offline analysis" in text and "## Analysis" in text and "[critical]" in text


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_server_writes_offline(sample_run: Run, tmp_path: Path) -> None:
    output = tmp_path / "analysis.md"
    host = f"http://127.0.0.1:{_closed_port()}"
    outcome = write_analysis(sample_run, output, LlmOptions(model="tiny-test", host=host))
    assert not outcome.used_llm and not outcome.unknown_model
    assert outcome.problem is not None and "cannot reach the Ollama server" in outcome.problem and host in outcome.problem
    assert "offline analysis" in output.read_text()


def test_server_timing_out_writes_offline(sample_run: Run, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    fake_ollama.chat_delay_s = 3.0
    output = tmp_path / "analysis.md"
    outcome = write_analysis(sample_run, output, LlmOptions(model="tiny-test", host=fake_ollama.url, timeout_s=0.5))
    assert not outcome.used_llm and outcome.problem is not None and "did not answer in time" in outcome.problem
    assert "offline analysis" in output.read_text()
