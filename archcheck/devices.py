"""Where a spec's network runs: one runner per device kind, behind one small interface.

A runner builds the model the way its device needs, runs every case and returns
one Observation per case. A device this machine lacks is skipped with a reason,
never passed. New kinds (cuda, dp, ddp) register in ``RUNNERS``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable, Protocol

import torch
from torch import nn

from archcheck.errors import UsageError
from archcheck.model import build
from archcheck.spec import Case, Spec
from archcheck.trace import Observation, observe

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


@dataclass(frozen=True)
class DeviceRun:
    """A device's observations, one per case; ``skipped`` says why it did not run."""

    device: str
    observations: tuple[tuple[Case, Observation], ...] = ()
    skipped: str = ""


class Runner(Protocol):
    name: str

    def unavailable(self) -> str:
        """Why this device cannot run here; "" when it can."""

    def run(self, spec: Spec, cases: list[Case], progress: Callable[[], None]) -> DeviceRun:
        """Build the model for this device and observe every case."""


class LocalRunner:
    """One process, one device: ``meta`` (shapes only, no memory) or a real device."""

    def __init__(self, name: str, device: str) -> None:
        self.name, self.device = name, device

    def unavailable(self) -> str:
        return ""

    def prepare(self, spec: Spec) -> nn.Module:
        if self.device == "meta":
            return build(spec, "meta")
        return build(spec, "cpu").to(self.device)

    def run(self, spec: Spec, cases: list[Case], progress: Callable[[], None]) -> DeviceRun:
        model = self.prepare(spec)
        observations = []
        for case in cases:
            inputs = make_inputs(spec, case, self.device)
            observations.append((case, observe(model, inputs, keep_tensors=self.device != "meta")))
            progress()
        return DeviceRun(self.name, tuple(observations))


RUNNERS: dict[str, Callable[[str], list[Runner]]] = {
    "meta": lambda name: [LocalRunner("meta", "meta")],
    "cpu": lambda name: [LocalRunner("cpu", "cpu")],
}


def runners_for(names: list[str] | tuple[str, ...]) -> list[Runner]:
    """Runners for device names such as ``meta,cpu``; unknown names are a usage error."""
    runners: list[Runner] = []
    for name in names:
        kind = name.split(":")[0]
        if kind not in RUNNERS:
            raise UsageError(f"unknown device {name!r}; expected one of: {', '.join(RUNNERS)}")
        runners.extend(RUNNERS[kind](name))
    return runners
