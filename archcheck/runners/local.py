"""One process, one device: ``meta`` (shapes only, no memory) or a real device (``cpu``, ``cuda:N``)."""

from __future__ import annotations

from collections import Counter
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, Callable

import torch
from torch import nn

from archcheck.errors import first_line
from archcheck.inputs import Inputs, make_inputs
from archcheck.memory import allocation_text, is_allocation_failure, refusal
from archcheck.model import Builds, Fallback
from archcheck.observe.fallback import locate, meta_cannot_tell
from archcheck.observe.hooks import preserved
from archcheck.observe.keep import freeze_tensors, keep_outputs
from archcheck.observe.trace import observe, observer
from archcheck.runners.base import DeviceOptions, cuda_unavailable, numerics
from archcheck.runners.records import DeviceRun
from archcheck.spec import Case, Spec


class LocalRunner:
    def __init__(self, name: str, device: str, options: DeviceOptions = DeviceOptions()) -> None:
        self.name, self.device, self.options = name, device, options
        self.compared = True  # another real device will be compared with this one: keep outputs for parity
        # Watchers of one case's observed forward on this device (the pipeline's flops counter), by case.
        self.during: dict[Case, Callable[[nn.Module, Inputs], AbstractContextManager[Any]]] = {}

    def unavailable(self) -> str:
        if not self.device.startswith("cuda"):
            return ""
        return cuda_unavailable(torch.device(self.device).index or 0)

    def run(self, spec: Spec, cases: list[Case], builds: Builds, progress: Callable[[], None]) -> DeviceRun:
        """Every case on this device; a run the memory estimate says will not fit, or one the allocator refuses, is a ``memory`` failure."""
        real = self.device != "meta"
        too_big = refusal(spec, cases, builds.meta, self.device, self.options.max_memory) if real else ""
        if too_big:
            return DeviceRun(self.name, failure=too_big, failure_rule="memory")
        try:
            return self._run(spec, cases, builds, progress)
        except (RuntimeError, MemoryError) as exc:
            if not is_allocation_failure(exc):
                raise
            return DeviceRun(self.name, failure=f"out of memory on {self.device}: {allocation_text(exc)}", failure_rule="memory")

    def _run(self, spec: Spec, cases: list[Case], builds: Builds, progress: Callable[[], None]) -> DeviceRun:
        keep = self.device != "meta" and self.compared
        with numerics(self.options):
            try:
                model = builds.on(self.device)
            except torch.cuda.OutOfMemoryError as exc:
                return DeviceRun(self.name, failure=f"the model does not fit on {self.device}: {first_line(exc)}", failure_rule="memory")
            observations, tensors, fallbacks = [], [], Counter[str]()
            with observer(model) as run_case:  # hooks added once for every case
                for case in cases:
                    inputs = make_inputs(spec, case, self.device)
                    watcher = self.during.get(case)
                    with preserved(model), keep_outputs(model, spec.module_paths if keep else ()) as kept:  # each case from the model's own train/eval flags
                        observation = run_case(inputs, keep, watcher(model, inputs) if watcher else None)
                    if self.device == "meta" and observation.crash and meta_cannot_tell(observation.crash.error):
                        fallbacks[locate(model, inputs)] += 1  # an op whose output shape depends on values: the CPU tells
                        observation = observe(builds.cpu, make_inputs(spec, case, "cpu"))
                    if keep and observation.crash is None:
                        tensors.append(("", case, freeze_tensors(observation.tensors, kept.get(None))))
                    observations.append((case, replace(observation, tensors=None) if keep else observation))
                    progress()
            del model
            if self.device.startswith("cuda"):
                torch.cuda.empty_cache()
        ran_on_cpu = tuple(Fallback("run", "cpu", reason, count) for reason, count in fallbacks.items())
        return DeviceRun(self.name, tuple(observations), tensors=tuple(tensors), fallbacks=ran_on_cpu)
