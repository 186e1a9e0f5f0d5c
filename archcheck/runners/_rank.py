"""What one DDP rank runs: wrap the model, observe its share of the cases, one training step; report facts.

Started by ``runners.ddp.launch`` (``python -P archcheck/processes.py PARENT archcheck.runners._rank:main
FOLDER RANK``: it dies with the launcher and imports nothing from the working directory),
or called in-process under torchrun (``runners.ddp.gather_torchrun``).

The launcher's folder holds ``job.pkl`` (the spec, the cases, and with gloo the fingerprints
of the cpu's outputs: small) and one file of tensors, ``tensors.pt``: every parameter and
buffer of the launcher's cpu model (and with nccl the cpu's outputs), written once and
mapped (not copied) by every rank. A rank builds the model on meta and
gives it the mapped tensors, so its weights are the file's pages, shared by all ranks
through the page cache: no initialisation, no copy. Rank 0 unlinks the file once every rank
has joined. The cases are shared out among the ranks (``my_cases``); each rank compares its
outputs with the cpu's itself and sends back only Differences (and, with gloo, the outputs
whose bits differ from the cpu's, in ``rank{N}-case{I}.pt``, for the launcher to compare); ``rank{N}.progress`` grows by
one byte per case done (the launcher's heartbeat).
"""

from __future__ import annotations

import os
import pickle
import socket
from contextlib import nullcontext
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from archcheck.errors import ArchcheckError, first_line
from archcheck.inputs import call, make_inputs
from archcheck.model import build, build_meta
from archcheck.observe.difference import (
    Difference,
    Fingerprint,
    byte_checksums,
    compare,
    fingerprint,
)
from archcheck.observe.hooks import preserved
from archcheck.observe.keep import OUTPUT, fingerprints_of, freeze_tensors, keep_outputs
from archcheck.observe.trace import Observation, observe
from archcheck.observe.tree import tensors_in
from archcheck.runners.base import DeviceOptions, numerics, strip_module_prefix
from archcheck.runners.records import Differences, RankReport, StepReport
from archcheck.spec import Case, Spec

TENSORS = "tensors.pt"  # {"weights": every parameter and buffer by name, "reference": the cpu's outputs by case index (nccl)}
Fingerprints = Mapping[int, Mapping[str, tuple[Fingerprint, ...]]]  # case index -> path -> each call's output's fingerprint


def main(folder: str, rank: int | str) -> int:
    """A rank started by ``launch`` (``processes.child_command``, arguments as text): run it, leave a report or an error in ``folder``."""
    here, rank = Path(folder), int(rank)
    spec, cases, world_size, backend, options, port, threads, fingerprints = pickle.loads((here / "job.pkl").read_bytes())
    torch.set_num_threads(threads)
    loopback = _loopback_interface()
    for variable in ("GLOO_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME"):
        if loopback:
            os.environ.setdefault(variable, loopback)
    os.environ["MASTER_ADDR"] = "127.0.0.1"  # anything that reads it rendezvouses on loopback too
    os.environ["MASTER_PORT"] = str(port)
    progress = here / f"rank{rank}.progress"
    tensors = _load(here / TENSORS) or {}
    try:
        report = run_rank(
            spec, cases, rank, world_size, rank, backend, options, store=_loopback_store(rank, world_size, port, options.timeout),
            weights=tensors.get("weights"), reference=tensors.get("reference"), fingerprints=fingerprints,
            joined=(lambda: (here / TENSORS).unlink(missing_ok=True)) if rank == 0 else None,
            tick=lambda: _append(progress), save=lambda index, kept: torch.save(kept, here / unmatched_file(rank, index)),
        )
    except Exception as exc:
        (here / f"rank{rank}.error").write_text(error_text(exc), encoding="utf-8")
        return 1
    (here / f"rank{rank}.pkl").write_bytes(pickle.dumps(report))
    return 0


def unmatched_file(rank: int, index: int) -> str:
    """Where a rank leaves its outputs of case ``index`` whose bits differ from the cpu's."""
    return f"rank{rank}-case{index}.pt"


