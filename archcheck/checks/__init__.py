"""Stage 4, check: every rule family in one explicit registry, keyed by rule id.

Each family is one file with its ids (``IDS``), PASS/FAIL examples in its docstring and one
function ``check(spec, evidence) -> Iterator[Result]`` that judges the evidence and never stops
at the first failure. ``FAMILIES`` fixes the order rules run in; ``SECTIONS`` the order of the
report's sections after the spec's own module sections. To add a rule: write its file, add it here.
"""

from __future__ import annotations

from types import ModuleType
from typing import Iterable, Iterator

from archcheck.checks import (
    crash,
    dataparallel,
    ddp,
    devices,
    domain,
    flops,
    params,
    parity,
    shapes,
)
from archcheck.checks.evidence import Evidence, ObservationContext
from archcheck.errors import UsageError, did_you_mean
from archcheck.results import Result
from archcheck.spec import Spec

FAMILIES: tuple[ModuleType, ...] = (domain, devices, crash, shapes, params, flops, parity, dataparallel, ddp)
RULES: dict[str, ModuleType] = {rule: family for family in FAMILIES for rule in family.IDS}
SECTIONS = ("outputs", "forward", "params", "flops", "parity", "dataparallel", "ddp", "devices", "dims")
OBSERVATION_RULES = ("crash", "shape", "called", "expr", "output")  # what one forward pass can show: fuzz and resolutions use these


def resolve_rules(select: Iterable[str] | None = None, ignore: Iterable[str] = ()) -> frozenset[str]:
    """The rule ids to run: ``select`` (default all) less ``ignore``; an unknown id is a usage error."""
    for rule in [*(select or ()), *ignore]:
        if rule not in RULES:
            hint = did_you_mean(rule, RULES) or f"; the rules are {', '.join(RULES)}"
            raise UsageError(f"unknown rule {rule!r}{hint}")
    return frozenset(select or RULES) - frozenset(ignore)


def run_checks(spec: Spec, evidence: Evidence, rules: frozenset[str] | None = None) -> Iterator[Result]:
    """Every result of every selected rule, family by family."""
    wanted = frozenset(RULES) if rules is None else rules
    for family in FAMILIES:
        if wanted.isdisjoint(family.IDS):
            continue
        for result in family.check(spec, evidence):
            if result.rule in wanted:
                yield result


__all__ = ["FAMILIES", "OBSERVATION_RULES", "RULES", "SECTIONS", "Evidence", "ObservationContext", "resolve_rules", "run_checks"]
