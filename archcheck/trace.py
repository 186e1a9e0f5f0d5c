"""Run a forward pass and record what every module took and gave, as shapes.

Hooks are removed and each module's train/eval flag is restored in ``finally``:
the model is left exactly as it was found.
"""

from __future__ import annotations

import os
import traceback
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

import torch
from torch import nn

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


def summarize(value: Any) -> Value:
    if isinstance(value, torch.Tensor):
        return TensorInfo(tuple(value.shape), str(value.dtype).removeprefix("torch."))
    if isinstance(value, (tuple, list)):
        return tuple(summarize(v) for v in value)
    if isinstance(value, Mapping):  # dict outputs (detection heads, HF ModelOutput)
        return DictValue(tuple((str(k), summarize(v)) for k, v in value.items()))
    return OtherValue(type(value).__name__)


def observe(model: nn.Module, inputs: Iterable[torch.Tensor], keep_tensors: bool = False) -> Observation:
    """Run ``model(*inputs)`` without gradients and record every module call."""
    with observer(model) as run:
        return run(inputs, keep_tensors)


@contextmanager
def observer(model: nn.Module) -> Iterator[Callable[..., Observation]]:
    """``with observer(model) as run: run(inputs)`` observes many passes with hooks added once."""
    names = {module: name for name, module in model.named_modules()}
    modes = {module: module.training for module in model.modules()}
    running: list[tuple[str, nn.Module, tuple[Value, ...]]] = []
    calls: dict[str, list[Call]] = defaultdict(list)

    def before(module: nn.Module, args: tuple[Any, ...]) -> None:
        running.append((names[module], module, tuple(summarize(a) for a in args)))

    def after(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        name, _, seen_inputs = running.pop()
        calls[name].append(Call(seen_inputs, summarize(output)))

    def run(inputs: Iterable[torch.Tensor], keep_tensors: bool = False) -> Observation:
        running.clear()
        calls.clear()
        with torch.no_grad():
            try:
                result = model(*inputs)
            except Exception as exc:  # a crash is an observation, not an error of ours
                name, module, seen_inputs = running[-1] if running else ("", model, ())
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                crash = Crash(name, type(module).__name__, seen_inputs, f"{type(exc).__name__}: {message}", _model_line(exc))
                return Observation(None, _freeze(calls), crash)
        tensors = _to_cpu(result) if keep_tensors else None
        return Observation(summarize(result), _freeze(calls), None, tensors)

    handles = []
    try:
        for module in names:
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(after))
        yield run
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.training = training


def _model_line(exc: BaseException) -> str:
    """The innermost line of the traceback outside torch and archcheck's tracing: the model's own code."""
    skipped = (os.path.dirname(torch.__file__), __file__, os.path.join(os.path.dirname(__file__), "memo.py"))
    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if not frame.filename.startswith(skipped) and frame.filename != __file__:
            found = f"{os.path.basename(frame.filename)}:{frame.lineno}: {(frame.line or '').strip()}"
    return found


def _freeze(calls: Mapping[str, list[Call]]) -> dict[str, tuple[Call, ...]]:
    return {name: tuple(found) for name, found in calls.items()}


def _to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu")
    if isinstance(value, (tuple, list)):
        return tuple(_to_cpu(v) for v in value)
    return value
