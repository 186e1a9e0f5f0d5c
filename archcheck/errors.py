"""Errors that end a command with one clear message and exit code 2."""

from __future__ import annotations

from dataclasses import dataclass


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
