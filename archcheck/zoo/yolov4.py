"""YOLOv4 (Bochkovskiy et al., 2020): CSPDarknet53, an SPP + PANet neck and three YOLO heads.

Optionally an ``Involution`` refines each of the three fused neck outputs before the heads and
the bottom-up path use them.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from archcheck.zoo.cspdarknet import CSPDarknet53
from archcheck.zoo.involution import Involution

__all__ = [
    "conv_bn_leaky",
    "SpatialPyramidPooling",
    "UpsampleConv",
    "three_conv",
    "five_conv",
    "yolo_head",
    "YOLOv4",
    "yolov4",
    "yolov4_involution",
]


def conv_bn_leaky(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    """Conv2d without bias (same padding), BatchNorm2d, LeakyReLU(0.1)."""
    return nn.Sequential(
        OrderedDict(
            conv=nn.Conv2d(
                in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2, bias=False
            ),
            bn=nn.BatchNorm2d(out_channels),
            act=nn.LeakyReLU(0.1),
        )
    )


class SpatialPyramidPooling(nn.Module):
    """Stride-1 max pools of several sizes; output ``cat([pool13, pool9, pool5, x])`` (4x channels)."""

    def __init__(self, pool_sizes: tuple[int, ...] = (5, 9, 13)) -> None:
        super().__init__()
        self.maxpools = nn.ModuleList(nn.MaxPool2d(size, stride=1, padding=size // 2) for size in pool_sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = [maxpool(x) for maxpool in reversed(self.maxpools)]
        return torch.cat([*pooled, x], dim=1)


class UpsampleConv(nn.Module):
    """A 1x1 ``conv_bn_leaky`` then a nearest-neighbour 2x upsample."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.upsample = nn.Sequential(
            conv_bn_leaky(in_channels, out_channels, 1),
            nn.Upsample(scale_factor=2, mode="nearest"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsample(x)


def three_conv(in_channels: int, channels: int) -> nn.Sequential:
    """1x1 to ``channels``, 3x3 to ``2 * channels``, 1x1 back to ``channels``."""
    return nn.Sequential(
        conv_bn_leaky(in_channels, channels, 1),
        conv_bn_leaky(channels, 2 * channels, 3),
        conv_bn_leaky(2 * channels, channels, 1),
    )


def five_conv(in_channels: int, channels: int) -> nn.Sequential:
    """Alternating 1x1 / 3x3 convs: ``channels``, ``2 * channels``, ... ending at ``channels``."""
    return nn.Sequential(
        conv_bn_leaky(in_channels, channels, 1),
        conv_bn_leaky(channels, 2 * channels, 3),
        conv_bn_leaky(2 * channels, channels, 1),
        conv_bn_leaky(channels, 2 * channels, 3),
        conv_bn_leaky(2 * channels, channels, 1),
    )


def yolo_head(in_channels: int, hidden_channels: int, out_channels: int) -> nn.Sequential:
    """A 3x3 ``conv_bn_leaky`` then a 1x1 prediction conv with bias."""
    return nn.Sequential(
        conv_bn_leaky(in_channels, hidden_channels, 3),
        nn.Conv2d(hidden_channels, out_channels, 1),
    )


class YOLOv4(nn.Module):
    """YOLOv4 returning raw head maps ``(stride 32, stride 16, stride 8)``.

    Each map has ``anchors_per_head * (5 + num_classes)`` channels: box (4), objectness (1) and
    class scores for every anchor. With ``involution=True``, ``involution1..3`` (128, 256 and 512
    channels) follow ``make_five_conv2..4``; otherwise they are identities.
    """

    def __init__(self, num_classes: int = 80, anchors_per_head: int = 3, involution: bool = False) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes={num_classes} must be >= 1")
        if anchors_per_head < 1:
            raise ValueError(f"anchors_per_head={anchors_per_head} must be >= 1")
        head_channels = anchors_per_head * (5 + num_classes)

        self.backbone = CSPDarknet53()

        self.conv1 = three_conv(1024, 512)
        self.SPP = SpatialPyramidPooling()
        self.conv2 = three_conv(2048, 512)

        self.upsample1 = UpsampleConv(512, 256)
        self.conv_for_P4 = conv_bn_leaky(512, 256, 1)
        self.make_five_conv1 = five_conv(512, 256)

        self.upsample2 = UpsampleConv(256, 128)
        self.conv_for_P3 = conv_bn_leaky(256, 128, 1)
        self.make_five_conv2 = five_conv(256, 128)
        self.involution1 = Involution(128) if involution else nn.Identity()
        self.yolo_head3 = yolo_head(128, 256, head_channels)

        self.down_sample1 = conv_bn_leaky(128, 256, 3, stride=2)
        self.make_five_conv3 = five_conv(512, 256)
        self.involution2 = Involution(256) if involution else nn.Identity()
        self.yolo_head2 = yolo_head(256, 512, head_channels)

        self.down_sample2 = conv_bn_leaky(256, 512, 3, stride=2)
        self.make_five_conv4 = five_conv(1024, 512)
        self.involution3 = Involution(512) if involution else nn.Identity()
        self.yolo_head1 = yolo_head(512, 1024, head_channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c3, c4, c5 = self.backbone(x)

        # Top of the pyramid: SPP between two three-conv blocks.
        p5 = self.conv2(self.SPP(self.conv1(c5)))

        # Top-down path.
        p4 = self.make_five_conv1(torch.cat([self.conv_for_P4(c4), self.upsample1(p5)], dim=1))
        p3 = self.make_five_conv2(torch.cat([self.conv_for_P3(c3), self.upsample2(p4)], dim=1))
        p3 = self.involution1(p3)

        # Bottom-up path.
        p4 = self.make_five_conv3(torch.cat([self.down_sample1(p3), p4], dim=1))
        p4 = self.involution2(p4)
        p5 = self.make_five_conv4(torch.cat([self.down_sample2(p4), p5], dim=1))
        p5 = self.involution3(p5)

        out2 = self.yolo_head3(p3)
        out1 = self.yolo_head2(p4)
        out0 = self.yolo_head1(p5)
        return out0, out1, out2


def yolov4(num_classes: int = 80, anchors_per_head: int = 3) -> YOLOv4:
    """YOLOv4 without involution."""
    return YOLOv4(num_classes=num_classes, anchors_per_head=anchors_per_head)


def yolov4_involution(num_classes: int = 80, anchors_per_head: int = 3) -> YOLOv4:
    """YOLOv4 with an ``Involution`` after each of the three fused neck outputs."""
    return YOLOv4(num_classes=num_classes, anchors_per_head=anchors_per_head, involution=True)
