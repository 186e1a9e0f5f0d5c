"""Rule ``flops``: the spec's ``flops:`` total and per-module numbers, against the meta model's count.

The count runs at ``flops.case`` under ``flops.convention``; a number holds when it is within
``tolerance`` (a fraction of the expected value) of the count, or, without a tolerance, to the
precision it is written with (``145.031M``: ±0.0005M), so a figure pasted from ``archcheck count``
holds. A failure shows as many digits as it takes for the two numbers to differ.

PASS: ``flops: {convention: darknet, case: {B: 1, H: 416, W: 416}, total: 60.137G, tolerance: 0.01%}``
FAIL: ``flops: {convention: macs, case: {B: 1, H: 416, W: 416}, total: 25G, tolerance: 1%}``
"""

from __future__ import annotations

from typing import Iterator

from archcheck.checks.evidence import Evidence
from archcheck.counting.records import CONVENTIONS
from archcheck.results import CheckResult
from archcheck.spec import Spec
from archcheck.units import scale_for

IDS = ("flops",)


def check(spec: Spec, evidence: Evidence) -> Iterator[CheckResult]:
    expectation = spec.flops
    if expectation is None or (expectation.total is None and not expectation.modules):
        return
    convention = CONVENTIONS[expectation.convention]
    case = expectation.case
    counted = evidence.counted
    if counted is None:
        yield CheckResult("flops", "flops", "fail", section="flops", message=evidence.count_error or "the model was not counted", location=expectation.location, case=case)
        return
    wanted = [("flops.total", expectation.total, "")] if expectation.total is not None else []
    wanted += [(f"flops.modules.{c.path}", c, c.path) for c in expectation.modules]
    for subject, expected_count, path in wanted:
        assert expected_count is not None
        expected = expected_count.value
        actual = convention.of(counted.module(path).compute)
        scale, prefix = scale_for(int(max(expected, actual)))
        unit = convention.label(prefix)
        allowed = expectation.tolerance * abs(expected) if expectation.tolerance is not None else expected_count.slack
        holds = abs(actual - expected) <= allowed * (1 + 1e-12)
        shown_expected, shown_actual = _distinct(expected, actual, scale, 3 if holds else None)
        shown_expected, shown_actual = f"{shown_expected} {unit}", f"{shown_actual} {unit}"
        if holds:
            yield CheckResult("flops", subject, "pass", section="flops", message=f"{subject} is {shown_actual}", location=expected_count.location, case=case, expected=expected, actual=actual, unit=convention.label(""))
        else:
            if expectation.tolerance is not None:
                allowed_text = f"tolerance {expectation.tolerance * 100:.6g}%"
            else:
                allowed_text = f"written to ±{_number(expected_count.slack / scale, 10)} {unit}; add a tolerance to allow more"
            off = f"{(actual - expected) / expected:+.2%}, " if expected else ""
            message = f"{subject} is {shown_actual}, expected {shown_expected} ({off}{allowed_text})"
            yield CheckResult("flops", subject, "fail", section="flops", message=message, location=expected_count.location, case=case, expected=expected, actual=actual, unit=convention.label(""))


def _distinct(expected: float, actual: float, scale: float, digits: int | None) -> tuple[str, str]:
    """Both numbers at ``scale``, with 3 decimals, or (``digits`` None) as many as it takes to tell them apart."""
    places = 3
    while digits is None and places < 12 and f"{expected / scale:,.{places}f}" == f"{actual / scale:,.{places}f}":
        places += 1
    return f"{expected / scale:,.{places}f}", f"{actual / scale:,.{places}f}"


def _number(value: float, places: int) -> str:
    return f"{value:.{places}g}"
