"""Stage 5, report: every renderer of every command, one module per format. Imports no torch.

Each renderer is a pure function of records (``results.Report``, ``Result``s, a command's own report)
to text: ``text`` (rich, for people), ``json`` (documented in docs/json-report.md), ``junit`` (CI
test reporters), ``markdown`` (PR comments, step summaries), ``github`` (annotations on spec lines).
"""

from __future__ import annotations

from typing import Sequence

from archcheck.report.github import render_github
from archcheck.report.junit import render_junit
from archcheck.report.markdown import render_markdown
from archcheck.results import Result

FORMATS = ("text", "json", "junit", "markdown", "github")
CI_FORMATS = ("junit", "markdown", "github")


def render_results(form: str, title: str, results: Sequence[Result], seconds: float = 0.0, sections: Sequence[str] = (), note: str = "") -> str:
    """Any command's results as JUnit, Markdown or GitHub annotations (``form`` in CI_FORMATS)."""
    if form == "junit":
        return render_junit(title, results, seconds, sections)
    if form == "markdown":
        return render_markdown(title, results, seconds, sections, note)
    if form == "github":
        return render_github(title, results, seconds)
    raise ValueError(f"not a CI format: {form!r}")
