"""Scenario templates: YAML data files, one scenario each, without the parts that come from the operation.

A template is a scenario document with `items` replaced by one item's parts: `call` (extra call fields such as
`timeout`; never method, url, headers, body or meta, which the generator writes), `context` (faults, strategy,
slo; never upstreams) and `expect`. The built-in set is the reference guide's eight scenarios (the files in
templates/ beside this module); `--templates DIR` adds the user's files, and one with the same file name as a
built-in replaces it. Files are used in file-name order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lueur_net.generate.spec import GenerateError

BUILTIN_DIR = Path(__file__).resolve().parent / "templates"
SUFFIXES = (".yaml", ".yml")
TEMPLATE_KEYS = ("title", "description", "call", "context", "expect")
GENERATED_CALL_KEYS = ("method", "url", "headers", "body", "meta")


@dataclass(frozen=True)
class Template:
    name: str  # the file name: what a user's file replaces
    source: str
    document: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.document["title"])


def parse_template(text: str, name: str, source: str) -> Template:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise GenerateError(f"{source}{where}: not valid YAML: {getattr(error, 'problem', None) or error}") from None
    if not isinstance(document, dict):
        raise GenerateError(f"{source}: a template is one mapping (title, description, call, context, expect)")
    unknown = [key for key in document if key not in TEMPLATE_KEYS]
    if unknown:
        hint = " (a template holds one item's parts at the top level, not `items`)" if "items" in unknown else ""
        raise GenerateError(f"{source}: {unknown[0]}: not a template field; expected one of "
                            f"{', '.join(TEMPLATE_KEYS)}{hint}")
    if not isinstance(document.get("title"), str) or not document["title"].strip():
        raise GenerateError(f"{source}: title: a template needs a title")
    for key in ("call", "context", "expect"):
        if document.get(key) is not None and not isinstance(document[key], dict):
            raise GenerateError(f"{source}: {key}: must be a mapping")
    for key in GENERATED_CALL_KEYS:
        if key in (document.get("call") or {}):
            raise GenerateError(f"{source}: call.{key}: written by the generator from the spec; "
                                "a template may set only other call fields (e.g. timeout)")
    if "upstreams" in (document.get("context") or {}):
        raise GenerateError(f"{source}: context.upstreams: written by the generator (the call's origin, or "
                            "--upstream); remove it from the template")
    return Template(name=name, source=source, document=document)


def _folder(folder: Path) -> dict[str, Template]:
    if not folder.is_dir():
        raise GenerateError(f"{folder}: --templates must be a directory of *.yaml templates")
    found = {}
    for path in sorted(folder.iterdir()):
        if path.suffix in SUFFIXES and path.is_file():
            found[path.name] = parse_template(path.read_text(encoding="utf-8"), path.name, str(path))
    return found


def load_templates(user_dir: Path | None = None, builtin: bool = True) -> list[Template]:
    """The built-in templates, then the user's (same file name: the user's replaces the built-in)."""
    templates = _folder(BUILTIN_DIR) if builtin else {}
    if user_dir is not None:
        own = _folder(user_dir)
        if not own:
            raise GenerateError(f"{user_dir}: no *.yaml or *.yml template in this directory")
        templates.update(own)
    if not templates:
        raise GenerateError("no template to generate from (--no-builtin-templates without --templates DIR)")
    return [templates[name] for name in sorted(templates)]
