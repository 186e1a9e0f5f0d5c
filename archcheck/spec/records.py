"""The parsed spec: frozen records, each with the place in the file it came from."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

from archcheck.errors import Location, UsageError
from archcheck.spec.constraints import Constraint
from archcheck.spec.expr import Expr, ExprError
from archcheck.spec.shapes import Pattern, ShapePattern


@dataclass(frozen=True)
class Case:
    """One binding of every dimension, e.g. ``B=1, H=416, W=416``."""

    bindings: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, values: Mapping[str, int]) -> Case:
        return cls(tuple(values.items()))

    def as_dict(self) -> dict[str, int]:
        return dict(self.bindings)

    def __str__(self) -> str:
        return ", ".join(f"{name}={value}" for name, value in self.bindings)


@dataclass(frozen=True)
class Dim:
    """A dimension's claimed domain: a range, a step, and the values verify runs."""

    name: str
    values: tuple[int, ...]
    range: tuple[int, int] | None = None
    multiple_of: int | None = None
    location: Location | None = None

    def why_outside(self, value: int) -> str:
        """Why ``value`` is outside the claimed domain; "" when it is inside.

        The one definition of the domain: a ``range`` (on its ``multiple_of`` grid) claims every
        size in it; a dim with only ``values`` claims exactly those.
        """
        if self.range and not self.range[0] <= value <= self.range[1]:
            return f"{self.name}={value} is outside the range {self.range[0]}..{self.range[1]}"
        if self.multiple_of and value % self.multiple_of:
            return f"{self.name}={value} is not a multiple of {self.multiple_of}"
        if self.range is None and self.multiple_of is None and value not in self.values:
            return f"{self.name}={value} is not one of the values {', '.join(map(str, self.values))}"
        return ""


@dataclass(frozen=True)
class Input:
    """One argument of ``forward``: positional (in spec order) unless ``keyword``.

    ``low``/``high`` bound integer inputs (token ids): values are drawn from [low, high).
    """

    name: str
    pattern: ShapePattern
    dtype: str = "float32"
    location: Location | None = None
    keyword: bool = False
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class ModuleExpectation:
    """``section: {path: shape}``: the output of module ``path`` must fit ``pattern``.

    A module called several times may list a shape per call (``calls: [...]``): then
    ``calls`` holds one pattern per call, in call order, and ``pattern`` is ``calls[0]``.
    ``section`` is "modules" for a flat ``modules: {path: shape}``.
    """

    section: str
    path: str
    pattern: Pattern
    location: Location | None = None
    key_location: Location | None = None
    calls: tuple[Pattern, ...] = ()

    @property
    def names(self) -> frozenset[str]:
        return frozenset().union(self.pattern.names, *(p.names for p in self.calls))


@dataclass(frozen=True)
class Count:
    """An expected number (parameters, FLOPs) for the model (path "") or one module.

    ``slack`` is half a unit of the last digit written (``145.031M``: 500), so that a
    figure pasted from printed output holds to the precision it was printed with;
    0 for whole numbers written in full.
    """

    path: str
    value: float
    location: Location | None = None
    slack: float = 0.0


@dataclass(frozen=True)
class ParamsExpectation:
    total: Count | None = None
    trainable: Count | None = None
    modules: tuple[Count, ...] = ()
    tolerance: float | None = None  # a fraction of each expected count; None: to the written precision


@dataclass(frozen=True)
class FlopsExpectation:
    convention: str
    case: Case
    total: Count | None = None
    modules: tuple[Count, ...] = ()
    tolerance: float | None = None  # a fraction of each expected count; None: to the written precision
    location: Location | None = None


@dataclass(frozen=True)
class Spec:
    path: Path
    name: str
    factory: str
    kwargs: Mapping[str, Any]
    inputs: tuple[Input, ...]
    dims: tuple[Dim, ...]
    defines: tuple[tuple[str, Expr], ...] = ()
    modules: tuple[ModuleExpectation, ...] = ()
    outputs: Pattern | None = None
    params: ParamsExpectation | None = None
    flops: FlopsExpectation | None = None
    devices: tuple[str, ...] = ("meta", "cpu")
    rtol: float = 1e-4
    atol: float = 1e-5
    weights: Path | None = None
    description: str | None = None
    locations: Mapping[str, Location] = field(default_factory=dict)  # top-level keys and model.factory
    constraints: tuple[Constraint, ...] = ()
    device_cases: Mapping[str, str | tuple[Mapping[str, int], ...]] = field(default_factory=dict)  # ``cases:``: which cases a device runs

    def dim(self, name: str) -> Dim:
        return next(d for d in self.dims if d.name == name)

    def cases(self, overrides: Mapping[str, int] | None = None) -> list[Case]:
        """Every combination of the dims' values that meets the constraints, ``overrides`` fixing some dims.

        When ``overrides`` leave no case that meets the constraints, UsageError says why.
        """
        overrides = dict(overrides or {})
        choices = [(overrides[d.name],) if d.name in overrides else d.values for d in self.dims]
        names = [d.name for d in self.dims]
        every = [Case(tuple(zip(names, combo))) for combo in itertools.product(*choices)]
        kept = [case for case in every if not self.admits(case)]
        if every and not kept and overrides:
            shown = ", ".join(f"{n}={v}" for n, v in overrides.items())
            raise UsageError(f"--case {shown}: no case meets the spec's constraints; at {every[0]}: {self.admits(every[0])}")
        return kept

    def admits(self, case: Case) -> str:
        """Why ``case`` breaks a constraint (with where it is written); "" when it meets them all."""
        if not self.constraints:
            return ""
        try:
            env = self.env(case)
            for constraint in self.constraints:
                reason = constraint.why_not(env)
                if reason:
                    return f"{reason} (constraint at {constraint.location})" if constraint.location else reason
        except ExprError as exc:
            return f"the constraints have no value at {case}: {exc}"
        return ""

    def env(self, case: Case) -> dict[str, Fraction]:
        """Dimension values of the case plus every ``define`` evaluated at it."""
        env: dict[str, Fraction] = {name: Fraction(value) for name, value in case.bindings}
        for name, expr in self.defines:  # stored in dependency order
            env[name] = expr.value(env)
        return env

    @property
    def module_paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.path for m in self.modules))
