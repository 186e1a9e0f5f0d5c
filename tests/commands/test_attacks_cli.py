"""Hostile and careless command lines, end to end through the CLI: one clear message, exit 2, nothing lost, fast."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from toy import toy_spec

from archcheck.cli import main

ROOT = Path(__file__).resolve().parents[2]
SPEC = toy_spec("  B: {values: [1]}\n  H: {range: [8, 64], multiple_of: 8, values: [16]}\n  W: {values: [16]}\n")


def run(capsys, *args: str) -> tuple[int, str, float]:
    started = time.perf_counter()
    code = main(["--no-color", *args])
    _, err = capsys.readouterr()
    return code, err, time.perf_counter() - started


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("command", [["verify", "--devices", "meta"], ["count"], ["fuzz", "--examples", "2"], ["resolutions", "--range", "8:16"]])
def test_output_onto_the_spec_is_refused_before_the_run(capsys, write_spec, command):
    spec = write_spec(SPEC)
    before = digest(spec)
    code, err, seconds = run(capsys, command[0], str(spec), *command[1:], "-o", str(spec))
    assert (code, err) == (2, f"archcheck: error: -o {spec} would overwrite an input (the spec); choose another file\n")
    assert digest(spec) == before and seconds < 5


def test_output_onto_the_factorys_module_is_refused(capsys, write_spec):
    spec = write_spec(SPEC)
    module = ROOT / "tests" / "models" / "toy.py"
    before = digest(module)
    code, err, _ = run(capsys, "verify", str(spec), "--devices", "meta", "-o", str(module))
    assert (code, err) == (2, f"archcheck: error: -o {module} would overwrite an input (the factory's module); choose another file\n")
    assert digest(module) == before


def test_a_failed_run_leaves_no_report_that_says_ok(capsys, write_spec, tmp_path):
    spec = write_spec(SPEC.replace("H: {range: [8, 64], multiple_of: 8, values: [16]}", "H: {range: [8, 64], values: [16, 17]}"))
    report = tmp_path / "report.json"
    assert run(capsys, "verify", str(spec), "--devices", "meta", "--format", "json", "-o", str(report))[0] == 1
    assert '"ok": false' in report.read_text() and not list(tmp_path.glob(".report.json.*"))  # replaced whole, no temporary left


def test_a_huge_sweep_is_refused_before_it_starts(capsys, write_spec):
    spec = write_spec(SPEC)
    code, err, seconds = run(capsys, "resolutions", str(spec), "--dim", "H", "--range", "1:1000000000")
    assert (code, err) == (2, "archcheck: error: --range 1:1000000000 is 1,000,000,000 sizes; the limit is 10,000: sweep a smaller range or raise it with --max-cases\n")
    assert seconds < 1


def test_a_sweep_that_misses_the_claimed_domain_is_an_error_not_ok(capsys, write_spec):
    spec = write_spec(SPEC)
    code, err, _ = run(capsys, "resolutions", str(spec), "--dim", "H", "--range", "100:200")
    assert (code, err) == (2, "archcheck: error: the spec claims no H in 100..200 (B in {1}, H in 8..64 step 8, W in {16}): sweep a --range that overlaps its domain\n")


def test_too_many_cases_from_the_command_line_cap(capsys, write_spec):
    spec = write_spec(SPEC.replace("B: {values: [1]}", "B: {values: [1, 2, 3]}").replace("W: {values: [16]}", "W: {values: [16, 24]}"))
    code, err, _ = run(capsys, "verify", str(spec), "--devices", "meta", "--max-cases", "5")
    assert (code, err) == (2, f"archcheck: {spec}:6:1: error: the spec's dims make 6 cases (3 x 1 x 2); the limit is 5: use fewer values or raise it with --max-cases\n")
    assert run(capsys, "verify", str(spec), "--devices", "meta", "--max-cases", "6")[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--world-size", "100000"], "archcheck: error: the ddp world size must be between 1 and 64, got 100000\n"),
        (["--select", "shap"], "archcheck: error: unknown rule 'shap'; did you mean 'shape'?\n"),
    ],
)
def test_unbounded_or_unknown_options_are_refused(capsys, write_spec, args, message):
    spec = write_spec(SPEC)
    code, err, _ = run(capsys, "verify", str(spec), "--devices", "meta", *args)
    assert (code, err) == (2, message)
