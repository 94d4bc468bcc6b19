"""The pure parts of the LLM analysis, without any server: prompt budgeting, the facts check, usability checks."""

from __future__ import annotations

import pytest

from lueur_net.analysis.budget import DROP_ORDER, Part, PromptTooLarge, estimate_tokens, fit, prompt_budget
from lueur_net.analysis.facts import FLAG, check_figures, known_values
from lueur_net.analysis.findings import analyze
from lueur_net.analysis.model import Run
from lueur_net.analysis.prompts import fact_parts, facts_text, step_parts, steps
from lueur_net.analysis.quality import unusable
from lueur_net.analysis.redact import Redactor

# budgeting


def _parts() -> list[Part]:
    return [Part("facts", "facts", "F" * 300),
            Part("scenario-failed", "scenario 'bad'", "B" * 300, short="b" * 30),
            Part("scenario-passed", "scenario 'ok'", "O" * 300, short="o" * 30),
            Part("finding", "finding 1", "1" * 300, short="1" * 30),
            Part("finding", "finding 2", "2" * 300, short="2" * 30),
            Part("source", "source app.py", "A" * 300),
            Part("source", "source db.py", "D" * 300),
            Part("section", "section 'newer'", "N" * 300, short="n" * 30),
            Part("section", "section 'older'", "L" * 300, short="l" * 30),
            Part("task", "task", "T" * 300)]


def test_everything_fits_nothing_dropped() -> None:
    fitted = fit(_parts(), 10_000)
    assert fitted.dropped == [] and fitted.shrunk == [] and fitted.summary() == ""
    assert len(fitted.parts) == 10 and fitted.prompt_tokens <= 10_000


def test_drops_in_the_stated_order_least_relevant_first() -> None:
    parts = _parts()
    full = sum(part.tokens for part in parts)
    # room for all but ~one source file: only the least relevant (last-listed) file goes
    fitted = fit(parts, full - 50)
    assert fitted.dropped == ["source db.py"] and fitted.shrunk == []
    # a tight budget: sources, then findings shortened, then dropped (least severe first), then passed scenarios...
    fitted = fit(parts, estimate_tokens("F" * 300 + "B" * 300 + "T" * 300) + 40)
    assert fitted.dropped[:5] == ["source db.py", "source app.py", "finding 2", "finding 1", "scenario 'ok'"]
    assert fitted.shrunk == ["section 'older'", "section 'newer'"]  # earlier sections: oldest first
    kinds = [part.kind for part in fitted.parts]
    assert "facts" in kinds and "task" in kinds
    assert fitted.prompt_tokens <= fitted.budget_tokens
    assert "dropped source db.py" in fitted.summary()
    assert [kind for kind, _ in DROP_ORDER][0] == "source"


def test_never_drops_the_facts_or_task_and_says_by_how_much() -> None:
    with pytest.raises(PromptTooLarge, match=r"needs ~\d+ tokens .* over the 50 left"):
        fit(_parts(), 50)


def test_budget_keeps_room_for_the_answer() -> None:
    assert prompt_budget(4096, 1024, fixed_tokens=100) < 4096 - 1024 - 100


def test_step_prompt_fits_a_small_context(sample_run: Run) -> None:
    """The longest step of the synthetic run at num_ctx 2048 with a 512-token answer: things are dropped,
    and the estimate of what is sent is inside the budget."""
    redactor = Redactor()
    findings = analyze(sample_run)
    facts = fact_parts(sample_run, findings, redactor)
    step = steps("developer", with_source=False)[-1]
    previous = {s.heading: "A long earlier section. " * 120 for s in steps("developer", False)[:-1]}
    parts = step_parts(step, facts, [], previous, redactor)
    budget = prompt_budget(2048, 512)
    fitted = fit(parts, budget)
    assert fitted.dropped and estimate_tokens(fitted.text()) <= budget
    assert "Failed SLOs and expectations" in fitted.text() and "## Your task: Executive Summary" in fitted.text()
    assert facts_text(sample_run, findings, redactor) == "\n".join(part.text for part in facts)


# facts check


def test_invented_figures_are_flagged_inline_and_counted() -> None:
    known = known_values("p95=500.55 ms; 6/60 calls (10.0%); margin +9.0 pp; timeout 250 ms; 1,200 calls")
    text = ("### 1. Findings\n\n- p95 reached 501 ms (0.5 s), 10% of calls failed, 6 of 60 calls, +9 pp.\n"
            "- The p99 latency reached 4321.9 ms and errors hit 37%.\n- 5xx answers over HTTP/1.1, 1,200 calls.\n"
            "```\ntimeout = 9999\n```")
    checked = check_figures(text, known)
    assert checked.unmatched == ["4321.9 ms", "37%"]
    assert f"4321.9 ms {FLAG}" in checked.text and f"37% {FLAG}" in checked.text
    assert checked.text.endswith("_2 figures in this section do not appear in the results._")
    assert "501 ms (0.5 s)" in checked.text and "timeout = 9999\n" in checked.text


def test_no_footer_when_every_figure_is_known() -> None:
    checked = check_figures("p95 was 500.6 ms during 3 windows.", known_values("p95=500.55 ms"))
    assert checked.count == 0 and checked.text == "p95 was 500.6 ms during 3 windows."
    one = check_figures("It took 812 ms.", known_values("p95=500.55 ms"))
    assert one.text.endswith("_1 figure in this section does not appear in the results._")


def test_a_figure_is_compared_with_what_measures_the_same_thing() -> None:
    """Before, any number of the facts matched in any unit: "500 s" passed for a p95 of 500 ms."""
    known = known_values("p95=500.55 ms; errors 6/60 (10.0%); total time 46.7s; client timeout 250 ms")
    checked = check_figures("p95 500 s, 0.5 s, 500.6 ms; errors 10 ms, 10%, 0.1; the run took 46.7 s, 46700 ms, "
                            "46.7 minutes; 250 ms, 250 %.", known)
    assert checked.unmatched == ["500 s", "10 ms", "250 %"]
    assert "46.7 minutes" not in checked.unmatched  # an unknown unit: compared with every number, as before


def test_a_number_the_facts_give_without_a_unit_matches_any_measure() -> None:
    known = known_values("| scenario | p95 |\n| a | 812 |")  # the unit is in a header, not beside the figure
    assert check_figures("p95 812 ms, or 0.812 s", known).count == 0


def test_every_figure_of_the_facts_block_is_known(sample_run: Run) -> None:
    redactor = Redactor()
    facts = facts_text(sample_run, analyze(sample_run), redactor)
    assert check_figures(facts, known_values(facts)).count == 0


# usability


@pytest.mark.parametrize(("text", "table", "reason"), [
    ("", False, "empty"),
    ("ok.", False, "too short"),
    ("The service failed under the blackhole fault.\n" * 5, False, "repeated text"),
    ("Le service a échoué pendant la panne et la latence a beaucoup augmenté pendant la fenêtre de "
     "trois cents millisecondes, puis elle est revenue à la normale après la fin de la fenêtre. " * 2,
     False, "not in English"),
    ("1. Enforce a 2 s timeout on the database calls, because the p95 reached 500 ms under the fault.", True,
     "the asked-for table is missing"),
])
def test_unusable_answers(text: str, table: bool, reason: str) -> None:
    assert unusable(text, wants_table=table) == reason


def test_usable_answer_with_its_table() -> None:
    text = ("Two fixes address the p95 breach under the blackhole fault.\n\n"
            "| Recommendation | Priority |\n|---|---|\n| Enforce timeouts | Critical |\n| Add retries | Recommended |\n")
    assert unusable(text, wants_table=True) is None
