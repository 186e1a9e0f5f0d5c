"""``verify(spec)``: the pipeline. Load, build, observe on every device, check, and return a Report.

    load_spec -> Builds (meta once, CPU weights once) -> each runner's DeviceRun (facts)
              -> Evidence -> checks.run_checks (every rule, by id) -> Report (rendered by report/)

(Named pipeline.py, not verify.py: a submodule ``archcheck.verify`` would shadow the function
``archcheck.verify`` as soon as anything imported it.)
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from torch import nn

from archcheck.checks import SECTIONS, Evidence, resolve_rules, run_checks
from archcheck.counting.counter import Counting, count_model, counting
from archcheck.counting.records import CaseCount
from archcheck.errors import ArchcheckError
from archcheck.inputs import Inputs, make_inputs
from archcheck.model import Builds, check_module_paths
from archcheck.results import Report
from archcheck.runners import DeviceOptions, DeviceRun, Runner, runners_for
from archcheck.runners.local import LocalRunner
from archcheck.spec import Case, Spec, load_spec
from archcheck.spec.domain import cases_for, resolve_cases
from archcheck.spec.limits import MAX_CASES


def verify(
    spec: Spec | str | Path,
    devices: Iterable[str] | None = None,
    case: Mapping[str, int] | None = None,
    require: bool = False,
    progress: Callable[[str, int], None] | None = None,
    options: DeviceOptions | None = None,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
    max_cases: int = MAX_CASES,
    *,
    builds: Builds | None = None,
) -> Report:
    """Check a spec against its real network on each device; see ``Report.problems``.

    ``case`` fixes some dims (``{"H": 608, "W": 608}``); the others take their values.
    ``require`` turns a device this machine lacks into a failure instead of a skip.
    ``options``: TF32, cudnn.benchmark, DDP processes and timeout (``DeviceOptions``).
    ``select``/``ignore``: rule ids to run or leave out (``archcheck.checks.RULES``).
    ``max_cases``: the most cases a run may make (the dims' values multiply).
    ``builds``: the models already built for this spec (``draw`` shares its meta model).
    """
    started = time.perf_counter()
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    rules = resolve_rules(select, ignore)
    cases = resolve_cases(spec, case, max_cases)
    runners = runners_for(list(devices or spec.devices), options)
    compared = sum(r.name != "meta" for r in runners) > 1  # parity needs two real devices
    for runner in runners:
        if isinstance(runner, LocalRunner):
            runner.compared = compared
    builds = builds or Builds(spec)
    check_module_paths(spec, builds.meta)
    during = _count_during(spec, runners, cases) if "flops" in rules and _claims_flops(spec) else None
    runs = _run_all(runners, spec, cases, builds, progress)
    counted, count_error = _flops_count(spec, rules, during, runs, builds.meta)
    evidence = Evidence(spec, tuple(cases), builds.meta, runs, counted, count_error, require, tuple(builds.fallbacks))
    results = tuple(run_checks(spec, evidence, rules))
    sections = tuple(dict.fromkeys(m.section for m in spec.modules)) + SECTIONS
    ran = tuple((run.device, len({case for case, _ in run.observations})) for run in runs if run.ran)
    return Report(spec, tuple(r.name for r in runners), tuple(cases), results, time.perf_counter() - started, runs, sections, ran)


def _run_all(runners: list[Runner], spec: Spec, cases: list, builds: Builds, progress: Callable[[str, int], None] | None) -> tuple[DeviceRun, ...]:
    """Every runner's run, in the runners' order; the cpu (the parity reference) runs first.

    A runner that compares with the cpu itself (``compares_with_cpu``: DDP ranks) gets the
    cpu run's outputs as ``reference``.
    """
    runs: dict[int, DeviceRun] = {}
    for index in sorted(range(len(runners)), key=lambda i: runners[i].name != "cpu"):
        runner = runners[index]
        reason = runner.unavailable()
        if reason:
            runs[index] = DeviceRun(runner.name, unavailable=reason)
            continue
        tick = (lambda name=runner.name: progress(name, 1)) if progress else (lambda: None)
        cpu = next((run for run in runs.values() if run.device == "cpu" and run.ran), None)
        extra = {"reference": {case: kept for _, case, kept in cpu.tensors} if cpu else None} if getattr(runner, "compares_with_cpu", False) else {}
        runs[index] = runner.run(spec, cases_for(spec, runner.name, cases), builds, tick, **extra)
    return tuple(runs[index] for index in range(len(runners)))


class _CountDuring:
    """The flops count made during the meta runner's observed forward at ``flops.case``: one
    forward fewer. ``result(runs)`` is None when that forward crashed or a case ran on the CPU."""

    def __init__(self, spec: Spec, runner: LocalRunner, case: Case) -> None:
        self.spec, self.runner, self.case = spec, runner, case
        self.counted: Counting | None = None
        runner.during[case] = self.watch

    @contextmanager
    def watch(self, model: nn.Module, inputs: Inputs) -> Iterator[None]:
        with counting(model, inputs, self.spec.flops.case) as counted:  # type: ignore[union-attr]
            yield
        self.counted = counted

    def result(self, runs: tuple[DeviceRun, ...]) -> CaseCount | None:
        run = next((run for run in runs if run.device == self.runner.name), None)
        clean = run is not None and not run.fallbacks and all(o.crash is None for c, o in run.observations if c == self.case)
        return self.counted.result() if clean and self.counted else None


def _claims_flops(spec: Spec) -> bool:
    return spec.flops is not None and (spec.flops.total is not None or bool(spec.flops.modules))


def _count_during(spec: Spec, runners: list[Runner], cases: list[Case]) -> _CountDuring | None:
    """Count during the meta run when ``flops.case`` is one of its cases."""
    assert spec.flops is not None
    meta = next((r for r in runners if isinstance(r, LocalRunner) and r.device == "meta"), None)
    wanted = spec.flops.case.as_dict()
    case = next((c for c in cases_for(spec, "meta", cases) if c.as_dict() == wanted), None) if meta else None
    return _CountDuring(spec, meta, case) if meta and case else None


def _flops_count(spec: Spec, rules: frozenset[str], during: _CountDuring | None, runs: tuple[DeviceRun, ...], model: nn.Module) -> tuple[CaseCount | None, str]:
    """The count the ``flops:`` claims are judged by, at ``flops.case``, or why it could not be made:
    the one made during the meta run, else a forward of its own."""
    if "flops" not in rules or not _claims_flops(spec):
        return None, ""
    counted = during.result(runs) if during else None
    if counted is not None:
        return counted, ""
    assert spec.flops is not None
    case = spec.flops.case
    try:
        return count_model(model, make_inputs(spec, case, "meta"), case), ""
    except ArchcheckError as exc:
        return None, str(exc)
