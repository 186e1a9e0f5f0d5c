"""Hypothesis strategies for the domain a spec claims, for your own property tests.

A dim with a ``range`` draws whole numbers inside it, on its ``multiple_of`` grid
(shrinking towards the smallest); a dim with only ``values`` draws one of them.
Example::

    from hypothesis import given, settings
    from archcheck.strategies import cases
    from archcheck.spec import load_spec

    SPEC = load_spec("specs/yolov4.yaml")

    @settings(max_examples=20, deadline=None)
    @given(cases(SPEC, B=1))
    def test_heads_see_whole_sizes(case):
        assert case.as_dict()["H"] % 32 == 0
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from archcheck.errors import UsageError
from archcheck.inputs import make_inputs
from archcheck.spec import Case, Spec
from archcheck.spec.records import Dim

__all__ = ["cases", "dim_values", "inputs"]


def dim_values(dim: Dim) -> st.SearchStrategy[int]:
    """The sizes ``dim`` claims: its range on its ``multiple_of`` grid, else its values."""
    if dim.range is None:
        return st.sampled_from(dim.values)
    step = dim.multiple_of or 1
    low, high = -(-dim.range[0] // step), dim.range[1] // step
    if low > high:
        raise UsageError(f"dims.{dim.name}: no multiple of {step} lies in the range {dim.range[0]}..{dim.range[1]}")
    return st.integers(low, high).map(lambda k: k * step)


def cases(spec: Spec, **fixed: int) -> st.SearchStrategy[Case]:
    """Cases from the spec's claimed domain; ``fixed`` pins dims, e.g. ``cases(spec, B=1)``."""
    names = [d.name for d in spec.dims]
    unknown = sorted(set(fixed) - set(names))
    if unknown:
        raise UsageError(f"cases() got {', '.join(unknown)}, which the spec {spec.name} does not have; its dims are {', '.join(names)}")
    parts = [st.just(fixed[d.name]) if d.name in fixed else dim_values(d) for d in spec.dims]
    drawn = st.tuples(*parts).map(lambda values: Case(tuple(zip(names, values))))
    return drawn.filter(lambda case: not spec.admits(case)) if spec.constraints else drawn


def inputs(spec: Spec, device: str | torch.device = "meta", **fixed: int) -> st.SearchStrategy[tuple[Case, tuple[torch.Tensor, ...]]]:
    """``(case, input tensors)`` pairs; meta tensors by default (shapes only, no memory)."""
    return cases(spec, **fixed).map(lambda case: (case, make_inputs(spec, case, device)))
