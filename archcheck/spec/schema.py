"""The structure of a spec file (format version 1), checked by pydantic.

This layer only checks keys and types; expressions and shapes are parsed in
``load.py``, where each string becomes a typed record with its position.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

Scalar = Union[StrictInt, StrictStr]
ShapeItem = Union[Scalar, list[Any], dict[str, Any]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RawModel(_Strict):
    factory: StrictStr
    kwargs: dict[StrictStr, Any] = Field(default_factory=dict)
    weights: Optional[StrictStr] = None


class RawInput(_Strict):
    shape: list[ShapeItem]
    dtype: Literal["float32", "float16", "bfloat16", "float64", "int64", "int32", "uint8", "bool"] = "float32"


class RawDim(_Strict):
    values: Optional[list[StrictInt]] = None
    range: Optional[tuple[StrictInt, StrictInt]] = None
    multiple_of: Optional[StrictInt] = Field(default=None, gt=0)


class RawParams(_Strict):
    total: Optional[StrictInt] = None
    trainable: Optional[StrictInt] = None
    modules: dict[StrictStr, StrictInt] = Field(default_factory=dict)


class RawFlops(_Strict):
    convention: Literal["macs", "flops", "darknet"] = "macs"
    case: dict[StrictStr, StrictInt] = Field(default_factory=dict)
    total: Optional[Union[StrictInt, float, StrictStr]] = None
    modules: dict[StrictStr, Union[StrictInt, float, StrictStr]] = Field(default_factory=dict)
    tolerance: Union[StrictInt, float, StrictStr] = 0


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
    modules: dict[StrictStr, dict[StrictStr, Union[list[ShapeItem], dict[StrictStr, Any]]]] = Field(default_factory=dict)
    outputs: Optional[Union[list[ShapeItem], dict[StrictStr, Any]]] = None
    params: Optional[RawParams] = None
    flops: Optional[RawFlops] = None
    devices: list[StrictStr] = Field(default_factory=lambda: ["meta", "cpu"])
    parity: RawParity = Field(default_factory=RawParity)
