"""DETR-style detector with data-dependent post-processing: a conv backbone, a class and a box
head, then in forward ``scores.sigmoid()``, a boolean mask (``nonzero``) and ``topk``. The kept
boxes' count depends on the values, so this model counts on CPU only (meta has no values)."""

from __future__ import annotations

import torch
from torch import nn


class Detector(nn.Module):
    def __init__(self, num_classes: int = 5, width: int = 32, keep: int = 10, threshold: float = 0.5) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(3, width // 2, 3, 2, 1, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU(inplace=True),
            nn.Conv2d(width // 2, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
        )
        self.classes = nn.Conv2d(width, num_classes, 1)
        self.boxes = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(width, 4, 1))
        self.keep, self.threshold = keep, threshold

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        features = self.backbone(x)
        logits = self.classes(features).flatten(2).transpose(1, 2)  # B, N, classes
        boxes = self.boxes(features).flatten(2).transpose(1, 2).sigmoid()  # B, N, 4
        scores = logits.sigmoid()
        confident = scores.amax(-1) > self.threshold  # data-dependent from here on
        kept = boxes[confident]  # a boolean index: aten.index, data movement
        where = confident.nonzero()  # (image, anchor) of each kept box
        top, index = scores.flatten(1).topk(self.keep)
        return kept, where, top, index


def detr(num_classes: int = 5) -> Detector:
    return Detector(num_classes)
