"""JUnit XML, as CI systems read it (GitLab, Jenkins, GitHub test reporters).

One ``<testsuite>`` per report section, one ``<testcase>`` per check subject in it. A subject
with a failed check has a ``<failure>`` whose message is the first ``file:line:col`` headline and
whose text lists every failed headline; a subject whose checks were all skipped is ``<skipped>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Sequence

from archcheck.report.grouping import by_section, by_subject, verdict
from archcheck.results import Result


def render_junit(name: str, results: Sequence[Result], seconds: float = 0.0, sections: Sequence[str] = ()) -> str:
    """``name``: the suite's name (the spec's name and the command, e.g. ``archcheck verify yolov4``)."""
    root = ET.Element("testsuites", name=name, tests="0", failures="0", errors="0", skipped="0", time=f"{seconds:.3f}")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for section, in_section in by_section(results, sections):
        suite = ET.SubElement(root, "testsuite", name=f"{name}: {section or 'general'}")
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for subject, checks in by_subject(in_section):
            first = checks[0]
            case = ET.SubElement(suite, "testcase", name=subject, classname=f"{name}.{section or 'general'}", time="0")
            if first.location is not None:
                case.set("file", first.location.file)
                case.set("line", str(first.location.line))
            counts["tests"] += 1
            status = verdict(checks)
            if status == "fail":
                failed = [r for r in checks if r.failed]
                failure = ET.SubElement(case, "failure", message=failed[0].headline(), type=failed[0].rule)
                failure.text = "\n".join(r.headline() for r in failed)
                counts["failures"] += 1
            elif status == "skip":
                ET.SubElement(case, "skipped", message=first.headline())
                counts["skipped"] += 1
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", "0")
        suite.set("skipped", str(counts["skipped"]))
        suite.set("time", "0")
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
