"""Small models for snapshot and diff tests, one per shape of network a snapshot must describe.

Each takes a kwarg whose one-line change (a width, a depth) a test uses as "the model changed".
"""

from __future__ import annotations

import torch
from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU())


class UNet(nn.Module):
    """Two poolings down, two transposed convs up, concat skips: runs for multiples of 4."""

    def __init__(self, width: int = 4, classes: int = 2) -> None:
        super().__init__()
        self.enc1 = _block(3, width)
        self.enc2 = _block(width, 2 * width)
        self.bottom = _block(2 * width, 4 * width)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(4 * width, 2 * width, 2, stride=2)
        self.dec2 = _block(4 * width, 2 * width)
        self.up1 = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec1 = _block(2 * width, width)
        self.head = nn.Conv2d(width, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bottom(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.head(d1)


def unet(width: int = 4, classes: int = 2) -> UNet:
    return UNet(width, classes)


class ViT(nn.Module):
    """Patches of 8, a class token (N + 1 tokens), nn.TransformerEncoder batch-first, a head on the class token."""

    def __init__(self, dim: int = 16, depth: int = 2, heads: int = 2, classes: int = 5, patch: int = 8) -> None:
        super().__init__()
        self.patches = nn.Conv2d(3, dim, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.pool_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patches(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], dim=1)
        tokens = self.encoder(tokens)
        pooled, _ = self.pool_attn(tokens, tokens, tokens, need_weights=False)
        return self.head(pooled[:, 0])


def vit(dim: int = 16, depth: int = 2) -> ViT:
    return ViT(dim, depth)


class Detector(nn.Module):
    """A stride-4 backbone and a dense head that returns {boxes, scores} per location."""

    def __init__(self, width: int = 8, classes: int = 3) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, width, 3, 2, 1), nn.ReLU(), nn.Conv2d(width, width, 3, 2, 1))
        self.boxes = nn.Conv2d(width, 4, 1)
        self.scores = nn.Conv2d(width, classes, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.backbone(x)
        return {"boxes": self.boxes(features).flatten(2).transpose(1, 2), "scores": self.scores(features).flatten(2).transpose(1, 2)}


def detector(width: int = 8, classes: int = 3) -> Detector:
    return Detector(width, classes)


class TwoInputs(nn.Module):
    """An image and, by keyword, a mask of the same size: forward(x, *, mask)."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.image = nn.Conv2d(3, width, 3, stride=2, padding=1)
        self.gate = nn.Conv2d(1, width, 3, stride=2, padding=1)
        self.out = nn.Conv2d(width, width, 1)

    def forward(self, x: torch.Tensor, *, mask: torch.Tensor) -> torch.Tensor:
        return self.out(self.image(x) * torch.sigmoid(self.gate(mask)))


def two_inputs(width: int = 4) -> TwoInputs:
    return TwoInputs(width)


class FlatResNet(nn.Module):
    """torchvision-style names at the top (conv1, bn1, relu, maxpool, layer1..2, avgpool, fc)."""

    def __init__(self, width: int = 8, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.layer2 = nn.Sequential(nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU())
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def flat_resnet(width: int = 8, classes: int = 10) -> FlatResNet:
    return FlatResNet(width, classes)
