"""New spec forms (issue 10): flat modules, dict outputs, null and _ in tuples, keyword and integer
inputs, a shape per call, constraints, written precision; and faults reported once, at their place."""

import pytest
from toy import CSPDARKNET_SPEC

from archcheck.errors import SpecError, UsageError
from archcheck.spec import Case, parse_spec
from archcheck.spec.inputs_plan import PlannedInput, input_plan
from archcheck.spec.load import parse_written_quantity
from archcheck.spec.shapes import (
    AnyValue,
    DictPattern,
    NonePattern,
    ShapePattern,
    TuplePattern,
)

BASE = CSPDARKNET_SPEC  # the spec's head; the tests add the keys they are about


def spec_of(extra: str, base: str = BASE):
    return parse_spec(base + extra, "s.yaml")


def errors_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as error:
        parse_spec(text, "s.yaml")
    return [str(d) for d in error.value.diagnostics]


# -- flat modules -------------------------------------------------------------------------------


def test_flat_modules_have_the_section_modules():
    spec = spec_of("modules:\n  conv1: [B, 64, H/2, W/2]\n  layer1.0: {channels: 64, stride: 4}\n")
    assert [(m.section, m.path) for m in spec.modules] == [("modules", "conv1"), ("modules", "layer1.0")]
    assert str(spec.modules[1].pattern) == "[B, 64, ceil(H/4), ceil(W/4)]"
    assert spec.modules[0].location.line == 12 and spec.modules[0].key_location.col == 3


def test_flat_entries_and_sections_mix():
    spec = spec_of("modules:\n  conv1: [B, 64, H/2, W/2]\n  heads:\n    fc: [B, 10]\n    out: {channels: 8, stride: 2}\n")
    assert [(m.section, m.path) for m in spec.modules] == [("modules", "conv1"), ("heads", "fc"), ("heads", "out")]


def test_a_module_both_flat_and_in_a_section_is_an_error():
    assert errors_of(BASE + "modules:\n  conv1: [B, 64, H/2, W/2]\n  s:\n    conv1: [B, 64, H/2, W/2]\n") == [
        "s.yaml:14:5: error: module conv1 is listed twice: at modules.conv1 and here; flat entries and sections must not overlap"
    ]


def test_flat_faults_point_at_the_entry():
    assert errors_of(BASE + "modules:\n  conv1: 3\n  conv2: [B, V]\n") == [
        "s.yaml:12:10: error: expected a shape like [B, 64, H/2, W/2], got 3",
        "s.yaml:13:10: error: unknown name 'V'; expected one of: B, H, W",
    ]


# -- dict outputs and the shorthand ------------------------------------------------------------


def test_dict_outputs():
    spec = spec_of("outputs: {boxes: [B, 100, 4], scores: [B, 100]}\nmodules:\n  heads:\n    det: {boxes: [B, 100, 4], extra: [[B], null]}\n")
    assert isinstance(spec.outputs, DictPattern)
    assert str(spec.outputs) == "{boxes: [B, 100, 4], scores: [B, 100]}"
    assert str(spec.modules[0].pattern) == "{boxes: [B, 100, 4], extra: [[B], null]}"


def test_the_shorthand_is_only_channels_and_stride():
    spec = spec_of("outputs: {channels: 8, stride: 2}\n")
    assert isinstance(spec.outputs, ShapePattern)
    # keys decide, not values: {channels, stride} is never read as a dict output
    assert errors_of(BASE + "outputs: {channels: [B, 8], stride: 2}\n") == ["s.yaml:11:21: error: expected an integer expression, got list ['B', 8]"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("outputs: {channels: 8}\n", "s.yaml:11:10: error: the shorthand is {channels: C, stride: S}, got keys channels"),
        ("outputs: {channels: 8, strides: 2}\n", "s.yaml:11:10: error: the shorthand is {channels: C, stride: S}, got keys channels, strides (a dict output maps each key to a shape, tuple, null or _)"),
        ("outputs: {boxes: [B, 4], scores: 3}\n", "s.yaml:11:34: error: expected a shape like [B, 64, H/2, W/2], got 3"),
    ],
)
def test_shorthand_and_dict_faults(extra, expected):
    assert errors_of(BASE + extra) == [expected]


# -- null and _ in tuples ----------------------------------------------------------------------


def test_null_and_anything_in_tuples():
    spec = spec_of("outputs: [[B, H, 16], null, _]\n")
    assert isinstance(spec.outputs, TuplePattern)
    assert [type(i) for i in spec.outputs.items] == [ShapePattern, NonePattern, AnyValue]
    assert str(spec.outputs) == "[[B, H, 16], null, _]"


