"""DDP for real: 2 gloo processes on the CPU, launched by archcheck; a rank that dies ends the run with its error."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import torch
from ddp_models import TINY_SPEC

from archcheck import verify
from archcheck.runners import DeviceOptions
from archcheck.runners.ddp import describe_failure, in_torchrun

needs_two_gpus = pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA GPUs")

def tiny(folder: Path, **kwargs) -> Path:
    """ddp_models' TINY_SPEC at B=2, with the factory's ``kwargs``."""
    path = folder / "tiny.yaml"
    given = "  kwargs: {" + ", ".join(f"{k}: {v}" for k, v in kwargs.items()) + "}\n"
    path.write_text(TINY_SPEC.replace("BATCH", "2").replace("  factory: ddp_models:tiny\n", "  factory: ddp_models:tiny\n" + given))
    return path


def by_rule(report, rule):
    return [r for r in report.results if r.rule == rule]


def test_ddp_on_two_cpu_processes_passes_with_parity(tmp_path):
    report = verify(tiny(tmp_path), devices=["cpu", "ddp:gloo"])
    assert report.ok, [p.headline() for p in report.problems]
    (run,) = [r for r in report.runs if r.device == "ddp:gloo"]
    assert run.where == ("rank 0", "rank 1")  # each rank's shapes are checked against the spec
    assert {r.device for r in by_rule(report, "shape")} == {"cpu", "ddp:gloo rank 0", "ddp:gloo rank 1"}
    step, grads, unused, batchnorm = (by_rule(report, rule)[0] for rule in ("ddp-step", "ddp-grad", "ddp-unused", "ddp-batchnorm"))
    assert step.message == "one training step ran on 2 ranks (rows per rank: 1, 1)"
    assert (grads.status, grads.message) == ("pass", "gradients are equal on all 2 ranks, bit for bit")
    assert (unused.status, unused.message) == ("pass", "every parameter gets a gradient")
    assert (batchnorm.status, batchnorm.message) == ("pass", "no BatchNorm layers with per-process statistics")
    parity = {(r.device, r.subject): r for r in by_rule(report, "parity")}
    for rank in ("ddp:gloo rank 0", "ddp:gloo rank 1"):
        assert {s for d, s in parity if d == rank} == {"outputs", "conv", "head", rank}
        assert parity[(rank, rank)].status == "pass"
        assert parity[(rank, rank)].message.startswith(f"worst difference from the cpu on {rank}: max abs diff ")


def test_parameters_never_used_in_forward_are_reported(tmp_path):
    report = verify(tiny(tmp_path, unused="true"), devices=["ddp:gloo"])
    (unused,) = by_rule(report, "ddp-unused")
    assert unused.status == "fail"
    assert unused.message == (
        "2 parameters get no gradient: spare.bias, spare.weight; modules never called in forward: spare; "
        "DistributedDataParallel needs every parameter used in forward "
        "(without find_unused_parameters=True the next step fails with 'Expected to have finished reduction in the prior iteration')"
    )
    (grads,) = by_rule(report, "ddp-grad")
    assert grads.status == "pass"  # the parameters that are used still agree
    assert [r.message for r in by_rule(report, "parity")] == ["no cpu run to compare ddp:gloo with: add cpu to the devices"]


def test_gradients_that_differ_between_ranks_fail_and_are_named(tmp_path):
    """A parameter DDP does not all-reduce keeps each rank's own gradient: each rank trained on its own row."""
    report = verify(tiny(tmp_path, ignore="head.weight"), devices=["ddp:gloo"])
    (grads,) = by_rule(report, "ddp-grad")
    assert grads.status == "fail"
    assert grads.message.startswith("gradients differ between ranks after backward for 1 parameters: head.weight; largest difference ")
    assert grads.message.endswith(" in head.weight")


@pytest.mark.parametrize(("offset", "status"), [("0.001", "fail"), ("0.0000001", "pass")])  # as YAML floats (1e-07 is a string there)
def test_outputs_whose_bits_differ_from_the_cpu_are_compared_value_by_value(tmp_path, offset, status):
    """Ranks get only fingerprints of the cpu's outputs; rank 1 (output + 1 * offset) sends its differing output back."""
    report = verify(tiny(tmp_path, offset=offset), devices=["cpu", "ddp:gloo"])
    parity = {(r.device, r.subject): r for r in by_rule(report, "parity")}
    assert parity[("ddp:gloo rank 0", "outputs")].status == "pass"
    assert parity[("ddp:gloo rank 0", "ddp:gloo rank 0")].message.startswith("worst difference from the cpu on ddp:gloo rank 0: max abs diff 0, ")
    assert parity[("ddp:gloo rank 1", "head")].status == "pass"  # the offset comes after the head
    outputs = parity[("ddp:gloo rank 1", "outputs")]
    assert outputs.status == status
    worst = parity[("ddp:gloo rank 1", "ddp:gloo rank 1")].message
    found = float(worst.split("max abs diff ")[1].split(",")[0])
    assert float(offset) / 2 <= found <= 2 * float(offset)  # compared element by element in the launcher (float32 rounding aside), not just "differs"


def test_differing_outputs_of_a_type_that_cannot_be_read_back_are_named_not_a_crash(tmp_path):
    spec = tmp_path / "pair.yaml"
    spec.write_text(tiny(tmp_path, offset="0.001", pair="true").read_text().replace("outputs: [B, 4, H, W]", "outputs: [[B, 4, H, W], [B, 4, H, W]]"))
    report = verify(spec, devices=["cpu", "ddp:gloo"])
    parity = {(r.device, r.subject): r for r in by_rule(report, "parity")}
    assert parity[("ddp:gloo rank 0", "outputs")].status == "pass"  # equal bits: no need to read anything back
    outputs = parity[("ddp:gloo rank 1", "outputs")]
    assert outputs.status == "fail"
    assert "the outputs' bits differ from the cpu's, and their values cannot be compared: torch.load(weights_only=True) does not read their type back" in outputs.message


