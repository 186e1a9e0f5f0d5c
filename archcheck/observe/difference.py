"""How far one output is from another, element by element: the parity arithmetic.

Here, below the runners and the checks, because both use it: ``checks/parity.py`` compares
kept outputs in this process, and a DDP rank compares its outputs with the cpu reference
itself and sends back only the Difference (a few numbers, not its tensors).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils import _pytree as pytree


@dataclass(frozen=True)
class Difference:
    """How far ``actual`` is from ``reference``: worst differences, values beyond tolerance, or why they cannot be compared."""

    worst_abs: float = 0.0
    worst_rel: float = 0.0  # |actual - reference| / |reference|, over elements where |reference| > atol (atol governs the rest)
    worst_share: float = 0.0  # |actual - reference| / (atol + rtol * |reference|): above 1 is beyond tolerance
    beyond: int = 0
    total: int = 0
    reason: str = ""  # the values cannot be compared: shapes, dtypes or structure differ

    @property
    def ok(self) -> bool:
        return not self.reason and self.beyond == 0

    def merge(self, other: Difference) -> Difference:
        worst = (max(self.worst_abs, other.worst_abs), max(self.worst_rel, other.worst_rel), max(self.worst_share, other.worst_share))
        return Difference(*worst, self.beyond + other.beyond, self.total + other.total, self.reason or other.reason)

    def __str__(self) -> str:
        return f"max abs diff {self.worst_abs:.3g}, max rel diff {self.worst_rel:.3g}, {self.worst_share:.0%} of the tolerance"


@dataclass(frozen=True)
class Fingerprint:
    """An output in a few numbers: its structure, and each tensor's shape, dtype and the checksums of its bytes.

    Equal fingerprints mean equal bits (but for a 2**-64 chance): what ``compare`` would find
    equal, without either side holding the other's tensors.
    """

    parts: tuple[Any, ...]
    numel: int  # the elements ``compare`` would count


def fingerprint(value: Any) -> Fingerprint:
    leaves, structure = pytree.tree_flatten(value)
    parts: list[Any] = [str(structure)]
    numel = 0
    for leaf in leaves:
        if isinstance(leaf, torch.Tensor):
            parts.append((tuple(leaf.shape), str(leaf.dtype), *byte_checksums(leaf)))
            numel += leaf.numel()
        else:
            parts.append(repr(leaf))
            numel += 1
    return Fingerprint(tuple(parts), numel)


def byte_checksums(tensor: torch.Tensor) -> tuple[int, int]:
    """CRC-32 and Adler-32 of a tensor's bytes (64 bits that change with any bit and any order; about 1 GB/s)."""
    data = tensor.detach().cpu().contiguous().flatten()
    data = memoryview(data.view(torch.uint8).numpy()) if data.numel() else b""
    return zlib.crc32(data), zlib.adler32(data)


def compare(reference: Any, actual: Any, rtol: float, atol: float) -> Difference:
    """Compare two outputs (tensors, nested tuples of them, other values) element by element."""
    if isinstance(reference, torch.Tensor):
        if not isinstance(actual, torch.Tensor):
            return Difference(reason=f"expected a tensor, got {type(actual).__name__}")
        if reference.shape != actual.shape:
            return Difference(reason=f"shape {list(actual.shape)} != reference {list(reference.shape)}")
        if reference.dtype != actual.dtype:
            return Difference(reason=f"dtype {actual.dtype} != reference {reference.dtype}")
        return _compare_tensors(reference.detach().cpu(), actual.detach().cpu(), rtol, atol)
    if isinstance(reference, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(reference):
            return Difference(reason=f"expected {len(reference)} values, got {len(actual) if isinstance(actual, (tuple, list)) else type(actual).__name__}")
        total = Difference()
        for index, (ref, act) in enumerate(zip(reference, actual)):
            part = compare(ref, act, rtol, atol)
            total = total.merge(part if not part.reason else Difference(reason=f"item {index}: {part.reason}"))
        return total
    if reference != actual:
        return Difference(beyond=1, total=1, reason="" if type(reference) is type(actual) else f"{type(actual).__name__} != reference {type(reference).__name__}")
    return Difference(total=1)


CHUNK = 1 << 20  # elements compared at a time: the float64 temporaries stay a few MiB, whatever the tensor's size


def _compare_tensors(reference: torch.Tensor, actual: torch.Tensor, rtol: float, atol: float) -> Difference:
    """Equal bits answer at once (the usual case: the same kernels on the same batch); else element by element, in chunks."""
    if torch.equal(reference, actual):  # NaNs are never equal: those go the long way
        return Difference(total=reference.numel())
    found = Difference()
    for ref, act in zip(reference.flatten().split(CHUNK), actual.flatten().split(CHUNK)):
        found = found.merge(_compare_chunk(ref, act, rtol, atol))
    return found


def _compare_chunk(reference: torch.Tensor, actual: torch.Tensor, rtol: float, atol: float) -> Difference:
    ref, act = reference.double(), actual.double()  # integers and bools too: exact unless atol >= 1
    same = (act == ref) | (ref.isnan() & act.isnan())  # equal infinities and NaNs in the same place agree
    difference = torch.nan_to_num(torch.where(same, torch.zeros_like(ref), (act - ref).abs()), nan=math.inf)
    allowed = atol + rtol * torch.nan_to_num(ref.abs(), nan=0.0)
    beyond = int((~(difference <= allowed) | (ref.isinf() & ~same)).sum())
    if not difference.numel():
        return Difference()
    large = ref.abs() > atol
    worst_rel = float((difference[large] / ref[large].abs()).max()) if bool(large.any()) else 0.0
    worst_share = float(torch.where(difference == 0, torch.zeros_like(difference), difference / allowed).max())
    return Difference(float(difference.max()), worst_rel, worst_share, beyond, ref.numel())
