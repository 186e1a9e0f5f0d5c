"""Cross-check engines: what fvcore and torchinfo print for the same network, and why it differs.

Both need a real forward pass on CPU (fvcore traces with ``torch.jit``; torchinfo hooks modules),
so they get a model built with real weights. Each difference from our count is explained from the
data: which ops the peer costs, by which rule, and which it skips.
"""

from __future__ import annotations

import logging
import warnings
from collections import defaultdict
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from archcheck.counting.records import CaseCount, EngineCount, Tally
from archcheck.errors import UsageError
from archcheck.spec import Case

ENGINES = ("fvcore", "torchinfo")

# fvcore operator names -> our op kind and bucket
_FVCORE_KIND = {
    "conv": ("conv", "macs"),
    "linear": ("matmul", "macs"),
    "matmul": ("matmul", "macs"),
    "addmm": ("matmul", "macs"),
    "bmm": ("matmul", "macs"),
    "einsum": ("matmul", "macs"),
    "batch_norm": ("norm", "other"),
    "group_norm": ("norm", "other"),
    "layer_norm": ("norm", "other"),
    "instance_norm": ("norm", "other"),
    "upsample_nearest2d": ("upsample", "other"),
    "upsample_bilinear2d": ("upsample", "other"),
    "adaptive_avg_pool2d": ("pool", "other"),
}


@contextmanager
def _quiet() -> Iterator[None]:
    """fvcore logs a warning per unsupported op and jit tracing warns: keep our output clean."""
    logger = logging.getLogger("fvcore")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _import(engine: str):  # type: ignore[no-untyped-def]
    try:
        if engine == "fvcore":
            from fvcore.nn import FlopCountAnalysis

            return FlopCountAnalysis
        from torchinfo import summary

        return summary
    except ImportError:
        raise UsageError(f"--engine {engine} needs the {engine} package: pip install 'archcheck[peers]'") from None


def run_engine(engine: str, model: nn.Module, inputs: tuple[torch.Tensor, ...], ours: CaseCount, case: Case | None) -> EngineCount:
    """One peer's count of ``model(*inputs)`` on CPU, compared with ours (``ours``, same case)."""
    if engine == "fvcore":
        return _fvcore(model, inputs, ours, case)
    if engine == "torchinfo":
        return _torchinfo(model, inputs, ours, case)
    raise UsageError(f"unknown engine {engine!r}; expected one of: torch, {', '.join(ENGINES)}, all")


def _fvcore(model: nn.Module, inputs: tuple[torch.Tensor, ...], ours: CaseCount, case: Case | None) -> EngineCount:
    with _quiet():
        FlopCountAnalysis = _import("fvcore")
        analysis = FlopCountAnalysis(model, inputs).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        total = int(analysis.total())
        by_module = analysis.by_module()
        by_operator = analysis.by_operator()
        unsupported = analysis.unsupported_ops()
    kinds = {k.kind: k.compute for k in ours.kinds}
    reasons = ["fvcore calls multiply-accumulates 'flops': 1 per MAC for conv/linear/matmul/einsum, plus 1 per element for norms and upsampling"]
    for op, value in sorted(by_operator.items()):
        kind, bucket = _FVCORE_KIND.get(op, ("", ""))
        mine = getattr(kinds.get(kind, Tally()), bucket) if kind else None
        if mine is None:
            reasons.append(f"{op}: fvcore {value:,}; archcheck has no matching kind")
        elif mine == value:
            reasons.append(f"{op}: fvcore {value:,} = archcheck {kind} {bucket} {mine:,}")
        else:
            reasons.append(f"{op}: fvcore {value:,} vs archcheck {kind} {bucket} {mine:,} ({value - mine:+,})")
    if unsupported:
        skipped = ", ".join(f"{op.removeprefix('aten::')} x{n}" for op, n in sorted(unsupported.items()))
        reasons.append(f"skipped as 0 (no formula): {skipped}; archcheck counts these in 'other' (cat/copies are free)")
    names = [name for name, _ in model.named_modules()]
    return EngineCount("fvcore", case, total, tuple((n, int(by_module.get(n, 0))) for n in names), tuple(reasons))


def _torchinfo(model: nn.Module, inputs: tuple[torch.Tensor, ...], ours: CaseCount, case: Case | None) -> EngineCount:
    with _quiet():
        stats = _import("torchinfo")(model, input_data=list(inputs), verbose=0, device=inputs[0].device)
    names = {module: name for name, module in model.named_modules()}
    per_module: dict[str, int] = defaultdict(int)
    by_class: dict[str, int] = defaultdict(int)
    for layer in stats.summary_list:
        if not layer.is_leaf_layer or layer.module not in names:
            continue
        path = names[layer.module]
        by_class[layer.class_name] += layer.macs
        parts = path.split(".") if path else []
        for depth in range(len(parts) + 1):
            per_module[".".join(parts[:depth])] += layer.macs
    parents = {m.path.rpartition(".")[0] for m in ours.modules if m.path}
    ours_by_class: dict[str, int] = defaultdict(int)
    leaf_macs = 0
    for module in ours.modules:
        if module.path and module.path not in parents:
            ours_by_class[module.type] += module.compute.macs
            leaf_macs += module.compute.macs
    reasons = ["torchinfo guesses mult-adds per leaf module from its class name and parameters, not from the ops that ran"]
    for cls in sorted(set(by_class) | {c for c, v in ours_by_class.items() if v}):
        theirs, mine = by_class.get(cls, 0), ours_by_class.get(cls, 0)
        if theirs != mine:
            rule = _TORCHINFO_RULES.get(cls, "params x batch size (the class-name fallback)")
            reasons.append(f"{cls}: torchinfo {theirs:,} vs archcheck {mine:,} MACs ({theirs - mine:+,}): {rule}")
    functional = ours.total.compute.macs - leaf_macs
    if functional:
        reasons.append(f"misses {functional:,} MACs of functional code outside leaf modules (einsum, bmm, attention, F.linear in a forward)")
    total = int(stats.total_mult_adds)
    return EngineCount("torchinfo", case, total, tuple((n, per_module.get(n, 0)) for n in names.values()), tuple(reasons))


_TORCHINFO_RULES = {
    "Conv1d": "weight and bias numel x output positions: the bias counts as MACs",
    "Conv2d": "weight and bias numel x output positions: the bias counts as MACs",
    "Conv3d": "weight and bias numel x output positions: the bias counts as MACs",
    "Linear": "params x batch size only: the other leading dims (sequence length) are missed",
    "BatchNorm2d": "params x batch size, counted as mult-adds (archcheck puts norms in 'other')",
    "LayerNorm": "params x batch size, counted as mult-adds (archcheck puts norms in 'other')",
}
