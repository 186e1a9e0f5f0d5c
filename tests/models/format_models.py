"""Tiny models for the spec-format tests: each returns or takes something a plain [B, C, H, W] spec cannot say."""

import torch
from torch import nn


class Detector(nn.Module):
    """Returns a dict: ``{boxes: [B, K, 4], scores: [B, K]}``, as torchvision-style detectors do."""

    def __init__(self, k: int = 10) -> None:
        super().__init__()
        self.backbone = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.boxes = nn.Linear(8, k * 4)
        self.scores = nn.Linear(8, k)
        self.k = k

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.pool(self.backbone(x)).flatten(1)
        return {"boxes": self.boxes(features).view(-1, self.k, 4), "scores": self.scores(features)}


class Attention(nn.Module):
    """``nn.MultiheadAttention`` without weights: returns ``(out, None)``."""

    def __init__(self, embed: int = 16, heads: int = 2) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(embed, heads, batch_first=True)

    def forward(self, x: torch.Tensor):  # type: ignore[no-untyped-def]
        return self.attn(x, x, x, need_weights=False)


class Masked(nn.Module):
    """Token ids by position, a boolean padding mask by keyword only."""

    def __init__(self, vocab: int = 1000, embed: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.proj = nn.Linear(embed, embed)

    def forward(self, tokens: torch.Tensor, *, mask: torch.Tensor) -> torch.Tensor:
        return self.proj(self.embed(tokens)) * mask.unsqueeze(-1)


class SharedHead(nn.Module):
    """One head applied to three levels (strides 8, 16, 32): called three times per forward."""

    def __init__(self, anchors: int = 6) -> None:
        super().__init__()
        self.p3 = nn.Conv2d(3, 8, 8, stride=8)
        self.p4 = nn.Conv2d(8, 8, 2, stride=2)
        self.p5 = nn.Conv2d(8, 8, 2, stride=2)
        self.head = nn.Conv2d(8, anchors, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        p3 = self.p3(x)
        p4 = self.p4(p3)
        p5 = self.p5(p4)
        return tuple(self.head(p) for p in (p3, p4, p5))


class Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


class TinyResNet(nn.Module):
    """torchvision-style names (conv1, layer1.0, fc): a flat ``modules:`` map fits it."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.layer1 = nn.Sequential(Block(8, 8, 1), Block(8, 8, 1))
        self.layer2 = nn.Sequential(Block(8, 16, 2), Block(16, 16, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.layer2(self.layer1(self.conv1(x)))).flatten(1))


def detector(k: int = 10) -> Detector:
    return Detector(k)


def attention(embed: int = 16, heads: int = 2) -> Attention:
    return Attention(embed, heads)


def masked(vocab: int = 1000, embed: int = 16) -> Masked:
    return Masked(vocab, embed)


def shared_head(anchors: int = 6) -> SharedHead:
    return SharedHead(anchors)


def tiny_resnet(classes: int = 10) -> TinyResNet:
    return TinyResNet(classes)
