"""Rules ``dp-*``: the nn.DataParallel pitfalls, judged from the DataParallel runner's facts.

Each replica's shapes are checked by the shape rules (device ``dp cuda:N``, at its share of
the batch); these rules judge what only the wrapper shows:

- ``dp-state-dict``: state_dict keys gain the prefix ``module.``.
  FAIL: a wrapper whose keys are not the model's keys with ``module.`` in front.
- ``dp-split``: how a batch splits over the GPUs (``chunk``: some GPUs may get no rows, skipped).
- ``dp-gather``: the outputs are gathered on cuda:0. FAIL: an output left on cuda:1.
- ``output`` (gathered): the gathered output fits the spec's ``outputs``.
"""

from __future__ import annotations

from typing import Iterator

from archcheck.checks.evidence import Evidence
from archcheck.results import CheckResult
from archcheck.runners.records import ReplicaCase
from archcheck.spec import Spec
from archcheck.spec.expr import ExprError
from archcheck.spec.shapes import format_value, match

IDS = ("dp-state-dict", "dp-split", "dp-gather")


def check(spec: Spec, evidence: Evidence) -> Iterator[CheckResult]:
    for run in evidence.runs:
        if run.state_dict_problem is not None:
            yield _state_dict(spec, run.device, run.state_dict_problem)
        for fact in run.replicas:
            yield from _case(spec, run.device, fact)


def _state_dict(spec: Spec, device: str, problem: str) -> CheckResult:
    base = dict(rule="dp-state-dict", subject="state_dict keys", section="dataparallel", location=spec.locations.get("devices"), device=device)
    if problem:
        return CheckResult(**base, status="fail", message=f"state_dict of the DataParallel model: {problem}")
    message = "state_dict keys gain the prefix 'module.' under nn.DataParallel: save model.module.state_dict() (archcheck strips the prefix when it loads weights)"
    return CheckResult(**base, status="pass", message=message, expected="module.<key>", actual="module.<key>")


def _case(spec: Spec, device: str, fact: ReplicaCase) -> Iterator[CheckResult]:
    base = dict(section="dataparallel", location=spec.locations.get("devices"), device=device, case=fact.case)
    rows, gpus = list(fact.rows), fact.gpus
    batch = sum(rows)
    shown = "[" + ", ".join(map(str, rows)) + "]"
    if gpus == 1:
        yield CheckResult("dp-split", "batch split", "skip", message="only 1 GPU is visible: nn.DataParallel calls the module directly, with no scatter or gather", actual=shown, **base)
    elif len(rows) < gpus:
        idle = ", ".join(f"cuda:{i}" for i in range(len(rows), gpus))
        yield CheckResult("dp-split", "batch split", "skip", message=f"a batch of {batch} gives rows to {len(rows)} of {gpus} GPUs ({shown}): nn.DataParallel leaves {idle} idle, so not checked there", actual=shown, **base)
    elif len(set(rows)) > 1:
        yield CheckResult("dp-split", "batch split", "pass", message=f"a batch of {batch} splits unevenly over {gpus} GPUs as {shown}: replicas see different batch sizes (BatchNorm statistics differ in training)", actual=shown, **base)
    else:
        yield CheckResult("dp-split", "batch split", "pass", message=f"a batch of {batch} splits evenly over {gpus} GPUs as {shown}", actual=shown, **base)
    gathered = fact.gathered
    if gathered.crash is not None:  # reported by the crash check
        return
    devices = list(fact.output_devices)
    if devices != ["cuda:0"]:
        yield CheckResult("dp-gather", "outputs on cuda:0", "fail", message=f"the gathered outputs are on {', '.join(devices) or 'no device (no tensors)'}, expected all on cuda:0", expected="cuda:0", actual=", ".join(devices), **base)
    else:
        yield CheckResult("dp-gather", "outputs on cuda:0", "pass", message="outputs are gathered on cuda:0 (the loss and its memory land there)", expected="cuda:0", actual="cuda:0", **base)
    if spec.outputs is not None and gathered.output is not None:
        try:
            reason = match(spec.outputs, gathered.output, spec.env(fact.case))
        except ExprError as exc:
            reason = f"the spec has no value here: {exc}"
        value = format_value(gathered.output)
        status, message = ("fail", f"gathered output {value}: {reason}") if reason else ("pass", "")
        yield CheckResult("output", "outputs (gathered)", status, message=message, actual=value, **base | {"section": "outputs", "location": spec.outputs.location})
