"""The ``archcheck`` command line. Exit codes: 0 all held, 1 a check failed, 2 bad input.

Each command module imports at its top only what its parser needs, and the work in ``run``:
``archcheck count`` never loads verify's checks nor snapshot's fitting, and ``--help`` no torch.
"""

from __future__ import annotations

import argparse
import gc
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from archcheck.commands import count as count_command
from archcheck.commands import diff as diff_command
from archcheck.commands import fuzz as fuzz_command
from archcheck.commands import graph as graph_command
from archcheck.commands import resolutions as resolutions_command
from archcheck.commands import snapshot as snapshot_command
from archcheck.commands import verify as verify_command
from archcheck.commands.common import installed_version
from archcheck.errors import ArchcheckError
from archcheck.processes import Terminated

COMMANDS = [verify_command, count_command, graph_command, fuzz_command, resolutions_command, snapshot_command, diff_command]


class _Version(argparse.Action):
    """``--version``: the installed package's metadata is read when asked, not on every run."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, default: Any = argparse.SUPPRESS, help: str = "show program's version number and exit") -> None:
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        print(f"archcheck {installed_version()}")
        parser.exit()


def global_options(suppress: bool) -> argparse.ArgumentParser:
    """--debug and --color, accepted before and after the subcommand (after: only when given)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS if suppress else False, help="show Python tracebacks")
    parser.add_argument("--color", action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS if suppress else sys.stdout.isatty(), help="colour the text report (default: when stdout is a terminal)")
    return parser


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archcheck", description="Neural-network architectures as checked contracts.", parents=[global_options(suppress=False)])
    parser.add_argument("--version", action=_Version)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers, [global_options(suppress=True)])
    return parser


@contextmanager
def torch_set_aside() -> Iterator[None]:
    """Every command runs torch. Importing it leaves ~165,000 objects that live as long as the
    process, and the cyclic collector walks them all on each full collection (~0.1 s each): freeze
    them for the command's run, and hand them back to the collector after, for callers of ``main``."""
    import torch  # noqa: F401  (first, so that the freeze takes in all it made)

    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        with torch_set_aside():
            return args.run(args)
    except ArchcheckError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"archcheck: {exc}" if "\n" not in str(exc) else f"archcheck:\n{exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("archcheck: interrupted", file=sys.stderr)
        return 130
    except Terminated as exc:  # SIGTERM/SIGHUP while children ran: they are stopped, temporary folders removed
        print(f"archcheck: {exc}", file=sys.stderr)
        return 128 + exc.signum
    except Exception as exc:
        if args.debug:
            raise
        print(f"archcheck: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
