"""The generator on several specs: a hand-written 3.0 YAML ($ref, allOf, oneOf, anyOf, path-level parameters,
servers with variables, required query and header parameters, request bodies) and a 3.1 JSON (type lists,
examples arrays, relative servers). Every output validates and round-trips through `scenario show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from lueur_net.cli.main import main
from lueur_net import generate as gen
from lueur_net.scenario import load

from generate_support import FASTAPI_SPEC, INVENTORY_31, PETSTORE_30

UUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
ALL = "GET,PUT,POST,DELETE,PATCH"


def _calls(folder: Path) -> dict[str, dict[str, Any]]:
    """operation id -> the first scenario's item (call, context, expect) of each file."""
    found = {}
    for path in sorted(folder.glob("*.yaml")):
        documents = list(yaml.safe_load_all(path.read_text()))
        assert len(documents) == 8
        found[documents[0]["items"][0]["call"]["meta"]["operation_id"]] = documents[0]["items"][0]
    return found


def test_petstore_30_real_urls_headers_and_schema_built_bodies(generate, tmp_path: Path) -> None:
    done = generate("--spec-file", PETSTORE_30, "--methods", ALL, "-o", tmp_path)
    assert done.code == 0, done.err
    items = _calls(tmp_path)
    base = "http://localhost:8080/api/v1"  # servers[0] with its variables at their defaults
    assert items["listPets"]["call"]["url"] == f"{base}/pets?limit=10"  # required, minimum 10; `tag` optional
    assert items["listPets"]["call"]["headers"] == {"X-Trace": "generator-test"}  # $ref'd required header
    assert items["showPetById"]["call"]["url"] == f"{base}/pets/{UUID}"  # path-level $ref'd uuid parameter
    assert items["ownerPet"]["call"]["url"] == f"{base}/owners/42/pets/{UUID}"  # $ref'd path item, enum
    assert items["search"]["call"]["url"] == f"{base}/search?q=cat+food&when=2024-01-01"
    create = items["createPet"]["call"]
    assert create["headers"] == {"content-type": "application/json"}
    # required (name: example; kind: oneOf -> first choice, its required `bark`), optional with a default.
    assert json.loads(create["body"]) == {"name": "Rex", "kind": {"bark": True}, "nickname": "buddy"}
    assert items["createPet"]["expect"] == {"status": 201}  # only 201 documented
    update = json.loads(items["updatePet"]["call"]["body"])  # allOf: NewPet's required + status (enum)
    assert update == {"name": "Rex", "kind": {"bark": True}, "nickname": "buddy", "status": "available"}
    assert items["delete_pets_petId"]["call"]["url"] == f"{base}/pets/{UUID}"  # no operationId: method+path
    assert items["delete_pets_petId"]["expect"] == {"status": 204}
    assert {item["context"]["upstreams"][0] for item in items.values()} == {"http://localhost:8080/"}
    assert sum(line.startswith("warning:") for line in done.err.splitlines()) == 3  # POST, PUT, DELETE


def test_inventory_31_relative_server_against_the_spec_url() -> None:
    spec = gen.load_spec(INVENTORY_31.read_text(), "spec", url="http://127.0.0.1:7000/docs/openapi.json")
    result = gen.generate(spec, gen.load_templates(), gen.Options(methods=("GET", "PATCH")))
    calls = {entry.operation_id: entry.documents[0]["items"][0]["call"] for entry in result.operations}
    assert calls["getItem"]["url"] == "http://127.0.0.1:7000/inventory/items/SKU-001?fields=name"
    assert calls["get_items"]["url"] == "http://127.0.0.1:7000/inventory/items"
    patch = calls["patchItem"]
    assert patch["headers"] == {"content-type": "application/merge-patch+json"}
    assert json.loads(patch["body"]) == {"price": 1.0}  # ["number", "null"], exclusiveMinimum 0 (3.1 style)


def test_base_url_replaces_the_servers(generate) -> None:
    done = generate("--spec-file", INVENTORY_31, "--base-url", "http://localhost:9999/x/", "--only-operation",
                    "getItem", "--upstream", "http://localhost:9999/", "--upstream", "http://db.local:5432/")
    assert done.code == 0, done.err
    item = next(yaml.safe_load_all(done.out))["items"][0]
    assert item["call"]["url"] == "http://localhost:9999/x/items/SKU-001?fields=name"
    assert item["context"]["upstreams"] == ["http://localhost:9999/", "http://db.local:5432/"]


