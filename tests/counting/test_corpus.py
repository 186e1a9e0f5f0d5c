"""The counting corpus: real-structured vision and sequence models, each counted by archcheck and
checked against parameters and MACs derived by hand from the model's layer sizes (the arithmetic
below never calls archcheck), with nothing left uncounted (the ``--strict`` condition).

Each model is counted where it can be built: on the meta device when its ``__init__`` runs there,
else built on CPU and moved with ``.to('meta')`` (RegNet: its widths come from ``.tolist()``); the
DETR-style detector runs data-dependent post-processing (a boolean mask, ``nonzero``) that has no
values on meta, so it is counted on CPU.
"""

from __future__ import annotations

import pytest
import torch
from corpus import (
    convnext,
    detr,
    efficientnet,
    lstm_tagger,
    mobilenetv3,
    regnet,
    swin,
    vit,
)

from archcheck.counting import count_model


class Expect:
    """Parameters and MACs summed layer by layer from sizes, by the textbook formulas."""

    def __init__(self) -> None:
        self.params = 0
        self.macs = 0

    def conv(self, cin: int, cout: int, k: int, size_in: int, stride: int = 1, padding: int = 0, groups: int = 1, bias: bool = False) -> int:
        """k x k conv on a square map; returns the output size. MACs: k*k*cin/groups*cout*Hout*Wout."""
        out = (size_in + 2 * padding - k) // stride + 1
        self.params += k * k * cin // groups * cout + (cout if bias else 0)
        self.macs += k * k * cin // groups * cout * out * out
        return out

    def linear(self, fin: int, fout: int, rows: int = 1, bias: bool = True) -> None:
        self.params += fin * fout + (fout if bias else 0)
        self.macs += rows * fin * fout

    def norm(self, channels: int) -> None:  # batch norm or layer norm: weight and bias
        self.params += 2 * channels

    def weights(self, n: int) -> None:  # a bare parameter (token, table, layer scale)
        self.params += n

    def attention(self, batch_heads: int, lq: int, lk: int, d: int) -> None:  # QK^T and AV
        self.macs += 2 * batch_heads * lq * lk * d


def meta_input(*shape: int) -> torch.Tensor:
    return torch.empty(*shape, device="meta")


def on_meta(factory):
    with torch.device("meta"):
        return factory().eval()


def counted(model, x):
    result = count_model(model, (x,))
    assert result.uncounted == (), [(u.op, u.calls, u.module) for u in result.uncounted]
    return result.total


