"""Problems found in scenario files, each pointing at `source:line:column` and a field path."""

from __future__ import annotations

from collections.abc import Iterable
import unicodedata
from dataclasses import dataclass
from typing import Literal

from lueur_net.errors import BadInput

PathPart = str | int
Path = tuple[PathPart, ...]


def dotted(path: Path) -> str:
    """("items", 0, "context", "faults", 1, "stddev") -> "items[0].context.faults[1].stddev"."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def one_line(text: str) -> str:
    """Escape control characters and line separators, so that one problem is always one line."""
    if text.isprintable():
        return text
    return "".join(
        char if char == " " or unicodedata.category(char)[0] not in "CZ" else char.encode("unicode_escape").decode()
        for char in text
    )


@dataclass(frozen=True)
class Problem:
    """One error or warning. `line` and `column` are 1-based; `document` is the 0-based YAML document index."""

    source: str
    line: int
    column: int
    path: str
    message: str
    severity: Literal["error", "warning"] = "error"
    document: int | None = None

    def __str__(self) -> str:
        where = f"{one_line(self.source)}:{self.line}:{self.column}"
        label = "warning: " if self.severity == "warning" else ""
        message, path = one_line(self.message), one_line(self.path)
        return f"{where}: {path}: {label}{message}" if path else f"{where}: {label}{message}"


class ScenarioError(BadInput):
    """Scenario files with errors; `problems` lists every one (errors only), in file and line order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(str(problem) for problem in self.problems)
        super().__init__(lines if count else "invalid scenario")
