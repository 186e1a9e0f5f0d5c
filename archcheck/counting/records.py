"""What counting produces: per-module parameters and compute buckets, and the conventions that view them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from archcheck.spec import Case

if TYPE_CHECKING:
    from archcheck.model import (
        Fallback,  # imports torch: records are read without it (the command line's parsers)
    )

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Tally:
    """Compute of one module (its children included) for one case, in buckets that add up.

    ``macs``: multiply-accumulates (conv, linear/matmul/bmm/einsum, attention).
    ``other``: one op per output element of elementwise work (bias, norm, activation, pool, add...).
    ``darknet_extra``: what Darknet adds to 2 x MACs: k*k*C*H_out*W_out per window pool and one
    op per element of each same-shape add (a residual shortcut).
    """

    macs: int = 0
    other: int = 0
    darknet_extra: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.macs + other.macs, self.other + other.other, self.darknet_extra + other.darknet_extra)


@dataclass(frozen=True)
class Convention:
    """A named view of the buckets, with the label printed beside every number."""

    name: str
    unit: str  # MACs or FLOPs
    note: str  # what kind of FLOPs: "2 x MACs", "Darknet"
    meaning: str
    of: Callable[[Tally], int]

    def label(self, prefix: str = "G") -> str:
        """``GMACs``, ``GFLOPs (2 x MACs)``, ``BFLOPs (Darknet)`` (Darknet says B for 1e9)."""
        prefix = "B" if self.name == "darknet" and prefix == "G" else prefix
        return f"{prefix}{self.unit}" + (f" ({self.note})" if self.note else "")


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention("macs", "MACs", "", "multiply-accumulates of conv, linear/matmul/bmm/einsum and attention (what fvcore, thop and ptflops print)", lambda t: t.macs),
        Convention("flops", "FLOPs", "2 x MACs", "2 x MACs, as torch's FlopCounterMode and most papers count", lambda t: 2 * t.macs),
        Convention("darknet", "FLOPs", "Darknet", "2 x MACs + k*k*C*H_out*W_out per max/avg pool + one op per element of each same-shape add, as Darknet prints BFLOPs", lambda t: 2 * t.macs + t.darknet_extra),
    )
}


@dataclass(frozen=True)
class ParamStats:
    """Parameters of a module, each shared tensor once; buffers (e.g. batch-norm statistics) apart."""

    total: int
    trainable: int
    buffers: int

    @property
    def frozen(self) -> int:
        return self.total - self.trainable


@dataclass(frozen=True)
class ModuleCount:
    path: str  # "" for the model itself
    type: str
    params: ParamStats
    compute: Tally
    calls: int  # 0: never called itself; its compute is the sum of its children's (a ModuleList)
    outputs: tuple[Shape, ...] = ()  # the tensors its first call returned, in order
    inputs: tuple[Shape, ...] = ()  # the tensors its first call took
    output_bytes: int = 0  # of every call's output tensors
    leaf: bool = False  # no submodules: its outputs are the activations summed in Memory.outputs

    @property
    def depth(self) -> int:
        return 0 if not self.path else self.path.count(".") + 1


@dataclass(frozen=True)
class Uncounted:
    """An op the counter has no cost for: listed, never silently counted as zero."""

    op: str
    calls: int
    module: str  # the innermost module where it was first seen


@dataclass(frozen=True)
class KindTotal:
    """All calls of one kind of op (conv, matmul, pointwise, ...) in the whole model."""

    kind: str
    calls: int
    compute: Tally


@dataclass(frozen=True)
class OpUse:
    """All calls of one aten op in one module (the innermost running), with their cost."""

    op: str  # aten.convolution
    module: str  # innermost module path ("" for the model itself)
    kind: str
    calls: int
    compute: Tally


@dataclass(frozen=True)
class Memory:
    """Bytes, estimated for inference (no gradients): weights and one forward pass's activations.

    ``outputs``: the sum of every leaf module call's output tensors (torchinfo's forward pass
    size, without its x 2 for backward); ``peak``: the most bytes of tensors made by ops that are
    alive at once, measured at the dispatch level (views share their storage; frees are seen as
    tensors die). Neither counts allocator rounding, workspaces or the framework's own memory.
    """

    params: int
    buffers: int
    outputs: int
    peak: int

    @property
    def weights(self) -> int:
        return self.params + self.buffers


@dataclass(frozen=True)
class CaseCount:
    """One forward pass counted: every module (``named_modules`` order, the model first)."""

    case: Case | None
    modules: tuple[ModuleCount, ...]
    kinds: tuple[KindTotal, ...]
    uncounted: tuple[Uncounted, ...] = ()
    ops: tuple[OpUse, ...] = ()  # costed ops per innermost module: what the engines' explanations name
    memory: Memory | None = None
    device: str = "meta"  # where the pass ran (cpu: a fallback, or forced)
    inputs: tuple[Shape, ...] = ()  # the model's input tensors

    @property
    def total(self) -> ModuleCount:
        return self.modules[0]

    def module(self, path: str) -> ModuleCount:
        return next(m for m in self.modules if m.path == path)


@dataclass(frozen=True)
class EngineCount:
    """A peer tool's number for one case, with what it counts and what it skips."""

    engine: str  # fvcore, torchinfo
    case: Case | None
    total: int  # in the engine's own unit, which for both peers is meant to be MACs
    modules: tuple[tuple[str, int], ...]  # per module path
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CountReport:
    spec_name: str
    spec_path: Path | None
    convention: Convention
    cases: tuple[CaseCount, ...]
    engines: tuple[EngineCount, ...] = ()
    seconds: float = 0.0
    fallbacks: tuple[Fallback, ...] = ()  # where the build or a case could not run on meta, and why

    @property
    def params(self) -> ParamStats:
        return self.cases[0].total.params

    def value(self, path: str = "", case: int = 0) -> int:
        """The chosen convention's number for a module (default: the whole model) at a case."""
        return self.convention.of(self.cases[case].module(path).compute)
