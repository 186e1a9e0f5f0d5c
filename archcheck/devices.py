"""Where a spec's network runs: one runner per device kind, behind one small interface.

A runner builds the model the way its device needs, runs every case and returns
a DeviceRun: one Observation per case (per replica or rank where there are
several), CPU copies of the outputs for the parity check, and what the runner
itself found (DataParallel pitfalls, DDP gradients, a process that died). A
device this machine lacks is skipped with a reason, never passed.

Kinds: ``meta``, ``cpu``, ``cuda`` (every visible GPU, one by one), ``cuda:N``,
``dp`` (nn.DataParallel across all visible GPUs) and ``ddp`` (see distributed.py).
"""

from __future__ import annotations

import threading
import zlib
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence

import torch
from torch import nn

from archcheck.errors import UsageError
from archcheck.model import build
from archcheck.results import CheckResult
from archcheck.spec import Case, Spec
from archcheck.spec.expr import Expr, ExprError
from archcheck.spec.shapes import Value, format_value, match
from archcheck.trace import Call, Crash, Observation, observe, summarize

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
OUTPUT = ""  # the key of the model's own output among the kept tensors (named_modules calls the model "")
Tensors = Mapping[str, tuple[Any, ...]]  # module path (OUTPUT for the model) -> CPU copy of each call's output


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
class DeviceOptions:
    """How devices run: the numerics flags (restored afterwards) and the DDP processes."""

    allow_tf32: bool = False  # TF32 matmuls and convolutions on Ampere+ GPUs: off, or parity at 1e-4 fails
    cudnn_benchmark: bool = False  # cudnn autotuning, as the YOLOv4 training script sets it
    world_size: int | None = None  # ddp processes; default: one per GPU with nccl, 2 with gloo
    timeout: float = 600.0  # seconds a ddp run may take, process group init included

    def __post_init__(self) -> None:
        if self.world_size is not None and self.world_size < 1:
            raise UsageError(f"the ddp world size must be at least 1, got {self.world_size}")
        if not self.timeout > 0:
            raise UsageError(f"the ddp timeout must be more than 0 seconds, got {self.timeout:g}")


@dataclass(frozen=True)
class DeviceRun:
    """A device's observations, one per case (and per replica or rank: ``where``).

    ``tensors`` holds (where, case, outputs) for the parity check; ``results`` what
    the runner itself found; ``skipped`` says why it did not run.
    """

    device: str
    observations: tuple[tuple[Case, Observation], ...] = ()
    skipped: str = ""
    where: tuple[str, ...] = ()  # per observation: "cuda:1" (a DataParallel replica), "rank 1"; empty: the device itself
    tensors: tuple[tuple[str, Case, Tensors], ...] = ()
    results: tuple[CheckResult, ...] = ()

    def label(self, where: str) -> str:
        return f"{self.device} {where}" if where else self.device

    def each(self) -> Iterator[tuple[str, Case, Observation]]:
        """(device label, case, observation): ``dp cuda:1`` for a replica, ``ddp rank 1`` for a rank."""
        for index, (case, observation) in enumerate(self.observations):
            yield self.label(self.where[index] if self.where else ""), case, observation


class Runner(Protocol):
    name: str

    def unavailable(self) -> str:
        """Why this device cannot run here; "" when it can."""

    def run(self, spec: Spec, cases: list[Case], progress: Callable[[], None]) -> DeviceRun:
        """Build the model for this device and observe every case."""


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


