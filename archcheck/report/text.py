"""The text report: a table per spec section, then every problem, then one summary line."""

from __future__ import annotations

from collections import Counter, defaultdict
from io import StringIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from archcheck.results import Number, Report, Result
from archcheck.units import scale_for

MAX_REPEATS = 3  # the same problem at more cases is summarised after this many lines
_STYLE = {"pass": "green", "fail": "bold red", "skip": "yellow"}
_MARK = {"pass": "ok", "fail": "FAIL", "skip": "skip"}
NOTED_SECTIONS = ("parity", "dataparallel", "ddp")  # what passed there still has something to say: worst differences, advice


def render_text(report: Report, color: bool = False, width: int = 120) -> str:
    buffer = StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False)
    spec = report.spec
    console.print(Text.assemble(("archcheck verify ", "bold"), str(spec.path), f"  ({spec.name}; {_devices_and_cases(report)})"), soft_wrap=True)
    by_section: dict[str, list[Result]] = defaultdict(list)
    for result in report.results:
        by_section[result.section].append(result)
    order = list(report.sections or dict.fromkeys(m.section for m in spec.modules))
    for section, results in sorted(by_section.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)):
        console.print(_section_table(section, results))
    problems = report.problems
    if problems:
        console.print(Text("\nProblems", style="bold red"))
        repeats: Counter[tuple[object, ...]] = Counter()
        for problem in problems:
            key = (problem.location, problem.rule, problem.subject)
            repeats[key] += 1
            if repeats[key] <= MAX_REPEATS:
                console.print(Text(problem.headline()), soft_wrap=True)
        for key, count in repeats.items():
            if count > MAX_REPEATS:
                console.print(Text(f"{key[0]}: ... and {count - MAX_REPEATS} more like the above for {key[2]} [{key[1]}]", style="dim"), soft_wrap=True)
    skips = [r for r in report.results if r.status == "skip" and r.rule in ("device", "domain")]
    for skip in dict.fromkeys(skips):
        console.print(Text(skip.headline(), style="yellow"), soft_wrap=True)
    notes = [r for r in report.results if not r.failed and r.message and (r.section in NOTED_SECTIONS or r.rule == "fallback") and (r.rule != "parity" or r.subject == r.device)]
    if notes:
        console.print(Text("\nNotes", style="bold"))
        for note in dict.fromkeys(f"{r.device or r.subject}: {r.message}" for r in notes):
            console.print(Text(note), soft_wrap=True)
    verdict = ("FAILED", "bold red") if problems else ("OK", "bold green")
    console.print(
        Text.assemble(
            "\n",
            verdict,
            f"  {len(report.results)} checks: {report.count('pass')} passed, {report.count('fail')} failed, {report.count('skip')} skipped in {report.seconds:.1f}s",
        )
    )
    return buffer.getvalue()


def _devices_and_cases(report: Report) -> str:
    """``devices meta, cpu; 8 cases``, or ``8 cases on meta, 1 on cpu`` when a spec's ``cases:`` runs fewer on some."""
    counts = dict(report.ran)
    if not counts or len(set(counts.values())) == 1 and all(n == len(report.cases) for n in counts.values()):
        return f"devices {', '.join(report.devices)}; {len(report.cases)} cases"
    parts = [f"{counts[d]} case{'s' if counts[d] != 1 else ''} on {d}" if i == 0 else f"{counts[d]} on {d}" for i, d in enumerate(d for d in report.devices if d in counts)]
    return ", ".join(parts)


def _section_table(section: str, results: list[Result]) -> Table:
    table = Table(title=section or "general", title_justify="left", title_style="bold", show_edge=False, pad_edge=False)
    table.add_column("subject")
    table.add_column("spec line", style="dim")
    table.add_column("expected")
    table.add_column("result")
    rows: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        rows[result.subject].append(result)
    for subject, checks in rows.items():
        tally = Counter(r.status for r in checks)
        status = "fail" if tally["fail"] else ("pass" if tally["pass"] else "skip")
        parts = [f"{tally[s]} {_MARK[s]}" for s in ("pass", "fail", "skip") if tally[s]]
        line = str(checks[0].location.line) if checks[0].location else ""
        first = next((r for r in checks if r.expected != ""), None)
        shown = _short(first.expected, first.unit) if first else ""
        table.add_row(subject, line, shown, Text(", ".join(parts), style=_STYLE[status]))
    return table


def _short(expected: Number | str, unit: str = "") -> str:
    """The symbolic part of ``[B, 64, H/2, W/2] = [1, 64, 208, 208]`` (it holds at every case);
    counts with commas; quantities with a unit scaled: ``60.137 GFLOPs (Darknet)``."""
    if isinstance(expected, str):
        return expected.split(" = ")[0]
    if unit:
        scale, prefix = scale_for(expected)
        return f"{expected / scale:,.3f} {prefix}{unit}"
    return f"{int(expected):,}" if float(expected).is_integer() else f"{expected:,.6g}"
