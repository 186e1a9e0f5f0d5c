"""Shape-only answers for the meta ops whose torch meta kernels are slow Python decompositions.

On the meta device an op only has to say what it would return: shape, strides, dtype. Torch
answers many common ops (norms, activations, broadcast arithmetic, ``nn.Linear``'s addmm, means,
softmaxes, pools, upsampling, attention's pieces, the init fills ...) by running their Python
reference implementation, 0.1 to 30 ms per call, and whose first call imports sympy (0.3 s) and
often ``torch._dynamo`` (about 1 s). ``FastMeta`` answers
those ops directly when their arguments are well formed, and hands anything else (a wrong
shape, a real tensor, an odd dtype) to torch, so errors keep torch's own words.

    with FastMeta(): model(torch.empty(1, 3, 416, 416, device="meta"))

Under another dispatch mode (the counter, MetaMemo), enter ``FastMeta`` first: the other mode
sees every op as before, and FastMeta answers when that mode calls it.
"""

from __future__ import annotations

import math
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
# In-place elementwise with no other argument: the tensor itself comes back.
_IN_PLACE = frozenset(op.default for op in (aten.hardswish_, aten.hardsigmoid_, aten.silu_, aten.sigmoid_, aten.tanh_, aten.mish_))
# Elementwise binary: two meta tensors of one shape, strides and dtype give ``empty_like`` the first;
# two contiguous ones that broadcast give a contiguous tensor of the broadcast shape.
_BINARY = frozenset((aten.add.Tensor, aten.sub.Tensor, aten.mul.Tensor, aten.div.Tensor))
# In-place binary: a meta tensor and another of its dtype that broadcasts to its shape.
_BINARY_IN_PLACE = frozenset((aten.add_.Tensor, aten.sub_.Tensor, aten.mul_.Tensor, aten.div_.Tensor))
# A meta float tensor and a Python number (not complex): ``empty_like`` the tensor.
_SCALAR = frozenset((aten.add.Scalar, aten.sub.Scalar, aten.mul.Scalar, aten.div.Scalar))
# A meta float tensor compared with a Python number: a bool tensor.
_COMPARISONS = frozenset((aten.gt.Scalar, aten.ge.Scalar, aten.lt.Scalar, aten.le.Scalar, aten.eq.Scalar, aten.ne.Scalar))
_SCALAR_IN_PLACE = frozenset((aten.add_.Scalar, aten.sub_.Scalar, aten.mul_.Scalar, aten.div_.Scalar))
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


def _row_major(x: torch.Tensor) -> bool:
    """Contiguous with exactly a new tensor's strides (``is_contiguous`` also takes odd strides on size-1 dims, which torch keeps)."""
    return x.stride() == _contiguous_strides(x.shape)


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


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """The broadcast shape of ``a`` and ``b``, or None where they do not broadcast."""
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + tuple(a), (1,) * (rank - len(b)) + tuple(b)
    if any(m != n and 1 not in (m, n) for m, n in zip(a, b)):
        return None
    return tuple(n if m == 1 else m for m, n in zip(a, b))


def _contiguous_strides(shape: Any) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def _dense(shape: Any, strides: tuple[int, ...]) -> bool:
    """Some order of the dims is contiguous (size-1 dims' strides do not count): torch's non-overlapping-and-dense."""
    if math.prod(shape) < 2:
        return True
    step = 1
    for size, stride in sorted(((n, st) for n, st in zip(shape, strides) if n != 1), key=lambda pair: pair[1]):
        if stride != step:
            return False
        step *= size
    return True


