"""``archcheck diff OLD NEW``: what changed in an architecture, module by module.

Each side is a spec or a factory. Both are snapshotted the same way (archcheck snapshot) and
compared: shape formulas, module types, modules added and removed, params and compute.
Exit 0 when they are equal, 1 when they differ, 2 on bad input.

    archcheck diff specs/yolov4.yaml specs/yolov4-involution.yaml
    archcheck diff pkg.models:unet pkg.models:unet --input x=[B,3,H,W] --new-kwargs width=16
"""

from __future__ import annotations

import argparse
from pathlib import Path

from archcheck.commands.common import progress_bar, write_output
from archcheck.counting.records import CONVENTIONS
from archcheck.snapshot import DEFAULT_DEPTH


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("diff", help="what changed between two specs or models", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, parents=parents)
    parser.add_argument("old", help="a spec file or a factory package.module:callable")
    parser.add_argument("new", help="a spec file or a factory")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=[DIMS]", help="both factories' inputs, e.g. x=[B,3,H,W]")
    parser.add_argument("--kwargs", action="append", default=[], metavar="K=V", help="both factories' kwargs")
    for side in ("old", "new"):
        parser.add_argument(f"--{side}-input", action="append", default=[], metavar="NAME=[DIMS]", help=f"the {side} factory's inputs (instead of --input)")
        parser.add_argument(f"--{side}-kwargs", action="append", default=[], metavar="K=V", help=f"the {side} factory's kwargs (added to --kwargs)")
    parser.add_argument("--depth", type=int, default=DEFAULT_DEPTH, help=f"compare modules this deep (default {DEFAULT_DEPTH})")
    parser.add_argument("--convention", choices=list(CONVENTIONS), default="macs", help="the compute convention (default macs)")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text", help="text (default), json or markdown")
    parser.add_argument("-o", "--output", type=Path, help="write the diff here instead of stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archcheck.report.diff import render_diff
    from archcheck.snapshot.api import target_of
    from archcheck.snapshot.diff import compare
    from archcheck.snapshot.take import take
    from archcheck.spec.adhoc import parse_kwargs

    shared = parse_kwargs(args.kwargs)
    old = target_of(args.old, args.old_input or args.input, shared | parse_kwargs(args.old_kwargs))
    new = target_of(args.new, args.new_input or args.input, shared | parse_kwargs(args.new_kwargs))
    with progress_bar(0, "diff") as tick:
        before, *_ = take(old, args.depth, args.convention, tick)
        after, *_ = take(new, args.depth, args.convention, tick)
    diff = compare(before, after)
    write_output(render_diff(diff, args.format), args.output)
    return 0 if diff.equal else 1
