import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from archcheck.zoo.involution import Involution


def naive_involution(module: Involution, x: torch.Tensor) -> torch.Tensor:
    """Loop over the kernel window: out[c] += kernel[group(c), k] * shifted_x[c, k]."""
    kernels = module.span(module.reduce(module.pool(x)))
    batch, _, height, width = kernels.shape
    size, stride, pad = module.kernel_size, module.stride, (module.kernel_size - 1) // 2
    padded = F.pad(x, (pad, pad, pad, pad))
    out = torch.zeros(batch, module.channels, height, width)
    for dy in range(size):
        for dx in range(size):
            shifted = padded[:, :, dy : dy + stride * height : stride, dx : dx + stride * width : stride]
            weight = kernels[:, dy * size + dx :: size * size]  # one map per group
            out += weight.repeat_interleave(module.group_channels, dim=1) * shifted
    return out


@pytest.mark.parametrize(
    ("stride", "height", "width", "expected"),
    [(1, 13, 17, (13, 17)), (2, 13, 17, (7, 9)), (2, 16, 16, (8, 8))],
)
def test_output_shape(stride, height, width, expected):
    module = Involution(32, kernel_size=3, stride=stride).eval()
    with torch.no_grad():
        out = module(torch.randn(2, 32, height, width))
    assert out.shape == (2, 32, *expected)


@pytest.mark.parametrize("stride", [1, 2])
def test_matches_naive_loop(stride):
    torch.manual_seed(0)
    module = Involution(32, kernel_size=5, stride=stride, group_channels=8).eval()
    x = torch.randn(2, 32, 11, 10)
    with torch.no_grad():
        torch.testing.assert_close(module(x), naive_involution(module, x), atol=1e-5, rtol=1e-5)


def test_parameter_counts():
    counts = [sum(p.numel() for p in Involution(c).parameters()) for c in (128, 256, 512)]
    assert counts == [17_096, 67_472, 268_064]


def test_children():
    module = Involution(64)
    assert [name for name, _ in module.reduce.named_children()] == ["conv", "bn", "act"]
    assert module.reduce.conv.out_channels == 16
    assert module.reduce.conv.bias is None
    assert module.span.out_channels == 7 * 7 * 4
    assert module.span.bias is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channels": 24}, "channels=24 is not divisible by group_channels=16"),
        ({"channels": 32, "kernel_size": 4}, "kernel_size=4 must be odd to keep the window centred"),
        ({"channels": 32, "stride": 0}, "stride=0 must be >= 1"),
        ({"channels": 16, "reduction_ratio": 32}, "reduction_ratio=32 is larger than channels=16"),
    ],
)
def test_argument_validation(kwargs, message):
    with pytest.raises(ValueError) as error:
        Involution(**kwargs)
    assert str(error.value) == message


def test_flop_counter_sees_the_multiply_sum():
    module = Involution(32, kernel_size=7).eval()
    x = torch.randn(1, 32, 8, 8)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    counts = counter.get_flop_counts()["Global"]
    assert counts[torch.ops.aten.bmm] == 2 * 32 * 8 * 8 * 7 * 7
    conv_flops = counts[torch.ops.aten.convolution]
    assert counter.get_total_flops() > conv_flops