def test_the_cases_are_shared_out_among_the_ranks(tmp_path):
    """Three cases, two ranks: each case runs whole on one rank (round robin), and parity compares it with the cpu's."""
    spec = tmp_path / "three.yaml"
    spec.write_text(tiny(tmp_path).read_text().replace("H: {values: [8]}", "H: {values: [8, 16, 24]}"))
    report = verify(spec, devices=["cpu", "ddp:gloo"])
    assert report.ok, [p.headline() for p in report.problems]
    (run,) = [r for r in report.runs if r.device == "ddp:gloo"]
    assert [(where, case.as_dict()["H"]) for where, (case, _) in zip(run.where, run.observations)] == [("rank 0", 8), ("rank 0", 24), ("rank 1", 16)]
    outputs = {(r.device, r.case.as_dict()["H"]) for r in by_rule(report, "parity") if r.subject == "outputs" and r.device.startswith("ddp")}
    assert outputs == {("ddp:gloo rank 0", 8), ("ddp:gloo rank 0", 24), ("ddp:gloo rank 1", 16)}
    (step,) = by_rule(report, "ddp-step")
    assert step.message == "one training step ran on 2 ranks (rows per rank: 1, 1)"


def test_a_rank_that_raises_ends_the_run_with_its_error(tmp_path):
    """Each rank builds the model itself, as a torchrun script does."""
    started = time.monotonic()
    report = verify(tiny(tmp_path, fail="raise"), devices=["cpu", "ddp:gloo"], options=DeviceOptions(timeout=60))
    assert time.monotonic() - started < 45
    assert [p.message for p in report.problems] == [
        "ddp rank 1 failed: ModelError: building the model with ddp_models:tiny(**{'fail': 'raise'}) failed: RuntimeError: boom on rank 1"
    ]
    assert report.problems[0].rule == "ddp-process"


def test_a_rank_that_dies_ends_the_run_with_its_exit_code(tmp_path):
    started = time.monotonic()
    report = verify(tiny(tmp_path, fail="exit"), devices=["ddp:gloo"], options=DeviceOptions(timeout=60))
    assert time.monotonic() - started < 45
    assert [p.message for p in report.problems] == ["ddp rank 1 failed: the process exited with code 3 without a Python error"]


def test_a_rank_that_dies_in_forward_ends_the_run_with_its_exit_code(tmp_path):
    started = time.monotonic()
    report = verify(tiny(tmp_path, fail="exit-in-forward"), devices=["cpu", "ddp:gloo"], options=DeviceOptions(timeout=60))
    assert time.monotonic() - started < 45
    assert [p.message for p in report.problems] == ["ddp rank 1 failed: the process exited with code 3 without a Python error"]
    assert report.problems[0].rule == "ddp-process"


def test_describe_failure_blames_the_rank_that_died_silently(tmp_path):
    (tmp_path / "rank0.error").write_text("DistBackendError: Connection closed by peer")
    assert describe_failure(tmp_path, [1, 3], first=0) == "ddp rank 1 failed: the process exited with code 3 without a Python error"
    assert describe_failure(tmp_path, [1, -15], first=0) == "ddp rank 0 failed: DistBackendError: Connection closed by peer"
    assert describe_failure(tmp_path / "none", [0, -9], first=1) == "ddp rank 1 failed: the process was killed by signal 9"


def test_not_under_torchrun_here(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert not in_torchrun()
    monkeypatch.setenv("RANK", "0"), monkeypatch.setenv("WORLD_SIZE", "2"), monkeypatch.setenv("LOCAL_RANK", "0")
    assert in_torchrun()


@pytest.mark.slow
def test_yolov4_under_ddp_matches_the_cpu():
    report = verify("specs/yolov4.yaml", devices=["cpu", "ddp:gloo"], case={"B": 2, "H": 64, "W": 64})
    assert report.ok, [p.headline() for p in report.problems[:5]]
    (batchnorm,) = by_rule(report, "ddp-batchnorm")
    assert batchnorm.status == "skip"
    assert batchnorm.message.startswith("107 BatchNorm layers (backbone.stages.0.blocks.0.block.0.bn, ")  # every BasicConv has one
    assert batchnorm.message.endswith(
        "normalise with each process's own batch in train mode, so DDP training is not training on the global batch; "
        "not checked (nn.SyncBatchNorm.convert_sync_batchnorm(model) shares the statistics)"
    )
    assert [r.status for r in by_rule(report, "ddp-grad")] == ["pass"]


@needs_two_gpus
def test_ddp_with_nccl_on_two_gpus(tmp_path):
    report = verify(tiny(tmp_path), devices=["cpu", "ddp:nccl"], options=DeviceOptions(world_size=2))
    assert report.ok, [p.headline() for p in report.problems]
    assert [r.status for r in by_rule(report, "ddp-grad")] == ["pass"]


@pytest.mark.slow
def test_the_same_check_runs_under_torchrun(tmp_path):
    """torchrun starts the ranks (as on many machines); every rank runs verify, rank 0 prints the report."""
    import os
    import subprocess

    from archcheck.runners.ddp import free_port

    spec = tiny(tmp_path)
    environment = os.environ | {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1", f"--master_port={free_port()}"]
    command += ["-m", "archcheck.cli", "--no-color", "verify", str(spec), "--devices", "cpu,ddp:gloo", "--format", "json"]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count('"format": 2') == 1  # one report, from rank 0
    assert '"rule": "ddp-grad"' in done.stdout and '"device": "ddp:gloo rank 1"' in done.stdout