def test_mobilenetv3():
    e = Expect()
    size = e.conv(3, 16, 3, 64, stride=2, padding=1)
    e.norm(16)
    for cin, expanded, cout, k, stride, se, _ in mobilenetv3.BLOCKS:
        if expanded != cin:
            e.conv(cin, expanded, 1, size)
            e.norm(expanded)
        size = e.conv(expanded, expanded, k, size, stride, k // 2, groups=expanded)
        e.norm(expanded)
        if se:
            squeezed = mobilenetv3.make_divisible(expanded // 4)
            e.conv(expanded, squeezed, 1, 1, bias=True)
            e.conv(squeezed, expanded, 1, 1, bias=True)
        e.conv(expanded, cout, 1, size)
        e.norm(cout)
    e.conv(40, 96, 1, size)
    e.norm(96)
    e.linear(96, 128)
    e.linear(128, 10)
    total = counted(on_meta(mobilenetv3.mobilenetv3), meta_input(1, 3, 64, 64))
    assert (total.params.total, total.compute.macs) == (e.params, e.macs) == (40_562, 1_531_904)


def test_efficientnet():
    e = Expect()
    size = e.conv(3, 16, 3, 64, stride=2, padding=1)
    e.norm(16)
    for cin, cout, ratio, k, stride in efficientnet.BLOCKS:
        expanded = cin * ratio
        if ratio != 1:
            e.conv(cin, expanded, 1, size)
            e.norm(expanded)
        size = e.conv(expanded, expanded, k, size, stride, k // 2, groups=expanded)
        e.norm(expanded)
        squeezed = max(1, cin // 4)
        e.conv(expanded, squeezed, 1, 1, bias=True)
        e.conv(squeezed, expanded, 1, 1, bias=True)
        e.conv(expanded, cout, 1, size)
        e.norm(cout)
    e.conv(40, 128, 1, size)
    e.norm(128)
    e.linear(128, 10)
    total = counted(on_meta(efficientnet.efficientnet), meta_input(1, 3, 64, 64))
    assert (total.params.total, total.compute.macs) == (e.params, e.macs) == (39_806, 7_154_176)


def test_convnext():
    e = Expect()
    dims = (24, 48)
    size = e.conv(3, dims[0], 4, 64, stride=4, bias=True)  # 16 x 16
    e.norm(dims[0])
    for index, dim in enumerate(dims):
        if index:
            e.norm(dims[index - 1])
            size = e.conv(dims[index - 1], dim, 2, size, stride=2, bias=True)
        e.conv(dim, dim, 7, size, padding=3, groups=dim, bias=True)  # depthwise 7x7
        e.norm(dim)  # channels-last LayerNorm
        e.linear(dim, 4 * dim, rows=size * size)
        e.linear(4 * dim, dim, rows=size * size)
        e.weights(dim)  # layer scale gamma
    e.norm(dims[-1])
    e.linear(dims[-1], 10)
    total = counted(on_meta(convnext.convnext), meta_input(1, 3, 64, 64))
    assert (total.params.total, total.compute.macs) == (e.params, e.macs) == (33_730, 3_401_184)


def test_swin():
    e = Expect()
    dim, window, heads = 16, 4, 2
    size = e.conv(3, dim, 4, 32, stride=4, bias=True)  # 8 x 8 tokens
    e.norm(dim)
    tokens, windows, n = size * size, (size // window) ** 2, window * window
    for _ in range(2):  # a plain and a shifted block: the same cost (roll and the mask add are 'other')
        e.norm(dim)
        e.weights((2 * window - 1) ** 2 * heads)  # relative position bias table
        e.linear(dim, 3 * dim, rows=tokens)
        e.attention(windows * heads, n, n, dim // heads)
        e.linear(dim, dim, rows=tokens)
        e.norm(dim)
        e.linear(dim, 4 * dim, rows=tokens)
        e.linear(4 * dim, dim, rows=tokens)
    e.norm(dim)
    e.linear(dim, 10)
    total = counted(on_meta(swin.swin), meta_input(1, 3, 32, 32))
    assert (total.params.total, total.compute.macs) == (e.params, e.macs) == (7_774, 508_064)


def test_regnet_builds_on_cpu_only_and_counts_after_moving_to_meta():
    with pytest.raises(Exception), torch.device("meta"):  # .tolist() of a meta tensor has no values
        regnet.regnet()
    plan = regnet.stage_plan()
    assert plan == [(16, 1), (32, 3)]  # widths 16 + 8i snapped to 16 * 2^round(log2(.)): 16, 32, 32, 32
    e = Expect()
    size = e.conv(3, 16, 3, 64, stride=2, padding=1)
    e.norm(16)
    cin = 16
    for width, blocks in plan:
        for i in range(blocks):
            stride, c_in = (2, cin) if i == 0 else (1, width)
            e.conv(c_in, width, 1, size)
            e.norm(width)
            out = e.conv(width, width, 3, size, stride, 1, groups=width // 8)
            e.norm(width)
            e.conv(width, width, 1, out)
            e.norm(width)
            if stride != 1 or c_in != width:
                e.conv(c_in, width, 1, size, stride)
                e.norm(width)
            size = out
        cin = width
    e.linear(cin, 10)
    total = counted(regnet.regnet().eval().to("meta"), meta_input(1, 3, 64, 64))
    assert (total.params.total, total.compute.macs) == (e.params, e.macs) == (16_538, 2_064_704)


def test_lstm_tagger():
    e = Expect()
    batch, steps, vocab, embed, hidden, tags = 2, 10, 100, 16, 24, 7
    e.weights(vocab * embed)  # an embedding is a lookup: parameters, no MACs
    for _ in range(2):  # two directions: 4 gates x hidden x (input + hidden) per step and row
        e.params += 4 * hidden * (embed + hidden) + 2 * 4 * hidden  # w_ih, w_hh, b_ih, b_hh
        e.macs += batch * steps * 4 * hidden * (embed + hidden)
    e.linear(2 * hidden, tags, rows=batch * steps)
    tokens = torch.empty(batch, steps, dtype=torch.long, device="meta")
    total = counted(on_meta(lstm_tagger.lstm_tagger), tokens)
    assert (total.params.total, total.compute.macs) == (e.params, e.macs) == (10_007, 160_320)
    # the same numbers on CPU, where the LSTM runs as oneDNN's fused mkldnn_rnn_layer
    cpu = counted(lstm_tagger.lstm_tagger().eval(), torch.zeros(batch, steps, dtype=torch.long))
    assert cpu.compute == total.compute


def test_vit():
    e = Expect()
    dim, heads, mlp, depth = 32, 4, 64, 2
    size = e.conv(3, dim, 8, 32, stride=8, bias=True)  # 4 x 4 patches
    tokens = size * size + 1  # and the class token
    e.weights(dim + tokens * dim)  # class token, position embeddings
    for _ in range(depth):
        e.norm(dim)
        e.linear(dim, 3 * dim, rows=tokens)  # in_proj
        e.attention(heads, tokens, tokens, dim // heads)
        e.linear(dim, dim, rows=tokens)  # out_proj
        e.norm(dim)
        e.linear(dim, mlp, rows=tokens)
        e.linear(mlp, dim, rows=tokens)
    e.norm(dim)
    e.linear(dim, 10)
    total = counted(on_meta(vit.vit), meta_input(1, 3, 32, 32))
    assert (total.params.total, total.compute.macs) == (e.params, e.macs) == (24_234, 414_144)


def test_detr_counts_on_cpu_with_data_dependent_post_processing():
    e = Expect()
    size = e.conv(3, 16, 3, 64, stride=2, padding=1)
    e.norm(16)
    size = e.conv(16, 32, 3, size, stride=2, padding=1)
    e.norm(32)
    e.conv(32, 5, 1, size, bias=True)
    e.conv(32, 32, 3, size, padding=1, bias=True)
    e.conv(32, 4, 1, size, bias=True)
    torch.manual_seed(0)
    model = detr.detr().eval()
    with pytest.raises(Exception):  # on meta the boolean mask has no values: nonzero cannot run
        count_model(model.to("meta"), (meta_input(1, 3, 64, 64),))
    model = detr.detr().eval()
    total = counted(model, torch.randn(1, 3, 64, 64))
    assert (total.params.total, total.compute.macs) == (e.params, e.macs) == (14_681, 4_055_040)
    # the post-processing is costed whatever the values: sigmoid, amax, the mask compare, nonzero, topk
    anchors = size * size
    post = count_model(model, (torch.randn(1, 3, 64, 64),)).kinds
    sort = next(k for k in post if k.kind == "sort")
    assert sort.calls == 2 and sort.compute.other == anchors + anchors * 5  # nonzero of the mask, topk of the scores
