"""Small nets whose accepted input sizes are known, for the fuzz and resolutions tests."""

import torch
from torch import nn


class SkipConcat(nn.Module):
    """Two stride-2 convs, a x4 upsample, a concat with the input: runs only when H % 4 == 0."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.Conv2d(4, 4, 3, stride=2, padding=1))
        self.up = nn.Upsample(scale_factor=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.up(self.down(x))], dim=1)


class PoolThenConv(nn.Module):
    """MaxPool2d(2) then an unpadded 3x3 conv: runs for every H >= 6."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pool(x))


def skip_concat() -> nn.Module:
    return SkipConcat()


def pool_then_conv() -> nn.Module:
    return PoolThenConv()


# A spec for skip_concat, shared by the resolutions and pytest-plugin tests.
SKIP_CONCAT_SPEC = """archcheck: 1
name: skip
model: {factory: "sizes:skip_concat"}
inputs:
  x: [B, 1, H, W]
dims:
  B: {values: [1]}
  H: {range: [8, 64], multiple_of: 8, values: [8]}
  W: {values: [8]}
modules:
  main:
    down: [B, 4, H/4, W/4]
outputs: [B, 5, H, W]
"""
