"""The --engine explanations: derived from the per-op and per-module differences, pinned."""

from __future__ import annotations

import pytest
import torch
from corpus import mobilenetv3
from torch import nn

from archcheck.counting import count_model
from archcheck.counting.engines import run_engine


def explain(engine, model, x):
    pytest.importorskip(engine)
    model = model.eval()
    return run_engine(engine, model, (x,), count_model(model, (x,)), None)


def test_torchinfo_linear_differs_by_exactly_its_bias():
    result = explain("torchinfo", nn.Sequential(nn.Linear(8, 4)), torch.rand(2, 8))
    assert result.total == 72
    assert result.reasons == (
        "Linear x1: torchinfo 72 vs archcheck 64 MACs (+8): bias counted as MACs +8",
        "torchinfo - archcheck MACs = +8: Linear +8",
    )


def test_torchinfo_linear_on_a_sequence_misses_the_sequence_dim():
    result = explain("torchinfo", nn.Sequential(nn.Linear(8, 4)), torch.rand(2, 5, 8))
    assert result.reasons[0] == (
        "Linear x1: torchinfo 72 vs archcheck 320 MACs (-248): bias counted as MACs +8; "
        "weights x the first output dim only -256 (misses the dims between batch and features)"
    )


def test_a_model_without_functional_code_is_not_said_to_miss_it():
    result = explain("torchinfo", nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), torch.rand(1, 3, 8, 8))
    assert not any("misses" in r for r in result.reasons)
    assert result.reasons == (
        "Conv2d x1: torchinfo 4,032 vs archcheck 3,888 MACs (+144): bias counted as MACs +144",
        "torchinfo - archcheck MACs = +144: Conv2d +144",
    )


def test_torchinfo_functional_code_is_named_with_its_ops_and_amounts():
    class Gram(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(8, 8, bias=False)

        def forward(self, x):
            y = self.proj(x)
            return torch.bmm(y, y.transpose(1, 2))

    result = explain("torchinfo", Gram(), torch.rand(1, 5, 8))
    assert "misses 200 MACs in the forward of the model itself, not in a leaf module (bmm 200)" in result.reasons


def test_fvcore_mobilenetv3_each_op_in_its_bucket():
    result = explain("fvcore", mobilenetv3.mobilenetv3(), torch.rand(1, 3, 64, 64))
    assert result.reasons == (
        # AdaptiveAvgPool2d(1) runs as aten.mean: compared with that mean, in 'other'
        "adaptive_avg_pool2d: fvcore 7,168 = archcheck other 7,168",
        "batch_norm: fvcore 134,400 vs archcheck other 67,200 (+67,200; fvcore: 1 per input element, 2 with affine weights (eval); 5 per element in training)",
        "conv: fvcore 1,518,336 = archcheck macs 1,518,336",
        "matmul: fvcore 13,568 = archcheck macs 13,568",
        "skipped as 0 (no formula): add x1 (archcheck: 1,536 other), hardsigmoid_ x2 (archcheck: 112 other), "
        "hardswish_ x5 (archcheck: 25,728 other), mul x2 (archcheck: 5,632 other)",
        "fvcore - archcheck MACs = +141,568: adaptive_avg_pool2d +7,168 (archcheck: 'other', not MACs), "
        "batch_norm +134,400 (archcheck: 'other', not MACs)",
    )


def test_fvcore_names_the_recurrent_macs_it_has_no_handle_for():
    model = nn.LSTM(6, 5, batch_first=True)
    result = explain("fvcore", model, torch.rand(2, 3, 6))
    assert result.total == 0
    # 2 x 3 rows x 4 gates x 5 hidden x (6 + 5)
    assert result.reasons[-1] == "fvcore - archcheck MACs = -1,320: mkldnn_rnn_layer -1,320 (no fvcore handle)"


def test_torchinfo_norm_params_times_batch_against_our_other_ops():
    result = explain("torchinfo", nn.Sequential(nn.BatchNorm2d(4)), torch.rand(2, 4, 3, 3))
    assert result.reasons[0] == "BatchNorm2d x1: torchinfo 16 vs archcheck 0 MACs (+16): params x batch counted as MACs +16 (archcheck: 72 'other' ops, no MACs)"
