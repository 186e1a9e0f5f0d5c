"""Rules ``ddp-*``: what DistributedDataParallel needs of a network, judged from every rank's report.

Each rank's shapes are checked against the spec by the shape rules (device
``ddp rank N``); these rules judge the one training step:

- ``ddp-step``: forward and backward in train mode run on every rank.
- ``ddp-grad``: after backward, every parameter's gradient is the same on all ranks.
- ``ddp-unused``: every parameter gets a gradient. DDP without find_unused_parameters
  fails on the next step ("Expected to have finished reduction in the prior iteration").
  FAIL: a head defined in __init__ but never called in forward.
- ``ddp-batchnorm``: BatchNorm in train mode normalises with each process's own
  batch, so DDP training is not training on the global batch: not checked, said so.
- ``ddp-process``: every rank started, ran and ended within the timeout.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from archcheck.checks.evidence import Evidence
from archcheck.results import CheckResult
from archcheck.runners.records import RankReport
from archcheck.spec import Spec

IDS = ("ddp-process", "ddp-step", "ddp-grad", "ddp-unused", "ddp-batchnorm")
SHOWN = 5  # names listed in a message before "and N more"


def check(spec: Spec, evidence: Evidence) -> Iterator[CheckResult]:
    for run in evidence.runs:
        if run.failure_rule == "ddp-process":
            yield CheckResult("ddp-process", run.device, "fail", section="devices", message=run.failure, location=spec.locations.get("devices"), device=run.device)
        elif run.ranks:
            yield from check_ranks(spec, run.device, run.ranks)


def check_ranks(spec: Spec, device: str, reports: Sequence[RankReport]) -> Iterator[CheckResult]:
    base = dict(section="ddp", location=spec.locations.get("devices"), device=device)
    steps = [r.step for r in reports]
    case = steps[0].case if steps else None
    failed = [(r.rank, r.step.error) for r in reports if r.step.error]
    if failed:
        rank, error = failed[0]
        yield CheckResult("ddp-step", "training step", "fail", message=f"the training step failed on rank {rank}: {error}", case=case, actual=error, **base)
    else:
        rows = ", ".join(str(s.rows) for s in steps)
        yield CheckResult("ddp-step", "training step", "pass", message=f"one training step ran on {len(reports)} ranks (rows per rank: {rows})", case=case, **base)
        yield _gradients(spec, steps, case, base)
    yield _unused(steps, case, base)
    yield _batchnorm(steps, base)


def _gradients(spec: Spec, steps: list, case: object, base: dict) -> CheckResult:
    worst = max(steps, key=lambda s: s.worst_abs)
    tolerance = f"equal within rtol {spec.rtol:g}, atol {spec.atol:g}"
    spread = f"largest difference {worst.worst_abs:.3g} (relative {worst.worst_rel:.3g}) in {worst.worst_param or 'no parameter'}"
    unequal = sorted({name for s in steps for name in s.unequal})
    if unequal:
        message = f"gradients differ between ranks after backward for {len(unequal)} parameters: {names(unequal)}; {spread}"
        return CheckResult("ddp-grad", "gradients", "fail", message=message, case=case, expected=tolerance, actual=spread, **base)  # type: ignore[arg-type]
    if worst.worst_abs == 0:
        return CheckResult("ddp-grad", "gradients", "pass", message=f"gradients are equal on all {len(steps)} ranks, bit for bit", case=case, expected=tolerance, actual="equal", **base)  # type: ignore[arg-type]
    return CheckResult("ddp-grad", "gradients", "pass", message=f"gradients are equal on all {len(steps)} ranks within tolerance; {spread}", case=case, expected=tolerance, actual=spread, **base)  # type: ignore[arg-type]


def _unused(steps: list, case: object, base: dict) -> CheckResult:
    unused = sorted({name for s in steps for name in s.unused})
    modules = sorted({name for s in steps for name in s.never_called})
    if not unused and not modules:
        return CheckResult("ddp-unused", "unused parameters", "pass", message="every parameter gets a gradient", case=case, **base)  # type: ignore[arg-type]
    parts = []
    if unused:
        parts.append(f"{len(unused)} parameters get no gradient: {names(unused)}")
    if modules:
        parts.append(f"modules never called in forward: {names(modules)}")
    message = "; ".join(parts) + "; DistributedDataParallel needs every parameter used in forward (without find_unused_parameters=True the next step fails with 'Expected to have finished reduction in the prior iteration')"
    return CheckResult("ddp-unused", "unused parameters", "fail", message=message, case=case, actual=names(unused or modules), **base)  # type: ignore[arg-type]


def _batchnorm(steps: list, base: dict) -> CheckResult:
    layers = sorted({name for s in steps for name in s.batchnorm})
    if not layers:
        return CheckResult("ddp-batchnorm", "BatchNorm in train mode", "pass", message="no BatchNorm layers with per-process statistics", **base)
    message = (
        f"{len(layers)} BatchNorm layers ({names(layers)}) normalise with each process's own batch in train mode, "
        "so DDP training is not training on the global batch; not checked (nn.SyncBatchNorm.convert_sync_batchnorm(model) shares the statistics)"
    )
    return CheckResult("ddp-batchnorm", "BatchNorm in train mode", "skip", message=message, actual=f"{len(layers)} BatchNorm layers", **base)


def names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")
