"""Joint constraints between dims hold in every command that makes cases: verify, strategies, fuzz, resolutions."""

from __future__ import annotations

from hypothesis import given, settings
from toy import toy_spec

from archcheck import fuzz, resolutions, verify
from archcheck.spec import Case, parse_spec
from archcheck.strategies import cases

SPEC = toy_spec(
    "  B: {values: [1]}\n  H: {range: [8, 64], multiple_of: 8, values: [16, 64]}\n  W: {values: [32]}\n",
    'constraints: ["H * W <= 1024"]\noutputs: [B, 4, H/2, W/2]\n',
)
CONSTRAINED = parse_spec(SPEC, "c.yaml")


@settings(max_examples=40, deadline=None)
@given(cases(CONSTRAINED))
def test_strategies_draw_only_cases_that_meet_the_constraints(case: Case):
    assert case.as_dict()["H"] * case.as_dict()["W"] <= 1024


def test_verify_skips_the_values_that_break_a_constraint(write_spec):
    report = verify(write_spec(SPEC), devices=["meta"])
    assert [str(c) for c in report.cases] == ["B=1, H=16, W=32"] and report.ok


def test_fuzz_and_resolutions_claim_only_what_the_constraints_allow(write_spec):
    path = write_spec(SPEC)
    assert fuzz(path, examples=10).ok
    (dim,) = resolutions(path, ["H"], (8, 64)).dims
    assert dim.claimed == (8, 16, 24, 32)  # 40..64 times W=32 is over 1024
    assert dim.verdict.startswith("inside the accepted set, but narrower than it need be")
