"""Problems found in scenario files, each pointing at `source:line:column` and a field path."""

from __future__ import annotations

from collections.abc import Iterable
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
        where = f"{self.source}:{self.line}:{self.column}"
        label = "warning: " if self.severity == "warning" else ""
        return f"{where}: {self.path}: {label}{self.message}" if self.path else f"{where}: {label}{self.message}"


class ScenarioError(BadInput):
    """Scenario files with errors; `problems` lists every one (errors only), in file and line order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(str(problem) for problem in self.problems)
        super().__init__(lines if count else "invalid scenario")
