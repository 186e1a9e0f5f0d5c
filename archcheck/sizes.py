"""``resolutions(spec)``: the exact set of sizes a network accepts, per dimension.

Every size in the range is run for real on the meta device (the other dims held
at the spec's first case), so each claim below is a fact about every size in the
range, not a guess from a few. A size is *accepted* when the forward pass runs
and every shape formula of the spec holds there; it *runs* when only the forward
pass succeeds. Both sets are described as a period, the residues accepted
modulo it, and a minimum (and a maximum when the set stops inside the range).
Beyond the range the period is an extrapolation, and the report says so.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Literal

import torch

from archcheck.errors import UsageError, did_you_mean
from archcheck.fuzzing import case_checker
from archcheck.model import Fallback
from archcheck.observe.trace import Observation
from archcheck.processes import die_with_parent, kill_all, stop_children_on_signals
from archcheck.results import CheckResult
from archcheck.spec import Case, Spec, load_spec
from archcheck.spec.domain import claimed_sizes, domain_text
from archcheck.spec.records import Dim
from archcheck.units import ranges_text

DEFAULT_RANGE = (1, 1024)


@dataclass(frozen=True)
class SizeSet:
    """A set of sizes in ``low..high``: ``x >= minimum`` (``<= maximum``) with ``x % period`` in ``residues``.

    ``period`` is None when the set has no period inside the range: then ``sizes`` is the whole truth.
    """

    sizes: tuple[int, ...]
    period: int | None = None
    residues: tuple[int, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    def describe(self, name: str) -> str:
        if not self.sizes:
            return "no size"
        upto = f" up to {self.maximum}" if self.maximum is not None else ""
        if self.period == 1:
            return f"every {name} >= {self.minimum}{upto}"
        if self.period is not None and self.residues == (0,):
            return f"every multiple of {self.period} from {self.minimum}{upto}"
        if self.period is not None:
            return f"{name} >= {self.minimum}{upto} with {name} % {self.period} in {{{ranges_text(self.residues)}}}"
        return f"{name} in {{{ranges_text(self.sizes)}}}"


@dataclass(frozen=True)
class Rejection:
    """Sizes that fail for one reason: a crash in one module and line, or one spec formula that breaks."""

    kind: Literal["crash", "shape", "inputs"]
    where: str  # "make_five_conv1 (Sequential) at yolov4.py:146: ..." or "specs/x.yaml:20:5 conv1"
    reason: str  # the message at the first of ``sizes``
    sizes: tuple[int, ...]


@dataclass(frozen=True)
class DimResolution:
    dim: str
    low: int
    high: int
    held: Case  # the first size's case: the other dims' held values
    runs: SizeSet
    accepted: SizeSet
    rejections: tuple[Rejection, ...]
    claimed: tuple[int, ...]  # the sizes in low..high the spec's domain claims
    verdict: str
    sizes_run: int


@dataclass(frozen=True)
class ResolutionsReport:
    spec: Spec
    dims: tuple[DimResolution, ...]
    seconds: float
    fallbacks: tuple[Fallback, ...] = ()  # sizes that ran on the CPU because meta could not tell, and why

    @property
    def ok(self) -> bool:
        """Every size the spec claims is accepted."""
        return all(set(d.claimed) <= set(d.accepted.sizes) for d in self.dims)

    @property
    def results(self) -> tuple[CheckResult, ...]:
        """One result per dim: does the network accept every size the spec claims in the range?"""
        return tuple(
            CheckResult("resolutions", d.dim, "pass" if set(d.claimed) <= set(d.accepted.sizes) else "fail", section="dims", message=f"{d.dim} in {d.low}..{d.high}: {d.verdict}", location=self.spec.dim(d.dim).location, device="meta")
            for d in self.dims
        )


def resolutions(
    spec: Spec | str | Path,
    dims: Iterable[str] | None = None,
    span: tuple[int, int] | None = None,
    progress: Callable[[str, int], None] | None = None,
    jobs: int = 1,
    device: str | None = None,
) -> ResolutionsReport:
    """Run every size of ``span`` (default 1..1024) for each dim (default: those with a range).

    Sizes run on meta; one whose output shapes depend on values runs on the CPU (never "rejected"
    because meta could not tell); ``device`` forces meta or cpu.

    With ``jobs`` > 1, that many forked worker processes share the sizes (each builds the model once).
    """
    started = time.perf_counter()
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    names = resolve_dims(spec, dims)
    low, high = span or DEFAULT_RANGE
    if not 1 <= low <= high:
        raise UsageError(f"--range {low}:{high} must have 1 <= LO <= HI")
    for name in names:
        if not claimed_sizes(spec.dim(name), low, high):
            raise UsageError(f"the spec claims no {name} in {low}..{high} ({domain_text(spec)}): sweep a --range that overlaps its domain")
    base = spec.cases()[0].as_dict()
    tick = progress or (lambda label, n: None)
    found = []
    fallbacks: list[Fallback] = []
    for name in names:
        sweep = [Case.of(base | {name: size}) for size in range(low, high + 1)]
        ran: list[Fallback] = []
        outcomes = dict(zip(range(low, high + 1), _run_all(spec, sweep, jobs, lambda n: tick(name, n), device, ran)))
        fallbacks.extend(ran)
        found.append(_summarize(spec, spec.dim(name), low, high, sweep[0], outcomes))
    return ResolutionsReport(spec, tuple(found), time.perf_counter() - started, _merged(fallbacks))


def _merged(fallbacks: list[Fallback]) -> tuple[Fallback, ...]:
    """One per stage and reason; the cases of a run fallback summed over dims and workers."""
    merged: dict[tuple[str, str], Fallback] = {}
    for f in fallbacks:
        known = merged.get((f.stage, f.reason))
        cases = f.cases + (known.cases if known and f.stage == "run" else 0)
        merged[(f.stage, f.reason)] = Fallback(f.stage, f.device, f.reason, cases)
    return tuple(merged.values())


def _run_all(spec: Spec, sweep: list[Case], jobs: int, tick: Callable[[int], None], device: str | None = None, fallbacks: list[Fallback] | None = None) -> list[tuple[str, str, str]]:
    """Each case's outcome, in order; with ``jobs`` > 1, in forked worker processes (one build each)."""
    if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
        with case_checker(spec, device, fallbacks) as check:
            outcomes = []
            for case in sweep:
                outcomes.append(_outcome(*check(case)))
                tick(1)
            return outcomes
    chunks = [sweep[i : i + CHUNK] for i in range(0, len(sweep), CHUNK)]
    context = multiprocessing.get_context("fork")
    latest: dict[int, list[Fallback]] = {}  # each worker's fallbacks so far, by its process id
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(spec, os.getpid(), device))
    # SIGTERM/SIGHUP here: kill the workers at once (the pool's own shutdown would wait for their chunks)
    with pool, stop_children_on_signals(lambda: kill_all(list(getattr(pool, "_processes", None) or {}))):
        outcomes = []
        for chunk, (done, pid, found) in zip(chunks, pool.map(_run_chunk, chunks)):
            outcomes.extend(done)
            latest[pid] = found
            tick(len(chunk))
    if fallbacks is not None:
        fallbacks.extend(f for found in latest.values() for f in found)
    return outcomes


