"""The chain's handling of what real models do, against the canned server (analysis_fake_ollama.py): explicit
num_ctx from /api/show, budgeted prompts, retry then offline section, facts check, Ctrl-C, model choice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from analysis_fake_ollama import MODEL, FakeOllama
from click.testing import CliRunner

from lueur_net.analysis.budget import estimate_tokens
from lueur_net.analysis.facts import FLAG
from lueur_net.analysis.llm import LlmOptions, write_analysis
from lueur_net.analysis.model import Run
from lueur_net.cli.main import cli


def _task(messages: list[dict[str, Any]]) -> str:
    content = str(messages[-1]["content"])
    return content.split("## Your task: ", 1)[1].split("\n", 1)[0].strip()


def _good(task: str) -> str:
    return (f"Notes on {task}: the service failed under the blackhole fault, and the calls that were made "
            "during the window were slower than the ones outside it.\n\n| Recommendation | Priority |\n|---|---|\n"
            "| Enforce timeouts | Critical |\n")


def test_num_ctx_comes_from_the_models_context_and_prompts_fit(sample_run: Run, fake_ollama: FakeOllama,
                                                               tmp_path: Path) -> None:
    fake_ollama.contexts[MODEL] = 4096
    lines: list[str] = []
    outcome = write_analysis(sample_run, tmp_path / "a.md",
                             LlmOptions(model="tiny-test", host=fake_ollama.url, num_predict=1024),
                             notice=lines.append)
    assert outcome.used_llm and outcome.num_ctx == 4096
    for chat in fake_ollama.chats():
        assert chat["options"]["num_ctx"] == 4096 and chat["options"]["num_predict"] == 1024
        sent = "".join(str(m["content"]) for m in chat["messages"])
        assert estimate_tokens(sent) + 1024 <= 4096
    said = "".join(lines)
    assert "num_ctx 16384 capped at the model's context length 4096" in said
    assert "tokens/s" in said and "[6/6]" in said


def test_dropped_parts_are_printed(sample_run: Run, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    fake_ollama.answer = lambda messages: _good(_task(messages)) + ("Long evidence. " * 400)
    lines: list[str] = []
    outcome = write_analysis(sample_run, tmp_path / "a.md",
                             LlmOptions(model="tiny-test", host=fake_ollama.url, num_ctx=4096, num_predict=1024),
                             notice=lines.append)
    assert outcome.used_llm
    said = "".join(lines)
    assert "prompt ~" in said and ("dropped" in said or "shortened" in said)
    assert any(step.dropped or step.shrunk for step in outcome.steps)


def test_unusable_answer_is_retried_stricter_then_replaced(sample_run: Run, fake_ollama: FakeOllama,
                                                           tmp_path: Path) -> None:
    def answer(messages: list[dict[str, Any]]) -> str:
        task = _task(messages)
        if task == "Overall Resilience Posture":
            return "posture posture posture posture posture posture posture posture " * 10  # a loop, always
        if task == "Potential Cause Hypotheses" and "could not be used" not in str(messages[-1]["content"]):
            return ""  # nothing the first time, fine on the stricter retry
        return _good(task)

    fake_ollama.answer = answer
    output = tmp_path / "a.md"
    outcome = write_analysis(sample_run, output, LlmOptions(model="tiny-test", host=fake_ollama.url))
    by_key = {step.key: step for step in outcome.steps}
    assert by_key["posture"].attempts == 2 and by_key["posture"].rejected == ["repeated text", "repeated text"]
    assert by_key["posture"].replaced == "repeated text, then repeated text on the stricter retry"
    assert by_key["causes"].attempts == 2 and by_key["causes"].replaced is None
    retries = [chat for chat in fake_ollama.chats() if "could not be used" in chat["messages"][-1]["content"]]
    assert len(retries) == 2 and all(chat["options"]["temperature"] == 0.0 for chat in retries)
    assert all(chat["options"]["repeat_penalty"] == 1.3 for chat in retries)
    assert all("repeat_penalty" not in chat["options"] for chat in fake_ollama.chats() if chat not in retries)
    text = output.read_text()
    posture = text.split("## Overall Resilience Posture", 1)[1].split("\n## ", 1)[0]
    assert "Offline analyzer's section: the model's answer was not used (repeated text" in posture
    assert "scenarios held" in posture  # the offline posture paragraph
    assert "Notes on Potential Cause Hypotheses" in text


def test_invented_figures_in_the_summary_are_flagged(sample_run: Run, fake_ollama: FakeOllama,
                                                     tmp_path: Path) -> None:
    def answer(messages: list[dict[str, Any]]) -> str:
        task = _task(messages)
        if task == "Executive Summary":
            return "Findings: the p99 latency reached 4321.9 ms while 6 of 60 calls failed under the blackhole."
        return _good(task)

    fake_ollama.answer = answer
    output = tmp_path / "a.md"
    outcome = write_analysis(sample_run, output, LlmOptions(model="tiny-test", host=fake_ollama.url))
    summary = output.read_text().split("## Executive Summary", 1)[1].split("\n## ", 1)[0]
    assert f"4321.9 ms {FLAG}" in summary and f"6 of 60 calls {FLAG}" not in summary
    assert "_1 figure in this section does not appear in the results._" in summary
    assert next(step for step in outcome.steps if step.key == "summary").flagged == ["4321.9 ms"]


def test_ctrl_c_keeps_what_is_done(sample_run: Run, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    fake_ollama.answer = lambda messages: _good(_task(messages))
    output = tmp_path / "a.md"

    pressed: list[str] = []

    def progress(text: str) -> None:  # Ctrl-C once, as step 3 starts
        if "[3/6] Potential" in text and not pressed:
            pressed.append(text)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_analysis(sample_run, output, LlmOptions(model="tiny-test", host=fake_ollama.url), progress=progress)
    text = output.read_text()
    assert "Notes on Overall Resilience Posture" in text and "Notes on SLO Failures Deep Dive" in text
    assert "Notes on Potential Cause Hypotheses" not in text
    assert text.count("not used (interrupted (Ctrl-C))") == 4  # steps 3 to 6
    assert len(fake_ollama.chats()) == 2


def test_total_timeout_replaces_the_steps_not_reached(sample_run: Run, fake_ollama: FakeOllama,
                                                      tmp_path: Path) -> None:
    fake_ollama.answer = lambda messages: _good(_task(messages))
    fake_ollama.chat_delay_s = 0.6
    output = tmp_path / "a.md"
    outcome = write_analysis(sample_run, output, LlmOptions(model="tiny-test", host=fake_ollama.url,
                                                            total_timeout_s=1.0))
    assert outcome.used_llm and 1 <= len(fake_ollama.chats()) <= 2
    assert "the total time budget (--timeout 1 s) was spent" in output.read_text()


def test_default_model_is_the_first_that_fits(sample_run: Run, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LUEUR_NET_MODEL", raising=False)
    server = FakeOllama(models=("embed:latest", "small:latest", "good:latest", "later:latest"))
    server.capabilities["embed:latest"] = ["embedding"]
    server.contexts.update({"small:latest": 1024, "good:latest": 8192, "later:latest": 32768})
    server.answer = lambda messages: _good(_task(messages))
    server.start()
    try:
        outcome = write_analysis(sample_run, tmp_path / "a.md", LlmOptions(host=server.url))
        assert outcome.model == "good:latest" and outcome.num_ctx == 8192
        monkeypatch.setenv("LUEUR_NET_MODEL", "later")
        outcome = write_analysis(sample_run, tmp_path / "b.md", LlmOptions(host=server.url))
        assert outcome.model == "later:latest"
        monkeypatch.delenv("LUEUR_NET_MODEL")
        listed = CliRunner().invoke(cli, ["analyze", "--list-models", "--ollama-host", server.url])
        assert listed.exit_code == 0, listed.output
        rows = {line.split()[1] if line.startswith("*") else line.split()[0]: line
                for line in listed.output.splitlines()[1:]}
        assert rows["good:latest"].startswith("*") and "yes" in rows["good:latest"]
        assert "no: context 1024 tokens < 2048" in rows["small:latest"]
        assert "no: not a completion model (embedding)" in rows["embed:latest"]
    finally:
        server.stop()


def test_cli_exits_130_on_ctrl_c_with_the_report_written(run_files: tuple[Path, Path], fake_ollama: FakeOllama,
                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lueur_net.analysis import llm

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        Path(args[1]).write_text("partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(llm, "write_analysis", interrupted)
    output = tmp_path / "a.md"
    done = CliRunner().invoke(cli, ["analyze", str(run_files[0]), "--ollama-host", fake_ollama.url,
                                    "-o", str(output)])
    assert done.exit_code == 130 and output.read_text() == "partial"
    assert "interrupted; the sections done are in" in done.output
    assert json.loads(run_files[0].read_text())  # untouched
