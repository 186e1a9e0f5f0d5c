"""What checking produces: a Result per claim of the spec, per device and case, and a Report of them.

Records only: no torch here, so every renderer in ``report/`` can import this module cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Union

from archcheck.errors import Location
from archcheck.spec import Case, Spec

Status = Literal["pass", "fail", "skip"]
Number = Union[int, float]


@dataclass(frozen=True)
class Result:
    """One claim checked once. A failure is a problem; its message says expected, actual and why.

    ``expected`` and ``actual`` are numbers where the claim is a number (parameters, FLOPs),
    text otherwise (a shape, a tolerance); renderers format them.
    """

    rule: str  # a rule id from checks.RULES: shape, output, crash, called, params, flops, parity, ...
    subject: str  # module path, "outputs", "params.total", a device name
    status: Status
    section: str = ""
    message: str = ""
    location: Location | None = None
    device: str = ""
    case: Case | None = None
    expected: Number | str = ""
    actual: Number | str = ""
    unit: str = ""  # of a numeric expected/actual: "MACs", "FLOPs (Darknet)"; "" for plain counts

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def headline(self) -> str:
        """``file:line:col: error: message at B=1, H=608 on cpu [rule]``, as yamllint prints."""
        where = f"{self.location}: " if self.location else ""
        level = {"fail": "error", "skip": "skipped", "pass": "ok"}[self.status]
        context = []
        if self.case is not None:
            context.append(f"at {self.case}")
        if self.device and self.device != self.subject:
            context.append(f"on {self.device}")
        tail = (" " + " ".join(context)) if context else ""
        message = self.message or f"{self.subject} holds"
        return f"{where}{level}: {message}{tail} [{self.rule}]"


CheckResult = Result  # the name before 0.2
Problem = Result  # a Result whose status is "fail"


@dataclass(frozen=True)
class Report:
    """A verify run: every result, in the order the rules ran; ``print(report)`` shows the text report."""

    spec: Spec
    devices: tuple[str, ...]
    cases: tuple[Case, ...]
    results: tuple[Result, ...]
    seconds: float = 0.0
    runs: tuple[Any, ...] = field(default=(), compare=False, repr=False)  # runners.DeviceRun: the evidence, for graphs and debugging
    sections: tuple[str, ...] = ()  # the order of the report's sections (checks.SECTIONS after the spec's own)
    ran: tuple[tuple[str, int], ...] = ()  # (device, cases it ran): a spec's ``cases:`` may run fewer on some devices

    @property
    def problems(self) -> tuple[Result, ...]:
        return tuple(r for r in self.results if r.failed)

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    def __str__(self) -> str:
        from archcheck.report.text import render_text

        return render_text(self)
