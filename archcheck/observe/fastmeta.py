"""Shape-only answers for the meta ops whose torch meta kernels are slow Python decompositions.

On the meta device an op only has to say what it would return: shape, strides, dtype. Torch
answers a few common ops (batch norm, layer norm, Mish, LeakyReLU, GELU, the init fills ...) by
running their Python reference implementation, which takes about 1 ms per call, ten times a
convolution, and whose first call imports ``torch._dynamo`` (about 1 s). ``FastMeta`` answers
those ops directly when their arguments are well formed, and hands anything else (a wrong
shape, a real tensor, an odd dtype) to torch, so errors keep torch's own words.

    with FastMeta(): model(torch.empty(1, 3, 416, 416, device="meta"))

Under another dispatch mode (the counter, MetaMemo), enter ``FastMeta`` first: the other mode
sees every op as before, and FastMeta answers when that mode calls it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any, Callable, Iterable

import torch
from torch.utils._python_dispatch import (
    TorchDispatchMode,
    _get_current_dispatch_mode_stack,
)

aten = torch.ops.aten

# Elementwise, dtype-preserving: the result is ``empty_like`` the first argument.
_ELEMENTWISE = frozenset(
    op.default
    for op in (aten.relu, aten.mish, aten.leaky_relu, aten.gelu, aten.hardswish, aten.hardsigmoid, aten.elu, aten.softplus, aten.hardtanh, aten.sigmoid, aten.silu, aten.tanh)
)
# Elementwise binary: two meta tensors of one shape, strides and dtype give ``empty_like`` the first.
_BINARY = frozenset((aten.add.Tensor, aten.sub.Tensor, aten.mul.Tensor))
# In-place random fills (nn.init on a meta model): nothing to fill, the tensor itself comes back.
_FILLS = frozenset(op.default for op in (aten.normal_, aten.uniform_))
_LOW_PRECISION = (torch.float16, torch.bfloat16)


_PLAIN = (torch.Tensor, torch.nn.Parameter)  # not a tensor subclass with rules of its own


def _is_meta(value: Any) -> bool:
    return type(value) in _PLAIN and value.is_meta


def _is_meta_float(value: Any) -> bool:
    return _is_meta(value) and value.dtype.is_floating_point


def _all_meta(*values: Any) -> bool:
    return all(v is None or _is_meta(v) for v in values)


def _empty(shape: Any, dtype: torch.dtype) -> torch.Tensor:
    """``new_empty`` on meta (whose own is a Python ref, 3x slower)."""
    return torch.empty(shape, dtype=dtype, device="meta")


def _like(x: torch.Tensor) -> torch.Tensor | None:
    """``empty_like(x)`` for a contiguous or channels-last ``x`` (torch's own empty_like on meta is a slow Python ref)."""
    for layout in (torch.contiguous_format, torch.channels_last, torch.channels_last_3d):
        if (layout is torch.contiguous_format or x.dim() == (4 if layout is torch.channels_last else 5)) and x.is_contiguous(memory_format=layout):
            return torch.empty(x.shape, dtype=x.dtype, device="meta", memory_format=layout)
    return None


def _stats(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    return _empty(shape, torch.float32 if x.dtype in _LOW_PRECISION else x.dtype)


def _batch_norm(x: Any, weight: Any, bias: Any, mean: Any, var: Any, training: Any, momentum: Any, eps: Any) -> Any:
    if not (_is_meta_float(x) and x.dim() >= 2 and _all_meta(weight, bias, mean, var)):
        return None
    channels = (x.shape[1],)
    if any(t is not None and t.shape != channels for t in (weight, bias, mean, var)):
        return None
    if not training and (mean is None or var is None):
        return None
    out = _like(x)
    return None if out is None else (out, _stats(x, channels), _stats(x, channels))


def _layer_norm(x: Any, shape: Any, weight: Any, bias: Any, eps: Any) -> Any:
    shape = tuple(shape)
    if not (_is_meta_float(x) and shape and tuple(x.shape[x.dim() - len(shape) :]) == shape and _all_meta(weight, bias)):
        return None
    if any(t is not None and tuple(t.shape) != shape for t in (weight, bias)):
        return None
    kept = tuple(x.shape[: x.dim() - len(shape)]) + (1,) * len(shape)
    return _empty(x.shape, x.dtype), _stats(x, kept), _stats(x, kept)


def _binary(a: Any, b: Any) -> Any:
    same = _is_meta_float(a) and _is_meta(b) and a.dtype == b.dtype and a.shape == b.shape and a.stride() == b.stride()
    return _like(a) if same else None


def _cat(tensors: Any, dim: int = 0) -> Any:
    """Contiguous meta tensors of one dtype that agree on every other dim (else torch's error)."""
    if not tensors or not all(_is_meta(t) and t.is_contiguous() for t in tensors):
        return None
    first = tensors[0]
    rank = first.dim()
    if rank == 0 or not -rank <= dim < rank or any(t.dim() != rank or t.dtype != first.dtype for t in tensors):
        return None
    dim %= rank
    for number, t in enumerate(tensors):  # torch's own check and words (its Python one imports torch._dynamo: 1.3 s)
        for d, (expected, got) in enumerate(zip(first.shape, t.shape)):
            if d != dim and got != expected:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. Expected {expected} in dimension {d} but got {got} for tensor number {number} in the list")
    shape = list(first.shape)
    shape[dim] = sum(t.shape[dim] for t in tensors)
    return _empty(shape, first.dtype)


def _convolution(x: Any, weight: Any, bias: Any, stride: Any, padding: Any, dilation: Any, transposed: Any, output_padding: Any, groups: Any) -> Any:
    """A plain (not transposed) convolution of contiguous meta tensors whose every size fits."""
    if transposed or not (_is_meta_float(x) and _is_meta(weight) and _all_meta(bias)) or not (x.is_contiguous() and weight.is_contiguous()):
        return None
    spatial = x.dim() - 2
    if spatial < 1 or weight.dim() != x.dim() or x.dtype != weight.dtype or not (len(stride) == len(padding) == len(dilation) == spatial):
        return None
    shape, kernel = x.shape, weight.shape
    out_channels = kernel[0]
    if groups < 1 or kernel[1] * groups != shape[1] or out_channels % groups or (bias is not None and bias.shape != (out_channels,)):
        return None
    sizes = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in zip(shape[2:], kernel[2:], stride, padding, dilation)]
    if min(stride) < 1 or min(sizes) < 1:
        return None
    return _empty((shape[0], out_channels, *sizes), x.dtype)


def _channels_last_like(x: torch.Tensor) -> bool:
    """torch's ``suggest_memory_format(x) == channels_last`` for a 4D ``x`` (theirs imports sympy on first call)."""
    shape, strides = x.shape, x.stride()
    if x.dim() != 4 or strides[1] == 0:
        return False
    least = 0
    for d in (1, 3, 2, 0):
        if shape[d] == 0 or strides[d] < least or (d == 0 and least == strides[1]):
            return False
        least = strides[d] * shape[d]
    return True


def _ints(value: Any, lengths: tuple[int, ...]) -> tuple[int, ...] | None:
    value = tuple(value) if isinstance(value, (list, tuple)) else None
    return value if value is not None and len(value) in lengths and all(type(v) is int for v in value) else None


def _pair(value: tuple[int, ...]) -> tuple[int, int]:
    return (value[0], value[-1])


def _max_pool2d(x: Any, kernel: Any, stride: Any = (), padding: Any = (0,), dilation: Any = (1,), ceil_mode: Any = False) -> Any:
    """``max_pool2d_with_indices``: the pooled tensor and its int64 indices, by torch's size rule."""
    kernel, stride, padding, dilation = _ints(kernel, (1, 2)), _ints(stride, (0, 1, 2)), _ints(padding, (1, 2)), _ints(dilation, (1, 2))
    if not (_is_meta_float(x) and x.dim() in (3, 4) and kernel and stride is not None and padding and dilation and type(ceil_mode) is bool):
        return None
    if any(n == 0 for n in x.shape[x.dim() - 3 :]):  # the batch alone may be empty
        return None
    k, d, p = _pair(kernel), _pair(dilation), _pair(padding)
    s = _pair(stride) if stride else k
    if min(*k, *s, *d) < 1 or min(p) < 0 or any(pad > size // 2 for pad, size in zip(p, k)):
        return None
    sizes = []
    for n, kk, ss, pp, dd in zip(x.shape[-2:], k, s, p, d):
        out = (n + 2 * pp - dd * (kk - 1) - 1 + (ss - 1 if ceil_mode else 0)) // ss + 1
        if ceil_mode and (out - 1) * ss >= n + pp:
            out -= 1  # the last window must start inside the input or its left padding
        sizes.append(out)
    if min(sizes) < 1:
        return None
    shape = (*x.shape[:-2], *sizes)
    layout = torch.channels_last if _channels_last_like(x) else torch.contiguous_format
    return (torch.empty(shape, dtype=x.dtype, device="meta", memory_format=layout), torch.empty(shape, dtype=torch.int64, device="meta", memory_format=layout))


def _upsample_nearest2d(x: Any, output_size: Any, scales_h: Any = None, scales_w: Any = None) -> Any:
    """``upsample_nearest2d`` (``F.interpolate``'s default mode) to ``output_size``."""
    size = _ints(output_size, (2,))
    if not (_is_meta_float(x) and x.dim() == 4 and size and min(*x.shape[1:], *size) > 0):
        return None
    out = torch.empty((*x.shape[:2], *size), dtype=x.dtype, device="meta")
    if _channels_last_like(x) and not out.is_contiguous(memory_format=torch.channels_last):  # torch's ``.contiguous(channels_last)``
        out = torch.empty(out.shape, dtype=x.dtype, device="meta", memory_format=torch.channels_last)
    return out


def _positional(answer: Callable[..., Any], least: int, most: int) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
    return lambda args, kwargs: answer(*args) if not kwargs and least <= len(args) <= most else None


def _elementwise(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return _like(args[0]) if _is_meta_float(args[0]) else None


def _fill(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[0] if _is_meta_float(args[0]) else None


# Each op's answer from (args, kwargs): the result, or None to let torch run the op.
_ANSWERS: dict[Any, Callable[[tuple[Any, ...], dict[str, Any]], Any]] = {
    **{op: _elementwise for op in _ELEMENTWISE},
    **{op: (lambda args, kwargs: _binary(*args) if len(args) == 2 and set(kwargs) <= {"alpha"} else None) for op in _BINARY},
    **{op: _fill for op in _FILLS},
    aten.cat.default: lambda args, kwargs: _cat(*args, **kwargs),
    aten.native_batch_norm.default: _positional(_batch_norm, 8, 8),
    aten.convolution.default: _positional(_convolution, 9, 9),
    aten.native_layer_norm.default: _positional(_layer_norm, 5, 5),
    aten.max_pool2d_with_indices.default: _positional(_max_pool2d, 2, 6),
    aten.upsample_nearest2d.default: _positional(_upsample_nearest2d, 2, 4),
}
# Factory ops that torch answers in C++ at once: not worth a memo's key.
_DIRECT = frozenset((aten.empty.memory_format, aten.empty_strided.default))
_EMPTY = aten.empty.memory_format
_EMPTY_KEYWORDS = frozenset(("dtype", "layout", "device", "memory_format"))


def _answer(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The shape-only result, or None to let torch run the op."""
    answer = _ANSWERS.get(func)
    return None if answer is None else answer(args, kwargs)


class FastMeta(TorchDispatchMode):
    """Answer the slow meta ops by shape; run every other op as torch would, or through ``memo``
    (a ``MetaMemo``, for sweeps: it then remembers only the ops left to torch, and FastMeta's own
    empty tensors never pass through it)."""

    def __init__(self, memo: Any = None) -> None:
        super().__init__()
        self.memo = memo

    @classmethod
    def _should_skip_dynamo(cls) -> bool:  # never traced by dynamo: don't import it to say so
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        found = _answer(func, args, kwargs)
        if found is not None:
            return found
        if func is _EMPTY and len(args) == 1 and set(kwargs) <= _EMPTY_KEYWORDS:
            return torch.empty(*args, **kwargs)  # batch norm's reserve: torch.empty takes half the time of the op's own call
        return func(*args, **kwargs) if self.memo is None or func in _DIRECT else self.memo.run(func, args, kwargs)


def fast_meta(tensors: Iterable[Any]) -> AbstractContextManager[Any]:
    """``FastMeta()`` when any of ``tensors`` is on the meta device and none is active already; else nothing."""
    if not any(isinstance(t, torch.Tensor) and t.is_meta for t in tensors):
        return nullcontext()
    return nullcontext() if any(type(m) is FastMeta for m in _get_current_dispatch_mode_stack()) else FastMeta()
