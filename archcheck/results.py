"""What checking produces: one CheckResult per claim of the spec, per device and case."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from archcheck.errors import Location
from archcheck.spec import Case

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class CheckResult:
    """One claim checked once. A failure is a Problem; its message says expected, actual and why."""

    rule: str  # shape, output, crash, called, params, flops, parity, domain, device
    subject: str  # module path, "outputs", "params.total", a device name
    status: Status
    section: str = ""
    message: str = ""
    location: Location | None = None
    device: str = ""
    case: Case | None = None
    expected: str = ""
    actual: str = ""

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
        return f"{where}{level}: {self.message}{tail} [{self.rule}]"


Problem = CheckResult  # a CheckResult whose status is "fail"
