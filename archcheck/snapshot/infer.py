"""Formulas from tables: which expression in the input dims gives every observed size.

Pure functions over ``{case: size}`` tables, so they are easy to test. A formula is
``scale * term * term ... + offset`` where each term is one dim through one family,
tried in order of simplicity::

    D                      H, 2*H, H/8, H + 1 (scale and offset fitted)
    ceil(D/k)              ceil(H/32)
    floor(D/k)             floor(H/2)
    floor((D + c)/k)       floor((H - 1)/2) + 1 (conv arithmetic)

A size that depends on no dim is a constant; one that depends on several is tried as a
product of one term per dim (``H*W/256 + 1``: the tokens of a ViT with a class token).
The first candidate that gives every size of the table wins; every candidate is fitted on
two entries and checked on all the others, so each written formula has been seen to hold
on sizes it was not fitted to. None when nothing fits (the writer then puts ``_``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction

Table = Mapping[tuple[tuple[str, int], ...], int]  # a case (sorted bindings) -> the size seen there
MAX_DIVISOR = 64


@dataclass(frozen=True)
class Term:
    """One dim through one family: ``kind`` is "id", "ceil", "floor" or "shift" (``floor((D + shift)/k)``)."""

    dim: str
    kind: str = "id"
    k: int = 1
    shift: int = 0

    def value(self, size: int) -> Fraction:
        if self.kind == "id":
            return Fraction(size)
        if self.kind == "ceil":
            return Fraction(-(-size // self.k))
        return Fraction((size + self.shift) // self.k)

    def __str__(self) -> str:
        if self.kind == "id":
            return self.dim
        if self.kind == "shift":
            sign = "+" if self.shift > 0 else "-"
            return f"floor(({self.dim} {sign} {abs(self.shift)})/{self.k})"
        return f"{self.kind}({self.dim}/{self.k})"


@dataclass(frozen=True)
class Formula:
    """``scale * terms... + offset``."""

    scale: Fraction
    terms: tuple[Term, ...]
    offset: Fraction

    def value(self, case: Mapping[str, int]) -> Fraction:
        product = Fraction(1)
        for term in self.terms:
            product *= term.value(case[term.dim])
        return self.scale * product + self.offset

    def __str__(self) -> str:
        if not self.terms or self.scale == 0:
            return str(self.offset)
        body = "*".join(str(t) for t in self.terms)
        numerator, denominator = self.scale.numerator, self.scale.denominator
        sign = "-" if numerator < 0 else ""
        text = body if abs(numerator) == 1 else f"{abs(numerator)}*{body}"
        text = f"{sign}{text}/{denominator}" if denominator != 1 else f"{sign}{text}"
        if self.offset:
            text += f" + {self.offset}" if self.offset > 0 else f" - {-self.offset}"
        return text


def terms_for(dim: str) -> Iterator[Term]:
    """The families for one dim, simplest first."""
    yield Term(dim)
    for kind in ("ceil", "floor"):
        for k in range(2, MAX_DIVISOR + 1):
            yield Term(dim, kind, k)
    for k in range(2, MAX_DIVISOR + 1):
        for magnitude in range(1, k):
            for shift in (-magnitude, magnitude):
                yield Term(dim, "shift", k, shift)


def fit(table: Table, base: Mapping[str, int]) -> Formula | None:
    """The simplest formula that gives every size in ``table``; ``base`` is the case the others vary from."""
    if not table:
        return None
    sizes = set(table.values())
    if len(sizes) == 1:
        return Formula(Fraction(0), (), Fraction(sizes.pop()))
    base_key = _key(base)
    varying = [d for d in base if _along(table, base, d) and len(set(_along(table, base, d).values())) > 1]
    if not varying:
        return None
    if len(varying) == 1:
        found = _fit_one(varying[0], _along(table, base, varying[0]))
        return found if found and _holds(found, table) else None
    fits = []  # one term per dim, with the offset its own column gave
    for dim in varying:
        found = _fit_one(dim, _along(table, base, dim))
        if found is None:
            return None
        fits.append(found)
    offset = fits[0].offset
    if any(f.offset != offset for f in fits) or base_key not in table:
        return None
    terms = tuple(f.terms[0] for f in fits)
    product = Fraction(1)
    for term in terms:
        product *= term.value(base[term.dim])
    if product == 0:
        return None
    formula = Formula((table[base_key] - offset) / product, terms, offset)
    return formula if _holds(formula, table) else None


def _fit_one(dim: str, column: Mapping[int, int]) -> Formula | None:
    """``scale * term(dim) + offset`` through ``column`` {size: seen}, the simplest family first."""
    sizes = sorted(column)
    for term in terms_for(dim):
        values = [term.value(s) for s in sizes]
        pair = next(((i, j) for i in range(len(sizes)) for j in range(i + 1, len(sizes)) if values[i] != values[j]), None)
        if pair is None:
            continue
        i, j = pair
        scale = (column[sizes[j]] - column[sizes[i]]) / (values[j] - values[i])
        if term.kind != "id" and scale.denominator != 1:
            continue  # 3*ceil(H/8)/2: a fraction of a rounded size is never what a network computes
        offset = column[sizes[i]] - scale * values[i]
        if offset.denominator != 1:
            continue
        if all(scale * v + offset == column[s] for s, v in zip(sizes, values)):
            return Formula(scale, (term,), offset)
    return None


def _along(table: Table, base: Mapping[str, int], dim: str) -> dict[int, int]:
    """The entries of ``table`` where only ``dim`` differs from ``base``: {size of dim: seen}."""
    column = {}
    for key, seen in table.items():
        case = dict(key)
        if all(case.get(d) == v for d, v in base.items() if d != dim):
            column[case[dim]] = seen
    return column


def _holds(formula: Formula, table: Table) -> bool:
    return all(formula.value(dict(key)) == seen for key, seen in table.items())


def _key(case: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(case.items()))


def key(case: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """The table key of a case."""
    return _key(case)


def whole_on(formula: Formula, steps: Mapping[str, int]) -> bool:
    """Every size the formula gives on the claimed grid is whole: each dim a multiple of ``steps[dim]`` (1: any size).

    Only ``id`` terms may carry a fraction (``H/8``, ``H*W/256``): whole when scale times the steps is.
    """
    scale = formula.scale
    for term in formula.terms:
        if term.kind == "id":
            scale *= steps.get(term.dim, 1)
    return scale.denominator == 1
