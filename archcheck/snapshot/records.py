"""What a snapshot found: the domain of each dim, and per module its output formula, params and compute.

Shapes are kept as the spec writes them: a tensor is a tuple of formula texts
(``("B", "256", "H/8", "W/8")``), a tuple output a list, a dict output a dict,
None is None and ``"_"`` is anything; a module called with different shapes is
``Calls``. No torch here: diff and report/ use these records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Calls:
    """A module called several times, with a different shape per call."""

    shapes: tuple[Any, ...]


@dataclass(frozen=True)
class DimDomain:
    """One dim: the sizes it was seen to run at, and the domain and values the spec claims."""

    name: str
    values: tuple[int, ...]
    range: tuple[int, int] | None = None
    multiple_of: int | None = None
    runs: str = ""  # "H >= 25 with H % 32 in {0, 25..31}", from the sweep
    swept: tuple[int, int] | None = None


@dataclass(frozen=True)
class InputShot:
    name: str
    shape: tuple[str, ...]
    dtype: str = "float32"
    keyword: bool = False


@dataclass(frozen=True)
class ModuleShot:
    path: str
    section: str  # "" for a flat entry
    type: str
    shape: Any  # see the module docstring
    params: int
    compute: int | None = None  # in the snapshot's convention at its flops case


@dataclass(frozen=True)
class Snapshot:
    name: str
    factory: str
    kwargs: Mapping[str, Any]
    inputs: tuple[InputShot, ...]
    dims: tuple[DimDomain, ...]
    modules: tuple[ModuleShot, ...]
    outputs: Any
    params_total: int
    section_params: tuple[tuple[str, int], ...]  # the model's top-level children
    convention: str
    flops_case: tuple[tuple[str, int], ...]
    flops_total: int
    unfitted: tuple[str, ...] = ()  # "conv1 dim 2": sizes no formula fitted (written as _)
    notes: tuple[str, ...] = field(default=())

    def module(self, path: str) -> ModuleShot | None:
        return next((m for m in self.modules if m.path == path), None)


def shape_text(shape: Any) -> str:
    """The shape as a spec writes it in flow style: ``[B, 256, H/8, W/8]``, ``{boxes: [B, 4]}``, ``null``."""
    if shape is None:
        return "null"
    if isinstance(shape, str):
        return shape
    if isinstance(shape, tuple):
        return "[" + ", ".join(shape) + "]"
    if isinstance(shape, list):
        return "[" + ", ".join(shape_text(s) for s in shape) + "]"
    if isinstance(shape, Calls):
        return "{calls: " + shape_text(list(shape.shapes)) + "}"
    return "{" + ", ".join(f"{k}: {shape_text(v)}" for k, v in shape.items()) + "}"
