"""nn.DataParallel across every visible GPU: each replica's calls, the batch split, the gather.

Facts only (``ReplicaCase``, the state_dict prefix); ``checks/dataparallel.py`` judges them.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

from archcheck.errors import first_line
from archcheck.inputs import Inputs, call, make_inputs
from archcheck.model import Builds
from archcheck.observe.hooks import watch
from archcheck.observe.keep import OUTPUT, keep_outputs
from archcheck.observe.trace import Call, Crash, Observation, summarize
from archcheck.observe.tree import tensors_in, to_cpu
from archcheck.runners.base import (
    DeviceOptions,
    cuda_unavailable,
    numerics,
)
from archcheck.runners.records import DeviceRun, ReplicaCase
from archcheck.spec import Case, Spec
from archcheck.spec.expr import Expr
from archcheck.spec.shapes import Value


def dp_split(batch: int, devices: int) -> list[int]:
    """Rows per replica when nn.DataParallel scatters ``batch`` rows over ``devices`` GPUs.

    Scatter uses ``Tensor.chunk``: ceil(batch/devices) rows each, so some GPUs may get none.
    """
    if batch <= 0:
        return []
    size = -(-batch // devices)
    return [min(size, batch - start) for start in range(0, batch, size)]


def batch_dim(spec: Spec) -> str:
    """The dim that names dim 0 of the first input (``B`` in ``x: [B, 3, H, W]``); "" when none does."""
    first = spec.inputs[0].pattern.dims[0] if spec.inputs and spec.inputs[0].pattern.dims else None
    names = {d.name for d in spec.dims}
    return first.source.strip() if isinstance(first, Expr) and first.source.strip() in names else ""


def rebind(case: Case, name: str, value: int) -> Case:
    return Case(tuple((n, value if n == name else v) for n, v in case.bindings))


def prefix_problem(wrapped_keys: Sequence[str], keys: Sequence[str]) -> str:
    """Why a wrapper's state_dict keys are not the model's keys with ``module.`` in front; "" when they are."""
    expected = ["module." + k for k in keys]
    if list(wrapped_keys) == expected:
        return ""
    missing = sorted(set(expected) - set(wrapped_keys))
    return f"{len(missing)} keys are not the model's keys prefixed with 'module.' (first: {missing[0] if missing else next(iter(wrapped_keys), '')})"


@dataclass(frozen=True)
class ReplicaRun:
    """One real nn.DataParallel forward: each replica's calls by GPU, the gathered output, kept tensors."""

    replicas: Mapping[int, Observation]
    gathered: Observation  # the output as gathered, with its tensors on the CPU
    output_devices: tuple[str, ...]  # where the gathered output tensors were
    kept: Mapping[int, Mapping[str, list[Any]]]  # GPU -> module path -> each call's output


def observe_replicas(wrapped: nn.DataParallel, inputs: Inputs | tuple[torch.Tensor, ...], keep: Sequence[str], gpu_now: Callable[[], int] = torch.cuda.current_device) -> ReplicaRun:
    """Run a real nn.DataParallel forward and record each replica's module calls.

    trace.observe cannot: replicas are new module objects, called from threads.
    Hooks on the original modules fire in every replica (replicas share the
    hook dicts); each call is recorded under the GPU its thread runs on (``gpu_now``).
    """
    model = wrapped.module
    stacks: dict[int, list[tuple[Value, ...]]] = defaultdict(list)
    calls: dict[int, dict[str, list[Call]]] = defaultdict(lambda: defaultdict(list))
    lock = threading.Lock()

    def before(path: str, module: nn.Module, args: Any) -> None:
        with lock:
            stacks[gpu_now()].append(tuple(summarize(a) for a in args))

    def after(path: str, module: nn.Module, args: Any, output: Any) -> None:
        gpu = gpu_now()
        with lock:
            calls[gpu][path].append(Call(stacks[gpu].pop(), summarize(output)))

    devices: tuple[str, ...] = ()
    with watch(model, before, after), keep_outputs(model, keep, key=gpu_now) as kept, torch.no_grad():
        try:
            output = call(wrapped, inputs)
            gathered = Observation(summarize(output), {}, None, to_cpu(output))
            devices = tuple(sorted({str(t.device) for t in tensors_in(output)}))
        except Exception as exc:  # a crash is an observation: the replica that raised is not known
            gathered = Observation(None, {}, Crash("", type(wrapped).__name__, tuple(summarize(t) for t in inputs), first_line(exc)))
    replicas = {gpu: Observation(found[""][0].output if found.get("") else None, {p: tuple(c) for p, c in found.items()}) for gpu, found in sorted(calls.items())}
    return ReplicaRun(replicas, gathered, devices, {gpu: dict(found) for gpu, found in kept.items()})


