"""The structure of a spec file, as ``schema.py`` states it, read by plain Python: the fast path.

``read(data)`` returns the records when every key and value already has the type that
``schema.py`` asks for, else None, and then pydantic checks the document and says what is
wrong. Importing pydantic and building its models costs more than the whole count of a
network, so a well-formed spec goes without it.

Nothing is converted here but what pydantic converts the same way (an int, or a number written
as a string like ``1e-4``, where a float is asked for; a two-item list for a range): whatever
this module reads, pydantic reads the same. ``tests/spec/test_plain_schema.py`` holds the two
schemas to that, field by field and on drawn documents.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T")
Reader = Callable[[Any], Any]


class _Unread(Exception):
    """A value of another type than the schema's: pydantic decides (it may convert it, or refuse it)."""


@dataclass(frozen=True)
class RawModel:
    factory: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None


@dataclass(frozen=True)
class RawInput:
    shape: list[Any]
    dtype: str = "float32"
    keyword: bool = False
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class RawDim:
    values: list[int] | None = None
    range: tuple[int, int] | None = None
    multiple_of: int | None = None


@dataclass(frozen=True)
class RawParams:
    total: int | float | str | None = None
    trainable: int | float | str | None = None
    modules: dict[str, int | float | str] = field(default_factory=dict)
    tolerance: int | float | str | None = None


@dataclass(frozen=True)
class RawFlops:
    convention: str = "macs"
    case: dict[str, int] = field(default_factory=dict)
    total: int | float | str | None = None
    modules: dict[str, int | float | str] = field(default_factory=dict)
    tolerance: int | float | str | None = None


@dataclass(frozen=True)
class RawParity:
    rtol: float = 1e-4
    atol: float = 1e-5


@dataclass(frozen=True, kw_only=True)  # keyword-only: the fields in schema.py's order
class RawSpec:
    archcheck: int
    name: str
    description: str | None = None
    model: RawModel
    inputs: dict[str, list[Any] | RawInput]
    dims: dict[str, RawDim] = field(default_factory=dict)
    define: dict[str, int | str] = field(default_factory=dict)
    modules: dict[str, Any] = field(default_factory=dict)
    outputs: list[Any] | dict[str, Any] | None = None
    constraints: list[str] = field(default_factory=list)
    params: RawParams | None = None
    flops: RawFlops | None = None
    devices: list[str] = field(default_factory=lambda: ["meta", "cpu"])
    cases: dict[str, str | list[dict[str, int]]] = field(default_factory=dict)
    parity: RawParity = field(default_factory=RawParity)


def read(data: Any) -> RawSpec | None:
    """The records of a document whose every value has its schema type; None: pydantic must decide."""
    try:
        return _spec(data)
    except _Unread:
        return None


# -- readers: each returns the value as pydantic would, or raises _Unread --------------------------

_DECIMAL = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")  # what YAML leaves a string: 1e-4
_EXACT_FLOAT = 2**53  # beyond it an int's float is rounded: pydantic's to say
DTYPES = frozenset({"float32", "float16", "bfloat16", "float64", "int64", "int32", "uint8", "bool"})
CONVENTIONS = frozenset({"macs", "flops", "darknet"})


def _of(kind: type) -> Reader:
    """Exactly this type (``bool`` is no ``int`` here, as for pydantic's strict types)."""

    def exactly(value: Any) -> Any:
        if type(value) is not kind:
            raise _Unread
        return value

    return exactly


_str, _int, _bool = _of(str), _of(int), _of(bool)


def _any(value: Any) -> Any:
    return value


def _float(value: Any) -> float:
    """pydantic's lax float: a float, an int, a decimal string."""
    if type(value) is float:
        return value
    if type(value) is int and abs(value) <= _EXACT_FLOAT:
        return float(value)
    if type(value) is str and _DECIMAL.fullmatch(value) and math.isfinite(number := float(value)):
        return number
    raise _Unread


def _quantity(value: Any) -> int | float | str:
    """``Union[StrictInt, float, StrictStr]`` kept as written: 64363101, 1.5e9, "64.36M"."""
    if type(value) in (int, float, str):
        return value  # type: ignore[no-any-return]
    raise _Unread


