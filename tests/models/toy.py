"""Small models for tests: fast, with known shapes and known faults."""

import torch
from torch import nn


class TwoScale(nn.Module):
    """A stride-2 and a stride-4 branch joined by a concat: breaks when H or W is not a multiple of 4."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.down1 = nn.Conv2d(width, width, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(width, width, 2, stride=2)
        self.up = nn.Upsample(scale_factor=2)
        self.head = nn.Conv2d(2 * width, 4, 1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down1(self.stem(x))
        y = self.up(self.down2(x))
        return self.bn(self.head(torch.cat([x, y], dim=1)))


def two_scale(width: int = 8) -> TwoScale:
    return TwoScale(width)


class WithUnused(TwoScale):
    """TwoScale with a layer defined in __init__ and never called in forward."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Conv2d(8, 8, 1)


def with_unused() -> WithUnused:
    return WithUnused()


def broken() -> nn.Module:
    raise RuntimeError("weights missing")


def not_a_module() -> int:
    return 3


def toy_spec(dims: str, rest: str = "", name: str = "toy") -> str:
    """A spec of ``two_scale`` (input ``x: [B, 3, H, W]``) with these ``dims`` lines and ``rest``, for the tests to share."""
    return f"archcheck: 1\nname: {name}\nmodel: {{factory: toy:two_scale}}\ninputs:\n  x: [B, 3, H, W]\ndims:\n{dims}{rest}"


# A spec's head for the real CSPDarknet53 (two dims with values, H with a range), for the spec tests to share.
CSPDARKNET_SPEC = """\
archcheck: 1
name: tiny
model:
  factory: archcheck.zoo.cspdarknet:cspdarknet53
inputs:
  x: [B, 3, H, W]
dims:
  B: {values: [1, 2]}
  H: {range: [32, 1024], multiple_of: 32, values: [64, 96]}
  W: {values: [64]}
"""
