"""``fuzz(spec)``: draw cases from the spec's claimed domain, run the real network on
the meta device, check every shape formula, and shrink a failure to the smallest case.

Hypothesis draws and shrinks; the network is built once and observed per case
(hooks added once, repeated meta shape arithmetic memoised). Runs are
reproducible: derandomized by default, or seeded with ``seed``. Hypothesis'
example database is off unless a directory is given.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from archcheck.checks import OBSERVATION_RULES, Evidence, run_checks
from archcheck.errors import UsageError
from archcheck.inputs import make_inputs
from archcheck.model import Builds, Fallback, check_module_paths
from archcheck.observe.fallback import CaseRunner
from archcheck.observe.trace import Observation
from archcheck.results import CheckResult
from archcheck.runners.records import DeviceRun
from archcheck.spec import Case, Spec, load_spec
from archcheck.spec.expr import ExprError

CaseCheck = Callable[[Case], tuple[Observation | None, list[CheckResult]]]


@contextmanager
def case_checker(spec: Spec, device: str | None = None, fallbacks: list[Fallback] | None = None) -> Iterator[CaseCheck]:
    """``check(case) -> (observation, results)`` on one meta build of the network; a case meta
    cannot tell (data-dependent shapes) runs on the CPU (``observe.fallback``). ``device`` forces
    one; ``fallbacks`` always holds what fell back so far (the build's, then one per reason)."""
    runner = CaseRunner(Builds(spec), device)
    first = device or "meta"
    check_module_paths(spec, runner.model(first))
    with runner.observing(spec.module_paths) as run:  # the observation rules read no other module's calls

        def check(case: Case) -> tuple[Observation | None, list[CheckResult]]:
            try:
                inputs = make_inputs(spec, case, first)
            except ExprError as exc:  # the inputs themselves have no shape here (``[B, 3, H/2, W]`` at odd H)
                where = spec.locations.get("inputs")
                return None, [CheckResult("expr", "inputs", "fail", section="inputs", message=f"the inputs have no shape here: {exc}", location=where, device=first, case=case)]
            observation = run(inputs, case)
            if fallbacks is not None:
                fallbacks[:] = runner.fallbacks
            evidence = Evidence(spec, (case,), runs=(DeviceRun(first, ((case, observation),)),))
            return observation, list(run_checks(spec, evidence, frozenset(OBSERVATION_RULES)))

        if fallbacks is not None:
            fallbacks[:] = runner.fallbacks
        yield check


@dataclass(frozen=True)
class FuzzReport:
    """``failure`` is the smallest failing case hypothesis found; ``problems`` what broke there."""

    spec: Spec
    examples: int  # the most cases asked for
    cases_run: int  # distinct cases really run, shrinking included
    seed: int | None
    failure: Case | None
    problems: tuple[CheckResult, ...]
    seconds: float
    fallbacks: tuple[Fallback, ...] = ()  # the build or cases that ran on the CPU, and why

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def results(self) -> tuple[CheckResult, ...]:
        """The problems at the smallest failing case; or one passing result for the whole run."""
        if self.problems:
            return self.problems
        message = f"every shape formula held at {self.cases_run} cases drawn from the claimed domain"
        return (CheckResult("fuzz", "shape formulas", "pass", section="fuzz", message=message, location=self.spec.locations.get("dims"), device="meta"),)


class _Broken(Exception):
    """A case broke the spec; hypothesis shrinks on it."""


def fuzz(
    spec: Spec | str | Path,
    examples: int = 100,
    seed: int | None = None,
    progress: Callable[[str, int], None] | None = None,
    database: str | Path | None = None,
    device: str | None = None,
) -> FuzzReport:
    """Check the spec's shape formulas at ``examples`` cases drawn from its claimed domain
    (on meta; ``device`` forces meta or cpu)."""
    # Imported here: hypothesis takes 0.05 s to import, and every other command (resolutions uses case_checker) goes without it.
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.database import DirectoryBasedExampleDatabase

    from archcheck.strategies import cases

    if examples < 1:
        raise UsageError(f"--examples must be at least 1, got {examples}")
    started = time.perf_counter()
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    strategy = cases(spec)
    tick = progress or (lambda label, n: None)
    seen: dict[Case, list[CheckResult]] = {}
    last: list[tuple[Case, list[CheckResult]]] = []
    fallbacks: list[Fallback] = []
    with case_checker(spec, device, fallbacks) as check:

        def body(case: Case) -> None:
            if case not in seen:
                seen[case] = [r for r in check(case)[1] if r.failed]
                tick("shrinking" if last else "drawing cases", 1)
            if seen[case]:
                last.append((case, seen[case]))
                raise _Broken(str(case))

        test = settings(
            max_examples=examples,
            deadline=None,  # a forward pass takes far longer than hypothesis' default 200 ms
            derandomize=seed is None and not database,  # hypothesis allows no database when derandomized
            database=DirectoryBasedExampleDatabase(str(database)) if database else None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
            report_multiple_bugs=False,
            verbosity=Verbosity.quiet,
            print_blob=False,
        )(given(strategy)(body))
        if seed is not None:  # hypothesis neither reads nor writes its database under @seed
            test = hypothesis_seed(seed)(test)
        try:
            test()
        except _Broken:
            pass
    failure, problems = last[-1] if last else (None, [])
    return FuzzReport(spec, examples, len(seen), seed, failure, tuple(problems), time.perf_counter() - started, tuple(fallbacks))
