"""Rule ``flops``: the spec's ``flops:`` total and per-module numbers, against the meta model's count.

The count runs at ``flops.case`` under ``flops.convention``; a number holds when it is within
``tolerance`` (a fraction of the expected value) of the count.

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
        shown_expected, shown_actual = f"{expected / scale:,.3f} {unit}", f"{actual / scale:,.3f} {unit}"
        off = abs(actual - expected) / expected if expected else (0.0 if actual == 0 else float("inf"))
        if off <= expectation.tolerance:
            yield CheckResult("flops", subject, "pass", section="flops", message=f"{subject} is {shown_actual}", location=expected_count.location, case=case, expected=expected, actual=actual)
        else:
            allowed = f"{expectation.tolerance:.2%}".replace(".00%", "%")
            message = f"{subject} is {shown_actual}, expected {shown_expected} ({(actual - expected) / expected:+.2%}, tolerance {allowed})" if expected else f"{subject} is {shown_actual}, expected 0"
            yield CheckResult("flops", subject, "fail", section="flops", message=message, location=expected_count.location, case=case, expected=expected, actual=actual)
