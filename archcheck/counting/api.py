"""``count(spec)``: parameters and compute per module for each case, on the meta device
(built on CPU and moved when the constructor cannot run on meta; a case whose output shapes
depend on values runs on the CPU; both reported as fallbacks)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Mapping, Sequence

from archcheck.counting.counter import count_model
from archcheck.counting.engines import ENGINES, run_engine
from archcheck.counting.records import CONVENTIONS, CountReport, EngineCount
from archcheck.errors import UsageError
from archcheck.inputs import make_inputs
from archcheck.model import Builds
from archcheck.observe.fallback import CaseRunner, check_device
from archcheck.spec import Spec, load_spec
from archcheck.spec.adhoc import SOURCE
from archcheck.spec.domain import resolve_cases
from archcheck.spec.limits import MAX_CASES


def count(
    spec: Spec | str | Path,
    case: Mapping[str, int] | None = None,
    convention: str | None = None,
    engines: Sequence[str] = (),
    max_cases: int = MAX_CASES,
    device: str | None = None,
) -> CountReport:
    """Count parameters and compute of a spec's network at each case (``case`` fixes dims).

    ``convention`` is ``macs``, ``flops`` or ``darknet`` (default: the spec's ``flops:``
    convention, else ``macs``); ``engines`` adds peer counts (``fvcore``, ``torchinfo``), which
    build the model with real weights and run it on CPU. ``device`` forces ``meta`` or ``cpu``
    (default: meta, with the fallbacks above).
    """
    started = time.perf_counter()
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    name = convention or (spec.flops.convention if spec.flops else "macs")
    if name not in CONVENTIONS:
        raise UsageError(f"unknown convention {name!r}; expected one of: {', '.join(CONVENTIONS)}")
    for engine in engines:
        if engine not in ENGINES:
            raise UsageError(f"unknown engine {engine!r}; expected one of: torch, {', '.join(ENGINES)}, all")
    check_device(device)
    cases = resolve_cases(spec, case, max_cases)
    builds = Builds(spec)
    runner = CaseRunner(builds, device)
    counted = tuple(runner.attempt(each, lambda model, inputs, _, each=each: count_model(model, inputs, each)) for each in cases)
    peers: list[EngineCount] = []
    if engines:
        cpu_model = builds.cpu
        for ours in counted:
            assert ours.case is not None
            inputs = make_inputs(spec, ours.case, "cpu")
            if inputs.kwargs:
                raise UsageError(f"--engine {', '.join(engines)}: the peer engines take positional inputs only, and {spec.name} declares keyword inputs ({', '.join(inputs.kwargs)})")
            peers.extend(run_engine(engine, cpu_model, inputs.args, ours, ours.case) for engine in engines)
    adhoc = str(spec.path) == SOURCE  # made from a command line: name the factory, not a file
    return CountReport(spec.factory if adhoc else spec.name, None if adhoc else spec.path, CONVENTIONS[name], counted, tuple(peers), time.perf_counter() - started, runner.fallbacks)
