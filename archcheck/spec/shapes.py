"""Symbolic shapes: ``[B, 256, H/8, W/8]``, wildcards ``_`` and ``...``, tuples and dicts of shapes.

A ``ShapePattern`` is one tensor's shape; a ``TuplePattern`` is the shape of a
tuple or list output, item by item; a ``DictPattern`` is a dict output, key by
key (keys checked both ways). Inside a tuple or dict, ``NonePattern`` (``null``)
is exactly None and ``AnyValue`` (``_``) is anything. ``match`` compares a
pattern with what a module really produced and returns a reason ("" when it
holds), never a bool.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping, Union

from archcheck.errors import Location
from archcheck.spec.expr import Expr, ExprError


class AnySize:
    """``_``: one dimension of any size."""

    def __str__(self) -> str:
        return "_"

    def __repr__(self) -> str:
        return "AnySize()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnySize)

    def __hash__(self) -> int:
        return hash("_")


class AnyDims:
    """``...``: any number of dimensions of any size."""

    def __str__(self) -> str:
        return "..."

    def __repr__(self) -> str:
        return "AnyDims()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyDims)

    def __hash__(self) -> int:
        return hash("...")


DimPattern = Union[Expr, AnySize, AnyDims]


@dataclass(frozen=True)
class ShapePattern:
    dims: tuple[DimPattern, ...]
    location: Location | None = None
    dim_locations: tuple[Location | None, ...] = ()

    def __str__(self) -> str:
        return "[" + ", ".join(str(d) for d in self.dims) + "]"

    @property
    def names(self) -> frozenset[str]:
        return frozenset().union(*(d.names for d in self.dims if isinstance(d, Expr)))

    def concrete(self, env: Mapping[str, Fraction | int]) -> tuple[int, ...]:
        """The shape at a case; every dim must be an expression."""
        if any(not isinstance(d, Expr) for d in self.dims):
            raise ExprError(f"{self} has wildcards, so it names no single shape")
        return tuple(d.evaluate(env) for d in self.dims)  # type: ignore[union-attr]


@dataclass(frozen=True)
class TuplePattern:
    items: tuple[Pattern, ...]
    location: Location | None = None

    def __str__(self) -> str:
        return "[" + ", ".join(str(i) for i in self.items) + "]"

    @property
    def names(self) -> frozenset[str]:
        return frozenset().union(*(i.names for i in self.items))


@dataclass(frozen=True)
class DictPattern:
    """``{boxes: [B, 100, 4], scores: [B, 100]}``: a dict output with exactly these keys."""

    items: tuple[tuple[str, Pattern], ...]
    location: Location | None = None

    def __str__(self) -> str:
        return "{" + ", ".join(f"{k}: {p}" for k, p in self.items) + "}"

    @property
    def names(self) -> frozenset[str]:
        return frozenset().union(*(p.names for _, p in self.items))


@dataclass(frozen=True)
class NonePattern:
    """``null`` in a tuple or dict: exactly None (``nn.MultiheadAttention`` returns ``(out, None)``)."""

    location: Location | None = None

    def __str__(self) -> str:
        return "null"

    @property
    def names(self) -> frozenset[str]:
        return frozenset()


@dataclass(frozen=True)
class AnyValue:
    """``_`` in a tuple or dict: any value at all, tensor or not."""

    location: Location | None = None

    def __str__(self) -> str:
        return "_"

    @property
    def names(self) -> frozenset[str]:
        return frozenset()


Pattern = Union[ShapePattern, TuplePattern, DictPattern, NonePattern, AnyValue]


@dataclass(frozen=True)
class TensorInfo:
    """What was seen of one tensor."""

    shape: tuple[int, ...]
    dtype: str

    def __str__(self) -> str:
        return "[" + ", ".join(map(str, self.shape)) + "]"


@dataclass(frozen=True)
class OtherValue:
    """A non-tensor value where a tensor could have been (None, an int, a dict...)."""

    type_name: str

    def __str__(self) -> str:
        return self.type_name


@dataclass(frozen=True)
class DictValue:
    """A dict (or other mapping) output: its keys, in order, each with what was seen."""

    items: tuple[tuple[str, Value], ...]

    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.items)

    def __str__(self) -> str:
        return format_value(self)


Value = Union[TensorInfo, OtherValue, DictValue, tuple["Value", ...]]


def format_value(value: Value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, DictValue):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items) + "}"
    return str(value)


def expected_text(pattern: Pattern, env: Mapping[str, Fraction | int]) -> str:
    """``[B, 256, H/8, W/8]`` with its value at the case: ``[B, 256, H/8, W/8] = [1, 256, 76, 76]``."""
    concrete = _concrete_text(pattern, env)
    return str(pattern) if concrete == str(pattern) else f"{pattern} = {concrete}"


def _concrete_text(pattern: Pattern, env: Mapping[str, Fraction | int]) -> str:
    if isinstance(pattern, TuplePattern):
        return "[" + ", ".join(_concrete_text(i, env) for i in pattern.items) + "]"
    if isinstance(pattern, DictPattern):
        return "{" + ", ".join(f"{k}: {_concrete_text(p, env)}" for k, p in pattern.items) + "}"
    if isinstance(pattern, (NonePattern, AnyValue)):
        return str(pattern)
    values = []
    for dim in pattern.dims:
        if isinstance(dim, Expr):
            try:
                values.append(str(dim.evaluate(env)))
            except ExprError:
                values.append("?")
        else:
            values.append(str(dim))
    return "[" + ", ".join(values) + "]"


def match(pattern: Pattern, actual: Value, env: Mapping[str, Fraction | int]) -> str:
    """Why ``actual`` does not fit ``pattern`` at the case ``env``; "" when it does.

    Raises ExprError when the pattern itself has no value at this case (``H/8`` at H=415).
    """
    if isinstance(pattern, AnyValue):
        return ""
    if isinstance(pattern, NonePattern):
        return "" if actual == OtherValue("NoneType") else f"expected None, got {format_value(actual)}"
    if isinstance(pattern, TuplePattern):
        if not isinstance(actual, tuple):
            return f"expected a tuple of {len(pattern.items)} tensors, got {format_value(actual)}"
        if len(actual) != len(pattern.items):
            return f"expected {len(pattern.items)} outputs, got {len(actual)}"
        for index, (item, value) in enumerate(zip(pattern.items, actual)):
            reason = match(item, value, env)
            if reason:
                return f"output {index}: {reason}"
        return ""
    if isinstance(pattern, DictPattern):
        return _match_dict(pattern, actual, env)
    if not isinstance(actual, TensorInfo):
        return f"expected a tensor, got {format_value(actual)}"
    return _match_dims(pattern.dims, actual.shape, env)


def _match_dict(pattern: DictPattern, actual: Value, env: Mapping[str, Fraction | int]) -> str:
    wanted = [k for k, _ in pattern.items]
    if not isinstance(actual, DictValue):
        return f"expected a dict with keys {', '.join(wanted)}, got {format_value(actual)}"
    seen = dict(actual.items)
    reasons = []
    missing = [k for k in wanted if k not in seen]
    extra = [k for k in seen if k not in wanted]
    if missing:
        reasons.append(f"missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if extra:
        reasons.append(f"unexpected key{'s' if len(extra) > 1 else ''} {', '.join(extra)}")
    for key, item in pattern.items:
        if key in seen:
            reason = match(item, seen[key], env)
            if reason:
                reasons.append(f"output {key!r}: {reason}")
    return "; ".join(reasons)


def _match_dims(dims: tuple[DimPattern, ...], shape: tuple[int, ...], env: Mapping[str, Fraction | int]) -> str:
    if any(isinstance(d, AnyDims) for d in dims):
        cut = next(i for i, d in enumerate(dims) if isinstance(d, AnyDims))
        head, tail = dims[:cut], dims[cut + 1 :]
        if len(shape) < len(head) + len(tail):
            return f"rank {len(shape)} is less than the {len(head) + len(tail)} fixed dims"
        reason = _match_dims(head, shape[: len(head)], env)
        if reason or not tail:
            return reason
        return _match_dims(tail, shape[len(shape) - len(tail) :], env)
    if len(dims) != len(shape):
        return f"rank {len(shape)} != expected rank {len(dims)}"
    wrong = []
    for position, (dim, size) in enumerate(zip(dims, shape)):
        if isinstance(dim, Expr):
            want = dim.evaluate(env)
            if want != size:
                shown = str(want) if str(dim) == str(want) else f"{dim} = {want}"
                wrong.append(f"dim {position} is {size}, expected {shown}")
    return "; ".join(wrong)
