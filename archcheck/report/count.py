"""The count report: text (a rich table per case), JSON and Markdown. Imports no torch."""

from __future__ import annotations

from io import StringIO
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from archcheck.report.json import document
from archcheck.units import scale_for

if TYPE_CHECKING:
    from archcheck.counting.records import CaseCount, CountReport, EngineCount, Memory, ModuleCount, Shape

def _shown(value: int, scale: float) -> str:
    return f"{value:,}" if scale == 1 else f"{value / scale:,.3f}"


def mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB" if size >= 2**17 else f"{size / 2**10:,.1f} KiB"


def shapes_text(shapes: tuple[Shape, ...], limit: int = 1) -> str:
    """``[1, 64, 208, 208]``; several tensors: the first ``limit``, then ``+N`` (more tensors)."""
    shown = ", ".join(f"[{', '.join(map(str, s))}]" for s in shapes[:limit])
    return shown + (f" +{len(shapes) - limit}" if len(shapes) > limit else "")


def case_title(case: CaseCount) -> str:
    """``B=1, H=416, W=416``, or the input shapes when no dim is named (a factory's fixed --input)."""
    if case.case is not None and case.case.bindings:
        return str(case.case)
    return f"input {shapes_text(case.inputs, 4)}"


def memory_line(memory: Memory) -> str:
    return (
        f"memory (estimate, inference): weights {mib(memory.weights)} (parameters {mib(memory.params)}, buffers {mib(memory.buffers)}); "
        f"activations: module outputs {mib(memory.outputs)} (sum over leaf modules), peak live {mib(memory.peak)}"
    )


def fallback_lines(report: CountReport) -> list[str]:
    return [f"fallback: {f}" for f in report.fallbacks]


def render_text(report: CountReport, depth: int = 1, color: bool = False, width: int = 120, verbose: bool = False) -> str:
    """``verbose`` adds each module's input shapes (and widens the page for them)."""
    width += 30 if verbose else 0
    buffer = StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False, markup=False, emoji=False)
    convention = report.convention
    where = f"{report.spec_path}  " if report.spec_path else ""
    console.print(Text.assemble(("archcheck count ", "bold"), f"{where}({report.spec_name}; convention {convention.name}: {convention.meaning})"), soft_wrap=True)
    params = report.params
    console.print(f"parameters: {params.total:,} total, {params.trainable:,} trainable, {params.frozen:,} frozen; buffers: {params.buffers:,} (shared tensors counted once)")
    for line in fallback_lines(report):
        console.print(Text(line, style="yellow"), soft_wrap=True)
    scale, prefix = scale_for(max(convention.of(c.total.compute) for c in report.cases))
    for case in report.cases:
        console.print(_case_table(report, case, depth, scale, prefix, verbose))
        total = case.total.compute
        line = f"total at {case_title(case)}: {_shown(total.macs, scale)} {prefix}MACs, {_shown(total.other, scale)} {prefix} other ops"
        if convention.name != "macs":
            line += f", {_shown(convention.of(total), scale)} {convention.label(prefix)}"
        console.print(line, soft_wrap=True)
        if case.memory is not None:
            console.print(memory_line(case.memory) + (f" (on {case.device})" if case.device != "meta" else ""), soft_wrap=True)
        engines = [e for e in report.engines if e.case == case.case]
        if engines:
            console.print(_engine_table(report.spec_name, case, engines, depth, scale, prefix))
            for engine in engines:
                console.print(Text(f"{engine.engine}:", style="bold"))
                for reason in engine.reasons:
                    console.print(f"  - {reason}", soft_wrap=True)
    for line in uncounted_lines(report):
        console.print(Text(line, style="yellow"), soft_wrap=True)
    if len(report.cases) > 1:
        console.print(_totals_table(report, scale, prefix))
    return buffer.getvalue()


def uncounted_lines(report: CountReport) -> list[str]:
    """Ops without a cost, once each with their calls (summed over cases)."""
    calls: dict[str, int] = {}
    first: dict[str, str] = {}
    for case in report.cases:
        for item in case.uncounted:
            calls[item.op] = calls.get(item.op, 0) + item.calls
            first.setdefault(item.op, item.module)
    if not calls:
        return []
    lines = [f"uncounted ops (no cost formula; not in the totals, not zero): {len(calls)}"]
    lines += [f"  {op} x{n} (first in {first[op] or 'the model'})" for op, n in calls.items()]
    return lines


def _rows(case: CaseCount, depth: int) -> list[ModuleCount]:
    return [m for m in case.modules if m.depth <= depth]


def _name(module: ModuleCount, spec_name: str) -> str:
    if not module.path:
        return f"{spec_name} (model)"
    return "  " * (module.depth - 1) + "└ " + module.path.rsplit(".", 1)[-1]


def _case_table(report: CountReport, case: CaseCount, depth: int, scale: float, prefix: str, verbose: bool = False) -> Table:
    convention = report.convention
    where = f" (on {case.device})" if case.device != "meta" else ""
    table = Table(title=f"case {case_title(case)}{where}", title_justify="left", title_style="bold", show_edge=False, pad_edge=False)
    table.add_column("module", no_wrap=True)
    table.add_column("type", style="dim")
    if verbose:
        table.add_column("input shape", no_wrap=True)
    table.add_column("output shape", no_wrap=True)
    table.add_column("params", justify="right")
    table.add_column(f"{prefix}MACs", justify="right")
    table.add_column(f"other ops ({prefix})", justify="right")
    if convention.name != "macs":
        table.add_column(convention.label(prefix), justify="right", style="bold")
    for module in _rows(case, depth):
        shapes = [shapes_text(module.inputs)] if verbose else []
        cells = [_name(module, report.spec_name), module.type, *shapes, shapes_text(module.outputs), f"{module.params.total:,}", _shown(module.compute.macs, scale), _shown(module.compute.other, scale)]
        if convention.name != "macs":
            cells.append(_shown(convention.of(module.compute), scale))
        table.add_row(*cells)
    return table


