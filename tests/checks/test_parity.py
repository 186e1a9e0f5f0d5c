"""Rule parity: the comparison, on tensors; parity of real devices end to end is in test_devices/test_distributed."""

from __future__ import annotations

import math

import pytest
import torch

from archcheck.checks.parity import Difference, compare


def test_identical_outputs_hold_with_zero_difference():
    x = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0))
    found = compare(x, x.clone(), rtol=1e-4, atol=1e-5)
    assert found == Difference(0.0, 0.0, 0.0, 0, 24)
    assert found.ok
    assert str(found) == "max abs diff 0, max rel diff 0, 0% of the tolerance"


def test_worst_absolute_and_relative_difference():
    reference = torch.tensor([1.0, -2.0, 0.0, 100.0])
    actual = torch.tensor([1.0, -2.001, 3e-6, 100.0])
    found = compare(reference, actual, rtol=1e-4, atol=1e-5)
    assert found.beyond == 1  # -2.001: |0.001| > 1e-5 + 1e-4 * 2; 3e-6 next to 0 is within atol
    assert found.total == 4
    assert found.worst_abs == pytest.approx(0.001, rel=1e-3)
    assert found.worst_rel == pytest.approx(0.0005, rel=1e-3)  # |reference| <= atol is left out of the relative difference
    assert found.worst_share == pytest.approx(0.001 / 2.1e-4, rel=1e-3)
    assert not found.ok
    assert str(found) == "max abs diff 0.001, max rel diff 0.0005, 476% of the tolerance"


def test_tolerance_is_allclose():
    reference = torch.linspace(-3, 3, 101, dtype=torch.float32)
    actual = reference + 1e-5 + 1e-4 * reference.abs() * 0.99
    assert compare(reference, actual, rtol=1e-4, atol=1e-5).beyond == 0
    assert compare(reference, actual, rtol=1e-5, atol=1e-6).beyond == 101
    assert torch.allclose(actual, reference, rtol=1e-4, atol=1e-5)


def test_nested_outputs_merge_their_worst():
    a, b = torch.ones(2, 2), torch.zeros(3)
    found = compare((a, [b]), (a + 0.5, [b]), rtol=0, atol=0.1)
    assert (found.beyond, found.total, found.worst_abs) == (4, 7, 0.5)


def test_shapes_dtypes_and_structure_that_cannot_be_compared():
    x = torch.zeros(2, 3)
    assert compare(x, torch.zeros(3, 2), 1e-4, 1e-5).reason == "shape [3, 2] != reference [2, 3]"
    assert compare(x, x.double(), 1e-4, 1e-5).reason == "dtype torch.float64 != reference torch.float32"
    assert compare((x, x), (x,), 1e-4, 1e-5).reason == "expected 2 values, got 1"
    assert compare((x, x), (x, 1), 1e-4, 1e-5).reason == "item 1: expected a tensor, got int"


def test_nan_in_the_same_place_is_equal_nan_against_a_number_is_not():
    reference = torch.tensor([math.nan, 1.0])
    assert compare(reference, torch.tensor([math.nan, 1.0]), 1e-4, 1e-5).ok
    found = compare(reference, torch.tensor([0.0, 1.0]), 1e-4, 1e-5)
    assert (found.beyond, found.worst_abs) == (1, math.inf)


def test_integer_outputs_are_compared_exactly():
    reference = torch.tensor([1, 2, 3])
    assert compare(reference, reference.clone(), 1e-4, 1e-5).ok
    assert compare(reference, torch.tensor([1, 2, 4]), 1e-4, 1e-5).beyond == 1


def test_infinities_agree_only_with_the_same_infinity():
    reference = torch.tensor([math.inf, -math.inf])
    assert compare(reference, reference.clone(), 1e-4, 1e-5).ok
    assert compare(reference, torch.tensor([1e30, -math.inf]), 1e-4, 1e-5).beyond == 1
