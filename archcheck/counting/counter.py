"""Count one forward pass at the op-dispatch level and attribute every op to the modules running it.

A ``TorchDispatchMode`` sees each aten op after torch has lowered the Python code (``x + y``,
``F.linear``, ``einsum``) to what really runs; forward pre/post hooks keep the stack of modules
that are running. Works on the meta device: no memory, no numbers, only shapes. The hooks are
removed in ``finally`` and the train/eval mode is not touched: the model is left as found.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Iterable

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from archcheck.counting.ops import OpCost, cost
from archcheck.counting.records import (
    CaseCount,
    KindTotal,
    ModuleCount,
    OpUse,
    ParamStats,
    Tally,
    Uncounted,
)
from archcheck.errors import ModelError
from archcheck.inputs import Inputs, call
from archcheck.observe.fastmeta import fast_meta
from archcheck.spec import Case


class _Dispatch(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:  # never traced by dynamo: don't import it to say so
        return False

    def __init__(self, stack: list[str]) -> None:
        super().__init__()
        self.stack = stack
        self.tallies: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        self.uncounted: Counter[str] = Counter()
        self.first_seen: dict[str, str] = {}
        self.ops: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if not isinstance(func, torch._ops.OpOverload):  # a higher-order op: nothing to cost it by
            self._uncounted(str(func))
            return out
        found = cost(func, args, kwargs, out)
        if found is None:
            self._uncounted(str(func.overloadpacket))
        else:
            self._add(found, str(func.overloadpacket))
        return out

    def _add(self, found: OpCost, op: str) -> None:
        use = self.ops[(op, self.stack[-1] if self.stack else "", found.kind)]
        use[0] += 1
        use[1] += found.macs
        use[2] += found.other
        use[3] += found.darknet_extra
        kind = self.kinds[found.kind]
        kind[0] += 1
        kind[1] += found.macs
        kind[2] += found.other
        kind[3] += found.darknet_extra
        if not (found.macs or found.other or found.darknet_extra):
            return
        for path in set(self.stack):  # a module re-entered (recursion) counts its ops once
            tally = self.tallies[path]
            tally[0] += found.macs
            tally[1] += found.other
            tally[2] += found.darknet_extra

    def _uncounted(self, name: str) -> None:
        self.uncounted[name] += 1
        self.first_seen.setdefault(name, self.stack[-1] if self.stack else "")


def parameter_stats(module: nn.Module) -> ParamStats:
    """Each shared parameter once (``parameters()`` deduplicates tensors)."""
    params = list(module.parameters())
    return ParamStats(
        total=sum(p.numel() for p in params),
        trainable=sum(p.numel() for p in params if p.requires_grad),
        buffers=sum(b.numel() for b in module.buffers()),
    )


def count_model(model: nn.Module, inputs: Inputs | Iterable[torch.Tensor], case: Case | None = None) -> CaseCount:
    """Run ``model(*inputs)`` (args and kwargs of ``Inputs``) once without gradients and count parameters and compute per module."""
    inputs = inputs if isinstance(inputs, Inputs) else tuple(inputs)
    names = {module: name for name, module in model.named_modules()}
    stack: list[str] = []
    calls: Counter[str] = Counter()

    def before(module: nn.Module, args: Any) -> None:
        stack.append(names[module])
        calls[names[module]] += 1

    def after(module: nn.Module, args: Any, output: Any) -> None:
        stack.pop()

    mode = _Dispatch(stack)
    handles = []
    try:
        for module in names:
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(after))
        with torch.no_grad(), fast_meta(inputs), mode:  # the counter sees every op first
            try:
                call(model, inputs)
            except Exception as exc:
                where = f" in {stack[-1] or 'the model'}" if stack else ""
                raise ModelError(f"cannot count: the forward pass crashed{where}{_at(case)}: {type(exc).__name__}: {exc}") from None
    finally:
        for handle in handles:
            handle.remove()
    return CaseCount(
        case=case,
        modules=_modules(model, names, mode.tallies, calls),
        kinds=tuple(KindTotal(kind, v[0], Tally(v[1], v[2], v[3])) for kind, v in sorted(mode.kinds.items())),
        uncounted=tuple(Uncounted(op, n, mode.first_seen[op]) for op, n in sorted(mode.uncounted.items())),
        ops=tuple(OpUse(op, module, kind, v[0], Tally(v[1], v[2], v[3])) for (op, module, kind), v in mode.ops.items() if kind != "free"),
    )


def _at(case: Case | None) -> str:
    return f" at {case}" if case is not None else ""


def _modules(model: nn.Module, names: dict[nn.Module, str], tallies: dict[str, list[int]], calls: Counter[str]) -> tuple[ModuleCount, ...]:
    """A module never called itself (a ModuleList) gets the sum of its children."""
    compute: dict[str, Tally] = {}

    def visit(module: nn.Module) -> Tally:
        path = names[module]
        children = [compute[names[c]] if names[c] in compute else visit(c) for c in module.children()]
        if calls[path]:
            compute[path] = Tally(*tallies[path]) if path in tallies else Tally()
        else:
            compute[path] = sum(children, Tally())
        return compute[path]

    visit(model)
    return tuple(
        ModuleCount(path, type(module).__name__, parameter_stats(module), compute.get(path, Tally()), calls[path])
        for module, path in names.items()
    )
