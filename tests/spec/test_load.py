"""The spec loader: valid specs become records; every fault is reported with file:line:col."""

from pathlib import Path

import pytest
from toy import CSPDARKNET_SPEC

from archcheck.errors import SpecError
from archcheck.spec import Case, load_spec, parse_spec
from archcheck.spec.shapes import AnyDims, AnySize, ShapePattern, TuplePattern

ROOT = Path(__file__).resolve().parents[2]

BASE = CSPDARKNET_SPEC  # the spec's head; the tests add the keys they are about


def errors_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as error:
        parse_spec(text, "s.yaml")
    return [str(d) for d in error.value.diagnostics]


@pytest.mark.parametrize("name", ["yolov4", "yolov4-involution", "cspdarknet53"])
def test_shipped_specs_load(name):
    spec = load_spec(ROOT / "specs" / f"{name}.yaml")
    assert spec.name == name
    assert len(spec.cases()) >= 4
    assert {c.as_dict()["B"] for c in spec.cases()} == {1, 2}


def test_records_and_cases():
    spec = parse_spec(BASE + "define:\n  C: 2 * D\n  D: 8\nmodules:\n  s:\n    stages.0: {channels: C * 4, stride: 2}\n    stem: [B, _, ..., W]\noutputs: [[B, 256, H/8, W/8], [...]]\n", "s.yaml")
    assert [d.name for d in spec.dims] == ["B", "H", "W"]
    assert spec.cases() == [
        Case((("B", 1), ("H", 64), ("W", 64))),
        Case((("B", 1), ("H", 96), ("W", 64))),
        Case((("B", 2), ("H", 64), ("W", 64))),
        Case((("B", 2), ("H", 96), ("W", 64))),
    ]
    assert spec.cases({"H": 608}) == [Case((("B", 1), ("H", 608), ("W", 64))), Case((("B", 2), ("H", 608), ("W", 64)))]
    assert [name for name, _ in spec.defines] == ["D", "C"]  # dependency order
    assert spec.env(spec.cases()[0])["C"] == 16
    shorthand = spec.modules[0].pattern
    assert str(shorthand) == "[B, C * 4, ceil(H/2), ceil(W/2)]"
    assert isinstance(spec.modules[1].pattern, ShapePattern)
    assert spec.modules[1].pattern.dims[1] == AnySize() and spec.modules[1].pattern.dims[2] == AnyDims()
    assert spec.modules[0].location.line == 16 and spec.modules[0].key_location.col == 5
    assert isinstance(spec.outputs, TuplePattern) and len(spec.outputs.items) == 2


def test_values_default_to_the_smallest_admissible():
    spec = parse_spec(BASE.replace("W: {values: [64]}", "W: {range: [33, 100], multiple_of: 32}"), "s.yaml")
    assert spec.dim("W").values == (64,)


