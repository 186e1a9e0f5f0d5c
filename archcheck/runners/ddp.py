"""DistributedDataParallel: the runner and its launcher (the rank's own code is in ``_rank.py``).

archcheck launches the processes itself (fresh interpreters that die with this one,
rendezvousing on a free port bound to 127.0.0.1; gloo on CPU, nccl with one GPU per
process). They map the weights of this process's cpu model from one file written once,
share the cases out among them (each case whole, on one rank), check their outputs against
the cpu's (gloo: against its outputs' fingerprints; nccl: against the outputs, in the same
file) and send back only the differences. Under ``torchrun`` (RANK,
WORLD_SIZE and LOCAL_RANK set) the same rank code runs in this process and the ranks share
their reports, so a check can span several machines.

Each rank reports facts (a RankReport); ``checks/ddp.py`` judges them. A rank that
raises or dies ends the run with its error; a run that makes no progress for
``options.timeout`` seconds is stopped.
"""

from __future__ import annotations

import os
import pickle
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
import torch.distributed as dist

from archcheck.memory import refusal
from archcheck.model import Builds
from archcheck.observe.difference import Difference, Fingerprint, compare, fingerprint
from archcheck.processes import (
    child_command,
    import_path,
    kill_all,
    stop_children_on_signals,
)
from archcheck.runners._rank import TENSORS, error_text, run_rank, unmatched_file
from archcheck.runners.base import DeviceOptions, cuda_unavailable
from archcheck.runners.records import DeviceRun, RankReport, Tensors
from archcheck.spec import Case, Spec


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

    compares_with_cpu = True  # pipeline: pass the cpu run's outputs as ``reference``

    def run(self, spec: Spec, cases: list[Case], builds: Builds, progress: Callable[[], None], reference: Mapping[Case, Tensors] | None = None) -> DeviceRun:
        """``reference``: the cpu run's kept outputs by case (None without a cpu run: no parity)."""
        by_index = {index: reference[case] for index, case in enumerate(cases) if case in reference} if reference is not None else None
        ticks = [0]

        def tick() -> None:
            ticks[0] += 1
            progress()

        if self.backend == "gloo" and not in_torchrun():  # the ranks share this machine's memory
            too_big = refusal(spec, cases, builds.meta, "cpu", self.options.max_memory, processes=self.world_size, keep=False)
            if too_big:
                return DeviceRun(self.name, failure=too_big, failure_rule="memory")
        try:
            if in_torchrun():
                reports = gather_torchrun(spec, cases, self.backend, self.options, by_index)
            else:
                weights = dict(builds.cpu.named_parameters()) | dict(builds.cpu.named_buffers())
                reports = launch(spec, cases, self.world_size, self.backend, self.options, weights, by_index, tick)
        except DistributedFailure as exc:
            return DeviceRun(self.name, failure=str(exc), failure_rule="ddp-process")
        finally:
            for _ in range(len(cases) - ticks[0]):
                progress()
        observations = tuple(item for report in reports for item in report.observations)
        where = tuple(f"rank {report.rank}" for report in reports for _ in report.observations)
        differences = tuple((f"rank {report.rank}", case, found) for report in reports for case, found in report.differences)
        return DeviceRun(self.name, observations, where=where, differences=differences, compares_with_cpu=True, ranks=tuple(reports))


# The launcher --------------------------------------------------------------------------------

FOLDER_PREFIX = "archcheck-ddp-"


def launch(
    spec: Spec,
    cases: list[Case],
    world_size: int,
    backend: str,
    options: DeviceOptions,
    weights: Mapping[str, torch.Tensor] | None = None,
    reference: Mapping[int, Tensors] | None = None,
    progress: Callable[[], None] = lambda: None,
) -> list[RankReport]:
    """Start ``world_size`` ranks on this machine and collect their reports; raise DistributedFailure.

    Ranks are fresh interpreters (``processes.child_command``), not multiprocessing children:
    those re-run the caller's main script, and forked ones could not use more than one thread
    (GNU OpenMP's thread pool does not survive fork: a forked process that starts a parallel
    region hangs), while parity with this process needs its thread count. They get this
    process's sys.path (and not the working directory's files), so the spec's factory
    imports there as it does here, and they die with this process whatever ends it. SIGTERM
    or SIGHUP here stops them and removes the job folder; after a SIGKILL the next launch
    removes it.

    ``weights`` (every parameter and buffer) go in one file the ranks map. With gloo the ranks
    run the cpu's kernels and get only the fingerprints of ``reference`` (a few numbers per
    output); outputs whose bits differ come back in files, compared here. With nccl (other
    kernels: the bits always differ) ``reference`` goes in the weights' file and the ranks
    compare with it themselves.
    """
    remove_stale_folders()
    folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
    processes: list[subprocess.Popen] = []
    try:
        with stop_children_on_signals(lambda: kill_all([p.pid for p in processes])):
            threads = torch.get_num_threads()  # as here: CPU kernels pick their algorithm by thread count, and parity compares with this process
            prints = fingerprints(reference) if reference is not None and backend == "gloo" else None
            (folder / "job.pkl").write_bytes(pickle.dumps((spec, cases, world_size, backend, options, free_port(), threads, prints)))
            tensors = {"weights": weights, "reference": reference if prints is None else None}
            if any(v is not None for v in tensors.values()):
                torch.save(tensors, folder / TENSORS)
            environment = os.environ | {
                "PYTHONPATH": import_path(),
                "TORCH_CPP_LOG_LEVEL": os.environ.get("TORCH_CPP_LOG_LEVEL", "ERROR"),
                # The ranks share the cores, each with this process's thread count (parity needs it): OpenMP
                # threads that spin while they wait take the cores from the other rank. Measured on 2 cores,
                # two YOLOv4 processes of 2 threads: 1.9x the time of one after the other when spinning,
                # 0.9x when waiting passively. Passive waiting changes no result.
                "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
            }
            for rank in range(world_size):
                with open(folder / f"rank{rank}.log", "wb") as log:
                    command = child_command("archcheck.runners._rank:main", str(folder), str(rank))
                    processes.append(subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT))
            shared = len(cases) >= world_size  # each case on one rank (runners._rank.my_cases), else every case on every rank
            failed = _wait(processes, folder, options.timeout, progress, sum if shared else min)
            if failed is None:
                raise DistributedFailure(f"the {world_size} ddp processes made no progress for {options.timeout:g} s; they were stopped")
            if failed >= 0:
                _stop(processes)
                raise DistributedFailure(describe_failure(folder, [p.returncode for p in processes], failed))
            reports = [pickle.loads((folder / f"rank{rank}.pkl").read_bytes()) for rank in range(world_size)]
            return [compare_unmatched(report, folder, cases, reference or {}, spec) for report in reports]
    finally:
        _stop(processes)
        shutil.rmtree(folder, ignore_errors=True)


