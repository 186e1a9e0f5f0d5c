"""DistributedDataParallel: the runner, its launcher, and the worker that every rank runs.

archcheck launches the processes itself (spawned, talking over a free port on
127.0.0.1; gloo on CPU, nccl with one GPU per process). Under ``torchrun``
(RANK, WORLD_SIZE and LOCAL_RANK set) the same worker runs in this process
and the ranks share their reports, so a check can span several machines.

Each rank runs every case on the full batch through the DDP-wrapped model
(eval mode), then one training step on its own slice of the first case's
batch; it reports facts (a RankReport), which checks/ddp.py judges.
A rank that raises or dies ends the run with its error; every wait has a timeout.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from archcheck.devices import DeviceOptions, DeviceRun, cuda_unavailable, failure, freeze_tensors, keep_outputs, make_inputs, numerics, strip_module_prefix, tensors_in
from archcheck.errors import ArchcheckError
from archcheck.model import build
from archcheck.spec import Case, Spec
from archcheck.trace import Observation, observe


@dataclass(frozen=True)
class StepReport:
    """One training step (train mode, forward, backward) under DDP, as one rank saw it."""

    case: Case | None = None
    rows: int = 0  # the rows of the batch this rank trained on
    error: str = ""
    unused: tuple[str, ...] = ()  # parameters that got no gradient
    never_called: tuple[str, ...] = ()  # modules with parameters that never ran in forward
    batchnorm: tuple[str, ...] = ()  # BatchNorm layers (not SyncBatchNorm): per-process statistics in train mode
    unequal: tuple[str, ...] = ()  # parameters whose gradient differs between ranks beyond rtol/atol
    worst_param: str = ""
    worst_abs: float = 0.0  # largest difference of one gradient element between two ranks
    worst_rel: float = 0.0


@dataclass(frozen=True)
class RankReport:
    """What one rank saw; pickled from the worker to the launcher (shapes, and CPU tensors for parity)."""

    rank: int
    world_size: int
    device: str
    observations: tuple[tuple[Case, Observation], ...]
    tensors: tuple[tuple[Case, Any], ...]
    step: StepReport


class DistributedFailure(Exception):
    """A rank raised, died or timed out: the message says which and why."""


def in_torchrun() -> bool:
    return all(name in os.environ for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))


def default_backend() -> str:
    return "gloo" if cuda_unavailable() else "nccl"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DistributedRunner:
    """``ddp`` (gloo on CPU, nccl on GPUs), ``ddp:gloo`` or ``ddp:nccl``."""

    def __init__(self, name: str, backend: str | None = None, options: DeviceOptions = DeviceOptions()) -> None:
        self.name, self.options = name, options
        self.backend = backend or default_backend()
        gpus = torch.cuda.device_count() if self.backend == "nccl" and not cuda_unavailable() else 0
        self.world_size = options.world_size or (gpus if self.backend == "nccl" else 2)

    def unavailable(self) -> str:
        if not dist.is_available():
            return f"this torch ({torch.__version__}) is built without torch.distributed"
        if in_torchrun():
            return ""
        if self.backend == "gloo":
            return "" if dist.is_gloo_available() else f"this torch ({torch.__version__}) has no gloo backend"
        reason = cuda_unavailable() or ("" if dist.is_nccl_available() else f"this torch ({torch.__version__}) has no nccl backend")
        if reason:
            return f"{reason}; nccl needs GPUs (ddp:gloo runs on the CPU)"
        if self.world_size > torch.cuda.device_count():
            return f"nccl needs one GPU per process: {self.world_size} processes, {torch.cuda.device_count()} GPUs visible"
        return ""

    def run(self, spec: Spec, cases: list[Case], progress: Callable[[], None]) -> DeviceRun:
        from archcheck.checks.ddp import check_ranks

        try:
            reports = gather_torchrun(spec, cases, self.backend, self.options) if in_torchrun() else launch(spec, cases, self.world_size, self.backend, self.options)
        except DistributedFailure as exc:
            return DeviceRun(self.name, results=(failure(spec, self.name, "ddp-process", str(exc)),))
        finally:
            for _ in cases:
                progress()
        observations = tuple(item for report in reports for item in report.observations)
        where = tuple(f"rank {report.rank}" for report in reports for _ in report.observations)
        tensors = tuple((f"rank {report.rank}", case, kept) for report in reports for case, kept in report.tensors)
        results = tuple(check_ranks(spec, self.name, reports))
        return DeviceRun(self.name, observations, where=where, tensors=tensors, results=results)


# The launcher --------------------------------------------------------------------------------


def launch(spec: Spec, cases: list[Case], world_size: int, backend: str, options: DeviceOptions) -> list[RankReport]:
    """Start ``world_size`` ranks on this machine and collect their reports; raise DistributedFailure.

    Ranks are fresh interpreters (``python -m archcheck.distributed FOLDER RANK``), not
    multiprocessing children: those re-run the caller's main script. They get this
    process's sys.path, so the spec's factory imports there as it does here.
    """
    with tempfile.TemporaryDirectory(prefix="archcheck-ddp-") as name:
        folder = Path(name)
        threads = torch.get_num_threads()  # as here: CPU kernels pick their algorithm by thread count, and parity compares with this process
        (folder / "job.pkl").write_bytes(pickle.dumps((spec, cases, world_size, backend, options, free_port(), threads)))
        environment = os.environ | {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "TORCH_CPP_LOG_LEVEL": os.environ.get("TORCH_CPP_LOG_LEVEL", "ERROR")}
        processes = []
        try:
            for rank in range(world_size):
                with open(folder / f"rank{rank}.log", "wb") as log:
                    command = [sys.executable, "-m", "archcheck.distributed", str(folder), str(rank)]
                    processes.append(subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT))
            failed = _wait(processes, time.monotonic() + options.timeout)
        finally:
            _stop(processes)
        if failed is None:
            raise DistributedFailure(f"the {world_size} ddp processes did not finish within {options.timeout:g} s; they were stopped")
        if failed >= 0:
            raise DistributedFailure(describe_failure(folder, [p.returncode for p in processes], failed))
        return [pickle.loads((folder / f"rank{rank}.pkl").read_bytes()) for rank in range(world_size)]


def _wait(processes: list[subprocess.Popen], deadline: float) -> int | None:
    """-1 when every process ended well; the rank of the first that failed; None at the deadline."""
    pending = set(range(len(processes)))
    while pending:
        for rank in sorted(pending):
            code = processes[rank].poll()
            if code is not None:
                pending.discard(rank)
                if code != 0:
                    return rank
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)
    return -1


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def describe_failure(folder: Path, exit_codes: list[int | None], first: int) -> str:
    """Which rank failed first and why: its own error if it wrote one, else how its process ended.

    A rank that died without a word (os._exit, a native crash, the OOM killer)
    is blamed before ranks that raised: their errors usually follow from its death.
    """
    errors = {}
    for rank in range(len(exit_codes)):
        path = folder / f"rank{rank}.error"
        if path.exists():
            errors[rank] = path.read_text(encoding="utf-8")
    silent = [rank for rank, code in enumerate(exit_codes) if code is not None and code > 0 and rank not in errors]
    rank = silent[0] if silent else (first if first in errors or not errors else min(errors))
    if rank in errors:
        return f"ddp rank {rank} failed: {errors[rank]}"
    code = exit_codes[rank]
    if code is not None and code < 0:
        return f"ddp rank {rank} failed: the process was killed by signal {-code}"
    return f"ddp rank {rank} failed: the process exited with code {code} without a Python error"


def main(folder: str, rank: int) -> int:
    """A rank started by ``launch``: run it, leave a report or an error in ``folder``."""
    spec, cases, world_size, backend, options, port, threads = pickle.loads((Path(folder) / "job.pkl").read_bytes())
    torch.set_num_threads(threads)
    loopback = _loopback_interface()
    for variable in ("GLOO_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME"):
        if loopback:
            os.environ.setdefault(variable, loopback)
    try:
        report = run_rank(spec, cases, rank, world_size, rank, backend, options, f"tcp://127.0.0.1:{port}")
    except Exception as exc:
        (Path(folder) / f"rank{rank}.error").write_text(error_text(exc), encoding="utf-8")
        return 1
    (Path(folder) / f"rank{rank}.pkl").write_bytes(pickle.dumps(report))
    return 0


def _loopback_interface() -> str:
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return ""
    return next((name for name in names if name in ("lo", "lo0")), "")


def error_text(exc: BaseException) -> str:
    if isinstance(exc, ArchcheckError):
        return f"{type(exc).__name__}: " + "; ".join(d.message for d in exc.diagnostics)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def gather_torchrun(spec: Spec, cases: list[Case], backend: str, options: DeviceOptions) -> list[RankReport]:
    """Under torchrun: run this rank, then share every rank's report with every rank."""
    rank, world_size, local_rank = (int(os.environ[name]) for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    ours = not dist.is_initialized()  # a group the caller made is the caller's to end
    try:
        report = run_rank(spec, cases, rank, world_size, local_rank, backend, options, "env://", keep_group=True)
        reports: list[Any] = [None] * world_size
        dist.all_gather_object(reports, report)
        return reports
    except Exception as exc:
        raise DistributedFailure(f"ddp rank {rank} failed: {error_text(exc)}") from None
    finally:
        if ours and dist.is_initialized():
            dist.destroy_process_group()


# The worker ----------------------------------------------------------------------------------


def run_rank(spec: Spec, cases: list[Case], rank: int, world_size: int, local_rank: int, backend: str, options: DeviceOptions, init_method: str, keep_group: bool = False) -> RankReport:
    """Everything one rank does: build, wrap in DDP, observe every case, one training step."""
    device = torch.device(f"cuda:{local_rank}" if backend == "nccl" else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    timeout = timedelta(seconds=options.timeout)
    if not dist.is_initialized():
        dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world_size, timeout=timeout)
    try:
        with numerics(options):
            model = build(spec, "cpu").to(device)
            wrapped = DistributedDataParallel(model, device_ids=[local_rank] if device.type == "cuda" else None, find_unused_parameters=True)
            observations, tensors = [], []
            for case in cases:
                with keep_outputs(model, spec.module_paths) as kept:
                    seen = observe(wrapped, make_inputs(spec, case, device), keep_tensors=True)
                if seen.crash is None:
                    tensors.append((case, freeze_tensors(seen.tensors, kept.get(None))))
                observations.append((case, replace(seen, calls=strip_module_prefix(seen.calls), tensors=None)))
            step = training_step(wrapped, model, spec, cases[0], rank, world_size, device, observations[0][1])
        return RankReport(rank, world_size, str(device), tuple(observations), tuple(tensors), step)
    finally:
        if not keep_group and dist.is_initialized():
            dist.destroy_process_group()


def training_step(wrapped: DistributedDataParallel, model: nn.Module, spec: Spec, case: Case, rank: int, world_size: int, device: torch.device, seen: Observation) -> StepReport:
    """One forward and backward in train mode on this rank's slice of the batch; compare gradients across ranks.

    The model's train/eval flags are restored and its gradients cleared afterwards.
    """
    inputs = make_inputs(spec, case, device)
    rows = inputs[0].shape[0] if inputs and inputs[0].dim() else 0
    if rows >= world_size:  # each rank its own rows, as a DistributedSampler would give them
        inputs = tuple(t.tensor_split(world_size)[rank] for t in inputs)
    modes = {module: module.training for module in model.modules()}
    error = ""
    try:
        model.train()
        output = wrapped(*inputs)
        loss = sum(t.float().mean() for t in tensors_in(output) if t.is_floating_point())
        if not isinstance(loss, torch.Tensor):
            raise TypeError("the model returned no floating-point tensor to take a loss from")
        loss.backward()
    except Exception as exc:
        error = error_text(exc)
    finally:
        for module, training in modes.items():
            module.training = training
    failed = torch.tensor([1.0 if error else 0.0], device=device)
    dist.all_reduce(failed)  # every rank learns that one failed before any further collective
    found = dict(
        case=case,
        rows=inputs[0].shape[0] if inputs and inputs[0].dim() else 0,
        never_called=never_called(model, seen),
        batchnorm=tuple(name for name, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and not isinstance(m, nn.SyncBatchNorm)),
    )
    if failed.item():
        model.zero_grad(set_to_none=True)
        return StepReport(**found, error=error or "another rank failed in the training step")
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    unused = tuple(name for name, p in named if p.grad is None)
    spread = gradient_spread(named, spec.rtol, spec.atol, device)
    model.zero_grad(set_to_none=True)
    return StepReport(**found, unused=unused, **spread)


def gradient_spread(named: list[tuple[str, nn.Parameter]], rtol: float, atol: float, device: torch.device) -> dict[str, Any]:
    """How far each parameter's gradient on any rank is from rank 0's.

    Cheap first: per-parameter checksums (sum, sum of squares, sum of the running
    sum, which sees order), compared across ranks with one small all-reduce.
    Only parameters whose checksums differ are compared element by element.
    """
    if not named:
        return {}
    grads = [(p.grad if p.grad is not None else torch.zeros_like(p)).detach().flatten().double() for _, p in named]
    sums = torch.stack([torch.stack([g.sum(), g.square().sum(), g.cumsum(0).sum()]) if g.numel() else g.new_zeros(3) for g in grads])
    high, low = sums.clone(), sums.clone()
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    suspects = [index for index in range(len(grads)) if not torch.equal(high[index], low[index])]
    if not suspects:
        return dict(worst_param=named[0][0], worst_abs=0.0, worst_rel=0.0)
    mine = torch.cat([grads[i] for i in suspects])
    reference = mine.clone()
    dist.broadcast(reference, src=0)
    difference, size = (mine - reference).abs(), reference.abs()
    over = (difference - (atol + rtol * size)).clamp_min(0)  # > 0 where beyond tolerance
    relative = torch.where(size > 0, difference / size.clamp_min(torch.finfo(torch.float64).tiny), torch.zeros_like(size))
    parts = [grads[i].numel() for i in suspects]
    worst = torch.stack([torch.stack([piece.max() if piece.numel() else piece.new_zeros(()) for piece in t.split(parts)]) for t in (difference, relative, over)])
    dist.all_reduce(worst, op=dist.ReduceOp.MAX)
    worst = worst.cpu()
    top = int(worst[0].argmax())
    unequal = tuple(named[i][0] for i, beyond in zip(suspects, worst[2]) if float(beyond) > 0)
    return dict(unequal=unequal, worst_param=named[suspects[top]][0], worst_abs=float(worst[0, top]), worst_rel=float(worst[1].max()))


def never_called(model: nn.Module, seen: Observation) -> tuple[str, ...]:
    """Modules that hold parameters of their own and did not run in the observed forward."""
    return tuple(name for name, module in model.named_modules() if name and name not in seen.calls and any(True for _ in module.parameters(recurse=False)))



if __name__ == "__main__":  # a rank started by launch; run the imported module, so reports pickle as archcheck.distributed.*
    from archcheck.distributed import main as rank_main

    sys.exit(rank_main(sys.argv[1], int(sys.argv[2])))