def _loopback_store(rank: int, world_size: int, port: int, timeout: float) -> dist.TCPStore:
    """The rendezvous store, listening on 127.0.0.1 only (rank 0 hosts it).

    A store made from ``tcp://127.0.0.1:PORT`` listens on every interface; a socket bound
    here and handed over (``master_listen_fd``) keeps it on loopback.
    """
    wait = timedelta(seconds=timeout)
    if rank != 0:
        return dist.TCPStore("127.0.0.1", port, world_size, False, wait)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen()
    return dist.TCPStore("127.0.0.1", port, world_size, True, wait, master_listen_fd=listener.detach())  # the store owns the socket now


def _load(path: Path) -> Any:
    """A file of tensors the launcher wrote, mapped (not copied) into this process; None when there is none."""
    return torch.load(path, map_location="cpu", mmap=True, weights_only=True) if path.exists() else None


def _append(path: Path) -> None:
    with open(path, "ab") as beat:
        beat.write(b".")


def _loopback_interface() -> str:
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return ""
    return next((name for name in names if name in ("lo", "lo0")), "")


def error_text(exc: BaseException) -> str:
    if isinstance(exc, ArchcheckError):  # named by its public class: ModelError, SpecError
        name = next(c.__name__ for c in type(exc).__mro__ if not c.__name__.startswith("_"))
        return f"{name}: " + "; ".join(d.message for d in exc.diagnostics)
    return first_line(exc)


