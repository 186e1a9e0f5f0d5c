"""ConvNeXt-style: depthwise 7x7, channels-last LayerNorm via permute, GELU MLP, layer scale."""

from __future__ import annotations

import torch
from torch import nn


class ChannelsFirstNorm(nn.Module):
    """LayerNorm over channels of an NCHW tensor, by permuting to channels-last and back."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class Block(nn.Module):
    def __init__(self, dim: int, layer_scale: float = 1e-6) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(layer_scale * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)  # N, H, W, C
        y = self.gamma * self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    def __init__(self, dims: tuple[int, ...] = (24, 48), depths: tuple[int, ...] = (1, 1), num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dims[0], 4, stride=4), ChannelsFirstNorm(dims[0]))
        self.stages = nn.ModuleList()
        for index, (dim, depth) in enumerate(zip(dims, depths)):
            layers: list[nn.Module] = []
            if index:
                layers += [ChannelsFirstNorm(dims[index - 1]), nn.Conv2d(dims[index - 1], dim, 2, stride=2)]
            layers += [Block(dim) for _ in range(depth)]
            self.stages.append(nn.Sequential(*layers))
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        self.head = nn.Linear(dims[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return self.head(self.norm(x.mean([-2, -1])))


def convnext(num_classes: int = 10) -> ConvNeXt:
    return ConvNeXt(num_classes=num_classes)
