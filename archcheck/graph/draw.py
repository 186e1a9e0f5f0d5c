"""``draw(spec, "yolov4.svg")``: capture the data flow at a case, paint the check results, render."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from archcheck.counting import CONVENTIONS, count_model
from archcheck.counting.counter import parameter_stats
from archcheck.errors import UsageError
from archcheck.graph.capture import capture, folding
from archcheck.graph.layout import Annotations, to_digraph
from archcheck.graph.render import output_format, render
from archcheck.inputs import make_inputs
from archcheck.model import Builds, Fallback, check_module_paths
from archcheck.observe.fallback import CaseRunner
from archcheck.pipeline import verify
from archcheck.results import CheckResult
from archcheck.spec import Case, Spec, load_spec
from archcheck.spec.domain import resolve_cases


@dataclass(frozen=True)
class Drawing:
    """What was drawn, for the command's one-line summary."""

    output: Path
    case: Case
    nodes: int
    edges: int
    passed: int
    failed: int
    crash: str = ""
    fallbacks: tuple[Fallback, ...] = ()  # the build or the run that needed the CPU, and why

    def __str__(self) -> str:
        checks = f"; {_checks(self.passed)} passed, {self.failed} failed" if self.passed or self.failed else ""
        crashed = f"; the forward pass crashed: {self.crash}" if self.crash else ""
        at = f" at {self.case}" if self.case.bindings else ""
        notes = "".join(f"\nfallback: {f}" for f in self.fallbacks)
        return f"wrote {self.output}: {self.nodes} nodes, {self.edges} edges{at}{checks}{crashed}{notes}"


def draw(
    spec: Spec | str | Path,
    output: str | Path,
    depth: int | None = None,
    case: Mapping[str, int] | None = None,
    results: Sequence[CheckResult] | None = None,
    params: bool = False,
    flops: str | None = None,
    device: str | None = None,
) -> Drawing:
    """Draw ``spec``'s network to ``output`` (.svg, .png, .pdf or .dot).

    ``depth``: modules this many path segments deep are nodes (default: the modules the spec names).
    ``case``: dims for the shapes on the edges (default: the spec's first case).
    ``results``: check results to paint (default: ``verify`` on the meta device at that case).
    ``params``: write each node's parameter count in its box.
    ``flops``: write each node's compute in this convention (macs, flops, darknet; "spec": the spec's).
    ``device``: run on ``meta`` or ``cpu`` only (default: meta, the CPU where meta cannot tell).
    """
    output = Path(output)
    output_format(output)
    if depth is not None and depth < 1:
        raise UsageError(f"--depth must be at least 1, got {depth}")
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    if flops == "spec":
        flops = spec.flops.convention if spec.flops else "macs"
    if flops is not None and flops not in CONVENTIONS:
        raise UsageError(f"unknown FLOPs convention {flops!r}; expected one of: {', '.join(CONVENTIONS)}")
    at = resolve_cases(spec, case)[0]
    builds = Builds(spec)
    runner = CaseRunner(builds, device)
    where = runner.device_for(at)
    model = builds.on(where)
    check_module_paths(spec, model)
    if results is None:
        results = verify(spec, devices=[where], case=at.as_dict(), builds=builds).results
    fold = folding(model, depth, spec.module_paths)
    inputs = make_inputs(spec, at, where)
    flow = capture(model, inputs, fold)
    modules = dict(model.named_modules())
    counts_for = [n.id for n in flow.nodes if n.kind == "module"]
    counts = {path: parameter_stats(modules[path]).total for path in counts_for} if params else None
    compute, unit = None, "FLOPs"
    if flops is not None:
        convention = CONVENTIONS[flops]
        counted = count_model(model, inputs, at)
        compute = {m.path: convention.of(m.compute) for m in counted.modules if m.path in counts_for}
        unit = convention.label("")
    notes = Annotations(
        sections={m.path: m.section for m in spec.modules},
        results=tuple(results),
        case=at,
        params=counts,
        flops=compute,
        flops_unit=unit,
        title=f"{spec.name} ({spec.path}) at {at}" if at.bindings else f"{spec.factory} ({', '.join(str(list(t.shape)) for t in inputs)})",
    )
    render(to_digraph(flow, fold, notes), output)
    passed = sum(r.status == "pass" for r in results)
    failed = sum(r.failed for r in results)
    return Drawing(output, at, len(flow.nodes), len(flow.edges), passed, failed, flow.crash, runner.fallbacks)


def _checks(count: int) -> str:
    return f"{count} check{'' if count == 1 else 's'}"
