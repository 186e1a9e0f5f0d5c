"""plain_schema reads a well-formed spec without pydantic, and reads nothing that schema.py would read
otherwise: the same fields and defaults, the same values on every spec we ship, and on documents
drawn around them either the same records or None (pydantic decides)."""

from __future__ import annotations

import copy
import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from archcheck.spec import parse_spec, schema
from archcheck.spec import plain_schema as plain
from archcheck.spec.yamlpos import load_yaml

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted([*ROOT.glob("specs/*.yaml"), *ROOT.glob("tests/specs/*.yaml")])

EVERY_FORM = """\
archcheck: 1
name: every-form
description: each key and each written form of the schema
model: {factory: "toy:two_scale", kwargs: {width: 8, name: small}, weights: w.pt}
inputs:
  x: [B, 3, H, W]
  mask: {shape: [B, 1, H, W], dtype: int64, keyword: true, low: 0, high: 2}
  pair: [[B, 3], {shape: [B]}, null, 4]
dims:
  B: {values: [1, 2]}
  H: {range: [32, 1024], multiple_of: 32}
  W: {values: [64], range: [32, 64]}
define: {S: H*W, C: 64}
modules:
  backbone: {stem: [B, 32, H, W], stages.0: {channels: 64, stride: 2}}
  head: [B, C, H/8, W/8]
outputs: {boxes: [B, S, 4], scores: [B, S]}
constraints: ["H <= 2 * W"]
params: {total: 64363101, trainable: 64.36M, modules: {backbone: 1.5e7}, tolerance: 1%}
flops: {convention: darknet, case: {B: 1, H: 416, W: 416}, total: 30.05G, modules: {head: 1000}, tolerance: 0.01}
devices: [meta, cpu, cuda]
cases: {cpu: smallest, cuda: [{B: 1, H: 64, W: 64}]}
parity: {rtol: 1e-4, atol: 0}
"""
DOCUMENTS = [*(path.read_text() for path in SHIPPED), EVERY_FORM]


def data(text: str) -> Any:
    return load_yaml(text, "spec.yaml").data


LOADED = [data(text) for text in DOCUMENTS]


def through_pydantic(document: Any) -> plain.RawSpec | None:
    """What the loader makes of a document plain_schema leaves to pydantic: its records, or None (a fault)."""
    try:
        checked = schema.RawSpec.model_validate(document)
    except ValidationError:
        return None
    return plain.read(checked.model_dump())


PAIRS = [(plain.RawSpec, schema.RawSpec), (plain.RawModel, schema.RawModel), (plain.RawInput, schema.RawInput), (plain.RawDim, schema.RawDim),
         (plain.RawParams, schema.RawParams), (plain.RawFlops, schema.RawFlops), (plain.RawParity, schema.RawParity)]  # fmt: skip


