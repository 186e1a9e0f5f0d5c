"""``archcheck count SPEC|FACTORY``: parameters, compute, shapes and memory per module, with the convention spelled out.

    archcheck count specs/yolov4.yaml --case H=608,W=608
    archcheck count archcheck.zoo.yolov4:yolov4 --input 1,3,416,416
    archcheck count unet:build --input x=[1,3,H,W] --case H=256 --kwargs depth=4

Exit codes: 0 counted; 1 with ``--strict`` when some op had no cost formula (the count is
incomplete, which is a finding about the model, not a mistake in the input); 2 bad input.
"""

from __future__ import annotations

import argparse
import sys

from archcheck.commands.common import (
    add_case_argument,
    add_device_argument,
    add_format_argument,
    add_max_cases_argument,
    add_target_arguments,
    check_output_path,
    load_target,
    parse_case,
    write_output,
)
from archcheck.counting.records import CONVENTIONS
from archcheck.errors import UsageError


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("count", help="count parameters and FLOPs per module", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, parents=parents)
    add_target_arguments(parser)
    add_case_argument(parser)
    add_device_argument(parser)
    parser.add_argument("--convention", choices=list(CONVENTIONS), help="macs, flops (2 x MACs) or darknet (Darknet's BFLOPs); default: the spec's flops convention, else macs")
    parser.add_argument("--engine", default="torch", help="torch (ours, meta device), fvcore, torchinfo, or all (side by side, real CPU forward for the peers)")
    parser.add_argument("--depth", type=int, default=1, help="show modules down to this depth (0: the model only; default 1)")
    add_format_argument(parser, ("text", "json", "markdown"))
    add_max_cases_argument(parser)
    parser.add_argument("--verbose", action="store_true", help="also show each module's input shapes")
    parser.add_argument("--strict", action="store_true", help="exit 1 when an op has no cost formula")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archcheck.counting import count
    from archcheck.counting.engines import ENGINES
    from archcheck.report.count import (
        render_count_markdown,
        render_json,
        render_text,
        uncounted_lines,
    )

    if args.depth < 0:
        raise UsageError(f"--depth {args.depth} must be >= 0")
    engines = {"torch": (), "all": ENGINES}.get(args.engine, (args.engine,))
    spec = load_target(args)
    check_output_path(args.output, spec)
    report = count(spec, case=parse_case(args.case), convention=args.convention, engines=engines, max_cases=args.max_cases, device=args.device)
    if args.format == "json":
        text = render_json(report)
    elif args.format == "markdown":
        text = render_count_markdown(report, depth=args.depth)
    else:
        text = render_text(report, depth=args.depth, color=args.output is None and args.color, verbose=args.verbose)
    write_output(text, args.output)
    missing = uncounted_lines(report)
    if args.strict and missing:
        print(f"archcheck: --strict: {len(missing) - 1} op(s) have no cost formula:", file=sys.stderr)
        print("\n".join(missing[1:]), file=sys.stderr)
        return 1
    return 0
