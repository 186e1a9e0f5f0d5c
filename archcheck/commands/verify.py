"""``archcheck verify SPEC``: check the real network against the spec."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from archcheck.commands.common import (
    add_case_argument,
    add_format_argument,
    add_max_cases_argument,
    add_spec_argument,
    check_output_path,
    parse_case,
    parse_devices,
    parse_list,
    progress_bar,
    write_output,
)
from archcheck.report import CI_FORMATS, render_results

if TYPE_CHECKING:
    from archcheck.results import Report


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("verify", help="check a network against its spec", description=__doc__, parents=parents)
    add_spec_argument(parser)
    parser.add_argument("--devices", help="comma-separated: meta, cpu, cuda (each GPU), cuda:N, dp (DataParallel), ddp (DistributedDataParallel; ddp:gloo, ddp:nccl) (default: the spec's devices)")
    add_case_argument(parser)
    add_format_argument(parser)
    add_max_cases_argument(parser)
    parser.add_argument("--require", action="store_true", help="a device this machine lacks is a failure, not a skip")
    parser.add_argument("--select", help="run only these rule ids, comma-separated (e.g. shape,output,params)")
    parser.add_argument("--ignore", help="leave out these rule ids, comma-separated (e.g. ddp-batchnorm)")
    parser.add_argument("--world-size", type=int, metavar="N", help="ddp processes (default: one per GPU with nccl, 2 with gloo on the CPU)")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS", help="the longest a ddp run may go without finishing a case, process group init included (default: 600)")
    parser.add_argument("--max-memory", metavar="SIZE", help="the most memory a device's run may need by archcheck's estimate, e.g. 8G (default: what the device has free; 0: no limit)")
    parser.add_argument("--allow-tf32", action="store_true", help="let GPUs use TF32 matmuls and convolutions (off by default: it breaks parity at 1e-4)")
    parser.add_argument("--cudnn-benchmark", action="store_true", help="set torch.backends.cudnn.benchmark, as training scripts often do")
    parser.add_argument("--graph", type=Path, metavar="FILE", help="also draw the network painted with the results (.svg, .png, .pdf, .dot)")
    parser.set_defaults(run=run)


def render(report: Report, form: str, color: bool = False) -> str:
    from archcheck.report.json import render_json
    from archcheck.report.text import render_text

    title = f"archcheck verify {report.spec.name}"
    if form == "json":
        return render_json(report)
    if form in CI_FORMATS:
        return render_results(form, title, report.results, report.seconds, report.sections, note=f"{report.spec.path}; devices {', '.join(report.devices)}; {len(report.cases)} cases")
    return render_text(report, color=color)


def run(args: argparse.Namespace) -> int:
    from archcheck.memory import parse_size
    from archcheck.pipeline import verify
    from archcheck.runners import DeviceOptions
    from archcheck.spec import load_spec
    from archcheck.spec.domain import resolve_cases

    spec = load_spec(args.spec)
    case = parse_case(args.case)
    devices = parse_devices(args.devices) or list(spec.devices)
    check_output_path(args.output, spec)
    if args.graph:
        from archcheck.graph import output_format  # graphviz: only when drawing

        output_format(args.graph)  # a wrong suffix fails before the checks run
        check_output_path(args.graph, spec)
    total = len(resolve_cases(spec, case, args.max_cases)) * len(devices)
    options = DeviceOptions(allow_tf32=args.allow_tf32, cudnn_benchmark=args.cudnn_benchmark, world_size=args.world_size, timeout=args.timeout, max_memory=parse_size(args.max_memory) if args.max_memory is not None else None)
    with progress_bar(total, f"verify {spec.name}") as advance:
        report = verify(spec, devices=devices, case=case, require=args.require, progress=advance, options=options, select=parse_list(args.select), ignore=parse_list(args.ignore) or (), max_cases=args.max_cases)
    text = render(report, args.format, color=args.output is None and args.color)
    if os.environ.get("RANK", "0") == "0":  # under torchrun every rank has the report: rank 0 writes it
        write_output(text, args.output)
    if args.graph and os.environ.get("RANK", "0") == "0":
        from archcheck.graph import draw

        draw(spec, args.graph, case=report.cases[0].as_dict(), results=report.results)
    return 0 if report.ok else 1