def _scalar(value: Any) -> int | str:
    if type(value) in (int, str):
        return value  # type: ignore[no-any-return]
    raise _Unread


def _one_of(choices: frozenset[str]) -> Reader:
    def chosen(value: Any) -> str:
        if type(value) is not str or value not in choices:
            raise _Unread
        return value

    return chosen


def _optional(reader: Reader) -> Reader:
    return lambda value: None if value is None else reader(value)


def _list_of(reader: Reader) -> Reader:
    def items(value: Any) -> list[Any]:
        if type(value) is not list:
            raise _Unread
        return [reader(item) for item in value]

    return items


def _dict_of(reader: Reader) -> Reader:
    """A mapping with string keys."""

    def entries(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise _Unread
        return {_str(key): reader(item) for key, item in value.items()}

    return entries


_list, _dict = _list_of(_any), _dict_of(_any)


def _shape_item(value: Any) -> Any:
    """``Union[StrictInt, StrictStr, list, dict[str, Any], None]``: one entry of a shape."""
    if value is None or type(value) in (int, str):
        return value
    if type(value) is list:
        return list(value)
    return _dict(value)


_shape = _list_of(_shape_item)


def _positive(value: Any) -> int:
    if _int(value) <= 0:
        raise _Unread
    return value  # type: ignore[no-any-return]


def _pair(value: Any) -> tuple[int, int]:
    if type(value) not in (list, tuple) or len(value) != 2:
        raise _Unread
    return (_int(value[0]), _int(value[1]))


def _spec_format(value: Any) -> int:
    if type(value) is not int or value != 1:
        raise _Unread
    return value


def _record(kind: type[T], readers: dict[str, Reader]) -> Callable[[Any], T]:
    """A mapping of exactly the record's keys (the required ones present), each read by its reader."""
    names = {f.name for f in fields(kind)}  # type: ignore[arg-type]
    required = {f.name for f in fields(kind) if f.default is MISSING and f.default_factory is MISSING}  # type: ignore[arg-type]
    assert names == set(readers), f"{kind.__name__}: a reader per field"

    def record(value: Any) -> T:
        if type(value) is not dict or not value.keys() <= names or not required <= value.keys():
            raise _Unread
        return kind(**{key: readers[key](item) for key, item in value.items()})

    return record


_model = _record(RawModel, {"factory": _str, "kwargs": _dict, "weights": _optional(_str)})
_input = _record(RawInput, {"shape": _shape, "dtype": _one_of(DTYPES), "keyword": _bool, "low": _optional(_int), "high": _optional(_int)})
_dim = _record(RawDim, {"values": _optional(_list_of(_int)), "range": _optional(_pair), "multiple_of": _optional(_positive)})
_params = _record(RawParams, {"total": _optional(_quantity), "trainable": _optional(_quantity), "modules": _dict_of(_quantity), "tolerance": _optional(_quantity)})
_flops = _record(
    RawFlops,
    {"convention": _one_of(CONVENTIONS), "case": _dict_of(_int), "total": _optional(_quantity), "modules": _dict_of(_quantity), "tolerance": _optional(_quantity)},
)
_parity = _record(RawParity, {"rtol": _float, "atol": _float})


def _input_entry(value: Any) -> list[Any] | RawInput:
    return _shape(value) if type(value) is list else _input(value)


def _outputs(value: Any) -> list[Any] | dict[str, Any]:
    return _shape(value) if type(value) is list else _dict(value)


def _device_cases(value: Any) -> str | list[dict[str, int]]:
    return value if type(value) is str else _list_of(_dict_of(_int))(value)


_spec = _record(
    RawSpec,
    {
        "archcheck": _spec_format,
        "name": _str,
        "description": _optional(_str),
        "model": _model,
        "inputs": _dict_of(_input_entry),
        "dims": _dict_of(_dim),
        "define": _dict_of(_scalar),
        "modules": _dict,
        "outputs": _optional(_outputs),
        "constraints": _list_of(_str),
        "params": _optional(_params),
        "flops": _optional(_flops),
        "devices": _list_of(_str),
        "cases": _dict_of(_device_cases),
        "parity": _parity,
    },
)
