"""``verify(spec)``: build, run on each device, check every claim, collect every result."""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from torch import nn

from archcheck.checks import MODEL_CHECKS, OBSERVATION_CHECKS, RUN_CHECKS, ObservationContext
from archcheck.devices import DeviceOptions, DeviceRun, runners_for
from archcheck.errors import Diagnostic, SpecError, UsageError
from archcheck.model import build
from archcheck.results import CheckResult
from archcheck.spec import Case, Spec, load_spec
from archcheck.spec.expr import ExprError


@dataclass(frozen=True)
class Report:
    spec: Spec
    devices: tuple[str, ...]
    cases: tuple[Case, ...]
    results: tuple[CheckResult, ...]
    seconds: float = 0.0
    runs: tuple[DeviceRun, ...] = field(default=(), compare=False, repr=False)

    @property
    def problems(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.failed)

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


def verify(
    spec: Spec | str | Path,
    devices: list[str] | tuple[str, ...] | None = None,
    case: Mapping[str, int] | None = None,
    require: bool = False,
    progress: Callable[[str, int], None] | None = None,
    options: DeviceOptions | None = None,
) -> Report:
    """Check a spec against its real network on each device; see ``Report.problems``.

    ``case`` fixes some dims (``{"H": 608, "W": 608}``); the others take their values.
    ``require`` turns a device this machine lacks into a failure instead of a skip.
    ``options``: TF32, cudnn.benchmark, DDP processes and timeout (archcheck.devices.DeviceOptions).
    """
    started = time.perf_counter()
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    cases = resolve_cases(spec, case)
    runners = runners_for(list(devices or spec.devices), options)
    meta_model = build(spec, "meta")
    check_module_paths(spec, meta_model)

    results: list[CheckResult] = [r for _, r in cases_outside_domain(spec, cases)]
    for check in MODEL_CHECKS.values():
        results.extend(check(spec, meta_model))
    runs = []
    for runner in runners:
        reason = runner.unavailable()
        if reason:
            status = "fail" if require else "skip"
            results.append(CheckResult("device", runner.name, status, section="devices", message=f"device {runner.name} did not run: {reason}", location=spec.locations.get("devices"), device=runner.name))
            continue
        tick = (lambda name=runner.name: progress(name, 1)) if progress else (lambda: None)
        run = runner.run(spec, cases, tick)
        runs.append(run)
        results.extend(run.results)  # what the runner itself found: DataParallel pitfalls, DDP steps, failed processes
        for device, run_case, observation in run.each():  # device: "dp cuda:1" for a replica, "ddp rank 1" for a rank
            context = ObservationContext(spec, device, run_case, spec.env(run_case), observation)
            for check in OBSERVATION_CHECKS.values():
                results.extend(check(context))
    for run_check in RUN_CHECKS.values():  # parity: every device against the cpu run
        results.extend(run_check(spec, runs))
    return Report(spec, tuple(r.name for r in runners), tuple(cases), tuple(results), time.perf_counter() - started, tuple(runs))


def resolve_cases(spec: Spec, case: Mapping[str, int] | None) -> list[Case]:
    """The spec's cases, with ``case`` fixing dims; a dim the spec lacks is a usage error."""
    names = [d.name for d in spec.dims]
    for name in case or {}:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; the spec's dims are {', '.join(names)}"
            raise UsageError(f"--case names {name}, which is not a dim of {spec.name}{hint}")
    cases = spec.cases(case)
    for each in cases:
        try:
            spec.env(each)
            for spec_input in spec.inputs:
                spec_input.pattern.concrete(spec.env(each))
        except ExprError as exc:
            raise UsageError(f"case {each}: {exc}") from None
    return cases


def cases_outside_domain(spec: Spec, cases: list[Case]) -> list[tuple[Case, CheckResult]]:
    """A case outside the claimed domain still runs; say that it is outside."""
    found = []
    for each in cases:
        for name, value in each.bindings:
            reason = spec.dim(name).why_outside(value)
            if reason:
                result = CheckResult("domain", name, "skip", section="dims", message=f"{reason}: this case is outside the domain the spec claims", location=spec.dim(name).location, case=each)
                found.append((each, result))
    return found


def check_module_paths(spec: Spec, model: nn.Module) -> None:
    """Every module path in the spec names a module of the model; else one error listing all."""
    known = [name for name, _ in model.named_modules() if name]
    known_set = set(known)
    diagnostics = []
    declared = [(m.path, m.key_location) for m in spec.modules]
    if spec.params:
        declared += [(c.path, c.location) for c in spec.params.modules]
    if spec.flops:
        declared += [(c.path, c.location) for c in spec.flops.modules]
    for path, location in declared:
        if path not in known_set:
            close = difflib.get_close_matches(path, known, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            diagnostics.append(Diagnostic(f"no module {path!r} in {type(model).__name__}{hint}", location))
    if diagnostics:
        raise SpecError(*diagnostics)
