"""Templates are data: the built-in eight ship as package data; --templates adds or replaces (by file name)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest
import yaml
from generate_support import FASTAPI_SPEC, REPO

from lueur_net.generate import BUILTIN_DIR, load_templates

EXTRA = """\
title: Slow responses (300 ms)
description: every response 300 ms late
call:
  timeout: 2000
context:
  faults:
    - type: latency
      mean: 300.0
expect:
  status: 200
"""
REPLACE_SPIKE = """\
title: A smaller spike
context:
  faults:
    - type: latency
      mean: 200.0
  strategy: null
"""


def test_the_builtin_templates_are_the_reference_titles_in_order() -> None:
    assert [t.title for t in load_templates()] == [
        "Single high-latency spike (client ingress)", "Stair-step latency growth (5 x 100 ms)",
        "Periodic 150-250 ms latency pulses during load", "5% packet loss for 4s", "High jitter (±80ms @ 8Hz)",
        "512 KBps bandwidth cap", "Random 500 errors (5% of calls)", "Full black-hole for 1 s"]


def test_a_wheel_carries_the_templates() -> None:
    """pyproject's package-data for lueur_net.generate matches every built-in template file."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "lueur_net.generate" in config["packages"]
    patterns = config["package-data"]["lueur_net.generate"]
    files = [p.relative_to(BUILTIN_DIR.parent).as_posix() for p in BUILTIN_DIR.iterdir()]
    assert len(files) == 8
    assert all(any(fnmatch.fnmatch(name, pattern) for pattern in patterns) for name in files)


def test_user_templates_add_and_replace(generate, tmp_path: Path) -> None:
    own = tmp_path / "templates"
    own.mkdir()
    (own / "01-latency-spike.yaml").write_text(REPLACE_SPIKE)  # same name as a built-in: replaces it
    (own / "09-slow.yaml").write_text(EXTRA)  # new name: added, sorted after the built-ins
    done = generate("--spec-file", FASTAPI_SPEC, "--only-operation", "read_root__get", "--templates", own)
    assert done.code == 0, done.err
    documents = list(yaml.safe_load_all(done.out))
    assert len(documents) == 9
    assert documents[0]["title"] == "A smaller spike" and "description" not in documents[0]
    assert documents[-1]["items"][0]["call"] == {"method": "GET", "url": "http://localhost:9090/", "timeout": 2000,
                                                  "meta": {"operation_id": "read_root__get"}}
    only = generate("--spec-file", FASTAPI_SPEC, "--only-operation", "GET /", "--templates", own,
                    "--no-builtin-templates")
    assert only.code == 0 and [d["title"] for d in yaml.safe_load_all(only.out)] == [
        "A smaller spike", "Slow responses (300 ms)"]


@pytest.mark.parametrize("text, message", [
    ("title: t\nitems: []\n", "bad.yaml: items: not a template field; expected one of title, description, call, "
                              "context, expect (a template holds one item's parts at the top level, not `items`)"),
    ("description: no title\n", "bad.yaml: title: a template needs a title"),
    ("title: t\ncall: {url: 'http://x/'}\n", "bad.yaml: call.url: written by the generator from the spec"),
    ("title: t\ncontext: {upstreams: ['http://x/']}\n", "bad.yaml: context.upstreams: written by the generator"),
    ("title: t\ncontext: {faults: [{type: latency, mean: -5}]}\n",
     "generated scenarios do not validate: <stdout>:"),
])
def test_a_bad_template_is_one_line_exit_2(text: str, message: str, generate, tmp_path: Path) -> None:
    own = tmp_path / "templates"
    own.mkdir()
    (own / "bad.yaml").write_text(text)
    done = generate("--spec-file", FASTAPI_SPEC, "--templates", own)
    assert done.code == 2
    assert done.err.count("\n") == 1, done.err
    assert done.err.replace(str(own) + "/", "").startswith(f"lueur-net: error: {message}")
    assert done.out == ""
