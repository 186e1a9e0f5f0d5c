"""Tiny networks for the device tests, importable by spawned DDP ranks (tests/ is on their sys.path).

``fail`` picks how rank 1 breaks: while the model is built, "raise" raises and "exit" ends the process with
os._exit(3); "exit-in-forward" ends it in its first forward.
``offset``: rank N adds N * offset to the output, so rank 1's bits differ from the cpu's.
``ignore``: a parameter DDP leaves out of its all-reduce (``_ddp_params_and_buffers_to_ignore``), so its
gradient stays each rank's own.
``nap`` seconds of sleep in every real forward (and meta ones with ``nap_on_meta``) keep a run alive while a test looks at its processes.
"""

from __future__ import annotations

import os
import time
from collections import namedtuple

import torch
import torch.distributed as dist
from torch import nn


Pair = namedtuple("Pair", "head double")  # an output type weights_only loading does not read back


class Tiny(nn.Module):
    def __init__(self, unused: bool = False, nap: float = 0.0, nap_on_meta: bool = False, exit_in_forward: bool = False, offset: float = 0.0, pair: bool = False) -> None:
        super().__init__()
        self.nap, self.nap_on_meta, self.exit_in_forward, self.offset, self.pair = nap, nap_on_meta, exit_in_forward, offset, pair
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.act = nn.ReLU()
        self.head = nn.Conv2d(8, 4, 1)
        if unused:
            self.spare = nn.Linear(4, 4)  # defined, never called: DDP fails on it

    def forward(self, x):
        if self.nap_on_meta or not x.is_meta:  # by default the meta runs (memory estimate, shapes) stay instant
            time.sleep(self.nap)
        if self.exit_in_forward and dist.is_initialized() and dist.get_rank() == 1:
            os._exit(3)
        y = self.head(self.act(self.conv(x)))
        y = y + self.offset * dist.get_rank() if self.offset and dist.is_initialized() else y
        return Pair(y, 2 * y) if self.pair else y


def tiny(unused: bool = False, fail: str = "", nap: float = 0.0, nap_on_meta: bool = False, ignore: str = "", offset: float = 0.0, pair: bool = False) -> nn.Module:
    rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    if rank == 1 and fail == "raise":
        raise RuntimeError("boom on rank 1")
    if rank == 1 and fail == "exit":
        os._exit(3)
    model = Tiny(unused, nap, nap_on_meta, exit_in_forward=fail == "exit-in-forward", offset=offset, pair=pair)
    if ignore:
        model._ddp_params_and_buffers_to_ignore = [ignore]  # what DistributedDataParallel._set_params_and_buffers_to_ignore_for_model sets
    return model


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


class Tied(nn.Module):
    """Tied weights, a buffer left out of the state_dict and, with ``plain``, a tensor that is neither parameter nor buffer."""

    def __init__(self, plain: bool = False) -> None:
        super().__init__()
        self.embed = nn.Linear(4, 4, bias=False)
        self.head = nn.Linear(4, 4, bias=False)
        self.head.weight = self.embed.weight
        self.register_buffer("offset", torch.arange(4.0), persistent=False)
        self.scale = torch.full((1,), 2.0) if plain else None

    def forward(self, x):
        y = self.head(self.embed(x)) + self.offset
        return y * self.scale if self.scale is not None else y


def tied(plain: bool = False) -> nn.Module:
    return Tied(plain)
