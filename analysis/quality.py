"""Is a step's answer usable? Pure checks of what small models do wrong: nothing, loops, another language, or no
table where one was asked for. Each returns the reason in a few words (shown in the report and the retry prompt),
or None when the answer can be used."""

from __future__ import annotations

import re
from collections import Counter

MIN_CHARS = 40  # shorter than a sentence with a number: nothing usable
REPEAT_LINE_TIMES = 3  # a line of some length written this many times is a loop
REPEAT_LINE_MIN_CHARS = 20
REPEAT_NGRAM_WORDS = 8  # ... and so is any run of 8 words written this many times
REPEAT_NGRAM_TIMES = 4
MIN_WORDS_FOR_LANGUAGE = 30
ENGLISH_SHARE = 0.06  # share of common English words in English technical prose is ~0.2-0.4; other languages ~0
LATIN_SHARE = 0.85  # share of letters that are ASCII
# words other Latin-script languages rarely use ("a", "on", "no" are French/Spanish words too)
ENGLISH_WORDS = frozenset(
    "the an and or of to for with is are was were be by at this that from not under during each which when "
    "than more less should can will its their".split())
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$")
_WORD = re.compile(r"[^\W\d_]+")


def _has_table(text: str) -> bool:
    lines = text.splitlines()
    for index in range(1, len(lines) - 1):
        if _TABLE_RULE.match(lines[index]) and _TABLE_ROW.match(lines[index - 1]) and _TABLE_ROW.match(
                lines[index + 1]):
            return True
    return False


def _repeated(text: str) -> bool:
    lines = [line.strip() for line in text.splitlines()
             if len(line.strip()) >= REPEAT_LINE_MIN_CHARS and not _TABLE_RULE.match(line)]
    if lines and Counter(lines).most_common(1)[0][1] >= REPEAT_LINE_TIMES:
        return True
    words = text.lower().split()
    grams = Counter(tuple(words[i:i + REPEAT_NGRAM_WORDS]) for i in range(len(words) - REPEAT_NGRAM_WORDS + 1))
    return bool(grams) and grams.most_common(1)[0][1] >= REPEAT_NGRAM_TIMES


def _wrong_language(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    if letters and sum(ch.isascii() for ch in letters) / len(letters) < LATIN_SHARE:
        return True
    words = [word.lower() for word in _WORD.findall(text)]
    if len(words) < MIN_WORDS_FOR_LANGUAGE:
        return False
    return sum(word in ENGLISH_WORDS for word in words) / len(words) < ENGLISH_SHARE


def unusable(text: str, wants_table: bool) -> str | None:
    """Why `text` cannot be used as a section, or None."""
    if len(text.strip()) < MIN_CHARS:
        return "empty" if not text.strip() else "too short"
    if _repeated(text):
        return "repeated text"
    if _wrong_language(text):
        return "not in English"
    if wants_table and not _has_table(text):
        return "the asked-for table is missing"
    return None
