"""Rule ``flops``: the spec's ``flops:`` total and per-module numbers, counted on the meta model.

The count runs at ``flops.case`` under ``flops.convention``; a number holds when it is within
``tolerance`` (a fraction of the expected value) of the count.

PASS: ``flops: {convention: darknet, case: {B: 1, H: 416, W: 416}, total: 60.137G, tolerance: 0.01%}``
FAIL: ``flops: {convention: macs, case: {B: 1, H: 416, W: 416}, total: 25G, tolerance: 1%}``
"""

from __future__ import annotations

from typing import Iterator

from torch import nn

from archcheck.counting.counter import count_model
from archcheck.counting.records import CONVENTIONS
from archcheck.counting.render import scale_for
from archcheck.devices import make_inputs
from archcheck.errors import ArchcheckError
from archcheck.results import CheckResult
from archcheck.spec import Spec


def check_flops(spec: Spec, model: nn.Module) -> Iterator[CheckResult]:
    expectation = spec.flops
    if expectation is None or (expectation.total is None and not expectation.modules):
        return
    convention = CONVENTIONS[expectation.convention]
    case = expectation.case
    try:
        counted = count_model(model, make_inputs(spec, case, "meta"), case)
    except ArchcheckError as exc:
        yield CheckResult("flops", "flops", "fail", section="flops", message=str(exc), location=expectation.location, case=case)
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
            yield CheckResult("flops", subject, "pass", section="flops", location=expected_count.location, case=case, expected=shown_expected, actual=shown_actual)
        else:
            allowed = f"{expectation.tolerance:.2%}".replace(".00%", "%")
            message = f"{subject} is {shown_actual}, expected {shown_expected} ({(actual - expected) / expected:+.2%}, tolerance {allowed})" if expected else f"{subject} is {shown_actual}, expected 0"
            yield CheckResult("flops", subject, "fail", section="flops", message=message, location=expected_count.location, case=case, expected=shown_expected, actual=shown_actual)
