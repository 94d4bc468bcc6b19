"""Bad input: one clear line on stderr, exit 2, nothing written (not even an empty output folder)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from generate_support import FASTAPI_SPEC, INVENTORY_31

from lueur_net.generate.spec import pointer_text

SWAGGER = '{"swagger": "2.0", "info": {"title": "old", "version": "1"}, "paths": {}}'
BROKEN_REF = """\
openapi: 3.0.3
info: {title: t, version: "1"}
servers: [{url: "http://localhost:8080"}]
paths:
  /a/{id}:
    get:
      parameters:
        - $ref: "#/components/parameters/Missing"
      responses: {"200": {description: ok}}
components:
  parameters: {}
"""


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("name, text, message", [
    ("not-openapi.yaml", "title: a scenario?\nitems: []\n",
     "not-openapi.yaml: not an OpenAPI document: no `openapi` version field (found items, title)"),
    ("list.json", "[1, 2]", "list.json: not an OpenAPI document (expected a mapping with an `openapi` field, got list)"),
    ("swagger.json", SWAGGER,
     "swagger.json: swagger: '2.0' is Swagger/OpenAPI 2.0, which is not supported (3.0.x and 3.1.x are); convert it "
     "to OpenAPI 3 first, e.g. `npx swagger2openapi spec.json -o openapi.json` or https://converter.swagger.io/api/convert"),
    ("v4.yaml", "openapi: 4.0.0\npaths: {}\n", "v4.yaml: openapi: '4.0.0' is not supported (3.0.x and 3.1.x are)"),
    ("broken-ref.yaml", BROKEN_REF,
     "broken-ref.yaml: paths./a/{id}.get.parameters[0].$ref: '#/components/parameters/Missing' does not resolve "
     "(no 'Missing' there)"),
    ("bad.json", '{"openapi": "3.1.0",\n "paths": {,}}', "bad.json:2:12: not valid JSON: Expecting property name"),
    ("bad.yaml", "openapi: 3.0.0\npaths: [\n", "bad.yaml:3:1: not valid YAML or JSON: expected the node content"),
])
def test_bad_spec_is_one_line_exit_2_nothing_written(name: str, text: str, message: str, generate,
                                                     tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path(name).write_text(text)
    done = generate("--spec-file", name, "-o", "out/")
    assert done.code == 2
    assert done.err.count("\n") == 1, done.err
    assert done.err.startswith(f"lueur-net: error: {message}")
    assert done.out == ""
    assert not Path("out").exists()


def test_unreachable_url_is_one_line_exit_2(generate, tmp_path: Path) -> None:
    port = _closed_port()
    done = generate("--spec-url", f"http://127.0.0.1:{port}/openapi.json", "-o", tmp_path / "s.yaml",
                    "--timeout", "2")
    assert done.code == 2
    assert done.err.count("\n") == 1, done.err
    assert done.err.startswith(f"lueur-net: error: --spec-url http://127.0.0.1:{port}/openapi.json: cannot fetch: ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    ((), "give exactly one of --spec-file PATH and --spec-url URL"),
    (("--spec-file", FASTAPI_SPEC, "--spec-url", "http://localhost/"),
     "give exactly one of --spec-file PATH and --spec-url URL"),
    (("--spec-file", "/nonexistent/openapi.json"), "--spec-file /nonexistent/openapi.json: cannot read: "
                                                   "No such file or directory"),
    (("--spec-url", "ftp://example.com/spec"), "--spec-url ftp://example.com/spec: must be an http:// or https://"),
    (("--spec-file", FASTAPI_SPEC, "--serve", "true"), "--serve needs --spec-url"),
    (("--spec-file", FASTAPI_SPEC, "--methods", "GET,FETCH"), "--methods GET,FETCH: FETCH is not an HTTP method"),
    (("--spec-file", FASTAPI_SPEC, "--only-operation", "nope"),
     f"--only-operation nope: no such operation in {FASTAPI_SPEC} (operation ids: read_root__get, "
     "create_user_users__post, read_user_users__user_id__get; or write 'METHOD /path')"),
    (("--spec-file", FASTAPI_SPEC, "--methods", "DELETE"),
     f"{FASTAPI_SPEC}: no DELETE operation (the spec has GET, POST; add them with --methods)"),
    (("--spec-file", INVENTORY_31),
     f"{INVENTORY_31}: servers[0].url: '/inventory' is relative and the spec was read from a file"),
    (("--spec-file", FASTAPI_SPEC, "--base-url", "localhost:9090"), "base URL 'localhost:9090': must be an http://"),
])
def test_bad_options_are_one_line_exit_2(args: tuple[str, ...], message: str, generate) -> None:
    done = generate(*args)
    assert done.code == 2
    assert done.err.count("\n") == 1, done.err
    assert done.err.startswith(f"lueur-net: error: {message}")
    assert done.out == ""


def test_spec_without_servers_read_from_a_file_needs_base_url(generate, tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      responses: {}\n")
    done = generate("--spec-file", spec)
    assert done.code == 2
    assert "the spec has no `servers` and was read from a file" in done.err and "give --base-url" in done.err
    ok = generate("--spec-file", spec, "--base-url", "http://localhost:8000")
    assert ok.code == 0 and "url: http://localhost:8000/x\n" in ok.out


def test_serve_without_root_exits_3_before_touching_anything(generate, monkeypatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    done = generate("--serve", "true", "--spec-url", "http://localhost:9/openapi.json")
    assert done.code == 3
    assert done.err.startswith("lueur-net: error: lueur-net needs root to build network namespaces")
    assert done.out == ""


def test_serve_needs_a_loopback_spec_url(generate) -> None:
    done = generate("--serve", "true", "--spec-url", "http://example.com/openapi.json")
    assert done.code == 2
    assert done.err.startswith("lueur-net: error: --serve needs a --spec-url on localhost")


def test_a_property_named_with_a_newline_stays_on_one_line_in_the_error() -> None:
    # Found by the fuzz test: JSON allows any property name, and the message must still be one line.
    assert pointer_text(("components", "schemas", "S", "properties", "\n")) == \
        "components.schemas.S.properties.'\\n'"
