"""``archcheck verify SPEC``: check the real network against the spec."""

from __future__ import annotations

import argparse
from pathlib import Path

from archcheck.commands.common import (
    add_case_argument,
    add_spec_argument,
    parse_case,
    parse_devices,
    progress_bar,
    write_output,
)
from archcheck.report import RENDERERS
from archcheck.spec import load_spec
from archcheck.verify import resolve_cases, verify


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("verify", help="check a network against its spec", description=__doc__)
    add_spec_argument(parser)
    parser.add_argument("--devices", help="comma-separated: meta, cpu (default: the spec's devices)")
    add_case_argument(parser)
    parser.add_argument("--format", choices=sorted(RENDERERS), default="text")
    parser.add_argument("-o", "--output", type=Path, help="write the report here instead of stdout")
    parser.add_argument("--require", action="store_true", help="a device this machine lacks is a failure, not a skip")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    case = parse_case(args.case)
    devices = parse_devices(args.devices) or list(spec.devices)
    total = len(resolve_cases(spec, case)) * len(devices)
    with progress_bar(total, f"verify {spec.name}") as advance:
        report = verify(spec, devices=devices, case=case, require=args.require, progress=advance)
    render = RENDERERS[args.format]
    text = render(report, color=args.output is None and args.color) if args.format == "text" else render(report)
    write_output(text, args.output)
    return 0 if report.ok else 1
