"""A spec made from a command line instead of a file: ``FACTORY --input 1,3,224,224``.

``count``, ``graph``, ``snapshot`` and ``diff`` take a factory where they take a spec. The
inputs are written as the spec writes them and go through the same loader, so a factory named
here obeys the same trust model and every mistake is reported the same way.

    1,3,224,224               one positional input, x
    x=[B,3,H,W]               named: passed to forward by keyword
    tokens=2,16:int64         a dtype after a colon (integers are drawn from 0..1)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

from archcheck.errors import UsageError
from archcheck.spec.load import parse_spec
from archcheck.spec.records import Spec

SOURCE = "<command line>"
_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
_DIM = re.compile(r"^(?:\d+|[A-Za-z_][A-Za-z0-9_]*)$")


def is_factory(text: str | Path) -> bool:
    """``package.module:callable`` rather than a spec file's path."""
    text = str(text)
    return ":" in text and not text.endswith((".yaml", ".yml")) and not Path(text).exists()


def parse_input(text: str, index: int) -> tuple[str, list[int | str], str, bool]:
    """``x=[B,3,H,W]:float16`` -> ("x", ["B", 3, "H", "W"], "float16", keyword)."""
    found = _NAME.match(text.strip())
    name, body, keyword = (found[1], found[2], True) if found else ("x" if index == 0 else f"x{index + 1}", text.strip(), False)
    body, _, dtype = body.partition(":")
    items = [item.strip() for item in body.strip().strip("[]").split(",") if item.strip()]
    if not items or not all(_DIM.match(item) for item in items):
        raise UsageError(f"--input {text!r}: expected sizes or dim names separated by commas, e.g. 1,3,224,224 or x=[B,3,H,W]")
    return name, [int(i) if i.isdigit() else i for i in items], dtype.strip() or "float32", keyword


def parse_kwargs(pairs: Iterable[str]) -> dict[str, Any]:
    """``num_classes=80 widths=[8,16]`` -> {"num_classes": 80, "widths": [8, 16]} (YAML scalars and lists, nothing else)."""
    kwargs: dict[str, Any] = {}
    for pair in pairs:
        for part in _split_top(pair):
            name, sep, value = part.partition("=")
            if not sep or not name.strip().isidentifier():
                raise UsageError(f"--kwargs takes NAME=VALUE pairs, e.g. num_classes=80; got {part!r}")
            try:
                kwargs[name.strip()] = yaml.safe_load(value) if value.strip() else ""
            except yaml.YAMLError:
                raise UsageError(f"--kwargs {part!r}: {value!r} is not a YAML value") from None
    return kwargs


def adhoc_spec(factory: str, inputs: Sequence[str], kwargs: Mapping[str, Any] | None = None, dims: Mapping[str, Sequence[int]] | None = None, name: str = "") -> Spec:
    """A Spec for ``factory`` called with ``kwargs``, fed ``inputs``; named dims take ``dims``' values."""
    if not inputs:
        raise UsageError(f"{factory} names a factory, not a spec: give its inputs, e.g. --input 1,3,224,224")
    parsed = [parse_input(text, index) for index, text in enumerate(inputs)]
    names = [n for n, _, _, _ in parsed]
    if len(set(names)) != len(names):
        raise UsageError(f"--input names {', '.join(names)}: each input needs its own name")
    symbols = list(dict.fromkeys(d for _, shape, _, _ in parsed for d in shape if isinstance(d, str)))
    values = dict(dims or {})
    missing = [s for s in symbols if s not in values]
    if missing:
        raise UsageError(f"--input uses {', '.join(missing)}: give {'them' if len(missing) > 1 else 'it'} a value with --case, e.g. --case {','.join(f'{s}=224' for s in missing)}")
    document = {
        "archcheck": 1,
        "name": name or factory.rpartition(":")[2],
        "model": {"factory": factory, "kwargs": dict(kwargs or {})},
        "inputs": {n: ({"shape": shape, "dtype": dtype, "keyword": True} if keyword else (shape if dtype == "float32" else {"shape": shape, "dtype": dtype})) for n, shape, dtype, keyword in parsed},
        "dims": {s: {"values": list(values[s])} for s in symbols},
    }
    return parse_spec(yaml.safe_dump(document, sort_keys=False, default_flow_style=None), SOURCE, Path.cwd() / "adhoc.yaml")


def _split_top(text: str) -> list[str]:
    """Split ``a=1,b=[1,2]`` at the commas outside brackets."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "[{("
        depth -= char in "]})"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [p for p in [*parts, current] if p.strip()]
