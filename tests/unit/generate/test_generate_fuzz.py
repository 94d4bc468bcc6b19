"""Random specs: the generator either writes scenarios that validate or refuses with one GenerateError line.

Never another exception (a traceback at the CLI). Bounded (max_examples) so the unit tier stays fast;
LUEUR_FUZZ_EXAMPLES=2000 for a deeper run by hand.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lueur_net import generate as gen
from lueur_net.scenario import loads

MAX_EXAMPLES = int(os.environ.get("LUEUR_FUZZ_EXAMPLES", "150"))
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEMPLATES = gen.load_templates()[:2]  # two are enough to exercise the writer; eight only cost time

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                    st.text(max_size=8), st.sampled_from(["uuid", "date-time", "#/components/schemas/S", "two"]))
KEYS = ["type", "format", "properties", "required", "items", "allOf", "oneOf", "anyOf", "enum", "example",
        "examples", "default", "const", "minimum", "maximum", "exclusiveMinimum", "multipleOf", "minLength",
        "maxLength", "minItems", "maxItems", "readOnly", "nullable", "$ref"]
TYPES = st.sampled_from(["string", "integer", "number", "boolean", "array", "object", "null", ["string", "null"],
                         "weird", 3])
schemas = st.recursive(
    st.one_of(st.fixed_dictionaries({"type": TYPES}), st.just({"$ref": "#/components/schemas/S"}), st.just({})),
    lambda inner: st.one_of(
        st.dictionaries(st.sampled_from(KEYS), st.one_of(scalars, inner, st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                        max_size=4),
        st.fixed_dictionaries({"type": st.just("object"),
                               "properties": st.dictionaries(st.text(max_size=4), inner, max_size=3),
                               "required": st.lists(st.text(max_size=4), max_size=2)}),
    ),
    max_leaves=12,
)
parameters = st.lists(st.fixed_dictionaries({
    "name": st.sampled_from(["id", "q", "X-H", "c"]),
    "in": st.sampled_from(["path", "query", "header", "cookie", "body"]),
    "required": st.booleans(),
    "schema": schemas,
}), max_size=3)


@SETTINGS
@given(schema=schemas, component=schemas, id_schema=schemas, params=parameters,
       method=st.sampled_from(["get", "post", "put"]))
def test_random_specs_generate_valid_scenarios_or_one_error(schema: Any, component: Any, id_schema: Any,
                                                            params: Any, method: str) -> None:
    # {id} is always declared (first, so a random `id` path parameter may override it), or most specs would stop
    # at "path parameter {id} ... not declared" before reaching the values.
    params = [{"name": "id", "in": "path", "required": True, "schema": id_schema}, *params]
    outcome = _generate(schema, component, params, method)
    if isinstance(outcome, gen.GenerateError):
        assert "\n" not in str(outcome).split("\n  hint:")[0]
        return
    assert len(loads(outcome, "fuzz.yaml")) == 2


def _generate(schema: Any, component: Any, params: Any, method: str) -> str | gen.GenerateError:
    spec = {"openapi": "3.1.0", "servers": [{"url": "http://localhost:8080"}],
            "components": {"schemas": {"S": component}},
            "paths": {"/x/{id}": {method: {"parameters": params,
                                           "requestBody": {"content": {"application/json": {"schema": schema}}},
                                           "responses": {"200": {"description": "ok"}}}}}}
    try:
        loaded = gen.load_spec(json.dumps(spec), "fuzz.json")
        result = gen.generate(loaded, TEMPLATES, gen.Options(methods=("GET", "POST", "PUT")))
        return gen.single_file(result.operations, "fuzz.yaml")
    except gen.GenerateError as error:
        return error
