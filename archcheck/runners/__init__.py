"""Where the network runs: one runner per device kind, behind one small interface (``base.Runner``).

A runner builds (or copies) the model its device needs, runs every case and returns a
``DeviceRun`` of facts. It never judges: the checks do. The names a spec may use are
``archcheck.spec.devices.KINDS``; ``RUNNERS`` maps each kind to its runners.
"""

from __future__ import annotations

from typing import Callable

import torch

from archcheck.errors import UsageError
from archcheck.runners.base import DeviceOptions, Runner, cuda_unavailable
from archcheck.runners.dataparallel import DataParallelRunner
from archcheck.runners.ddp import DistributedRunner
from archcheck.runners.local import LocalRunner
from archcheck.runners.records import DeviceRun
from archcheck.spec.devices import KINDS, device_problem


def _cuda(name: str, options: DeviceOptions) -> list[Runner]:
    if name != "cuda":
        return [LocalRunner(name, name, options)]
    count = torch.cuda.device_count() if not cuda_unavailable() else 0
    if count == 0:
        return [LocalRunner("cuda", "cuda:0", options)]
    return [LocalRunner(f"cuda:{i}", f"cuda:{i}", options) for i in range(count)]


RUNNERS: dict[str, Callable[[str, DeviceOptions], list[Runner]]] = {
    "meta": lambda name, options: [LocalRunner("meta", "meta", options)],
    "cpu": lambda name, options: [LocalRunner("cpu", "cpu", options)],
    "cuda": _cuda,
    "dp": lambda name, options: [DataParallelRunner(options)],
    "ddp": lambda name, options: [DistributedRunner(name, name.partition(":")[2] or None, options)],
}
assert set(RUNNERS) == set(KINDS), "every device kind has a runner"


def runners_for(names: list[str] | tuple[str, ...], options: DeviceOptions | None = None) -> list[Runner]:
    """Runners for device names such as ``meta,cpu,cuda,dp,ddp``; unknown names are a usage error."""
    runners: list[Runner] = []
    for name in names:
        problem = device_problem(name)
        if problem:
            raise UsageError(problem)
        runners.extend(RUNNERS[name.partition(":")[0]](name, options or DeviceOptions()))
    return runners


__all__ = ["RUNNERS", "DeviceOptions", "DeviceRun", "Runner", "runners_for"]
