"""Bounds on what a spec may ask for, so that every hostile or mistaken spec ends in a clear error.

A spec is data (DESIGN.md, "Trust model"): it must not be able to make archcheck
read forever, recurse until Python gives up, build a billion YAML nodes or
compute a number with a billion digits. Each limit here is far above what a
real architecture needs.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from archcheck.errors import Diagnostic, Location, SpecError

MAX_SPEC_BYTES = 1 << 20  # 1 MiB: the largest spec file read
MAX_YAML_NODES = 20_000  # values once aliases are expanded: real specs hold hundreds; PyYAML reads 20,000 in ~0.3 s
MAX_YAML_DEPTH = 100  # nesting of lists and mappings
MAX_EXPR_CHARS = 1_000  # length of one expression's text
MAX_EXPR_NODES = 200  # names, numbers, operators and calls in one expression
MAX_EXPR_BITS = 64  # every numerator and denominator stays below 2**64
MAX_DIM_VALUE = 2**31 - 1  # a dim value or range bound, in either direction
MAX_CASES = 10_000  # cases one run may make from the dims' values


def shown_number(value: int) -> str:
    """A number for a message: its digits, or how many digits it has when that is many."""
    digits = str(abs(value))
    return str(value) if len(digits) <= 24 else f"{'-' if value < 0 else ''}a {len(digits)}-digit number"


def dim_faults(
    name: str, values: Sequence[int], bounds: Sequence[int] | None, multiple_of: int | None, size_of: str | None
) -> list[tuple[tuple[str | int, ...], str]]:
    """(path under ``dims.<name>``, message) for each number of a dim that is too large, or below 1
    although the dim is a size of input ``size_of``."""
    numbers = [(("values", i), v) for i, v in enumerate(values)] + [(("range", i), v) for i, v in enumerate(bounds or ())]
    numbers += [(("multiple_of",), multiple_of)] if multiple_of is not None else []
    faults = []
    for where, value in numbers:
        dotted = f"dims.{name}.{where[0]}"
        if abs(value) > MAX_DIM_VALUE:
            faults.append((where, f"{dotted}: {shown_number(value)} is too large; a dim stays within ±{MAX_DIM_VALUE:,}"))
        elif size_of and value < 1 and where[0] == "values":
            faults.append((where, f"{dotted}: {name}={value} is a size of input {size_of}, so it must be at least 1"))
        elif size_of and value < 1 and where == ("range", 0):
            faults.append((where, f"{dotted} starts at {value}, but {name} is a size of input {size_of}: start it at 1 or more"))
    return faults


def case_factors(dims: Sequence, overrides: Mapping[str, int] | None = None) -> tuple[int, ...]:
    """How many values each dim contributes: 1 when ``overrides`` fixes it."""
    overrides = overrides or {}
    return tuple(1 if d.name in overrides else len(d.values) for d in dims)


def count_cases(dims: Sequence, overrides: Mapping[str, int] | None = None) -> int:
    """The number of cases ``Spec.cases(overrides)`` would make, without making them."""
    return math.prod(case_factors(dims, overrides))


def check_case_count(
    count: int, cap: int = MAX_CASES, location: Location | None = None, factors: Sequence[int] = ()
) -> None:
    """SpecError when ``count`` cases exceed ``cap``; ``factors`` (values per dim) explain the count."""
    if count <= cap:
        return
    product = f" ({' x '.join(str(f) for f in factors)})" if len(factors) > 1 else ""
    message = (
        f"the spec's dims make {count:,} cases{product}; the limit is {cap:,}: "
        "use fewer values or raise it with --max-cases"
    )
    raise SpecError(Diagnostic(message, location))


def check_spec_cases(spec, overrides: Mapping[str, int] | None = None, cap: int = MAX_CASES) -> None:  # type: ignore[no-untyped-def]
    """``check_case_count`` for a Spec: call it before ``spec.cases(overrides)``."""
    factors = case_factors(spec.dims, overrides)
    check_case_count(math.prod(factors), cap, spec.locations.get("dims"), factors)
