"""Read YAML into plain Python values while remembering where every key and value was written.

PyYAML's composer gives nodes with marks; we build the values ourselves from those nodes (scalars through the
safe constructor) so that each path ("items", 0, "call", "url") maps to its 1-based line and column. Duplicate
keys, which PyYAML would silently collapse, are reported.
"""

from __future__ import annotations

import re

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from lueur_net.scenario.problems import Path

# Values in one document, counted after aliases: guards against alias bombs ("billion laughs"). A document of
# 1000 items (limits.MAX_ITEMS_PER_SCENARIO) of a few dozen values each stays well below it; an alias bomb is
# refused after building this many values (about 0.25 s).
MAX_NODES = 100_000
# libyaml's parser is ~10x faster and gives the same marks; the pure-Python one is the fallback.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # type: ignore[assignment]


@dataclass(frozen=True)
class Mark:
    line: int
    column: int


@dataclass
class Document:
    """One YAML document: its value, and the marks of each value (`values`) and mapping key (`keys`) by path."""

    index: int
    data: Any
    start: Mark
    values: dict[Path, Mark] = field(default_factory=dict)
    keys: dict[Path, Mark] = field(default_factory=dict)
    problems: list[tuple[Mark, str]] = field(default_factory=list)

    def value_mark(self, path: Path) -> Mark:
        """The mark of the deepest part of `path` that exists in the document."""
        for length in range(len(path), -1, -1):
            mark = self.values.get(path[:length])
            if mark is not None:
                return mark
        return self.start

    def key_mark(self, path: Path) -> Mark:
        """The mark of the key at `path` (for a mapping entry), else of its value or nearest parent."""
        return self.keys.get(path) or self.value_mark(path)


class YamlProblem(Exception):
    """A syntax error or unreadable YAML, at a 1-based mark."""

    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


_STR_TAG = "tag:yaml.org,2002:str"
# YAML 1.2's core-schema float (the one lueur's serde_yaml reads) that YAML 1.1 leaves as text: an exponent with no dot.
_YAML12_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$")


def _mark(node: Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, document: Document) -> None:
        self.loader = loader
        self.document = document
        self.active: set[int] = set()
        self.count = 0

    def build(self, node: Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlProblem(_mark(node), f"document too large (more than {MAX_NODES} values after aliases)")
        self.document.values.setdefault(path, _mark(node))
        if id(node) in self.active:
            raise YamlProblem(_mark(node), "recursive alias")
        if isinstance(node, ScalarNode):
            if node.tag == _STR_TAG and not node.style and _YAML12_FLOAT.match(node.value):  # plain: not quoted
                return float(node.value)  # `1e6`: text to PyYAML (YAML 1.1), a number to lueur (YAML 1.2)
            return self.loader.construct_object(node, deep=True)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(child, (*path, index)) for index, child in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
        finally:
            self.active.discard(id(node))
        raise YamlProblem(_mark(node), f"unsupported YAML node {type(node).__name__}")

    def _mapping(self, node: MappingNode, path: Path) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)  # resolves "<<" merge keys
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Mark] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.document.problems.append((_mark(key_node), "a mapping key must be a plain value, not a list or mapping"))
                continue
            key = self.loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                self.document.problems.append((_mark(key_node), "unusable mapping key"))
                continue
            if key in first_seen:
                where = first_seen[key]
                self.document.problems.append(
                    (_mark(key_node), f"duplicate key '{key}' (first given at line {where.line})")
                )
                continue
            first_seen[key] = _mark(key_node)
            self.document.keys[(*path, key)] = _mark(key_node)
            result[key] = self.build(value_node, (*path, key))
        return result


def _problem_from_yaml_error(error: yaml.YAMLError, text: str) -> YamlProblem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if isinstance(error, yaml.reader.ReaderError):
        before = text[: error.position]
        line = before.count("\n") + 1
        column = error.position - (before.rfind("\n") + 1) + 1
        return YamlProblem(Mark(line, column), f"not a text file: {error.reason}")
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    text = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return YamlProblem(Mark(1, 1), text)
    return YamlProblem(Mark(mark.line + 1, mark.column + 1), text)


# A check of a document's composed nodes before any value is built (the loader counts items there): None, or
# where and why the document is refused.
NodeCheck = Callable[[Node], tuple[Mark, str] | None]


def read_documents(
    text: str, *, max_documents: int | None = None, check: NodeCheck | None = None
) -> tuple[list[Document], YamlProblem | None]:
    """Every document up to the first syntax error, and that error (None when the text parses).

    With `max_documents`, reading stops at the first document past it, with a problem there. `check` sees each
    document's nodes before its values are built; a refusal is the document's problem and nothing is built.
    """
    documents: list[Document] = []
    try:
        loader = _Loader(text)  # the reader rejects control characters here already
    except yaml.YAMLError as error:
        return documents, _problem_from_yaml_error(error, text)
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                index += 1
                continue
            if max_documents is not None and index >= max_documents:
                return documents, YamlProblem(
                    _mark(node), f"more than {max_documents} documents in this file (the limit; split the file)"
                )
            document = Document(index=index, data=None, start=_mark(node))
            refused = check(node) if check is not None else None
            if refused is not None:
                document.problems.append(refused)
                documents.append(document)
                index += 1
                continue
            try:
                document.data = _Builder(loader, document).build(node, ())
            except YamlProblem as problem:
                document.problems.append((problem.mark, problem.message))
            except yaml.YAMLError as error:  # a bad scalar (e.g. an invalid timestamp) inside a valid stream
                problem = _problem_from_yaml_error(error, text)
                document.problems.append((problem.mark, problem.message))
            documents.append(document)
            index += 1
    except yaml.YAMLError as error:
        return documents, _problem_from_yaml_error(error, text)
    except RecursionError:
        return documents, YamlProblem(Mark(1, 1), "YAML nesting too deep")
    finally:
        loader.dispose()
    return documents, None
