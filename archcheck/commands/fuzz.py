"""``archcheck fuzz SPEC``: check every shape formula at cases drawn from the spec's domain."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from archcheck.commands.common import add_spec_argument, progress_bar, write_output
from archcheck.fuzz import FuzzReport, domain_text, fuzz
from archcheck.spec import load_spec


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fuzz", help="property-test the shape formulas across the claimed domain", description=__doc__)
    add_spec_argument(parser)
    parser.add_argument("--examples", type=int, default=100, help="cases to draw (default 100)")
    parser.add_argument("--seed", type=int, help="random seed (default: derandomized, the same cases every run)")
    parser.add_argument("--database", type=Path, help="keep hypothesis' example database in this directory (default: none)")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("-o", "--output", type=Path, help="write the report here instead of stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    with progress_bar(args.examples, f"fuzz {spec.name}") as advance:
        report = fuzz(spec, examples=args.examples, seed=args.seed, progress=advance, database=args.database)
    write_output(render_json(report) if args.format == "json" else render_text(report), args.output)
    return 0 if report.ok else 1


def render_text(report: FuzzReport) -> str:
    spec = report.spec
    seed = "derandomized" if report.seed is None else f"seed {report.seed}"
    lines = [f"archcheck fuzz {spec.path}  ({spec.name}; {domain_text(spec)}; {seed})"]
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


def render_json(report: FuzzReport) -> str:
    data = {
        "spec": str(report.spec.path),
        "ok": report.ok,
        "examples": report.examples,
        "cases_run": report.cases_run,
        "seed": report.seed,
        "seconds": round(report.seconds, 3),
        "failure": report.failure.as_dict() if report.failure else None,
        "problems": [
            {"rule": p.rule, "module": p.subject, "location": str(p.location) if p.location else None, "message": p.message, "expected": p.expected, "actual": p.actual}
            for p in report.problems
        ],
    }
    return json.dumps(data, indent=2) + "\n"
