"""Turn pydantic validation errors into Problems: a clean field path, the right mark, and a message for humans.

pydantic locates errors by a `loc` tuple that also holds union tags ("latency", "load"); we drop those by walking
the loc against the data actually read, and we walk the models along the same loc to name the valid keys when
suggesting a replacement for an unknown one.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any, NamedTuple

from pydantic import AliasChoices, BaseModel
from pydantic_core import ErrorDetails

from lueur_net.scenario import units
from lueur_net.scenario.faults import FAULT_MODELS, FAULT_TYPES
from lueur_net.scenario.models import STRATEGY_MODES, LoadStrategy, RepeatStrategy, Scenario, SingleStrategy, Slo
from lueur_net.scenario.problems import Path
from lueur_net.scenario.yamlsource import Document, Mark

_TAGGED: dict[str, dict[str, type[BaseModel]]] = {
    "type": dict(FAULT_MODELS),
    "mode": {"single": SingleStrategy, "repeat": RepeatStrategy, "load": LoadStrategy},
}
_ALL_TAGS = set(FAULT_TYPES) | set(STRATEGY_MODES)


def keys_of(model: type[BaseModel]) -> list[str]:
    """The keys a file may use for this model (aliases as written in files)."""
    keys: list[str] = []
    for name, info in model.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            keys.extend(str(choice) for choice in alias.choices)
        elif isinstance(alias, str):
            keys.append(alias)
        elif info.alias:
            keys.append(info.alias)
        else:
            keys.append(name)
    return keys


def _alias_groups(model: type[BaseModel]) -> list[list[str]]:
    groups = []
    for info in model.model_fields.values():
        if isinstance(info.validation_alias, AliasChoices):
            groups.append([str(choice) for choice in info.validation_alias.choices])
    return groups


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that validates the value at pydantic `loc` (union tags included), if any."""
    current: Any = Scenario
    for part in loc:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if origin in (typing.Union, types.UnionType):
            chosen = None
            for tagged in _TAGGED.values():
                if part in tagged and tagged[part] in typing.get_args(current):
                    chosen = tagged[part]
            if chosen is None:
                return None
            current = chosen
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = _field_named(current, part)
            if field is None:
                return None
            current = field
        elif origin in (tuple, list) and isinstance(part, int):
            current = typing.get_args(current)[0]
        elif origin is dict:
            current = typing.get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _field_named(model: type[BaseModel], key: Any) -> Any:
    for name, info in model.model_fields.items():
        alias = info.validation_alias
        names = {name, info.alias}
        if isinstance(alias, AliasChoices):
            names.update(str(choice) for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias)
        if key in names:
            return info.annotation
    return None


def _is_union_tag(loc: tuple[Any, ...], position: int) -> bool:
    # pydantic puts the tag right after the union's own position: context.strategy.<mode>, faults.<n>.<type>.
    part = loc[position]
    if not isinstance(part, str) or part not in _ALL_TAGS:
        return False
    before = loc[:position]
    if before[-1:] == ("strategy",):
        return True
    return len(before) >= 2 and before[-2] == "faults" and isinstance(before[-1], int)


def clean_path(loc: tuple[Any, ...], data: Any) -> Path:
    """Drop union tags and pydantic's own markers from `loc`, following the data that was read."""
    path: list[Any] = []
    current = data
    for position, part in enumerate(loc):
        if isinstance(part, str) and part.startswith("[") and part.endswith("]"):
            continue  # "[key]" marks an error in a dict key
        if _is_union_tag(loc, position):
            continue
        if isinstance(current, dict):
            if part in current:
                path.append(part)
                current = current[part]
                continue
            alias = _same_setting(part, current)
            if alias is not None:
                path.append(alias)
                current = current[alias]
                continue
            path.append(part)
            current = None
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(part)
            current = current[part]
        elif isinstance(current, str) and isinstance(part, int):
            continue  # a single value read as a one-element list (period: "start:..."): point at the value itself
        else:
            path.append(part)
            current = None
    return tuple(path)


# Keys that name one setting (AliasChoices): pydantic's loc uses the first, the file may use another.
_SAME_SETTING = [
    group for model in (*FAULT_MODELS.values(), Slo) for group in _alias_groups(model)
] + [["global", "global_"]]


def _same_setting(part: Any, mapping: dict[Any, Any]) -> Any:
    for group in _SAME_SETTING:
        if part in group:
            for other in group:
                if other in mapping:
                    return other
    return None


def _value_at(data: Any, path: Path, default: Any) -> Any:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return default
    return data


# YAML's names for Python's types, most specific first (a bool is an int).
_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (type(None), "null"), (bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
    (dict, "mapping"), (list, "list"),
)


def _type_name(value: Any) -> str:
    return next((name for kind, name in _TYPE_NAMES if isinstance(value, kind)), type(value).__name__)


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return f"a {_type_name(value)}"
    text = repr(value) if isinstance(value, str) else ("null" if value is None else str(value).lower()
                                                        if isinstance(value, bool) else str(value))
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{_type_name(value)} {text}" if not isinstance(value, str) else text


