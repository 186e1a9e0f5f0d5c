"""The input tensors for a case: the same numbers on every device, or empty meta tensors."""

from __future__ import annotations

import zlib

import torch

from archcheck.spec import Case, Spec

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


def make_inputs(spec: Spec, case: Case, device: str | torch.device = "cpu") -> tuple[torch.Tensor, ...]:
    """The inputs for a case: seeded by the case, so every device gets the same numbers."""
    env = spec.env(case)
    generator = torch.Generator().manual_seed(zlib.crc32(str(case).encode()))
    tensors = []
    for spec_input in spec.inputs:
        shape = spec_input.pattern.concrete(env)
        dtype = DTYPES[spec_input.dtype]
        if str(device) == "meta":
            tensors.append(torch.empty(shape, dtype=dtype, device="meta"))
        elif dtype.is_floating_point:
            tensors.append(torch.randn(shape, generator=generator).to(dtype=dtype, device=device))
        else:
            tensors.append(torch.randint(0, 2, shape, generator=generator).to(dtype=dtype, device=device))
    return tuple(tensors)
