"""Take a snapshot: run the model at swept cases on the meta device and infer what a spec would say.

    working spec -> meta build -> a size that runs for every dim (base)
      -> per dim: the sizes that run (domain.sweep_until_periodic) -> the claimed domain
      -> sample cases in that domain, observed -> per module and output dim a {case: size} table
      -> infer.fit -> formulas; sizes no formula fits are written ``_``
      -> the modules a reader cares about (choose_modules) -> params and compute (count_model)

When some size fits no formula on the widest domain, multiples of 2, 4, ... 64 are tried,
and the first domain on which every formula fits is kept.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
import yaml
from torch import nn

from archcheck.counting.counter import count_model
from archcheck.counting.records import CONVENTIONS
from archcheck.errors import ModelError, UsageError
from archcheck.inputs import call, make_inputs
from archcheck.model import build
from archcheck.observe.fastmeta import FastMeta
from archcheck.observe.memo import MetaMemo
from archcheck.observe.trace import Observation, observer
from archcheck.snapshot import DEFAULT_DEPTH
from archcheck.snapshot import domain as domains
from archcheck.snapshot.infer import fit, key, whole_on
from archcheck.snapshot.records import Calls, DimDomain, InputShot, ModuleShot, Snapshot
from archcheck.spec import Case, Spec
from archcheck.spec.adhoc import SOURCE, parse_input
from archcheck.spec.load import parse_spec
from archcheck.spec.shapes import DictValue, OtherValue, TensorInfo, Value

BASE_CHOICES = (224, 256, 416, 320, 512, 608, 64, 128, 32, 96, 16, 8, 1)
BATCH_VALUES = (1, 2)


@dataclass(frozen=True)
class Target:
    """What to snapshot: a factory, its kwargs, and the inputs of ``forward`` as dim names or sizes."""

    name: str
    factory: str
    kwargs: Mapping[str, Any]
    inputs: tuple[InputShot, ...]
    keywords_given: bool = True  # from a spec: positional/keyword as written there


def target_from_spec(spec: Spec) -> Target:
    inputs = tuple(InputShot(i.name, tuple(str(d) for d in i.pattern.dims), i.dtype, i.keyword) for i in spec.inputs)
    return Target(spec.name, spec.factory, dict(spec.kwargs), inputs)


def target_from_factory(factory: str, inputs: Iterable[str], kwargs: Mapping[str, Any] | None = None) -> Target:
    texts = list(inputs)
    if not texts:
        raise UsageError(f"{factory} names a factory, not a spec: give its inputs, e.g. --input x=[B,3,H,W]")
    parsed = [parse_input(text, index) for index, text in enumerate(texts)]
    shots = tuple(InputShot(name, tuple(str(d) for d in shape), dtype, False) for name, shape, dtype, _ in parsed)
    return Target(factory.rpartition(":")[2], factory, dict(kwargs or {}), shots, keywords_given=False)


def working_spec(target: Target, values: Mapping[str, int]) -> Spec:
    """A spec that only feeds the model: its inputs, and one value per dim."""
    document = {
        "archcheck": 1,
        "name": target.name,
        "model": {"factory": target.factory, "kwargs": dict(target.kwargs)},
        "inputs": {i.name: {"shape": list(i.shape), "dtype": i.dtype, "keyword": i.keyword} for i in target.inputs},
        "dims": {name: {"values": [value]} for name, value in values.items()},
    }
    return parse_spec(yaml.safe_dump(document, sort_keys=False), SOURCE)


def symbols(target: Target) -> tuple[list[str], list[str]]:
    """(batch dims, swept dims): a name that only ever leads an input is a batch dim."""
    names = list(dict.fromkeys(d for i in target.inputs for d in i.shape if not d.isdigit()))
    leading = {i.shape[0] for i in target.inputs if i.shape}
    inner = {d for i in target.inputs for d in i.shape[1:]}
    batch = [n for n in names if n in leading and n not in inner]
    return batch, [n for n in names if n not in batch]


def take(target: Target, depth: int = DEFAULT_DEPTH, convention: str = "macs", progress: Callable[[str, int], None] | None = None) -> tuple[Snapshot, nn.Module, MetaMemo]:
    """The snapshot of ``target``, the meta model it was taken from, and the memo of its meta ops (warm for the spec's cases)."""
    if depth < 1:
        raise UsageError(f"--depth {depth} must be >= 1")
    if convention not in CONVENTIONS:
        raise UsageError(f"unknown convention {convention!r}; expected one of: {', '.join(CONVENTIONS)}")
    tick = progress or (lambda label, n: None)
    batch, swept = symbols(target)
    spec = working_spec(target, {n: 1 for n in batch + swept})
    model = build(spec, "meta")
    if not target.keywords_given:
        target = _with_keywords(target, model)
        spec = working_spec(target, {n: 1 for n in batch + swept})
    memo = MetaMemo()

    def runs(case: Mapping[str, int]) -> bool:
        tick("sweeping sizes", 1)
        try:
            with torch.no_grad(), FastMeta(memo):  # the slow meta ops answered by shape, the rest remembered
                call(model, make_inputs(spec, Case.of(dict(case)), "meta"))
            return True
        except Exception:  # noqa: BLE001  (any crash of the user's model: this size does not run)
            return False

    start = {n: 1 for n in batch}
    base_size = next((s for s in BASE_CHOICES if runs(start | {n: s for n in swept})), None)
    if base_size is None:
        raise ModelError(f"{target.factory}: the forward pass ran at none of the sizes {', '.join(map(str, BASE_CHOICES))} for {', '.join(swept)}")
    held = start | {n: base_size for n in swept}
    sweeps = {n: domains.sweep_until_periodic(lambda size, n=n: runs(held | {n: size})) for n in swept}

    steps = [None] + [2**k for k in range(1, 7)]
    best = None
    for step in steps:
        dims = _domains(batch, swept, sweeps, step)
        if dims is None:
            continue
        found = _infer(target, spec, model, memo, dims, depth, tick)
        if best is None or len(found[1]) < len(best[1]):
            best = found
        if not found[1]:
            break
    assert best is not None
    dims, unfitted, shapes, outputs, chosen = best
    case = Case.of({d.name: d.values[0] for d in dims})
    counted = count_model(model, make_inputs(spec, case, "meta"), case)
    of = CONVENTIONS[convention].of
    by_path = {m.path: m for m in counted.modules}
    modules = tuple(ModuleShot(path, section, type(dict(model.named_modules())[path]).__name__, shapes[path], by_path[path].params.total, of(by_path[path].compute)) for section, path in chosen)
    section_params = tuple((name, by_path[name].params.total) for name, _ in model.named_children())
    snapshot = Snapshot(target.name, target.factory, dict(target.kwargs), target.inputs, dims, modules, outputs, counted.total.params.total, section_params, convention, case.bindings, of(counted.total.compute), tuple(unfitted))
    return snapshot, model, memo


def _with_keywords(target: Target, model: nn.Module) -> Target:
    """Inputs in ``forward``'s positional order stay positional; the rest are passed by keyword."""
    try:
        parameters = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return target
    positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    fixed, keyword = [], False
    for index, shot in enumerate(target.inputs):
        keyword = keyword or index >= len(positional) or positional[index] != shot.name
        if shot.name.startswith("x") and shot.name[1:].isdigit() and not keyword:
            fixed.append(shot)
            continue
        fixed.append(replace(shot, keyword=keyword))
    return replace(target, inputs=tuple(fixed))


def _domains(batch: list[str], swept: list[str], sweeps: Mapping[str, tuple], step: int | None) -> tuple[DimDomain, ...] | None:
    found = [DimDomain(n, BATCH_VALUES) for n in batch]
    for name in swept:
        runs, high = sweeps[name]
        span, multiple = domains.claimable(runs, step)
        if step and span is None:
            return None
        sizes = domains.domain_sizes(span, multiple, runs.sizes[:2])
        found.append(DimDomain(name, domains.choose_values(sizes, multiple), span, multiple, runs.describe(name), (1, high)))
    return tuple(found)


def _infer(target: Target, spec: Spec, model: nn.Module, memo: MetaMemo, dims: tuple[DimDomain, ...], depth: int, tick: Callable[[str, int], None]):  # type: ignore[no-untyped-def]
    base = {d.name: d.values[0] for d in dims}
    cases = [base]
    columns: dict[str, list[int]] = {}
    for d in dims:
        sizes = [1, 2, 3] if d.range is None and d.values == BATCH_VALUES else domains.samples(domains.domain_sizes(d.range, d.multiple_of, d.values), d.values)
        columns[d.name] = sizes
        cases += [base | {d.name: s} for s in sizes if s != base[d.name]]
    for shift in (1, 2):  # held-out: every dim moved at once
        cases.append({n: sizes[min(len(sizes) - 1, shift + i)] for i, (n, sizes) in enumerate(columns.items())})
    seen: dict[tuple, Observation] = {}
    with observer(model) as run:
        for case in cases:
            tick("fitting formulas", 1)
            if key(case) in seen:
                continue
            with memo:
                observation = run(make_inputs(spec, Case.of(case), "meta"))
            if observation.crash is None:
                seen[key(case)] = observation
    if key(base) not in seen:
        raise ModelError(f"{target.factory}: the forward pass crashed at {Case.of(base)}")
    steps = {d.name: (d.multiple_of or 1) if d.range else math.gcd(*d.values) for d in dims}  # the grid each dim's sizes lie on
    unfitted: list[str] = []

    def formulas(values: Mapping[tuple, Value], where: str) -> Any:
        shapes = dict(values)
        skeletons = {_skeleton(v) for v in shapes.values()}
        if len(skeletons) != 1:
            unfitted.append(f"{where}: its structure changes with the input size")
            return "_"
        leaves = {k: _leaves(v) for k, v in shapes.items()}
        first = leaves[key(base)]
        texts = []
        for leaf, dims_of_leaf in enumerate(first):
            texts.append([])
            for index in range(len(dims_of_leaf)):
                table = {k: found[leaf][index] for k, found in leaves.items()}
                formula = fit(table, base)
                if formula is None or not whole_on(formula, steps):
                    unfitted.append(f"{where} dim {index}")
                    texts[-1].append("_")
                else:
                    texts[-1].append(str(formula))
        return _rebuild(next(iter(skeletons)), iter(texts))

    called = seen[key(base)].calls
    chosen = choose_modules(model, set(called), depth)
    shapes: dict[str, Any] = {}
    for _, path in chosen:
        counts = {len(o.calls.get(path, ())) for o in seen.values()}
        if len(counts) != 1:
            shapes[path] = "_"
            unfitted.append(f"{path}: called a different number of times at different sizes")
            continue
        per_call = [formulas({k: o.calls[path][i].output for k, o in seen.items()}, path if counts == {1} else f"{path} (call {i + 1})") for i in range(counts.pop())]
        shapes[path] = per_call[0] if all(s == per_call[0] for s in per_call) else Calls(tuple(per_call))
    outputs = formulas({k: o.output for k, o in seen.items()}, "outputs")
    chosen = _drop_echoes(model, chosen, shapes)
    return dims, unfitted, shapes, outputs, chosen


def choose_modules(model: nn.Module, called: set[str], depth: int) -> list[tuple[str, str]]:
    """(section, path) of the modules worth listing: the model's children, and down to ``depth`` inside
    modules that are not plain ``nn.Sequential`` pipelines. Containers never called themselves
    (``nn.ModuleList``) are looked through. A top-level child with more than itself listed is a
    section of its own; the others are flat entries (section "")."""
    found: list[tuple[str, str]] = []

    def walk(module: nn.Module, path: str, level: int, section: str, out: list[str]) -> None:
        if path in called:
            out.append(path)
            if level >= depth or isinstance(module, nn.Sequential):
                return
            level += 1
        for name, child in module.named_children():
            walk(child, f"{path}.{name}", level, section, out)

    for name, child in model.named_children():
        listed: list[str] = []
        walk(child, name, 1, name, listed)
        for path in listed:
            found.append((name if len(listed) > 1 else "", path))
    return found


def _drop_echoes(model: nn.Module, chosen: list[tuple[str, str]], shapes: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Leaves (a Conv2d, an Identity) and only children inside a listed module, with the same shape as it: they tell the reader nothing."""
    modules = dict(model.named_modules())
    listed = {path for _, path in chosen}
    kept = []
    for section, path in chosen:
        parent = next((p for p in _ancestors(path) if p in listed), None)
        leaf = not any(True for _ in modules[path].children())
        only_child = parent is not None and path.rpartition(".")[0] == parent and len(list(modules[parent].children())) == 1
        if parent is not None and (leaf or only_child) and shapes.get(path) == shapes.get(parent):
            continue
        kept.append((section, path))
    sections = {}
    for section, path in kept:
        sections.setdefault(section, []).append(path)
    return [("" if section and len(sections[section]) == 1 else section, path) for section, path in kept]


def _ancestors(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


def _skeleton(value: Value | None) -> Any:
    if isinstance(value, TensorInfo):
        return ("T", len(value.shape))
    if isinstance(value, tuple):
        return ("L", tuple(_skeleton(v) for v in value))
    if isinstance(value, DictValue):
        return ("D", tuple((k, _skeleton(v)) for k, v in value.items))
    if isinstance(value, OtherValue):
        return ("O", value.type_name)
    return ("O", "NoneType")


def _leaves(value: Value | None) -> list[tuple[int, ...]]:
    if isinstance(value, TensorInfo):
        return [value.shape]
    if isinstance(value, tuple):
        return [leaf for v in value for leaf in _leaves(v)]
    if isinstance(value, DictValue):
        return [leaf for _, v in value.items for leaf in _leaves(v)]
    return []


def _rebuild(skeleton: Any, texts: Any) -> Any:
    kind, body = skeleton
    if kind == "T":
        return tuple(next(texts))
    if kind == "L":
        return [_rebuild(s, texts) for s in body]
    if kind == "D":
        return {k: _rebuild(s, texts) for k, s in body}
    return None if body == "NoneType" else "_"
