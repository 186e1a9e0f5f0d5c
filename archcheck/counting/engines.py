"""Cross-check engines: what fvcore and torchinfo print for the same network, and why it differs.

Both need a real forward pass on CPU (fvcore traces with ``torch.jit``; torchinfo hooks modules),
so they get a model built with real weights. Each difference from our count is explained from the
data: which ops the peer costs, by which rule, and which it skips.
"""

from __future__ import annotations

import logging
import math
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

# fvcore's handles (fvcore/nn/flop_count.py) -> the archcheck ops that do the same work, the bucket
# archcheck puts them in, and fvcore's rule as its source states it
_MATMUL_OPS = ("aten.mm", "aten.addmm", "aten.bmm", "aten.baddbmm", "aten.addbmm", "aten.mv", "aten.addmv", "aten.dot")
_FVCORE_OPS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "conv": (("aten.convolution", "aten._convolution", "aten.mkldnn_convolution", "aten._conv_depthwise2d", "aten.slow_conv_dilated2d"), "macs", "1 per MAC"),
    "matmul": (_MATMUL_OPS, "macs", "1 per MAC of linear, matmul, addmm, bmm, einsum"),
    "batch_norm": (("aten.native_batch_norm", "aten._native_batch_norm_legit", "aten._native_batch_norm_legit_no_training", "aten._batch_norm_with_update", "aten._batch_norm_no_update"), "other", "1 per input element, 2 with affine weights (eval); 5 per element in training"),
    "group_norm": (("aten.native_group_norm",), "other", "5 per input element with affine weights, else 4"),
    "layer_norm": (("aten.native_layer_norm",), "other", "5 per input element with affine weights, else 4"),
    "instance_norm": ((), "other", "5 per input element with affine weights, else 4"),
    "upsample_nearest2d": (("aten.upsample_nearest2d",), "other", "1 per output element"),
    "upsample_bilinear2d": (("aten.upsample_bilinear2d",), "other", "4 per output element"),
    "adaptive_avg_pool2d": (("aten.adaptive_avg_pool2d", "aten._adaptive_avg_pool2d", "aten.mean"), "other", "1 per input element"),
    "grid_sampler": (("aten.grid_sampler_2d",), "other", "4 per output element"),
}
_FVCORE_MATMUL = ("linear", "matmul", "addmm", "bmm", "einsum", "mm")


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
        nested = analysis.by_module_and_operator()
    names = [name for name, _ in model.named_modules()]
    children = {name: [f"{name}.{c}" if name else c for c, _ in module.named_children()] for name, module in model.named_modules()}
    where: dict[str, set[str]] = defaultdict(set)  # fvcore op -> modules whose own forward ran it
    for path, ops in nested.items():
        for op, value in ops.items():
            if value > sum(nested.get(c, {}).get(op, 0) for c in children.get(path, [])):
                where[op].add(path)
    reasons = fvcore_reasons(ours, {op: int(v) for op, v in by_operator.items()}, dict(unsupported), total, dict(where))
    return EngineCount("fvcore", case, total, tuple((n, int(by_module.get(n, 0))) for n in names), tuple(reasons))


def _ops_total(ours: CaseCount, ops: tuple[str, ...], modules: set[str] | None = None) -> tuple[Tally, int]:
    found = [u for u in ours.ops if u.op in ops and (modules is None or u.module in modules)]
    return sum((u.compute for u in found), Tally()), sum(u.calls for u in found)


def fvcore_reasons(
    ours: CaseCount, by_operator: dict[str, int], unsupported: dict[str, int], total: int, where: dict[str, set[str]] | None = None
) -> list[str]:
    """Why fvcore's total differs from our MACs, op by op, from both sides' numbers. An 'other'
    op is compared with what archcheck ran in the same modules (``where``: fvcore op -> modules),
    so an adaptive average pool that torch lowers to ``mean`` is compared with that ``mean``."""
    reasons: list[str] = []
    grouped = dict(by_operator)
    matmul = sum(grouped.pop(op, 0) for op in _FVCORE_MATMUL)
    if matmul or any(u.kind == "matmul" and u.compute.macs for u in ours.ops):
        grouped["matmul"] = matmul
    parts: list[str] = []
    for op, value in sorted(grouped.items()):
        ops, bucket, rule = _FVCORE_OPS.get(op, ((), "", ""))
        modules = where.get(op) if where is not None and bucket == "other" else None
        mine, calls = _ops_total(ours, ops, modules)
        amount = getattr(mine, bucket) if bucket else 0
        label = f"archcheck {bucket} {amount:,}" if bucket else "archcheck has no matching op"
        if bucket and value == amount:
            reasons.append(f"{op}: fvcore {value:,} = {label}")
        else:
            reasons.append(f"{op}: fvcore {value:,} vs {label} ({value - amount:+,}; fvcore: {rule or 'its own handle'})")
        delta = value - (amount if bucket == "macs" else 0)
        if delta:
            parts.append(f"{op} {delta:+,}" + ("" if bucket == "macs" else " (archcheck: 'other', not MACs)"))
    covered = {o for name in grouped for o in _FVCORE_OPS.get(name, ((),))[0]}
    skipped_macs: dict[str, int] = defaultdict(int)
    for use in ours.ops:
        if use.compute.macs and use.op not in covered:
            skipped_macs[use.op] += use.compute.macs
    for op, macs in sorted(skipped_macs.items()):
        parts.append(f"{op.removeprefix('aten.')} {-macs:+,} (no fvcore handle)")
    if unsupported:
        mine: dict[str, Tally] = defaultdict(Tally)
        for use in ours.ops:
            mine[use.op.removeprefix("aten.")] += use.compute
        listed = []
        for op, n in sorted(unsupported.items()):
            name = op.removeprefix("aten::")
            cost = mine.get(name)
            if cost is None:
                listed.append(f"{name} x{n}")
            else:
                amounts = ", ".join(f"{v:,} {b}" for b, v in (("MACs", cost.macs), ("other", cost.other)) if v) or "free"
                listed.append(f"{name} x{n} (archcheck: {amounts})")
        reasons.append(f"skipped as 0 (no formula): {', '.join(listed)}")
    return [*reasons, _balance("fvcore", total - ours.total.compute.macs, parts)]


