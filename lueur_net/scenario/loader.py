"""Load scenario files and directories into validated models, collecting every problem with its position."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from lueur_net.errors import BadInput
from lueur_net.scenario import checks, diagnose, limits
from lueur_net.scenario.models import Item, Scenario
from lueur_net.scenario.problems import Path as FieldPath
from lueur_net.scenario.problems import Problem, ScenarioError, dotted
from lueur_net.scenario.yamlsource import Document, Mark, read_documents

SCENARIO_SUFFIXES = (".yaml", ".yml")
# Checked on the file's size before it is read, so a huge file costs nothing (limits.py).
MAX_FILE_BYTES = limits.MAX_FILE_BYTES


@dataclass(frozen=True)
class LoadedScenario:
    """One valid scenario: where it came from (`source`, 0-based `document`), the model and its warnings."""

    source: str
    document: int
    scenario: Scenario
    warnings: tuple[Problem, ...] = ()


def load(paths: str | PathLike[str] | Iterable[str | PathLike[str]]) -> list[LoadedScenario]:
    """Every scenario in the given files and directories (each directory: its *.yaml/*.yml files, sorted, recursive).

    Raises ScenarioError listing every error of every file, or BadInput for a path that does not exist.
    """
    loaded, problems = check(paths)
    if problems:
        raise ScenarioError(problems)
    return loaded


def check(
    paths: str | PathLike[str] | Iterable[str | PathLike[str]],
) -> tuple[list[LoadedScenario], list[Problem]]:
    """Like `load`, but returns the valid scenarios and the errors instead of raising (BadInput for a missing path)."""
    if isinstance(paths, (str, PathLike)):
        paths = [paths]
    loaded: list[LoadedScenario] = []
    problems: list[Problem] = []
    for path in _scenario_files(paths):
        file_loaded, file_problems = _load_file(path)
        loaded.extend(file_loaded)
        problems.extend(file_problems)
    return loaded, problems


def loads(text: str, source: str = "<string>") -> list[LoadedScenario]:
    """Every scenario in YAML `text` (one per document); raises ScenarioError with every problem."""
    loaded, problems = load_text(text, source)
    if problems:
        raise ScenarioError(problems)
    return loaded


def _scenario_files(paths: Iterable[str | PathLike[str]]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                candidate for candidate in path.rglob("*")
                if candidate.suffix in SCENARIO_SUFFIXES and candidate.is_file()
            )
            if not found:
                raise BadInput(f"{path}: no *.yaml or *.yml file in this directory")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            raise BadInput(f"{path}: not a regular file or directory")
        else:
            raise BadInput(f"{path}: no such file or directory")
    return files


def _load_file(path: Path) -> tuple[list[LoadedScenario], list[Problem]]:
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [], [_too_large(source, size)]
        raw = path.read_bytes()
    except OSError as error:
        return [], [Problem(source, 1, 1, "", f"cannot read: {error.strerror or error}")]
    text, problem = _decode(raw, source)
    if problem is not None:
        return [], [problem]
    return load_text(text, source)


def _decode(raw: bytes, source: str) -> tuple[str, Problem | None]:
    if b"\x00" in raw:
        offset = raw.index(b"\x00")
        line, column = _line_column(raw[:offset])
        return "", Problem(source, line, column, "", f"not a text file (NUL byte at offset {offset})")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        line, column = _line_column(raw[: error.start])
        return "", Problem(
            source, line, column, "", f"not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start})"
        )


def _line_column(before: bytes) -> tuple[int, int]:
    line = before.count(b"\n") + 1
    column = len(before) - (before.rfind(b"\n") + 1) + 1
    return line, column


def _too_large(source: str, size: int) -> Problem:
    return Problem(source, 1, 1, "", f"file too large for a scenario: {size} bytes, above the limit of "
                   f"{MAX_FILE_BYTES} bytes ({MAX_FILE_BYTES // 1_048_576} MiB; split it into several files)")


def _count_items(node: Node) -> tuple[Mark, str] | None:
    """Refuse a document with too many items from its composed nodes, before any value or model is built."""
    if not isinstance(node, MappingNode):
        return None
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.value == "items" and isinstance(value, SequenceNode):
            count = len(value.value)
            if count > limits.MAX_ITEMS_PER_SCENARIO:
                where = Mark(value.start_mark.line + 1, value.start_mark.column + 1)
                return where, (f"items: {count} items, above the limit of {limits.MAX_ITEMS_PER_SCENARIO} per "
                               "scenario (split them into several scenarios or files)")
    return None


def load_text(text: str, source: str) -> tuple[list[LoadedScenario], list[Problem]]:
    """The valid scenarios of `text` and every problem (errors only; warnings ride on the LoadedScenario)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        return [], [_too_large(source, size)]
    documents, syntax = read_documents(text, max_documents=limits.MAX_DOCUMENTS_PER_FILE, check=_count_items)
    loaded: list[LoadedScenario] = []
    problems: list[Problem] = []
    empty: list[Problem] = []
    for document in documents:
        if document.data is None and not document.problems:
            empty.append(_at(source, document, document.start, (), "empty document skipped", "warning"))
            continue
        scenario, found = _validate(source, document)
        errors = [problem for problem in found if problem.severity == "error"]
        problems.extend(errors)
        if scenario is not None and not errors:
            warnings = tuple(problem for problem in found if problem.severity == "warning")
            loaded.append(LoadedScenario(source, document.index, scenario, warnings))
    if syntax is not None:
        problems.append(Problem(source, syntax.mark.line, syntax.mark.column, "", syntax.message))
    if not loaded and not problems:
        problems.append(Problem(source, 1, 1, "", "no scenario in this file (it is empty)"))
    if empty and loaded:
        first = loaded[0]
        loaded[0] = LoadedScenario(first.source, first.document, first.scenario, first.warnings + tuple(empty))
    problems.sort(key=lambda problem: (problem.line, problem.column))
    return loaded, problems


def _at(
    source: str, document: Document, mark: Mark, path: FieldPath, message: str, severity: str = "error"
) -> Problem:
    return Problem(source, mark.line, mark.column, dotted(path), message, severity, document.index)  # type: ignore[arg-type]


def _validate(source: str, document: Document) -> tuple[Scenario | None, list[Problem]]:
    problems = [_at(source, document, mark, (), message) for mark, message in document.problems]
    if document.problems:
        return None, problems
    data = document.data
    if not isinstance(data, dict):
        problems.append(
            _at(source, document, document.start, (),
                f"a scenario is a mapping with 'title' and 'items', got {diagnose._shown(data)}")
        )
        return None, problems
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        failed_items: set[int] = set()
        described = [diagnose.describe(detail, document) for detail in error.errors(include_url=False)]
        for path, mark, message, _ in diagnose.without_echoes([entry for entry in described if entry is not None]):
            problems.append(_at(source, document, mark, path, message))
            if len(path) > 1 and path[0] == "items" and isinstance(path[1], int):
                failed_items.add(path[1])
        problems.extend(_check_items_alone(source, document, data, failed_items))
        return None, _unique(problems)
    segments = scenario.segments
    for index, item in enumerate(scenario.items):
        problems.extend(_item_findings(source, document, item, index, segments))
    return scenario, problems


def _check_items_alone(source: str, document: Document, data: dict[Any, Any], failed: set[int]) -> list[Problem]:
    # The scenario as a whole failed; items that are valid by themselves still get their cross-field checks,
    # so that one run reports every problem of the file.
    items = data.get("items")
    if not isinstance(items, list):
        return []
    problems: list[Problem] = []
    for index, raw in enumerate(items):
        if index in failed:
            continue
        try:
            item = Item.model_validate(raw)
        except ValidationError:
            continue
        problems.extend(
            problem for problem in _item_findings(source, document, item, index, {}) if problem.severity == "error"
        )
    return problems


def _item_findings(
    source: str, document: Document, item: Item, index: int, segments: dict[str, str]
) -> list[Problem]:
    problems = []
    for relative, severity, message in checks.check_item(item, segments):
        path = ("items", index, *relative)
        problems.append(_at(source, document, document.value_mark(path), path, message, severity))
    return problems


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[str] = set()
    unique = []
    for problem in problems:
        if str(problem) not in seen:
            seen.add(str(problem))
            unique.append(problem)
    return unique
