"""What to feed ``forward`` at a case: each input's shape, dtype, how it is passed and its value range.

A pure function of the spec, so that every runner (meta, cpu, cuda, DataParallel, DDP)
builds the same call. ``make_inputs`` should follow it::

    plan = input_plan(spec, case)
    args = [tensor(p) for p in plan if not p.keyword]
    kwargs = {p.name: tensor(p) for p in plan if p.keyword}
    model(*args, **kwargs)

where ``tensor(p)`` is ``torch.empty(p.shape, dtype=p.dtype)`` on meta, ``torch.randn`` for
floating dtypes and ``torch.randint(p.low, p.high, p.shape)`` for integer and bool dtypes.
"""

from __future__ import annotations

from typing import NamedTuple

from archcheck.spec.records import Case, Spec

DEFAULT_LOW, DEFAULT_HIGH = 0, 2  # integer inputs without low/high: 0s and 1s, as before
FLOATING = {"float32", "float16", "bfloat16", "float64"}


class PlannedInput(NamedTuple):
    name: str
    shape: tuple[int, ...]
    dtype: str  # a key of archcheck.devices.DTYPES: "float32", "int64", "bool", ...
    keyword: bool  # pass as forward(..., name=tensor); else by position, in spec order
    low: int | None  # integer and bool inputs: values drawn from [low, high); None for floating inputs
    high: int | None


def input_plan(spec: Spec, case: Case) -> list[PlannedInput]:
    """The inputs at ``case``, in spec order; raises ExprError when a shape has no value there."""
    env = spec.env(case)
    plan = []
    for spec_input in spec.inputs:
        shape = spec_input.pattern.concrete(env)
        if spec_input.dtype in FLOATING:
            low, high = None, None
        else:
            low = spec_input.low if spec_input.low is not None else DEFAULT_LOW
            high = spec_input.high if spec_input.high is not None else DEFAULT_HIGH
        plan.append(PlannedInput(spec_input.name, shape, spec_input.dtype, spec_input.keyword, low, high))
    return plan
