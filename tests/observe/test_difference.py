"""Parity arithmetic: equal bits answer at once, anything else element by element in chunks, with the same result."""

from __future__ import annotations

import math

import torch

from archcheck.observe.difference import CHUNK, compare


def test_equal_tensors_are_equal_whatever_their_size():
    big = torch.randn(3 * CHUNK + 5)
    found = compare(big, big.clone(), rtol=1e-4, atol=1e-5)
    assert (found.ok, found.worst_abs, found.beyond, found.total) == (True, 0.0, 0, 3 * CHUNK + 5)


def test_differences_across_chunk_boundaries_are_all_counted():
    reference = torch.ones(3 * CHUNK + 5, dtype=torch.float32)
    actual = reference.clone()
    where = [0, CHUNK - 1, CHUNK, 2 * CHUNK + 1, 3 * CHUNK + 4]  # first, last of a chunk, first of the next, the tail
    for n, index in enumerate(where):
        actual[index] += 0.5 * (n + 1)
    found = compare(reference, actual, rtol=1e-4, atol=1e-5)
    assert (found.beyond, found.total) == (5, 3 * CHUNK + 5)
    assert found.worst_abs == 2.5 and found.worst_rel == 2.5
    assert math.isclose(found.worst_share, 2.5 / (1e-5 + 1e-4))


def test_nan_and_inf_in_the_same_place_agree_and_elsewhere_do_not():
    reference = torch.tensor([1.0, math.nan, math.inf, 2.0])
    assert compare(reference, reference.clone(), 1e-4, 1e-5).ok  # NaN != NaN: not equal bits, compared element by element
    found = compare(reference, torch.tensor([1.0, 0.0, math.inf, -math.inf]), 1e-4, 1e-5)
    assert (found.beyond, found.worst_abs) == (2, math.inf)


def test_values_within_tolerance_pass_with_their_worst_difference():
    reference = torch.full((CHUNK + 1,), 100.0)
    actual = reference.clone()
    actual[-1] = 100.005  # 5e-3 <= 1e-5 + 1e-4 * 100
    found = compare(reference, actual, rtol=1e-4, atol=1e-5)
    assert found.ok and found.beyond == 0
    assert math.isclose(found.worst_abs, float(torch.tensor(100.005) - 100.0))


def test_fingerprints_are_equal_exactly_when_the_bits_are():
    from archcheck.observe.difference import fingerprint

    value = (torch.randn(3, 4), [torch.ones(2, dtype=torch.bool)], {"n": 3})
    same = (value[0].clone(), [value[1][0].clone()], {"n": 3})
    assert fingerprint(value) == fingerprint(same) and fingerprint(value).numel == 15  # 12 + 2 elements and one value, as compare counts
    nudged = value[0].clone()
    nudged.view(torch.int32)[1, 2] ^= 1  # one bit of one float
    assert fingerprint((nudged, *value[1:])) != fingerprint(value)
    assert fingerprint(value[0].t().contiguous().t()) == fingerprint(value[0])  # layout is not content
    assert fingerprint(value[0].reshape(4, 3)) != fingerprint(value[0])  # shape is
    assert fingerprint((value[0], {"n": 4})) != fingerprint((value[0], {"n": 3}))