def fingerprints(reference: Mapping[int, Tensors]) -> dict[int, dict[str, tuple[Fingerprint, ...]]]:
    """What a gloo rank gets of the cpu's outputs: each call's fingerprint, by case index and path."""
    return {index: {path: tuple(fingerprint(call) for call in calls) for path, calls in kept.items()} for index, kept in reference.items()}


def compare_unmatched(report: RankReport, folder: Path, cases: list[Case], reference: Mapping[int, Tensors], spec: Spec) -> RankReport:
    """The rank's report with its outputs whose bits differ from the cpu's compared here, element by element."""
    if not report.unmatched:
        return report
    differences = {case: dict(found) for case, found in report.differences}
    for index, paths in report.unmatched:
        try:
            saved = torch.load(folder / unmatched_file(report.rank, index), map_location="cpu", mmap=True, weights_only=True)
        except Exception:  # outputs of a class that weights_only loading refuses (a namedtuple, a dataclass)
            why = "the outputs' bits differ from the cpu's, and their values cannot be compared: torch.load(weights_only=True) does not read their type back"
            differences[cases[index]].update(dict.fromkeys(paths, Difference(reason=why)))
            continue
        for path in paths:
            differences[cases[index]][path] = compare(reference[index][path], saved[path], spec.rtol, spec.atol) if path in saved else None
    return replace(report, differences=tuple(differences.items()), unmatched=())


def remove_stale_folders() -> None:
    """Remove the job folders of launchers that are gone (killed with SIGKILL: nothing of theirs ran to clean up)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        owner = folder.name.removeprefix(FOLDER_PREFIX).partition("-")[0]
        if owner.isdigit() and not _alive(int(owner)) and folder.is_dir() and folder.stat().st_uid == os.getuid():
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait(processes: list[subprocess.Popen], folder: Path, timeout: float, progress: Callable[[], None], cases_done: Callable[[list[int]], int] = min) -> int | None:
    """-1 when every process ended well; the rank of the first that failed; None after ``timeout`` s without progress.

    Progress: a rank finished a case (its ``rank{N}.progress`` grew) or a rank ended.
    ``cases_done``: the cases done, from the cases each rank has done.
    """
    pending = set(range(len(processes)))
    beats, reported, last = 0, 0, time.monotonic()
    while pending:
        for rank in sorted(pending):
            code = processes[rank].poll()
            if code is not None:
                pending.discard(rank)
                last = time.monotonic()
                if code != 0:
                    return rank
        sizes = [_size(folder / f"rank{rank}.progress") for rank in range(len(processes))]
        if sum(sizes) != beats:
            beats, last = sum(sizes), time.monotonic()
        for _ in range(cases_done(sizes) - reported):
            progress()
        reported = max(reported, cases_done(sizes))
        if time.monotonic() - last > timeout:
            return None
        time.sleep(0.1)
    return -1


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


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


def gather_torchrun(spec: Spec, cases: list[Case], backend: str, options: DeviceOptions, reference: Mapping[int, Tensors] | None) -> list[RankReport]:
    """Under torchrun: run this rank (against this process's own cpu outputs), then share every rank's report with every rank."""
    rank, world_size, local_rank = (int(os.environ[name]) for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    ours = not dist.is_initialized()  # a group the caller made is the caller's to end
    try:
        report = run_rank(spec, cases, rank, world_size, local_rank, backend, options, "env://", keep_group=True, reference=reference)
        reports: list[Any] = [None] * world_size
        dist.all_gather_object(reports, report)
        return reports
    except Exception as exc:
        raise DistributedFailure(f"ddp rank {rank} failed: {error_text(exc)}") from None
    finally:
        if ours and dist.is_initialized():
            dist.destroy_process_group()


