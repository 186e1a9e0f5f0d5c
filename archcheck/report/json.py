"""The JSON report: a stable, documented format (docs/json-report.md), version 1."""

from __future__ import annotations

import json
from typing import Any

from archcheck.results import CheckResult
from archcheck.verifier import Report

FORMAT_VERSION = 1


def result_record(result: CheckResult) -> dict[str, Any]:
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
        "expected": result.expected or None,
        "actual": result.actual or None,
    }


def render_json(report: Report) -> str:
    document = {
        "format": FORMAT_VERSION,
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
    }
    return json.dumps(document, indent=2) + "\n"
