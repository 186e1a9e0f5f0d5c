"""Specs made from a command line: FACTORY --input ... --kwargs ..."""

from __future__ import annotations

import pytest

from archcheck.errors import ModelError, UsageError
from archcheck.model import build
from archcheck.spec.adhoc import adhoc_spec, is_factory, parse_input, parse_kwargs


def test_inputs_positional_named_and_typed():
    assert parse_input("1,3,224,224", 0) == ("x", [1, 3, 224, 224], "float32", False)
    assert parse_input("[1, 3, 224, 224]", 1) == ("x2", [1, 3, 224, 224], "float32", False)
    assert parse_input("x=[B,3,H,W]", 0) == ("x", ["B", 3, "H", "W"], "float32", True)
    assert parse_input("tokens=2,16:int64", 0) == ("tokens", [2, 16], "int64", True)


@pytest.mark.parametrize("text", ["", "1,,x-1", "x=", "1;3"])
def test_bad_inputs_are_usage_errors(text):
    with pytest.raises(UsageError, match=r"expected sizes or dim names separated by commas, e.g. 1,3,224,224 or x=\[B,3,H,W\]$"):
        parse_input(text, 0)


def test_kwargs_are_yaml_values_only():
    assert parse_kwargs(["num_classes=80", "widths=[8,16],name=tiny"]) == {"num_classes": 80, "widths": [8, 16], "name": "tiny"}
    with pytest.raises(UsageError, match=r"^error: --kwargs takes NAME=VALUE pairs, e.g. num_classes=80; got 'eighty'$"):
        parse_kwargs(["eighty"])


def test_a_factory_spec_builds_and_obeys_the_trust_model():
    spec = adhoc_spec("toy:two_scale", ["1,3,16,16"], {"width": 4})
    assert [c.as_dict() for c in spec.cases()] == [{}]
    assert build(spec, "meta").stem.out_channels == 4
    with pytest.raises(ModelError, match="the standard library"):
        build(adhoc_spec("os:system", ["1,3,16,16"]), "meta")


def test_symbolic_inputs_need_their_dims():
    spec = adhoc_spec("toy:two_scale", ["x=[B,3,H,W]"], dims={"B": [1], "H": [16, 32], "W": [16]})
    assert [c.as_dict()["H"] for c in spec.cases()] == [16, 32] and spec.inputs[0].keyword
    with pytest.raises(UsageError, match=r"^error: --input uses B, H, W: give them a value with --case, e.g. --case B=224,H=224,W=224$"):
        adhoc_spec("toy:two_scale", ["x=[B,3,H,W]"])


def test_factories_and_spec_paths_are_told_apart(tmp_path):
    assert is_factory("archcheck.zoo.yolov4:yolov4") and not is_factory("specs/yolov4.yaml")
    assert not is_factory(tmp_path)
