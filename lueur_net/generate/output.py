"""Generated scenarios -> YAML text, one file or one per operation, checked against the scenario limits and
validated by the scenario loader before anything is written (the CLI writes what this returns)."""

from __future__ import annotations

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


def to_yaml(documents: list[dict[str, Any]]) -> str:
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
    for entry, name in zip(generated, file_names(generated)):
        hint = " (one operation's scenarios: use fewer templates)"
        files[name] = _checked(to_yaml(entry.documents), len(entry.documents), name, hint)
    return files
