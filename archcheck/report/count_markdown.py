"""The count report as Markdown: per case, a table of modules with parameters and compute."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archcheck.units import scale_for

if TYPE_CHECKING:
    from archcheck.counting.records import CountReport


def render_count_markdown(report: CountReport, depth: int = 1) -> str:
    convention = report.convention
    params = report.params
    lines = [f"## archcheck count {report.spec_name}", "", f"convention **{convention.name}**: {convention.meaning}", ""]
    lines.append(f"parameters: {params.total:,} total, {params.trainable:,} trainable, {params.frozen:,} frozen; buffers {params.buffers:,}")
    scale, prefix = scale_for(max(convention.of(c.total.compute) for c in report.cases))
    unit = convention.label(prefix)
    for case in report.cases:
        lines += ["", f"### at {case.case}", "", f"| module | type | params | {unit} |", "| --- | --- | ---: | ---: |"]
        for module in case.modules:
            if module.path and module.path.count(".") < depth:
                lines.append(f"| {module.path} | {module.type} | {module.params.total:,} | {convention.of(module.compute) / scale:,.3f} |")
        lines.append(f"| **total** | | **{case.total.params.total:,}** | **{convention.of(case.total.compute) / scale:,.3f}** |")
    return "\n".join(lines) + "\n"
