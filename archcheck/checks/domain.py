"""Rule ``domain``: a case outside the domain the spec claims still runs, and the report says so.

SKIP: ``--case H=600`` with ``H: {range: [32, 1024], multiple_of: 32}``: 600 is not a multiple of 32.
"""

from __future__ import annotations

from typing import Iterator

from archcheck.checks.evidence import Evidence
from archcheck.results import CheckResult
from archcheck.spec import Spec
from archcheck.spec.domain import outside

IDS = ("domain",)


def check(spec: Spec, evidence: Evidence) -> Iterator[CheckResult]:
    for case in evidence.cases:
        for dim, reason in outside(spec, case):
            yield CheckResult("domain", dim.name, "skip", section="dims", message=f"{reason}: this case is outside the domain the spec claims", location=dim.location, case=case)