def _expanded_strides(x: torch.Tensor, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``x.expand(shape).stride()``: 0 where it broadcasts; a new size-1 dim spans the dims after it."""
    strides = [0] * len(shape)
    lead = len(shape) - x.dim()
    for d in reversed(range(len(shape))):
        if d >= lead:
            size, stride = x.shape[d - lead], x.stride()[d - lead]
        else:
            size, stride = 1, (shape[d + 1] * strides[d + 1] if d + 1 < len(shape) else 1)
        strides[d] = 0 if size != shape[d] else stride
    return tuple(strides)


def _order_matters(shape: tuple[int, ...], operands: list[tuple[int, ...]], a: int, b: int) -> int:
    """torch's ``should_swap`` of dims ``a`` and ``b`` over the operands' strides."""
    for strides in operands:
        sa, sb = strides[a], strides[b]
        if sa == 0 or sb == 0:
            continue
        if sa == sb:
            if shape[a] == 0 or (shape[b] != 0 and shape[b] >= shape[a]) or (shape[b] != 0 and shape[a] != 0 and shape[b] % shape[a] == 0):
                continue
            return 1
        return -1 if (sa == 0 or sb >= sa or sb % sa == 0) else 1
    return 0


def _elementwise_strides(shape: tuple[int, ...], tensors: tuple[torch.Tensor, ...]) -> tuple[int, ...]:
    """torch's ``compute_elementwise_output_strides`` for ``tensors`` broadcast to ``shape`` (theirs imports sympy)."""
    rank = len(shape)
    operands = [_expanded_strides(t, shape) for t in tensors]
    if rank == 0:
        return ()
    if rank == 1:
        return (1,)
    if len(operands) == 1:
        return operands[0] if _dense(shape, operands[0]) else _contiguous_strides(shape)
    row_major = all(_is_contiguous(shape, st) for st in operands)
    channels_last = all(_is_channels_last(shape, st) for st in operands)
    if row_major and not channels_last:
        perm = list(range(rank))
    elif channels_last and not row_major:
        perm = [0, *range(2, rank), 1]
    else:
        perm = list(reversed(range(rank)))
        for i in range(1, rank):
            second = i
            for first in reversed(range(i)):
                order = _order_matters(shape, operands, perm[first], perm[second])
                if order > 0:
                    perm[first], perm[second] = perm[second], perm[first]
                    second = first
                elif order < 0:
                    break
        perm.reverse()
    physical = _contiguous_strides([shape[d] for d in perm])
    strides = [0] * rank
    for place, d in enumerate(perm):
        strides[d] = physical[place]
    return tuple(strides)


def _nested(shape: Any, strides: tuple[int, ...], order: Iterable[int]) -> bool:
    """The dims in ``order`` (innermost first) have nested strides; size-1 dims do not count."""
    step = 1
    for d in order:
        if shape[d] != 1:
            if strides[d] != step:
                return False
            step *= shape[d]
    return True


def _is_contiguous(shape: Any, strides: tuple[int, ...]) -> bool:
    """torch's ``is_contiguous``: fewer than 2 elements always are."""
    return math.prod(shape) < 2 or _nested(shape, strides, reversed(range(len(shape))))


def _is_channels_last(shape: Any, strides: tuple[int, ...]) -> bool:
    """torch's ``is_channels_last_contiguous_2d`` (no shortcut for few elements)."""
    return len(shape) == 4 and _nested(shape, strides, (1, 3, 2, 0))


def _elementwise_result(shape: tuple[int, ...], dtype: torch.dtype, *tensors: torch.Tensor) -> torch.Tensor:
    return torch.empty_strided(shape, _elementwise_strides(shape, tensors), dtype=dtype, device="meta")


_INTEGERS = (torch.int64, torch.int32)


def _integer_arithmetic(a: Any, b: Any, alpha: Any = 1) -> Any:
    """``+``, ``-``, ``*`` of an int64/int32 tensor with one of its dtype or a Python int (index arithmetic)."""
    if not (_is_meta(a) and a.dtype in _INTEGERS and type(alpha) is int and (type(b) is int or (_is_meta(b) and b.dtype == a.dtype))):
        return None
    shape = tuple(a.shape) if type(b) is int else _broadcast(a.shape, b.shape)
    return None if shape is None else _elementwise_result(shape, a.dtype, *((a,) if type(b) is int else (a, b)))


def _binary(a: Any, b: Any) -> Any:
    if not (_is_meta_float(a) and _is_meta(b) and a.dtype == b.dtype):
        return None
    if a.shape == b.shape and a.stride() == b.stride():
        return _unary(a)
    shape = _broadcast(a.shape, b.shape)
    return None if shape is None else _elementwise_result(shape, a.dtype, a, b)


def _binary_in_place(a: Any, b: Any) -> Any:
    fits = _is_meta_float(a) and _is_meta(b) and a.dtype == b.dtype and _broadcast(a.shape, b.shape) == tuple(a.shape)
    return a if fits else None


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _unary(x: Any) -> Any:
    """An elementwise op's result on ``x`` alone."""
    if not _is_meta_float(x):
        return None
    out = _like(x)  # the common case, in C++: a row-major or channels-last x keeps its strides
    return out if out is not None and out.stride() == x.stride() else _elementwise_result(tuple(x.shape), x.dtype, x)


def _scalar(a: Any, b: Any) -> Any:
    return _unary(a) if _is_number(b) else None


def _matmul_dtype(*tensors: Any) -> torch.dtype | None:
    """The one float dtype of meta tensors, or None (torch's error about mixed dtypes)."""
    if not all(_is_meta_float(t) for t in tensors) or len({t.dtype for t in tensors}) != 1:
        return None
    return tensors[0].dtype


def _mm(a: Any, b: Any) -> Any:
    dtype = _matmul_dtype(a, b)
    if dtype is None or a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        return None
    return _empty((a.shape[0], b.shape[1]), dtype)


def _addmm(bias: Any, a: Any, b: Any, beta: Any = 1, alpha: Any = 1) -> Any:
    """``nn.Linear``'s op: ``bias`` broadcast to the product's shape."""
    out = _mm(a, b)
    if out is None or _matmul_dtype(bias, a) is None or not (_is_number(beta) and _is_number(alpha)):
        return None
    return out if bias.dim() <= 2 and _broadcast(bias.shape, out.shape) == tuple(out.shape) else None


def _bmm(a: Any, b: Any) -> Any:
    dtype = _matmul_dtype(a, b)
    if dtype is None or a.dim() != 3 or b.dim() != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        return None
    return _empty((a.shape[0], a.shape[1], b.shape[2]), dtype)


def _reduced(x: torch.Tensor, dims: Any, keepdim: Any, empty_means_all: bool) -> list[int] | None:
    """The shape of a reduction of ``x`` over distinct ``dims`` (all of them where none is named and
    ``empty_means_all``), or None where torch would refuse. Whatever ``x``'s layout, the result is contiguous."""
    dims = _ints(dims, tuple(range(0 if empty_means_all else 1, 9)))
    if dims is None or not (type(keepdim) is bool and x.dim() > 0):
        return None
    rank = x.dim()
    if not all(-rank <= d < rank for d in dims) or len({d % rank for d in dims}) != len(dims):
        return None
    reduced = {d % rank for d in dims} or set(range(rank))
    if not empty_means_all and any(x.shape[d] == 0 for d in reduced):
        return None
    return [1 if d in reduced else n for d, n in enumerate(x.shape) if keepdim or d not in reduced]


def _mean(x: Any, dims: Any, keepdim: Any = False, *, dtype: Any = None) -> Any:
    """``mean.dim`` of a float tensor over distinct dims, no dtype asked."""
    shape = _reduced(x, dims, keepdim, False) if _is_meta_float(x) and dtype is None else None
    return None if shape is None else _empty(shape, x.dtype)


def _amax(x: Any, dims: Any = (), keepdim: Any = False) -> Any:
    """``amax``/``amin`` of a non-empty float tensor (torch refuses to reduce an empty dim)."""
    shape = _reduced(x, dims, keepdim, True) if _is_meta_float(x) and x.numel() > 0 else None
    return None if shape is None else _empty(shape, x.dtype)


def _compare(x: Any, number: Any) -> Any:
    """``x > number`` and its kin: a bool tensor with elementwise strides."""
    if not (_is_meta_float(x) and _is_number(number)):
        return None
    return torch.empty_strided(x.shape, _elementwise_strides(tuple(x.shape), (x,)), dtype=torch.bool, device="meta")


def _masked_fill(x: Any, mask: Any, value: Any) -> Any:
    """``x.masked_fill(mask, number)`` with a bool ``mask`` that broadcasts to ``x``'s shape: torch's
    ``where(mask, number, x).contiguous()``, so contiguous unless the elementwise result already counts as such."""
    fits = _is_meta_float(x) and _is_meta(mask) and mask.dtype == torch.bool and _is_number(value) and _broadcast(x.shape, mask.shape) == tuple(x.shape)
    if not fits:
        return None
    strides = _elementwise_strides(tuple(x.shape), (mask, x))
    return torch.empty_strided(x.shape, strides, dtype=x.dtype, device="meta") if _is_contiguous(x.shape, strides) else _empty(x.shape, x.dtype)


def _gather_rows(x: Any, indices: Any) -> Any:
    """``x[index]`` of a row-major meta tensor by one int64/int32 index tensor along the first dim:
    contiguous, the index's shape then ``x``'s other dims."""
    if not (_is_meta(x) and _row_major(x) and x.dim() >= 1 and isinstance(indices, (list, tuple)) and len(indices) == 1):
        return None
    index = indices[0]
    if not (_is_meta(index) and index.dtype in (torch.int64, torch.int32)) or x.shape[0] == 0:
        return None
    return _empty((*index.shape, *x.shape[1:]), x.dtype)


def _roll(x: Any, shifts: Any, dims: Any = ()) -> Any:
    """``torch.roll`` of a row-major tensor along named dims (Swin's shifted windows): contiguous."""
    shifts, dims = _ints(shifts, tuple(range(1, 9))), _ints(dims, tuple(range(1, 9)))
    if not (_is_meta_float(x) and _row_major(x) and shifts and dims and len(shifts) == len(dims) and x.dim() > 0 and all(-x.dim() <= d < x.dim() for d in dims)):
        return None
    return _empty(x.shape, x.dtype)


def _triangle(x: Any, diagonal: Any = 0) -> Any:
    """``tril``/``triu`` of a row-major meta tensor of 2 or more dims (a causal mask): contiguous."""
    return _empty(x.shape, x.dtype) if _is_meta(x) and x.dim() >= 2 and _row_major(x) and type(diagonal) is int else None


def _where(condition: Any, a: Any, b: Any) -> Any:
    """``where(bool condition, a, b)`` of meta tensors, ``a`` and ``b`` of one float dtype: elementwise over the three."""
    if not (_is_meta(condition) and condition.dtype == torch.bool and _is_meta_float(a) and _is_meta(b) and a.dtype == b.dtype):
        return None
    shape = _broadcast(a.shape, b.shape)
    shape = None if shape is None else _broadcast(condition.shape, shape)
    return None if shape is None else _elementwise_result(shape, a.dtype, condition, a, b)


def _empty_like(x: Any) -> Any:
    """``empty_like(x)`` of a dense meta tensor: its own strides (torch's ``preserve_format``; its meta kernel imports sympy)."""
    return torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta") if _is_meta(x) and _dense(x.shape, x.stride()) else None


def _topk(x: Any, k: Any, dim: Any = -1, largest: Any = True, sorted: Any = True) -> Any:
    """The ``k`` largest (or smallest) along ``dim``: contiguous values and int64 indices."""
    if not (_is_meta_float(x) and type(k) is int and type(dim) is int and type(largest) is bool and type(sorted) is bool):
        return None
    rank = max(x.dim(), 1)
    if not -rank <= dim < rank or not 0 <= k <= (x.shape[dim] if x.dim() else 1):
        return None
    shape = list(x.shape)
    if shape:
        shape[dim] = k
    return _empty(shape, x.dtype), _empty(shape, torch.int64)


def _stack(tensors: Any, dim: int = 0) -> Any:
    """Row-major or broadcast (meshgrid's) meta tensors of one shape and dtype, stacked into a contiguous
    tensor (torch keeps the order of dims of other layouts)."""
    if not (isinstance(tensors, (list, tuple)) and tensors and all(_is_meta(t) and (_row_major(t) or 0 in t.stride()) for t in tensors)) or type(dim) is not int:
        return None
    first = tensors[0]
    if any(t.shape != first.shape or t.dtype != first.dtype for t in tensors) or not -first.dim() - 1 <= dim <= first.dim():
        return None
    shape = list(first.shape)
    shape.insert(dim % (first.dim() + 1), len(tensors))
    return _empty(shape, first.dtype)


def _embedding(weight: Any, indices: Any, padding_idx: Any = -1, scale_grad_by_freq: Any = False, sparse: Any = False) -> Any:
    """A lookup in a 2D float table by int64 or int32 indices: contiguous, the indices' shape and a row."""
    if not (_is_meta_float(weight) and weight.dim() == 2 and _is_meta(indices) and indices.dtype in (torch.int64, torch.int32)):
        return None
    return _empty((*indices.shape, weight.shape[1]), weight.dtype)


def _softmax(x: Any, dim: Any, half_to_float: Any = False) -> Any:
    """``_softmax``/``_log_softmax`` (``half_to_float`` False) and ``_safe_softmax`` (no dtype asked) of a row-major tensor."""
    fits = _is_meta_float(x) and _row_major(x) and type(dim) is int and -max(x.dim(), 1) <= dim < max(x.dim(), 1) and half_to_float in (False, None)
    return _empty(x.shape, x.dtype) if fits else None


def _cat(tensors: Any, dim: int = 0) -> Any:
    """Meta tensors of one dtype that agree on every other dim (else torch's error), not all channels-last:
    the result is contiguous (torch's memory format for mixed or row-major inputs)."""
    if not tensors or not all(_is_meta(t) for t in tensors) or all(_channels_last_like(t) for t in tensors):
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
    """A plain (not transposed) convolution of meta tensors whose every size fits: contiguous whatever the
    inputs' layout (torch's meta kernel cannot know the backend, so it leaves the format contiguous)."""
    if transposed or not (_is_meta_float(x) and _is_meta(weight) and _all_meta(bias)):
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


def _pooled_shape(x: Any, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: Any) -> tuple[int, ...] | None:
    """A 2D pool's output shape by torch's size rule, or None where torch would refuse the arguments."""
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
    return (*x.shape[:-2], *sizes) if min(sizes) >= 1 else None


def _pool_layout(x: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if _channels_last_like(x) else torch.contiguous_format


def _max_pool2d(x: Any, kernel: Any, stride: Any = (), padding: Any = (0,), dilation: Any = (1,), ceil_mode: Any = False) -> Any:
    """``max_pool2d_with_indices``: the pooled tensor and its int64 indices."""
    shape = _pooled_shape(x, kernel, stride, padding, dilation, ceil_mode)
    if shape is None:
        return None
    layout = _pool_layout(x)
    return (torch.empty(shape, dtype=x.dtype, device="meta", memory_format=layout), torch.empty(shape, dtype=torch.int64, device="meta", memory_format=layout))


def _avg_pool2d(x: Any, kernel: Any, stride: Any = (), padding: Any = (0,), ceil_mode: Any = False, count_include_pad: Any = True, divisor_override: Any = None) -> Any:
    shape = _pooled_shape(x, kernel, stride, padding, (1,), ceil_mode)
    if shape is None or type(count_include_pad) is not bool or not (divisor_override is None or (type(divisor_override) is int and divisor_override != 0)):
        return None
    return torch.empty(shape, dtype=x.dtype, device="meta", memory_format=_pool_layout(x))


def _adaptive_avg_pool2d(x: Any, output_size: Any) -> Any:
    size = _ints(output_size, (2,))
    if not (_is_meta_float(x) and x.dim() in (3, 4) and size and min(*x.shape[-3:], *size) > 0):
        return None
    return torch.empty((*x.shape[:-2], *size), dtype=x.dtype, device="meta", memory_format=_pool_layout(x))


def _group_norm(x: Any, weight: Any, bias: Any, n: Any, c: Any, hxw: Any, groups: Any, eps: Any) -> Any:
    """``native_group_norm``: the normalized tensor and the (N, groups) mean and rstd."""
    if not (_is_meta_float(x) and _row_major(x) and x.dim() >= 2 and _all_meta(weight, bias) and all(type(v) is int for v in (n, c, hxw, groups))):
        return None
    if tuple(x.shape[:2]) != (n, c) or x.numel() != n * c * hxw or groups < 1 or c % groups:
        return None
    if any(t is not None and (tuple(t.shape) != (c,) or t.dtype != x.dtype) for t in (weight, bias)):
        return None
    return _empty(x.shape, x.dtype), _empty((n, groups), x.dtype), _empty((n, groups), x.dtype)


def _upsample_nearest2d(x: Any, output_size: Any, scales_h: Any = None, scales_w: Any = None) -> Any:
    """``upsample_nearest2d`` (``F.interpolate``'s default mode) to ``output_size``."""
    size = _ints(output_size, (2,))
    if not (_is_meta_float(x) and x.dim() == 4 and size and min(*x.shape[1:], *size) > 0):
        return None
    out = torch.empty((*x.shape[:2], *size), dtype=x.dtype, device="meta")
    if _channels_last_like(x) and not out.is_contiguous(memory_format=torch.channels_last):  # torch's ``.contiguous(channels_last)``
        out = torch.empty(out.shape, dtype=x.dtype, device="meta", memory_format=torch.channels_last)
    return out


def _upsample_2d(x: Any, output_size: Any, align_corners: Any, scales_h: Any = None, scales_w: Any = None) -> Any:
    """``upsample_bilinear2d``/``upsample_bicubic2d`` to ``output_size``: nearest's layout rule."""
    return _upsample_nearest2d(x, output_size) if type(align_corners) is bool and all(s is None or _is_number(s) for s in (scales_h, scales_w)) else None


def _positional(answer: Callable[..., Any], least: int, most: int) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
    return lambda args, kwargs: answer(*args) if not kwargs and least <= len(args) <= most else None


def _elementwise(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return _unary(args[0])


def _in_place(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[0] if len(args) == 1 and not kwargs and _is_meta_float(args[0]) else None


def _fill(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[0] if _is_meta_float(args[0]) else None


# Each op's answer from (args, kwargs): the result, or None to let torch run the op.
_ANSWERS: dict[Any, Callable[[tuple[Any, ...], dict[str, Any]], Any]] = {
    **{op: _elementwise for op in _ELEMENTWISE},
    **{op: _in_place for op in _IN_PLACE},
    **{op: (lambda args, kwargs: (_scalar if _is_number(args[-1]) else _binary)(*args) if len(args) == 2 and set(kwargs) <= {"alpha"} else None) for op in _BINARY},
    **{op: (lambda args, kwargs: _binary_in_place(*args) if len(args) == 2 and set(kwargs) <= {"alpha"} else None) for op in _BINARY_IN_PLACE},
    **{op: _positional(_scalar, 2, 2) for op in _SCALAR},
    **{op: (lambda args, kwargs: args[0] if _positional(_scalar, 2, 2)(args, kwargs) is not None else None) for op in _SCALAR_IN_PLACE},
    aten.mm.default: _positional(_mm, 2, 2),
    aten.bmm.default: _positional(_bmm, 2, 2),
    aten.addmm.default: lambda args, kwargs: _addmm(*args, **kwargs) if 3 <= len(args) <= 5 and set(kwargs) <= {"beta", "alpha"} else None,
    aten.mean.dim: lambda args, kwargs: _mean(*args, **kwargs) if 2 <= len(args) <= 3 and set(kwargs) <= {"dtype"} else None,
    aten.amax.default: _positional(_amax, 1, 3),
    aten.amin.default: _positional(_amax, 1, 3),
    **{op: _positional(_compare, 2, 2) for op in _COMPARISONS},
    aten.stack.default: lambda args, kwargs: _stack(*args, **kwargs) if 1 <= len(args) + len(kwargs) <= 2 and set(kwargs) <= {"dim"} else None,
    aten.embedding.default: _positional(_embedding, 2, 5),
    aten.topk.default: _positional(_topk, 2, 5),
    aten.masked_fill.Scalar: _positional(_masked_fill, 3, 3),
    aten.index.Tensor: _positional(_gather_rows, 2, 2),
    aten.roll.default: _positional(_roll, 2, 3),
    aten.tril.default: _positional(_triangle, 1, 2),
    aten.triu.default: _positional(_triangle, 1, 2),
    aten.where.self: _positional(_where, 3, 3),
    aten.empty_like.default: _positional(_empty_like, 1, 1),
    aten._softmax.default: _positional(_softmax, 3, 3),
    aten._log_softmax.default: _positional(_softmax, 3, 3),
    aten._safe_softmax.default: lambda args, kwargs: _softmax(*args) if len(args) == 2 and kwargs.get("dtype") is None else None,
    aten.avg_pool2d.default: _positional(_avg_pool2d, 2, 7),
    aten._adaptive_avg_pool2d.default: _positional(_adaptive_avg_pool2d, 2, 2),
    aten.native_group_norm.default: _positional(_group_norm, 8, 8),
    aten.upsample_bilinear2d.default: _positional(_upsample_2d, 3, 5),
    aten.upsample_bicubic2d.default: _positional(_upsample_2d, 3, 5),
    **{op: _fill for op in _FILLS},
    aten.cat.default: lambda args, kwargs: _cat(*args, **kwargs),
    aten.native_batch_norm.default: _positional(_batch_norm, 8, 8),
    aten.convolution.default: _positional(_convolution, 9, 9),
    aten.native_layer_norm.default: _positional(_layer_norm, 5, 5),
    aten.max_pool2d_with_indices.default: _positional(_max_pool2d, 2, 6),
    aten.upsample_nearest2d.default: _positional(_upsample_nearest2d, 2, 4),
}


def _or_integers(answer: Callable[[tuple[Any, ...], dict[str, Any]], Any]) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
    def either(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        found = answer(args, kwargs)
        return found if found is not None or len(args) != 2 or not set(kwargs) <= {"alpha"} else _integer_arithmetic(*args, **kwargs)

    return either


for _op in (aten.add.Tensor, aten.sub.Tensor, aten.mul.Tensor, aten.add.Scalar, aten.sub.Scalar, aten.mul.Scalar):
    _ANSWERS[_op] = _or_integers(_ANSWERS[_op])


def _arange(end: Any, *, dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: Any = None) -> Any:
    """``arange(end)`` of a non-negative int on meta: int64 (index building at ``__init__``)."""
    on_meta = device is not None and torch.device(device).type == "meta"
    if not (type(end) is int and end >= 0 and on_meta and dtype in (None, torch.int64) and layout in (None, torch.strided) and not pin_memory):
        return None
    return _empty((end,), torch.int64)


_ANSWERS[aten.arange.default] = lambda args, kwargs: _arange(*args, **kwargs) if len(args) == 1 and set(kwargs) <= {"dtype", "layout", "device", "pin_memory"} else None
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
