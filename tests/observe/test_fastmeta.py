"""FastMeta answers slow meta ops by shape: the same shape, strides and dtype as torch's own
meta kernels; anything malformed goes to torch, so the error is torch's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from archcheck.observe.fastmeta import FastMeta
from archcheck.observe.memo import MetaMemo

aten = torch.ops.aten


def meta(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(*shape, device="meta", dtype=dtype)


INPUTS = {
    "contiguous": meta(2, 8, 5, 7),
    "channels_last": meta(2, 8, 5, 7).to(memory_format=torch.channels_last),
    "transposed": meta(2, 5, 8).transpose(1, 2),
    "float16": meta(2, 8, 5, 7, dtype=torch.float16),
}
OPS = {
    "mish": lambda x: F.mish(x),
    "leaky_relu": lambda x: F.leaky_relu(x, 0.1),
    "gelu": lambda x: F.gelu(x, approximate="tanh"),
    "hardswish": lambda x: F.hardswish(x),
    "relu6": lambda x: F.relu6(x),
    "add": lambda x: x + x,
    "mul": lambda x: x * x,
    "batch_norm eval": lambda x: aten.native_batch_norm(x, *[meta(x.shape[1])] * 4, False, 0.1, 1e-5),
    "batch_norm train": lambda x: aten.native_batch_norm(x, meta(x.shape[1]), None, None, None, True, 0.1, 1e-5),
    "F.batch_norm": lambda x: F.batch_norm(x, *[meta(x.shape[1])] * 4, False, 0.1, 1e-5),  # its reserve is an empty op
    "layer_norm": lambda x: aten.native_layer_norm(x, list(x.shape[-2:]), meta(*x.shape[-2:]), None, 1e-5),
    "cat": lambda x: torch.cat([x, x, x], dim=1),
    "sigmoid": lambda x: torch.sigmoid(x),
    "silu": lambda x: F.silu(x),
    "max_pool2d": lambda x: F.max_pool2d(x, 3, 1, 1, return_indices=True),
    "upsample_nearest": lambda x: F.interpolate(x, scale_factor=2) if x.dim() == 4 else x,
    "conv": lambda x: F.conv2d(x, meta(6, x.shape[1] // 2, 3, 2, dtype=x.dtype), meta(6, dtype=x.dtype), stride=(2, 1), padding=1, groups=2) if x.dim() == 4 else x,
}


def layout(value):  # type: ignore[no-untyped-def]
    values = value if isinstance(value, tuple) else (value,)
    return [(tuple(t.shape), t.stride(), t.dtype) for t in values]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("x", INPUTS)
def test_the_answer_is_torchs(op, x):
    expected = OPS[op](INPUTS[x])
    with FastMeta():
        assert layout(OPS[op](INPUTS[x])) == layout(expected)


@pytest.mark.parametrize(
    "options",
    [
        {"dtype": torch.uint8, "layout": torch.strided, "device": "meta"},  # batch norm's reserve
        {"device": "meta", "memory_format": torch.channels_last},
        {"device": "cpu", "dtype": torch.float16},
        {"device": "meta", "pin_memory": False},
    ],
    ids=["reserve", "channels_last", "cpu", "pin_memory"],
)
@pytest.mark.parametrize("memo", [None, MetaMemo()], ids=["alone", "with a memo"])
def test_an_empty_op_is_torchs(options, memo):
    expected = aten.empty.memory_format([2, 3, 4, 5], **options)
    with FastMeta(memo):
        made = aten.empty.memory_format([2, 3, 4, 5], **options)
    assert (layout(made), made.device) == (layout(expected), expected.device)


POOLS = [  # kernel, stride, padding, dilation, ceil_mode
    (k, s, p, d, c)
    for k in (1, 2, 3, (5, 3))
    for s in (None, 1, 2, (3, 1))
    for p in (0, 1, (1, 0))
    for d in (1, 2)
    for c in (False, True)
    if max(p if isinstance(p, tuple) else (p,)) <= min(k if isinstance(k, tuple) else (k,)) // 2
]
POOLED = [meta(2, 3, 9, 10), meta(3, 7, 6), meta(2, 3, 8, 5).to(memory_format=torch.channels_last), meta(1, 4, 1, 1), meta(0, 2, 5, 5), meta(2, 8, 7).transpose(1, 2)]


@pytest.mark.parametrize("x", POOLED, ids=["contiguous", "3d", "channels_last", "1x1", "empty batch", "transposed"])
def test_max_pool_sizes_are_torchs(x):
    for kernel, stride, padding, dilation, ceil_mode in POOLS:
        args = (x, kernel, stride, padding, dilation, ceil_mode)
        try:
            expected = layout(F.max_pool2d(*args, return_indices=True))
        except RuntimeError as plain:  # too small an input: the same error
            with FastMeta(), pytest.raises(RuntimeError) as fast:
                F.max_pool2d(*args, return_indices=True)
            assert str(fast.value) == str(plain), args
            continue
        with FastMeta():
            assert layout(F.max_pool2d(*args, return_indices=True)) == expected, args
            assert layout(F.max_pool2d(*args)) == expected[:1], args


@pytest.mark.parametrize("size", [(1, 1), (26, 26), (7, 3), (3, 7)])
@pytest.mark.parametrize("x", [meta(2, 3, 13, 13), meta(2, 3, 13, 13).to(memory_format=torch.channels_last), meta(1, 3, 1, 1)], ids=["contiguous", "channels_last", "1x1"])
def test_upsample_sizes_are_torchs(x, size):
    expected = layout(F.interpolate(x, size=size))
    with FastMeta():
        assert layout(F.interpolate(x, size=size)) == expected


@pytest.mark.parametrize(
    "call",
    [
        lambda: aten.native_batch_norm(meta(2, 8, 4, 4), meta(7), None, meta(8), meta(8), False, 0.1, 1e-5),
        lambda: torch.cat([meta(2, 8, 4, 4), meta(2, 8, 5, 5)], dim=1),
        lambda: torch.cat([meta(2, 8, 4, 4), meta(2, 3, 4, 4), meta(3, 8, 4, 5)], dim=-2),
        lambda: torch.cat([meta(2, 8, 4), meta(2, 8, 4), meta(2, 7, 5)], dim=0),
        lambda: F.conv2d(meta(1, 3, 8, 8), meta(4, 5, 3, 3)),
        lambda: F.conv2d(meta(1, 3, 2, 2), meta(4, 3, 3, 3)),
        lambda: aten.native_layer_norm(meta(2, 5), [7], None, None, 1e-5),
        lambda: F.max_pool2d(meta(1, 3, 2, 2), 5),
        lambda: F.max_pool2d(meta(1, 3, 8, 8), 3, padding=2),
        lambda: F.max_pool2d(meta(1, 3, 8, 8), 3, stride=0),
        lambda: F.max_pool2d(meta(1, 3, 8, 8), 0),
        lambda: F.max_pool2d(meta(1, 3, 8, 8), 3, dilation=0),
        lambda: F.max_pool2d(meta(3, 8), 2),
        lambda: F.max_pool2d(meta(1, 0, 8, 8), 2),
        lambda: aten.max_pool2d_with_indices(meta(1, 3, 8, 8), [2, 2, 2]),
        lambda: aten.upsample_nearest2d(meta(1, 3, 8, 8), [0, 4]),
        lambda: aten.upsample_nearest2d(meta(1, 3, 8, 8), [4]),
        lambda: aten.upsample_nearest2d(meta(1, 0, 8, 8), [4, 4]),
    ],
    ids=["batch_norm weight", "cat sizes", "cat three", "cat last", "conv channels", "conv too small", "layer_norm shape", "pool too small", "pool padding", "pool stride 0", "pool kernel 0", "pool dilation 0", "pool 2d input", "pool no channels", "pool 3 sizes", "upsample to 0", "upsample 1 size", "upsample no channels"],
)
def test_a_malformed_op_raises_torchs_error(call):
    with pytest.raises(Exception) as plain:
        call()
    with FastMeta(), pytest.raises(Exception) as fast:
        call()
    assert (type(fast.value), str(fast.value)) == (type(plain.value), str(plain.value))


def test_a_meta_yolov4_forward_imports_no_dynamo():
    """torch's Python meta kernels import torch._dynamo on first use (about 1 s); FastMeta spares it."""
    code = (
        "import sys, torch\n"
        "from archcheck.model import build\n"
        "from archcheck.observe.trace import observe\n"
        "from archcheck.spec import load_spec\n"
        "spec = load_spec('specs/yolov4.yaml')\n"
        "seen = observe(build(spec, 'meta'), [torch.empty(1, 3, 64, 64, device='meta')])\n"
        "assert seen.crash is None, seen.crash\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_meta_yolov4_verify_and_resolutions_import_no_sympy():
    """Python meta kernels that call torch._check import sympy (0.3 s): max pool and upsample no longer do."""
    code = (
        "import sys\n"
        "from archcheck.cli import main\n"
        "assert main(['verify', 'specs/yolov4.yaml', '--devices', 'meta', '--case', 'B=1,H=64,W=64']) == 0\n"
        "from archcheck.sizes import resolutions\n"
        "resolutions('specs/yolov4.yaml', ['H'], (60, 70))\n"  # cats of mismatched sizes: torch's error, FastMeta's speed
        "print(sorted(m for m in ('sympy', 'torch._dynamo', 'hypothesis', 'graphviz') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"  # nor hypothesis nor graphviz: imported by the commands that use them


def same_as_torch(call):  # type: ignore[no-untyped-def]
    """``call`` gives torch's layout under FastMeta, or raises torch's own error."""
    try:
        expected = call()
    except Exception as plain:  # noqa: BLE001 - torch's error, whatever its type
        with FastMeta(), pytest.raises(Exception) as fast:
            call()
        assert (type(fast.value), str(fast.value)) == (type(plain), str(plain))
        return
    with FastMeta():
        got = call()
    assert layout(got) == layout(expected)


def channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.to(memory_format=torch.channels_last)


MAPS = {
    "contiguous": meta(2, 6, 9, 10),
    "channels_last": channels_last(meta(2, 6, 9, 10)),
    "3d": meta(6, 7, 8),
    "1x1": meta(1, 4, 1, 1),
    "channels_last 1x1": channels_last(meta(1, 4, 1, 1)),
    "float16": meta(2, 6, 9, 10, dtype=torch.float16),
    "transposed": meta(2, 6, 10, 9).transpose(2, 3),
    "permuted": meta(2, 9, 10, 6).permute(0, 3, 1, 2),
}
AVG_POOLS = [  # kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    (k, s, p, c, i, d)
    for k in (1, 2, 3, (3, 2))
    for s in (None, 1, 2, (3, 1))
    for p in (0, 1, (1, 0))
    for c in (False, True)
    for i in (False, True)
    for d in (None, 3)
]


@pytest.mark.parametrize("x", MAPS)
def test_avg_pool_sizes_are_torchs(x):
    for kernel, stride, padding, ceil_mode, include, divisor in AVG_POOLS:
        same_as_torch(lambda: F.avg_pool2d(MAPS[x], kernel, stride, padding, ceil_mode, include, divisor))


@pytest.mark.parametrize("x", MAPS)
@pytest.mark.parametrize("size", [1, 3, (4, 7), (9, 10), (13, 5), (1, 2)])
def test_adaptive_avg_pool_sizes_are_torchs(x, size):  # 1: a mean over H and W
    same_as_torch(lambda: F.adaptive_avg_pool2d(MAPS[x], size))


MATRICES = {
    "plain": (meta(5, 7), meta(7, 3)),
    "transposed left": (meta(7, 5).t(), meta(7, 3)),
    "transposed right": (meta(5, 7), meta(3, 7).t()),
    "strided": (meta(5, 14)[:, ::2], meta(7, 6)[:, 1::2]),
    "float16": (meta(5, 7, dtype=torch.float16), meta(7, 3, dtype=torch.float16)),
    "empty": (meta(0, 7), meta(7, 3)),
    "mismatch": (meta(5, 7), meta(6, 3)),
    "dtypes": (meta(5, 7), meta(7, 3, dtype=torch.float16)),
    "3d": (meta(5, 7, 1), meta(7, 3)),
}


@pytest.mark.parametrize("pair", MATRICES)
def test_matrix_products_are_torchs(pair):
    a, b = MATRICES[pair]
    same_as_torch(lambda: torch.mm(a, b))
    for bias in (meta(3), meta(1), meta(5, 3), meta(1, 3), meta(5, 1), meta(4), meta(2, 5, 3), meta(3, dtype=torch.float64)):
        same_as_torch(lambda: torch.addmm(bias, a, b))
        same_as_torch(lambda: torch.addmm(bias, a, b, beta=0.5, alpha=2))
    if a.dim() == 2 and b.dim() == 2:
        same_as_torch(lambda: torch.bmm(a.expand(4, *a.shape), b.expand(4, *b.shape)))
        same_as_torch(lambda: torch.bmm(a.unsqueeze(0).expand(4, *a.shape), b.expand(3, *b.shape)))
    same_as_torch(lambda: F.linear(meta(2, 5, 7), meta(3, 7), meta(3)))


@pytest.mark.parametrize("x", MAPS)
def test_means_are_torchs(x):
    for dims in ([-1, -2], [2, 3], [1], [0, 2], [-1], [3, -1], [4], []):
        for keepdim in (False, True):
            same_as_torch(lambda: MAPS[x].mean(dims, keepdim=keepdim))
    same_as_torch(lambda: MAPS[x].mean([-1], dtype=torch.float64))


@pytest.mark.parametrize("x", MAPS)
def test_softmaxes_are_torchs(x):
    for dim in (0, 1, -1, 3, 4, -5):
        same_as_torch(lambda: MAPS[x].softmax(dim))
        same_as_torch(lambda: MAPS[x].log_softmax(dim))
        same_as_torch(lambda: aten._safe_softmax(MAPS[x], dim))
    same_as_torch(lambda: MAPS[x].softmax(-1, dtype=torch.float64))
    same_as_torch(lambda: aten._softmax(MAPS[x], -1, True))


@pytest.mark.parametrize("x", MAPS)
def test_elementwise_broadcasts_and_in_place_ops_are_torchs(x):
    x = MAPS[x]
    others = [meta(*x.shape[1:]), meta(x.shape[-1]), meta(1, *x.shape[1:2], *[1] * (x.dim() - 2)), meta(1), meta(3), meta(*x.shape, 1), meta(()), meta(x.shape[-1], dtype=torch.float64)]
    for other in others:
        for op in (torch.add, torch.sub, torch.mul, torch.div):
            same_as_torch(lambda: op(x, other))
            same_as_torch(lambda: op(other, x))
        for name in ("add_", "sub_", "mul_", "div_"):
            same_as_torch(lambda: getattr(x.clone(), name)(other))
    for number in (2, 0.5, True):
        same_as_torch(lambda: x * number)
        same_as_torch(lambda: x + number)
        same_as_torch(lambda: x.clone().div_(number))
    for name in ("hardswish_", "hardsigmoid_", "silu_", "sigmoid_", "tanh_", "mish_"):
        op = getattr(torch.ops.aten, name)
        same_as_torch(lambda: op(x.clone()))


@pytest.mark.parametrize("x", [meta(2, 8, 5, 7), meta(2, 8, 5), meta(3, 8), meta(2, 8, 5, 7, dtype=torch.float16), channels_last(meta(2, 8, 5, 7))], ids=["4d", "3d", "2d", "float16", "channels_last"])
@pytest.mark.parametrize("groups", [1, 2, 4, 8, 3])
def test_group_norm_is_torchs(x, groups):
    same_as_torch(lambda: F.group_norm(x, groups, meta(8, dtype=x.dtype), meta(8, dtype=x.dtype)))
    same_as_torch(lambda: F.group_norm(x, groups))
    same_as_torch(lambda: aten.native_group_norm(x, None, None, x.shape[0], 8, x[0, 0].numel(), groups, 1e-5))
    same_as_torch(lambda: F.group_norm(x, groups, meta(7, dtype=x.dtype), None))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("x", ["contiguous", "channels_last", "1x1", "channels_last 1x1", "float16"])
def test_bilinear_and_bicubic_upsampling_are_torchs(x, mode):
    for align_corners in (False, True):
        for size in (None, (1, 1), (7, 3), (26, 26)):
            for scale in ((None, 2, 1.5, (2, 0.5)) if size is None else (None,)):
                same_as_torch(lambda: F.interpolate(MAPS[x], size=size, scale_factor=scale, mode=mode, align_corners=align_corners))
    same_as_torch(lambda: aten.upsample_bilinear2d(MAPS[x], [0, 4], False))


@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("mask", [None, "bool", "float", "broadcast"])
@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_scaled_dot_product_attention_is_torchs(is_causal, mask, dropout):
    q, k, v = meta(2, 4, 16, 8), meta(2, 4, 12, 8), meta(2, 4, 12, 6)
    masks = {None: None, "bool": torch.empty(16, 12, dtype=torch.bool, device="meta"), "float": meta(2, 4, 16, 12), "broadcast": meta(1, 1, 16, 12)}
    if is_causal and mask is not None:
        return  # torch refuses both at once: covered by its own tests
    for args in ((q, k, v), (q.transpose(1, 2).contiguous().transpose(1, 2), k, v), (q[..., :4], k[..., :4], v)):
        same_as_torch(lambda: F.scaled_dot_product_attention(*args, attn_mask=masks[mask], dropout_p=dropout, is_causal=is_causal))


CORPUS_INPUTS = {  # each model's input; RegNet's __init__ reads widths with .tolist(), so it is built on CPU
    "mobilenetv3": "torch.empty(1, 3, 64, 64, device='meta')",
    "efficientnet": "torch.empty(1, 3, 64, 64, device='meta')",
    "regnet": "torch.empty(1, 3, 64, 64, device='meta')",
    "convnext": "torch.empty(1, 3, 64, 64, device='meta')",
    "vit": "torch.empty(1, 3, 32, 32, device='meta')",
    "swin": "torch.empty(1, 3, 32, 32, device='meta')",
    "lstm_tagger": "torch.empty(2, 10, dtype=torch.long, device='meta')",
}


@pytest.mark.parametrize("factory", CORPUS_INPUTS)
def test_a_meta_corpus_build_and_forward_import_neither_sympy_nor_dynamo(factory):
    """Built on meta as archcheck builds (within FastMeta), then observed: linear layers, means, in-place
    activations, broadcast products, channels-last convolutions, attention's softmax and matrix products,
    Swin's index arithmetic, masks and rolls, the LSTM's gates: all answered by shape."""
    models = Path(__file__).resolve().parents[1] / "models"
    build = f"{factory}().eval().to('meta')" if factory == "regnet" else f"built_on_meta({factory})"
    code = (
        f"import sys; sys.path.insert(0, {str(models)!r})\n"
        "import torch\n"
        f"from corpus.{factory} import {factory}\n"
        "from archcheck.observe.fastmeta import FastMeta\n"
        "from archcheck.observe.trace import observe\n"
        "def built_on_meta(factory):\n"
        "    with torch.device('meta'), FastMeta():\n"
        "        return factory().eval()\n"
        f"model = {build}\n"
        f"seen = observe(model, [{CORPUS_INPUTS[factory]}])\n"
        "assert seen.crash is None, seen.crash\n"
        "print(sorted(m for m in ('sympy', 'torch._dynamo') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


LAYOUTS = {  # each (2, 6, 4, 5) or broadcastable to it
    "contiguous": meta(2, 6, 4, 5),
    "channels_last": channels_last(meta(2, 6, 4, 5)),
    "permuted": meta(4, 2, 5, 6).permute(1, 3, 0, 2),
    "sliced": meta(2, 12, 4, 5)[:, ::2],
    "sliced last": meta(2, 6, 4, 10)[..., 3:8],
    "expanded": meta(1, 6, 1, 1).expand(2, 6, 4, 5),
    "per channel": meta(1, 6, 1, 1),
    "per channel, channels_last": channels_last(meta(1, 6, 1, 1)),
    "rows": meta(4, 5),
    "transposed rows": meta(5, 4).t(),
    "odd size-1 strides": meta(2, 1, 4, 5).as_strided((2, 6, 4, 5), (120, 20, 5, 1))[:, :1],
    "scalar": meta(()),
    "empty": meta(0, 6, 4, 5),
}


@pytest.mark.parametrize("left", LAYOUTS)
def test_elementwise_strides_over_layouts_are_torchs(left):
    """Output strides follow torch's rule over both operands' layouts (its order of dims, broadcast dims aside)."""
    a = LAYOUTS[left]
    for b in LAYOUTS.values():
        for op in (torch.add, torch.mul):
            same_as_torch(lambda: op(a, b))
    same_as_torch(lambda: a * 0.5)
    same_as_torch(lambda: torch.sigmoid(a))
    same_as_torch(lambda: F.silu(a))


@pytest.mark.parametrize("x", ["contiguous", "channels_last", "transposed", "1x1", "channels_last 1x1"])
def test_convolutions_of_any_layout_are_torchs(x):
    x = MAPS[x]
    channels = x.shape[1]
    for weight in (meta(8, channels, 3, 3), channels_last(meta(8, channels, 3, 3)), meta(channels, 1, 7, 7), channels_last(meta(channels, 1, 2, 2))):
        groups = channels // weight.shape[1]
        same_as_torch(lambda: F.conv2d(x, weight, None, 1, 1, 1, groups))
        same_as_torch(lambda: F.conv2d(x, weight, meta(weight.shape[0]), 2, 3, 1, groups))


@pytest.mark.parametrize("first", ["contiguous", "channels_last", "permuted", "sliced", "expanded", "per channel, channels_last"])
def test_cats_of_any_layout_are_torchs(first):
    a = LAYOUTS[first]
    for b in (LAYOUTS["contiguous"], LAYOUTS["channels_last"], LAYOUTS["permuted"], meta(2, 3, 4, 5), channels_last(meta(2, 3, 4, 5))):
        for dim in (1, 0, -1):
            same_as_torch(lambda: torch.cat([a, b], dim))
    same_as_torch(lambda: torch.cat([meta(1, 1, 32).expand(2, 1, 32), meta(2, 32, 16).transpose(1, 2)], 1))  # ViT's class token


@pytest.mark.parametrize("x", MAPS)
def test_amax_amin_and_comparisons_are_torchs(x):
    x = MAPS[x]
    for dims in ([], [-1], [1, 2], [0, -1], [4], [1, 1]):
        for keepdim in (False, True):
            same_as_torch(lambda: x.amax(dims, keepdim))
            same_as_torch(lambda: x.amin(dims, keepdim))
    same_as_torch(lambda: meta(0, 3).amax(0))
    same_as_torch(lambda: meta(0, 3).amax(1))
    for number in (0.5, 1, True):
        same_as_torch(lambda: x > number)
        same_as_torch(lambda: x <= number)
        same_as_torch(lambda: x == number)


@pytest.mark.parametrize("x", ["contiguous", "channels_last", "transposed", "1x1", "float16"])
def test_stacks_are_torchs(x):
    x = MAPS[x]
    for dim in (0, 1, -1, x.dim(), -x.dim() - 1, x.dim() + 1):
        same_as_torch(lambda: torch.stack([x, x, x], dim))
        same_as_torch(lambda: torch.stack([x], dim=dim))
    same_as_torch(lambda: torch.stack([x, x[:1]]))
    same_as_torch(lambda: torch.stack([x, x[:1].expand(x.shape)]))
    same_as_torch(lambda: torch.stack([x, x.double()]))
    same_as_torch(lambda: torch.stack([]))


@pytest.mark.parametrize("indices", [(2, 10), (7,), (), (3, 0)])
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.float32])
def test_embeddings_are_torchs(indices, dtype):
    tokens = torch.empty(indices, dtype=dtype, device="meta")
    same_as_torch(lambda: F.embedding(tokens, meta(100, 16)))
    same_as_torch(lambda: F.embedding(tokens, meta(100, 16), padding_idx=0))
    same_as_torch(lambda: F.embedding(tokens, meta(100, 16, 2)))
    same_as_torch(lambda: F.embedding(tokens.t() if tokens.dim() == 2 else tokens, meta(16, 100).t()))


@pytest.mark.parametrize("x", [name for name in LAYOUTS if name != "scalar"])
def test_reductions_of_any_layout_are_torchs(x):
    x = LAYOUTS[x]
    for dims in ([-1], [1], [2, 3], [0, 2]):
        for keepdim in (False, True):
            same_as_torch(lambda: x.mean(dims, keepdim))
            same_as_torch(lambda: x.amax(dims, keepdim))


@pytest.mark.parametrize("x", ["contiguous", "channels_last", "transposed", "1x1", "float16"])
def test_topk_is_torchs(x):
    x = MAPS[x]
    for k in (0, 1, 3, 9, 10, 11):
        for dim in (-1, 0, 2, 4):
            same_as_torch(lambda: x.topk(k, dim))
            same_as_torch(lambda: x.topk(k, dim, largest=False, sorted=False))
    same_as_torch(lambda: x.flatten(1).topk(10))
    same_as_torch(lambda: meta(()).topk(1))
    same_as_torch(lambda: meta(()).topk(2))


def test_index_arithmetic_is_torchs():
    """Integer tensors added, subtracted, multiplied (Swin's relative position index, built on meta)."""
    ints = [torch.empty(shape, dtype=dtype, device="meta") for shape in ((2, 7, 7), (2, 49)) for dtype in (torch.int64, torch.int32)]
    for a in ints:
        for b in (a, a.transpose(-1, -2), a[:, :, None], a[:1], 3, 0.5, a.float(), torch.empty((), dtype=torch.int64, device="meta")):
            for op in (torch.add, torch.sub, torch.mul):
                same_as_torch(lambda: op(a, b))
            same_as_torch(lambda: torch.add(a, b, alpha=2))
            same_as_torch(lambda: torch.add(a, b, alpha=0.5))
    for end in (7, 0, -1, 2.5):
        same_as_torch(lambda: torch.arange(end, device="meta"))
        same_as_torch(lambda: torch.arange(end, device="meta", dtype=torch.int32))
    with torch.device("meta"):
        same_as_torch(lambda: torch.arange(5))
        for grid in (torch.meshgrid(torch.arange(7), torch.arange(5), indexing="ij"), torch.meshgrid(torch.arange(7), torch.arange(5), indexing="xy")):
            for dim in (0, 1, -1):
                same_as_torch(lambda: torch.stack(grid, dim))
        expanded = meta(1, 5, 1).expand(3, 5, 4)
        same_as_torch(lambda: torch.stack([expanded, expanded], 1))
        same_as_torch(lambda: torch.stack([expanded, meta(3, 5, 4)], -1))


@pytest.mark.parametrize("x", LAYOUTS)
def test_masked_fills_are_torchs(x):
    x = LAYOUTS[x]
    for mask in (x > 0, (x > 0).transpose(-1, -2) if x.dim() > 1 else x > 0, meta(5) > 0, meta(4, 1) > 0, meta(2, 6, 4, 5) > 0, meta(5, 4).t() > 0, meta(2, 6, 4, 5, 1) > 0, meta(5)):
        for value in (-100.0, 0, True):
            same_as_torch(lambda: x.masked_fill(mask, value))


@pytest.mark.parametrize("x", LAYOUTS)
def test_row_gathers_are_torchs(x):
    """``table[index]``: Swin's relative-position bias, an embedding by hand."""
    x = LAYOUTS[x]
    for index in ((7,), (3, 4), (), (0,)):
        for dtype in (torch.int64, torch.int32, torch.bool, torch.uint8):
            rows = torch.empty(index, dtype=dtype, device="meta")
            same_as_torch(lambda: x[rows])
    same_as_torch(lambda: x[torch.empty(3, 4, dtype=torch.int64, device="meta").t()])


@pytest.mark.parametrize("x", LAYOUTS)
def test_rolls_are_torchs(x):
    x = LAYOUTS[x]
    for shifts, dims in (((-2, -2), (1, 2)), (3, 0), ((1,), (-1,)), ((1, 2), (0,)), ((1,), (4,)), (5, None), ((1, 1), (1, 1))):
        same_as_torch(lambda: torch.roll(x, shifts, dims))


@pytest.mark.parametrize("x", LAYOUTS)
def test_triangles_and_wheres_are_torchs(x):
    """A causal mask: ``ones(L, S, bool).tril()``, then ``where(mask, 0, -inf)``."""
    x = LAYOUTS[x]
    for diagonal in (0, 1, -2):
        same_as_torch(lambda: x.tril(diagonal))
        same_as_torch(lambda: (x > 0).triu(diagonal))
    zero, minus = torch.zeros((), device="meta"), torch.full((), float("-inf"), device="meta")
    for condition in (x > 0, meta(5) > 0, meta(4, 1) > 0, (meta(5, 4) > 0).t(), meta(3) > 0):
        same_as_torch(lambda: torch.where(condition, zero, minus))
        same_as_torch(lambda: torch.where(condition, x, minus))
        same_as_torch(lambda: torch.where(condition, meta(4, 5), x))
        same_as_torch(lambda: torch.where(condition, x, x.double()))


@pytest.mark.parametrize("x", LAYOUTS)
def test_empty_likes_are_torchs(x):
    """SDPA's dropout mask starts as ``empty_like`` its attention."""
    x = LAYOUTS[x]
    same_as_torch(lambda: torch.empty_like(x))
    same_as_torch(lambda: torch.empty_like(x > 0))
    same_as_torch(lambda: torch.empty_like(x, dtype=torch.float16))
    same_as_torch(lambda: torch.empty_like(x, memory_format=torch.contiguous_format))