@pytest.mark.parametrize(("record", "model"), PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_the_records_have_the_schemas_fields_in_order_with_its_defaults(record, model):
    def default(f: dataclasses.Field) -> Any:
        if f.default_factory is not dataclasses.MISSING:
            return f.default_factory()
        return "required" if f.default is dataclasses.MISSING else f.default

    ours = {f.name: default(f) for f in dataclasses.fields(record)}
    theirs = {name: "required" if info.is_required() else info.get_default(call_default_factory=True) for name, info in model.model_fields.items()}
    assert list(ours) == list(theirs)
    assert ours == {name: plain.RawParity(**value.model_dump()) if isinstance(value, schema.RawParity) else value for name, value in theirs.items()}


def test_the_literals_are_the_schemas():
    assert plain.DTYPES == set(schema.RawInput.model_fields["dtype"].annotation.__args__)
    assert plain.CONVENTIONS == set(schema.RawFlops.model_fields["convention"].annotation.__args__)


@pytest.mark.parametrize("text", DOCUMENTS, ids=[*(p.name for p in SHIPPED), "every-form"])
def test_every_shipped_spec_and_every_form_is_read_as_pydantic_reads_it(text):
    raw = plain.read(data(text))
    assert raw is not None
    assert raw == through_pydantic(data(text))


def test_every_form_is_read_to_its_values():
    raw = plain.read(data(EVERY_FORM))
    assert raw.inputs["mask"] == plain.RawInput(shape=["B", 1, "H", "W"], dtype="int64", keyword=True, low=0, high=2)
    assert raw.inputs["pair"] == [["B", 3], {"shape": ["B"]}, None, 4]
    assert raw.dims["H"] == plain.RawDim(range=(32, 1024), multiple_of=32)
    assert raw.params == plain.RawParams(total=64363101, trainable="64.36M", modules={"backbone": "1.5e7"}, tolerance="1%")
    assert raw.cases == {"cpu": "smallest", "cuda": [{"B": 1, "H": 64, "W": 64}]}
    assert raw.parity == plain.RawParity(rtol=1e-4, atol=0.0) and type(raw.parity.atol) is float


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document, and beside each mapping's keys one new key."""
    found = [prefix]
    if isinstance(value, dict):
        found.append((*prefix, "extra"))
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


PROBES = [
    None, True, False, 0, -1, 1, 2, 2**60, 0.5, 1.0, float("inf"),
    "1e-4", "1.", ".5", "+2", "1e400", "inf", " 1", "64.36M", "1%", "B", "H/8", "macs", "darknet", "float32", "int64", "meta", "smallest", "toy:two_scale",
    [], [1], ["B", 3], [1.5], [True], [None], [[1]], [{"B": 1}], [{"B": "x"}], [{1: 1}], [32, 64], [32, 64, 128],
    {}, {"B": 1}, {"B": True}, {"B": [1]}, {1: 2}, {"shape": [1]}, {"shape": [1], "dtype": "int8"}, {"values": [1]}, {"range": [1, 2]}, {"total": 1}, {"factory": "a:b"},
]  # fmt: skip


ABSENT = object()


def replaced(document: Any, place: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``document`` with ``value`` at ``place`` (a new key where there was none)."""
    document = copy.deepcopy(document)
    parent = document
    for key in place[:-1]:
        parent = parent[key]
    parent[place[-1]] = value
    return document


@pytest.mark.parametrize(
    ("place", "value", "pydantic_reads_it"),
    [
        (("archcheck",), True, True),  # pydantic's Literal[1] takes it
        (("parity", "rtol"), True, True),  # pydantic's lax float: 1.0
        (("parity", "rtol"), " 1e-4", True),
        (("params", "total"), False, True),
        (("dims", "H", "range"), [32, 64, 128], False),
        (("dims", "H", "multiple_of"), 0, False),
        (("inputs", "x"), [1.5], False),
        (("model", "factories"), "x:y", False),
        (("devices",), "meta", False),
        ((7,), 1, False),
    ],
)
def test_a_value_of_another_type_is_left_to_pydantic(place, value, pydantic_reads_it):
    document = replaced(data(EVERY_FORM), place, value)
    assert plain.read(document) is None
    assert (through_pydantic(document) is not None) == pydantic_reads_it


def test_a_spec_that_pydantic_converts_loads_with_its_values():
    text = (ROOT / "specs" / "yolov4.yaml").read_text().replace("parity: {rtol: 1e-4, atol: 1e-5}", 'parity: {rtol: " 1e-3", atol: true}')
    assert plain.read(data(text)) is None
    spec = parse_spec(text, "yolov4.yaml")
    assert (spec.rtol, spec.atol) == (0.001, 1.0)


@pytest.mark.parametrize("document", LOADED, ids=[*(p.name for p in SHIPPED), "every-form"])
def test_with_any_one_value_replaced_plain_schema_reads_what_pydantic_reads_or_leaves_it(document):
    document = copy.deepcopy(document)
    read = 0
    for place in paths(document)[1:]:
        parent = document
        for key in place[:-1]:
            parent = parent[key]
        was = parent.get(place[-1], ABSENT) if isinstance(parent, dict) else parent[place[-1]]
        for value in PROBES:
            parent[place[-1]] = value
            raw = plain.read(document)
            if raw is not None:
                read += 1
                assert raw == through_pydantic(document), (place, value)
        if was is ABSENT:
            del parent[place[-1]]
        else:
            parent[place[-1]] = was
    assert read > len(paths(document))  # most places take some probe: the check is not empty


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_with_several_values_replaced_plain_schema_reads_what_pydantic_reads_or_leaves_it(drawn):
    document = drawn.draw(st.sampled_from(LOADED))
    for _ in range(drawn.draw(st.integers(2, 4))):
        document = replaced(document, drawn.draw(st.sampled_from(paths(document)[1:])), drawn.draw(st.sampled_from(PROBES)))
    raw = plain.read(document)
    if raw is not None:
        assert raw == through_pydantic(document)


def test_loading_a_well_formed_spec_imports_no_pydantic():
    code = "import sys\nfrom archcheck.spec import load_spec\nload_spec('specs/yolov4.yaml')\nprint('pydantic' in sys.modules)\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "False"
