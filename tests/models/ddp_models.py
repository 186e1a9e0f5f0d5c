"""Tiny networks for the device tests, importable by spawned DDP ranks (tests/ is on their sys.path).

``fail`` picks how rank 1 breaks while the model is built: "raise" raises, "exit" ends the process with os._exit(3).
``nap`` seconds of sleep in every real forward (and meta ones with ``nap_on_meta``) keep a run alive while a test looks at its processes.
"""

from __future__ import annotations

import os
import time

import torch.distributed as dist
from torch import nn


class Tiny(nn.Module):
    def __init__(self, unused: bool = False, nap: float = 0.0, nap_on_meta: bool = False) -> None:
        super().__init__()
        self.nap, self.nap_on_meta = nap, nap_on_meta
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.act = nn.ReLU()
        self.head = nn.Conv2d(8, 4, 1)
        if unused:
            self.spare = nn.Linear(4, 4)  # defined, never called: DDP fails on it

    def forward(self, x):
        if self.nap_on_meta or not x.is_meta:  # by default the meta runs (memory estimate, shapes) stay instant
            time.sleep(self.nap)
        return self.head(self.act(self.conv(x)))


def tiny(unused: bool = False, fail: str = "", nap: float = 0.0, nap_on_meta: bool = False) -> nn.Module:
    rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    if rank == 1 and fail == "raise":
        raise RuntimeError("boom on rank 1")
    if rank == 1 and fail == "exit":
        os._exit(3)
    return Tiny(unused, nap, nap_on_meta)


# The spec the device tests check Tiny against (BATCH: the batch size they choose).
TINY_SPEC = """\
archcheck: 1
name: tiny
model:
  factory: ddp_models:tiny
inputs:
  x: [B, 3, H, W]
dims:
  B: {values: [BATCH]}
  H: {values: [8]}
  W: {values: [8]}
modules:
  body:
    conv: [B, 8, H, W]
    head: [B, 4, H, W]
outputs: [B, 4, H, W]
devices: [meta, cpu]
"""
