"""Count one forward pass at the op-dispatch level and attribute every op to the modules running it.

A ``TorchDispatchMode`` sees each aten op after torch has lowered the Python code (``x + y``,
``F.linear``, ``einsum``) to what really runs; forward pre/post hooks keep the stack of modules
that are running, and each module's input and output shapes. The same mode measures the live
activation memory (``counting.memory``). Works on the meta device: no memory, no numbers, only
shapes. The hooks come from ``observe.hooks.watch`` (removed, train/eval flags restored): the model
is left as found.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, NamedTuple

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from archcheck.counting.memory import LiveBytes
from archcheck.counting.ops import OpCost, cost
from archcheck.counting.records import (
    CaseCount,
    KindTotal,
    Memory,
    ModuleCount,
    OpUse,
    ParamStats,
    Shape,
    Tally,
    Uncounted,
)
from archcheck.errors import ModelError
from archcheck.inputs import Inputs, call
from archcheck.observe.fastmeta import fast_meta
from archcheck.observe.hooks import watch
from archcheck.observe.tree import tensors_in
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
        self.memory = LiveBytes()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.memory.track(out)
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
    return _stats(list(module.parameters()), list(module.buffers()))


def _stats(params: Iterable[torch.Tensor], buffers: Iterable[torch.Tensor]) -> ParamStats:
    params = list(params)
    return ParamStats(
        total=sum(p.numel() for p in params),
        trainable=sum(p.numel() for p in params if p.requires_grad),
        buffers=sum(b.numel() for b in buffers),
    )


class _Tensors(NamedTuple):
    """The parameters and buffers of a module and its submodules, each tensor once (keyed by id)."""

    params: dict[int, torch.Tensor]
    buffers: dict[int, torch.Tensor]


def _subtree_tensors(model: nn.Module) -> dict[nn.Module, _Tensors]:
    """``parameters()`` and ``buffers()`` of every module in one pass from the leaves up, instead
    of a walk of each module's subtree per module; a tensor or module shared is taken once, as they do."""
    found: dict[nn.Module, _Tensors] = {}

    def visit(module: nn.Module) -> _Tensors:
        if module not in found:
            own = _Tensors({id(p): p for p in module._parameters.values() if p is not None}, {id(b): b for b in module._buffers.values() if b is not None})
            for child in module.children():
                below = visit(child)
                own.params.update(below.params)
                own.buffers.update(below.buffers)
            found[module] = own
        return found[module]

    visit(model)
    return found


def count_model(model: nn.Module, inputs: Inputs | Iterable[torch.Tensor], case: Case | None = None) -> CaseCount:
    """Run ``model(*inputs)`` (args and kwargs of ``Inputs``) once without gradients and count
    parameters, compute, shapes and activation memory per module."""
    inputs = inputs if isinstance(inputs, Inputs) else tuple(inputs)
    with torch.no_grad(), fast_meta(inputs), counting(model, inputs, case) as counted:  # the counter sees every op first
        try:
            call(model, inputs)
        except Exception as exc:  # chained: the fallback reads the cause, --debug shows it
            where = f" in {counted.running[-1] or 'the model'}" if counted.running else ""
            raise ModelError(f"cannot count: the forward pass crashed{where}{_at(case)}: {type(exc).__name__}: {exc}") from exc
    return counted.result()


class Counting(NamedTuple):
    result: Callable[[], CaseCount]  # the count, once the forward is done
    running: list[str]  # the modules running now, innermost last


