"""Rule ``params``: parameter counts, in total, trainable, and per module; shared weights once.

PASS: ``params: {total: 64363101}`` for YOLOv4 with 80 classes.
FAIL: ``params: {modules: {backbone: 26617184}}`` when a stage was widened.

A count holds within ``params.tolerance`` (a fraction, ``1%``) when given; otherwise to the precision
it is written with: ``64.36M`` means 64,360,000 ± 5,000, and ``64363101`` exactly.
"""

from __future__ import annotations

from typing import Iterator

from torch import nn

from archcheck.checks.evidence import Evidence
from archcheck.results import CheckResult
from archcheck.spec import Spec
from archcheck.spec.records import Count

IDS = ("params",)


def parameter_count(module: nn.Module, trainable_only: bool = False) -> int:
    """Parameters of ``module``, each shared tensor once (``parameters()`` deduplicates)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def check(spec: Spec, evidence: Evidence) -> Iterator[CheckResult]:
    if spec.params is None or evidence.model is None:
        return
    model = evidence.model
    modules = dict(model.named_modules())
    wanted: list[tuple[str, Count, int]] = []
    if spec.params.total is not None:
        wanted.append(("params.total", spec.params.total, parameter_count(model)))
    if spec.params.trainable is not None:
        wanted.append(("params.trainable", spec.params.trainable, parameter_count(model, trainable_only=True)))
    for count in spec.params.modules:
        wanted.append((f"params.modules.{count.path}", count, parameter_count(modules[count.path])))
    for subject, count, actual in wanted:
        expected = count.value
        tolerance = spec.params.tolerance
        allowed = tolerance * abs(expected) if tolerance is not None else count.slack
        shown_expected = _expected_text(count, tolerance)
        if abs(actual - expected) <= allowed * (1 + 1e-12):
            yield CheckResult("params", subject, "pass", section="params", message=f"{subject} is {actual:,}, expected {shown_expected}", location=count.location, expected=expected, actual=actual)
        else:
            difference = actual - round(expected)
            message = f"{subject} is {actual:,}, expected {shown_expected} ({difference:+,})"
            yield CheckResult("params", subject, "fail", section="params", message=message, location=count.location, expected=expected, actual=actual)


def _expected_text(count: Count, tolerance: float | None) -> str:
    """``64,363,101``; ``64,360,000 ± 5,000`` for a figure written as 64.36M; ``64,363,101 ± 1%``."""
    base = f"{round(count.value):,}"
    if tolerance is not None:
        return f"{base} ± {tolerance * 100:.6g}%" if tolerance else base
    return base if count.slack <= 0.5 else f"{base} ± {count.slack:,.10g}"
