"""Devices: the registry, skip/require, and the DataParallel logic that runs without GPUs; GPU tests skip without CUDA."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
from ddp_models import TINY_SPEC as TINY
from ddp_models import Tiny
from torch import nn

from archcheck import verify
from archcheck.cli import main
from archcheck.errors import UsageError
from archcheck.model import Builds
from archcheck.observe.keep import keep_outputs
from archcheck.observe.trace import observe
from archcheck.runners import DeviceOptions, runners_for
from archcheck.runners.base import numerics, strip_module_prefix
from archcheck.runners.dataparallel import (
    batch_dim,
    cat_batches,
    dp_split,
    join_replicas,
    observe_replicas,
    prefix_problem,
    rebind,
)
from archcheck.spec import Case, load_spec

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
needs_two_gpus = pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA GPUs")
cpu_only_build = pytest.mark.skipif(torch.version.cuda is not None or torch.version.hip is not None, reason="pins the words for a torch built without CUDA")
NO_CUDA = f"this torch ({torch.__version__}) is built without CUDA"



def write_spec(folder: Path, batch: int = 2) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(TINY.replace("BATCH", str(batch)))
    return path


# Names, skips, --require -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("tpu", "unknown device 'tpu'; expected meta, cpu, cuda, cuda:N, dp or ddp (ddp:gloo, ddp:nccl)"),
        ("cuda:x", "device 'cuda:x': expected cuda or cuda:N, with N a GPU index"),
        ("dp:1", "device 'dp:1': dp takes no ':' suffix"),
        ("cpu:0", "device 'cpu:0': cpu takes no ':' suffix"),
        ("ddp:mpi", "device 'ddp:mpi': expected ddp, ddp:gloo or ddp:nccl"),
    ],
)
def test_unknown_device_names_are_usage_errors(name, message):
    with pytest.raises(UsageError) as error:
        runners_for([name])
    assert str(error.value) == f"error: {message}"


def test_device_options_are_checked_up_front():
    with pytest.raises(UsageError, match="^error: the ddp world size must be between 1 and 64, got 0$"):
        DeviceOptions(world_size=0)
    with pytest.raises(UsageError, match="^error: the ddp world size must be between 1 and 64, got 10000$"):
        DeviceOptions(world_size=10000)
    with pytest.raises(UsageError, match="^error: the ddp timeout must be more than 0 seconds, got -1$"):
        DeviceOptions(timeout=-1)


@cpu_only_build
def test_devices_this_machine_lacks_are_skipped_with_the_reason(tmp_path):
    report = verify(write_spec(tmp_path), devices=["cpu", "cuda", "cuda:1", "dp"])
    skipped = {r.subject: r.message for r in report.results if r.rule == "device"}
    assert skipped == {
        "cuda": f"device cuda did not run: {NO_CUDA}",
        "cuda:1": f"device cuda:1 did not run: {NO_CUDA}",
        "dp": f"device dp did not run: {NO_CUDA}; without GPUs nn.DataParallel is a pass-through that runs the plain module, which proves nothing",
    }
    assert all(r.status == "skip" for r in report.results if r.rule == "device")
    assert report.ok  # skipped, not passed: nothing ran there
    assert not any(r.device in ("cuda", "cuda:1", "dp") for r in report.results if r.status == "pass")


@cpu_only_build
def test_require_turns_a_skip_into_a_failure(tmp_path, capsys):
    spec = write_spec(tmp_path)
    report = verify(spec, devices=["cpu", "dp"], require=True)
    assert [r.headline() for r in report.problems] == [
        f"{spec}:16:1: error: device dp did not run: {NO_CUDA}; without GPUs nn.DataParallel is a pass-through that runs the plain module, which proves nothing [device]"
    ]
    assert main(["--no-color", "verify", str(spec), "--devices", "cpu,cuda", "--require"]) == 1
    assert f"error: device cuda did not run: {NO_CUDA} [device]" in capsys.readouterr().out


def test_tf32_and_cudnn_benchmark_are_set_then_restored():
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    before = (matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark)
    matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark = True, True, False
    try:
        with numerics(DeviceOptions()):
            assert (matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark) == (False, False, False)  # parity by default
        with numerics(DeviceOptions(allow_tf32=True, cudnn_benchmark=True)):
            assert (matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark) == (True, True, True)
        assert (matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark) == (True, True, False)
    finally:
        matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark = before


def test_cpu_run_keeps_outputs_of_declared_modules_for_parity(tmp_path):
    spec = load_spec(write_spec(tmp_path))
    (cpu,) = runners_for(["cpu"])
    builds = Builds(spec)
    run = cpu.run(spec, spec.cases(), builds, lambda: None)
    ((where, case, kept),) = run.tensors
    assert (where, str(case)) == ("", "B=2, H=8, W=8")
    assert sorted(kept) == ["", "conv", "head"]
    assert kept[""][0].shape == (2, 4, 8, 8) and kept["conv"][0].shape == (2, 8, 8, 8)
    assert torch.equal(kept[""][0], kept["head"][0])  # the head's output is the model's
    assert run.observations[0][1].tensors is None  # the copies live in run.tensors only
    assert builds.cpu.training is False  # built in eval mode, and left so
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in builds.cpu.modules())  # the model that ran


# DataParallel, without GPUs ----------------------------------------------------------------------


@pytest.mark.parametrize("gpus", [1, 2, 3, 4, 8])
def test_dp_split_is_how_scatter_chunks_the_batch(gpus):
    for batch in range(1, 12):
        assert dp_split(batch, gpus) == [len(c) for c in torch.arange(batch).chunk(gpus)]
    assert dp_split(0, gpus) == []


def test_dp_split_examples():
    assert dp_split(3, 2) == [2, 1]  # uneven
    assert dp_split(1, 2) == [1]  # cuda:1 idle
    assert dp_split(5, 4) == [2, 2, 1]  # chunk leaves a GPU idle even though 5 >= 4


def test_batch_dim_and_rebind(tmp_path):
    spec = load_spec(write_spec(tmp_path))
    assert batch_dim(spec) == "B"
    assert rebind(Case.of({"B": 3, "H": 8}), "B", 2) == Case.of({"B": 2, "H": 8})


def test_dataparallel_without_gpus_is_a_pass_through_with_module_prefixes():
    model = Tiny().eval()
    wrapped = nn.DataParallel(model)
    x = torch.randn(3, 3, 8, 8)
    assert wrapped.device_ids == []  # nothing to scatter to: it just calls the module
    assert torch.equal(wrapped(x), model(x))
    plain, seen = observe(model, (x,)), observe(wrapped, (x,))
    assert sorted(seen.calls) == ["", "module", "module.act", "module.conv", "module.head"]
    assert strip_module_prefix(seen.calls) == plain.calls
    assert prefix_problem(list(wrapped.state_dict()), list(model.state_dict())) == ""
    assert list(wrapped.state_dict())[:2] == ["module.conv.weight", "module.conv.bias"]


def test_observe_replicas_records_what_the_replica_ran():
    """On the CPU, DataParallel is a pass-through: one "replica", the module itself, recorded as GPU 0."""
    model = Tiny().eval()
    x = torch.randn(3, 3, 8, 8)
    seen = observe_replicas(nn.DataParallel(model), (x,), ["conv"], gpu_now=lambda: 0)
    plain = observe(model, (x,))
    assert list(seen.replicas) == [0]
    assert seen.replicas[0].calls == plain.calls and seen.replicas[0].output == plain.output
    assert seen.gathered.output == plain.output and seen.output_devices == ("cpu",)
    assert seen.kept[0]["conv"][0].shape == (3, 8, 8, 8)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_a_crash_under_dataparallel_is_an_observation():
    model = Tiny().eval()
    seen = observe_replicas(nn.DataParallel(model), (torch.randn(2, 5, 8, 8),), [], gpu_now=lambda: 0)
    assert seen.gathered.crash is not None and seen.gathered.output is None
    assert seen.gathered.crash.error.startswith("RuntimeError: Given groups=1, weight of size [8, 3, 3, 3], expected input[2, 5, 8, 8]")
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_prefix_problem_names_a_key_that_lacks_the_prefix():
    assert prefix_problem(["module.a", "b"], ["a", "b"]) == "1 keys are not the model's keys prefixed with 'module.' (first: module.b)"


def test_replica_outputs_kept_from_threads_join_into_the_full_batch():
    """keep_outputs records per replica from threads, as in DataParallel's parallel_apply; joined, they are the batch."""
    model = Tiny().eval()
    x = torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    shards = x.chunk(2)
    with keep_outputs(model, ["conv", ""], key=lambda: threading.current_thread().name) as kept, torch.no_grad():
        threads = [threading.Thread(target=model, args=(shard,), name=f"replica{i}") for i, shard in enumerate(shards)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not model.conv._forward_hooks
    assert [kept[k]["conv"][0].shape[0] for k in sorted(kept)] == [2, 1]
    joined = join_replicas(kept)
    with torch.no_grad():
        assert torch.allclose(joined["conv"][0], model.conv(x), atol=1e-6)
        assert torch.allclose(joined[""][0], model(x), atol=1e-6)
    assert cat_batches([(torch.ones(1, 2), 3), (torch.zeros(2, 2), 3)])[0].shape == (3, 2)


# On GPUs (skipped without CUDA) ------------------------------------------------------------------


@needs_cuda
def test_every_gpu_matches_the_cpu(tmp_path):
    flags = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    report = verify(write_spec(tmp_path), devices=["cpu", "cuda"], options=DeviceOptions(cudnn_benchmark=True))
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark) == flags
    assert report.ok, [p.headline() for p in report.problems]
    gpus = {f"cuda:{i}" for i in range(torch.cuda.device_count())}
    assert {r.subject for r in report.results if r.rule == "parity" and r.subject.startswith("cuda")} == gpus


