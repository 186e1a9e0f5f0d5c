"""The resolutions report: per dim, the sizes that run and are accepted, and the spec's verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archcheck.report.json import document, result_record
from archcheck.units import ranges_text

if TYPE_CHECKING:
    from archcheck.sizes import ResolutionsReport, SizeSet


def render_resolutions_text(report: ResolutionsReport) -> str:
    lines = [f"archcheck resolutions {report.spec.path}  ({report.spec.name})"]
    lines += [f"fallback: {f}" for f in report.fallbacks]
    for d in report.dims:
        held = ", ".join(f"{n}={v}" for n, v in d.held.bindings if n != d.dim)
        lines.append(f"\n{d.dim} in {d.low}..{d.high} ({held} held; {d.sizes_run} meta runs, one per size)")
        lines.append(f"  accepted:  {d.accepted.describe(d.dim)}  [{len(d.accepted.sizes)} sizes]")
        lines.append(f"  runs:      {d.runs.describe(d.dim)}  [{len(d.runs.sizes)} sizes; forward runs, formulas aside]")
        lines.append(f"  spec:      {d.verdict}")
        for rejection in d.rejections:
            lines.append(f"  rejected ({rejection.kind}) {len(rejection.sizes)} sizes {{{ranges_text(rejection.sizes, 4)}}}: {rejection.where}")
            lines.append(f"      e.g. {d.dim}={rejection.sizes[0]}: {rejection.reason}")
    lines.append(f"\n{'OK' if report.ok else 'FAILED'}  in {report.seconds:.1f}s; sizes beyond each range are extrapolated from the period, not run")
    return "\n".join(lines) + "\n"


def _set_json(sizes: SizeSet) -> dict:
    return {"period": sizes.period, "residues": list(sizes.residues), "minimum": sizes.minimum, "maximum": sizes.maximum, "count": len(sizes.sizes), "sizes": list(sizes.sizes)}


def render_resolutions_json(report: ResolutionsReport) -> str:
    data = {
        "spec": str(report.spec.path),
        "name": report.spec.name,
        "ok": report.ok,
        "seconds": round(report.seconds, 3),
        "fallbacks": [{"stage": f.stage, "device": f.device, "reason": f.reason, "cases": f.cases} for f in report.fallbacks],
        "dims": [
            {
                "dim": d.dim,
                "range": [d.low, d.high],
                "held": d.held.as_dict(),
                "accepted": _set_json(d.accepted) | {"text": d.accepted.describe(d.dim)},
                "runs": _set_json(d.runs) | {"text": d.runs.describe(d.dim)},
                "verdict": d.verdict,
                "rejected": [{"kind": r.kind, "where": r.where, "reason": r.reason, "sizes": list(r.sizes)} for r in d.rejections],
            }
            for d in report.dims
        ],
        "results": [result_record(r) for r in report.results],
    }
    return document("resolutions", data)
