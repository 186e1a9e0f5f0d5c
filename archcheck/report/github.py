"""GitHub Actions workflow commands: each problem as an ``::error`` on its spec line in a pull request.

``::error file=specs/yolov4.yaml,line=27,col=10,title=archcheck shape: SPP::message``; a device or a
case that could not be checked is a ``::warning``. The same problem at many cases is one annotation
("and N more cases"), since GitHub shows only the first few per step.
"""

from __future__ import annotations

from typing import Sequence

from archcheck.report.grouping import repeats
from archcheck.results import Result


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, result: Result, more: int = 0) -> str:
    properties = []
    if result.location is not None:
        properties += [f"file={escape_property(result.location.file)}", f"line={result.location.line}", f"col={result.location.col}"]
    properties.append(f"title={escape_property(f'archcheck {result.rule}: {result.subject}')}")
    context = [f"at {result.case}"] if result.case is not None else []
    if result.device and result.device != result.subject:
        context.append(f"on {result.device}")
    message = " ".join([result.message or f"{result.subject} did not hold", *context])
    if more:
        message += f" (and {more} more like it)"
    return f"::{level} {','.join(properties)}::{escape_data(message)}"


def render_github(name: str, results: Sequence[Result], seconds: float = 0.0) -> str:
    lines = [command("error", first, count - 1) for first, count in repeats(r for r in results if r.failed)]
    lines += [command("warning", first, count - 1) for first, count in repeats(r for r in results if r.status == "skip" and r.rule in ("device", "domain"))]
    failed = sum(r.failed for r in results)
    passed = sum(r.status == "pass" for r in results)
    skipped = sum(r.status == "skip" for r in results)
    lines.append(f"{name}: {'FAILED' if failed else 'OK'}  {passed} passed, {failed} failed, {skipped} skipped in {seconds:.1f}s")
    return "\n".join(lines) + "\n"