@pytest.mark.parametrize("spec, extra", [
    (FASTAPI_SPEC, ()),
    (PETSTORE_30, ()),
    (INVENTORY_31, ("--base-url", "http://localhost:7000/inventory")),
])
def test_every_generated_file_validates_and_round_trips_through_show(spec: Path, extra: tuple[str, ...],
                                                                     generate, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    done = generate("--spec-file", spec, "--methods", ALL, "-o", f"{out}/", *extra)
    assert done.code == 0, done.err
    single = tmp_path / "all.yaml"
    assert generate("--spec-file", spec, "--methods", ALL, "-o", single, *extra).code == 0
    assert main(["scenario", "validate", "-q", str(out), str(single)]) == 0
    capsys.readouterr()
    assert main(["scenario", "show", "--json", str(single)]) == 0
    shown = json.loads(capsys.readouterr().out)
    loaded = load([single])
    assert len(shown) == len(loaded) == 8 * len(list(out.iterdir()))
    for entry, document in zip(loaded, yaml.safe_load_all(single.read_text())):
        # What `show` prints is what the file says: title, call, upstreams, fault types.
        assert entry.scenario.title == document["title"]
        call = entry.scenario.items[0].call
        assert (call.method, call.url) == (document["items"][0]["call"]["method"],
                                           document["items"][0]["call"]["url"])
        assert [f.type for f in entry.scenario.items[0].context.faults] == \
            [f["type"] for f in document["items"][0]["context"]["faults"]]
    assert [doc["scenario"]["title"] for doc in shown] == [e.scenario.title for e in loaded]


def test_existing_files_are_kept_without_force(generate, tmp_path: Path) -> None:
    target = tmp_path / "s.yaml"
    target.write_text("keep me\n")
    done = generate("--spec-file", FASTAPI_SPEC, "-o", target)
    assert done.code == 2
    assert done.err.strip() == f"lueur-net: error: {target}: already exists; nothing written (--force overwrites)"
    assert target.read_text() == "keep me\n"
    assert generate("--spec-file", FASTAPI_SPEC, "-o", target, "--force").code == 0
    assert target.read_text().startswith("title: Single high-latency spike")


@pytest.mark.parametrize("spec", [FASTAPI_SPEC, PETSTORE_30, INVENTORY_31])
def test_the_pair_cached_writer_writes_what_one_yaml_dump_writes(spec: Path) -> None:
    from lueur_net.generate.output import to_yaml, to_yaml_plain

    loaded = gen.load_spec(spec.read_text(), spec.name, url="http://localhost:8000/openapi.json")
    result = gen.generate(loaded, gen.load_templates(), gen.Options(methods=tuple(ALL.split(","))))
    documents = [document for entry in result.operations for document in entry.documents]
    assert to_yaml(documents) == to_yaml_plain(documents)


def test_param_sets_the_value_of_the_parameters_it_names(generate) -> None:
    """A schema-built value (an example id) can name nothing on the server under test: --param gives the real one,
    for path, query and header parameters alike, and sends an optional one (`tag`) it names."""
    done = generate("--spec-file", PETSTORE_30, "--only-operation", "listPets", "--only-operation", "showPetById",
                    "--param", "petId=7 b", "--param", "tag=cats", "--param", "X-Trace=mine", "--param", "limit=20")
    assert done.code == 0, done.err
    items = {document["items"][0]["call"]["meta"]["operation_id"]: document["items"][0]
             for document in yaml.safe_load_all(done.out)}
    base = "http://localhost:8080/api/v1"
    assert items["showPetById"]["call"]["url"] == f"{base}/pets/7%20b"
    assert items["listPets"]["call"]["url"] == f"{base}/pets?limit=20&tag=cats"
    assert items["listPets"]["call"]["headers"] == {"X-Trace": "mine"}


@pytest.mark.parametrize("param, words", [
    ("petid=7", ["--param petid", "petId", "limit"]),  # a typo: the names there are
    ("petId", ["NAME=VALUE"]),
    ("=7", ["NAME=VALUE"]),
])
def test_a_param_that_names_nothing_or_has_no_value_is_refused(generate, tmp_path: Path, param: str,
                                                               words: list[str]) -> None:
    done = generate("--spec-file", PETSTORE_30, "--param", param, "-o", tmp_path / "out")
    assert done.code == 2
    first = done.err.strip().splitlines()[0]
    assert all(word in first for word in words), first
    assert not (tmp_path / "out").exists()
