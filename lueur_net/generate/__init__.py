"""lueur_net.generate: lueur scenarios from an OpenAPI 3.0/3.1 document (`lueur-net scenario generate`).

Pure, like `scenario` (it imports only scenario and errors): the spec comes in as text, the scenarios go out as
YAML text; reading files given on the command line, fetching the spec (`fetch`, the one module with effects) and
writing the output belong to the CLI. See docs/generate.md.

    spec = load_spec(text, "openapi.json", url=None)
    result = generate(spec, load_templates(), Options(base_url="http://localhost:9090"))
    text = single_file(result.operations, "scenarios.yaml")      # or per_operation(result.operations)
"""

from __future__ import annotations

from lueur_net.generate.build import DEFAULT_METHODS, Generated, Options, Result, generate, operation_id
from lueur_net.generate.output import file_names, per_operation, single_file, to_yaml
from lueur_net.generate.spec import GenerateError, Operation, Spec, load_spec, operations
from lueur_net.generate.templates import BUILTIN_DIR, Template, load_templates, parse_template

__all__ = [
    "BUILTIN_DIR",
    "DEFAULT_METHODS",
    "GenerateError",
    "Generated",
    "Operation",
    "Options",
    "Result",
    "Spec",
    "Template",
    "file_names",
    "generate",
    "load_spec",
    "load_templates",
    "operation_id",
    "operations",
    "parse_template",
    "per_operation",
    "single_file",
    "to_yaml",
]
