"""A Snapshot as a spec: ordered, commented, flow-style shapes, readable as if written by hand."""

from __future__ import annotations

import datetime
from typing import Any

import yaml

from archcheck.snapshot.records import Calls, DimDomain, Snapshot, shape_text


def write_spec(snapshot: Snapshot, command: str = "", version: str = "unknown", today: datetime.date | None = None) -> str:
    """The spec text; ``command`` and ``version`` go in the header comment."""
    day = (today or datetime.date.today()).isoformat()
    lines = [
        f"# Snapshot of {snapshot.factory}" + (f", made by `{command}`" if command else ""),
        f"# with archcheck {version} on {day}. Every formula below was fitted on the meta device at swept",
        "# sizes and checked at sizes it was not fitted to; the spec was verified before it was written.",
    ]
    if snapshot.unfitted:
        lines.append(f"# No formula fitted (written _): {'; '.join(snapshot.unfitted)}")
    lines += ["archcheck: 1", f"name: {_scalar(snapshot.name)}", "model:", f"  factory: {snapshot.factory}"]
    if snapshot.kwargs:
        lines.append(f"  kwargs: {_flow(dict(snapshot.kwargs))}")
    lines.append("inputs:")
    for shot in snapshot.inputs:
        shape = shape_text(shot.shape)
        if shot.dtype == "float32" and not shot.keyword:
            lines.append(f"  {shot.name}: {shape}")
        else:
            extra = f", dtype: {shot.dtype}" if shot.dtype != "float32" else ""
            extra += ", keyword: true" if shot.keyword else ""
            lines.append(f"  {shot.name}: {{shape: {shape}{extra}}}")
    lines.append("dims:")
    for dim in snapshot.dims:
        lines += _dim(dim)
    lines += _modules(snapshot)
    if snapshot.outputs != "_":
        lines.append(f"outputs: {shape_text(snapshot.outputs)}")
    lines += ["params:", f"  total: {snapshot.params_total}", "  modules:"]
    lines += [f"    {name}: {count}" for name, count in snapshot.section_params]
    case = ", ".join(f"{n}: {v}" for n, v in snapshot.flops_case)
    lines += ["flops:", f"  convention: {snapshot.convention}", f"  case: {{{case}}}", f"  total: {snapshot.flops_total}        # {_human(snapshot.flops_total)} {snapshot.convention}, exact"]
    lines.append("devices: [meta, cpu]")
    return "\n".join(lines) + "\n"


def _dim(dim: DimDomain) -> list[str]:
    values = f"values: [{', '.join(map(str, dim.values))}]"
    if dim.range is None:
        comment = [f"  # runs for {dim.runs} (swept {dim.swept[0]}..{dim.swept[1]}); no range/multiple_of describes that set"] if dim.runs else []
        return comment + [f"  {dim.name}: {{{values}}}"]
    claim = f"multiples of {dim.multiple_of}" if dim.multiple_of else "every size"
    assert dim.swept is not None
    comment = f"  # runs for {dim.runs} (swept {dim.swept[0]}..{dim.swept[1]}); formulas hold for {claim} from {dim.range[0]} to {dim.range[1]}"
    step = f", multiple_of: {dim.multiple_of}" if dim.multiple_of else ""
    return [comment, f"  {dim.name}: {{range: [{dim.range[0]}, {dim.range[1]}]{step}, {values}}}"]


def _modules(snapshot: Snapshot) -> list[str]:
    lines = ["modules:"]
    open_section = None
    for shot in snapshot.modules:
        if shot.shape == "_":
            lines.append(f"  # {shot.path}: no formula fitted its output")
            continue
        section = shot.section or (shot.path if isinstance(shot.shape, dict) and not isinstance(shot.shape, Calls) else "")
        if section and section != open_section:
            lines.append(f"  {_key(section)}:")
        open_section = section
        indent = "    " if section else "  "
        lines.append(f"{indent}{_key(shot.path)}: {shape_text(shot.shape)}")
    return lines


def _flow(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False).strip()


def _scalar(value: str) -> str:
    return yaml.safe_dump(value, default_style=None, width=10**6).strip().removesuffix("\n...").removesuffix("...").strip()


def _key(path: str) -> str:
    return path if path.replace(".", "").replace("_", "").isalnum() else _scalar(path)


def _human(number: int) -> str:
    for prefix, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if number >= size:
            return f"{number / size:.2f} {prefix}"
    return str(number)
