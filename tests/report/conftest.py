"""Results to render, shared by the report tests: a passing shape, a failing one at two cases, params, a skipped device."""

from __future__ import annotations

import pytest

from archcheck.errors import Location
from archcheck.results import Report, Result
from archcheck.spec import Case, parse_spec

SPEC = parse_spec(
    "archcheck: 1\nname: toy\nmodel: {factory: toy:two_scale}\ninputs: {x: [B, 3, H, W]}\n"
    "dims: {B: {values: [1]}, H: {values: [16, 32]}, W: {values: [16]}}\n"
    "modules:\n  head:\n    head: [B, 4, H/2, W/2]\n  body:\n    stem: [B, 8, H, W]\n",
    "toy.yaml",
)
HEAD = Location("toy.yaml", 8, 11)
STEM = Location("toy.yaml", 10, 11)


def case(h: int) -> Case:
    return Case((("B", 1), ("H", h), ("W", 16)))


RESULTS = (
    Result("shape", "stem", "pass", section="body", location=STEM, device="meta", case=case(16), expected="[B, 8, H, W] = [1, 8, 16, 16]", actual="[1, 8, 16, 16]"),
    Result("shape", "head", "fail", section="head", message="head [1, 5, 8, 8] != expected [B, 4, H/2, W/2]: dim 1 is 5, expected 4", location=HEAD, device="meta", case=case(16)),
    Result("shape", "head", "fail", section="head", message="head [1, 5, 16, 8] != expected [B, 4, H/2, W/2]: dim 1 is 5, expected 4", location=HEAD, device="meta", case=case(32)),
    Result("params", "params.total", "pass", section="params", location=Location("toy.yaml", 11, 16), expected=1234, actual=1234),
    Result("device", "cuda", "skip", section="devices", message="device cuda did not run: no CUDA GPU is visible", device="cuda"),
)


@pytest.fixture
def report() -> Report:
    return Report(SPEC, ("meta", "cuda"), tuple(SPEC.cases()), RESULTS, 1.5, sections=("head", "body", "params", "devices"))
