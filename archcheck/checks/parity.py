"""Rule ``parity``: every device computes the numbers the CPU computes, within the spec's rtol/atol.

The weights are the same everywhere (seeded builds; DDP also broadcasts rank 0's),
the model is in eval mode, and the CPU run is the reference. Every output and
every declared module's output is compared, element by element, as
``|actual - cpu| <= atol + rtol * |cpu|`` (torch.allclose); the worst absolute
and relative differences are reported per device.

PASS: cuda:0 gives YOLOv4's heads within 1e-4/1e-5 of the CPU (TF32 off).
FAIL: with TF32 on, yolo_head3 differs by 3e-3: "1520 of 1566720 values beyond rtol=0.0001, atol=1e-05".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator

import torch

from archcheck.checks.evidence import Evidence
from archcheck.observe.keep import OUTPUT
from archcheck.results import CheckResult
from archcheck.spec import Spec

IDS = ("parity",)
REFERENCE = "cpu"


@dataclass(frozen=True)
class Difference:
    """How far ``actual`` is from ``reference``: worst differences, values beyond tolerance, or why they cannot be compared."""

    worst_abs: float = 0.0
    worst_rel: float = 0.0  # |actual - reference| / |reference|, over elements where |reference| > atol (atol governs the rest)
    worst_share: float = 0.0  # |actual - reference| / (atol + rtol * |reference|): above 1 is beyond tolerance
    beyond: int = 0
    total: int = 0
    reason: str = ""  # the values cannot be compared: shapes, dtypes or structure differ

    @property
    def ok(self) -> bool:
        return not self.reason and self.beyond == 0

    def merge(self, other: Difference) -> Difference:
        worst = (max(self.worst_abs, other.worst_abs), max(self.worst_rel, other.worst_rel), max(self.worst_share, other.worst_share))
        return Difference(*worst, self.beyond + other.beyond, self.total + other.total, self.reason or other.reason)

    def __str__(self) -> str:
        return f"max abs diff {self.worst_abs:.3g}, max rel diff {self.worst_rel:.3g}, {self.worst_share:.0%} of the tolerance"


def compare(reference: Any, actual: Any, rtol: float, atol: float) -> Difference:
    """Compare two outputs (tensors, nested tuples of them, other values) element by element."""
    if isinstance(reference, torch.Tensor):
        if not isinstance(actual, torch.Tensor):
            return Difference(reason=f"expected a tensor, got {type(actual).__name__}")
        if reference.shape != actual.shape:
            return Difference(reason=f"shape {list(actual.shape)} != reference {list(reference.shape)}")
        if reference.dtype != actual.dtype:
            return Difference(reason=f"dtype {actual.dtype} != reference {reference.dtype}")
        return _compare_tensors(reference.detach().cpu(), actual.detach().cpu(), rtol, atol)
    if isinstance(reference, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(reference):
            return Difference(reason=f"expected {len(reference)} values, got {len(actual) if isinstance(actual, (tuple, list)) else type(actual).__name__}")
        total = Difference()
        for index, (ref, act) in enumerate(zip(reference, actual)):
            part = compare(ref, act, rtol, atol)
            total = total.merge(part if not part.reason else Difference(reason=f"item {index}: {part.reason}"))
        return total
    if reference != actual:
        return Difference(beyond=1, total=1, reason="" if type(reference) is type(actual) else f"{type(actual).__name__} != reference {type(reference).__name__}")
    return Difference(total=1)


def _compare_tensors(reference: torch.Tensor, actual: torch.Tensor, rtol: float, atol: float) -> Difference:
    ref, act = reference.double(), actual.double()  # integers and bools too: exact unless atol >= 1
    same = (act == ref) | (ref.isnan() & act.isnan())  # equal infinities and NaNs in the same place agree
    difference = torch.nan_to_num(torch.where(same, torch.zeros_like(ref), (act - ref).abs()), nan=math.inf)
    allowed = atol + rtol * torch.nan_to_num(ref.abs(), nan=0.0)
    beyond = int((~(difference <= allowed) | (ref.isinf() & ~same)).sum())
    if not difference.numel():
        return Difference()
    large = ref.abs() > atol
    worst_rel = float((difference[large] / ref[large].abs()).max()) if bool(large.any()) else 0.0
    worst_share = float(torch.where(difference == 0, torch.zeros_like(difference), difference / allowed).max())
    return Difference(float(difference.max()), worst_rel, worst_share, beyond, ref.numel())


def check(spec: Spec, evidence: Evidence) -> Iterator[CheckResult]:
    """Compare every device's kept outputs with the CPU run's, case by case."""
    runs = evidence.runs
    reference_run = next((run for run in runs if run.device == REFERENCE), None)
    others = [run for run in runs if run.device != REFERENCE and run.tensors]
    if not others:
        return
    where = spec.locations.get("parity")
    if reference_run is None:
        for run in others:
            yield CheckResult("parity", run.device, "skip", section="parity", message=f"no cpu run to compare {run.device} with: add cpu to the devices", location=where, device=run.device)
        return
    reference = {case: kept for _, case, kept in reference_run.tensors}
    locations = {m.path: m.location for m in spec.modules} | {OUTPUT: spec.outputs.location if spec.outputs is not None else where}
    for run in others:
        for label in dict.fromkeys(w for w, _, _ in run.tensors):
            overall, worst_at = Difference(), ""
            for _, case, kept in (t for t in run.tensors if t[0] == label):
                device = run.label(label)
                if case not in reference:
                    continue  # the forward pass crashed on the cpu: the crash check says so
                for path, expected in reference[case].items():
                    subject = "outputs" if path == OUTPUT else path
                    base = dict(section="parity", location=locations.get(path, where), device=device, case=case)
                    if path not in kept:
                        yield CheckResult("parity", subject, "fail", message=f"{subject} gave no output on {device} to compare with the cpu", **base)
                        continue
                    found = compare(expected, kept[path], spec.rtol, spec.atol)
                    yield _result(subject, found, spec, base)
                    if not worst_at or found.worst_share > overall.worst_share:
                        worst_at = f"{subject} at {case}"
                    overall = overall.merge(found)
            device = run.label(label)
            status = "pass" if overall.ok else "fail"
            message = f"worst difference from the cpu on {device}: {overall} ({worst_at})" if worst_at else f"nothing on {device} to compare with the cpu"
            yield CheckResult("parity", device, status if worst_at else "skip", section="parity", message=message, location=where, device=device, expected=f"rtol {spec.rtol:g}, atol {spec.atol:g}", actual=str(overall))


def _result(subject: str, found: Difference, spec: Spec, base: dict) -> CheckResult:
    tolerance = f"rtol {spec.rtol:g}, atol {spec.atol:g}"
    if found.reason:
        return CheckResult("parity", subject, "fail", message=f"{subject} cannot be compared with the cpu: {found.reason}", expected=tolerance, actual=found.reason, **base)
    if found.beyond:
        message = f"{subject} differs from the cpu: {found.beyond} of {found.total} values beyond {tolerance}; {found}"
        return CheckResult("parity", subject, "fail", message=message, expected=tolerance, actual=str(found), **base)
    return CheckResult("parity", subject, "pass", message=f"{subject} matches the cpu: {found}", expected=tolerance, actual=str(found), **base)
