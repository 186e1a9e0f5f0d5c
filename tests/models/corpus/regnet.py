"""RegNet-style: the stage widths come from a quantized linear schedule computed with tensors in
``__init__`` and read back with ``.tolist()``, so this model cannot be built on the meta device
(build it on CPU, then ``.to('meta')``)."""

from __future__ import annotations

import math

import torch
from torch import nn


def stage_plan(w0: int = 16, wa: float = 8.0, wm: float = 2.0, depth: int = 4, quantum: int = 8) -> list[tuple[int, int]]:
    """(width, blocks) per stage: widths w0 + wa*i, snapped to w0 * wm^k, multiples of 8."""
    continuous = w0 + wa * torch.arange(depth)
    steps = torch.round(torch.log(continuous / w0) / math.log(wm))
    widths = (torch.round(w0 * torch.pow(wm, steps) / quantum) * quantum).int().tolist()
    plan: list[tuple[int, int]] = []
    for width in widths:
        if plan and plan[-1][0] == width:
            plan[-1] = (width, plan[-1][1] + 1)
        else:
            plan.append((width, 1))
    return plan


class XBlock(nn.Module):
    """1x1, 3x3 group conv (stride), 1x1; projection shortcut when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int, group_width: int) -> None:
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
        self.b = nn.Sequential(nn.Conv2d(cout, cout, 3, stride, 1, groups=cout // group_width, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
        self.c = nn.Sequential(nn.Conv2d(cout, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.relu(skip + self.c(self.b(self.a(x))))


class RegNet(nn.Module):
    def __init__(self, group_width: int = 8, num_classes: int = 10) -> None:
        super().__init__()
        self.plan = stage_plan()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        stages, cin = [], 16
        for width, blocks in self.plan:
            stages.append(nn.Sequential(*(XBlock(cin if i == 0 else width, width, 2 if i == 0 else 1, group_width) for i in range(blocks))))
            cin = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.stages(self.stem(x))), 1))


def regnet(num_classes: int = 10) -> RegNet:
    return RegNet(num_classes=num_classes)
