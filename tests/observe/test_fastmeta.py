"""FastMeta answers slow meta ops by shape: the same shape, strides and dtype as torch's own
meta kernels; anything malformed goes to torch, so the error is torch's."""

from __future__ import annotations

import subprocess
import sys

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