def run_rank(
    spec: Spec,
    cases: list[Case],
    rank: int,
    world_size: int,
    local_rank: int,
    backend: str,
    options: DeviceOptions,
    init_method: str = "env://",
    keep_group: bool = False,
    *,
    store: dist.Store | None = None,
    weights: Mapping[str, torch.Tensor] | None = None,
    reference: Mapping[int, Mapping[str, Any]] | None = None,
    fingerprints: Fingerprints | None = None,
    joined: Callable[[], None] | None = None,
    tick: Callable[[], None] = lambda: None,
    save: Callable[[int, Mapping[str, Any]], None] | None = None,
) -> RankReport:
    """Everything one rank does: build, wrap in DDP, observe its share of the cases, one training step.

    ``store``: the rendezvous (else ``init_method``). ``weights``: every parameter and buffer of
    the launcher's cpu model, by name (else the seeded build's own). ``reference``:
    the cpu's kept outputs by case index, to compare with here; or ``fingerprints`` of them
    (gloo: the same kernels give the same bits), compared here, and the outputs whose bits
    differ given to ``save(index, outputs)`` for the launcher to compare (None: no parity).
    ``joined`` runs once every rank has joined the process group; ``tick`` after each case.
    """
    device = torch.device(f"cuda:{local_rank}" if backend == "nccl" else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    timeout = timedelta(seconds=options.timeout)
    if not dist.is_initialized():
        where = dict(store=store) if store is not None else dict(init_method=init_method)
        dist.init_process_group(backend, rank=rank, world_size=world_size, timeout=timeout, **where)
    if joined is not None:
        joined()
    try:
        with numerics(options):
            same = weights is not None  # every rank has the same weights: no broadcast of rank 0's needed
            model = with_weights(spec, weights).to(device) if weights is not None else build(spec, "cpu").to(device)
            weights = None
            wrapped = DistributedDataParallel(
                model, device_ids=[local_rank] if device.type == "cuda" else None, find_unused_parameters=True,
                gradient_as_bucket_view=True,  # the gradients live in DDP's buckets: one copy of them, not two
                init_sync=not same,
            )
            # The cases are shared out like an epoch's batches: each runs whole on one rank, so its outputs come
            # from the cpu's kernels at the cpu's batch size and parity compares like with like. Without
            # buffer syncing an eval forward has no collective, so the ranks may run different cases.
            wrapped.broadcast_buffers = False
            observations, differences, unmatched = [], [], []
            for index in my_cases(len(cases), rank, world_size):
                case = cases[index]
                inputs = make_inputs(spec, case, device)
                prints = fingerprints.get(index) if fingerprints is not None else None
                if prints is not None:
                    with fingerprints_of(model, spec.module_paths) as found:
                        seen = observe(wrapped, inputs, keep_tensors=True)
                    if seen.crash is None:
                        found_now = {OUTPUT: [fingerprint(seen.tensors)]} | found
                        matched, differ = _match(prints, found_now)
                        if differ and save is not None:
                            save(index, _outputs_again(wrapped, model, inputs, differ))
                        differences.append((case, matched))
                        unmatched.append((index, differ))
                else:
                    expected = reference.get(index) if reference is not None else None
                    with keep_outputs(model, spec.module_paths) if expected is not None else nullcontext() as kept:
                        seen = observe(wrapped, inputs, keep_tensors=expected is not None)
                    if expected is not None and seen.crash is None:
                        differences.append((case, _compare(expected, freeze_tensors(seen.tensors, kept.get(None)), spec)))
                    del kept
                observations.append((case, replace(seen, calls=strip_module_prefix(seen.calls), tensors=None)))
                del seen
                tick()
            wrapped.broadcast_buffers = True  # the training step as DDP runs it by default
            step = training_step(wrapped, model, spec, cases[0], rank, world_size, device, observations[0][1])
        return RankReport(rank, world_size, str(device), tuple(observations), tuple(differences), step, tuple((i, p) for i, p in unmatched if p))
    finally:
        if not keep_group and dist.is_initialized():
            dist.destroy_process_group()


def with_weights(spec: Spec, weights: Mapping[str, torch.Tensor]) -> nn.Module:
    """The model holding ``weights`` (every parameter and buffer, by name) themselves: built on meta
    and given them, so mapped weights stay shared pages. Built on the CPU and given them when the
    meta build cannot take them (a constructor that needs the CPU, a tensor that is neither
    parameter nor buffer, names that differ)."""
    model, fallback = build_meta(spec)
    if fallback is None and _give(model, weights):
        return model
    model = build(spec, "cpu")
    if not _give(model, weights):
        raise RuntimeError("the rank built a model whose parameters and buffers differ from the launcher's")
    return model


def _give(model: nn.Module, weights: Mapping[str, torch.Tensor]) -> bool:
    """Put ``weights`` in place of the model's parameters and buffers (tied ones stay tied); False if they do not fit."""
    named = dict(model.named_parameters()) | dict(model.named_buffers())
    if set(named) != set(weights) or any(weights[name].shape != t.shape or weights[name].dtype != t.dtype for name, t in named.items()):
        return False
    params = list(model.named_parameters(remove_duplicate=False))
    buffers = list(model.named_buffers(remove_duplicate=False))
    given: dict[int, torch.Tensor] = {}
    for name, param in params:
        if id(param) not in given:
            given[id(param)] = nn.Parameter(weights[name], requires_grad=param.requires_grad)
        module, _, attr = name.rpartition(".")
        model.get_submodule(module)._parameters[attr] = given[id(param)]  # type: ignore[assignment]
    for name, buffer in buffers:
        if id(buffer) not in given:
            given[id(buffer)] = weights[name]
        module, _, attr = name.rpartition(".")
        model.get_submodule(module)._buffers[attr] = given[id(buffer)]
    return not any(isinstance(value, torch.Tensor) and value.is_meta for module in model.modules() for value in vars(module).values())


def _compare(expected: Mapping[str, Any], kept: Mapping[str, Any], spec: Spec) -> Differences:
    """Each reference path's Difference from this rank's output; None where this rank gave none."""
    return {path: compare(value, kept[path], spec.rtol, spec.atol) if path in kept else None for path, value in expected.items()}


def _match(expected: Mapping[str, tuple[Fingerprint, ...]], found: Mapping[str, list[Fingerprint]]) -> tuple[dict[str, Difference | None], tuple[str, ...]]:
    """Differences for the paths whose every call has the cpu's bits (none: zero), None where nothing ran; and the paths that differ."""
    matched: dict[str, Difference | None] = {}
    differ = []
    for path, prints in expected.items():
        if path not in found:
            matched[path] = None
        elif tuple(found[path]) == prints:
            matched[path] = Difference(total=sum(p.numel for p in prints))
        else:
            differ.append(path)
    return matched, tuple(differ)


def _outputs_again(wrapped: nn.Module, model: nn.Module, inputs: Any, paths: tuple[str, ...]) -> dict[str, Any]:
    """The outputs at ``paths`` (the same forward again, keeping them this time), for the launcher to compare."""
    with keep_outputs(model, [p for p in paths if p != OUTPUT]) as kept:
        seen = observe(wrapped, inputs, keep_tensors=OUTPUT in paths)
    return {path: value for path, value in freeze_tensors(seen.tensors, kept.get(None)).items() if path in paths}


def my_cases(count: int, rank: int, world_size: int) -> list[int]:
    """The cases this rank observes: every ``world_size``-th (round robin), or all of them when there are fewer cases than ranks."""
    return list(range(count)) if count < world_size else list(range(rank, count, world_size))


def training_step(wrapped: DistributedDataParallel, model: nn.Module, spec: Spec, case: Case, rank: int, world_size: int, device: torch.device, seen: Observation) -> StepReport:
    """One forward and backward in train mode on this rank's slice of the batch; compare gradients across ranks.

    The model's train/eval flags are restored and its gradients cleared afterwards.
    """
    inputs = make_inputs(spec, case, device)
    rows = inputs[0].shape[0] if inputs and inputs[0].dim() else 0
    if rows >= world_size:  # each rank its own rows, as a DistributedSampler would give them
        inputs = inputs.split(world_size, rank)
    error = ""
    with preserved(model):
        try:
            model.train()
            output = call(wrapped, inputs)
            loss = sum(t.float().mean() for t in tensors_in(output) if t.is_floating_point())
            if not isinstance(loss, torch.Tensor):
                raise TypeError("the model returned no floating-point tensor to take a loss from")
            loss.backward()
        except Exception as exc:
            error = error_text(exc)
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

    Cheap first: each gradient's bytes checksummed (CRC-32 and Adler-32: 64 bits that change
    with any bit and any order; 0.17 s for YOLOv4's 256 MB, where float64 sums and a cumsum
    took 2.1 s), compared across ranks with one small all-reduce. Only parameters whose
    checksums differ are compared element by element.
    """
    if not named:
        return {}
    def grad(index: int) -> torch.Tensor:  # made one at a time: all of them in float64 would be twice the model
        p = named[index][1]
        return (p.grad if p.grad is not None else torch.zeros_like(p)).detach().flatten().double()

    sums = torch.tensor([byte_checksums(p.grad) if p.grad is not None else (-1, -1) for _, p in named], dtype=torch.int64, device=device)
    high, low = sums.clone(), sums.clone()
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    suspects = [index for index in range(len(named)) if not torch.equal(high[index], low[index])]
    if not suspects:
        return dict(worst_param=named[0][0], worst_abs=0.0, worst_rel=0.0)
    mine = torch.cat([grad(i) for i in suspects])
    reference = mine.clone()
    dist.broadcast(reference, src=0)
    difference, size = (mine - reference).abs(), reference.abs()
    over = (difference - (atol + rtol * size)).clamp_min(0)  # > 0 where beyond tolerance
    relative = torch.where(size > 0, difference / size.clamp_min(torch.finfo(torch.float64).tiny), torch.zeros_like(size))
    parts = [named[i][1].numel() for i in suspects]
    worst = torch.stack([torch.stack([piece.max() if piece.numel() else piece.new_zeros(()) for piece in t.split(parts)]) for t in (difference, relative, over)])
    dist.all_reduce(worst, op=dist.ReduceOp.MAX)
    worst = worst.cpu()
    top = int(worst[0].argmax())
    unequal = tuple(named[i][0] for i, beyond in zip(suspects, worst[2]) if float(beyond) > 0)
    return dict(unequal=unequal, worst_param=named[suspects[top]][0], worst_abs=float(worst[0, top]), worst_rel=float(worst[1].max()))


def never_called(model: nn.Module, seen: Observation) -> tuple[str, ...]:
    """Modules that hold parameters of their own and did not run in the observed forward."""
    return tuple(name for name, module in model.named_modules() if name and name not in seen.calls and any(True for _ in module.parameters(recurse=False)))

