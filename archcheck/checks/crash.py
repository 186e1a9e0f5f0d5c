"""Rule ``crash``: the forward pass runs at every case.

PASS: YOLOv4 at B=1, H=416, W=416.
FAIL: a concat in the neck at H=400: "forward crashed in make_five_conv1 ... with inputs [...]".
"""

from __future__ import annotations

from typing import Iterator

from archcheck.checks.evidence import Evidence, ObservationContext
from archcheck.results import CheckResult
from archcheck.spec import Spec

IDS = ("crash",)


def check_crash(ctx: ObservationContext) -> Iterator[CheckResult]:
    crash = ctx.observation.crash
    location = ctx.spec.locations.get("inputs")
    if crash is None:
        yield CheckResult("crash", "forward", "pass", section="forward", location=location, device=ctx.device, case=ctx.case)
    else:
        yield CheckResult("crash", crash.module or "forward", "fail", section="forward", message=str(crash), location=location, device=ctx.device, case=ctx.case, actual=crash.error)


def check(spec: Spec, evidence: Evidence) -> Iterator[CheckResult]:
    for context in evidence.observations():
        yield from check_crash(context)
