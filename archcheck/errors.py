"""Errors that end a command with one clear message and exit code 2, and the helpers that word them."""

from __future__ import annotations

import bisect
import difflib
import functools
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Location:
    """A place in a spec file; line and column count from 1, as editors do."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def shifted(self, columns: int) -> Location:
        return Location(self.file, self.line, self.col + columns)


@dataclass(frozen=True)
class Diagnostic:
    """One message about the input, pointing where it can."""

    message: str
    location: Location | None = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}error: {self.message}"


class ArchcheckError(Exception):
    """The input (spec, command line, model) is wrong: say so once, exit 2."""

    exit_code = 2

    def __init__(self, *diagnostics: Diagnostic | str) -> None:
        self.diagnostics = tuple(
            d if isinstance(d, Diagnostic) else Diagnostic(d) for d in diagnostics
        )
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class SpecError(ArchcheckError):
    """The spec file is not a valid archcheck spec."""


class ModelError(ArchcheckError):
    """The model named by a spec cannot be imported, built or loaded."""


class UsageError(ArchcheckError):
    """The command line or the Python call is wrong."""


def did_you_mean(word: str, options: Iterable[str], n: int = 1, cutoff: float = 0.6) -> str:
    """``"; did you mean 'SPP'?"`` for the closest options, or "" when none is close.

    Long option lists (thousands of module paths) are first narrowed to the names next to
    the word in sorted order, from the front and from the back (a typo early or late in a
    path), so difflib compares a few hundred names, not all of them.
    """
    choices = list(dict.fromkeys(options))
    if len(choices) > NEAR * 2:
        forward, backward = _orders(tuple(choices))
        choices = list(dict.fromkeys(_neighbours(word, forward) + [c[::-1] for c in _neighbours(word[::-1], backward)]))
    close = difflib.get_close_matches(word, choices, n=n, cutoff=cutoff)
    if not close:
        return ""
    shown = ", ".join(repr(c) for c in close) if n == 1 else ", ".join(close)
    return f"; did you mean {shown}?"


NEAR = 25  # names taken on each side of the word in sorted order


@functools.lru_cache(maxsize=4)  # one list of module paths, asked about many words
def _orders(choices: tuple[str, ...]) -> tuple[list[str], list[str]]:
    return sorted(choices), sorted(c[::-1] for c in choices)


def _neighbours(word: str, ordered: list[str]) -> list[str]:
    at = bisect.bisect_left(ordered, word)
    return ordered[max(0, at - NEAR) : at + NEAR]


def first_line(exc: BaseException) -> str:
    """``TypeError: the first line of the message``: an exception as one line."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")
