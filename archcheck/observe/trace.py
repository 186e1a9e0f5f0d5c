"""Run a forward pass and record what every module took and gave, as shapes.

Hooks come from ``observe.hooks.watch``: removed, and each module's train/eval flag
restored, in ``finally``. The model is left exactly as it was found.

A sweep that checks only some modules watches only those (``observer(model, paths)``): hooks on
every module cost half as much again as a meta forward. A crash is then located from the
exception's traceback (the innermost module call in it), as the hooks on every module would.
"""

from __future__ import annotations

import os
import traceback
from collections import defaultdict
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Callable, Iterable, Iterator, Mapping

import torch
from torch import nn

from archcheck.errors import first_line
from archcheck.inputs import Inputs, call
from archcheck.observe.fastmeta import fast_meta
from archcheck.observe.hooks import watch
from archcheck.observe.tree import to_cpu
from archcheck.spec.shapes import DictValue, OtherValue, TensorInfo, Value, format_value


@dataclass(frozen=True)
class Call:
    """One call of one module."""

    inputs: tuple[Value, ...]
    output: Value


@dataclass(frozen=True)
class Crash:
    """A forward pass that raised: where, with what going in, and why."""

    module: str  # innermost module that was running; "" for the model's own forward
    module_type: str
    inputs: tuple[Value, ...]
    error: str
    source: str = ""  # the model's own line that raised, e.g. "yolov4.py:147: p4 = torch.cat(...)"

    def __str__(self) -> str:
        where = f"in {self.module} ({self.module_type})" if self.module else f"in the model's forward ({self.module_type})"
        shapes = ", ".join(format_value(v) for v in self.inputs)
        line = f" at {self.source}" if self.source else ""
        return f"forward crashed {where}{line} with inputs {shapes}: {self.error}"


@dataclass(frozen=True)
class Observation:
    """What one forward pass showed: the model's output and each module's calls."""

    output: Value | None
    calls: Mapping[str, tuple[Call, ...]]
    crash: Crash | None = None
    tensors: Any = field(default=None, compare=False, repr=False)  # the outputs themselves, on CPU, for parity


_INFOS: dict[tuple[torch.Size, torch.dtype], TensorInfo] = {}  # a forward sees few distinct ones; hooks run per module call


def summarize(value: Any) -> Value:
    if isinstance(value, torch.Tensor):
        key = (value.shape, value.dtype)
        info = _INFOS.get(key)
        if info is None:
            if len(_INFOS) > 100_000:
                _INFOS.clear()
            info = _INFOS[key] = TensorInfo(tuple(value.shape), str(value.dtype).removeprefix("torch."))
        return info
    if isinstance(value, (tuple, list)):
        return tuple(map(summarize, value))
    if isinstance(value, Mapping):  # dict outputs (detection heads, HF ModelOutput)
        return DictValue(tuple((str(k), summarize(v)) for k, v in value.items()))
    return OtherValue(type(value).__name__)


def observe(model: nn.Module, inputs: Inputs | Iterable[torch.Tensor], keep_tensors: bool = False) -> Observation:
    """Run ``model(*inputs)`` without gradients and record every module call."""
    with observer(model) as run:
        return run(inputs, keep_tensors)


Site = tuple[str, nn.Module, tuple[Value, ...]]  # a module call: its path, the module, its inputs


@contextmanager
def observer(model: nn.Module, paths: Iterable[str] | None = None) -> Iterator[Callable[..., Observation]]:
    """``with observer(model) as run: run(inputs)`` observes many passes with hooks added once.

    ``paths``: record only those modules' calls (default: every module, the model itself as "");
    a crash still names the innermost module that was running, whichever it is.
    """
    running: list[Site] = []
    calls: dict[str, list[Call]] = defaultdict(list)
    every = paths is None
    path_of = {} if every else {id(module): path for path, module in model.named_modules()}

    def before(path: str, module: nn.Module, args: tuple[Any, ...]) -> None:
        running.append((path, module, tuple(map(summarize, args))))

    def after(path: str, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        _, _, seen_inputs = running.pop()
        calls[path].append(Call(seen_inputs, summarize(output)))

    def run(inputs: Inputs | Iterable[torch.Tensor], keep_tensors: bool = False, inside: AbstractContextManager[Any] | None = None) -> Observation:
        """``inside``: another watcher of this forward (the flops counter), entered within FastMeta so that it sees every op."""
        running.clear()
        calls.clear()
        inputs = inputs if isinstance(inputs, Inputs) else tuple(inputs)
        with torch.no_grad(), fast_meta(inputs), inside or nullcontext():
            try:
                result = call(model, inputs)
            except Exception as exc:  # a crash is an observation, not an error of ours
                if every:
                    name, module, seen_inputs = running[-1] if running else ("", model, ())
                else:
                    name, module, seen_inputs = innermost_call(exc.__traceback__, path_of) or ("", model, ())
                crash = Crash(name, type(module).__name__, seen_inputs, first_line(exc), _model_line(exc))
                return Observation(None, _freeze(calls), crash)
        tensors = to_cpu(result) if keep_tensors else None
        return Observation(summarize(result), _freeze(calls), None, tensors)

    with watch(model, before, after, paths):
        yield run


_MODULE_CALLS = frozenset({nn.Module._call_impl.__code__, nn.Module._wrapped_call_impl.__code__})  # torch's ``module(...)``


def innermost_call(trace: TracebackType | None, path_of: Mapping[int, str]) -> Site | None:
    """The innermost call of a module in ``path_of`` (by id) that ``trace`` passes through, with its
    inputs as its pre-hook would have seen them (``module(*args, **kwargs)``: positional, then keyword values)."""
    found = None
    while trace is not None:
        frame = trace.tb_frame
        if frame.f_code in _MODULE_CALLS and id(frame.f_locals.get("self")) in path_of:
            found = frame.f_locals
        trace = trace.tb_next
    if found is None:
        return None
    module, args, kwargs = found["self"], found.get("args", ()), found.get("kwargs") or {}
    return path_of[id(module)], module, tuple(map(summarize, (*args, *kwargs.values()) if kwargs else args))


def _model_line(exc: BaseException) -> str:
    """The innermost line of the traceback outside torch and archcheck's tracing: the model's own code."""
    skipped = (os.path.dirname(torch.__file__), os.path.dirname(__file__))  # torch, and archcheck's observe/
    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if not frame.filename.startswith(skipped):
            found = f"{os.path.basename(frame.filename)}:{frame.lineno}: {(frame.line or '').strip()}"
    return found


def _freeze(calls: Mapping[str, list[Call]]) -> dict[str, tuple[Call, ...]]:
    return {name: tuple(found) for name, found in calls.items()}
