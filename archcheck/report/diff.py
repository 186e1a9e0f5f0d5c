"""Render a snapshot diff as text, JSON or Markdown (no torch here)."""

from __future__ import annotations

import json
from dataclasses import asdict

from archcheck.snapshot.diff import Diff, ModuleChange


def render_diff(diff: Diff, format: str = "text") -> str:
    if format == "json":
        return _json(diff)
    if format == "markdown":
        return _markdown(diff)
    return _text(diff)


def summary(diff: Diff) -> str:
    if diff.equal:
        return f"{diff.old_name} -> {diff.new_name}: no difference"
    return f"{diff.old_name} -> {diff.new_name}: {diff.count('changed')} modules changed, {diff.count('added')} added, {diff.count('removed')} removed"


def _signed(number: int) -> str:
    return f"{number:+,}"


def _pair(old: int, new: int) -> str:
    return f"{old:,} -> {new:,} ({_signed(new - old)})" if old != new else f"{new:,}"


def _what(change: ModuleChange, unit: str) -> list[str]:
    parts = []
    if change.kind == "changed":
        if change.old_type != change.new_type:
            parts.append(f"{change.old_type} -> {change.new_type}")
        if change.old_shape != change.new_shape:
            parts.append(f"{change.old_shape} -> {change.new_shape}")
        else:
            parts.append(change.new_shape)
    else:
        parts.append(f"{change.new_type or change.old_type} {change.new_shape or change.old_shape}")
    if change.params_delta:
        parts.append(f"params {_pair(change.old_params, change.new_params)}")
    if change.compute_delta:
        parts.append(f"{unit} {_pair(change.old_compute, change.new_compute)}")
    if change.inside:
        parts.append(f"{'new' if change.kind != 'removed' and change.new_type else 'gone'} inside: {', '.join(change.inside)}")
    return parts


MARK = {"changed": "~", "added": "+", "removed": "-"}


def _text(diff: Diff) -> str:
    lines = [summary(diff)]
    width = max((len(c.path) for c in diff.changes), default=0)
    for change in diff.changes:
        lines.append(f"  {MARK[change.kind]} {change.path:<{width}}  " + "  ".join(_what(change, diff.convention)))
    if diff.old_outputs != diff.new_outputs:
        lines.append(f"outputs: {diff.old_outputs} -> {diff.new_outputs}")
    for name, old, new in diff.domains:
        lines.append(f"domain of {name}: {old} -> {new}")
    lines.append(f"params: {_pair(diff.old_params, diff.new_params)}")
    case = diff.new_case if diff.old_case == diff.new_case else f"{diff.old_case} / {diff.new_case}"
    delta = diff.new_compute - diff.old_compute
    percent = f", {100 * delta / diff.old_compute:+.2f}%" if diff.old_compute else ""
    amount = f"{diff.old_compute:,} -> {diff.new_compute:,} ({_signed(delta)}{percent})" if delta else f"{diff.new_compute:,}"
    lines.append(f"{diff.convention} at {case}: {amount}")
    return "\n".join(lines) + "\n"


def _json(diff: Diff) -> str:
    data = asdict(diff)
    data["equal"] = diff.equal
    data["params_delta"] = diff.new_params - diff.old_params
    data["compute_delta"] = diff.new_compute - diff.old_compute
    return json.dumps(data, indent=2) + "\n"


def _markdown(diff: Diff) -> str:
    lines = [f"### {summary(diff)}", ""]
    if diff.changes:
        lines += ["| | module | change | params | " + diff.convention + " |", "| --- | --- | --- | --- | --- |"]
        for c in diff.changes:
            what = "; ".join(p for p in _what(c, diff.convention) if not p.startswith(("params ", diff.convention + " ")))
            lines.append(f"| {MARK[c.kind]} | `{c.path}` | {what} | {_signed(c.params_delta)} | {_signed(c.compute_delta)} |")
        lines.append("")
    lines.append(f"- params: {_pair(diff.old_params, diff.new_params)}")
    lines.append(f"- {diff.convention} at {diff.new_case}: {_pair(diff.old_compute, diff.new_compute)}")
    return "\n".join(lines) + "\n"
