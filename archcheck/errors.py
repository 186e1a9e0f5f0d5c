"""Errors that end a command with one clear message and exit code 2, and the helpers that word them."""

from __future__ import annotations

import difflib
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

    Long option lists (thousands of module paths) are first narrowed to names that share
    a leading character or a length near the word's, so the search stays linear.
    """
    choices = list(options)
    if len(choices) > 200:
        near = [c for c in choices if c[:1] == word[:1] or abs(len(c) - len(word)) <= 2]
        choices = near[:2000]
    close = difflib.get_close_matches(word, choices, n=n, cutoff=cutoff)
    if not close:
        return ""
    shown = ", ".join(repr(c) for c in close) if n == 1 else ", ".join(close)
    return f"; did you mean {shown}?"


def first_line(exc: BaseException) -> str:
    """``TypeError: the first line of the message``: an exception as one line."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")
