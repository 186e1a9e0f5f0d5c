"""CSPDarknet53, the backbone of YOLOv4 (Bochkovskiy et al., 2020).

The network is described by two tuples, blocks per stage and output width per stage, and built
from three pieces: ``BasicConv`` (conv, batch norm, Mish), ``ResidualBlock`` and ``CSPStage``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["BasicConv", "ResidualBlock", "CSPStage", "CSPDarknet53", "cspdarknet53"]


class BasicConv(nn.Module):
    """Conv2d without bias (``padding=kernel_size // 2``), BatchNorm2d, Mish."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2, bias=False
        )
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.Mish()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class ResidualBlock(nn.Module):
    """``x + block(x)`` where ``block`` is a 1x1 then a 3x3 ``BasicConv``."""

    def __init__(self, channels: int, hidden_channels: int | None = None) -> None:
        super().__init__()
        hidden_channels = channels if hidden_channels is None else hidden_channels
        self.block = nn.Sequential(
            BasicConv(channels, hidden_channels, 1),
            BasicConv(hidden_channels, channels, 3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class CSPStage(nn.Module):
    """A cross-stage-partial stage: halve the resolution, then split into two branches.

    One branch (``split_conv1``, ``blocks``) runs the residual blocks, the other (``split_conv0``)
    bypasses them; ``concat_conv`` fuses ``cat([blocks_out, bypass])``. The ``first`` stage keeps
    the full width in both branches and narrows only inside its residual blocks.
    """

    def __init__(self, in_channels: int, out_channels: int, depth: int, first: bool = False) -> None:
        super().__init__()
        branch_channels = out_channels if first else out_channels // 2
        hidden_channels = out_channels // 2 if first else branch_channels
        self.downsample = BasicConv(in_channels, out_channels, 3, stride=2)
        self.split_conv0 = BasicConv(out_channels, branch_channels, 1)
        self.split_conv1 = BasicConv(out_channels, branch_channels, 1)
        self.blocks = nn.Sequential(
            *(ResidualBlock(branch_channels, hidden_channels) for _ in range(depth)),
            BasicConv(branch_channels, branch_channels, 1),
        )
        self.concat_conv = BasicConv(2 * branch_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.downsample(x)
        bypass = self.split_conv0(x)
        processed = self.blocks(self.split_conv1(x))
        return self.concat_conv(torch.cat([processed, bypass], dim=1))


class CSPDarknet53(nn.Module):
    """A stem conv followed by CSP stages; returns the outputs of the last three stages.

    With the default five stages these are the stride-8, stride-16 and stride-32 feature maps
    (256, 512 and 1024 channels).
    """

    def __init__(
        self,
        depths: Sequence[int] = (1, 2, 8, 8, 4),
        widths: Sequence[int] = (64, 128, 256, 512, 1024),
        stem_channels: int = 32,
    ) -> None:
        super().__init__()
        if len(depths) != len(widths):
            raise ValueError(f"depths={tuple(depths)} and widths={tuple(widths)} differ in length")
        if len(depths) < 3:
            raise ValueError(f"depths={tuple(depths)} has fewer than the 3 stages the output needs")
        if min(depths) < 1:
            raise ValueError(f"depths={tuple(depths)} must all be >= 1")
        self.stem = BasicConv(3, stem_channels, 3)
        in_widths = (stem_channels, *widths[:-1])
        self.stages = nn.ModuleList(
            CSPStage(in_width, width, depth, first=index == 0)
            for index, (in_width, width, depth) in enumerate(zip(in_widths, widths, depths))
        )
        self._init_weights()

    def _init_weights(self) -> None:
        """Conv weights ~ N(0, 2 / (k * k * out_channels)); batch norm starts as the identity."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
                nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.stem(x)
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        stride8, stride16, stride32 = features[-3:]
        return stride8, stride16, stride32


def cspdarknet53(**kwargs) -> CSPDarknet53:
    """CSPDarknet53 with depths (1, 2, 8, 8, 4) and widths (64, ..., 1024) unless overridden."""
    return CSPDarknet53(**kwargs)
