"""``archcheck graph SPEC|FACTORY -o yolov4.svg``: draw the network, painted with the check results.

    archcheck graph specs/yolov4.yaml -o yolov4.svg
    archcheck graph archcheck.zoo.yolov4:yolov4 --input 1,3,416,416 --depth 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

from archcheck.commands.common import (
    add_case_argument,
    add_device_argument,
    add_target_arguments,
    check_output_path,
    load_target,
    parse_case,
)


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("graph", help="draw the network with graphviz, coloured by the checks", description=__doc__, parents=parents)
    add_target_arguments(parser)
    parser.add_argument("-o", "--output", type=Path, help="the diagram: .svg, .png, .pdf or .dot (default: SPEC's name, or the factory's callable, + .svg)")
    parser.add_argument("--depth", type=int, help="modules this many path segments deep are nodes (default: the modules the spec names)")
    add_case_argument(parser)
    add_device_argument(parser)
    parser.add_argument("--params", action="store_true", help="write each node's parameter count")
    parser.add_argument("--flops", nargs="?", const="spec", choices=["macs", "flops", "darknet", "spec"], help="write each node's compute, in this convention (default: the spec's, else macs)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archcheck.spec.adhoc import is_factory

    spec = load_target(args)
    output = args.output or Path((spec.name if is_factory(args.spec) else Path(args.spec).stem) + ".svg")
    check_output_path(output, spec)
    from archcheck.graph import draw  # graphviz: imported by this command alone

    drawing = draw(spec, output, depth=args.depth, case=parse_case(args.case), params=args.params, flops=args.flops, device=args.device)
    print(drawing)
    return 1 if drawing.failed or drawing.crash else 0
