"""``cases: {cpu: smallest}``: which cases a device runs, and a report that says what ran where."""

from __future__ import annotations

import pytest

from archcheck import SpecError, verify
from archcheck.spec import Case, parse_spec
from archcheck.spec.domain import cases_for
from toy import toy_spec

SPEC = toy_spec("  B: {values: [1, 2]}\n  H: {values: [16, 32]}\n  W: {values: [16]}\n", "outputs: [B, 4, H/2, W/2]\ndevices: [meta, cpu]\n")


def spec_with(cases: str):
    return parse_spec(SPEC + f"cases: {cases}\n", "s.yaml")


@pytest.mark.parametrize(
    ("choice", "device", "chosen"),
    [
        ("{cpu: smallest}", "cpu", ["B=1, H=16, W=16"]),
        ("{cpu: smallest}", "meta", ["B=1, H=16, W=16", "B=1, H=32, W=16", "B=2, H=16, W=16", "B=2, H=32, W=16"]),
        ("{cpu: first}", "cpu", ["B=1, H=16, W=16"]),
        ("{cpu: all}", "cpu", ["B=1, H=16, W=16", "B=1, H=32, W=16", "B=2, H=16, W=16", "B=2, H=32, W=16"]),
        ("{cpu: [{H: 32}, {B: 1, H: 16}]}", "cpu", ["B=1, H=16, W=16", "B=1, H=32, W=16", "B=2, H=32, W=16"]),
        ("{cuda: first}", "cuda:1", ["B=1, H=16, W=16"]),
        ("{ddp: first}", "ddp:gloo", ["B=1, H=16, W=16"]),
    ],
)
def test_each_device_runs_the_cases_it_is_given(choice, device, chosen):
    spec = spec_with(choice)
    assert [str(c) for c in cases_for(spec, device, spec.cases())] == chosen


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ("{cpu: smalest}", "s.yaml:12:14: error: cases.cpu must be one of all, first, smallest or a list of dim bindings, got 'smalest'"),
        ("{gpu: all}", "s.yaml:12:9: error: unknown device 'gpu'; expected meta, cpu, cuda, cuda:N, dp or ddp (ddp:gloo, ddp:nccl)"),
        ("{cpu: [{Hh: 16}]}", "s.yaml:12:16: error: cases.cpu names 'Hh', which is not a dim; did you mean 'H'?"),
    ],
)
def test_bad_choices_are_spec_errors_at_their_line(choice, message):
    with pytest.raises(SpecError) as error:
        spec_with(choice)
    assert str(error.value) == message


def test_the_report_says_what_ran_where(write_spec):
    path = write_spec(SPEC + "cases: {cpu: smallest}\n")
    report = verify(path)
    assert report.ok and dict(report.ran) == {"meta": 4, "cpu": 1}
    assert {r.case for r in report.results if r.device == "cpu"} == {Case.of({"B": 1, "H": 16, "W": 16})}
    assert str(report).splitlines()[0] == f"archcheck verify {path}  (toy; 4 cases on meta, 1 on cpu)"
