"""Operations x templates -> scenario documents (plain data, in the key order the reference file writes them)."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

from lueur_net.generate.examples import given_value, schema_example
from lueur_net.generate.spec import GenerateError, Operation, Spec, operations, pointer_text
from lueur_net.generate.templates import Template

DEFAULT_METHODS = ("GET",)  # like lueur: faults on reads only, unless the user asks for more
# RFC 9110 9.2.1: safe methods change nothing; PUT and DELETE are idempotent but still write.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
IDEMPOTENT_METHODS = frozenset({"PUT", "DELETE"})
# OpenAPI ignores header parameters with these names (they come from other fields of the spec).
IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})


@dataclass(frozen=True)
class Options:
    base_url: str | None = None
    methods: tuple[str, ...] = DEFAULT_METHODS
    only_operations: tuple[str, ...] = ()
    upstreams: tuple[str, ...] = ()
    # --param NAME=VALUE: the value of every parameter named NAME (path, query, header or cookie), instead of the
    # one built from its schema (a guessed `/users/1` can 404 on a fresh database); an optional one is then sent
    params: tuple[tuple[str, str], ...] = ()


@dataclass
class Generated:
    """One operation's scenarios."""

    operation_id: str
    label: str  # "GET /users/{user_id}"
    documents: list[dict[str, Any]]


@dataclass
class Result:
    operations: list[Generated] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def operation_id(operation: Operation) -> str:
    """The spec's operationId, else method + path as an identifier (get /users/{id} -> get_users_id)."""
    if operation.operation_id:
        return str(operation.operation_id)
    words = re.sub(r"[^A-Za-z0-9]+", "_", operation.path).strip("_")
    return f"{operation.method.lower()}_{words}" if words else f"{operation.method.lower()}_root"


def select(spec: Spec, options: Options) -> list[Operation]:
    """The operations to generate for: --only-operation names them (any method), else --methods filters."""
    everything = operations(spec)
    if options.only_operations:
        chosen = []
        for wanted in options.only_operations:
            matches = [op for op in everything
                       if wanted in (operation_id(op), op.label) or wanted.upper() == op.label.upper()]
            if not matches:
                known = ", ".join(operation_id(op) for op in everything[:10])
                more = f" and {len(everything) - 10} more" if len(everything) > 10 else ""
                raise GenerateError(f"--only-operation {wanted}: no such operation in {spec.source} "
                                    f"(operation ids: {known or 'none'}{more}; or write 'METHOD /path')")
            chosen += [op for op in matches if op not in chosen]
        return chosen
    methods = {method.upper() for method in options.methods}
    chosen = [op for op in everything if op.method in methods]
    if not chosen:
        have = sorted({op.method for op in everything})
        raise GenerateError(f"{spec.source}: no {'/'.join(sorted(methods))} operation "
                            f"(the spec has {', '.join(have) or 'no operation'}; add them with --methods)")
    return chosen


def base_url(spec: Spec, operation: Operation, options: Options) -> str:
    """--base-url, else the first server (variables at their defaults; relative resolved against the spec URL),
    else the spec URL's origin."""
    if options.base_url:
        return options.base_url
    if operation.servers:
        server = operation.servers[0]
        url = str(server.get("url", ""))
        for name, variable in (server.get("variables") or {}).items():
            default = variable.get("default", "") if isinstance(variable, dict) else ""
            url = url.replace("{" + str(name) + "}", str(default))
        if urlsplit(url).scheme:
            return url
        if spec.url:
            return urljoin(spec.url, url)
        raise GenerateError(f"{spec.source}: servers[0].url: {url!r} is relative and the spec was read from a "
                            "file, so there is nothing to resolve it against; give --base-url")
    if spec.url:
        parts = urlsplit(spec.url)
        return f"{parts.scheme}://{parts.netloc}/"
    raise GenerateError(f"{spec.source}: the spec has no `servers` and was read from a file, so the calls have "
                        "no host; give --base-url (e.g. --base-url http://localhost:9090)")


