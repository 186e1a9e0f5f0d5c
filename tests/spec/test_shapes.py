import pytest

from archcheck.spec.expr import ExprError, parse_expr
from archcheck.spec.shapes import (
    AnyDims,
    AnySize,
    OtherValue,
    ShapePattern,
    TensorInfo,
    TuplePattern,
    expected_text,
    match,
)

ENV = {"B": 2, "H": 416, "W": 608}


def shape(*dims):
    return ShapePattern(tuple(d if isinstance(d, (AnySize, AnyDims)) else parse_expr(d) for d in dims))


def tensor(*sizes):
    return TensorInfo(tuple(sizes), "float32")


def test_exact_match():
    assert match(shape("B", 256, "H/8", "W/8"), tensor(2, 256, 52, 76), ENV) == ""


def test_every_wrong_dim_is_named():
    reason = match(shape("B", 256, "H/8", "W/8"), tensor(2, 255, 52, 38), ENV)
    assert reason == "dim 1 is 255, expected 256; dim 3 is 38, expected W/8 = 76"


def test_rank_mismatch():
    assert match(shape("B", 3), tensor(2, 3, 4), ENV) == "rank 3 != expected rank 2"


def test_wildcards():
    assert match(shape("B", AnySize(), "H"), tensor(2, 99, 416), ENV) == ""
    assert match(shape("B", AnyDims()), tensor(2, 5, 6, 7), ENV) == ""
    assert match(shape(AnyDims(), "W"), tensor(608), ENV) == ""
    assert match(shape("B", AnyDims(), "W"), tensor(2, 1, 1, 607), ENV) == "dim 0 is 607, expected W = 608"
    assert match(shape("B", AnyDims(), "H", "W"), tensor(2, 416), ENV) == "rank 2 is less than the 3 fixed dims"


def test_tuple_outputs():
    pattern = TuplePattern((shape("B", 255, "H/32"), shape("B", 255, "H/16")))
    assert match(pattern, (tensor(2, 255, 13), tensor(2, 255, 26)), ENV) == ""
    assert match(pattern, (tensor(2, 255, 13),), ENV) == "expected 2 outputs, got 1"
    assert match(pattern, (tensor(2, 255, 13), tensor(2, 255, 52)), ENV) == "output 1: dim 2 is 52, expected H/16 = 26"
    assert match(pattern, tensor(2, 255, 13), ENV) == "expected a tuple of 2 tensors, got [2, 255, 13]"
    assert match(shape("B"), OtherValue("NoneType"), ENV) == "expected a tensor, got NoneType"


def test_a_spec_with_no_value_at_the_case_raises():
    with pytest.raises(ExprError, match="not a whole number"):
        match(shape("H/8"), tensor(52), {"H": 415})


def test_expected_text_shows_the_values():
    assert expected_text(shape("B", 256, "H/8"), ENV) == "[B, 256, H/8] = [2, 256, 52]"
    assert expected_text(shape(1, 2), ENV) == "[1, 2]"
    assert expected_text(TuplePattern((shape("B"), shape(AnySize()))), ENV) == "[[B], [_]] = [[2], [_]]"
