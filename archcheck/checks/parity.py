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

from typing import Iterator

from archcheck.checks.evidence import Evidence
from archcheck.observe.difference import Difference, compare
from archcheck.observe.keep import OUTPUT
from archcheck.results import CheckResult
from archcheck.runners.records import DeviceRun
from archcheck.spec import Case, Spec

IDS = ("parity",)
REFERENCE = "cpu"


def check(spec: Spec, evidence: Evidence) -> Iterator[CheckResult]:
    """Compare every device's kept outputs with the CPU run's, case by case."""
    runs = evidence.runs
    reference_run = next((run for run in runs if run.device == REFERENCE), None)
    others = [run for run in runs if run.device != REFERENCE and (run.tensors or run.differences or run.compares_with_cpu)]
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
        found_at = _differences(run, reference, spec)
        for label in dict.fromkeys(w for w, _, _ in found_at):
            overall, worst_at = Difference(), ""
            device = run.label(label)
            for _, case, paths in (t for t in found_at if t[0] == label):
                for path, found in paths.items():
                    subject = "outputs" if path == OUTPUT else path
                    base = dict(section="parity", location=locations.get(path, where), device=device, case=case)
                    if found is None:
                        yield CheckResult("parity", subject, "fail", message=f"{subject} gave no output on {device} to compare with the cpu", **base)
                        continue
                    yield _result(subject, found, spec, base)
                    if not worst_at or found.worst_share > overall.worst_share:
                        worst_at = f"{subject} at {case}"
                    overall = overall.merge(found)
            status = "pass" if overall.ok else "fail"
            message = f"worst difference from the cpu on {device}: {overall} ({worst_at})" if worst_at else f"nothing on {device} to compare with the cpu"
            yield CheckResult("parity", device, status if worst_at else "skip", section="parity", message=message, location=where, device=device, expected=f"rtol {spec.rtol:g}, atol {spec.atol:g}", actual=str(overall))


def _differences(run: DeviceRun, reference: dict, spec: Spec) -> list[tuple[str, Case, dict[str, Difference | None]]]:
    """(where, case, path -> Difference, None where the device gave no output) for every case the cpu ran.

    Kept tensors are compared here; a DDP rank compared its own and sent the Differences.
    """
    found = [(where, case, dict(paths)) for where, case, paths in run.differences if case in reference]
    for where, case, kept in run.tensors:
        if case in reference:  # else the forward pass crashed on the cpu: the crash check says so
            found.append((where, case, {path: compare(expected, kept[path], spec.rtol, spec.atol) if path in kept else None for path, expected in reference[case].items()}))
    return found


def _result(subject: str, found: Difference, spec: Spec, base: dict) -> CheckResult:
    tolerance = f"rtol {spec.rtol:g}, atol {spec.atol:g}"
    if found.reason:
        return CheckResult("parity", subject, "fail", message=f"{subject} cannot be compared with the cpu: {found.reason}", expected=tolerance, actual=found.reason, **base)
    if found.beyond:
        message = f"{subject} differs from the cpu: {found.beyond} of {found.total} values beyond {tolerance}; {found}"
        return CheckResult("parity", subject, "fail", message=message, expected=tolerance, actual=str(found), **base)
    return CheckResult("parity", subject, "pass", message=f"{subject} matches the cpu: {found}", expected=tolerance, actual=str(found), **base)
