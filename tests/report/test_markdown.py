"""Markdown for a PR comment or the step summary."""

from __future__ import annotations

from archcheck.report.markdown import render_markdown


def test_golden(report):
    assert render_markdown("archcheck verify toy", report.results, report.seconds, report.sections) == """\
## ❌ archcheck verify toy: FAILED

5 checks: 2 passed, 2 failed, 1 skipped in 1.5s

### Problems

- `toy.yaml:8:11` head [1, 5, 8, 8] != expected [B, 4, H/2, W/2]: dim 1 is 5, expected 4 (and 1 more like it) `[shape]`

### Parameters and FLOPs

| claim | expected | actual | |
| --- | ---: | ---: | --- |
| params.total | 1,234 | 1,234 | ✅ |

### head

| subject | spec line | result |
| --- | ---: | --- |
| ❌ head | 8 | 2 fail |

### body

| subject | spec line | result |
| --- | ---: | --- |
| ✅ stem | 10 | 1 pass |

### params

| subject | spec line | result |
| --- | ---: | --- |
| ✅ params.total | 11 | 1 pass |

### devices

| subject | spec line | result |
| --- | ---: | --- |
| ⏭️ cuda |  | 1 skip |
"""


def test_pipes_in_messages_do_not_break_the_table():
    from archcheck.results import Result

    text = render_markdown("t", [Result("shape", "a|b", "pass", section="s")])
    assert "| ✅ a\\|b |  | 1 pass |" in text
