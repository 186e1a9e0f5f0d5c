"""One tiny module per cost-rule family, with pinned numbers, on the meta device and on CPU."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from archcheck.counting import Tally, count_model
from archcheck.counting.ops import FAMILIES, family_of

N = 1 * 4 * 6 * 6  # elements of the input x: (1, 4, 6, 6)


class Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def run(fn, device: str, shape=(1, 4, 6, 6)):
    x = torch.empty(*shape, device=device) if device == "meta" else torch.rand(*shape) + 0.1
    counted = count_model(Fn(fn), (x,))
    assert counted.uncounted == (), counted.uncounted
    return counted


def ones(*shape, device):
    return torch.ones(*shape, device=device)


# name -> (function of x and the device, expected Tally, the kind that carries it)
CASES = {
    # activations, out of place and in place (clone is free)
    "hardswish": (lambda x, d: F.hardswish(x), Tally(other=N), "activation"),
    "hardswish_": (lambda x, d: F.hardswish(x.clone(), inplace=True), Tally(other=N), "activation"),
    "hardsigmoid_": (lambda x, d: F.hardsigmoid(x.clone(), inplace=True), Tally(other=N), "activation"),
    "silu": (lambda x, d: F.silu(x), Tally(other=N), "activation"),
    "gelu tanh": (lambda x, d: F.gelu(x, approximate="tanh"), Tally(other=N), "activation"),
    "mish": (lambda x, d: F.mish(x), Tally(other=N), "activation"),
    "elu_": (lambda x, d: F.elu(x.clone(), inplace=True), Tally(other=N), "activation"),
    "leaky_relu_": (lambda x, d: F.leaky_relu(x.clone(), inplace=True), Tally(other=N), "activation"),
    "relu6": (lambda x, d: F.relu6(x), Tally(other=N), "activation"),
    "softplus": (lambda x, d: F.softplus(x), Tally(other=N), "activation"),
    "logsigmoid": (lambda x, d: F.logsigmoid(x), Tally(other=N), "activation"),
    "glu": (lambda x, d: F.glu(x, 1), Tally(other=N // 2), "activation"),
    "prelu": (lambda x, d: F.prelu(x, ones(4, device=d)), Tally(other=N), "activation"),
    # norms in every layout
    "batch norm eval": (lambda x, d: F.batch_norm(x, ones(4, device=d), ones(4, device=d)), Tally(other=N), "norm"),
    "batch norm train": (lambda x, d: F.batch_norm(x, ones(4, device=d), ones(4, device=d), training=True), Tally(other=N), "norm"),
    "layer norm channels-last": (lambda x, d: F.layer_norm(x.permute(0, 2, 3, 1), (4,)), Tally(other=N), "norm"),
    "group norm": (lambda x, d: F.group_norm(x, 2), Tally(other=N), "norm"),
    "instance norm": (lambda x, d: F.instance_norm(x), Tally(other=N), "norm"),
    "rms norm": (lambda x, d: F.rms_norm(x, (6,)), None, None),  # decomposes differently per device; no uncounted
    # pools
    "adaptive avg pool": (lambda x, d: F.adaptive_avg_pool2d(x, 3), Tally(other=36), "pool"),
    "adaptive max pool": (lambda x, d: F.adaptive_max_pool2d(x, 2), Tally(other=16), "pool"),
    "max pool 2 with indices": (lambda x, d: F.max_pool2d(x, 2, return_indices=True)[0], Tally(other=36, darknet_extra=4 * 36), "pool"),
    # interpolation, grid sampling, affine grid
    "nearest": (lambda x, d: F.interpolate(x, scale_factor=2), Tally(other=4 * N), "upsample"),
    "bilinear": (lambda x, d: F.interpolate(x, scale_factor=2, mode="bilinear"), Tally(other=4 * N), "upsample"),
    "bicubic": (lambda x, d: F.interpolate(x, size=(9, 9), mode="bicubic", align_corners=True), Tally(other=4 * 81), "upsample"),
    "grid sample": (lambda x, d: F.grid_sample(x, torch.zeros(1, 5, 5, 2, device=d), align_corners=False), Tally(other=100), "upsample"),
    "affine grid": (lambda x, d: F.affine_grid(torch.zeros(1, 2, 3, device=d), [1, 4, 5, 5], align_corners=False), Tally(macs=50 * 3), "matmul"),
    # data movement is free
    "roll": (lambda x, d: torch.roll(x, (1, 1), (2, 3)), Tally(), "free"),
    "views": (lambda x, d: [x.view(-1), x.reshape(4, -1), x.permute(0, 2, 3, 1).contiguous(), x.expand(2, -1, -1, -1), x[:, 1:], x.unbind(1),
                            x.flatten(1).t(), x.transpose(1, 2), x.detach(), x.split(2, 1), torch.unsafe_split(x, 2, 1),
                            torch.unsafe_split_with_sizes(x, [1, 3], 1), x.clone().as_strided_((2, 2), (1, 1))], Tally(), "free"),
    "embedding": (lambda x, d: F.embedding(torch.zeros(3, dtype=torch.long, device=d), x.view(36, 4)), Tally(), "free"),
    # sort and select, one op per input element
    "sort": (lambda x, d: torch.sort(x, 1), Tally(other=N), "sort"),
    "argsort": (lambda x, d: torch.argsort(x, 1), Tally(other=N), "sort"),
    "topk": (lambda x, d: torch.topk(x.flatten(), 3), Tally(other=N), "sort"),
    "cumsum": (lambda x, d: torch.cumsum(x, 1), Tally(other=N), "scan"),
    # random draws, one op per element drawn
    "randn": (lambda x, d: torch.randn(3, 4, device=d), Tally(other=12), "random"),
    "normal_": (lambda x, d: x.clone().normal_(), Tally(other=N), "random"),
    "uniform_": (lambda x, d: x.clone().uniform_(), Tally(other=N), "random"),
    "randint": (lambda x, d: torch.randint(0, 5, (7,), device=d), Tally(other=7), "random"),
    "bernoulli": (lambda x, d: torch.bernoulli(torch.full_like(x, 0.5)), Tally(other=N), "random"),
    "dropout (train)": (lambda x, d: F.dropout(x, 0.5, True), Tally(other=3 * N), None),  # draw, scale, mul
    "dropout (eval)": (lambda x, d: F.dropout(x, 0.5, False), Tally(), None),
    # masks
    "tril": (lambda x, d: torch.tril(x), Tally(other=N), "pointwise"),
}


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("name", list(CASES))
def test_op_family(name, device):
    fn, expected, kind = CASES[name]
    counted = run(lambda x: fn(x, x.device), device)
    if expected is not None:
        assert counted.total.compute == expected
    if kind is not None:
        kinds = {k.kind: k.compute for k in counted.kinds}
        assert kinds[kind] == expected


def test_nonzero_is_one_op_per_input_element_on_cpu():
    counted = run(lambda x: torch.nonzero(x > 0.5), "cpu")
    assert counted.total.compute == Tally(other=N + N)  # the compare, then nonzero over its input


def test_max_unpool_costs_its_output():
    def fn(x):
        pooled, index = F.max_pool2d(x, 2, return_indices=True)
        return F.max_unpool2d(pooled, index, 2)

    for device in ("meta", "cpu"):
        assert run(fn, device).total.compute == Tally(other=36 + N, darknet_extra=4 * 36)


# attention: QK^T and AV = B*heads*Lq*Lk*(d + d_v) MACs (2*B*h*Lq*Lk*d when d_v = d)
B, H, LQ, LK, D = 2, 3, 5, 7, 8


def qkv(device):
    return (torch.ones(B, H, LQ, D, device=device), torch.ones(B, H, LK, D, device=device), torch.ones(B, H, LK, D, device=device))


@pytest.mark.parametrize("mask", ["none", "float", "bool", "causal"])
def test_sdpa_counts_the_same_on_meta_math_path_and_cpu_flash_kernel(mask):
    def fn(x):
        q, k, v = qkv(x.device)
        if mask == "causal":
            k, v = torch.ones(B, H, LQ, D, device=x.device), torch.ones(B, H, LQ, D, device=x.device)
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        attn = {"none": None, "float": torch.zeros(LQ, LK, device=x.device), "bool": torch.ones(LQ, LK, dtype=torch.bool, device=x.device)}[mask]
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn)

    meta, cpu = run(fn, "meta"), run(fn, "cpu")
    lk = LQ if mask == "causal" else LK
    assert meta.total.compute.macs == cpu.total.compute.macs == 2 * B * H * LQ * lk * D
    assert meta.total.compute == cpu.total.compute
    assert {k.kind for k in cpu.kinds if k.compute.macs} == {"attention"}  # _scaled_dot_product_flash_attention_for_cpu
    assert {k.kind for k in meta.kinds if k.compute.macs} == {"matmul"}  # the math path: two bmm


@pytest.mark.parametrize("op", ["_scaled_dot_product_flash_attention", "_scaled_dot_product_efficient_attention"])
def test_cuda_sdpa_kernels_on_meta(op):
    def fn(x):
        q, k, v = qkv(x.device)
        if op == "_scaled_dot_product_efficient_attention":
            return torch.ops.aten._scaled_dot_product_efficient_attention(q, k, v, None, False)[0]
        return torch.ops.aten._scaled_dot_product_flash_attention(q, k, v)[0]

    counted = run(fn, "meta")
    assert counted.total.compute.macs == 2 * B * H * LQ * LK * D  # torch's flop_counter: 2x this in FLOPs
    assert counted.total.compute.other == B * H * (LQ * D + LK * D + LQ * LK)


@pytest.mark.parametrize(("make", "gates"), [(lambda: nn.LSTM(6, 5, num_layers=2, bidirectional=True, batch_first=True), 4),
                                             (lambda: nn.GRU(6, 5, num_layers=2, bidirectional=True, batch_first=True), 3),
                                             (lambda: nn.RNN(6, 5, num_layers=2, bidirectional=True, batch_first=True), 1)])
def test_recurrent_layers_cost_their_gate_matmuls_on_meta_and_cpu(make, gates):
    rows, hidden = 2 * 3, 5  # batch 2, 3 steps
    layer0 = 2 * rows * gates * hidden * (6 + hidden)  # two directions
    layer1 = 2 * rows * gates * hidden * (2 * hidden + hidden)  # input: both directions' outputs
    results = []
    for device in ("meta", "cpu"):
        with torch.device(device):
            model = make().eval()
        x = torch.empty(2, 3, 6, device=device) if device == "meta" else torch.rand(2, 3, 6)
        counted = count_model(model, (x,))
        assert counted.uncounted == ()
        results.append(counted.total.compute)
    assert results[0].macs == layer0 + layer1
    assert results[0] == results[1]  # on CPU the LSTM is one fused mkldnn_rnn_layer per layer and direction


def test_recurrent_cells():
    for cell, gates in ((nn.LSTMCell(6, 5), 4), (nn.GRUCell(6, 5), 3), (nn.RNNCell(6, 5), 1)):
        counted = count_model(cell.to("meta"), (torch.empty(2, 6, device="meta"),))
        assert counted.uncounted == () and counted.total.compute.macs == 2 * gates * 5 * (6 + 5)


def test_every_family_has_ops_and_a_formula_and_no_op_is_in_two():
    assert all(f.packets and f.doc for f in FAMILIES)
    assert family_of(torch.ops.aten.hardswish_.default).name == "activation"
    assert family_of(torch.ops.aten._fft_r2c.default) is None  # unknown ops stay unknown


def meta(*shape):
    return torch.empty(*shape, device="meta")


@pytest.mark.parametrize(
    ("op", "args", "kwargs"),
    [
        (torch.ops.aten.convolution.default, (meta(2, 4, 9, 9), meta(8, 2, 3, 3), meta(8), [2, 2], [1, 1], [1, 1], False, [0, 0], 2), {}),
        (torch.ops.aten.convolution.default, (meta(2, 8, 5, 5), meta(8, 3, 3, 3), None, [2, 2], [1, 1], [1, 1], True, [1, 1], 1), {}),
        (torch.ops.aten.mm.default, (meta(5, 7), meta(7, 3)), {}),
        (torch.ops.aten.addmm.default, (meta(3), meta(5, 7), meta(7, 3)), {"beta": 2}),
        (torch.ops.aten.bmm.default, (meta(4, 5, 7), meta(4, 7, 3)), {}),
        (torch.ops.aten.baddbmm.default, (meta(4, 5, 3), meta(4, 5, 7), meta(4, 7, 3)), {}),
    ],
    ids=["conv-groups", "conv-transposed", "mm", "addmm", "bmm", "baddbmm"],
)
def test_torch_macs_is_flop_counters_number_halved(op, args, kwargs):
    """torch_macs hands torch's formula the shapes itself instead of through the registry's tree_map: the same number."""
    from torch.utils.flop_counter import flop_registry

    from archcheck.counting.ops import torch_macs

    out = op(*args, **kwargs)
    expected = flop_registry[op.overloadpacket](*args, **kwargs, out_val=out) // 2
    assert expected > 0 and torch_macs(op, args, kwargs, out) == expected
