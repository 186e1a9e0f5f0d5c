"""``archcheck resolutions SPEC``: the exact set of input sizes the network accepts, per dim."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from archcheck.commands.common import add_spec_argument, progress_bar, write_output
from archcheck.errors import UsageError
from archcheck.resolutions import DEFAULT_RANGE, ResolutionsReport, SizeSet, ranges_text, resolutions, resolve_dims
from archcheck.spec import load_spec


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("resolutions", help="find the exact set of sizes the network accepts", description=__doc__)
    add_spec_argument(parser)
    parser.add_argument("--dim", action="append", help="the dim to sweep, e.g. H (repeatable; default: every dim with a range)")
    parser.add_argument("--range", dest="span", help="sizes to run, LO:HI (default 1:1024)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("-o", "--output", type=Path, help="write the report here instead of stdout")
    parser.set_defaults(run=run)


def parse_span(text: str | None) -> tuple[int, int]:
    if not text:
        return DEFAULT_RANGE
    low, sep, high = text.partition(":")
    try:
        span = (int(low), int(high))
    except ValueError:
        span = None
    if not sep or span is None or not 1 <= span[0] <= span[1]:
        raise UsageError(f"--range takes LO:HI with 1 <= LO <= HI, e.g. 1:1024; got {text!r}")
    return span


def run(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    span = parse_span(args.span)
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    names = resolve_dims(spec, args.dim)
    with progress_bar(len(names) * (span[1] - span[0] + 1), f"resolutions {spec.name}") as advance:
        report = resolutions(spec, names, span, progress=advance, jobs=args.jobs)
    write_output(render_json(report) if args.format == "json" else render_text(report), args.output)
    return 0 if report.ok else 1


def render_text(report: ResolutionsReport) -> str:
    lines = [f"archcheck resolutions {report.spec.path}  ({report.spec.name})"]
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


def render_json(report: ResolutionsReport) -> str:
    data = {
        "spec": str(report.spec.path),
        "ok": report.ok,
        "seconds": round(report.seconds, 3),
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
    }
    return json.dumps(data, indent=2) + "\n"