def _torchinfo(model: nn.Module, inputs: tuple[torch.Tensor, ...], ours: CaseCount, case: Case | None) -> EngineCount:
    with _quiet():
        stats = _import("torchinfo")(model, input_data=list(inputs), verbose=0, device=inputs[0].device)
    names = {module: name for name, module in model.named_modules()}
    per_module: dict[str, int] = defaultdict(int)
    layers: list[tuple[str, nn.Module, list[int], int]] = []
    for layer in stats.summary_list:
        if not layer.is_leaf_layer or layer.module not in names:
            continue
        path = names[layer.module]
        layers.append((path, layer.module, list(layer.output_size), int(layer.macs)))
        parts = path.split(".") if path else []
        for depth in range(len(parts) + 1):
            per_module[".".join(parts[:depth])] += layer.macs
    reasons = torchinfo_reasons(ours, layers, int(stats.total_mult_adds))
    return EngineCount("torchinfo", case, int(stats.total_mult_adds), tuple((n, per_module.get(n, 0)) for n in names.values()), tuple(reasons))


def _torchinfo_parts(module: nn.Module, output_size: list[int]) -> tuple[int, int]:
    """torchinfo's mult-adds of one leaf (torchinfo/layer_info.py calculate_macs), split into
    (weights, biases): a conv's params x batch x output positions; an RNN's params x the first two
    output dims; anything else params x the first output dim only."""
    weights = biases = 0
    for name, param in module.named_parameters():
        if name in ("weight", "bias"):
            if "Conv" in type(module).__name__:
                rows = math.prod(output_size[:1] + output_size[2:])
            else:
                rows = output_size[0] if output_size else 0
        elif "weight" in name or "bias" in name:
            rows = math.prod(output_size[:2])
        else:
            continue
        if "bias" in name:
            biases += rows * param.numel()
        else:
            weights += rows * param.numel()
    return weights, biases


def torchinfo_reasons(ours: CaseCount, layers: list[tuple[str, nn.Module, list[int], int]], total: int) -> list[str]:
    """Why torchinfo's total differs from our MACs, by leaf class and by functional code."""
    mine = {m.path: m for m in ours.modules}
    by_class: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])  # layers, theirs, ours, weights, biases, other
    seen = set()
    for path, module, output_size, macs in layers:
        if path not in mine or path in seen:
            continue
        seen.add(path)
        weights, biases = _torchinfo_parts(module, output_size)
        row = by_class[type(module).__name__]
        row[0] += 1
        row[1] += macs
        row[2] += mine[path].compute.macs
        row[3] += weights
        row[4] += biases
        row[5] += mine[path].compute.other
    reasons: list[str] = []
    parts: list[str] = []
    for cls, (n, theirs, macs, weights, biases, other) in sorted(by_class.items()):
        if theirs == macs:
            continue
        why = []
        if macs == 0:  # a norm or a lookup: all of torchinfo's number is params x batch
            ours_says = f"{other:,} 'other' ops" if other else "a lookup, free"
            why.append(f"params x batch counted as MACs {weights + biases:+,} (archcheck: {ours_says}, no MACs)")
            weights, biases = 0, weights + biases
        elif biases:
            why.append(f"bias counted as MACs {biases:+,}")
        if weights == macs or macs == 0:
            pass
        elif weights < macs:
            why.append(f"weights x the first output dim only {weights - macs:+,} (misses the dims between batch and features)")
        elif weights != macs:
            why.append(f"weights x output rows {weights - macs:+,}")
        unexplained = theirs - macs - biases - (weights - macs)
        if unexplained:
            why.append(f"unexplained {unexplained:+,}")
        reasons.append(f"{cls} x{n}: torchinfo {theirs:,} vs archcheck {macs:,} MACs ({theirs - macs:+,}): " + "; ".join(why))
        parts.append(f"{cls} {theirs - macs:+,}")
    leaves = {path for path, *_ in layers}
    functional: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for use in ours.ops:
        if use.compute.macs and use.module not in leaves:
            functional[use.module][use.op.removeprefix("aten.")] += use.compute.macs
    for path, ops in functional.items():
        amount = sum(ops.values())
        listing = ", ".join(f"{op} {v:,}" for op, v in sorted(ops.items()))
        reasons.append(f"misses {amount:,} MACs in the forward of {path or 'the model'} itself, not in a leaf module ({listing})")
        parts.append(f"{path or 'model'} functional {-amount:+,}")
    return [*reasons, _balance("torchinfo", total - ours.total.compute.macs, parts)]


def _balance(engine: str, difference: int, parts: list[str]) -> str:
    """The last reason: the whole gap and the parts that make it up, or that there is none."""
    if difference:
        return f"{engine} - archcheck MACs = {difference:+,}: " + ", ".join(parts)
    return f"{engine}'s total equals archcheck's MACs"
