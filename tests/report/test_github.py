"""GitHub workflow commands: golden, and parsed by the documented syntax ``::level key=value,...::message``."""

from __future__ import annotations

import re

from archcheck.report.github import render_github
from archcheck.results import Result

COMMAND = re.compile(r"^::(?P<level>error|warning|notice)(?: (?P<props>[^:]*))?::(?P<message>.*)$")


def unescape(text: str) -> str:
    return text.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def parse(line: str) -> dict:
    match = COMMAND.match(line)
    assert match, line
    props = dict(item.split("=", 1) for item in match["props"].split(",")) if match["props"] else {}
    return {"level": match["level"], **{k: unescape(v) for k, v in props.items()}, "message": unescape(match["message"])}


def test_golden(report):
    assert render_github("archcheck verify toy", report.results, report.seconds) == (
        "::error file=toy.yaml,line=8,col=11,title=archcheck shape%3A head::head [1, 5, 8, 8] != expected [B, 4, H/2, W/2]: dim 1 is 5, expected 4 at B=1, H=16, W=16 on meta (and 1 more like it)\n"
        "::warning title=archcheck device%3A cuda::device cuda did not run: no CUDA GPU is visible\n"
        "archcheck verify toy: FAILED  2 passed, 2 failed, 1 skipped in 1.5s\n"
    )


def test_each_problem_lands_on_its_spec_line(report):
    lines = render_github("archcheck verify toy", report.results).splitlines()
    error = parse(lines[0])
    assert (error["level"], error["file"], error["line"], error["col"]) == ("error", "toy.yaml", "8", "11")
    assert error["title"] == "archcheck shape: head"
    assert error["message"].startswith("head [1, 5, 8, 8] != expected [B, 4, H/2, W/2]: dim 1 is 5")


def test_newlines_commas_and_percent_are_escaped():
    odd = Result("crash", "x,y", "fail", message="50% of it\nfailed: here")
    (line, _) = render_github("t", [odd]).splitlines()
    assert "\n" not in line
    parsed = parse(line)
    assert parsed["title"] == "archcheck crash: x,y"
    assert parsed["message"] == "50% of it\nfailed: here"
