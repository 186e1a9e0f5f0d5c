"""The device vocabulary: the one list of device names a spec or a command line may use.

Torch-free, so the spec loader can check ``devices:`` without importing torch;
``archcheck.runners`` maps each kind to its runner.
"""

from __future__ import annotations

import re

KINDS = {
    "meta": "shapes only, no memory",
    "cpu": "real numerics; the parity reference",
    "cuda": "every visible GPU, one by one (cuda:N for one)",
    "dp": "nn.DataParallel across every visible GPU",
    "ddp": "DistributedDataParallel across processes (ddp:gloo on the CPU, ddp:nccl on GPUs)",
}
SUFFIXES = {"cuda": re.compile(r"\d+"), "ddp": re.compile(r"gloo|nccl")}
EXPECTED = "meta, cpu, cuda, cuda:N, dp or ddp (ddp:gloo, ddp:nccl)"
CASE_CHOICES = ("all", "first", "smallest")  # ``cases: {cpu: smallest}``; or a list of dim bindings


def device_problem(name: str) -> str:
    """Why ``name`` is not a device archcheck knows; "" when it is one."""
    kind, colon, suffix = name.partition(":")
    if kind not in KINDS:
        return f"unknown device {name!r}; expected {EXPECTED}"
    if colon and kind not in SUFFIXES:
        return f"device {name!r}: {kind} takes no ':' suffix"
    if colon and not SUFFIXES[kind].fullmatch(suffix):
        return f"device {name!r}: expected {'cuda or cuda:N, with N a GPU index' if kind == 'cuda' else 'ddp, ddp:gloo or ddp:nccl'}"
    return ""