CHUNK = 16
_worker: list = []  # in worker processes only: the open ExitStack, the checker it holds, its fallbacks


def _start_worker(spec: Spec, parent: int, device: str | None = None) -> None:
    die_with_parent(parent)  # the kernel kills this worker when the parent ends, however it ends
    # One thread per worker: no oversubscription, and no OpenMP pool inherited through fork from a
    # parent that already ran CPU ops (a CPU fallback), which can deadlock the child's first op.
    torch.set_num_threads(1)
    stack = ExitStack()  # kept open (hooks on the worker's own model) as long as the worker lives
    found: list[Fallback] = []
    _worker.extend([stack, stack.enter_context(case_checker(spec, device, found)), found])


def _run_chunk(cases: list[Case]) -> tuple[list[tuple[str, str, str]], int, list[Fallback]]:
    """The outcomes, and this worker's fallbacks so far (the parent keeps each worker's latest)."""
    return [_outcome(*_worker[1](case)) for case in cases], os.getpid(), list(_worker[2])


def resolve_dims(spec: Spec, dims: Iterable[str] | None) -> list[str]:
    known = [d.name for d in spec.dims]
    if dims is None:
        ranged = [d.name for d in spec.dims if d.range is not None]
        if not ranged:
            raise UsageError(f"no dim of {spec.name} has a range; name one with --dim (one of {', '.join(known)})")
        return ranged
    names = list(dims)
    for name in names:
        if name not in known:
            hint = did_you_mean(name, known) or f"; the spec's dims are {', '.join(known)}"
            raise UsageError(f"--dim {name} is not a dim of {spec.name}{hint}")
    return names


