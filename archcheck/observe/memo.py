"""Remember what meta-device ops return, so that sweeps over input sizes run fast.

On the meta device an op's result is a pure function of its arguments' shapes,
strides and dtypes. ``MetaMemo`` is a dispatch mode that runs each op for real
the first time it sees those arguments and afterwards hands back an empty meta
tensor of the recorded shape (or raises the recorded error). Every forward pass
still runs through the model's own code, module by module; only the repeated
shape arithmetic inside aten is skipped. Ops that mutate their arguments, views,
and any op touching or making a non-meta tensor always run.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode


class _Uncached(Exception):
    """An argument the memo cannot key (a real tensor, an unhashable value)."""


class _Result:
    """A recorded tensor result: its shape, strides and dtype."""

    __slots__ = ("shape", "stride", "dtype")

    def __init__(self, tensor: torch.Tensor) -> None:
        self.shape, self.stride, self.dtype = tensor.shape, tensor.stride(), tensor.dtype

    def make(self) -> torch.Tensor:
        return torch.empty_strided(self.shape, self.stride, dtype=self.dtype, device="meta")


_ATOMS = frozenset((int, float, bool, str, type(None), torch.dtype, torch.device, torch.layout, torch.memory_format))
_PLAIN = (torch.Tensor, torch.nn.Parameter)


def _key(value: Any) -> Any:
    kind = type(value)
    if kind in _ATOMS:
        return (kind, value)  # 1, 1.0 and True are equal keys but not equal arguments
    if kind in _PLAIN or isinstance(value, torch.Tensor):
        if not value.is_meta:
            raise _Uncached
        return (value.shape, value.stride(), value.dtype)
    if kind is list or kind is tuple:
        return tuple(map(_key, value))
    try:
        hash(value)
    except TypeError:
        raise _Uncached from None
    return value


def _record(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        if not value.is_meta:  # a real tensor made inside the forward: its values matter
            raise _Uncached
        return _Result(value)
    if type(value) is list or type(value) is tuple:
        return type(value)(map(_record, value))
    return value


def _replay(value: Any) -> Any:
    if type(value) is _Result:
        return value.make()
    if type(value) is list or type(value) is tuple:
        return type(value)(map(_replay, value))
    return value


_ALWAYS_RUNS: dict[Any, bool] = {}  # by op: in place, or a view


class MetaMemo(TorchDispatchMode):
    """``with MetaMemo(): model(meta_input)``; keep one instance for a whole sweep."""

    def __init__(self) -> None:
        super().__init__()
        self.table: dict[Any, Any] = {}
        self.hits = self.misses = 0

    @classmethod
    def _should_skip_dynamo(cls) -> bool:  # never traced by dynamo: don't import it to say so
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        return self.run(func, args, kwargs or {})

    def run(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``func(*args, **kwargs)``, or its remembered result (FastMeta calls this for the ops it leaves to torch)."""
        runs = _ALWAYS_RUNS.get(func)
        if runs is None:
            runs = _ALWAYS_RUNS[func] = func._schema.is_mutable or any(r.alias_info is not None for r in func._schema.returns)
        if runs:
            return func(*args, **kwargs)  # in-place ops and views (which share storage) always run
        try:
            key = (func, _key(args), _key(tuple(sorted(kwargs.items()))) if kwargs else ())
        except _Uncached:
            return func(*args, **kwargs)
        found = self.table.get(key)
        if found is None:
            self.misses += 1
            try:
                result = func(*args, **kwargs)
            except Exception as exc:
                self.table[key] = exc
                raise
            try:
                self.table[key] = _record(result)
            except _Uncached:
                pass
            return result
        self.hits += 1
        if isinstance(found, Exception):
            raise found.with_traceback(None)
        return _replay(found)
