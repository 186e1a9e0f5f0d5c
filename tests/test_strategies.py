"""archcheck.strategies: cases drawn from a spec's dims stay inside its claimed domain."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archcheck.errors import UsageError
from archcheck.spec import Case, load_spec
from archcheck.strategies import cases, dim_values, inputs

ROOT = Path(__file__).resolve().parents[1]
YOLO = load_spec(ROOT / "specs/yolov4.yaml")


@settings(max_examples=50, deadline=None)
@given(cases(YOLO))
def test_cases_respect_range_multiple_of_and_values(case: Case) -> None:
    values = case.as_dict()
    assert list(values) == ["B", "H", "W"]
    assert values["B"] in (1, 2)
    for name in ("H", "W"):
        assert 32 <= values[name] <= 1024 and values[name] % 32 == 0


@settings(max_examples=10, deadline=None)
@given(cases(YOLO, B=2, H=608))
def test_fixed_dims_are_pinned(case: Case) -> None:
    assert case.as_dict()["B"] == 2 and case.as_dict()["H"] == 608


def test_range_shrinks_to_the_smallest_size_on_the_grid() -> None:
    from hypothesis import find

    assert find(dim_values(YOLO.dim("H")), lambda h: h > 100) == 128
    assert find(dim_values(YOLO.dim("B")), lambda b: True) == 1


def test_every_grid_point_can_be_drawn(tmp_path: Path) -> None:
    spec_path = tmp_path / "s.yaml"
    spec_path.write_text((ROOT / "specs/yolov4.yaml").read_text().replace("H: {range: [32, 1024], multiple_of: 32, values: [416, 608]}", "H: {range: [30, 100], multiple_of: 20, values: [40]}"))
    spec = load_spec(spec_path)
    seen = set()

    @settings(max_examples=100, deadline=None, database=None)
    @given(dim_values(spec.dim("H")))
    def collect(h: int) -> None:
        seen.add(h)

    collect()
    assert seen == {40, 60, 80, 100}


@settings(max_examples=5, deadline=None)
@given(inputs(YOLO, B=1))
def test_inputs_are_meta_tensors_of_the_case(pair) -> None:
    case, (x,) = pair
    assert x.is_meta and tuple(x.shape) == (1, 3, case.as_dict()["H"], case.as_dict()["W"])


def test_unknown_fixed_dim_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as info:
        cases(YOLO, C=3)
    assert str(info.value) == "error: cases() got C, which the spec yolov4 does not have; its dims are B, H, W"


@settings(max_examples=25, deadline=None)
@given(st.tuples(cases(YOLO, B=1), st.integers(1, 4)))
def test_strategies_compose_with_users_own(drawn: tuple[Case, int]) -> None:
    case, scale = drawn
    values = case.as_dict()
    assert values["B"] == 1 and values["H"] % 32 == 0 and 1 <= scale <= 4
    assert (values["H"] * scale) % 32 == 0
