"""The structure of a spec file (format version 1), checked by pydantic.

This layer only checks keys and types; expressions and shapes are parsed in
``load.py``, where each string becomes a typed record with its position.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

Scalar = Union[StrictInt, StrictStr]
ShapeItem = Union[Scalar, list[Any], dict[str, Any], None]  # None: ``null`` in a tuple output
Quantity = Union[StrictInt, float, StrictStr]  # 64363101, 1.5e9, "64.36M"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RawModel(_Strict):
    factory: StrictStr
    kwargs: dict[StrictStr, Any] = Field(default_factory=dict)
    weights: Optional[StrictStr] = None


class RawInput(_Strict):
    shape: list[ShapeItem]
    dtype: Literal["float32", "float16", "bfloat16", "float64", "int64", "int32", "uint8", "bool"] = "float32"
    keyword: StrictBool = False  # passed as forward(..., name=tensor) instead of by position
    low: Optional[StrictInt] = None  # integer inputs: values drawn from [low, high)
    high: Optional[StrictInt] = None


class RawDim(_Strict):
    values: Optional[list[StrictInt]] = None
    range: Optional[tuple[StrictInt, StrictInt]] = None
    multiple_of: Optional[StrictInt] = Field(default=None, gt=0)


class RawParams(_Strict):
    total: Optional[Quantity] = None
    trainable: Optional[Quantity] = None
    modules: dict[StrictStr, Quantity] = Field(default_factory=dict)
    tolerance: Optional[Quantity] = None  # default: to the precision the numbers are written with


class RawFlops(_Strict):
    convention: Literal["macs", "flops", "darknet"] = "macs"
    case: dict[StrictStr, StrictInt] = Field(default_factory=dict)
    total: Optional[Quantity] = None
    modules: dict[StrictStr, Quantity] = Field(default_factory=dict)
    tolerance: Optional[Quantity] = None  # default: to the precision the numbers are written with


class RawParity(_Strict):
    rtol: float = 1e-4
    atol: float = 1e-5


class RawSpec(_Strict):
    archcheck: Literal[1]
    name: StrictStr
    description: Optional[StrictStr] = None
    model: RawModel
    inputs: dict[StrictStr, Union[list[ShapeItem], RawInput]]
    dims: dict[StrictStr, RawDim] = Field(default_factory=dict)
    define: dict[StrictStr, Scalar] = Field(default_factory=dict)
    # ``{section: {path: shape}}`` or flat ``{path: shape}``, mixed; sorted out in load.py
    modules: dict[StrictStr, Any] = Field(default_factory=dict)
    outputs: Optional[Union[list[ShapeItem], dict[StrictStr, Any]]] = None
    constraints: list[StrictStr] = Field(default_factory=list)  # "(H/16)*(W/16) <= 256"
    params: Optional[RawParams] = None
    flops: Optional[RawFlops] = None
    devices: list[StrictStr] = Field(default_factory=lambda: ["meta", "cpu"])
    # which cases a device runs: {cpu: smallest}; all (the default), first, smallest, or a list of dim bindings
    cases: dict[StrictStr, Union[StrictStr, list[dict[StrictStr, StrictInt]]]] = Field(default_factory=dict)
    parity: RawParity = Field(default_factory=RawParity)
