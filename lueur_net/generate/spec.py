"""Reading an OpenAPI document: parse (JSON or YAML), check the version, resolve local `$ref`s, list operations.

Pure: the text comes in as a string (the CLI reads the file or fetches the URL). Every refusal is a GenerateError
whose message is one line naming the source and, where there is one, the JSON path of the offending node.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import yaml

from lueur_net.errors import BadInput

# OpenAPI's path item keys that are operations, in the order the specification lists them (the output's order
# within one path).
OPERATION_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SWAGGER_HINT = (
    "convert it to OpenAPI 3 first, e.g. `npx swagger2openapi spec.json -o openapi.json` "
    "or https://converter.swagger.io/api/convert"
)


class GenerateError(BadInput):
    """The spec, a template or an option cannot give scenarios; nothing was written."""


def pointer_text(path: tuple[str | int, ...]) -> str:
    """('paths', '/users', 'get') -> paths./users.get; list indexes as [0]. A name with a control character (a
    property named "\\n" is valid JSON) is quoted with its escapes, so the message stays on one line."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            shown = part if part.isprintable() else repr(part)
            text += ("." if text else "") + shown
    return text or "(document root)"


def parse(text: str, source: str) -> dict[str, Any]:
    """The document as plain data; JSON is tried first (a faster parser and its own error positions)."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise GenerateError(f"{source}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise GenerateError(f"{source}{where}: not valid YAML or JSON: {problem}") from None
    if not isinstance(data, dict):
        raise GenerateError(f"{source}: not an OpenAPI document (expected a mapping with an `openapi` field, "
                            f"got {type(data).__name__})")
    return data


def check_version(data: dict[str, Any], source: str) -> str:
    if "swagger" in data:
        raise GenerateError(
            f"{source}: swagger: {data['swagger']!r} is Swagger/OpenAPI 2.0, which is not supported (3.0.x and "
            f"3.1.x are); {SWAGGER_HINT}"
        )
    version = data.get("openapi")
    if version is None:
        raise GenerateError(f"{source}: not an OpenAPI document: no `openapi` version field "
                            f"(found {', '.join(sorted(map(str, data))[:5]) or 'nothing'})")
    if not re.fullmatch(r"3\.[01](\.\d+)?(-.+)?", str(version)):
        raise GenerateError(f"{source}: openapi: {version!r} is not supported (3.0.x and 3.1.x are)")
    if not isinstance(data.get("paths"), dict):
        raise GenerateError(f"{source}: paths: missing or not a mapping, so there is no operation to generate for")
    return str(version)


@dataclass
class Spec:
    """A parsed OpenAPI 3.0/3.1 document and where it came from (`url` for resolving relative servers)."""

    data: dict[str, Any]
    source: str
    version: str
    url: str | None = None

    def resolve(self, node: Any, where: tuple[str | int, ...]) -> Any:
        """Follow `$ref`s (chains too) to the node they name; other nodes are returned as they are."""
        seen: list[str] = []
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#"):
                raise GenerateError(
                    f"{self.source}: {pointer_text(where)}.$ref: {ref!r} is not a local reference "
                    f"(only '#/...' references inside the document are supported; bundle the spec first, "
                    f"e.g. `npx @redocly/cli bundle`)"
                )
            if ref in seen:
                raise GenerateError(f"{self.source}: {pointer_text(where)}.$ref: {ref!r} refers to itself "
                                    f"through {' -> '.join(r if r.isprintable() else repr(r) for r in seen)}")
            seen.append(ref)
            node = self._lookup(ref, where)
        return node

    def _lookup(self, ref: str, where: tuple[str | int, ...]) -> Any:
        node: Any = self.data
        pointer = ref[1:]
        parts = pointer.split("/")[1:] if pointer else []
        for raw in parts:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")  # RFC 6901 inside a URI fragment
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise GenerateError(f"{self.source}: {pointer_text(where)}.$ref: {ref!r} does not resolve "
                                    f"(no {part!r} there)")
        return node


@dataclass(frozen=True)
class Operation:
    """One (path, method) of the spec with its parameters merged (path-level ones overridden by the operation's)."""

    path: str
    method: str  # upper case
    operation_id: str | None
    parameters: tuple[dict[str, Any], ...]
    request_body: dict[str, Any] | None
    responses: dict[str, Any]
    servers: tuple[dict[str, Any], ...]
    where: tuple[str | int, ...]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def load_spec(text: str, source: str, url: str | None = None) -> Spec:
    data = parse(text, source)
    version = check_version(data, source)
    return Spec(data=data, source=source, version=version, url=url)


def operations(spec: Spec) -> list[Operation]:
    """Every operation in document order (paths as written, methods in OpenAPI's order within a path)."""
    found: list[Operation] = []
    for path, raw_item in spec.data["paths"].items():
        item_where: tuple[str | int, ...] = ("paths", str(path))
        item = spec.resolve(raw_item, item_where)
        if not isinstance(item, dict):
            raise GenerateError(f"{spec.source}: {pointer_text(item_where)}: a path item must be a mapping")
        shared = _parameters(spec, item.get("parameters"), (*item_where, "parameters"))
        for method in OPERATION_METHODS:
            if method not in item:
                continue
            where = (*item_where, method)
            operation = spec.resolve(item[method], where)
            if not isinstance(operation, dict):
                raise GenerateError(f"{spec.source}: {pointer_text(where)}: an operation must be a mapping")
            own = _parameters(spec, operation.get("parameters"), (*where, "parameters"))
            merged = {(p.get("name"), p.get("in")): p for p in shared}
            merged.update({(p.get("name"), p.get("in")): p for p in own})
            body = operation.get("requestBody")
            if body is not None:
                body = spec.resolve(body, (*where, "requestBody"))
            servers = operation.get("servers") or item.get("servers") or spec.data.get("servers") or []
            responses = operation.get("responses") or {}
            found.append(Operation(
                path=str(path), method=method.upper(), operation_id=operation.get("operationId"),
                parameters=tuple(merged.values()), request_body=body,
                responses=responses if isinstance(responses, dict) else {},
                servers=tuple(s for s in servers if isinstance(s, dict)), where=where,
            ))
    return found


def _parameters(spec: Spec, raw: Any, where: tuple[str | int, ...]) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise GenerateError(f"{spec.source}: {pointer_text(where)}: must be a list")
    found = []
    for index, entry in enumerate(raw):
        parameter = spec.resolve(entry, (*where, index))
        if not isinstance(parameter, dict) or "name" not in parameter or "in" not in parameter:
            raise GenerateError(f"{spec.source}: {pointer_text((*where, index))}: a parameter needs `name` and `in`")
        found.append(parameter)
    return found
