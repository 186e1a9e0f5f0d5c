"""The JSON Schema shipped for editors (archcheck/spec/spec.schema.json) accepts every spec we ship and
every new form, rejects what the loader rejects structurally, and names the same keys as the pydantic schema.

``jsonschema`` is not a dependency; a small validator for the keywords the schema uses stands in for it.
"""

import json
import re
from pathlib import Path

import pytest
import yaml

from archcheck.spec import schema as raw

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "archcheck" / "spec" / "spec.schema.json").read_text())
USED = {"$schema", "$id", "title", "description", "default", "type", "properties", "required", "additionalProperties",
        "items", "enum", "const", "anyOf", "$ref", "$defs", "pattern", "minItems", "maxItems", "minProperties", "minimum", "exclusiveMinimum"}
TYPES = {"object": dict, "array": list, "string": str, "null": type(None), "boolean": bool}


def errors(value, schema, where="$"):
    """Every way ``value`` breaks ``schema`` (draft 2020-12, the subset in USED)."""
    if "$ref" in schema:
        return errors(value, SCHEMA["$defs"][schema["$ref"].rsplit("/", 1)[1]], where)
    found = []
    if "type" in schema:
        types = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        if not any(_is(value, t) for t in types):
            return [f"{where}: {value!r} is not {' or '.join(types)}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if "anyOf" in schema and all(errors(value, s, where) for s in schema["anyOf"]):
        found.append(f"{where}: {value!r} fits none of the alternatives")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        found.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"] or "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            found.append(f"{where}: {value!r} is too small")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            found.append(f"{where}: {len(value)} items")
        for index, item in enumerate(value):
            found += errors(item, schema.get("items", {}), f"{where}[{index}]")
    if isinstance(value, dict):
        if len(value) < schema.get("minProperties", 0):
            found.append(f"{where}: too few keys")
        found += [f"{where}: missing {key}" for key in schema.get("required", []) if key not in value]
        for key, item in value.items():
            if key in schema.get("properties", {}):
                found += errors(item, schema["properties"][key], f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{where}: unknown key {key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                found += errors(item, schema["additionalProperties"], f"{where}.{key}")
    return found


def _is(value, name):
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, TYPES[name])


def test_the_validator_knows_every_keyword_the_schema_uses():
    def keywords(node):
        if isinstance(node, dict):
            for key, value in node.items():
                yield key
                if key in ("properties", "$defs"):
                    for sub in value.values():
                        yield from keywords(sub)
                elif key not in ("enum", "const", "default", "required"):
                    yield from keywords(value)
        elif isinstance(node, list):
            for item in node:
                yield from keywords(item)

    assert set(keywords(SCHEMA)) <= USED


@pytest.mark.parametrize("path", sorted((ROOT / "specs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_specs_are_valid(path):
    assert errors(yaml.safe_load(path.read_text()), SCHEMA) == []


NEW_FORMS = """\
archcheck: 1
name: forms
model: {factory: "m:f"}
inputs:
  tokens: {shape: [B, N], dtype: int64, low: 0, high: 1000}
  mask: {shape: [B, N], dtype: bool, keyword: true}
dims: {B: {values: [1]}, N: {values: [8]}}
constraints: ["N*N <= 4096"]
modules:
  conv1: [B, 64, N/2]
  layer1.0: {channels: 64, stride: 4}
  head: {calls: [[B, 6, N], [B, 6, N/2]]}
  heads:
    attn: [[B, N, 16], null]
    det: {boxes: [B, 100, 4], scores: [B, 100], extra: _}
outputs: {boxes: [B, 100, 4], scores: [B, 100]}
params: {total: 64.36M, tolerance: 1%}
flops: {case: {B: 1, N: 8}, total: 145.031M}
"""


def test_every_new_form_is_valid():
    assert errors(yaml.safe_load(NEW_FORMS), SCHEMA) == []


@pytest.mark.parametrize(
    ("old", "new", "fault"),
    [
        ("archcheck: 1", "archcheck: 2", "$.archcheck: 2 is not 1"),
        ("keyword: true", "keyword: 1", "$.inputs.mask: {'shape': ['B', 'N'], 'dtype': 'bool', 'keyword': 1} fits none of the alternatives"),
        ("name: forms", "name: forms\ncolour: red", "$: unknown key colour"),
        ("{channels: 64, stride: 4}", "{channels: 64, stride: 4, pad: 1}", "$.modules.layer1.0: "),
        ('factory: "m:f"', 'factory: "m"', "$.model.factory: 'm' does not match"),
    ],
)
def test_faults_are_invalid(old, new, fault):
    assert old in NEW_FORMS
    found = errors(yaml.safe_load(NEW_FORMS.replace(old, new)), SCHEMA)
    assert any(f.startswith(fault) for f in found), found


@pytest.mark.parametrize(
    ("where", "model"),
    [((), raw.RawSpec), (("model",), raw.RawModel), (("params",), raw.RawParams), (("flops",), raw.RawFlops), (("parity",), raw.RawParity)],
)
def test_keys_match_the_pydantic_schema(where, model):
    node = SCHEMA
    for key in where:
        node = node["properties"][key]
    assert set(node["properties"]) == set(model.model_json_schema()["properties"])


def test_input_and_dim_keys_match_the_pydantic_schema():
    assert set(SCHEMA["$defs"]["input"]["anyOf"][1]["properties"]) == set(raw.RawInput.model_fields)
    assert set(SCHEMA["$defs"]["dim"]["properties"]) == set(raw.RawDim.model_fields)


def test_the_schema_is_package_data():
    assert 'archcheck = ["spec/*.json"]' in (ROOT / "pyproject.toml").read_text()
