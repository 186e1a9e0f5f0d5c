"""Rule ``crash``: the forward pass runs at every case.

PASS: YOLOv4 at B=1, H=416, W=416.
FAIL: a concat in the neck at H=400: "forward crashed in make_five_conv1 ... with inputs [...]".
"""

from __future__ import annotations

from typing import Iterator

from archcheck.checks.context import ObservationContext
from archcheck.results import CheckResult


def check_crash(ctx: ObservationContext) -> Iterator[CheckResult]:
    crash = ctx.observation.crash
    location = ctx.spec.locations.get("inputs")
    if crash is None:
        yield CheckResult("crash", "forward", "pass", section="forward", location=location, device=ctx.device, case=ctx.case)
    else:
        yield CheckResult("crash", crash.module or "forward", "fail", section="forward", message=str(crash), location=location, device=ctx.device, case=ctx.case, actual=crash.error)
