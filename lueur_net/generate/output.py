"""Generated scenarios -> YAML text, one file or one per operation, checked against the scenario limits and
validated by the scenario loader before anything is written (the CLI writes what this returns)."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from lueur_net.generate.build import Generated
from lueur_net.generate.spec import GenerateError
from lueur_net.scenario import ScenarioError, loads
from lueur_net.scenario.limits import MAX_DOCUMENTS_PER_FILE, MAX_FILE_BYTES

MAX_NAME = 100  # characters of a file name's stem: far below NAME_MAX (255 bytes) even for UTF-8 ids


class _Dumper(yaml.SafeDumper):
    """The reference file's style: lists indented under their key ("items:\\n  - call:")."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)


def _dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000,
                     default_flow_style=False)


class _Writer:
    """YAML text of generated documents, each `key: value` pair emitted once and reused.

    PyYAML's pure-Python emitter costs ~15 ms per scenario (measured: 50 operations x 8 scenarios took 6 of the
    8 s of a profiled run); the same fault lists, strategies and upstreams come back in every operation, so
    each pair is dumped once per distinct value and indentation. A block mapping's text is the concatenation of
    its pairs' texts, so the result is byte for byte what one yaml.dump of the document writes.
    """

    def __init__(self) -> None:
        self._pairs: dict[tuple[int, str], str] = {}

    def pair(self, key: str, value: Any, indent: int) -> str:
        try:
            cache_key: tuple[int, str] | None = (indent, json.dumps([key, value]))
        except (TypeError, ValueError):  # a value JSON cannot tell apart (a YAML date...): dumped every time
            cache_key = None
        if cache_key is not None and cache_key in self._pairs:
            return self._pairs[cache_key]
        text = "".join(" " * indent + line + "\n" for line in _dump({key: value}).splitlines())
        if cache_key is not None:
            self._pairs[cache_key] = text
        return text

    def document(self, document: dict[str, Any]) -> str:
        parts = []
        for key, value in document.items():
            if key == "items" and isinstance(value, list) and value and all(isinstance(i, dict) and i for i in value):
                parts.append("items:\n")
                for item in value:
                    first = True
                    for item_key, item_value in item.items():
                        if isinstance(item_value, dict) and item_value:
                            parts.append(("  - " if first else "    ") + f"{_dump(item_key).splitlines()[0]}:\n")
                            parts += [self.pair(k, v, 6) for k, v in item_value.items()]
                        else:
                            text = self.pair(item_key, item_value, 4)
                            parts.append(("  - " + text[4:]) if first else text)
                        first = False
            else:
                parts.append(self.pair(key, value, 0))
        return "".join(parts)


def to_yaml(documents: list[dict[str, Any]], writer: _Writer | None = None) -> str:
    writer = writer or _Writer()
    return "---\n".join(writer.document(document) for document in documents)


def to_yaml_plain(documents: list[dict[str, Any]]) -> str:
    """The same text through one yaml.dump_all (what to_yaml must equal; the tests compare them)."""
    return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000,
                         default_flow_style=False, explicit_start=False)


def file_stem(operation_id: str) -> str:
    """A filesystem-safe, stable name: letters, digits, '.', '_', '-' only; never hidden, never empty."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", operation_id).strip("._-")[:MAX_NAME] or "operation"
    return stem


def file_names(generated: list[Generated]) -> list[str]:
    """One name per operation; a clash (also one differing only in case, for case-insensitive filesystems)
    gets -2, -3... in spec order, so the same spec always gives the same names."""
    names: list[str] = []
    taken: set[str] = set()
    for entry in generated:
        stem = file_stem(entry.operation_id)
        name, number = f"{stem}.yaml", 2
        while name.lower() in taken:
            name, number = f"{stem}-{number}.yaml", number + 1
        taken.add(name.lower())
        names.append(name)
    return names


def _checked(text: str, count: int, name: str, split_hint: str) -> str:
    if count > MAX_DOCUMENTS_PER_FILE:
        raise GenerateError(f"{name}: {count} scenarios is above the limit of {MAX_DOCUMENTS_PER_FILE} per file"
                            f"{split_hint}")
    size = len(text.encode())
    if size > MAX_FILE_BYTES:
        raise GenerateError(f"{name}: {size} bytes is above the limit of {MAX_FILE_BYTES} per file{split_hint}")
    try:
        loads(text, name)
    except ScenarioError as error:  # a template (the user's) gives a scenario lueur-net would refuse
        first = error.problems[0] if error.problems else error
        raise GenerateError(f"generated scenarios do not validate: {first}") from None
    return text


def single_file(generated: list[Generated], name: str) -> str:
    documents = [document for entry in generated for document in entry.documents]
    hint = (f" ({len(generated)} operations); write one file per operation with --output DIR/, or pick "
            "operations with --only-operation")
    return _checked(to_yaml(documents), len(documents), name, hint)


def per_operation(generated: list[Generated]) -> dict[str, str]:
    """File name -> text, one per operation."""
    files: dict[str, str] = {}
    writer = _Writer()  # one for every file: the operations share most of their pairs
    for entry, name in zip(generated, file_names(generated)):
        hint = " (one operation's scenarios: use fewer templates)"
        files[name] = _checked(to_yaml(entry.documents, writer), len(entry.documents), name, hint)
    return files
