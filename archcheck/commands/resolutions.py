"""``archcheck resolutions SPEC``: the exact set of input sizes the network accepts, per dim."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from archcheck.commands.common import (
    add_device_argument,
    add_format_argument,
    add_max_cases_argument,
    add_spec_argument,
    check_output_path,
    progress_bar,
    write_output,
)
from archcheck.errors import UsageError
from archcheck.report import CI_FORMATS, render_results

if TYPE_CHECKING:
    from archcheck.sizes import ResolutionsReport

MAX_JOBS = 64  # worker processes on one machine


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("resolutions", help="find the exact set of sizes the network accepts", description=__doc__, parents=parents)
    add_spec_argument(parser)
    parser.add_argument("--dim", action="append", help="the dim to sweep, e.g. H (repeatable; default: every dim with a range)")
    parser.add_argument("--range", dest="span", help="sizes to run, LO:HI (default 1:1024)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    add_device_argument(parser)
    add_format_argument(parser)
    add_max_cases_argument(parser)
    parser.set_defaults(run=run)


def parse_span(text: str | None) -> tuple[int, int]:
    if not text:
        from archcheck.sizes import DEFAULT_RANGE

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
    from archcheck.sizes import resolutions, resolve_dims
    from archcheck.spec import load_spec

    spec = load_spec(args.spec)
    check_output_path(args.output, spec)
    span = parse_span(args.span)
    if not 1 <= args.jobs <= MAX_JOBS:
        raise UsageError(f"--jobs must be between 1 and {MAX_JOBS}, got {args.jobs}")
    sizes = span[1] - span[0] + 1
    if sizes > args.max_cases:
        raise UsageError(f"--range {span[0]}:{span[1]} is {sizes:,} sizes; the limit is {args.max_cases:,}: sweep a smaller range or raise it with --max-cases")
    names = resolve_dims(spec, args.dim)
    with progress_bar(len(names) * (span[1] - span[0] + 1), f"resolutions {spec.name}") as advance:
        report = resolutions(spec, names, span, progress=advance, jobs=args.jobs, device=args.device)
    write_output(render(report, args.format), args.output)
    return 0 if report.ok else 1


def render(report: ResolutionsReport, form: str) -> str:
    from archcheck.report.resolutions import (
        render_resolutions_json,
        render_resolutions_text,
    )

    title = f"archcheck resolutions {report.spec.name}"
    if form == "json":
        return render_resolutions_json(report)
    if form in CI_FORMATS:
        return render_results(form, title, report.results, report.seconds)
    return render_resolutions_text(report)
