from archcheck.errors import Location
from archcheck.report.text import render_text
from archcheck.results import CheckResult, Report
from archcheck.spec import Case, parse_spec

SPEC = parse_spec(
    "archcheck: 1\nname: toy\nmodel: {factory: toy:two_scale}\ninputs: {x: [B, 3, H, W]}\n"
    "dims: {B: {values: [1]}, H: {values: [16, 32, 48, 64, 80]}, W: {values: [16]}}\n"
    "modules:\n  head:\n    head: [B, 4, H/2, W/2]\n  body:\n    stem: [B, 8, H, W]\n",
    "toy.yaml",
)
AT = Location("toy.yaml", 8, 11)


def shape_result(status: str, h: int) -> CheckResult:
    case = Case((("B", 1), ("H", h), ("W", 16)))
    message = "" if status == "pass" else f"head [1, 5, {h // 2}, 8] != expected [B, 4, H/2, W/2]: dim 1 is 5, expected 4"
    return CheckResult("shape", "head", status, section="head", message=message, location=AT, device="meta", case=case, expected="[B, 4, H/2, W/2] = [...]")


def render(results) -> str:
    report = Report(SPEC, ("meta",), tuple(SPEC.cases()), tuple(results), 1.25)
    return render_text(report, width=200)


def test_sections_in_spec_order_then_the_rest_and_a_summary_line():
    results = [
        CheckResult("params", "params.total", "pass", section="params"),
        CheckResult("shape", "stem", "pass", section="body"),
        shape_result("pass", 16),
    ]
    lines = render(results).splitlines()
    titles = [line.strip() for line in lines if line.strip() in ("head", "body", "params")]
    assert titles == ["head", "body", "params"]
    assert lines[0] == "archcheck verify toy.yaml  (toy; devices meta; 5 cases)"
    assert lines[-1] == "OK  3 checks: 3 passed, 0 failed, 0 skipped in 1.2s"


def test_a_problem_repeated_at_many_cases_is_shown_three_times_then_counted():
    text = render([shape_result("fail", h) for h in (16, 32, 48, 64, 80)])
    problems = [line for line in text.splitlines() if line.startswith("toy.yaml:8:11:")]
    assert problems[:3] == [
        "toy.yaml:8:11: error: head [1, 5, 8, 8] != expected [B, 4, H/2, W/2]: dim 1 is 5, expected 4 at B=1, H=16, W=16 on meta [shape]",
        "toy.yaml:8:11: error: head [1, 5, 16, 8] != expected [B, 4, H/2, W/2]: dim 1 is 5, expected 4 at B=1, H=32, W=16 on meta [shape]",
        "toy.yaml:8:11: error: head [1, 5, 24, 8] != expected [B, 4, H/2, W/2]: dim 1 is 5, expected 4 at B=1, H=48, W=16 on meta [shape]",
    ]
    assert problems[3] == "toy.yaml:8:11: ... and 2 more like the above for head [shape]"
    assert text.splitlines()[-1] == "FAILED  5 checks: 0 passed, 5 failed, 0 skipped in 1.2s"


def test_the_table_tallies_each_subject():
    text = render([shape_result("pass", 16), shape_result("pass", 32), shape_result("fail", 48)])
    row = next(line for line in text.splitlines() if line.startswith("head ") and "│" in line)
    assert row.split("│")[-1].strip() == "2 ok, 1 FAIL"
    assert "[B, 4, H/2, W/2]" in row and "= [...]" not in row  # the symbolic shape, which holds at every case


def test_notes_show_what_passing_parity_and_ddp_checks_have_to_say():
    results = [
        CheckResult("parity", "cuda:0", "pass", section="parity", message="worst difference from the cpu on cuda:0: max abs diff 3.1e-06, max rel diff 2e-05, 12% of the tolerance (head at B=1, H=16, W=16)", device="cuda:0"),
        CheckResult("parity", "head", "pass", section="parity", message="head matches the cpu: max abs diff 3.1e-06", device="cuda:0"),
        CheckResult("ddp-batchnorm", "BatchNorm in train mode", "skip", section="ddp", message="1 BatchNorm layers (bn) normalise with each process's own batch in train mode", device="ddp"),
    ]
    lines = render(results).splitlines()
    notes = lines[lines.index("Notes") + 1 :]
    assert notes[:2] == [
        "cuda:0: worst difference from the cpu on cuda:0: max abs diff 3.1e-06, max rel diff 2e-05, 12% of the tolerance (head at B=1, H=16, W=16)",
        "ddp: 1 BatchNorm layers (bn) normalise with each process's own batch in train mode",
    ]  # the per-module parity lines stay in the table
