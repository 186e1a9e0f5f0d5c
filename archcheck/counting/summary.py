"""``archcheck.summary(model, (1, 3, 224, 224))``: count a model object, print the table, return the report.

The model is left exactly as it was found (mode, hooks, device, no attributes added). It is
counted on a meta copy when it can be copied (the copy's parameters are made on meta directly,
so no weight is duplicated), else on the model itself, on its device, without gradients: a model
that cannot be copied, or whose forward needs values (data-dependent shapes), is reported so.
"""

from __future__ import annotations

import copy
import time
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import torch
from torch import nn

from archcheck.counting.counter import count_model
from archcheck.counting.records import CONVENTIONS, CaseCount, CountReport
from archcheck.errors import UsageError, first_line
from archcheck.model import Fallback
from archcheck.observe.fallback import locate, meta_cannot_tell
from archcheck.report.count import render_text

Sizes = Sequence[int]


def summary(
    model: nn.Module,
    inputs: Sizes | Sequence[Sizes] | torch.Tensor | Sequence[torch.Tensor],
    convention: str = "macs",
    depth: int = 1,
    verbose: bool = False,
    show: bool = True,
) -> CountReport:
    """Count ``model`` fed ``inputs``: one size ``(1, 3, 224, 224)``, a list of sizes (one per
    positional input), or input tensors. Prints the count table (``show``) and returns the report."""
    started = time.perf_counter()
    if not isinstance(model, nn.Module):
        raise UsageError(f"summary() counts a torch.nn.Module, not {type(model).__name__}")
    if convention not in CONVENTIONS:
        raise UsageError(f"unknown convention {convention!r}; expected one of: {', '.join(CONVENTIONS)}")
    given = _as_inputs(inputs)
    fallbacks: list[Fallback] = []
    counted = _on_meta_copy(model, given, fallbacks)
    if counted is None:
        device = _device_of(model)
        with _buffers_kept(model):  # a forward in training mode updates batch-norm statistics
            counted = count_model(model, [_real(x, device, model) for x in given])
    report = CountReport(type(model).__name__, None, CONVENTIONS[convention], (counted,), (), time.perf_counter() - started, tuple(fallbacks))
    if show:
        print(render_text(report, depth=depth, verbose=verbose), end="")
    return report


def _as_inputs(inputs: Any) -> list[torch.Tensor | tuple[int, ...]]:
    """Tensors as they are; a size (ints) becomes one input, a list of sizes several."""
    if isinstance(inputs, torch.Tensor):
        return [inputs]
    if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(d, int) for d in inputs):
        return [tuple(inputs)]
    if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(x, torch.Tensor) or (isinstance(x, (list, tuple)) and all(isinstance(d, int) for d in x)) for x in inputs):
        return [x if isinstance(x, torch.Tensor) else tuple(x) for x in inputs]
    raise UsageError(f"summary() takes an input size like (1, 3, 224, 224), a list of sizes, or tensors; got {inputs!r}")


def _on_meta_copy(model: nn.Module, given: list[torch.Tensor | tuple[int, ...]], fallbacks: list[Fallback]) -> CaseCount | None:
    """The count on a meta copy; None (with the reason in ``fallbacks``) when that cannot be done."""
    try:
        twin = meta_copy(model)
    except Exception as exc:
        fallbacks.append(Fallback("run", _device_of(model), f"the model cannot be copied to meta: {first_line(exc)}"))
        return None
    inputs = [_meta(x, model) for x in given]
    try:
        return count_model(twin, inputs)
    except Exception as exc:
        if not meta_cannot_tell(exc.__cause__ or exc):
            raise
        fallbacks.append(Fallback("run", _device_of(model), locate(twin, inputs)))
        return None


@contextmanager
def _buffers_kept(model: nn.Module) -> Iterator[None]:
    saved = [(buffer, buffer.detach().clone()) for buffer in model.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)


def meta_copy(model: nn.Module) -> nn.Module:
    """A deep copy whose parameters and buffers are made on meta directly (no weight is copied)."""
    memo: dict[int, Any] = {}
    for tensor in [*model.parameters(), *model.buffers()]:
        meta = tensor.detach().to("meta")
        memo[id(tensor)] = nn.Parameter(meta, requires_grad=tensor.requires_grad) if isinstance(tensor, nn.Parameter) else meta
    return copy.deepcopy(model, memo)


def _dtype(model: nn.Module) -> torch.dtype:
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def _device_of(model: nn.Module) -> str:
    return str(next((p.device for p in [*model.parameters(), *model.buffers()]), torch.device("cpu")))


def _meta(x: torch.Tensor | tuple[int, ...], model: nn.Module) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().to("meta")
    return torch.empty(x, dtype=_dtype(model), device="meta")


def _real(x: torch.Tensor | tuple[int, ...], device: str, model: nn.Module) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    generator = torch.Generator().manual_seed(0)
    return torch.randn(x, generator=generator).to(dtype=_dtype(model), device=device)
