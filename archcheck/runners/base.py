"""What every runner shares: the options, the interface, the numerics flags and the CUDA probe."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Protocol

import torch

from archcheck.errors import UsageError
from archcheck.model import Builds
from archcheck.runners.records import DeviceRun
from archcheck.spec import Case, Spec

MAX_WORLD_SIZE = 64  # ddp processes archcheck starts on one machine


@dataclass(frozen=True)
class DeviceOptions:
    """How devices run: the numerics flags (restored afterwards) and the DDP processes."""

    allow_tf32: bool = False  # TF32 matmuls and convolutions on Ampere+ GPUs: off, or parity at 1e-4 fails
    cudnn_benchmark: bool = False  # cudnn autotuning, as the YOLOv4 training script sets it
    world_size: int | None = None  # ddp processes; default: one per GPU with nccl, 2 with gloo
    timeout: float = 600.0  # seconds a ddp run may go without progress (a case done), process group init included
    max_memory: int | None = None  # bytes a run may need (archcheck.memory's estimate): None, what the device has free; 0, no bound

    def __post_init__(self) -> None:
        if self.max_memory is not None and self.max_memory < 0:
            raise UsageError(f"--max-memory must be 0 (no limit) or more, got {self.max_memory}")
        if self.world_size is not None and not 1 <= self.world_size <= MAX_WORLD_SIZE:
            raise UsageError(f"the ddp world size must be between 1 and {MAX_WORLD_SIZE}, got {self.world_size}")
        if not self.timeout > 0:
            raise UsageError(f"the ddp timeout must be more than 0 seconds, got {self.timeout:g}")


class Runner(Protocol):
    name: str

    def unavailable(self) -> str:
        """Why this device cannot run here; "" when it can."""

    def run(self, spec: Spec, cases: list[Case], builds: Builds, progress: Callable[[], None]) -> DeviceRun:
        """Run the model for this device at every case and report what was seen."""


@contextmanager
def numerics(options: DeviceOptions) -> Iterator[None]:
    """TF32 and cudnn.benchmark as the options say, restored afterwards."""
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = (matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark)
    matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark = options.allow_tf32, options.allow_tf32, options.cudnn_benchmark
    try:
        yield
    finally:
        matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark = saved


def cuda_unavailable(index: int | None = None) -> str:
    """Why CUDA (or GPU ``index``) cannot be used here; "" when it can."""
    if torch.version.cuda is None and torch.version.hip is None:
        return f"this torch ({torch.__version__}) is built without CUDA"
    if not torch.cuda.is_available():
        return "no CUDA GPU is visible (torch.cuda.is_available() is False)"
    count = torch.cuda.device_count()
    if index is not None and index >= count:
        return f"there is no cuda:{index}: {count} GPU{'s' if count != 1 else ''} visible"
    return ""


def strip_module_prefix(names: Mapping[str, Any]) -> dict[str, Any]:
    """Paths of a wrapped model (DataParallel, DDP) as the model itself names them: ``module.x`` -> ``x``.

    The wrapper itself (``""``) is dropped and the wrapped model (``module``) becomes ``""``.
    """
    stripped = {}
    for name, value in names.items():
        if name == "module" or name.startswith("module."):
            stripped[name.removeprefix("module").removeprefix(".")] = value
    return stripped
