"""A spec is data: each hostile or absurd spec ends in one clear error, fast."""

import os
import time
from contextlib import contextmanager

import pytest

from archcheck.errors import SpecError
from archcheck.spec import load_spec, parse_spec
from archcheck.spec.expr import ExprError, parse_expr
from archcheck.spec.limits import MAX_CASES, check_case_count, count_cases
from archcheck.spec.records import Dim
from archcheck.spec.yamlpos import load_yaml

SPEC = """\
archcheck: 1
name: t
model: {{factory: "toy:two_scale"}}
inputs: {{x: [B, 3, H, W]}}
dims:
  B: {B}
  H: {{values: [8]}}
  W: {{values: [8]}}
"""


@contextmanager
def fast(seconds: float = 1.0):
    started = time.perf_counter()
    yield
    assert time.perf_counter() - started < seconds


def yaml_error(text: str) -> str:
    with fast(), pytest.raises(SpecError) as error:
        load_yaml(text, "f.yaml")
    return str(error.value)


# -- YAML ----------------------------------------------------------------------


def test_billion_laughs_stops_at_the_alias_that_crosses_the_limit():
    text = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    text += "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 15))
    assert yaml_error(text) == "f.yaml:5:15: error: alias *a3 makes the spec hold more than 20,000 values once aliases are expanded"


def test_many_plain_values_are_limited_too():
    assert yaml_error("a: [" + "1, " * 20_001 + "1]\n") == "f.yaml:1:59996: error: the spec holds more than 20,000 values once aliases are expanded"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x: " + "[" * 500 + "]" * 500 + "\n", "f.yaml:1:103: error: lists and mappings nest more than 100 levels deep here"),
        ("".join("  " * i + f"k{i}:\n" for i in range(300)), "f.yaml:100:199: error: lists and mappings nest more than 100 levels deep here"),
        (
            "a: &a " + "[" * 90 + "1" + "]" * 90 + "\nb: " + "[" * 20 + "*a" + "]" * 20 + "\n",
            "f.yaml:2:24: error: alias *a nests lists and mappings more than 100 levels deep",
        ),
    ],
    ids=["flow", "block", "through-an-alias"],
)
def test_deep_nesting_is_refused_not_a_recursion_error(text, message):
    assert yaml_error(text) == message


def test_an_alias_inside_its_own_anchor_is_refused():
    assert yaml_error("a: &a [1, *a]\n") == "f.yaml:1:11: error: alias *a is inside the value it names; that value would never end"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: !foo 3\n", "f.yaml:2:4: error: YAML tags are not allowed (found !foo); a spec is plain data"),
        (
            "a: !!python/object/apply:os.system ['touch /tmp/archcheck-pwned']\n",
            "f.yaml:1:4: error: YAML tags are not allowed (found !!python/object/apply:os.system); a spec is plain data",
        ),
        ("a: [1, !!binary aGk=]\n", "f.yaml:1:8: error: YAML tags are not allowed (found !!binary); a spec is plain data"),
        ("a: !!set {x}\n", "f.yaml:1:4: error: YAML tags are not allowed (found !!set); a spec is plain data"),
    ],
)
def test_yaml_tags_are_refused(text, message):
    assert yaml_error(text) == message
    assert not os.path.exists("/tmp/archcheck-pwned")


def test_plain_core_tags_are_values():
    assert load_yaml("a: !!str 3\nb: !!int '4'\nc: ! x\n", "f").data == {"a": "3", "b": 4, "c": "x"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!int x\n", "f.yaml:1:4: error: invalid YAML value 'x': invalid literal for int() with base 10: 'x'"),
        ("a: 2020-13-45\n", "f.yaml:1:4: error: invalid YAML value '2020-13-45': month must be in 1..12"),
    ],
)
def test_a_scalar_its_type_cannot_read_is_an_error_not_a_traceback(text, message):
    assert yaml_error(text) == message


def test_a_merge_key_can_be_overridden():
    document = load_yaml("d: &d {values: [1], range: [1, 9]}\nH: {<<: *d, values: [8]}\n", "f.yaml")
    assert document.data["H"] == {"values": [8], "range": [1, 9]}
    assert str(document.positions[("H", "values")]) == "f.yaml:2:21"


def test_the_first_of_several_merged_mappings_wins_as_yaml_says():
    assert load_yaml("a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc: {<<: [*a, *b]}\n", "f").data["c"] == {"x": 1, "y": 2}


def test_explicit_duplicates_beside_a_merge_are_still_errors():
    text = "d: &d {values: [1]}\nH: {<<: *d, values: [8], values: [9]}\n"
    assert yaml_error(text) == "f.yaml:2:26: error: duplicate key 'values' (first at line 2); YAML would silently keep the last one"


def test_merging_a_scalar_is_an_error():
    assert yaml_error("H: {<<: 5}\n") == "f.yaml:1:9: error: invalid YAML: expected a mapping or list of mappings for merging, but found scalar"


def test_a_merged_spec_loads():
    text = SPEC.format(B="{values: [1]}").replace("  H: {values: [8]}\n  W: {values: [8]}\n", "  H: &side {values: [8], range: [8, 64]}\n  W: {<<: *side, values: [16]}\n")
    spec = parse_spec(text, "s.yaml")
    assert [(d.name, d.values, d.range) for d in spec.dims] == [("B", (1,), None), ("H", (8,), (8, 64)), ("W", (16,), (8, 64))]


# -- the spec file ---------------------------------------------------------------