_PYDANTIC_WORDS = [
    (re.compile(r"^Input should be a valid (tuple|list)$"), "must be a list"),
    (re.compile(r"^Input should be a valid dictionary( or instance of \w+)?$"), "must be a mapping"),
    (re.compile(r"^Input should be a valid dictionary or object to extract fields from$"), "must be a mapping"),
    (re.compile(r"^Input should be a valid string$"), "must be a string"),
    (re.compile(r"^Input should be a valid integer.*$"), "must be a whole number"),
    (re.compile(r"^Input should be a valid number.*$"), "must be a number"),
    (re.compile(r"^Input should be a valid boolean.*$"), "must be true or false"),
    (re.compile(r"^Input should be a finite number$"), "must be a finite number"),
    (re.compile(r"^Input should be "), "must be "),
]


def _plain(message: str) -> str:
    for pattern, replacement in _PYDANTIC_WORDS:
        if pattern.search(message):
            return pattern.sub(replacement, message)
    return message


class Described(NamedTuple):
    path: Path
    mark: Mark
    message: str
    replaces: Path | None = None  # an unknown key's suggestion: the missing key it stands for


def without_echoes(described: list[Described]) -> list[Described]:
    """Drop "missing required key 'x'" where an unknown key in the same mapping is a typo of x (reported there)."""
    stand_ins = {entry.replaces for entry in described if entry.replaces is not None}
    return [entry for entry in described if not (entry.message.startswith("missing required") and entry.path in stand_ins)]


_TOO_LONG_WHY = {
    "faults": "each fault is one or more kernel objects on every call; split the item",
    "items": "split them into several scenarios or files",
}


def describe(error: ErrorDetails, document: Document) -> Described | None:
    """Path, mark and message for one pydantic error in `document`; None for an error that only echoes others."""
    loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    context = error.get("ctx") or {}
    path = clean_path(loc, document.data)

    if kind == "extra_forbidden":
        key = path[-1] if path else loc[-1]
        parent = model_at(loc[:-1])
        valid = keys_of(parent) if parent else []
        for group in _alias_groups(parent) if parent else []:
            if key in group:
                others = [other for other in group if other != key]
                return Described(path, document.key_mark(path), f"'{key}' and '{others[0]}' are the same setting; give only one")
        hint = units.did_you_mean(str(key), valid)
        nearest = units.suggest(str(key), valid)
        listing = f" (valid keys: {', '.join(valid)})" if valid else ""
        replaces = (*path[:-1], nearest) if nearest is not None else None
        return Described(path, document.key_mark(path), f"unknown key '{key}'{hint}{listing}", replaces)

    if kind == "missing":
        parent_path = path[:-1]
        return Described(path, document.key_mark(parent_path), f"missing required key '{path[-1]}'")

    if kind in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = str(context.get("discriminator", "")).strip("'")
        what, choices = (
            ("fault type", FAULT_TYPES) if discriminator == "type" else ("strategy mode", STRATEGY_MODES)
        )
        listing = ", ".join(choices)
        if kind == "union_tag_not_found":
            return Described(path, document.key_mark(path), f"missing '{discriminator}' (one of: {listing})")
        written = _value_at(document.data, (*path, discriminator), context.get("tag"))
        shown = f"'{written}'" if isinstance(written, str) else _shown(written)
        hint = units.did_you_mean(written, choices) if isinstance(written, str) else ""
        return Described(
            (*path, discriminator),
            document.value_mark((*path, discriminator)),
            f"unknown {what} {shown}{hint} (valid: {listing})",
        )

    if kind == "model_attributes_type" or kind == "model_type" or kind == "dict_type":
        hint = ""
        if isinstance(value, str) and value in FAULT_TYPES:
            hint = f"; write '{{type: {value}, ...}}'"
        elif isinstance(value, str) and value in STRATEGY_MODES:
            hint = f"; write '{{mode: {value}, ...}}'"
        return Described(path, document.value_mark(path), f"must be a mapping, got {_shown(value)}{hint}")

    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(context.get("expected", "")))
        hint = units.did_you_mean(str(value), choices) if isinstance(value, str) else ""
        return Described(path, document.value_mark(path), f"{_shown(value)} is not one of {', '.join(choices)}{hint}")

    if kind == "too_short" and isinstance(value, (list, tuple)):
        if len(value) >= context.get("min_length", 1):
            return None  # pydantic counts only the members that validated; those already have their errors
        minimum = context.get("min_length", 1)
        noun = "item" if minimum == 1 else "items"
        return Described(path, document.value_mark(path), f"is empty; needs at least {minimum} {noun}")

    if kind == "too_long" and isinstance(value, (list, tuple)):
        maximum = context.get("max_length")
        why = _TOO_LONG_WHY.get(str(path[-1]) if path else "", "see 'Limits' in docs/scenario.md")
        return Described(path, document.value_mark(path),
                         f"{len(value)} entries, above the limit of {maximum}: {why}")

    if kind == "string_too_short":
        return Described(path, document.value_mark(path), "must not be empty")

    message = _plain(error["msg"])
    if kind.endswith("_type") or kind.endswith("_parsing") or kind in (
        "greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number",
    ):
        message = f"{message}, got {_shown(value)}"
    return Described(path, document.value_mark(path), message)
