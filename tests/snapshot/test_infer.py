"""The formula fitting, on plain tables: each family, the order of preference, and what fits nothing."""

from __future__ import annotations

from fractions import Fraction

import pytest

from archcheck.snapshot.infer import Formula, Term, fit, key, whole_on


def column(function, sizes, dim="H", **held):
    base = {**held, dim: sizes[0]}
    return {key({**held, dim: s}): function(s) for s in sizes}, base


EVERY = list(range(1, 70))
MULTIPLES_OF_32 = [32, 64, 96, 128, 416, 608, 1024]


@pytest.mark.parametrize(
    "function, sizes, expected",
    [
        (lambda h: 256, EVERY, "256"),
        (lambda h: h, EVERY, "H"),
        (lambda h: 2 * h, EVERY, "2*H"),
        (lambda h: h // 8, MULTIPLES_OF_32, "H/8"),  # exact on the domain: the simplest form wins
        (lambda h: -(-h // 8), EVERY, "ceil(H/8)"),
        (lambda h: h // 2, EVERY, "floor(H/2)"),
        (lambda h: (h + 31) // 32, EVERY, "ceil(H/32)"),
        (lambda h: (h + 2 * 1 - 1 * (3 - 1) - 1) // 2 + 1, EVERY, "ceil(H/2)"),  # conv k=3 s=2 p=1
        (lambda h: (h - 3) // 2 + 1, list(range(3, 70)), "ceil(H/2) - 1"),  # conv k=3 s=2 p=0
        (lambda h: (h + 2) // 4, EVERY, "floor((H - 2)/4) + 1"),  # the same sizes as floor((H + 2)/4)
        (lambda h: h + 1, EVERY, "H + 1"),  # a class token
    ],
)
def test_one_dim(function, sizes, expected):
    table, base = column(function, sizes, B=1, W=416)
    assert str(fit(table, base)) == expected


def test_a_product_of_two_dims_plus_a_class_token():
    sizes = [16, 32, 48, 64, 416]
    table = {}
    for h in sizes:
        table[key({"B": 1, "H": h, "W": 32})] = h * 32 // 256 + 1
        table[key({"B": 1, "H": 32, "W": h})] = 32 * h // 256 + 1
    table[key({"B": 2, "H": 64, "W": 416})] = 64 * 416 // 256 + 1  # held out: both dims moved
    assert str(fit(table, {"B": 1, "H": 32, "W": 32})) == "H*W/256 + 1"


def test_a_product_that_the_held_out_case_refutes():
    table = {key({"H": h, "W": 8}): h + 8 for h in (8, 16, 24, 32)} | {key({"H": 8, "W": w}): 8 + w for w in (8, 16, 24, 32)}
    table[key({"H": 16, "W": 16})] = 32  # H + W: no product H*W fits
    assert fit(table, {"H": 8, "W": 8}) is None


def test_nothing_fits_a_square():
    table, base = column(lambda h: h * h, EVERY)
    assert fit(table, base) is None


def test_whole_on_the_claimed_grid():
    eighth = Formula(Fraction(1, 8), (Term("H"),), Fraction(0))
    assert whole_on(eighth, {"H": 32}) and not whole_on(eighth, {"H": 4})
