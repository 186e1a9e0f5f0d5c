"""Small networks with hand-countable costs, for the counting tests (factories named in specs)."""

from __future__ import annotations

import torch
from torch import nn


class Sorter(nn.Module):
    """A 1x1 conv, then an FFT of it: an op with no cost formula (the name is from when sort had none)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return torch.fft.rfft2(y).abs() + torch.fft.rfft2(y).abs()


def sorter() -> Sorter:
    return Sorter()


# A three-stage CSPDarknet, small enough for the peer engines' real CPU forward.
SMALL_CSP_SPEC = """archcheck: 1
name: small-csp
model:
  factory: archcheck.zoo.cspdarknet:cspdarknet53
  kwargs: {depths: [1, 1, 1], widths: [8, 16, 32], stem_channels: 4}
inputs:
  x: [B, 3, H, W]
dims:
  B: {values: [1]}
  H: {values: [64]}
  W: {values: [64]}
"""
