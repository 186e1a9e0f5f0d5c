"""Rule ``shape``: every declared module's output fits its symbolic shape at every case.

PASS: ``backbone.stages.2: [B, 256, H/8, W/8]`` and the stage gives [1, 256, 52, 52] at B=1, H=416.
FAIL: ``SPP: [B, 2048, H/32, W/32]`` and SPP gives [1, 512, 19, 19] at H=608.
FAIL: ``neck.x: [B, 64, H/8, W/8]`` at H=415: the spec has no whole value there (``ceil(H/8)``?).
A module with ``calls: [...]`` is compared call by call; a different number of calls fails (rule ``called``).
Also rule ``output`` for the model's own outputs, checked the same way; ``called`` for a
declared module that never ran; ``expr`` for a formula with no whole value at a case.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterator, Mapping

from archcheck.checks.evidence import Evidence, ObservationContext
from archcheck.results import CheckResult
from archcheck.spec import Spec
from archcheck.spec.expr import ExprError
from archcheck.spec.shapes import Pattern, Value, expected_text, format_value, match

IDS = ("shape", "called", "expr", "output")


def check(spec: Spec, evidence: Evidence) -> Iterator[CheckResult]:
    for context in evidence.observations():
        yield from check_modules(context)
        yield from check_outputs(context)


def check_modules(ctx: ObservationContext) -> Iterator[CheckResult]:
    for expectation in ctx.spec.modules:
        calls = ctx.observation.calls.get(expectation.path, ())
        base = dict(
            rule="shape",
            subject=expectation.path,
            section=expectation.section,
            location=expectation.location,
            device=ctx.device,
            case=ctx.case,
        )
        if not calls:
            yield _not_called(ctx, base)
            continue
        if expectation.calls:  # a shape per call: call i against pattern i
            if len(calls) != len(expectation.calls):
                message = f"{expectation.path} ran {_times(len(calls))}; the spec lists {len(expectation.calls)} calls"
                yield CheckResult(**base | {"rule": "called"}, status="fail", message=message, expected=f"{len(expectation.calls)} calls", actual=f"{len(calls)} calls")
            for index, (pattern, call) in enumerate(zip(expectation.calls, calls)):
                yield _compare(pattern, call.output, ctx.env, f"{expectation.path} (call {index + 1} of {len(expectation.calls)})", base)
            continue
        for index, call in enumerate(calls):
            name = expectation.path if len(calls) == 1 else f"{expectation.path} (call {index + 1} of {len(calls)})"
            yield _compare(expectation.pattern, call.output, ctx.env, name, base)


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def check_outputs(ctx: ObservationContext) -> Iterator[CheckResult]:
    if ctx.spec.outputs is None or ctx.observation.crash is not None:
        return
    base = dict(rule="output", subject="outputs", section="outputs", location=ctx.spec.outputs.location, device=ctx.device, case=ctx.case)
    assert ctx.observation.output is not None
    yield _compare(ctx.spec.outputs, ctx.observation.output, ctx.env, "model output", base)


def _compare(pattern: Pattern, actual: Value, env: Mapping[str, Fraction], name: str, base: dict) -> CheckResult:
    try:
        reason = match(pattern, actual, env)
        expected = expected_text(pattern, env)
    except ExprError as exc:
        return CheckResult(**base | {"rule": "expr"}, status="fail", message=f"{name}: the spec has no value here: {exc}", expected=str(pattern), actual=format_value(actual))
    if not reason:
        return CheckResult(**base, status="pass", expected=expected, actual=format_value(actual))
    message = f"{name} {format_value(actual)} != expected {expected}: {reason}"
    return CheckResult(**base, status="fail", message=message, expected=expected, actual=format_value(actual))


def _not_called(ctx: ObservationContext, base: dict) -> CheckResult:
    crash = ctx.observation.crash
    if crash is not None:
        return CheckResult(**base, status="skip", message=f"{base['subject']} was not reached: the forward pass crashed in {crash.module or 'the model'}")
    return CheckResult(**base | {"rule": "called"}, status="fail", message=f"{base['subject']} never ran in the forward pass, so its shape cannot be checked")
