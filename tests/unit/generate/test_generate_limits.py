"""A spec large enough to break the scenario limits (lueur_net/scenario/limits.py): one file says so and writes
nothing; one file per operation works."""

from __future__ import annotations

import json
from pathlib import Path

from lueur_net.scenario.limits import MAX_DOCUMENTS_PER_FILE

OPERATIONS = MAX_DOCUMENTS_PER_FILE // 8 + 1  # 126 GET operations -> 1008 scenarios


def _large_spec(path: Path) -> Path:
    paths = {f"/resource{n}": {"get": {"operationId": f"get_resource_{n}", "responses": {"200": {"description": "ok"}}}}
             for n in range(OPERATIONS)}
    path.write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "big", "version": "1"},
                                "servers": [{"url": "http://localhost:8080"}], "paths": paths}))
    return path


def test_one_file_above_the_document_limit_is_refused(generate, tmp_path: Path) -> None:
    spec = _large_spec(tmp_path / "big.json")
    target = tmp_path / "all.yaml"
    done = generate("--spec-file", spec, "-o", target)
    assert done.code == 2
    assert done.err.count("\n") == 1, done.err
    assert done.err.startswith(
        f"lueur-net: error: {target}: {OPERATIONS * 8} scenarios is above the limit of {MAX_DOCUMENTS_PER_FILE} "
        f"per file ({OPERATIONS} operations); write one file per operation with --output DIR/")
    assert not target.exists()


def test_one_file_per_operation_holds_a_large_spec(generate, tmp_path: Path) -> None:
    spec = _large_spec(tmp_path / "big.json")
    done = generate("--spec-file", spec, "-o", tmp_path / "out/")
    assert done.code == 0, done.err
    assert len(list((tmp_path / "out").glob("*.yaml"))) == OPERATIONS
    assert done.err.strip() == f"{OPERATIONS * 8} scenarios for {OPERATIONS} operations (8 templates) written to " \
                               f"{OPERATIONS} files in {tmp_path / 'out'}"
