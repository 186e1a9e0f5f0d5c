"""Will a run fit? An estimate made on the meta model, and the memory a device has free.

A real device runs only when the estimate fits: else the device's run is a failed ``memory``
result (the spec is not wrong and other devices still report), not an out-of-memory kill
half way. The estimate, for the largest case (by input elements):

    weights (parameters and buffers)
  + the peak of live tensors during the forward (a dispatch mode on meta counts every new
    tensor's bytes and frees them as they die; views and in-place ops allocate nothing)
  + the kept outputs for parity (model output and declared modules), for every case
    (scaled from the largest case by input elements)
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from archcheck.errors import UsageError
from archcheck.inputs import call, make_inputs
from archcheck.observe.fastmeta import fast_meta
from archcheck.observe.hooks import watch
from archcheck.spec import Case, Spec

UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
ALLOCATION_FAILED = ("can't allocate memory", "DefaultCPUAllocator", "out of memory", "std::bad_alloc")


def human_bytes(size: int) -> str:
    """1.5 GiB, 300 MiB, 12 KiB."""
    for unit, name in (("T", "TiB"), ("G", "GiB"), ("M", "MiB"), ("K", "KiB")):
        if size >= UNITS[unit]:
            return f"{size / UNITS[unit]:.3g} {name}"
    return f"{size} B"


def parse_size(text: str) -> int:
    """``8G``, ``512M``, ``1.5T``, ``1000000`` (bytes) -> bytes; ``0`` means no limit."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text, re.IGNORECASE)
    if not found:
        raise UsageError(f"--max-memory {text!r} is not a size: write e.g. 8G, 512M or 0 (no limit)")
    return int(float(found[1]) * UNITS[found[2].upper()])


def is_allocation_failure(exc: BaseException) -> bool:
    """The allocator refused (not a bug): MemoryError, or torch's 'can't allocate memory'."""
    return isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and any(words in str(exc) for words in ALLOCATION_FAILED))


def allocation_text(exc: BaseException) -> str:
    """A refused allocation in a few words: ``can't allocate 1.5 TiB`` (torch's message names the bytes)."""
    tried = re.search(r"tried to allocate (\d+) bytes", str(exc))
    if tried:
        return f"can't allocate {human_bytes(int(tried[1]))}"
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@dataclass(frozen=True)
class Estimate:
    weights: int
    activations: int  # the peak of live tensors in one forward of the largest case
    kept: int  # the outputs kept for parity, over every case
    case: Case

    @property
    def total(self) -> int:
        return self.weights + self.activations + self.kept

    def __str__(self) -> str:
        return f"weights {human_bytes(self.weights)}, activations {human_bytes(self.activations)} at {self.case}, kept outputs {human_bytes(self.kept)}"


class _LiveBytes(TorchDispatchMode):
    """Counts the bytes of the tensors that ops make, as they are made and as they die."""

    def __init__(self) -> None:
        super().__init__()
        self.live = self.peak = 0

    @classmethod
    def _should_skip_dynamo(cls) -> bool:  # never traced by dynamo: don't import it (1.4 s) to say so
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        if func._schema.is_mutable or any(r.alias_info is not None for r in func._schema.returns):
            return out  # in place, or a view: no new memory
        for tensor in tree_leaves(out):
            if isinstance(tensor, torch.Tensor):
                size = tensor.numel() * tensor.element_size()
                self.live += size
                self.peak = max(self.peak, self.live)
                weakref.finalize(tensor, self._free, size)
        return out

    def _free(self, size: int) -> None:
        self.live -= size


def estimate(spec: Spec, cases: list[Case], meta: nn.Module, keep: bool = True) -> Estimate:
    """What a real run of ``cases`` needs, from one meta forward of the largest case.

    ``keep``: the run keeps outputs for parity (a cpu or cuda run does; a DDP rank compares
    case by case and keeps only one case's).
    """
    sizes = {case: _elements(make_inputs(spec, case, "meta")) for case in cases}
    largest = max(cases, key=lambda case: sizes[case])
    weights = sum(t.numel() * t.element_size() for t in [*meta.parameters(), *meta.buffers()])
    kept = [0]

    def after(path: str, module: nn.Module, args: object, output: object) -> None:
        kept[0] += sum(t.numel() * t.element_size() for t in tree_leaves(output) if isinstance(t, torch.Tensor))

    inputs = make_inputs(spec, largest, "meta")
    counter = _LiveBytes()
    try:
        with torch.no_grad(), watch(meta, after=after, paths=[*spec.module_paths, ""] if keep else []), fast_meta(inputs), counter:  # the counter sees every op first
            call(meta, inputs)
    except Exception:
        return Estimate(weights, 0, 0, largest)  # the meta run fails: the shape checks say why; judge by the weights
    input_bytes = sum(t.numel() * t.element_size() for t in tree_leaves((inputs.args, inputs.kwargs)) if isinstance(t, torch.Tensor))
    scale = sum(sizes.values()) / sizes[largest] if sizes[largest] else len(cases)
    return Estimate(weights, counter.peak + input_bytes, int(kept[0] * scale) if keep else 0, largest)


def _elements(inputs: object) -> int:
    return sum(t.numel() for t in tree_leaves((inputs.args, inputs.kwargs)) if isinstance(t, torch.Tensor))  # type: ignore[attr-defined]


def available(device: str) -> int | None:
    """Bytes free for a new run on ``device``: MemAvailable (and the cgroup's room) for the CPU, free memory on a GPU."""
    if device.startswith("cuda"):
        try:
            return torch.cuda.mem_get_info(torch.device(device))[0]
        except Exception:
            return None
    room = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                room.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            room.append(int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text()))
    except (OSError, ValueError):
        pass
    return min(room) if room else None


def refusal(spec: Spec, cases: list[Case], meta: nn.Module, device: str, max_memory: int | None, processes: int = 1, keep: bool = True) -> str:
    """Why ``cases`` should not run on ``device`` ("" when they fit).

    ``max_memory``: the bound (None: what the device has free; 0: no bound). ``processes``:
    that many processes on this device run the same model (DDP ranks).
    """
    if max_memory == 0 or not cases:
        return ""
    limit = max_memory if max_memory is not None else available(device)
    if limit is None:
        return ""
    need = estimate(spec, cases, meta, keep)
    total = need.total * processes
    if total <= limit:
        return ""
    each = f"{processes} processes, each " if processes > 1 else ""
    bound = f"--max-memory {human_bytes(limit)}" if max_memory is not None else f"{human_bytes(limit)} available"
    return f"the run needs about {human_bytes(total)} on {device} ({each}{need}), more than {bound}; run fewer or smaller cases, or set --max-memory SIZE (0: no limit)"
