"""``archcheck fuzz SPEC``: check every shape formula at cases drawn from the spec's domain."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from archcheck.commands.common import (
    add_device_argument,
    add_format_argument,
    add_spec_argument,
    check_output_path,
    progress_bar,
    write_output,
)
from archcheck.report import CI_FORMATS, render_results

if TYPE_CHECKING:
    from archcheck.fuzzing import FuzzReport


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("fuzz", help="property-test the shape formulas across the claimed domain", description=__doc__, parents=parents)
    add_spec_argument(parser)
    parser.add_argument("--examples", type=int, default=100, help="cases to draw (default 100)")
    parser.add_argument("--seed", type=int, help="random seed (default: derandomized, the same cases every run)")
    parser.add_argument("--database", type=Path, help="keep hypothesis' example database in this directory (default: none)")
    add_device_argument(parser)
    add_format_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archcheck.fuzzing import fuzz  # hypothesis: imported by this command alone
    from archcheck.spec import load_spec

    spec = load_spec(args.spec)
    check_output_path(args.output, spec)
    with progress_bar(args.examples, f"fuzz {spec.name}") as advance:
        report = fuzz(spec, examples=args.examples, seed=args.seed, progress=advance, database=args.database, device=args.device)
    write_output(render(report, args.format), args.output)
    return 0 if report.ok else 1


def render(report: FuzzReport, form: str) -> str:
    from archcheck.report.fuzz import render_fuzz_json, render_fuzz_text

    title = f"archcheck fuzz {report.spec.name}"
    if form == "json":
        return render_fuzz_json(report)
    if form in CI_FORMATS:
        note = f"smallest failing case {report.failure}" if report.failure else f"{report.cases_run} cases"
        return render_results(form, title, report.results, report.seconds, note=note)
    return render_fuzz_text(report)
