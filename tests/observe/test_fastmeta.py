"""FastMeta answers slow meta ops by shape: the same shape, strides and dtype as torch's own
meta kernels; anything malformed goes to torch, so the error is torch's."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from archcheck.observe.fastmeta import FastMeta

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
    "layer_norm": lambda x: aten.native_layer_norm(x, list(x.shape[-2:]), meta(*x.shape[-2:]), None, 1e-5),
    "cat": lambda x: torch.cat([x, x, x], dim=1),
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
    "call",
    [
        lambda: aten.native_batch_norm(meta(2, 8, 4, 4), meta(7), None, meta(8), meta(8), False, 0.1, 1e-5),
        lambda: torch.cat([meta(2, 8, 4, 4), meta(2, 8, 5, 5)], dim=1),
        lambda: F.conv2d(meta(1, 3, 8, 8), meta(4, 5, 3, 3)),
        lambda: F.conv2d(meta(1, 3, 2, 2), meta(4, 3, 3, 3)),
        lambda: aten.native_layer_norm(meta(2, 5), [7], None, None, 1e-5),
    ],
    ids=["batch_norm weight", "cat sizes", "conv channels", "conv too small", "layer_norm shape"],
)
def test_a_malformed_op_raises_torchs_error(call):
    with pytest.raises(RuntimeError) as plain:
        call()
    with FastMeta(), pytest.raises(RuntimeError) as fast:
        call()
    assert str(fast.value) == str(plain.value)


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
