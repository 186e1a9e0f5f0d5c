"""Count reports as text (a rich tree table per case) or JSON."""

from __future__ import annotations

import json
from io import StringIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from archcheck.counting.records import CaseCount, CountReport, EngineCount, ModuleCount

_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"), (1, ""))


def scale_for(value: int) -> tuple[float, str]:
    """The unit that shows ``value`` with a few digits before the point: 1e9 -> G."""
    return next(((s, p) for s, p in _PREFIXES if value >= s), (1, ""))


def _shown(value: int, scale: float) -> str:
    return f"{value:,}" if scale == 1 else f"{value / scale:,.3f}"


def render_text(report: CountReport, depth: int = 1, color: bool = False, width: int = 120) -> str:
    buffer = StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False)
    convention = report.convention
    where = f"{report.spec_path}  " if report.spec_path else ""
    console.print(Text.assemble(("archcheck count ", "bold"), f"{where}({report.spec_name}; convention {convention.name}: {convention.meaning})"), soft_wrap=True)
    params = report.params
    console.print(f"parameters: {params.total:,} total, {params.trainable:,} trainable, {params.frozen:,} frozen; buffers: {params.buffers:,} (shared tensors counted once)")
    scale, prefix = scale_for(max(convention.of(c.total.compute) for c in report.cases))
    for case in report.cases:
        console.print(_case_table(report, case, depth, scale, prefix))
        total = case.total.compute
        line = f"total at {case.case}: {_shown(total.macs, scale)} {prefix}MACs, {_shown(total.other, scale)} {prefix} other ops"
        if convention.name != "macs":
            line += f", {_shown(convention.of(total), scale)} {convention.label(prefix)}"
        console.print(line, soft_wrap=True)
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


def _case_table(report: CountReport, case: CaseCount, depth: int, scale: float, prefix: str) -> Table:
    convention = report.convention
    table = Table(title=f"case {case.case}", title_justify="left", title_style="bold", show_edge=False, pad_edge=False)
    table.add_column("module")
    table.add_column("type", style="dim")
    table.add_column("params", justify="right")
    table.add_column(f"{prefix}MACs", justify="right")
    table.add_column(f"other ops ({prefix})", justify="right")
    if convention.name != "macs":
        table.add_column(convention.label(prefix), justify="right", style="bold")
    for module in _rows(case, depth):
        cells = [_name(module, report.spec_name), module.type, f"{module.params.total:,}", _shown(module.compute.macs, scale), _shown(module.compute.other, scale)]
        if convention.name != "macs":
            cells.append(_shown(convention.of(module.compute), scale))
        table.add_row(*cells)
    return table


def _engine_table(spec_name: str, case: CaseCount, engines: list[EngineCount], depth: int, scale: float, prefix: str) -> Table:
    table = Table(title=f"engines at {case.case} ({prefix}, each in its own unit)", title_justify="left", title_style="bold", show_edge=False, pad_edge=False)
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
        table.add_row(str(case.case), _shown(total.macs, scale), _shown(total.other, scale), _shown(convention.of(total), scale))
    return table


def render_json(report: CountReport) -> str:
    convention = report.convention

    def module(m: ModuleCount) -> dict[str, object]:
        return {
            "path": m.path,
            "type": m.type,
            "calls": m.calls,
            "params": {"total": m.params.total, "trainable": m.params.trainable, "frozen": m.params.frozen, "buffers": m.params.buffers},
            "macs": m.compute.macs,
            "other": m.compute.other,
            "darknet_extra": m.compute.darknet_extra,
            convention.name: convention.of(m.compute),
        }

    document = {
        "spec": report.spec_name,
        "path": str(report.spec_path) if report.spec_path else None,
        "convention": {"name": convention.name, "label": convention.label(), "meaning": convention.meaning},
        "cases": [
            {
                "case": c.case.as_dict() if c.case else {},
                "total": module(c.total),
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
        "seconds": round(report.seconds, 3),
    }
    return json.dumps(document, indent=2) + "\n"
