"""Counts written as printed (``145.031M``): they hold to that precision, and a failure shows digits that differ."""

import re

from archcheck.checks import flops
from archcheck.checks.evidence import Evidence
from archcheck.counting import count_model
from archcheck.inputs import make_inputs
from archcheck.model import build
from archcheck.spec import load_spec

SPEC = """\
archcheck: 1
name: tiny-resnet
model: {factory: "format_models:tiny_resnet"}
inputs: {x: [B, 3, H, W]}
dims: {B: {values: [1]}, H: {values: [32]}, W: {values: [32]}}
flops: {convention: macs, case: {B: 1, H: 32, W: 32}, total: TOTAL}
"""


def flops_results(write_spec, total: str):
    spec = load_spec(write_spec(SPEC.replace("TOTAL", total)))
    model = build(spec, "meta")
    counted = count_model(model, make_inputs(spec, spec.flops.case, "meta"), spec.flops.case)
    return list(flops.check(spec, Evidence(spec, model=model, counted=counted)))


def shown(result) -> tuple[str, str, str]:
    """(actual, expected, unit) as the message prints them: ``flops.total is 1.335 MMACs, expected ...``."""
    found = re.match(r"flops\.total is ([\d.,]+) ([^\s,]+)(?:, expected ([\d.,]+) \S+)?", result.message)
    assert found, result.message
    return found[1], found[3] or "", found[2]


def test_a_printed_figure_holds_to_its_precision(write_spec):
    (result,) = flops_results(write_spec, "1")
    number, _, unit = shown(result)  # e.g. 1.335 MMACs: what count would print
    figure = number + unit[0]
    (result,) = flops_results(write_spec, figure)
    assert result.status == "pass", result.message


def test_one_off_in_the_last_digit_fails_and_shows_the_difference(write_spec):
    (result,) = flops_results(write_spec, "1")
    number, _, unit = shown(result)
    lower = f"{float(number) - 0.001:.3f}"
    (result,) = flops_results(write_spec, lower + unit[0])
    assert result.status == "fail"
    shown_actual, shown_expected, _ = shown(result)
    assert shown_actual != shown_expected
    assert result.message.endswith(f"written to ±0.0005 {unit}; add a tolerance to allow more)")


def test_a_tolerance_replaces_the_written_precision(write_spec):
    (result,) = flops_results(write_spec, "1")
    number, _, unit = shown(result)
    (result,) = flops_results(write_spec, f"{float(number) * 1.005:.3f}{unit[0]}, tolerance: 1%")
    assert result.status == "pass"
    (result,) = flops_results(write_spec, f"{float(number) - 0.0001:.4f}{unit[0]}, tolerance: 0")
    assert result.status == "fail" and "tolerance 0%" in result.message
    # at 3 decimals both would print as the same number: digits are added until they differ
    assert shown(result)[:2] == (f"{float(number):.4f}", f"{float(number) - 0.0001:.4f}")