def spec_file_error(path) -> str:
    with fast(), pytest.raises(SpecError) as error:
        load_spec(path)
    return str(error.value)


def test_dev_zero_is_refused_without_reading_it():
    assert spec_file_error("/dev/zero") == "error: /dev/zero: is not a regular file (a device, pipe or socket); a spec is a YAML file"


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    assert spec_file_error(fifo) == f"error: {fifo}: is not a regular file (a device, pipe or socket); a spec is a YAML file"


def test_a_directory_is_refused(tmp_path):
    assert spec_file_error(tmp_path) == f"error: {tmp_path}: is a directory, not a spec file"


def test_a_file_over_one_mebibyte_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * (1 << 20) + "\n")
    assert spec_file_error(path) == f"error: {path}: the file is larger than 1,048,576 bytes, the most a spec may be"


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    assert spec_file_error(path) == f"error: {path}: cannot read the spec: it is not UTF-8 text (byte 9)"


# -- expressions ------------------------------------------------------------------


def test_forty_squaring_defines_stop_at_the_first_too_large_value():
    defines = "".join(f"  D{i}: D{i - 1} * D{i - 1}\n" for i in range(1, 41))
    spec = parse_spec(SPEC.format(B="{values: [2]}") + "define:\n  D0: B * 1000\n" + defines, "s.yaml")
    with fast(), pytest.raises(ExprError) as error:
        spec.env(spec.cases()[0])
    assert str(error.value) == "D2 * D2 is too large (about 2**87): values in expressions must stay below 2**64"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1+" * 100 + "1", "the expression has 301 terms and operators; the limit is 200: use a define"),
        ("B" * 1001, "the expression is 1,001 characters long; the limit is 1,000"),
        (str(2**64), "18446744073709551616 is too large (about 2**64): values in expressions must stay below 2**64"),
        (10**100, "a 101-digit number is too large (about 2**332): values in expressions must stay below 2**64"),
        ("-" * 999 + "1", "the expression has 1999 terms and operators; the limit is 200: use a define"),
    ],
)
def test_expressions_are_bounded(text, message):
    with fast(), pytest.raises(ExprError) as error:
        parse_expr(text)
    assert str(error.value) == message


def test_the_largest_allowed_number_is_fine():
    assert parse_expr(str(2**64 - 1)).evaluate({}) == 2**64 - 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2**64", "'2 ** 64' is not allowed in an expression"),
        ("__import__('os')", "__import__(...) is not allowed in an expression"),
        ("os.system('ls')", "os.system(...) is not allowed in an expression"),
        ("pow(2, 64)", "pow(...) is not allowed in an expression"),
        ("(lambda: 1)()", "lambda: 1(...) is not allowed in an expression"),
        ("B.__class__", "'B.__class__' is not allowed in an expression"),
    ],
)
def test_powers_calls_and_attributes_were_already_refused(text, message):
    with pytest.raises(ExprError, match="^" + message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*").replace(".", r"\.")):
        parse_expr(text)


# -- dims ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dim", "message"),
    [
        (f"{{values: [{10**100}]}}", "s.yaml:6:16: error: dims.B.values: a 101-digit number is too large; a dim stays within ±2,147,483,647"),
        (f"{{range: [1, {10**100}]}}", "s.yaml:6:18: error: dims.B.range: a 101-digit number is too large; a dim stays within ±2,147,483,647"),
        (f"{{values: [1], multiple_of: {2**40}}}", "s.yaml:6:33: error: dims.B.multiple_of: 1099511627776 is too large; a dim stays within ±2,147,483,647"),
        ("{values: [-1]}", "s.yaml:6:16: error: dims.B.values: B=-1 is a size of input x, so it must be at least 1"),
        ("{values: [0]}", "s.yaml:6:16: error: dims.B.values: B=0 is a size of input x, so it must be at least 1"),
        ("{range: [0, 8]}", "s.yaml:6:15: error: dims.B.range starts at 0, but B is a size of input x: start it at 1 or more"),
    ],
)
def test_dims_that_no_tensor_can_have_are_refused(dim, message):
    uses = "modules:\n  all:\n    stem: [B, 8, H, W]\nflops: {case: {B: 1, H: 8, W: 8}}\n"  # no follow-on "unknown name B"
    with fast(), pytest.raises(SpecError) as error:
        parse_spec(SPEC.format(B=dim) + uses, "s.yaml")
    assert str(error.value) == message


def test_a_dim_that_is_no_size_may_be_negative():
    text = SPEC.format(B="{values: [1]}").replace("[B, 3, H, W]", "[B, 3, H + K, W]") + "  K: {values: [-2]}\n"
    assert parse_spec(text, "s.yaml").dim("K").values == (-2,)


# -- case count --------------------------------------------------------------------------


def test_cases_are_counted_without_being_built():
    dims = [Dim(n, tuple(range(1, 1001))) for n in "BHW"]
    with fast():
        assert count_cases(dims) == 1_000_000_000
        assert count_cases(dims, {"B": 1, "H": 2}) == 1000


def test_too_many_cases_is_a_spec_error():
    with pytest.raises(SpecError) as error:
        check_case_count(1_000_000_000, MAX_CASES, None, (1000, 1000, 1000))
    assert str(error.value) == (
        "error: the spec's dims make 1,000,000,000 cases (1000 x 1000 x 1000); the limit is 10,000: use fewer values or raise it with --max-cases"
    )
    check_case_count(MAX_CASES)
