"""archcheck.fuzzing: real hypothesis runs on meta, shrinking a real failure to the smallest case."""

from __future__ import annotations

import json
from pathlib import Path

from archcheck.cli import main
from archcheck.fuzzing import fuzz

ROOT = Path(__file__).resolve().parents[1]

SKIP_SPEC = """archcheck: 1
name: skip
model: {factory: "sizes:skip_concat"}
inputs:
  x: [B, 1, H, W]
dims:
  B: {values: [1, 2]}
  H: {range: [8, 64], multiple_of: 2, values: [8]}
  W: {values: [8]}
outputs: [B, 5, H, W]
"""


def test_a_crash_is_shrunk_to_the_smallest_failing_case(write_spec) -> None:
    spec = write_spec(SKIP_SPEC)
    report = fuzz(spec, examples=30)
    assert str(report.failure) == "B=1, H=10, W=8"
    (problem,) = report.problems
    assert problem.headline() == (
        f"{spec}:4:1: error: forward crashed in the model's forward (SkipConcat) at sizes.py:16: "
        "return torch.cat([x, self.up(self.down(x))], dim=1) with inputs [1, 1, 10, 8]: RuntimeError: Sizes of tensors "
        "must match except in dimension 1. Expected 10 in dimension 2 but got 12 for tensor number 1 in the list at B=1, H=10, W=8 on meta [crash]"
    )


def test_a_holding_spec_passes_and_runs_are_reproducible(write_spec) -> None:
    spec = write_spec(SKIP_SPEC.replace("multiple_of: 2", "multiple_of: 4"))
    first, second = fuzz(spec, examples=15), fuzz(spec, examples=15)
    assert first.ok and first.failure is None and first.cases_run == second.cases_run > 1
    seeded = fuzz(spec, examples=15, seed=3)
    assert seeded.ok and seeded.seed == 3


def test_a_wrong_formula_in_yolov4_points_at_its_spec_line(tmp_path: Path) -> None:
    text = (ROOT / "specs/yolov4.yaml").read_text().replace("backbone.stages.2: [B, 256, H/8, W/8]", "backbone.stages.2: [B, 256, H/16, W/16]")
    spec = tmp_path / "yolov4.yaml"
    spec.write_text(text)
    report = fuzz(spec, examples=3)
    assert str(report.failure) == "B=1, H=32, W=32"
    assert [p.headline() for p in report.problems] == [
        f"{spec}:21:24: error: backbone.stages.2 [1, 256, 4, 4] != expected [B, 256, H/16, W/16] = [1, 256, 2, 2]: "
        "dim 2 is 4, expected H/16 = 2; dim 3 is 4, expected W/16 = 2 at B=1, H=32, W=32 on meta [shape]"
    ]


def test_no_database_is_written_unless_asked(write_spec, tmp_path: Path, monkeypatch) -> None:
    spec = write_spec(SKIP_SPEC)  # fails at H=10: hypothesis saves failing examples
    monkeypatch.chdir(tmp_path)
    fuzz(spec, examples=5)
    assert not (tmp_path / ".hypothesis").exists()
    first = fuzz(spec, examples=20, database=tmp_path / "db")
    assert first.seed is None and first.failure is not None
    assert list((tmp_path / "db").rglob("*")), "the failing example was not saved"
    assert not (tmp_path / ".hypothesis").exists()
    again = fuzz(spec, examples=20, database=tmp_path / "db")  # replayed from the database first
    assert again.failure == first.failure


def test_cli_reports_the_case_and_how_to_reproduce(write_spec, capsys) -> None:
    spec = write_spec(SKIP_SPEC)
    assert main(["fuzz", str(spec), "--examples", "20"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"archcheck fuzz {spec}  (skip; B in {{1, 2}}, H in 8..64 step 2, W in {{8}}; derandomized)"
    assert out[1].startswith("FAILED  smallest failing case: B=1, H=10, W=8 (after ")
    assert out[-1] == f"reproduce: archcheck verify {spec} --devices meta --case B=1,H=10,W=8"
    assert main(["fuzz", str(spec), "--examples", "20", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["failure"] == {"B": 1, "H": 10, "W": 8} and data["results"][0]["rule"] == "crash"


def test_cli_bad_examples_exits_2(write_spec, capsys) -> None:
    assert main(["fuzz", str(write_spec(SKIP_SPEC)), "--examples", "0"]) == 2
    assert capsys.readouterr().err == "archcheck: error: --examples must be at least 1, got 0\n"
