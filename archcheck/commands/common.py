"""Arguments and helpers that several commands share."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from archcheck.errors import UsageError
from archcheck.report import FORMATS
from archcheck.safe_write import check_output, write_atomic, write_stdout
from archcheck.spec.limits import MAX_CASES

if TYPE_CHECKING:
    from archcheck.spec import Spec


def parse_case(text: str | None) -> dict[str, int] | None:
    """``H=608,W=608`` -> {"H": 608, "W": 608}."""
    if not text:
        return None
    case = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name.isidentifier():
            raise UsageError(f"--case takes NAME=VALUE pairs separated by commas, e.g. H=608,W=608; got {text!r}")
        try:
            case[name] = int(value)
        except ValueError:
            raise UsageError(f"--case {name}={value}: {value!r} is not a whole number") from None
    return case


def parse_list(text: str | None) -> list[str] | None:
    """``meta, cpu`` -> ["meta", "cpu"]; None when not given."""
    return [d.strip() for d in text.split(",") if d.strip()] if text else None


parse_devices = parse_list


def add_spec_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="the spec file, e.g. specs/yolov4.yaml")


def add_case_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--case", help="fix dims, e.g. H=608,W=608 (others take the spec's values)")


def add_max_cases_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-cases", type=int, default=MAX_CASES, metavar="N", help=f"the most cases a run may make (default {MAX_CASES:,})")


def check_output_path(output: Path | None, spec: Spec) -> None:
    """Before the run: ``-o`` must not name an input (the spec, the factory's module, the weights) and must be writable."""
    if output is None:
        return
    from archcheck.factory import factory_source  # imports torch

    inputs = {spec.path: "the spec", factory_source(spec): "the factory's module", spec.weights: "the weights"}
    check_output(output, {path: label for path, label in inputs.items() if path is not None})


def write_output(text: str, output: Path | None) -> None:
    """To stdout, or to ``output`` whole or not at all (a temporary file renamed over it)."""
    if output is None:
        write_stdout(text)
    else:
        write_atomic(output, text)


def add_format_argument(parser: argparse.ArgumentParser, formats: tuple[str, ...] = FORMATS) -> None:
    parser.add_argument("--format", choices=formats, default="text", help=f"the report's format: {', '.join(formats)} (default text)")
    parser.add_argument("-o", "--output", type=Path, help="write the report here instead of stdout")


@contextmanager
def progress_bar(total: int, description: str) -> Iterator[Callable[[str, int], None]]:
    """A progress bar on stderr when it is a terminal; else one plain line per stage, for CI logs."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    if not console.is_terminal:
        stages: list[str] = []

        def line(label: str, n: int) -> None:
            if not stages or stages[-1] != label:
                stages.append(label)
                print(f"{description}: {label}", file=sys.stderr, flush=True)

        yield line
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(label: str, n: int) -> None:
            bar.update(task, advance=n, description=f"{description} [{label}]")

        yield advance


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """SPEC|FACTORY, and for a factory its ``--input`` sizes and ``--kwargs``."""
    parser.add_argument("spec", metavar="SPEC|FACTORY", help="a spec file (specs/yolov4.yaml) or a factory (package.module:callable) with --input")
    parser.add_argument("--input", action="append", default=[], metavar="SHAPE", help="with a FACTORY: an input, e.g. 1,3,224,224 or x=[B,3,H,W] (repeatable; symbolic dims take --case values)")
    parser.add_argument("--kwargs", action="append", default=[], metavar="K=V", help="with a FACTORY: keyword arguments for it, e.g. num_classes=80 (repeatable)")


def load_target(args: argparse.Namespace) -> Spec:
    """The spec file named, or a spec made from the factory named, its --input and --kwargs."""
    from archcheck.spec import load_spec
    from archcheck.spec.adhoc import adhoc_spec, is_factory, parse_kwargs

    if is_factory(args.spec):
        case = parse_case(args.case) or {}
        return adhoc_spec(args.spec, args.input, parse_kwargs(args.kwargs), {name: [value] for name, value in case.items()})
    if args.input or args.kwargs:
        given = "--input" if args.input else "--kwargs"
        raise UsageError(f"{given} is for a factory (package.module:callable); the spec {args.spec} declares its own inputs and kwargs")
    return load_spec(Path(args.spec))


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=["meta", "cpu"], help="run here only (default: meta, and the CPU for a build or a case meta cannot run, reported as a fallback)")


def installed_version() -> str:
    """The installed package's version, read from its metadata."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("archcheck")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"
