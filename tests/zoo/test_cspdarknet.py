import math

import pytest
import torch
from torch import nn

from archcheck.zoo.cspdarknet import BasicConv, CSPDarknet53, CSPStage, cspdarknet53


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def meta_backbone() -> CSPDarknet53:
    with torch.device("meta"):
        return cspdarknet53()


def test_total_parameters(meta_backbone):
    assert count_parameters(meta_backbone) == 26_617_184


def test_stem_and_stage_parameters(meta_backbone):
    assert count_parameters(meta_backbone.stem) == 928
    assert [count_parameters(stage) for stage in meta_backbone.stages] == [
        60_224,
        193_920,
        1_758_976,
        7_024_128,
        17_579_008,
    ]


def test_stage_widths_and_depths(meta_backbone):
    stages = meta_backbone.stages
    assert [stage.concat_conv.conv.out_channels for stage in stages] == [64, 128, 256, 512, 1024]
    assert [len(stage.blocks) - 1 for stage in stages] == [1, 2, 8, 8, 4]
    assert [stage.downsample.conv.stride for stage in stages] == [(2, 2)] * 5


def test_first_stage_keeps_full_width_in_branches(meta_backbone):
    first, second = meta_backbone.stages[0], meta_backbone.stages[1]
    assert first.split_conv0.conv.out_channels == 64
    assert first.blocks[0].block[0].conv.out_channels == 32
    assert first.concat_conv.conv.in_channels == 128
    assert second.split_conv0.conv.out_channels == 64
    assert second.concat_conv.conv.in_channels == 128


def test_basic_conv_children():
    block = BasicConv(3, 8, 3, stride=2)
    assert [name for name, _ in block.named_children()] == ["conv", "bn", "act"]
    assert block.conv.bias is None
    assert block.conv.padding == (1, 1)
    assert isinstance(block.act, nn.Mish)


def test_stage_children():
    stage = CSPStage(64, 128, depth=2)
    assert [name for name, _ in stage.named_children()] == [
        "downsample",
        "split_conv0",
        "split_conv1",
        "blocks",
        "concat_conv",
    ]


@pytest.mark.parametrize(("height", "width"), [(416, 416), (608, 608), (320, 448)])
def test_output_shapes_on_meta(meta_backbone, height, width):
    stride8, stride16, stride32 = meta_backbone(torch.empty(2, 3, height, width, device="meta"))
    assert stride8.shape == (2, 256, height // 8, width // 8)
    assert stride16.shape == (2, 512, height // 16, width // 16)
    assert stride32.shape == (2, 1024, height // 32, width // 32)


def test_weight_init():
    torch.manual_seed(0)
    backbone = cspdarknet53()
    conv = backbone.stages[4].blocks[0].block[1].conv
    expected_std = math.sqrt(2.0 / (3 * 3 * conv.out_channels))
    assert conv.weight.std().item() == pytest.approx(expected_std, rel=0.01)
    bn = backbone.stages[4].concat_conv.bn
    assert torch.equal(bn.weight, torch.ones_like(bn.weight))
    assert torch.equal(bn.bias, torch.zeros_like(bn.bias))


def test_small_cpu_forward_is_finite():
    torch.manual_seed(0)
    backbone = CSPDarknet53(depths=(1, 1, 1, 1, 1), widths=(8, 16, 32, 64, 128), stem_channels=8).eval()
    with torch.no_grad():
        outputs = backbone(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outputs] == [(1, 32, 8, 8), (1, 64, 4, 4), (1, 128, 2, 2)]
    assert all(torch.isfinite(o).all() for o in outputs)


def test_rejects_mismatched_config():
    with pytest.raises(ValueError, match=r"depths=\(1, 2\) and widths=\(64, 128, 256\) differ in length"):
        CSPDarknet53(depths=(1, 2), widths=(64, 128, 256))
