"""`lueur-net analyze` on the bundled example's real results with a real model (SmolLM2-135M through llama.cpp).

The fixture results come from one real run of examples/fastapi-sqlite/scenario.yaml on this machine
(fixtures/results.json and its calls). The answers of a 135M model vary; the tests assert structure, budgets and
flags, never the quality of the prose.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from ollama_llama import MODEL_NAME, LlamaOllama

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
NUM_CTX = 2048  # small: every step has to drop parts, and a step costs seconds, not minutes, on 2 cores
NUM_PREDICT = 192
INVENTED = "4321.9 ms"
HEADINGS = ["Table of Contents", "Executive Summary", "Overall Resilience Posture", "SLO Failures Deep Dive",
            "Dashboard Summary", "Potential Cause Hypotheses", "Recommendations", "Threats & Next Steps"]


def _steer(messages: list[dict[str, Any]]) -> tuple[str, int] | None:
    """Make the model start the SLO deep dive and the executive summary (both fact-checked) with a figure that is
    in no result, then add a little of its own."""
    task = str(messages[-1].get("content", ""))
    if "## Your task: SLO Failures Deep Dive" in task or "## Your task: Executive Summary" in task:
        return (f"**Findings**\n\n- Under the fault windows the p99 latency reached {INVENTED} on the "
                "create-user endpoint.\n- ", 48)
    return None


@pytest.fixture(scope="module")
def analysis(llama_server: LlamaOllama, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("llm-analysis") / "analysis.md"
    first = len(llama_server.log)
    llama_server.steer = _steer
    began = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "lueur_net.cli.main", "analyze", str(FIXTURES / "results.json"),
             "--ollama-host", llama_server.url, "--num-ctx", str(NUM_CTX), "--num-predict", str(NUM_PREDICT),
             "--step-timeout", "60", "--timeout", "200", "-o", str(out)],
            capture_output=True, text=True, timeout=300, cwd=REPO)
    finally:
        llama_server.steer = None
    elapsed = time.monotonic() - began
    print(f"\nanalyze with {MODEL_NAME}: {elapsed:.1f} s\n{done.stderr[-3000:]}")
    return {"done": done, "text": out.read_text() if out.exists() else "", "log": llama_server.log[first:],
            "elapsed": elapsed}


def _section(text: str, heading: str) -> str:
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_report_has_every_section_of_the_reference(analysis: dict[str, Any]) -> None:
    done, text = analysis["done"], analysis["text"]
    assert done.returncode == 0, done.stderr[-3000:]
    positions = [text.index(f"\n## {heading}\n") for heading in HEADINGS]
    assert positions == sorted(positions)
    # the SLO table and the dashboard come from the data, whatever the model wrote
    slo = _section(text, "SLO Failures Deep Dive")
    assert "| Scenario | Endpoint | SLO | Objective | Observed | Margin | Failure pattern |" in slo
    assert "| Scope | Total scenarios | Passed | Failed |" in _section(text, "Dashboard Summary")
    assert f"by model `{MODEL_NAME}`" in text and f"num_ctx {NUM_CTX}" in text  # chosen: the first that fits


def test_no_prompt_exceeds_the_context_the_request_sets(analysis: dict[str, Any]) -> None:
    chats = [entry for entry in analysis["log"] if entry.path == "/api/chat"]
    assert 6 <= len(chats) <= 12  # six steps, each retried at most once
    for entry in chats:
        assert entry.num_ctx == NUM_CTX and entry.num_predict == NUM_PREDICT
        assert not entry.truncated and entry.prompt_tokens + NUM_PREDICT <= NUM_CTX, entry


def test_the_invented_figure_is_flagged(analysis: dict[str, Any]) -> None:
    """The SLO deep dive (step 2) is always reached; the summary (step 6) is checked when the model wrote it."""
    for heading in ("SLO Failures Deep Dive", "Executive Summary"):
        section = _section(analysis["text"], heading)
        if heading == "Executive Summary" and "Offline analyzer's section" in section:
            continue
        assert f"{INVENTED} [not in the results]" in section, heading
        assert re.search(r"_\d+ figures? in this section do(es)? not appear in the results\._", section), heading
    assert "figures written by the model do not appear in the results" in analysis["done"].stderr


def test_progress_on_the_terminal(analysis: dict[str, Any]) -> None:
    stderr = analysis["done"].stderr
    assert f"num_ctx {NUM_CTX}" in stderr
    for step in range(1, 7):
        assert f"[{step}/6]" in stderr
    assert re.search(r"\[6/6\] \d+ tokens in [\d.]+ s \([\d.]+ tokens/s\)", stderr)