@needs_cuda
def test_yolov4_parity_on_gpu_with_tf32_off():
    report = verify("specs/yolov4.yaml", devices=["cpu", "cuda:0"], case={"B": 1, "H": 64, "W": 64})
    assert report.ok, [p.headline() for p in report.problems]


@needs_cuda
def test_dp_runs_replicas_and_gathers_on_cuda0(tmp_path):
    report = verify(write_spec(tmp_path, batch=3), devices=["cpu", "dp"])
    assert report.ok, [p.headline() for p in report.problems]
    gathers = [r for r in report.results if r.rule == "dp-gather"]
    assert [r.status for r in gathers] == ["pass"]
    prefix = [r for r in report.results if r.rule == "dp-state-dict"]
    assert [r.status for r in prefix] == ["pass"]
    assert any(r.device == "dp" and r.subject == "outputs" and r.rule == "parity" for r in report.results)


@needs_two_gpus
def test_dp_shapes_per_replica_follow_the_split(tmp_path):
    report = verify(write_spec(tmp_path, batch=3), devices=["dp"])
    seen = {(r.device, str(r.case)) for r in report.results if r.rule == "shape"}
    assert ("dp cuda:0", "B=2, H=8, W=8") in seen and ("dp cuda:1", "B=1, H=8, W=8") in seen
    split = next(r for r in report.results if r.rule == "dp-split")
    assert split.actual.startswith("[2, 1")
