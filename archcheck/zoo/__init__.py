"""Reference models for archcheck: CSPDarknet53, YOLOv4 (optionally with involution) and Involution."""

from archcheck.zoo.cspdarknet import CSPDarknet53, cspdarknet53
from archcheck.zoo.involution import Involution
from archcheck.zoo.yolov4 import YOLOv4, yolov4, yolov4_involution

__all__ = ["CSPDarknet53", "Involution", "YOLOv4", "cspdarknet53", "yolov4", "yolov4_involution"]