def join_replicas(kept: Mapping[Any, Mapping[str, list[Any]]]) -> dict[str, tuple[Any, ...]]:
    """Each module's outputs, call by call, joined over the replicas (in GPU order) as gather joins them."""
    order = sorted(kept)
    if not order:
        return {}
    joined = {}
    for path, first_calls in kept[order[0]].items():
        joined[path] = tuple(cat_batches([kept[gpu][path][call] for gpu in order]) for call in range(len(first_calls)))
    return joined


def cat_batches(values: Sequence[Any]) -> Any:
    """Outputs of replicas as one batch, along dim 0; non-tensors are taken from the first."""
    first = values[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(list(values)) if first.dim() > 0 else first
    if isinstance(first, (tuple, list)):
        return tuple(cat_batches([v[i] for v in values]) for i in range(len(first)))
    if isinstance(first, dict):
        return {key: cat_batches([v[key] for v in values]) for key in first}
    return first


class DataParallelRunner:
    """nn.DataParallel across every visible GPU: per-replica shapes, the gather, the batch split."""

    name = "dp"

    def __init__(self, options: DeviceOptions = DeviceOptions()) -> None:
        self.options = options

    def unavailable(self) -> str:
        reason = cuda_unavailable()
        if reason:
            return f"{reason}; without GPUs nn.DataParallel is a pass-through that runs the plain module, which proves nothing"
        return ""

    def run(self, spec: Spec, cases: list[Case], builds: Builds, progress: Callable[[], None]) -> DeviceRun:
        gpus = list(range(torch.cuda.device_count()))
        with numerics(self.options):
            try:
                model = builds.on(f"cuda:{gpus[0]}")
            except torch.cuda.OutOfMemoryError as exc:
                return DeviceRun(self.name, failure=f"the model does not fit on cuda:{gpus[0]}: {first_line(exc)}", failure_rule="memory")
            wrapped = nn.DataParallel(model, device_ids=gpus)
            state_dict_problem = prefix_problem(list(wrapped.state_dict()), list(model.state_dict()))
            observations, where, tensors, facts = [], [], [], []
            batch = batch_dim(spec)
            for case in cases:
                inputs = make_inputs(spec, case, f"cuda:{gpus[0]}")
                seen = observe_replicas(wrapped, inputs, spec.module_paths)
                rows = inputs[0].shape[0] if len(inputs) and inputs[0].dim() else 0
                facts.append(ReplicaCase(case, len(gpus), tuple(dp_split(rows, len(gpus))), replace(seen.gathered, tensors=None), seen.output_devices))
                progress()
                if seen.gathered.crash is not None:  # the crash check reports it; which replica raised is not known
                    observations.append((case, replace(seen.gathered, tensors=None)))
                    where.append("")
                    continue
                tensors.append(("", case, {OUTPUT: (seen.gathered.tensors,)} | join_replicas(seen.kept)))
                shares = dict(zip(gpus, dp_split(case.as_dict()[batch], len(gpus)))) if batch else {}
                for gpu, observation in seen.replicas.items():  # each replica against the spec at its share of the batch
                    observations.append((rebind(case, batch, shares.get(gpu, case.as_dict()[batch])) if batch else case, observation))
                    where.append(f"cuda:{gpu}")
            del wrapped, model
            torch.cuda.empty_cache()
        return DeviceRun(self.name, tuple(observations), where=tuple(where), tensors=tuple(tensors), replicas=tuple(facts), state_dict_problem=state_dict_problem)
