"""Issue 14's "Done when": the example app's spec gives, for each GET operation, the reference file's eight
scenarios (titles and values); for GET / exactly examples/fastapi-sqlite/scenario.yaml, byte for byte."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from lueur_net import generate as gen

from generate_support import EXAMPLE_SCENARIO, FASTAPI_SPEC


def _without_call(document: dict[str, Any]) -> dict[str, Any]:
    """The scenario minus what comes from the operation (method, url, meta, upstreams)."""
    stripped = copy.deepcopy(document)
    for item in stripped["items"]:
        item["call"] = {k: v for k, v in item["call"].items() if k not in ("method", "url", "meta")}
        item["context"].pop("upstreams")
    return stripped


def test_get_root_from_the_spec_file_is_the_reference_file_byte_for_byte(generate) -> None:
    done = generate("--spec-file", FASTAPI_SPEC, "--only-operation", "read_root__get")
    assert done.code == 0, done.err
    assert done.out == EXAMPLE_SCENARIO.read_text()
    assert done.err.strip() == "8 scenarios for 1 operation (8 templates) written to stdout"


def test_get_root_from_the_spec_url_is_the_reference_file() -> None:
    # What --spec-url does after the fetch: the same text, with the URL known (servers[0] is absolute here).
    spec = gen.load_spec(FASTAPI_SPEC.read_text(), "http://localhost:9090/openapi.json",
                     url="http://localhost:9090/openapi.json")
    result = gen.generate(spec, gen.load_templates(), gen.Options(only_operations=("GET /",)))
    assert gen.single_file(result.operations, "x.yaml") == EXAMPLE_SCENARIO.read_text()


def test_every_get_operation_gets_the_eight_reference_scenarios(generate, tmp_path: Path) -> None:
    done = generate("--spec-file", FASTAPI_SPEC, "-o", tmp_path / "out/")
    assert done.code == 0, done.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["read_root__get.yaml",
                                                                     "read_user_users__user_id__get.yaml"]
    reference = [_without_call(d) for d in yaml.safe_load_all(EXAMPLE_SCENARIO.read_text())]
    for path in (tmp_path / "out").iterdir():
        documents = list(yaml.safe_load_all(path.read_text()))
        assert len(documents) == 8
        assert [_without_call(d) for d in documents] == reference
        ids = {d["items"][0]["call"]["meta"]["operation_id"] for d in documents}
        assert ids == {path.stem}
    user = list(yaml.safe_load_all((tmp_path / "out" / "read_user_users__user_id__get.yaml").read_text()))
    assert user[0]["items"][0]["call"]["url"] == "http://localhost:9090/users/1"  # {user_id}: integer -> 1
    assert user[0]["items"][0]["context"]["upstreams"] == ["http://localhost:9090/"]


def test_post_users_gets_its_required_query_parameters_and_a_warning(generate) -> None:
    done = generate("--spec-file", FASTAPI_SPEC, "--methods", "get,post")
    assert done.code == 0, done.err
    documents = list(yaml.safe_load_all(done.out))
    assert len(documents) == 24
    posts = [d["items"][0]["call"] for d in documents if d["items"][0]["call"]["method"] == "POST"]
    assert len(posts) == 8
    assert posts[0]["url"] == "http://localhost:9090/users/?name=string&secret_password=string"
    assert posts[0]["meta"] == {"operation_id": "create_user_users__post"}
    warnings = [line for line in done.err.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: POST /users/ (create_user_users__post): POST is not idempotent; its 8 scenarios "
                        "make real writes on the server, with faults in the middle of them"]


def test_output_is_stable() -> None:
    spec = gen.load_spec(FASTAPI_SPEC.read_text(), str(FASTAPI_SPEC))
    options = gen.Options(methods=("GET", "POST"))
    first = gen.per_operation(gen.generate(spec, gen.load_templates(), options).operations)
    again = gen.per_operation(gen.generate(gen.load_spec(FASTAPI_SPEC.read_text(), "x"), gen.load_templates(),
                                           options).operations)
    assert first == again
