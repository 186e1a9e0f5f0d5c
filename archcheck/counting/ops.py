"""What one aten op costs, decided from the op and the shapes it saw, never from a module's class.

The rules are one table, ``FAMILIES``: each family names its ops (as aten spells them on the meta
device and on CPU, in-place and out-of-place), the *kind* it is reported under, and a formula.
Every op that reaches the dispatcher falls in exactly one family, or in none:

- MACs (multiply-accumulates): ``conv``, ``matmul``, ``attention``, ``rnn``. A conv's, ``addmm``'s
  or ``addmv``'s bias add is one extra op per output element, in ``other``.
- ``other``, one op per output element: activations, elementwise arithmetic (aten's ``pointwise``
  tag), norms, pools, interpolation and grid sampling, softmax, scans, random draws; one op per
  *input* element: reductions and ``sort``/``topk``/``nonzero``/``unique`` (selection).
- ``free``: views, metadata, allocation and data movement (``cat``, ``clone``, ``roll``, padding,
  indexing, ``embedding``): no arithmetic, cost 0 by decision.
- anything else is *uncounted*: the caller lists it with its call count, never counts it as 0.

Darknet's BFLOPs add two terms of their own (``darknet_extra``): a window pool costs
``k*k*C*H_out*W_out`` (maxpool_layer.c) and an elementwise add of two tensors of the same shape
costs one op per element (shortcut_layer.c: a residual add).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch.utils.flop_counter import flop_registry

aten = torch.ops.aten


@dataclass(frozen=True)
class OpCost:
    kind: str
    macs: int = 0
    other: int = 0
    darknet_extra: int = 0


Rule = Callable[[torch._ops.OpOverload, tuple, dict, Any], OpCost]


@dataclass(frozen=True)
class Family:
    """A group of aten ops costed by one formula (``doc`` is what docs/counting.md shows)."""

    name: str
    kind: str
    ops: tuple[str, ...]
    doc: str
    rule: Rule

    @property
    def packets(self) -> frozenset[Any]:
        """The ops this torch has (a family lists names across versions and backends)."""
        return frozenset(getattr(aten, n) for n in self.ops if hasattr(aten, n))


# ---------------------------------------------------------------------------------------------
# helpers


def numel(value: Any) -> int:
    """Elements of a tensor, or of the first tensor in a tuple (``native_batch_norm`` returns 3)."""
    if isinstance(value, torch.Tensor):
        return value.numel()
    if isinstance(value, (tuple, list)):
        return next((v.numel() for v in value if isinstance(v, torch.Tensor)), 0)
    return 0


def named(func: torch._ops.OpOverload, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The call's arguments by their schema names, defaults filled in."""
    values: dict[str, Any] = {}
    for index, (name, kwarg_only, default) in enumerate(_arguments(func)):
        if index < len(args) and not kwarg_only:
            values[name] = args[index]
        elif name in kwargs:
            values[name] = kwargs[name]
        elif default is not _NO_DEFAULT:
            values[name] = default
    return values


_NO_DEFAULT = object()


@functools.cache
def _arguments(func: torch._ops.OpOverload) -> tuple[tuple[str, bool, Any], ...]:
    """(name, keyword-only, default) of each schema argument: read once per op, for the schema
    builds its argument objects afresh on every access."""
    return tuple((a.name, a.kwarg_only, a.default_value if a.has_default_value() else _NO_DEFAULT) for a in func._schema.arguments)


def _window(kernel: Any, spatial_dims: int) -> int:
    sizes = [kernel] if isinstance(kernel, int) else list(kernel)
    if len(sizes) == 1:
        sizes = sizes * spatial_dims
    return math.prod(sizes)


def _same_shape(args: tuple[Any, ...]) -> bool:
    """``x + y`` of two tensors of one shape (a residual add), not a broadcast bias or a scalar."""
    return len(args) >= 2 and all(isinstance(a, torch.Tensor) for a in args[:2]) and args[0].shape == args[1].shape


def _is_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor)