def test_flops_section():
    spec = parse_spec(BASE + "flops: {convention: darknet, case: {B: 1, H: 64, W: 64}, total: 30.05G, tolerance: 1%, modules: {stem: 1.5M}}\n", "s.yaml")
    assert spec.flops.total.value == pytest.approx(30.05e9)
    assert spec.flops.tolerance == pytest.approx(0.01)
    assert spec.flops.modules[0].value == pytest.approx(1.5e6)
    assert spec.flops.case == Case((("B", 1), ("H", 64), ("W", 64)))


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (("archcheck: 1", "archcheck: 2"), ["s.yaml:1:12: error: this is spec format 2; this archcheck reads format 1"]),
        (("  factory:", "  factroy:"), ["s.yaml:4:3: error: missing required key model.factory", "s.yaml:4:3: error: unknown key 'factroy' in model; did you mean 'factory'?"]),
        (("name: tiny", "name: tiny\nname: other"), ["s.yaml:3:1: error: duplicate key 'name' (first at line 2); YAML would silently keep the last one"]),
        (("[B, 3, H, W]", "[B, 3, H, __import__('os')]"), ["s.yaml:6:16: error: __import__(...) is not allowed in an expression; use integers, dimension names, + - * / // %, parentheses, ceil, floor, min and max"]),
        (("[B, 3, H, W]", "[B, 3, H, W, Q]"), ["s.yaml:6:6: error: dimension Q of input x has no entry in dims; add e.g. Q: {values: [1]}"]),
        (("values: [64, 96]", "values: [64, 100]"), ["s.yaml:9:56: error: H=100 is not a multiple of 32, the domain this spec claims"]),
        (("{values: [1, 2]}", "{values: [1, '2']}"), ["s.yaml:8:19: error: dims.B.values.1: input should be a valid integer (got '2')"]),
        (("{values: [1, 2]}", "{value: [1, 2]}"), ["s.yaml:8:7: error: unknown key 'value' in dims.B; did you mean 'values'?"]),
        (("range: [32, 1024]", "range: [1024, 32]"), ["s.yaml:9:14: error: dims.H.range: 1024 is larger than 32"]),
    ],
)
def test_mutated_specs_fail_at_the_right_place(mutation, expected):
    old, new = mutation
    assert old in BASE
    got = errors_of(BASE.replace(old, new, 1))
    assert got == expected


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("modules:\n  s:\n    stem: [B, 32, H/, W]\n", ["s.yaml:13:19: error: cannot parse expression 'H/': invalid syntax"]),
        ("modules:\n  s:\n    stem: [B, 32, H, V]\n", ["s.yaml:13:11: error: unknown name 'V'; expected one of: B, H, W"]),
        ("modules:\n  s:\n    stem: [B, ..., ...]\n", ["s.yaml:13:20: error: a shape may hold at most one '...'"]),
        ("modules:\n  s:\n    stem: [B, [1]]\n", ["s.yaml:13:11: error: a shape mixes dimensions and nested shapes; write [[...], [...]] for a tuple output"]),
        ("modules:\n  s:\n    stem: {channels: 3}\n", ["s.yaml:13:11: error: the shorthand is {channels: C, stride: S}, got keys channels"]),
        ("define:\n  A: B + A2\n  A2: A * 2\n", ["s.yaml:12:6: error: define A refers to itself: A -> A2 -> A"]),
        ("devices: [meta, gpu]\n", ["s.yaml:11:17: error: unknown device 'gpu'; expected meta, cpu, cuda, cuda:N, dp or ddp (ddp:gloo, ddp:nccl)"]),
        ("flops: {case: {B: 1, Hh: 2}, total: lots}\n", [
            "s.yaml:11:22: error: flops.case names 'Hh', which is not a dim; did you mean 'H'?",
            "s.yaml:11:15: error: flops.case must bind every dim; missing H, W",
            "s.yaml:11:37: error: 'lots' is not a number; write e.g. 64363101, 30.05G or 1.2e9",
        ]),
        ("parity: {rtol: -1}\n", ["s.yaml:11:16: error: parity.rtol must not be negative"]),
        ("parity: {atol: .inf}\n", ["s.yaml:11:16: error: parity.atol must be a finite number, got inf; to skip parity, leave the other devices out or use --ignore parity"]),
        ("parity: {rtol: .nan}\n", ["s.yaml:11:16: error: parity.rtol must be a finite number, got nan; to skip parity, leave the other devices out or use --ignore parity"]),
        ("outputs: 3\n", ["s.yaml:11:10: error: outputs: input should be a valid list (got 3)"]),
    ],
)
def test_faults_in_later_sections(extra, expected):
    assert errors_of(BASE + extra) == expected


def test_many_faults_are_reported_at_once():
    text = BASE.replace("factory:", "factry:") + "colour: red\n"
    assert len(errors_of(text)) == 3


def test_missing_file():
    with pytest.raises(SpecError, match=r"^error: nope.yaml: no such spec file$"):
        load_spec("nope.yaml")


def test_a_spec_is_a_mapping():
    assert errors_of("- 1\n- 2\n") == ["s.yaml:1:1: error: a spec is a mapping of keys (archcheck, name, model, ...)"]
