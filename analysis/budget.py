"""Prompt budgeting: fit one step's prompt into the model's context with room for the answer. Pure: no network.

Ollama cuts a prompt longer than `num_ctx` to its last tokens without a word, which would drop the facts (they
come first) and keep only the task. So every prompt is built from named parts, its size is estimated on the safe
side, and when it does not fit, parts are shrunk or dropped in a stated order (DROP_ORDER), each drop recorded so
the terminal can say what the model did not see. What is never dropped: the system prompt, the run's headline,
the failed checks, the dashboard and the task itself; when even those do not fit, PromptTooLarge says by how much.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

# Estimated on the safe side, so an estimate that fits is a prompt that fits (the llm tier checks it against the
# model's own tokenizer in the server's log): Llama-family tokenizers (SmolLM2's too) write each digit as its own
# token, and the facts are full of numbers; a character outside ASCII (±, →, é) can take several byte tokens;
# English and Markdown run at more than 3 characters a token.
CHARS_PER_TOKEN = 3.0
NON_ASCII_TOKENS = 2
MESSAGE_OVERHEAD_TOKENS = 8  # the chat template's role markers around each message
SAFETY_TOKENS = 64  # the template's start of the answer, and a margin

# The order parts are given up in, first to last: (kind, what happens). A kind's parts go last-listed first
# (the least relevant source file, the oldest earlier section, the last-listed finding). "shrink" replaces a part
# by its short form (kept when it has one), "drop" removes it.
DROP_ORDER: tuple[tuple[str, str], ...] = (
    ("source", "drop"),  # source excerpts, least relevant file first
    ("finding", "shrink"),  # offline findings: title and summary only, no evidence list or advice
    ("finding", "drop"),  # then whole findings, least severe first
    ("scenario-passed", "drop"),  # per-scenario lines of scenarios whose checks all held
    ("section", "shrink"),  # earlier sections cut to their first paragraph
    ("section", "drop"),  # then dropped, oldest first
    ("scenario-failed", "shrink"),  # per-scenario lines of failed scenarios: numbers only
    ("scenario-failed", "drop"),
)
DROPPABLE_KINDS = {kind for kind, _ in DROP_ORDER}


class PromptTooLarge(Exception):
    """The parts that are never dropped do not fit the context with the answer's room."""


def estimate_tokens(text: str) -> int:
    digits = sum(ch.isdigit() and ch.isascii() for ch in text)
    other = sum(not ch.isascii() for ch in text)
    return digits + NON_ASCII_TOKENS * other + math.ceil((len(text) - digits - other) / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Part:
    """One piece of a prompt. `kind` decides when it is given up (DROP_ORDER); other kinds are kept."""

    kind: str
    label: str  # what the terminal names when it is dropped: "source app.py", "finding 3 (tail amplification)"
    text: str
    short: str | None = None  # the shrunk form, or None when it has none
    shrunk: bool = False

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.text)


@dataclass
class Fitted:
    """The parts that fit, what was given up (labels, in the order it happened) and the estimate."""

    parts: list[Part]
    dropped: list[str] = field(default_factory=list)
    shrunk: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    budget_tokens: int = 0

    def text(self, kinds: tuple[str, ...] | None = None) -> str:
        return "\n".join(part.text for part in self.parts if kinds is None or part.kind in kinds)

    def summary(self) -> str:
        """One line for the terminal; empty when everything fit."""
        said = []
        if self.shrunk:
            said.append("shortened " + ", ".join(self.shrunk))
        if self.dropped:
            said.append("dropped " + ", ".join(self.dropped))
        return "; ".join(said)


def prompt_budget(num_ctx: int, answer_tokens: int, fixed_tokens: int = 0) -> int:
    """Tokens left for the user message's parts: the context minus the answer's room, the system prompt and
    template overhead."""
    return num_ctx - answer_tokens - fixed_tokens - 2 * MESSAGE_OVERHEAD_TOKENS - SAFETY_TOKENS


def fit(parts: list[Part], budget_tokens: int) -> Fitted:
    """Give up parts in DROP_ORDER until the estimate fits `budget_tokens`.

    Joined with one newline between parts (as Fitted.text does), which costs at most one character each."""
    current = list(parts)
    fitted = Fitted(parts=current, budget_tokens=budget_tokens)

    def total() -> int:
        return sum(part.tokens for part in current) + math.ceil(len(current) / CHARS_PER_TOKEN)

    for kind, action in DROP_ORDER:
        if total() <= budget_tokens:
            break
        # last-listed first: the least relevant file, the least severe finding, the oldest section is listed
        # last by the caller (see prompts.step_parts)
        for index in range(len(current) - 1, -1, -1):
            if total() <= budget_tokens:
                break
            part = current[index]
            if part.kind != kind:
                continue
            if action == "shrink":
                if part.short is not None and not part.shrunk:
                    current[index] = replace(part, text=part.short, shrunk=True)
                    fitted.shrunk.append(part.label)
            else:
                del current[index]
                fitted.dropped.append(part.label)
    fitted.prompt_tokens = total()
    if fitted.prompt_tokens > budget_tokens:
        raise PromptTooLarge(f"the prompt needs ~{fitted.prompt_tokens} tokens after dropping everything "
                             f"droppable, over the {budget_tokens} left in the context for it (raise --num-ctx "
                             "or use a model with a longer context)")
    # a shrunk part that was later dropped is reported once, as dropped
    fitted.shrunk = [label for label in fitted.shrunk if label not in fitted.dropped]
    return fitted