def _text(value: Any) -> str:
    """A parameter value as it goes into a URL or header (OpenAPI's `simple` style)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    if isinstance(value, dict):
        return ",".join(f"{key},{_text(item)}" for key, item in value.items())
    return str(value)


def parameter_value(spec: Spec, parameter: dict[str, Any], where: tuple[str | int, ...]) -> Any:
    found, value = given_value(parameter)
    if found:
        return value
    schema = parameter.get("schema")
    if schema is None and isinstance(parameter.get("content"), dict) and parameter["content"]:
        schema = next(iter(parameter["content"].values())).get("schema")
    return schema_example(spec, schema or {}, (*where, "schema"))


def call_url(spec: Spec, operation: Operation, base: str,
             given: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """The full URL (path parameters filled, required query parameters added) and the required headers.
    `given`: values by parameter name (--param), used as they are, for optional parameters too."""
    given = given or {}
    path = operation.path
    query: list[tuple[str, str]] = []
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for index, parameter in enumerate(operation.parameters):
        name, place = str(parameter["name"]), parameter["in"]
        where = (*operation.where, "parameters", index)
        if name in given:
            value = given[name]
        elif place == "path" or parameter.get("required"):
            value = parameter_value(spec, parameter, where)
        else:
            continue  # optional query, header and cookie parameters are left out: the call stays minimal
        if place == "path":
            path = path.replace("{" + name + "}", quote(_text(value), safe=""))
        elif place == "query":
            if isinstance(value, list) and parameter.get("explode", True):
                query += [(name, _text(item)) for item in value]
            else:
                query.append((name, _text(value)))
        elif place == "header" and name.lower() not in IGNORED_HEADERS:
            headers[name] = _text(value)
        elif place == "cookie":
            cookies.append(f"{name}={_text(value)}")
    left = re.findall(r"\{([^}]+)\}", path)
    if left:
        raise GenerateError(f"{spec.source}: {pointer_text(operation.where)}: path parameter {{{left[0]}}} is in "
                            "the path but not declared in `parameters`, so it has no value")
    if cookies:
        headers["cookie"] = "; ".join(cookies)
    url = base.rstrip("/") + (path if path.startswith("/") else "/" + path)
    if query:
        url += "?" + urlencode(query)
    return url, headers


def _is_json(media: str) -> bool:
    media = media.split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json") or media == "*/*"


def request_body(spec: Spec, operation: Operation, warnings: list[str]) -> tuple[str, str] | None:
    """(content type, body text) from the requestBody: JSON preferred, then form, then text; None if absent."""
    body = operation.request_body
    if not isinstance(body, dict) or not isinstance(body.get("content"), dict) or not body["content"]:
        return None
    content: dict[str, Any] = body["content"]
    where = (*operation.where, "requestBody", "content")
    ranked = sorted(content, key=lambda media: (not _is_json(media),
                                                 media != "application/x-www-form-urlencoded",
                                                 not media.startswith("text/")))
    media = ranked[0]
    entry = content[media] if isinstance(content[media], dict) else {}
    found, value = given_value(entry)
    if not found:
        value = schema_example(spec, entry.get("schema", {}), (*where, media, "schema"))
    if _is_json(media):
        return ("application/json" if media == "*/*" else media), json.dumps(value, ensure_ascii=False)
    if media == "application/x-www-form-urlencoded" and isinstance(value, dict):
        return media, urlencode({key: _text(item) for key, item in value.items()})
    if media.startswith("text/"):
        return media, _text(value)
    warnings.append(f"{operation.label}: request body of type {media} is not generated (JSON, form and text "
                    "bodies are); the calls are sent without a body")
    return None


def success_status(operation: Operation) -> int | None:
    """The one documented 2xx status when 200 is not documented (201, 204...), else None."""
    codes = sorted(int(code) for code in map(str, operation.responses) if re.fullmatch(r"2\d\d", code))
    if codes and 200 not in codes:
        return codes[0]
    return None


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def document(template: Template, operation: Operation, op_id: str, method: str, url: str,
             headers: dict[str, str], body: str | None, upstreams: list[str]) -> dict[str, Any]:
    """One scenario: the template's parts around the operation's call, keys in the reference file's order."""
    parts = copy.deepcopy(template.document)
    call: dict[str, Any] = {"method": method, "url": url}
    if headers:
        call["headers"] = headers
    if body is not None:
        call["body"] = body
    call.update(parts.get("call") or {})
    call["meta"] = {"operation_id": op_id}
    item: dict[str, Any] = {"call": call, "context": {"upstreams": list(upstreams), **(parts.get("context") or {})}}
    expect = parts.get("expect")
    if expect is not None:
        status = success_status(operation)
        if status is not None and expect.get("status") == 200:
            expect["status"] = status  # the operation documents only another 2xx (201 Created, 204...)
        item["expect"] = expect
    scenario: dict[str, Any] = {"title": template.document["title"]}
    if template.document.get("description") is not None:
        scenario["description"] = template.document["description"]
    scenario["items"] = [item]
    return scenario


def generate(spec: Spec, templates: list[Template], options: Options) -> Result:
    result = Result()
    chosen = select(spec, options)
    _check_params(spec, chosen, options.params)
    for operation in chosen:
        try:
            result.operations.append(_one(spec, templates, options, operation, result.warnings))
        except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as error:
            # A node of an unexpected type or value deep in a schema (minItems: "two", minLength: 1e400, a
            # parameter `content` that is a list...): one line naming the operation, never a traceback.
            raise GenerateError(f"{spec.source}: {pointer_text(operation.where)}: unexpected structure, cannot "
                                f"generate ({type(error).__name__}: {error})") from None
    return result


def _check_params(spec: Spec, chosen: list[Operation], params: tuple[tuple[str, str], ...]) -> None:
    """A --param naming no parameter of any chosen operation is a typo: say which names there are."""
    names = {str(parameter.get("name")) for operation in chosen for parameter in operation.parameters
             if isinstance(parameter, dict)}
    unknown = [name for name, _ in params if name not in names]
    if unknown:
        known = ", ".join(sorted(names)) or "none"
        raise GenerateError(f"{spec.source}: --param {unknown[0]}: no parameter of that name in the operations "
                            f"chosen (their parameters: {known})")


def _one(spec: Spec, templates: list[Template], options: Options, operation: Operation,
         warnings: list[str]) -> Generated:
    """One operation's scenarios (warnings appended to `warnings`)."""
    op_id = operation_id(operation)
    if operation.method not in SAFE_METHODS:
        kind = "is idempotent but writes" if operation.method in IDEMPOTENT_METHODS else "is not idempotent"
        warnings.append(f"{operation.label} ({op_id}): {operation.method} {kind}; its {len(templates)} scenarios "
                        "make real writes on the server, with faults in the middle of them")
    base = base_url(spec, operation, options)
    if urlsplit(base).scheme not in ("http", "https"):
        raise GenerateError(f"base URL {base!r}: must be an http:// or https:// URL")
    url, headers = call_url(spec, operation, base, dict(options.params))
    body = request_body(spec, operation, warnings)
    if body is not None:
        headers = {**headers, "content-type": body[0]}
    upstreams = list(options.upstreams) or [origin(url)]
    documents = [document(template, operation, op_id, operation.method, url, headers,
                          body[1] if body else None, upstreams) for template in templates]
    return Generated(op_id, operation.label, documents)
