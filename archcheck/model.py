"""Stage 2, build: import a spec's factory and build the network, on the meta device or for real.

``Builds`` builds each form once per run: the meta model (shapes, no memory) and the CPU
model (seeded weights), which every other device gets a copy of.
"""

from __future__ import annotations

import copy
import inspect
import os
import traceback
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cached_property

import torch
from torch import nn

from archcheck.errors import Diagnostic, ModelError, SpecError, did_you_mean, first_line
from archcheck.factory import check_is_module, import_factory
from archcheck.observe.fastmeta import FastMeta
from archcheck.spec import Spec


def build(spec: Spec, device: str | torch.device = "cpu", seed: int = 0) -> nn.Module:
    """Call the factory with the spec's kwargs; meta builds allocate no memory.

    Real builds are seeded, so every device sees the same weights.
    """
    factory = import_factory(spec)
    where = spec.locations.get("model.kwargs") or spec.locations.get("model.factory")
    try:
        inspect.signature(factory).bind(**spec.kwargs)
    except TypeError as exc:
        raise ModelError(Diagnostic(f"{spec.factory} does not take these kwargs: {exc}", where)) from None
    except ValueError:  # no signature to inspect (a builtin): let the call say
        pass
    on_meta = str(device) == "meta"
    try:
        with torch.device(device) if on_meta else nullcontext(), FastMeta() if on_meta else nullcontext(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = factory(**spec.kwargs)
    except Exception as exc:  # chained: --debug shows the factory's own traceback
        raise _FactoryFailed(Diagnostic(f"building the model with {spec.factory}(**{dict(spec.kwargs)}) failed: {type(exc).__name__}: {exc}", where)) from exc
    model = check_is_module(model, spec)
    if spec.weights is not None and str(device) != "meta":
        load_weights(model, spec)
    return model.eval()


class _FactoryFailed(ModelError):
    """The factory itself raised (not its import, its kwargs or its result)."""


@dataclass(frozen=True)
class Fallback:
    """A step that could not run where it was asked to, and ran elsewhere instead: always reported.

    ``stage``: "build" (the constructor cannot run on meta: built on CPU, then moved to meta) or
    "run" (a forward pass meta cannot tell: an op whose output shape depends on values).
    """

    stage: str
    device: str  # where it ran instead
    reason: str  # the first line of why, with the module and the model's own line where known
    cases: int = 1  # runs that fell back for this same reason

    def __str__(self) -> str:
        if self.stage == "build":
            return f"built on CPU, then moved to meta: the constructor cannot run on meta ({self.reason})"
        runs = f"{self.cases} cases" if self.cases != 1 else "the case"
        return f"ran {runs} on {self.device.upper() if self.device == 'cpu' else self.device}: meta cannot tell ({self.reason})"


def build_meta(spec: Spec) -> tuple[nn.Module, Fallback | None]:
    """The meta model, or, when the constructor cannot run on meta (it reads tensor values:
    ``.tolist()``, ``.item()``), the CPU model moved to meta, with the fallback that says why."""
    try:
        return build(spec, "meta"), None
    except _FactoryFailed as exc:
        cause = exc.__cause__ or exc
        model = build(spec, "cpu")  # a constructor that fails here too is the user's bug: that error stands
        line = user_line(cause)
        return model.to("meta"), Fallback("build", "cpu", first_line(cause) + (f" at {line}" if line else ""))


def user_line(exc: BaseException) -> str:
    """The innermost traceback line outside torch and archcheck: the model's own code."""
    skipped = (os.path.dirname(torch.__file__), os.path.dirname(__file__))
    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if not frame.filename.startswith(skipped) or "/zoo/" in frame.filename:
            found = f"{os.path.basename(frame.filename)}:{frame.lineno}: {(frame.line or '').strip()}"
    return found


def load_weights(model: nn.Module, spec: Spec) -> None:
    assert spec.weights is not None
    where = spec.locations.get("model")
    try:
        state = torch.load(spec.weights, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelError(Diagnostic(f"no such weights file {spec.weights}", where)) from None
    except Exception as exc:
        raise ModelError(Diagnostic(f"cannot load weights {spec.weights}: {exc}", where)) from None
    if isinstance(state, dict) and all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}  # saved from DataParallel/DDP
    try:
        model.load_state_dict(state)
    except Exception as exc:
        raise ModelError(Diagnostic(f"weights {spec.weights} do not fit the model: {exc}", where)) from None


class Builds:
    """The network of one spec, each form built at most once per run.

    ``meta``: shapes only (built on CPU and moved when the constructor cannot run on meta). ``cpu``: seeded weights (and the spec's weights file), the parity
    reference. ``on(device)``: the CPU model itself for ``cpu``, else a copy of it moved there,
    so every device computes with the same weights.
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.fallbacks: list[Fallback] = []  # the meta build's, when it needed the CPU

    @cached_property
    def meta(self) -> nn.Module:
        model, fallback = build_meta(self.spec)
        if fallback is not None:
            self.fallbacks.append(fallback)
        return model

    @cached_property
    def cpu(self) -> nn.Module:
        return build(self.spec, "cpu")

    def on(self, device: str) -> nn.Module:
        if device == "meta":
            return self.meta
        if device == "cpu":
            return self.cpu
        return copy.deepcopy(self.cpu).to(device)


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
            hint = did_you_mean(path, known, n=3)
            diagnostics.append(Diagnostic(f"no module {path!r} in {type(model).__name__}{hint}", location))
    if diagnostics:
        raise SpecError(*diagnostics)
