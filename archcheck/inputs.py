"""The inputs for a case: the same numbers on every device, or empty meta tensors.

``Inputs`` holds what ``forward`` is called with: positional tensors in spec order, and
the inputs a spec declares ``keyword: true`` by name.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

import torch
from torch import nn

from archcheck.spec import Case, Spec
from archcheck.spec.inputs_plan import PlannedInput, input_plan

DTYPES = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float64": torch.float64,
    "int64": torch.int64,
    "int32": torch.int32,
    "uint8": torch.uint8,
    "bool": torch.bool,
}


@dataclass(frozen=True)
class Inputs:
    """``model(*args, **kwargs)``; iterating gives every tensor, positional first."""

    args: tuple[torch.Tensor, ...]
    kwargs: Mapping[str, torch.Tensor] = field(default_factory=dict)
    names: tuple[str, ...] = ()  # of the positional inputs, in order

    def __iter__(self) -> Iterator[torch.Tensor]:
        return iter((*self.args, *self.kwargs.values()))

    def __len__(self) -> int:
        return len(self.args) + len(self.kwargs)

    def __getitem__(self, index: int) -> torch.Tensor:
        return (*self.args, *self.kwargs.values())[index]

    def named(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.names, self.args)) | dict(self.kwargs)

    def split(self, parts: int, index: int) -> Inputs:
        """This part of every input along dim 0 (``tensor_split``), as a DistributedSampler would give rows."""
        return Inputs(tuple(t.tensor_split(parts)[index] for t in self.args), {k: t.tensor_split(parts)[index] for k, t in self.kwargs.items()}, self.names)


def call(model: nn.Module, inputs: Inputs | Iterable[torch.Tensor]) -> Any:
    """``model(*args, **kwargs)`` for Inputs; ``model(*inputs)`` for a plain sequence of tensors."""
    if isinstance(inputs, Inputs):
        return model(*inputs.args, **inputs.kwargs)
    return model(*inputs)


def make_inputs(spec: Spec, case: Case, device: str | torch.device = "cpu") -> Inputs:
    """The inputs for a case: seeded by the case, so every device gets the same numbers."""
    generator = torch.Generator().manual_seed(zlib.crc32(str(case).encode()))
    plan = input_plan(spec, case)
    tensors = [_tensor(p, device, generator) for p in plan]
    args = tuple(t for p, t in zip(plan, tensors) if not p.keyword)
    kwargs = {p.name: t for p, t in zip(plan, tensors) if p.keyword}
    return Inputs(args, kwargs, tuple(p.name for p in plan if not p.keyword))


def _tensor(planned: PlannedInput, device: str | torch.device, generator: torch.Generator) -> torch.Tensor:
    dtype = DTYPES[planned.dtype]
    if str(device) == "meta":
        return torch.empty(planned.shape, dtype=dtype, device="meta")
    if dtype.is_floating_point:
        return torch.randn(planned.shape, generator=generator).to(dtype=dtype, device=device)
    assert planned.low is not None and planned.high is not None
    return torch.randint(planned.low, planned.high, planned.shape, generator=generator).to(dtype=dtype, device=device)
