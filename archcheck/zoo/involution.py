"""Involution (Li et al., "Involution: Inverting the Inherence of Convolution", CVPR 2021).

Follows the reference mmcv design: each pixel generates its own ``kernel_size x kernel_size``
kernel per channel group from a bottlenecked 1x1 conv, and that kernel is applied to the
pixel's neighbourhood, shared by the ``group_channels`` channels of the group.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

__all__ = ["Involution"]


class Involution(nn.Module):
    """Involution with per-pixel, per-group kernels; output ``[B, C, ceil(H/stride), ceil(W/stride)]``."""

    def __init__(
        self,
        channels: int,
        kernel_size: int = 7,
        stride: int = 1,
        group_channels: int = 16,
        reduction_ratio: int = 4,
    ) -> None:
        super().__init__()
        for name, value in (
            ("channels", channels),
            ("kernel_size", kernel_size),
            ("stride", stride),
            ("group_channels", group_channels),
            ("reduction_ratio", reduction_ratio),
        ):
            if value < 1:
                raise ValueError(f"{name}={value} must be >= 1")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size={kernel_size} must be odd to keep the window centred")
        if channels % group_channels != 0:
            raise ValueError(f"channels={channels} is not divisible by group_channels={group_channels}")
        if channels < reduction_ratio:
            raise ValueError(f"reduction_ratio={reduction_ratio} is larger than channels={channels}")
        self.channels = channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.group_channels = group_channels
        self.groups = channels // group_channels
        reduced_channels = channels // reduction_ratio
        # Kernels are generated at the output resolution; ceil_mode matches the unfold's ceil(H/stride).
        self.pool = nn.AvgPool2d(stride, stride, ceil_mode=True) if stride > 1 else nn.Identity()
        self.reduce = nn.Sequential(
            OrderedDict(
                conv=nn.Conv2d(channels, reduced_channels, 1, bias=False),
                bn=nn.BatchNorm2d(reduced_channels),
                act=nn.ReLU(),
            )
        )
        self.span = nn.Conv2d(reduced_channels, kernel_size**2 * self.groups, 1)
        self.unfold = nn.Unfold(kernel_size, dilation=1, padding=(kernel_size - 1) // 2, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernels = self.span(self.reduce(self.pool(x)))
        batch, _, height, width = kernels.shape
        window = self.kernel_size**2
        kernels = kernels.view(batch, self.groups, window, height, width)
        patches = self.unfold(x).view(batch, self.groups, self.group_channels, window, height, width)
        # g: group, c: channel within the group, k: position in the window.
        out = torch.einsum("bgkhw,bgckhw->bgchw", kernels, patches)
        return out.reshape(batch, self.channels, height, width)