def torch_macs(func: torch._ops.OpOverload, args: tuple, kwargs: dict, out: Any) -> int:
    """torch's own formula (``flop_counter``'s registry, in FLOPs), halved. Its wrapper hands the
    formula shapes for tensors through a ``tree_map`` of every argument, ten times the cost of the
    formula itself; where no tensor sits inside a list, tuple or dict, the same shapes go in directly."""
    formula = flop_registry[func.overloadpacket]
    direct = getattr(formula, "__wrapped__", None)  # the formula under flop_counter's shape_wrapper
    if direct is None or any(_holds_tensor(v) for v in (*args, *kwargs.values(), out)):
        return formula(*args, **kwargs, out_val=out) // 2  # type: ignore[no-any-return]
    return direct(*map(_shape, args), out_shape=_shape(out), **{k: _shape(v) for k, v in kwargs.items()}) // 2  # type: ignore[no-any-return]


def _shape(value: Any) -> Any:
    """What flop_counter's wrapper passes for a value: a tensor's shape, anything else as it is."""
    return value.shape if isinstance(value, torch.Tensor) else value


def _holds_tensor(value: Any) -> bool:
    if isinstance(value, dict):
        value = tuple(value.values())
    return isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) or _holds_tensor(v) for v in value)


# ---------------------------------------------------------------------------------------------
# rules


def _per_output(kind: str) -> Rule:
    return lambda func, args, kwargs, out: OpCost(kind, other=numel(out))


def _per_input(kind: str) -> Rule:
    return lambda func, args, kwargs, out: OpCost(kind, other=numel(args[0]) if args else numel(out))


def _free(func: Any, args: tuple, kwargs: dict, out: Any) -> OpCost:
    return OpCost("free")


