"""What one aten op costs, decided from the op and the shapes it saw, never from a module's class.

Every op that reaches the dispatcher falls in exactly one kind:

- ``conv``, ``matmul``, ``attention``: multiply-accumulates, from torch's own formulas
  (``torch.utils.flop_counter.flop_registry`` returns 2 x MACs; we halve it). A conv's or
  ``addmm``'s bias add is one extra op per output element, in ``other``.
- ``norm``, ``pointwise``, ``pool``, ``upsample``, ``softmax``: one op per output element.
- ``reduce``: one op per input element (``sum``, ``mean``, ``amax``...).
- ``free``: views, metadata, allocation and data movement (``cat``, ``clone``, ``copy_``,
  ``unfold``/``im2col``, padding, indexing): no arithmetic, cost 0.
- anything else is *uncounted*: the caller lists it with its call count, never counts it as 0.

Darknet's BFLOPs add two terms of their own (``darknet_extra``): a window pool costs
``k*k*C*H_out*W_out`` (maxpool_layer.c) and an elementwise add of two tensors of the same shape
costs one op per element (shortcut_layer.c: a residual add).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.flop_counter import flop_registry

aten = torch.ops.aten


@dataclass(frozen=True)
class OpCost:
    kind: str
    macs: int = 0
    other: int = 0
    darknet_extra: int = 0


def _packets(*names: str) -> frozenset[Any]:
    return frozenset(getattr(aten, n) for n in names if hasattr(aten, n))


CONV = _packets("convolution", "_convolution", "cudnn_convolution", "_slow_conv2d_forward", "convolution_overrideable", "mkldnn_convolution")
MATMUL = _packets("mm", "addmm", "bmm", "baddbmm", "_scaled_mm")
ATTENTION = frozenset(
    p
    for p in flop_registry
    if isinstance(p, torch._ops.OpOverloadPacket) and "attention" in p.__name__ and "backward" not in p.__name__
)
BIASED = _packets("addmm", "baddbmm")  # beta * input + ...: one add per output element
NORM = _packets(
    "native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
    "_native_batch_norm_legit_functional", "native_layer_norm", "native_group_norm", "_fused_rms_norm",
    "batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm",
)
WINDOW_POOL = _packets(
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
    "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d",
)
POOL = WINDOW_POOL | _packets(
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "_adaptive_avg_pool2d",
    "_adaptive_avg_pool3d", "adaptive_max_pool2d", "adaptive_max_pool3d",
)
UPSAMPLE = _packets(
    "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d", "_upsample_nearest_exact1d",
    "_upsample_nearest_exact2d", "_upsample_nearest_exact3d", "upsample_linear1d", "upsample_bilinear2d",
    "_upsample_bilinear2d_aa", "upsample_bicubic2d", "_upsample_bicubic2d_aa", "upsample_trilinear3d",
)
SOFTMAX = _packets("_softmax", "_log_softmax", "_safe_softmax", "softmax", "log_softmax")
REDUCE = _packets("sum", "mean", "amax", "amin", "max", "min", "var", "std", "var_mean", "std_mean", "prod", "argmax", "argmin", "logsumexp", "norm", "linalg_vector_norm")
POINTWISE_EXTRA = _packets("native_dropout", "dropout", "hardtanh", "hardtanh_", "_prelu_kernel", "prelu")
FREE = _packets(
    # views and metadata
    "view", "_unsafe_view", "reshape", "t", "transpose", "permute", "expand", "expand_as", "squeeze", "unsqueeze",
    "select", "slice", "split", "split_with_sizes", "chunk", "unbind", "narrow", "flatten", "unflatten", "alias",
    "as_strided", "detach", "view_as", "movedim", "unfold", "lift_fresh", "size", "sym_size", "stride", "sym_stride",
    "dim", "numel", "sym_numel", "is_contiguous", "storage_offset", "_reshape_alias",
    # allocation
    "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like",
    "new_empty", "new_empty_strided", "new_zeros", "new_ones", "new_full", "scalar_tensor", "arange", "fill", "fill_",
    "zero_", "_to_copy", "to", "resize_", "set_",
    # data movement: copies, joins, padding, gathers
    "cat", "stack", "clone", "copy", "copy_", "contiguous", "constant_pad_nd", "reflection_pad2d", "replication_pad2d",
    "im2col", "col2im", "index", "index_select", "gather", "embedding", "repeat", "roll", "flip", "pixel_shuffle",
    "pixel_unshuffle", "channel_shuffle", "_unsafe_index", "split_copy", "slice_copy",
)
FREE_OTHER = frozenset({torch.ops.prim.device, torch.ops.prim.layout})
ADDS = _packets("add", "add_")


def numel(value: Any) -> int:
    """Elements of a tensor, or of the first tensor in a tuple (``native_batch_norm`` returns 3)."""
    if isinstance(value, torch.Tensor):
        return value.numel()
    if isinstance(value, (tuple, list)):
        return next((v.numel() for v in value if isinstance(v, torch.Tensor)), 0)
    return 0


def _window(kernel: Any, spatial_dims: int) -> int:
    sizes = [kernel] if isinstance(kernel, int) else list(kernel)
    if len(sizes) == 1:
        sizes = sizes * spatial_dims
    return math.prod(sizes)


def cost(func: torch._ops.OpOverload, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost | None:
    """The cost of one call; None when the op is unknown (the caller lists it as uncounted)."""
    packet = func.overloadpacket
    if packet in CONV or packet in MATMUL or packet in ATTENTION:
        macs = flop_registry[packet](*args, **kwargs, out_val=out) // 2
        kind = "conv" if packet in CONV else "matmul" if packet in MATMUL else "attention"
        bias = packet in CONV and len(args) > 2 and isinstance(args[2], torch.Tensor)
        other = numel(out) if bias or packet in BIASED else 0
        return OpCost(kind, macs=macs, other=other)
    if packet in FREE or packet in FREE_OTHER:
        return OpCost("free")
    if torch.Tag.pointwise in func.tags or packet in POINTWISE_EXTRA:
        shortcut = packet in ADDS and _same_shape(args)
        return OpCost("pointwise", other=numel(out), darknet_extra=numel(out) if shortcut else 0)
    if packet in NORM:
        return OpCost("norm", other=numel(out))
    if packet in POOL:
        extra = 0
        if packet in WINDOW_POOL:
            spatial = int(packet.__name__.split("pool")[1][0])  # max_pool2d -> 2
            extra = _window(args[1], spatial) * numel(out)
        return OpCost("pool", other=numel(out), darknet_extra=extra)
    if packet in UPSAMPLE:
        return OpCost("upsample", other=numel(out))
    if packet in SOFTMAX:
        return OpCost("softmax", other=numel(out))
    if packet in REDUCE:
        return OpCost("reduce", other=numel(args[0]))
    return None


def _same_shape(args: tuple[Any, ...]) -> bool:
    """``x + y`` of two tensors of one shape (a residual add), not a broadcast bias or a scalar."""
    return len(args) >= 2 and all(isinstance(a, torch.Tensor) for a in args[:2]) and args[0].shape == args[1].shape
