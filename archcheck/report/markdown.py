"""Markdown for a pull-request comment or ``$GITHUB_STEP_SUMMARY``: verdict, a table per section,
the problems with their spec lines, and the parameter and FLOPs claims."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from archcheck.report.grouping import by_section, by_subject, repeats, verdict
from archcheck.results import Number, Result
from archcheck.units import scale_for

_MARK = {"pass": "✅", "fail": "❌", "skip": "⏭️"}


def cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def number(value: Number | str, unit: str = "") -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if unit:
        scale, prefix = scale_for(value)
        return f"{value / scale:,.3f} {prefix}{unit}"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.6g}"


def render_markdown(title: str, results: Sequence[Result], seconds: float = 0.0, sections: Sequence[str] = (), note: str = "") -> str:
    tally = Counter(r.status for r in results)
    ok = not tally["fail"]
    lines = [f"## {'✅' if ok else '❌'} {title}: {'OK' if ok else 'FAILED'}", ""]
    lines.append(f"{len(results)} checks: {tally['pass']} passed, {tally['fail']} failed, {tally['skip']} skipped in {seconds:.1f}s" + (f"; {note}" if note else ""))
    problems = repeats(r for r in results if r.failed)
    if problems:
        lines += ["", "### Problems", ""]
        for first, count in problems:
            more = f" (and {count - 1} more like it)" if count > 1 else ""
            lines.append(f"- `{first.location or first.subject}` {cell(first.message)}{more} `[{first.rule}]`")
    numbers = [r for r in results if r.rule in ("params", "flops")]
    if numbers:
        lines += ["", "### Parameters and FLOPs", "", "| claim | expected | actual | |", "| --- | ---: | ---: | --- |"]
        for r in numbers:
            lines.append(f"| {cell(r.subject)} | {number(r.expected, r.unit)} | {number(r.actual, r.unit)} | {_MARK[r.status]} |")
    for section, in_section in by_section(results, sections):
        lines += ["", f"### {section or 'general'}", "", "| subject | spec line | result |", "| --- | ---: | --- |"]
        for subject, checks in by_subject(in_section):
            count = Counter(r.status for r in checks)
            shown = ", ".join(f"{count[s]} {s}" for s in ("pass", "fail", "skip") if count[s])
            line = checks[0].location.line if checks[0].location else ""
            lines.append(f"| {_MARK[verdict(checks)]} {cell(subject)} | {line} | {shown} |")
    return "\n".join(lines) + "\n"