@contextmanager
def keep_outputs(model: nn.Module, paths: Sequence[str], key: Callable[[], Any] = lambda: None) -> Iterator[dict[Any, dict[str, list[Any]]]]:
    """CPU copies of the outputs of the modules at ``paths``, per ``key()`` (a replica), per call.

    Hooks are registered on the modules themselves, so they also fire in
    DataParallel's replicas (which share the hook dicts), from their threads.
    """
    modules = dict(model.named_modules())
    kept: dict[Any, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    lock = threading.Lock()

    def hook_for(path: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            copy = to_cpu(output)
            with lock:
                kept[key()][path].append(copy)

        return hook

    handles = [modules[path].register_forward_hook(hook_for(path)) for path in paths if path in modules]
    try:
        yield kept
    finally:
        for handle in handles:
            handle.remove()


def to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, (tuple, list)):
        return tuple(to_cpu(v) for v in value)
    return value


def freeze_tensors(output: Any, modules: Mapping[str, list[Any]] | None) -> dict[str, tuple[Any, ...]]:
    kept = {path: tuple(calls) for path, calls in (modules or {}).items()}
    return {OUTPUT: (output,)} | kept


def failure(spec: Spec, device: str, rule: str, message: str) -> CheckResult:
    """A device that broke down (out of memory, a dead process): a failed check, never a hang or a traceback."""
    return CheckResult(rule, device, "fail", section="devices", message=message, location=spec.locations.get("devices"), device=device)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


class LocalRunner:
    """One process, one device: ``meta`` (shapes only, no memory) or a real device (cpu, cuda:N)."""

    def __init__(self, name: str, device: str, options: DeviceOptions = DeviceOptions()) -> None:
        self.name, self.device, self.options = name, device, options

    def unavailable(self) -> str:
        if not self.device.startswith("cuda"):
            return ""
        return cuda_unavailable(torch.device(self.device).index or 0)

    def prepare(self, spec: Spec) -> nn.Module:
        if self.device == "meta":
            return build(spec, "meta")
        return build(spec, "cpu").to(self.device)

    def run(self, spec: Spec, cases: list[Case], progress: Callable[[], None]) -> DeviceRun:
        real = self.device != "meta"
        with numerics(self.options):
            try:
                model = self.prepare(spec)
            except torch.cuda.OutOfMemoryError as exc:
                return DeviceRun(self.name, results=(failure(spec, self.name, "memory", f"the model does not fit on {self.device}: {_first_line(exc)}"),))
            observations, tensors = [], []
            for case in cases:
                inputs = make_inputs(spec, case, self.device)
                with keep_outputs(model, spec.module_paths if real else ()) as kept:
                    observation = observe(model, inputs, keep_tensors=real)
                if real and observation.crash is None:
                    tensors.append(("", case, freeze_tensors(observation.tensors, kept.get(None))))
                observations.append((case, replace(observation, tensors=None) if real else observation))
                progress()
            del model
            if self.device.startswith("cuda"):
                torch.cuda.empty_cache()
        return DeviceRun(self.name, tuple(observations), tensors=tuple(tensors))


# DataParallel ------------------------------------------------------------------------------------


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


def strip_module_prefix(names: Mapping[str, Any]) -> dict[str, Any]:
    """Paths of a wrapped model (DataParallel, DDP) as the model itself names them: ``module.x`` -> ``x``.

    The wrapper itself (``""``) is dropped and the wrapped model (``module``) becomes ``""``.
    """
    stripped = {}
    for name, value in names.items():
        if name == "module" or name.startswith("module."):
            stripped[name.removeprefix("module").removeprefix(".")] = value
    return stripped


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


def observe_replicas(wrapped: nn.DataParallel, inputs: tuple[torch.Tensor, ...], keep: Sequence[str], gpu_now: Callable[[], int] = torch.cuda.current_device) -> ReplicaRun:
    """Run a real nn.DataParallel forward and record each replica's module calls.

    trace.observe cannot: replicas are new module objects, called from threads.
    Hooks on the original modules fire in every replica (replicas share the
    hook dicts); each call is recorded under the GPU its thread runs on (``gpu_now``).
    """
    model = wrapped.module
    modes = {module: module.training for module in model.modules()}
    stacks: dict[int, list[tuple[Value, ...]]] = defaultdict(list)
    calls: dict[int, dict[str, list[Call]]] = defaultdict(lambda: defaultdict(list))
    lock = threading.Lock()

    def hooks_for(path: str) -> tuple[Callable[..., None], Callable[..., None]]:
        def before(module: nn.Module, args: Any) -> None:
            with lock:
                stacks[gpu_now()].append(tuple(summarize(a) for a in args))

        def after(module: nn.Module, args: Any, output: Any) -> None:
            gpu = gpu_now()
            with lock:
                calls[gpu][path].append(Call(stacks[gpu].pop(), summarize(output)))

        return before, after

    handles = []
    try:
        for path, module in model.named_modules():
            before, after = hooks_for(path)
            handles += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]
        devices: tuple[str, ...] = ()
        with keep_outputs(model, keep, key=gpu_now) as kept, torch.no_grad():
            try:
                output = wrapped(*inputs)
                gathered = Observation(summarize(output), {}, None, to_cpu(output))
                devices = tuple(sorted({str(t.device) for t in tensors_in(output)}))
            except Exception as exc:  # a crash is an observation: the replica that raised is not known
                gathered = Observation(None, {}, Crash("", type(wrapped).__name__, tuple(summarize(t) for t in inputs), _first_line(exc)))
        replicas = {gpu: Observation(found[""][0].output if found.get("") else None, {p: tuple(c) for p, c in found.items()}) for gpu, found in sorted(calls.items())}
        return ReplicaRun(replicas, gathered, devices, {gpu: dict(found) for gpu, found in kept.items()})
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.training = training


