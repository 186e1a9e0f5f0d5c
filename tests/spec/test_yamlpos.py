import pytest

from archcheck.errors import Location, SpecError
from archcheck.spec.yamlpos import load_yaml


def test_positions_of_values_and_keys():
    document = load_yaml("a:\n  b: [1, H/8]\n", "f.yaml")
    assert document.data == {"a": {"b": [1, "H/8"]}}
    assert document.positions[("a", "b", 1)] == Location("f.yaml", 2, 10)
    assert document.key_positions[("a", "b")] == Location("f.yaml", 2, 3)
    assert document.locate(("a", "b", 7, "x")) == Location("f.yaml", 2, 6)


def test_duplicate_keys_are_errors_not_silently_overwritten():
    with pytest.raises(SpecError) as error:
        load_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert str(error.value) == "f.yaml:3:1: error: duplicate key 'a' (first at line 1); YAML would silently keep the last one"


def test_every_duplicate_is_reported():
    with pytest.raises(SpecError) as error:
        load_yaml("a: {x: 1, x: 2}\nb: 1\nb: 2\n", "f.yaml")
    assert [d.location.line for d in error.value.diagnostics] == [1, 3]


def test_invalid_yaml_points_at_the_fault():
    with pytest.raises(SpecError) as error:
        load_yaml("a: [1,\nb: 2\n", "f.yaml")
    assert str(error.value) == "f.yaml:3:1: error: invalid YAML: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence at line 1)"


def test_empty_file():
    with pytest.raises(SpecError, match=r"^f.yaml:1:1: error: the spec file is empty$"):
        load_yaml("# nothing\n", "f.yaml")


def test_ellipsis_and_underscore_stay_strings():
    assert load_yaml("s: [B, ..., _]\n", "f").data == {"s": ["B", "...", "_"]}
