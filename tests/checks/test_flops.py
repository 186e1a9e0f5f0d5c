"""Rule ``flops``: the spec's flops section, counted on the meta model at flops.case."""

from pathlib import Path

import pytest

from archcheck import UsageError, load_spec, verify
from archcheck.checks import flops
from archcheck.checks.evidence import Evidence
from archcheck.counting import count_model
from archcheck.inputs import make_inputs
from archcheck.model import build

ROOT = Path(__file__).resolve().parents[2]
YOLOV4 = ROOT / "specs" / "yolov4.yaml"

TOY = """\
archcheck: 1
name: toy
model: {factory: toy:two_scale}
inputs:
  x: [B, 3, H, W]
dims:
  B: {values: [1]}
  H: {values: [16]}
  W: {values: [16]}
flops:
  convention: macs
  case: {B: 1, H: 16, W: 16}
  total: %s
  modules:
    stem: %s
  tolerance: 1%%
"""
# two_scale(width=8) at 16x16: stem 3x3 conv 3->8 at 16x16, down1 3x3 8->8 at 8x8,
# down2 2x2 8->8 at 4x4, head 1x1 16->4 at 8x8
STEM = 8 * 3 * 9 * 16 * 16
TOTAL = STEM + 8 * 8 * 9 * 8 * 8 + 8 * 8 * 4 * 4 * 4 + 4 * 16 * 8 * 8


def results(spec):
    model = build(spec, "meta")
    counted = count_model(model, make_inputs(spec, spec.flops.case, "meta"), spec.flops.case) if spec.flops else None
    return list(flops.check(spec, Evidence(spec, model=model, counted=counted)))


def test_selected_and_ignored_by_its_rule_id(write_spec):
    path = write_spec(TOY % ("1.5M", STEM))
    selected = verify(path, devices=["meta"], select=["flops"])
    assert {r.rule for r in selected.results} == {"flops"} and not selected.ok
    ignored = verify(path, devices=["meta"], ignore=["flops"])
    assert "flops" not in {r.rule for r in ignored.results} and ignored.ok
    with pytest.raises(UsageError, match=r"^error: unknown rule 'flop'; did you mean 'flops'\?$"):
        verify(path, devices=["meta"], select=["flop"])


def test_yolov4_darknet_total_holds():
    spec = load_spec(YOLOV4)
    [result] = results(spec)
    assert (result.status, result.subject, result.expected, round(result.actual / 1e9, 3)) == ("pass", "flops.total", 60.137e9, 60.137)
    assert result.message == "flops.total is 60.137 BFLOPs (Darknet)"
    assert str(result.case) == "B=1, H=416, W=416"


def test_hand_counted_toy_holds(write_spec):
    spec = load_spec(write_spec(TOY % (TOTAL, STEM)))
    assert [(r.subject, r.status) for r in results(spec)] == [("flops.total", "pass"), ("flops.modules.stem", "pass")]


def test_a_wrong_total_fails_at_its_spec_line(write_spec):
    path = write_spec(TOY % ("1.5M", STEM))
    [total, stem] = results(load_spec(path))
    assert stem.status == "pass" and total.status == "fail"
    assert total.headline() == (
        f"{path}:13:10: error: flops.total is 0.100 MMACs, expected 1.500 MMACs (-93.31%, tolerance 1%) at B=1, H=16, W=16 [flops]"
    )


def test_a_wrong_module_number_fails_at_its_line(write_spec):
    path = write_spec(TOY % (TOTAL, "30K"))
    [total, stem] = results(load_spec(path))
    assert total.status == "pass"
    assert stem.headline() == (
        f"{path}:15:11: error: flops.modules.stem is 55.296 KMACs, expected 30.000 KMACs (+84.32%, tolerance 1%) at B=1, H=16, W=16 [flops]"
    )


def test_verify_reports_the_flops_check(write_spec):
    report = verify(write_spec(TOY % ("1.5M", STEM)), devices=["meta"])
    failed = [r for r in report.problems if r.rule == "flops"]
    assert [r.subject for r in failed] == ["flops.total"]


def test_no_flops_section_no_results(write_spec):
    spec = load_spec(write_spec(TOY.split("flops:")[0]))
    assert results(spec) == []
