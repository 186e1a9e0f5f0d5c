"""Dict outputs, null and ``_`` inside tuples: matching and the text shown for them."""

import torch

from archcheck.observe.trace import summarize
from archcheck.spec.expr import parse_expr
from archcheck.spec.shapes import (
    AnyValue,
    DictPattern,
    DictValue,
    NonePattern,
    OtherValue,
    ShapePattern,
    TensorInfo,
    TuplePattern,
    expected_text,
    format_value,
    match,
)

ENV = {"B": 2, "L": 7, "E": 16}


def shape(*dims):
    return ShapePattern(tuple(parse_expr(d) for d in dims))


def tensor(*sizes):
    return TensorInfo(tuple(sizes), "float32")


DETECTIONS = DictPattern((("boxes", shape("B", 100, 4)), ("scores", shape("B", 100))))


def test_dict_outputs_match_key_by_key():
    assert match(DETECTIONS, DictValue((("scores", tensor(2, 100)), ("boxes", tensor(2, 100, 4)))), ENV) == ""


def test_missing_and_extra_keys_are_named():
    got = DictValue((("boxes", tensor(2, 100, 4)), ("labels", tensor(2, 100))))
    assert match(DETECTIONS, got, ENV) == "missing key scores; unexpected key labels"


def test_a_wrong_value_names_its_key():
    got = DictValue((("boxes", tensor(2, 100, 5)), ("scores", tensor(2, 100))))
    assert match(DETECTIONS, got, ENV) == "output 'boxes': dim 2 is 5, expected 4"


def test_a_dict_is_not_a_tensor_nor_a_tuple():
    assert match(DETECTIONS, tensor(2, 100, 4), ENV) == "expected a dict with keys boxes, scores, got [2, 100, 4]"
    assert match(shape("B"), DictValue((("a", tensor(2)),)), ENV) == "expected a tensor, got {a: [2]}"


def test_null_is_exactly_none():
    pattern = TuplePattern((shape("B", "L", "E"), NonePattern()))
    assert match(pattern, (tensor(2, 7, 16), OtherValue("NoneType")), ENV) == ""
    assert match(pattern, (tensor(2, 7, 16), tensor(2, 7, 7)), ENV) == "output 1: expected None, got [2, 7, 7]"
    assert match(pattern, (tensor(2, 7, 16), OtherValue("int")), ENV) == "output 1: expected None, got int"


def test_underscore_is_anything():
    pattern = TuplePattern((shape("B", "L", "E"), AnyValue()))
    for other in (OtherValue("NoneType"), tensor(1), (tensor(1), tensor(2)), DictValue(())):
        assert match(pattern, (tensor(2, 7, 16), other), ENV) == ""


def test_text_of_dicts_and_wildcards():
    assert expected_text(DETECTIONS, ENV) == "{boxes: [B, 100, 4], scores: [B, 100]} = {boxes: [2, 100, 4], scores: [2, 100]}"
    assert expected_text(TuplePattern((shape("B"), NonePattern(), AnyValue())), ENV) == "[[B], null, _] = [[2], null, _]"
    assert format_value(DictValue((("a", tensor(1, 2)), ("b", (tensor(3), OtherValue("NoneType")))))) == "{a: [1, 2], b: [[3], NoneType]}"


def test_summarize_gives_dict_values_and_none():
    value = summarize({"boxes": torch.zeros(1, 4), "extra": (torch.zeros(2), None)})
    assert value == DictValue((("boxes", TensorInfo((1, 4), "float32")), ("extra", (TensorInfo((2,), "float32"), OtherValue("NoneType")))))
