"""The fuzz report: the smallest failing case and what broke there, as text and JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archcheck.report.json import document, result_record
from archcheck.spec.domain import domain_text

if TYPE_CHECKING:
    from archcheck.fuzzing import FuzzReport


def render_fuzz_text(report: FuzzReport) -> str:
    spec = report.spec
    seed = "derandomized" if report.seed is None else f"seed {report.seed}"
    lines = [f"archcheck fuzz {spec.path}  ({spec.name}; {domain_text(spec)}; {seed})"]
    lines += [f"fallback: {f}" for f in report.fallbacks]
    if report.ok:
        lines.append(f"OK  every shape formula held at {report.cases_run} cases in {report.seconds:.1f}s")
        return "\n".join(lines) + "\n"
    assert report.failure is not None
    cases = f"{report.cases_run} case{'s' if report.cases_run > 1 else ''}"
    lines.append(f"FAILED  smallest failing case: {report.failure} (after {cases} in {report.seconds:.1f}s)")
    lines += [problem.headline() for problem in report.problems]
    case = ",".join(f"{name}={value}" for name, value in report.failure.bindings)
    lines.append(f"reproduce: archcheck verify {spec.path} --devices meta --case {case}")
    return "\n".join(lines) + "\n"


def render_fuzz_json(report: FuzzReport) -> str:
    return document(
        "fuzz",
        {
            "spec": str(report.spec.path),
            "name": report.spec.name,
            "ok": report.ok,
            "examples": report.examples,
            "cases_run": report.cases_run,
            "seed": report.seed,
            "seconds": round(report.seconds, 3),
            "failure": report.failure.as_dict() if report.failure else None,
            "fallbacks": [{"stage": f.stage, "device": f.device, "reason": f.reason, "cases": f.cases} for f in report.fallbacks],
            "results": [result_record(p) for p in report.results],
        },
    )