def _engine_table(spec_name: str, case: CaseCount, engines: list[EngineCount], depth: int, scale: float, prefix: str) -> Table:
    table = Table(title=f"engines at {case_title(case)} ({prefix}, each in its own unit)", title_justify="left", title_style="bold", show_edge=False, pad_edge=False)
    table.add_column("module")
    table.add_column(f"archcheck {prefix}MACs", justify="right")
    for engine in engines:
        table.add_column(f"{engine.engine}", justify="right")
    values = [dict(e.modules) for e in engines]
    for module in _rows(case, depth):
        table.add_row(_name(module, spec_name), _shown(module.compute.macs, scale), *(_shown(v.get(module.path, 0), scale) for v in values))
    return table


def _totals_table(report: CountReport, scale: float, prefix: str) -> Table:
    convention = report.convention
    table = Table(title="totals", title_justify="left", title_style="bold", show_edge=False, pad_edge=False)
    for header in ("case", f"{prefix}MACs", f"other ops ({prefix})", convention.label(prefix)):
        table.add_column(header, justify="right" if header != "case" else "left")
    for case in report.cases:
        total = case.total.compute
        table.add_row(case_title(case), _shown(total.macs, scale), _shown(total.other, scale), _shown(convention.of(total), scale))
    return table


def render_json(report: CountReport) -> str:
    convention = report.convention

    def module(m: ModuleCount) -> dict[str, object]:
        return {
            "path": m.path,
            "type": m.type,
            "calls": m.calls,
            "input_shapes": [list(shape) for shape in m.inputs],
            "output_shapes": [list(shape) for shape in m.outputs],
            "output_bytes": m.output_bytes,
            "params": {"total": m.params.total, "trainable": m.params.trainable, "frozen": m.params.frozen, "buffers": m.params.buffers},
            "macs": m.compute.macs,
            "other": m.compute.other,
            "darknet_extra": m.compute.darknet_extra,
            convention.name: convention.of(m.compute),
        }

    def memory(m: Memory) -> dict[str, object]:
        return {"estimate": True, "params_bytes": m.params, "buffers_bytes": m.buffers, "activation_outputs_bytes": m.outputs, "activation_peak_bytes": m.peak}

    body = {
        "name": report.spec_name,
        "spec": str(report.spec_path) if report.spec_path else None,
        "convention": {"name": convention.name, "label": convention.label(), "meaning": convention.meaning},
        "cases": [
            {
                "case": c.case.as_dict() if c.case else {},
                "device": c.device,
                "inputs": [list(shape) for shape in c.inputs],
                "total": module(c.total),
                "memory": memory(c.memory) if c.memory else None,
                "modules": [module(m) for m in c.modules],
                "kinds": [{"kind": k.kind, "calls": k.calls, "macs": k.compute.macs, "other": k.compute.other, "darknet_extra": k.compute.darknet_extra} for k in c.kinds],
                "uncounted": [{"op": u.op, "calls": u.calls, "module": u.module} for u in c.uncounted],
            }
            for c in report.cases
        ],
        "engines": [
            {"engine": e.engine, "case": e.case.as_dict() if e.case else {}, "total": e.total, "modules": dict(e.modules), "reasons": list(e.reasons)}
            for e in report.engines
        ],
        "fallbacks": [{"stage": f.stage, "device": f.device, "reason": f.reason, "cases": f.cases, "text": str(f)} for f in report.fallbacks],
        "seconds": round(report.seconds, 3),
    }
    return document("count", body)


def render_count_markdown(report: CountReport, depth: int = 1) -> str:
    """Per case a table of modules (output shape, params, compute), the memory estimate and any fallback."""
    convention = report.convention
    params = report.params
    lines = [f"## archcheck count {report.spec_name}", "", f"convention **{convention.name}**: {convention.meaning}", ""]
    lines.append(f"parameters: {params.total:,} total, {params.trainable:,} trainable, {params.frozen:,} frozen; buffers {params.buffers:,}")
    lines += [f"- {line}" for line in fallback_lines(report)]
    scale, prefix = scale_for(max(convention.of(c.total.compute) for c in report.cases))
    unit = convention.label(prefix)
    for case in report.cases:
        lines += ["", f"### at {case_title(case)}", "", f"| module | type | output shape | params | {unit} |", "| --- | --- | --- | ---: | ---: |"]
        for module in case.modules:
            if module.path and module.path.count(".") < depth:
                lines.append(f"| {module.path} | {module.type} | {shapes_text(module.outputs)} | {module.params.total:,} | {convention.of(module.compute) / scale:,.3f} |")
        lines.append(f"| **total** | | {shapes_text(case.total.outputs)} | **{case.total.params.total:,}** | **{convention.of(case.total.compute) / scale:,.3f}** |")
        if case.memory:
            lines += ["", memory_line(case.memory)]
    return "\n".join(lines) + "\n"