def tensors_in(value: Any) -> list[torch.Tensor]:
    """Every tensor in an output: a tensor, nested tuples and lists, dict values."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_in(v)]
    return []


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
    if isinstance(first, tuple):
        return tuple(cat_batches([v[i] for v in values]) for i in range(len(first)))
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

    def run(self, spec: Spec, cases: list[Case], progress: Callable[[], None]) -> DeviceRun:
        gpus = list(range(torch.cuda.device_count()))
        with numerics(self.options):
            try:
                model = build(spec, "cpu").to(f"cuda:{gpus[0]}")
            except torch.cuda.OutOfMemoryError as exc:
                return DeviceRun(self.name, results=(failure(spec, self.name, "memory", f"the model does not fit on cuda:{gpus[0]}: {_first_line(exc)}"),))
            wrapped = nn.DataParallel(model, device_ids=gpus)
            results = [self._prefix_result(spec, wrapped, model)]
            observations, where, tensors = [], [], []
            batch = batch_dim(spec)
            for case in cases:
                inputs = make_inputs(spec, case, f"cuda:{gpus[0]}")
                seen = observe_replicas(wrapped, inputs, spec.module_paths)
                results += dp_case_results(spec, case, len(gpus), _rows(inputs), seen)
                if seen.gathered.crash is None:
                    tensors.append(("", case, {OUTPUT: (seen.gathered.tensors,)} | join_replicas(seen.kept)))
                if seen.gathered.crash is not None:  # the crash check reports it; which replica raised is not known
                    observations.append((case, replace(seen.gathered, tensors=None)))
                    where.append("")
                    progress()
                    continue
                rows = dict(zip(gpus, dp_split(case.as_dict()[batch], len(gpus)))) if batch else {}
                for gpu, observation in seen.replicas.items():  # each replica against the spec at its share of the batch
                    observations.append((rebind(case, batch, rows.get(gpu, case.as_dict()[batch])) if batch else case, observation))
                    where.append(f"cuda:{gpu}")
                progress()
            del wrapped, model
            torch.cuda.empty_cache()
        return DeviceRun(self.name, tuple(observations), where=tuple(where), tensors=tuple(tensors), results=tuple(results))

    def _prefix_result(self, spec: Spec, wrapped: nn.Module, model: nn.Module) -> CheckResult:
        problem = prefix_problem(list(wrapped.state_dict()), list(model.state_dict()))
        base = dict(rule="dp-state-dict", subject="state_dict keys", section="dataparallel", location=spec.locations.get("devices"), device=self.name)
        if problem:
            return CheckResult(**base, status="fail", message=f"state_dict of the DataParallel model: {problem}")
        message = "state_dict keys gain the prefix 'module.' under nn.DataParallel: save model.module.state_dict() (archcheck strips the prefix when it loads weights)"
        return CheckResult(**base, status="pass", message=message, expected="module.<key>", actual="module.<key>")


def _rows(inputs: tuple[torch.Tensor, ...]) -> int:
    return inputs[0].shape[0] if inputs and inputs[0].dim() else 0


def dp_case_results(spec: Spec, case: Case, gpus: int, batch: int, seen: ReplicaRun) -> list[CheckResult]:
    """The DataParallel pitfalls at one case: how the batch splits, and where and how the outputs gather."""
    base = dict(section="dataparallel", location=spec.locations.get("devices"), device="dp", case=case)
    rows = dp_split(batch, gpus)
    shown = "[" + ", ".join(map(str, rows)) + "]"
    if gpus == 1:
        split = CheckResult("dp-split", "batch split", "skip", message="only 1 GPU is visible: nn.DataParallel calls the module directly, with no scatter or gather", actual=shown, **base)
    elif len(rows) < gpus:
        idle = ", ".join(f"cuda:{i}" for i in range(len(rows), gpus))
        split = CheckResult("dp-split", "batch split", "skip", message=f"a batch of {batch} gives rows to {len(rows)} of {gpus} GPUs ({shown}): nn.DataParallel leaves {idle} idle, so not checked there", actual=shown, **base)
    elif len(set(rows)) > 1:
        split = CheckResult("dp-split", "batch split", "pass", message=f"a batch of {batch} splits unevenly over {gpus} GPUs as {shown}: replicas see different batch sizes (BatchNorm statistics differ in training)", actual=shown, **base)
    else:
        split = CheckResult("dp-split", "batch split", "pass", message=f"a batch of {batch} splits evenly over {gpus} GPUs as {shown}", actual=shown, **base)
    results = [split]
    gathered = seen.gathered
    if gathered.crash is not None:  # reported by the crash check
        return results
    devices = list(seen.output_devices)
    if devices != ["cuda:0"]:
        results.append(CheckResult("dp-gather", "outputs on cuda:0", "fail", message=f"the gathered outputs are on {', '.join(devices) or 'no device (no tensors)'}, expected all on cuda:0", expected="cuda:0", actual=", ".join(devices), **base))
    else:
        results.append(CheckResult("dp-gather", "outputs on cuda:0", "pass", message="outputs are gathered on cuda:0 (the loss and its memory land there)", expected="cuda:0", actual="cuda:0", **base))
    if spec.outputs is not None and gathered.output is not None:
        try:
            reason = match(spec.outputs, gathered.output, spec.env(case))
        except ExprError as exc:
            reason = f"the spec has no value here: {exc}"
        shown = format_value(gathered.output)
        status, message = ("fail", f"gathered output {shown}: {reason}") if reason else ("pass", "")
        results.append(CheckResult("output", "outputs (gathered)", status, message=message, actual=shown, **base | {"section": "outputs", "location": spec.outputs.location}))
    return results


# The registry ------------------------------------------------------------------------------------


def _cuda(name: str, options: DeviceOptions) -> list[Runner]:
    if name == "cuda":
        count = torch.cuda.device_count() if not cuda_unavailable() else 0
        if count == 0:
            return [LocalRunner("cuda", "cuda:0", options)]
        return [LocalRunner(f"cuda:{i}", f"cuda:{i}", options) for i in range(count)]
    index = name.partition(":")[2]
    if not index.isdigit():
        raise UsageError(f"device {name!r}: expected cuda or cuda:N, with N a GPU index")
    return [LocalRunner(name, name, options)]


def _ddp(name: str, options: DeviceOptions) -> list[Runner]:
    from archcheck.distributed import DistributedRunner

    backend = name.partition(":")[2] or None
    if backend not in (None, "gloo", "nccl"):
        raise UsageError(f"device {name!r}: expected ddp, ddp:gloo or ddp:nccl")
    return [DistributedRunner(name, backend, options)]


def _plain(kind: str, make: Callable[[DeviceOptions], Runner]) -> Callable[[str, DeviceOptions], list[Runner]]:
    def runners(name: str, options: DeviceOptions) -> list[Runner]:
        if name != kind:
            raise UsageError(f"device {name!r}: {kind} takes no ':' suffix")
        return [make(options)]

    return runners


RUNNERS: dict[str, Callable[[str, DeviceOptions], list[Runner]]] = {
    "meta": _plain("meta", lambda options: LocalRunner("meta", "meta", options)),
    "cpu": _plain("cpu", lambda options: LocalRunner("cpu", "cpu", options)),
    "cuda": _cuda,
    "dp": _plain("dp", DataParallelRunner),
    "ddp": _ddp,
}


def runners_for(names: list[str] | tuple[str, ...], options: DeviceOptions | None = None) -> list[Runner]:
    """Runners for device names such as ``meta,cpu,cuda,dp,ddp``; unknown names are a usage error."""
    runners: list[Runner] = []
    for name in names:
        kind = name.split(":")[0]
        if kind not in RUNNERS:
            raise UsageError(f"unknown device {name!r}; expected one of: {', '.join(RUNNERS)}")
        runners.extend(RUNNERS[kind](name, options or DeviceOptions()))
    return runners