def _conv(func: torch._ops.OpOverload, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """torch's own formula where it has one (2 x MACs, halved); else each output element of a
    convolution costs a weight slice (cin/groups x k...), each input element of a transposed one
    scatters through cout/groups x k... weights."""
    packet = func.overloadpacket
    values = named(func, args, kwargs)
    weight = values.get("weight", args[1])
    if packet in flop_registry:
        macs = torch_macs(func, args, kwargs, out)
    elif values.get("transposed", False) or "transpose" in packet.__name__:
        macs = numel(args[0]) * weight[0].numel()
    else:
        macs = numel(out) * weight[0].numel()
    return OpCost("conv", macs=macs, other=numel(out) if _is_tensor(values.get("bias")) else 0)


def _matmul(func: torch._ops.OpOverload, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Each output element of ``a @ b`` is a dot product over the inner dimension."""
    packet = func.overloadpacket
    if packet in flop_registry:
        macs = torch_macs(func, args, kwargs, out)
    else:
        name = packet.__name__
        a = args[1] if name in ("addmv", "addbmm", "_addmm_activation") else args[0]
        inner = a.shape[-1]
        if name == "addbmm":  # sums the batch of products into one matrix
            inner *= a.shape[0]
        macs = numel(out) * inner
    biased = packet.__name__ in ("addmm", "addmv", "addbmm", "baddbmm", "_addmm_activation")
    activation = numel(out) if packet.__name__ == "_addmm_activation" else 0
    return OpCost("matmul", macs=macs, other=(numel(out) if biased else 0) + activation)


def _cdist(func: torch._ops.OpOverload, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Pairwise distance of (B, P, M) and (B, R, M): a difference, square and add per pair and
    feature, counted as one MAC; then a root per output element."""
    return OpCost("matmul", macs=numel(out) * args[0].shape[-1], other=numel(out))


def _affine_grid(func: torch._ops.OpOverload, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """theta (N, 2, 3) times the base grid (H*W, 3): each output coordinate is 3 MACs."""
    return OpCost("matmul", macs=numel(out) * args[0].shape[-1])


def _sdpa(func: torch._ops.OpOverload, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Fused scaled-dot-product attention on (..., L, d) tensors: QK^T and AV,
    ``B*heads*Lq*Lk*(d + d_v)`` MACs (= ``2*B*heads*Lq*Lk*d`` when d_v = d; torch's
    flop_counter says 2x that in FLOPs). ``other`` is what the math decomposition that torch runs
    on the meta device costs, so a fused kernel on CPU/CUDA counts what meta counts: scaling q and
    k (``Lq*d + Lk*d``), the softmax (``Lq*Lk``), adding a mask (``Lq*Lk``), per batch and head,
    and building the mask once: a boolean mask is turned into -inf (``where``, its elements),
    a causal one is ``tril`` then ``where`` (``2*Lq*Lk``)."""
    values = named(func, args, kwargs)
    q, k, v = args[:3]
    lq, d = q.shape[-2], q.shape[-1]
    lk, dv = k.shape[-2], v.shape[-1]
    heads = q.numel() // (lq * d)  # batch x heads (any leading dims)
    mask = values.get("attn_mask", values.get("attn_bias"))
    causal = bool(values.get("is_causal", False))
    other = heads * (lq * d + lk * d + lq * lk)
    if _is_tensor(mask) or causal:
        other += heads * lq * lk
    if _is_tensor(mask) and mask.dtype == torch.bool:
        other += mask.numel()
    if causal:
        other += 2 * lq * lk
    return OpCost("attention", macs=heads * lq * lk * (d + dv), other=other)


def _attention_blhd(func: torch._ops.OpOverload, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Lower-level flash/efficient kernels on (B, L, heads, d): torch's formula, halved, and the
    softmax (``B*heads*Lq*Lk``) in other."""
    q, k = args[0], args[1]
    softmax = q.shape[0] * q.shape[2] * q.shape[1] * k.shape[1] if q.dim() == 4 else 0
    return OpCost("attention", macs=torch_macs(func, args, kwargs, out), other=softmax)


def _native_mha(func: torch._ops.OpOverload, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """``nn.MultiheadAttention``'s CPU fast path (eval, no grad): the q/k/v and output
    projections plus attention, costed as its decomposition (linear + SDPA + linear)."""
    values = named(func, args, kwargs)
    q, k = values["query"], values["key"]
    embed, heads = values["embed_dim"], values["num_head"]
    rows_q, rows_k = q.numel() // embed, k.numel() // embed
    batch, lq, lk = rows_q // q.shape[-2], q.shape[-2], k.shape[-2]
    head_dim = embed // heads
    macs = (rows_q + 2 * rows_k) * embed * embed + rows_q * embed * embed
    macs += batch * heads * lq * lk * 2 * head_dim
    other = (rows_q + 2 * rows_k) * embed + rows_q * embed  # biases
    other += batch * heads * (lq * head_dim + lk * head_dim + lq * lk)  # scaling and softmax
    return OpCost("attention", macs=macs, other=other)


_RNN_GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}
# elementwise ops per hidden unit per step of one direction of one layer, as the cells decompose
# on the meta device: LSTM gates add 4, sigmoid x3, tanh x2, mul x3, add 1 = 13; GRU add x3,
# sigmoid x2, mul x2, add, tanh, sub = 10; RNN add + tanh/relu = 2. Biases: one add per gate unit
# per matmul (b_ih and b_hh): LSTM 8, GRU 6, RNN 2.
_RNN_ELEMENTWISE = {"lstm": (13, 8), "gru": (10, 6), "rnn_tanh": (2, 2), "rnn_relu": (2, 2)}
# same-shape adds among them, which Darknet's convention counts as shortcuts on meta: LSTM 4 + 1, GRU 3 + 1, RNN 1
_RNN_SHORTCUTS = {"lstm": 5, "gru": 4, "rnn_tanh": 1, "rnn_relu": 1}
_CUDNN_MODES = {0: "rnn_relu", 1: "rnn_tanh", 2: "lstm", 3: "gru"}


def _rnn(func: torch._ops.OpOverload, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """A fused recurrent layer (``aten.lstm``/``gru``/``rnn_*``, oneDNN's ``mkldnn_rnn_layer``,
    cuDNN's ``_cudnn_rnn``): every weight matrix (w_ih, w_hh, and an LSTM's w_hr) multiplies one
    vector per step and batch row, so MACs = steps x batch x its elements. For an LSTM that is
    ``4*H*(I + H)`` per step per direction per layer (GRU 3x, RNN 1x). ``other`` is the gates'
    elementwise work and the bias adds, as the cells decompose on meta (see ``_RNN_ELEMENTWISE``)."""
    values = named(func, args, kwargs)
    name = func.overloadpacket.__name__
    if name == "mkldnn_rnn_layer":
        cell = _CUDNN_MODES[values["mode"]]
        weights = [values["weight0"], values["weight1"]]
        has_biases = values["has_biases"]
    elif name == "_cudnn_rnn":
        cell = _CUDNN_MODES[values["mode"]]
        weights = [w for w in values["weight"] if w.dim() == 2]
        has_biases = any(w.dim() == 1 for w in values["weight"])
    else:
        cell = name
        weights = [w for w in values["params"] if w.dim() == 2]
        has_biases = values["has_biases"]
    data = values.get("input", values.get("data"))
    rows = data.numel() // data.shape[-1]  # steps x batch (packed: the sum of the batch sizes)
    gates = _RNN_GATES[cell]
    hidden = weights[0].shape[0] // gates
    # w_ih and w_hh have gates x H rows (an LSTM's projection w_hr has proj_size): 2 per direction and layer
    layers = sum(1 for w in weights if w.shape[0] == gates * hidden) // 2
    elementwise, biases = _RNN_ELEMENTWISE[cell]
    other = rows * hidden * layers * (elementwise + (biases if has_biases else 0))
    shortcuts = rows * hidden * layers * _RNN_SHORTCUTS[cell]
    return OpCost("rnn", macs=rows * sum(w.numel() for w in weights), other=other, darknet_extra=shortcuts)


def _rnn_cell(func: torch._ops.OpOverload, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """CUDA's fused cell after its two gate matmuls: the gates' elementwise work."""
    cell = "lstm" if "lstm" in func.overloadpacket.__name__ else "gru"
    gates = _RNN_GATES[cell]
    elementwise, biases = _RNN_ELEMENTWISE[cell]
    units = numel(args[0]) // gates
    has_biases = len(args) > 3 and _is_tensor(args[3])
    # the biases are added here instead of in addmm: the same count as the decomposition
    return OpCost("rnn", other=units * (elementwise + (biases if has_biases else 0)))


def _pool(func: torch._ops.OpOverload, args: tuple, kwargs: dict, out: Any) -> OpCost:
    extra = 0
    name = func.overloadpacket.__name__
    if name.startswith(("max_pool", "avg_pool")):
        spatial = int(name.split("pool")[1][0])  # max_pool2d -> 2
        extra = _window(args[1], spatial) * numel(out)
    return OpCost("pool", other=numel(out), darknet_extra=extra)


def _add(func: torch._ops.OpOverload, args: tuple, kwargs: dict, out: Any) -> OpCost:
    shortcut = _same_shape(args)
    return OpCost("pointwise", other=numel(out), darknet_extra=numel(out) if shortcut else 0)


def _accumulate(func: torch._ops.OpOverload, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """scatter_add/index_add (self, dim, index, src): one add per source element."""
    return OpCost("gather", other=numel(args[3]) if len(args) > 3 else numel(out))


def _embedding_bag(func: torch._ops.OpOverload, args: tuple, kwargs: dict, out: Any) -> OpCost:
    """Sum or mean of the looked-up rows: one op per gathered element (indices x dim)."""
    return OpCost("gather", other=numel(args[1]) * args[0].shape[-1])


# ---------------------------------------------------------------------------------------------
# the table

ACTIVATIONS = (
    "relu", "relu_", "relu6", "relu6_", "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_", "elu", "elu_",
    "selu", "selu_", "celu", "celu_", "gelu", "gelu_", "silu", "silu_", "mish", "mish_", "hardswish",
    "hardswish_", "hardsigmoid", "hardsigmoid_", "sigmoid", "sigmoid_", "tanh", "tanh_", "softplus",
    "softshrink", "hardshrink", "threshold", "threshold_", "log_sigmoid_forward", "logit", "logit_",
    "prelu", "_prelu_kernel", "rrelu_with_noise", "rrelu_with_noise_", "glu", "erf", "erf_", "exp", "exp_",
)

FAMILIES: tuple[Family, ...] = (
    Family("convolution", "conv", (
        "convolution", "_convolution", "cudnn_convolution", "cudnn_convolution_transpose", "_slow_conv2d_forward",
        "slow_conv3d_forward", "convolution_overrideable", "mkldnn_convolution", "_conv_depthwise2d",
        "slow_conv_dilated2d", "slow_conv_dilated3d", "slow_conv_transpose2d", "slow_conv_transpose3d",
        "_nnpack_spatial_convolution", "miopen_convolution", "miopen_depthwise_convolution",
    ), "MACs = C_out x C_in/groups x k... x output positions (transposed: input elements x C_out/groups x k...); bias: +1 other per output element", _conv),
    Family("matmul", "matmul", (
        "mm", "addmm", "bmm", "baddbmm", "addbmm", "mv", "addmv", "dot", "vdot", "_addmm_activation", "_scaled_mm",
    ), "MACs = output elements x inner dim (linear, matmul, einsum lower to these); addmm/addmv/baddbmm bias: +1 other per output element", _matmul),
    Family("distance", "matmul", ("_cdist_forward", "_euclidean_dist"), "MACs = output elements x feature dim; +1 other per output element (the root)", _cdist),
    Family("affine grid", "matmul", ("affine_grid_generator",), "MACs = output elements x 3 (theta times the base grid)", _affine_grid),
    Family("attention", "attention", (
        "scaled_dot_product_attention", "_scaled_dot_product_attention_math", "_scaled_dot_product_attention_math_for_mps",
        "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
        "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
        "_scaled_dot_product_fused_attention_overrideable",
    ), "MACs = B x heads x Lq x Lk x (d + d_v); other = B x heads x (Lq*d + Lk*d + Lq*Lk [+ Lq*Lk with a mask]), as the math path on meta", _sdpa),
    Family("attention (B, L, heads, d)", "attention", ("_flash_attention_forward", "_efficient_attention_forward"),
           "MACs = torch flop_counter / 2; other = B x heads x Lq x Lk (softmax)", _attention_blhd),
    Family("multi-head attention fast path", "attention", ("_native_multi_head_attention",),
           "MACs = projections (4 x rows x E x E) + 2 x B x heads x Lq x Lk x head_dim; other = biases, scaling, softmax", _native_mha),
    Family("recurrent layer", "rnn", ("lstm", "gru", "rnn_tanh", "rnn_relu", "mkldnn_rnn_layer", "_cudnn_rnn"),
           "MACs = steps x batch x weight-matrix elements (LSTM 4H(I+H), GRU 3H(I+H), RNN H(I+H) per step, direction, layer); other = gate elementwise x H per step (LSTM 13+8 bias, GRU 10+6, RNN 2+2)", _rnn),
    Family("recurrent cell (fused)", "rnn", ("_thnn_fused_lstm_cell", "_thnn_fused_gru_cell"),
           "other = gate elementwise x H (LSTM 13+8 bias, GRU 10+6)", _rnn_cell),
    Family("activation", "activation", ACTIVATIONS, "1 other per output element", _per_output("activation")),
    Family("add", "pointwise", ("add", "add_"), "1 other per output element; same-shape add: + Darknet shortcut", _add),
    Family("elementwise (untagged)", "pointwise", (
        "floor_divide", "floor_divide_", "tril", "tril_", "triu", "triu_", "native_dropout", "_masked_scale", "lerp", "lerp_",
    ), "1 other per output element (aten's pointwise tag covers the rest of mul, div, where, pow...)", _per_output("pointwise")),
    Family("norm", "norm", (
        "native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
        "_native_batch_norm_legit_functional", "_batch_norm_with_update", "_batch_norm_no_update", "cudnn_batch_norm",
        "miopen_batch_norm", "native_layer_norm", "native_group_norm", "_fused_rms_norm", "batch_norm", "layer_norm",
        "group_norm", "instance_norm", "rms_norm",
    ), "1 other per output element (batch, layer, group, instance, RMS norm; any layout)", _per_output("norm")),
    Family("pool", "pool", (
        "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
        "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
        "adaptive_avg_pool2d", "adaptive_avg_pool3d", "_adaptive_avg_pool2d", "_adaptive_avg_pool3d",
        "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "fractional_max_pool2d",
        "fractional_max_pool3d", "max_unpool2d", "max_unpool3d", "mkldnn_max_pool2d",
    ), "1 other per output element; max/avg window pools: + k x k x C x H_out x W_out Darknet", _pool),
    Family("interpolation", "upsample", (
        "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d", "_upsample_nearest_exact1d",
        "_upsample_nearest_exact2d", "_upsample_nearest_exact3d", "upsample_linear1d", "upsample_bilinear2d",
        "_upsample_bilinear2d_aa", "upsample_bicubic2d", "_upsample_bicubic2d_aa", "upsample_trilinear3d",
        "grid_sampler_2d", "grid_sampler_3d", "_grid_sampler_2d_cpu_fallback", "cudnn_grid_sampler",
    ), "1 other per output element (every mode: nearest, linear, bilinear, bicubic, trilinear, area = adaptive pool; grid_sample)", _per_output("upsample")),
    Family("softmax", "softmax", ("_softmax", "_log_softmax", "_safe_softmax", "softmax", "log_softmax"),
           "1 other per output element", _per_output("softmax")),
    Family("reduce", "reduce", (
        "sum", "mean", "amax", "amin", "max", "min", "var", "std", "var_mean", "std_mean", "prod", "argmax",
        "argmin", "logsumexp", "norm", "linalg_vector_norm", "any", "all", "aminmax", "count_nonzero", "nansum",
        "nanmean",
    ), "1 other per input element", _per_input("reduce")),
    Family("scan", "scan", ("cumsum", "cumsum_", "cumprod", "cumprod_", "cummax", "cummin", "_cummax_helper", "_cummin_helper", "logcumsumexp"),
           "1 other per output element", _per_output("scan")),
    Family("sort and select", "sort", (
        "sort", "topk", "kthvalue", "median", "nanmedian", "mode", "msort", "argsort", "nonzero", "nonzero_static",
        "_unique", "_unique2", "unique_dim", "unique_consecutive", "unique_dim_consecutive", "searchsorted",
        "bucketize", "histc", "bincount",
    ), "1 other per input element (sort, argsort, topk, nonzero, unique...: not n log n)", _per_input("sort")),
    Family("random", "random", (
        "rand", "rand_like", "randn", "randn_like", "randint", "randint_like", "randperm", "normal", "normal_",
        "uniform_", "bernoulli", "bernoulli_", "exponential_", "geometric_", "log_normal_", "cauchy_", "random_",
        "multinomial", "poisson",
    ), "1 other per output element (one draw each); dropout is its mask draw + mul (+ div)", _per_output("random")),
    Family("accumulate", "gather", ("scatter_add", "scatter_add_", "index_add", "index_add_", "scatter_reduce", "scatter_reduce_", "index_reduce", "index_reduce_"),
           "1 other per source element", _accumulate),
    Family("embedding bag", "gather", ("_embedding_bag", "_embedding_bag_forward_only", "embedding_bag"),
           "1 other per gathered element (indices x dim)", _embedding_bag),
    Family("free", "free", (
        # views and metadata
        "view", "_unsafe_view", "reshape", "_reshape_alias", "t", "t_", "transpose", "transpose_", "permute", "expand",
        "expand_as", "squeeze", "squeeze_", "unsqueeze", "unsqueeze_", "select", "slice", "split", "split_with_sizes",
        "unsafe_split", "unsafe_split_with_sizes", "unsafe_chunk", "chunk", "tensor_split", "unbind", "narrow",
        "flatten", "unflatten", "alias", "as_strided", "as_strided_", "detach", "detach_", "view_as", "movedim",
        "unfold", "diagonal", "lift_fresh", "lift_fresh_copy", "size", "sym_size", "stride", "sym_stride", "dim",
        "numel", "sym_numel", "is_contiguous", "storage_offset", "sym_storage_offset", "_local_scalar_dense",
        "view_as_real", "view_as_complex", "_assert_async", "_assert_scalar", "sym_constrain_range",
        "sym_constrain_range_for_size", "_functional_sym_constrain_range",
        # functionalized views
        "view_copy", "_unsafe_view_copy", "reshape_copy", "t_copy", "transpose_copy", "permute_copy", "expand_copy",
        "squeeze_copy", "unsqueeze_copy", "select_copy", "slice_copy", "split_copy", "split_with_sizes_copy",
        "unbind_copy", "alias_copy", "as_strided_copy", "detach_copy", "diagonal_copy", "unfold_copy",
        # allocation
        "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like",
        "new_empty", "new_empty_strided", "new_zeros", "new_ones", "new_full", "scalar_tensor", "arange", "linspace",
        "logspace", "eye", "tril_indices", "triu_indices", "fill", "fill_", "zero_", "_to_copy", "to", "resize_",
        "resize_as_", "set_", "_copy_from", "_copy_from_and_resize",
        # data movement: copies, joins, padding, gathers and scatters without arithmetic
        "cat", "stack", "clone", "copy", "copy_", "contiguous", "constant_pad_nd", "reflection_pad1d",
        "reflection_pad2d", "reflection_pad3d", "replication_pad1d", "replication_pad2d", "replication_pad3d",
        "_pad_circular", "_pad_enum", "pad", "im2col", "col2im", "index", "_unsafe_index", "index_select", "gather",
        "take", "masked_select", "embedding", "repeat", "repeat_interleave", "roll", "flip", "rot90",
        "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle", "index_put", "index_put_",
        "_index_put_impl_", "_unsafe_index_put", "scatter", "scatter_", "index_copy", "index_copy_", "index_fill",
        "index_fill_", "masked_scatter", "masked_scatter_", "put", "put_", "diag_embed",
    ), "0: views, metadata, allocation, copies, padding, indexing, roll, embedding (no arithmetic)", _free),
)

RULES: dict[str, Family] = {}  # "aten::convolution" -> its family: names, for looking up each op in torch.ops costs ~8 ms
for _family in FAMILIES:
    for _op in _family.ops:
        assert f"aten::{_op}" not in RULES, f"{_op} is in two families: {RULES[f'aten::{_op}'].name}, {_family.name}"
        RULES[f"aten::{_op}"] = _family
FREE_OTHER = frozenset({"prim::device", "prim::layout"})
POINTWISE = Family("elementwise (pointwise tag)", "pointwise", (), "1 other per output element", _per_output("pointwise"))


@functools.cache
def family_of(func: torch._ops.OpOverload) -> Family | None:
    """The family that costs ``func``: the table first, then aten's pointwise tag; None if none."""
    name = func.name().partition(".")[0]  # aten::add.Tensor -> aten::add
    found = RULES.get(name)
    if found is not None:
        return found
    if name in FREE_OTHER:
        return FAMILIES[-1]
    if torch.Tag.pointwise in func.tags:
        return POINTWISE
    return None


def cost(func: torch._ops.OpOverload, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost | None:
    """The cost of one call; None when the op is unknown (the caller lists it as uncounted)."""
    family = family_of(func)
    return None if family is None else family.rule(func, args, kwargs, out)