def test_underscore_alone_is_still_a_dimension():
    spec = spec_of("outputs: [B, _]\n")
    assert isinstance(spec.outputs, ShapePattern) and len(spec.outputs.dims) == 2


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("outputs: [B, null]\n", "s.yaml:11:10: error: a shape mixes dimensions and nested shapes; write [[...], [...]] for a tuple output"),
        ("outputs: [[B], 3]\n", "s.yaml:11:10: error: a shape mixes dimensions and nested shapes; write [[...], [...]] for a tuple output"),
        ("outputs: [[B], {a: [B], b: [H, W, ..., ...]}]\n", "s.yaml:11:40: error: a shape may hold at most one '...'"),
    ],
)
def test_tuple_faults(extra, expected):
    assert errors_of(BASE + extra) == [expected]


# -- a shape per call --------------------------------------------------------------------------


def test_calls_give_a_shape_per_call():
    spec = spec_of("modules:\n  head: {calls: [[B, 6, H/8, W/8], [B, 6, H/16, W/16], [B, 6, H/32, W/32]]}\n")
    (head,) = spec.modules
    assert [str(p) for p in head.calls] == ["[B, 6, H/8, W/8]", "[B, 6, H/16, W/16]", "[B, 6, H/32, W/32]"]
    assert head.pattern == head.calls[0] and head.section == "modules"


def test_a_fault_in_one_call_points_at_it():
    assert errors_of(BASE + "modules:\n  s:\n    head:\n      calls:\n        - [B, 6, H/8]\n        - [B, 6, Q]\n") == [
        "s.yaml:16:11: error: unknown name 'Q'; expected one of: B, H, W"
    ]


# -- keyword and integer inputs ----------------------------------------------------------------

TOKENS = """\
archcheck: 1
name: tokens
model: {factory: "format_models:masked"}
inputs:
  tokens: {shape: [B, N], dtype: int64, low: 0, high: 1000}
  mask: {shape: [B, N], dtype: bool, keyword: true}
dims: {B: {values: [2]}, N: {values: [7, 9]}}
"""


def test_keyword_and_integer_inputs():
    spec = parse_spec(TOKENS, "t.yaml")
    assert [(i.name, i.dtype, i.keyword, i.low, i.high) for i in spec.inputs] == [("tokens", "int64", False, 0, 1000), ("mask", "bool", True, None, None)]
    assert input_plan(spec, spec.cases()[0]) == [
        PlannedInput("tokens", (2, 7), "int64", False, 0, 1000),
        PlannedInput("mask", (2, 7), "bool", True, 0, 2),
    ]
    assert input_plan(parse_spec(BASE, "s.yaml"), Case.of({"B": 1, "H": 64, "W": 64})) == [PlannedInput("x", (1, 3, 64, 64), "float32", False, None, None)]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("dtype: int64, low: 0, high: 1000", "dtype: float32, low: 0, high: 1000", "t.yaml:5:43: error: inputs.tokens.low: low and high bound integer inputs (int64, int32, uint8); tokens is float32"),
        ("low: 0, high: 1000", "low: 10, high: 10", "t.yaml:5:56: error: inputs.tokens: low 10 must be less than high 10 (values are drawn from [low, high))"),
        ("low: 0, high: 1000", "low: 0", "t.yaml:5:41: error: inputs.tokens: give both low and high (values are drawn from [low, high)), e.g. low: 0, high: 1000"),
        ("keyword: true", "keyword: yes please", "t.yaml:6:47: error: inputs.mask.keyword: input should be a valid boolean (got 'yes please')"),
        ("keyword: true", "by_name: true", "t.yaml:6:38: error: unknown key 'by_name' in inputs.mask; expected one of: shape, dtype, keyword, low, high"),
    ],
)
def test_input_faults(old, new, expected):
    assert old in TOKENS
    assert errors_of(TOKENS.replace(old, new).replace("s.yaml", "t.yaml")) == [expected.replace("t.yaml", "s.yaml")]


# -- constraints -------------------------------------------------------------------------------

SQUARE = BASE.replace("W: {values: [64]}", "W: {values: [64, 96]}")


def test_constraints_drop_cases():
    spec = spec_of("constraints:\n  - (H/32)*(W/32) <= 4\n  - H >= W\n", SQUARE)
    assert [str(c) for c in spec.constraints] == ["(H/32)*(W/32) <= 4", "H >= W"]
    assert spec.constraints[0].location.line == 12
    assert spec.cases() == [Case.of({"B": 1, "H": 64, "W": 64}), Case.of({"B": 2, "H": 64, "W": 64})]
    assert spec.admits(Case.of({"B": 1, "H": 96, "W": 96})) == "(H/32)*(W/32) <= 4 does not hold: (H/32)*(W/32) = 9 <= 4 is false (constraint at s.yaml:12:5)"
    assert spec.admits(Case.of({"B": 1, "H": 32, "W": 64})) == "H >= W does not hold: H = 32 >= W = 64 is false (constraint at s.yaml:13:5)"
    assert spec.constraints[1].holds({"H": 96, "W": 64})


