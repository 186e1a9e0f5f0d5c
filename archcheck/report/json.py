"""JSON for every command: one shape for a result, numbers as numbers, a ``format`` key (docs/json-report.md)."""

from __future__ import annotations

import json
from typing import Any

from archcheck.results import Report, Result

FORMAT_VERSION = 2  # 2: numbers as numbers; the same result record in verify, fuzz and resolutions


def result_record(result: Result) -> dict[str, Any]:
    """One result, the same in every command's JSON."""
    location = result.location
    return {
        "rule": result.rule,
        "subject": result.subject,
        "status": result.status,
        "section": result.section,
        "message": result.message,
        "file": location.file if location else None,
        "line": location.line if location else None,
        "col": location.col if location else None,
        "device": result.device or None,
        "case": result.case.as_dict() if result.case else None,
        "expected": None if result.expected == "" else result.expected,
        "actual": None if result.actual == "" else result.actual,
        "unit": result.unit or None,
    }


def document(command: str, body: dict[str, Any]) -> str:
    """A JSON document: the format version and the command first, then the command's own keys."""
    return json.dumps({"format": FORMAT_VERSION, "command": command} | body, indent=2) + "\n"


def render_json(report: Report) -> str:
    return document(
        "verify",
        {
            "spec": str(report.spec.path),
            "name": report.spec.name,
            "ok": report.ok,
            "summary": {
                "checks": len(report.results),
                "passed": report.count("pass"),
                "failed": report.count("fail"),
                "skipped": report.count("skip"),
                "seconds": round(report.seconds, 3),
            },
            "devices": list(report.devices),
            "cases": [c.as_dict() for c in report.cases],
            "results": [result_record(r) for r in report.results],
            "ran": {device: cases for device, cases in report.ran},
        },
    )
