"""The claimed domain of a spec's dims, and the cases drawn from it: one definition for every command.

``Dim.why_outside`` says whether one size is claimed; here are the questions built on it:
which cases verify runs (``resolve_cases``), which of them lie outside the claim
(``outside``), and which sizes of a range the spec claims (``claimed_sizes``).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from archcheck.errors import UsageError, did_you_mean
from archcheck.spec.expr import ExprError
from archcheck.spec.limits import MAX_CASES, check_spec_cases
from archcheck.spec.records import Case, Dim, Spec


def resolve_cases(spec: Spec, overrides: Mapping[str, int] | None = None, max_cases: int = MAX_CASES) -> list[Case]:
    """The spec's cases, with ``overrides`` fixing dims; a dim the spec lacks, or inputs with no shape, is a usage error.

    The cases are counted before they are made: more than ``max_cases`` is an error.
    """
    names = [d.name for d in spec.dims]
    for name in overrides or {}:
        if name not in names:
            hint = did_you_mean(name, names) or f"; the spec's dims are {', '.join(names)}"
            raise UsageError(f"--case names {name}, which is not a dim of {spec.name}{hint}")
    check_spec_cases(spec, overrides, max_cases)
    cases = spec.cases(overrides)
    for each in cases:
        try:
            env = spec.env(each)
            for spec_input in spec.inputs:
                spec_input.pattern.concrete(env)
        except ExprError as exc:
            raise UsageError(f"case {each}: {exc}") from None
    return cases


def outside(spec: Spec, case: Case) -> list[tuple[Dim, str]]:
    """The dims of ``case`` whose value the spec does not claim, each with the reason."""
    found = []
    for name, value in case.bindings:
        dim = spec.dim(name)
        reason = dim.why_outside(value)
        if reason:
            found.append((dim, reason))
    return found


def claimed_sizes(dim: Dim, low: int, high: int, spec: Spec | None = None, held: Case | None = None) -> tuple[int, ...]:
    """The sizes in ``low..high`` that the spec claims for ``dim``; with ``spec`` and ``held`` (the other
    dims' values), only those whose case also meets the spec's constraints."""
    sizes = [size for size in range(low, high + 1) if not dim.why_outside(size)]
    if spec is not None and held is not None and spec.constraints:
        sizes = [size for size in sizes if not spec.admits(Case.of(held.as_dict() | {dim.name: size}))]
    return tuple(sizes)


def domain_text(spec: Spec) -> str:
    """``B in {1, 2}, H in 32..1024 step 32``: the domain fuzz draws from."""
    parts = []
    for dim in spec.dims:
        if dim.range is None:
            parts.append(f"{dim.name} in {{{', '.join(map(str, dim.values))}}}")
        else:
            step = f" step {dim.multiple_of}" if dim.multiple_of else ""
            parts.append(f"{dim.name} in {dim.range[0]}..{dim.range[1]}{step}")
    return ", ".join(parts)


def cases_for(spec: Spec, device: str, cases: Sequence[Case]) -> list[Case]:
    """The cases ``device`` runs, as the spec's ``cases:`` chooses (default: all of them).

    A runner named ``cuda:1`` follows ``cases: {cuda:1: ...}``, else ``cases: {cuda: ...}``;
    ``ddp:gloo`` follows ``ddp``. ``smallest``: the case whose inputs have the fewest elements.
    A list of dim bindings keeps the cases that match one of them.
    """
    choice = spec.device_cases.get(device, spec.device_cases.get(device.partition(":")[0], "all"))
    if choice == "all" or not cases:
        return list(cases)
    if choice == "first":
        return [cases[0]]
    if choice == "smallest":
        return [min(cases, key=lambda case: _input_elements(spec, case))]
    return [case for case in cases if any(all(case.as_dict().get(k) == v for k, v in binding.items()) for binding in choice)]


def _input_elements(spec: Spec, case: Case) -> int:
    env = spec.env(case)
    return sum(math.prod(i.pattern.concrete(env)) for i in spec.inputs)