def test_chained_and_fractional_constraints():
    spec = spec_of("constraints: ['4096 <= H*W <= 6144', 'H/W != 3/2']\n", SQUARE)
    assert sorted({(c.as_dict()["H"], c.as_dict()["W"]) for c in spec.cases()}) == [(64, 64), (64, 96)]


def test_a_case_given_outside_the_constraints_says_so():
    spec = spec_of("constraints: [H <= W]\n", SQUARE)
    with pytest.raises(UsageError) as error:
        spec.cases({"H": 96, "W": 64})
    assert str(error.value) == "error: --case H=96, W=64: no case meets the spec's constraints; at B=1, H=96, W=64: H <= W does not hold: H = 96 <= W = 64 is false (constraint at s.yaml:11:15)"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("constraints: ['H*W']\n", ["s.yaml:11:15: error: a constraint compares two expressions with < <= == != >= or >, e.g. \"H*W <= 4096\"; got 'H*W'"]),
        ("constraints: ['H <= os.system(1)']\n", ["s.yaml:11:21: error: os.system(...) is not allowed in an expression; use integers, dimension names, + - * / // %, parentheses, ceil, floor, min and max"]),
        ("constraints: [H in W]\n", ["s.yaml:11:20: error: 'in' is not a comparison a constraint allows; use < <= == != >= >"]),
        ("constraints: [H <= V]\n", ["s.yaml:11:15: error: unknown name 'V'; expected one of: B, H, W"]),
        ("constraints: [H < 0]\n", ["s.yaml:11:1: error: no case of the dims' values meets the constraints; at B=1, H=64, W=64: H < 0 does not hold: H = 64 < 0 is false (constraint at s.yaml:11:15)"]),
        ("constraints: H < 0\n", ["s.yaml:11:14: error: constraints: input should be a valid list (got 'H < 0')"]),
    ],
)
def test_constraint_faults(extra, expected):
    assert errors_of(BASE + extra) == expected


# -- numbers as printed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value", "slack"),
    [
        (64363101, 64363101, 0.5),
        ("64363101", 64363101, 0.5),
        ("145.031M", 145.031e6, 500),
        ("64.36M", 64.36e6, 5000),
        ("30G", 30e9, 0.5e9),
        ("1.2e9", 1.2e9, 0.05e9),
        (1.5, 1.5, 0.05),
    ],
)
def test_written_precision(written, value, slack):
    got_value, got_slack = parse_written_quantity(written)
    assert got_value == pytest.approx(value) and got_slack == pytest.approx(slack)


def test_params_take_suffixes_and_a_tolerance():
    spec = spec_of("params: {total: 64.36M, trainable: 64363101, modules: {stem: 1.5K}, tolerance: 1%}\n")
    assert spec.params.total.value == pytest.approx(64.36e6) and spec.params.total.slack == pytest.approx(5000)
    assert spec.params.trainable.value == 64363101 and spec.params.modules[0].value == 1500
    assert spec.params.tolerance == pytest.approx(0.01)
    assert spec_of("params: {total: 1}\n").params.tolerance is None
    assert spec_of("flops: {case: {B: 1, H: 64, W: 64}, total: 1G}\n").flops.tolerance is None


def test_params_faults():
    assert errors_of(BASE + "params: {total: lots, tolerance: -1%}\n") == [
        "s.yaml:11:17: error: 'lots' is not a number; write e.g. 64363101, 30.05G or 1.2e9",
        "s.yaml:11:34: error: tolerance '-1%' is negative",
    ]


# -- faults reported once, at their place ------------------------------------------------------


def test_a_bad_define_is_reported_once_not_at_every_use():
    text = BASE + "define:\n  A: 3 * (5 +\n  C: A * 2\nmodules:\n  stem: [B, A, H, W]\n  out: [B, C]\nconstraints: [A < 300]\n"
    assert errors_of(text) == ["s.yaml:12:10: error: cannot parse expression '3 * (5 +': '(' was never closed"]


def test_a_failed_range_does_not_cascade():
    text = BASE.replace("range: [32, 1024]", "range: [1024, 32]") + "define: {S: H/8}\nmodules:\n  stem: [B, 3, H, W]\nflops: {case: {B: 1, H: 64, W: 64}, total: 1G}\n"
    assert errors_of(text) == ["s.yaml:9:14: error: dims.H.range: 1024 is larger than 32"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("modules:\n  s: !!python/object/apply:os.system [ls]\n", "s.yaml:12:6: error: YAML tags are not allowed (got !!python/object/apply:os.system); a spec is plain data"),
        ("define: {A: !!str 3}\n", "s.yaml:11:13: error: YAML tags are not allowed (got !!str); a spec is plain data"),
        ("define: {A: !custom 3}\n", "s.yaml:11:13: error: YAML tags are not allowed (got !custom); a spec is plain data"),
    ],
)
def test_yaml_tags_are_refused_at_their_place(extra, expected):
    assert errors_of(BASE + extra) == [expected]