@contextmanager
def counting(model: nn.Module, inputs: Inputs | Iterable[torch.Tensor], case: Case | None = None) -> Iterator[Counting]:
    """Count the forward pass of ``model`` on ``inputs`` run inside: ``with counting(model, inputs) as
    counted: call(model, inputs)``, then ``counted.result()``. Enter it inside ``no_grad`` and
    ``fast_meta`` (the counter must see every op first); a crash inside goes out as it is. The
    observed forward of verify counts this way, so the flops claims cost no forward of their own."""
    inputs = inputs if isinstance(inputs, Inputs) else tuple(inputs)
    stack: list[str] = []
    calls: Counter[str] = Counter()
    seen_inputs: dict[str, tuple[Shape, ...]] = {}
    seen_outputs: dict[str, tuple[Shape, ...]] = {}
    output_bytes: Counter[str] = Counter()

    def before(path: str, module: nn.Module, args: tuple[Any, ...]) -> None:
        stack.append(path)
        calls[path] += 1
        if path not in seen_inputs:
            seen_inputs[path] = _shapes(args)

    def after(path: str, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        stack.pop()
        tensors = _tensors(output)
        if path not in seen_outputs:
            seen_outputs[path] = tuple(tuple(t.shape) for t in tensors)
        output_bytes[path] += sum(t.numel() * t.element_size() for t in tensors)

    def result() -> CaseCount:
        tensors = _subtree_tensors(model)
        modules = _modules(model, tensors, mode.tallies, calls, seen_inputs, seen_outputs, output_bytes)
        memory = Memory(
            params=sum(p.numel() * p.element_size() for p in tensors[model].params.values()),
            buffers=sum(b.numel() * b.element_size() for b in tensors[model].buffers.values()),
            outputs=sum(m.output_bytes for m in modules if m.leaf),
            peak=mode.memory.peak,
        )
        return CaseCount(
            case=case,
            modules=modules,
            kinds=tuple(KindTotal(kind, v[0], Tally(v[1], v[2], v[3])) for kind, v in sorted(mode.kinds.items())),
            uncounted=tuple(Uncounted(op, n, mode.first_seen[op]) for op, n in sorted(mode.uncounted.items())),
            ops=tuple(OpUse(op, module, kind, v[0], Tally(v[1], v[2], v[3])) for (op, module, kind), v in mode.ops.items() if kind != "free"),
            memory=memory,
            device=_device(model, inputs),
            inputs=_shapes(list(inputs)),
        )

    mode = _Dispatch(stack)
    mode.memory.exclude([*tensors_in(list(inputs)), *model.parameters(), *model.buffers()])
    try:
        with watch(model, before, after), mode:
            yield Counting(result, stack)
    finally:
        mode.memory.close()


def _shapes(value: Any) -> tuple[Shape, ...]:
    return tuple(tuple(t.shape) for t in _tensors(value))


def _tensors(value: Any) -> list[torch.Tensor]:
    """``tensors_in``, without pytree's walk for what modules mostly take and return: a tensor, a tuple of them."""
    if isinstance(value, torch.Tensor):
        return [value]
    if type(value) is tuple and all(isinstance(v, torch.Tensor) for v in value):
        return list(value)
    return tensors_in(value)


def _device(model: nn.Module, inputs: Inputs | Iterable[torch.Tensor]) -> str:
    """Where the first input is, else the first parameter, else the CPU."""
    first = next(iter(tensors_in(list(inputs))), None)
    if first is None:
        first = next(model.parameters(), None)
    return first.device.type if first is not None else "cpu"


def _at(case: Case | None) -> str:
    return f" at {case}" if case is not None and case.bindings else ""


def _modules(
    model: nn.Module,
    tensors: dict[nn.Module, _Tensors],
    tallies: dict[str, list[int]],
    calls: Counter[str],
    inputs: dict[str, tuple[Shape, ...]],
    outputs: dict[str, tuple[Shape, ...]],
    output_bytes: Counter[str],
) -> tuple[ModuleCount, ...]:
    """A module never called itself (a ModuleList) gets the sum of its children."""
    names = {module: name for name, module in model.named_modules()}
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
        ModuleCount(
            path,
            type(module).__name__,
            _stats(tensors[module].params.values(), tensors[module].buffers.values()),
            compute.get(path, Tally()),
            calls[path],
            outputs.get(path, ()),
            inputs.get(path, ()),
            output_bytes[path],
            leaf=next(module.children(), None) is None,
        )
        for module, path in names.items()
    )