def _outcome(observation: Observation | None, results: list[CheckResult]) -> tuple[str, str, str]:
    if observation is None:  # the inputs have no shape at this size
        return "inputs", "inputs", results[0].message
    crash = observation.crash
    if crash is not None:
        where = f"{crash.module or 'the model forward'} ({crash.module_type})" + (f" at {crash.source}" if crash.source else "")
        return "crash", where, crash.error
    broken = [r for r in results if r.failed]
    if not broken:
        return "accepted", "", ""
    first = broken[0]
    where = f"{first.location} {first.subject}" if first.location else first.subject
    more = f" (and {len(broken) - 1} more formulas)" if len(broken) > 1 else ""
    return "shape", where, first.message + more


def _summarize(spec: Spec, dim: Dim, low: int, high: int, held: Case, outcomes: dict[int, tuple[str, str, str]]) -> DimResolution:
    runs = size_set({s for s, o in outcomes.items() if o[0] in ("accepted", "shape")}, high)
    accepted = size_set({s for s, o in outcomes.items() if o[0] == "accepted"}, high)
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    first_reason: dict[tuple[str, str, str], str] = {}
    for size, (kind, where, reason) in outcomes.items():
        if kind != "accepted":
            key = (kind, where, re.sub(r"\d+", "#", reason))
            groups[key].append(size)
            first_reason.setdefault(key, reason)
    rejections = tuple(Rejection(k[0], k[1], first_reason[k], tuple(v)) for k, v in sorted(groups.items(), key=lambda kv: -len(kv[1])))  # type: ignore[arg-type]
    claimed = claimed_sizes(dim, low, high, spec, held)
    return DimResolution(dim.name, low, high, held, runs, accepted, rejections, claimed, _verdict(dim, claimed, runs, accepted, outcomes), len(outcomes))


def size_set(members: set[int], high: int) -> SizeSet:
    """The smallest period that describes ``members`` from its minimum to ``high`` (or to its maximum)."""
    sizes = tuple(sorted(members))
    if not sizes:
        return SizeSet(())
    first, last = sizes[0], sizes[-1]
    for end, maximum in ((high, None), (last, last)):
        for period in range(1, (end - first + 1) // 2 + 1):  # at least two whole periods seen
            if all((x in members) == (x + period in members) for x in range(first, end - period + 1)):
                residues = tuple(sorted({x % period for x in sizes}))
                return SizeSet(sizes, period, residues, first, maximum)
    return SizeSet(sizes, None, (), first, last)


def _verdict(dim: Dim, claimed: tuple[int, ...], runs: SizeSet, accepted: SizeSet, outcomes: dict[int, tuple[str, str, str]]) -> str:
    name = dim.name
    if not claimed:
        return f"the spec claims no {name} in this range"
    bad = [s for s in claimed if s not in set(accepted.sizes)]
    if bad:
        first = bad[0]
        kind, where, reason = outcomes[first]
        return f"the spec claims {len(bad)} sizes the network does not accept, e.g. {name}={first}: {reason} ({where})"
    extra = sorted(set(accepted.sizes) - set(claimed))
    if extra:
        return f"inside the accepted set, but narrower than it need be: {len(extra)} more sizes are accepted ({name} in {{{ranges_text(extra, 8)}}})"
    return "inside the accepted set, and exactly it within this range"
