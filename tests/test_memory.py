"""The memory estimate (a meta forward), the refusal before a real device runs, and allocations that fail."""

from __future__ import annotations

import pytest

from archcheck import verify
from archcheck.cli import main
from archcheck.errors import UsageError
from archcheck.memory import estimate, human_bytes, parse_size
from archcheck.model import build
from archcheck.runners import DeviceOptions
from archcheck.spec import load_spec

SPEC = """\
archcheck: 1
name: tiny
model:
  factory: ddp_models:tiny
inputs:
  x: [B, 3, H, W]
dims:
  B: {values: [BATCH]}
  H: {values: [8, SIDE]}
  W: {values: [8]}
outputs: [B, 4, H, W]
"""


def tiny(write_spec, batch: int = 2, side: int = 8):
    return write_spec(SPEC.replace("BATCH", str(batch)).replace("SIDE", str(side)))


@pytest.mark.parametrize(("text", "size"), [("8G", 8 << 30), ("512M", 512 << 20), ("1.5k", 1536), ("2GiB", 2 << 30), ("1000", 1000), ("0", 0)])
def test_sizes(text, size):
    assert parse_size(text) == size


def test_a_size_that_is_not_one_is_a_usage_error():
    with pytest.raises(UsageError, match=r"^error: --max-memory 'lots' is not a size: write e.g. 8G, 512M or 0 \(no limit\)$"):
        parse_size("lots")


def test_the_estimate_counts_weights_the_live_peak_and_the_kept_outputs(write_spec):
    spec = load_spec(tiny(write_spec, side=16))
    found = estimate(spec, spec.cases(), build(spec, "meta"))
    assert found.case.as_dict() == {"B": 2, "H": 16, "W": 8}  # the largest case
    assert found.weights == (8 * 3 * 9 + 8 + 4 * 8 + 4) * 4
    # at H=16: input 2*3*16*8, then conv and relu outputs (2*8*16*8 each) live together; 4 bytes each
    assert found.activations == (2 * 3 * 16 * 8 + 2 * 2 * 8 * 16 * 8) * 4
    # the model's output, 2*4*H*8 floats, kept at both cases (scaled by input size: 16 + 8 rows)
    assert found.kept == 2 * 4 * (16 + 8) * 8 * 4


def test_a_run_that_will_not_fit_is_a_memory_failure_before_it_runs(write_spec):
    report = verify(tiny(write_spec), devices=["meta", "cpu"], options=DeviceOptions(max_memory=1024))
    (problem,) = report.problems
    assert problem.rule == "memory"
    assert problem.message == (
        f"the run needs about {human_bytes(estimate(report.spec, list(report.cases), build(report.spec, 'meta')).total)} on cpu "
        "(weights 1.02 KiB, activations 9.5 KiB at B=2, H=8, W=8, kept outputs 2 KiB), more than --max-memory 1 KiB; "
        "run fewer or smaller cases, or set --max-memory SIZE (0: no limit)"
    )
    assert {(r.rule, r.status) for r in report.results if r.device == "meta"} == {("crash", "pass"), ("output", "pass")}  # meta still ran


def test_an_allocation_the_machine_cannot_make_is_a_memory_failure_not_an_internal_error(write_spec):
    huge = tiny(write_spec, batch=2**31 - 1, side=1024)  # 24 PiB of input
    report = verify(huge, devices=["cpu"], options=DeviceOptions(max_memory=0))  # no estimate: the allocator refuses
    (problem,) = report.problems
    assert problem.rule == "memory"
    assert problem.message == "out of memory on cpu: can't allocate 1.5 TiB"  # the first case's input: (2**31 - 1) * 3 * 8 * 8 floats
    (refused,) = verify(huge, devices=["cpu"]).problems  # the estimate against the memory this machine has free
    assert refused.rule == "memory" and refused.message.startswith("the run needs about ") and " available; " in refused.message


def test_cli_max_memory(write_spec, capsys):
    spec = tiny(write_spec)
    assert main(["--no-color", "verify", str(spec), "--devices", "cpu", "--max-memory", "1K"]) == 1
    assert "more than --max-memory 1 KiB" in capsys.readouterr().out
    assert main(["--no-color", "verify", str(spec), "--devices", "cpu", "--max-memory", "0"]) == 0
    capsys.readouterr()
    assert main(["verify", str(spec), "--max-memory", "much"]) == 2
    assert capsys.readouterr().err == "archcheck: error: --max-memory 'much' is not a size: write e.g. 8G, 512M or 0 (no limit)\n"
