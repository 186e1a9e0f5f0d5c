"""``archcheck snapshot FACTORY|SPEC``: a spec from a model, with formulas and a domain inferred.

    archcheck snapshot archcheck.zoo.yolov4:yolov4 --kwargs num_classes=80 --input x=[B,3,H,W] -o specs/mine.yaml
    archcheck snapshot specs/yolov4.yaml -o specs/yolov4.new.yaml      # the model a spec names, afresh

The model runs on the meta device at swept sizes; each module's output is fitted with the
simplest formula that holds at every size seen (``H/8``, ``ceil(H/2)``, ``H*W/256 + 1``),
the claimed domain is the widest range on which every formula holds, and the spec is
verified against the model before it is written. Without -o it goes to stdout.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from archcheck.commands.common import (
    check_output_path,
    installed_version,
    progress_bar,
    write_output,
)
from archcheck.counting.records import CONVENTIONS
from archcheck.snapshot import DEFAULT_DEPTH


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("snapshot", help="write a spec from a model: formulas and domain inferred", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, parents=parents)
    add_source_arguments(parser)
    parser.add_argument("--depth", type=int, default=DEFAULT_DEPTH, help=f"list modules this deep inside the model's children (default {DEFAULT_DEPTH})")
    parser.add_argument("--convention", choices=list(CONVENTIONS), default="macs", help="the convention of the flops claim (default macs)")
    parser.add_argument("-o", "--output", type=Path, help="write the spec here instead of stdout (never over an input)")
    parser.set_defaults(run=run)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="a spec file, or a factory package.module:callable")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=[DIMS]", help="a factory's input, e.g. x=[B,3,H,W] (repeat for several)")
    parser.add_argument("--kwargs", action="append", default=[], metavar="K=V", help="a factory's kwargs, e.g. num_classes=80")


def run(args: argparse.Namespace) -> int:
    from archcheck.snapshot.api import snapshot, target_of
    from archcheck.snapshot.take import symbols, working_spec
    from archcheck.spec import load_spec
    from archcheck.spec.adhoc import is_factory, parse_kwargs

    target = target_of(args.source, args.input, parse_kwargs(args.kwargs))
    if args.output is not None:
        batch, swept = symbols(target)
        check_output_path(args.output, working_spec(target, {n: 1 for n in batch + swept}) if is_factory(args.source) else load_spec(args.source))
    command = "archcheck snapshot " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if sys.argv[1:2] == ["snapshot"] else ""
    with progress_bar(0, "snapshot") as tick:
        _, text = snapshot(args.source, args.input, parse_kwargs(args.kwargs), args.depth, args.convention, command or f"archcheck snapshot {args.source}", installed_version(), tick)
    write_output(text, args.output)
    return 0
