"""The meta fallbacks, always reported: a constructor that cannot run on meta is built on CPU and
moved (RegNet: ``.tolist()``), a forward pass whose shapes depend on values runs on the CPU (DETR:
a boolean mask, ``nonzero``), for count, graph, fuzz and resolutions alike; and spec-free use
(``count FACTORY --input``, ``archcheck.summary(model, size)``)."""

import json
from pathlib import Path

import pytest
import torch
from torch import nn

import archcheck
from archcheck.cli import main
from archcheck.counting.summary import summary
from archcheck.errors import UsageError
from archcheck.fuzzing import fuzz
from archcheck.observe.fallback import meta_cannot_tell
from archcheck.sizes import resolutions

ROOT = Path(__file__).resolve().parents[1]
DETR = ROOT / "tests" / "specs" / "detr.yaml"
DETR_WHY = "aten.index in the model's forward (Detector) at detr.py:28: kept = boxes[confident]: NotImplementedError: The register_meta function for torch.nonzero() raises unimplemented by default, as a correct data-independent implementation does not exist"
REGNET_WHY = "NotImplementedError: Cannot copy out of meta tensor; no data! at regnet.py:17: widths = (torch.round(w0 * torch.pow(wm, steps) / quantum) * quantum).int().tolist()"


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# -- spec-free commands ---------------------------------------------------------------------------


def test_count_a_factory_with_an_input_size(capsys):
    code, out, err = run(capsys, "count", "toy:two_scale", "--input", "1,3,16,16")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("archcheck count (toy:two_scale; convention macs: ")
    assert lines[2].strip() == "case input [1, 3, 16, 16]"
    assert lines[5].split()[:6] == ["toy:two_scale", "(model)", "│", "TwoScale", "│", "[1,"]


def test_named_inputs_take_case_values_and_kwargs_reach_the_factory(capsys):
    code, out, _ = run(capsys, "count", "toy:two_scale", "--input", "x=[B,3,H,W]", "--case", "B=2,H=32,W=16", "--format", "json")
    document = json.loads(out)
    assert code == 0 and document["cases"][0]["case"] == {"B": 2, "H": 32, "W": 16}
    assert document["cases"][0]["inputs"] == [[2, 3, 32, 16]] and document["spec"] is None and document["command"] == "count"
    code, _, err = run(capsys, "count", "toy:two_scale", "--input", "1,3,16,16", "--kwargs", "depth=3")
    assert code == 2 and "toy:two_scale does not take these kwargs: got an unexpected keyword argument 'depth'" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["toy:two_scale"], "archcheck: error: toy:two_scale names a factory, not a spec: give its inputs, e.g. --input 1,3,224,224\n"),
        (["toy:two_scale", "--input", "x=[B,3,H,W]"], "archcheck: error: --input uses B, H, W: give them a value with --case, e.g. --case B=224,H=224,W=224\n"),
        ([str(DETR), "--input", "1,3,8,8"], f"archcheck: error: --input is for a factory (package.module:callable); the spec {DETR} declares its own inputs and kwargs\n"),
    ],
)
def test_spec_free_mistakes_exit_2_with_one_line(capsys, args, message):
    assert run(capsys, "count", *args) == (2, "", message)


def test_graph_a_factory(capsys, tmp_path):
    output = tmp_path / "toy.dot"
    code, out, err = run(capsys, "graph", "toy:two_scale", "--input", "1,3,16,16", "-o", output)
    assert (code, err) == (0, "") and out.startswith(f"wrote {output}: ") and output.read_text().startswith("digraph")


# -- the build fallback -----------------------------------------------------------------------------


def test_a_model_that_cannot_be_built_on_meta_is_built_on_cpu_and_moved_and_says_so(capsys):
    code, out, _ = run(capsys, "count", "corpus.regnet:regnet", "--input", "1,3,64,64", "--format", "json")
    document = json.loads(out)
    assert code == 0
    assert document["fallbacks"] == [{"stage": "build", "device": "cpu", "reason": REGNET_WHY, "cases": 1, "text": f"built on CPU, then moved to meta: the constructor cannot run on meta ({REGNET_WHY})"}]
    total = document["cases"][0]["total"]
    assert (total["params"]["total"], total["macs"], document["cases"][0]["device"]) == (16_538, 2_064_704, "meta")  # the corpus's hand-derived numbers
    code, out, _ = run(capsys, "count", "corpus.regnet:regnet", "--input", "1,3,64,64")
    assert f"fallback: built on CPU, then moved to meta: the constructor cannot run on meta ({REGNET_WHY})\n" in out


def test_debug_shows_where_the_builder_failed(capsys):
    code, _, err = run(capsys, "--debug", "count", "toy:broken", "--input", "1,3,8,8")
    assert code == 2 and "Traceback" in err and "toy.py" in err and "RuntimeError: weights missing" in err
    code, _, err = run(capsys, "count", "toy:broken", "--input", "1,3,8,8")
    assert code == 2 and "Traceback" not in err and "failed: RuntimeError: weights missing" in err


# -- the run fallback: DETR-style post-processing -------------------------------------------------


def test_meta_cannot_tell_data_dependent_ops_from_shape_errors():
    m = torch.empty(2, 5, device="meta")
    for data_dependent in (lambda: (m > 0).nonzero(), lambda: m[m > 0], lambda: m.sum().item(), lambda: m.tolist(), lambda: torch.unique(m)):
        with pytest.raises(Exception) as caught:
            data_dependent()
        assert meta_cannot_tell(caught.value), caught.value
    with pytest.raises(Exception) as caught:
        m @ m
    assert not meta_cannot_tell(caught.value)


def test_count_runs_a_data_dependent_case_on_cpu_and_says_which_op_forced_it(capsys):
    code, out, _ = run(capsys, "count", "corpus.detr:detr", "--input", "1,3,64,64")
    assert code == 0
    assert f"fallback: ran the case on CPU: meta cannot tell ({DETR_WHY})\n" in out
    assert "case input [1, 3, 64, 64] (on cpu)" in out
    assert "total at input [1, 3, 64, 64]: 4.055 MMACs" in out  # the corpus's hand-derived 4,055,040
    code, out, err = run(capsys, "count", "corpus.detr:detr", "--input", "1,3,64,64", "--device", "meta")
    assert code == 2 and err.startswith("archcheck: error: cannot count: the forward pass crashed in the model: NotImplementedError: The register_meta function for torch.nonzero()")


def test_detr_graph_falls_back_to_cpu(capsys, tmp_path):
    output = tmp_path / "detr.dot"
    code, out, err = run(capsys, "graph", DETR, "-o", output)
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"wrote {output}: 20 nodes, 20 edges at B=1, H=64, W=32; 5 checks passed, 0 failed", f"fallback: ran the case on CPU: meta cannot tell ({DETR_WHY})"]


def test_detr_fuzz_checks_every_case_on_cpu():
    report = fuzz(DETR, examples=5)
    assert report.ok and report.cases_run == 5
    assert [(f.stage, f.device, f.reason, f.cases) for f in report.fallbacks] == [("run", "cpu", DETR_WHY, 5)]


@pytest.mark.parametrize("jobs", [1, 2])
def test_detr_resolutions_never_rejects_a_size_meta_could_not_tell(jobs):
    report = resolutions(DETR, span=(1, 12), jobs=jobs)
    [dim] = report.dims
    assert report.ok and dim.rejections == () and dim.accepted.sizes == tuple(range(1, 13))
    assert [(f.stage, f.reason, f.cases) for f in report.fallbacks] == [("run", DETR_WHY, 12)]


def test_forced_meta_reports_the_crash_as_a_rejection():
    report = resolutions(DETR, span=(8, 9), device="meta")
    assert not report.ok and report.fallbacks == ()
    assert {r.kind for r in report.dims[0].rejections} == {"crash"}


# -- shapes and memory ------------------------------------------------------------------------------


def test_shapes_and_memory_are_measured_through_the_dispatch():
    from archcheck.counting import count_model

    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1)).eval()
    counted = count_model(model, (torch.empty(1, 3, 32, 32, device="meta"),))
    assert [(m.path, m.inputs, m.outputs) for m in counted.modules] == [
        ("", ((1, 3, 32, 32),), ((1, 4, 32, 32),)),
        ("0", ((1, 3, 32, 32),), ((1, 8, 32, 32),)),
        ("1", ((1, 8, 32, 32),), ((1, 8, 32, 32),)),
        ("2", ((1, 8, 32, 32),), ((1, 4, 32, 32),)),
    ]
    memory = counted.memory
    assert (memory.params, memory.buffers) == ((3 * 9 * 8 + 8 + 8 * 4 + 4) * 4, 0)
    assert memory.outputs == (8 + 8 + 4) * 32 * 32 * 4  # every leaf call's output
    assert memory.peak == 2 * 8 * 32 * 32 * 4  # conv 0's output and the ReLU's, alive together


# -- archcheck.summary ------------------------------------------------------------------------------


def hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_summary_counts_a_model_object_and_leaves_it_as_found(capsys):
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU()).train()
    before = (dict(vars(model)).keys(), [t.clone() for t in model.state_dict().values()])
    report = archcheck.summary(model, (1, 3, 32, 32))
    out = capsys.readouterr().out
    assert isinstance(report, archcheck.CountReport) and report.fallbacks == ()
    assert report.cases[0].total.compute.macs == 8 * 3 * 9 * 30 * 30 and report.cases[0].device == "meta"
    assert "case input [1, 3, 32, 32]" in out and "memory (estimate, inference): " in out
    assert model.training and all(m.training for m in model.modules()) and hooks(model) == 0
    assert dict(vars(model)).keys() == before[0] and model[0].weight.device.type == "cpu"
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), before[1]))


def test_summary_takes_several_sizes_or_tensors():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 2), nn.Linear(6, 2)

        def forward(self, x, y):
            return self.a(x) + self.b(y)

    model = Pair()
    by_size = summary(model, [(5, 4), (5, 6)], show=False)
    by_tensor = summary(model, [torch.randn(5, 4), torch.randn(5, 6)], show=False)
    assert by_size.cases[0].total.compute == by_tensor.cases[0].total.compute
    assert by_size.cases[0].total.compute.macs == 5 * 4 * 2 + 5 * 6 * 2
    with pytest.raises(UsageError, match=r"summary\(\) takes an input size like \(1, 3, 224, 224\)"):
        summary(model, "1,3")


def test_summary_of_a_data_dependent_model_counts_it_as_is_without_changing_it():
    from corpus import detr

    model = detr.detr()  # training mode: a forward would update its batch-norm statistics
    state = {k: v.clone() for k, v in model.state_dict().items()}
    report = summary(model, (1, 3, 64, 64), show=False)
    assert [(f.stage, f.device, f.reason) for f in report.fallbacks] == [("run", "cpu", DETR_WHY)]
    assert report.cases[0].device == "cpu" and report.cases[0].total.compute.macs == 4_055_040
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items()) and model.training and hooks(model) == 0


def test_fuzz_and_resolutions_take_device_on_the_command_line(capsys):
    from archcheck.cli import main

    detr = str(Path(__file__).parent / "specs" / "detr.yaml")
    assert main(["fuzz", detr, "--examples", "3", "--device", "meta"]) == 1  # forced: meta cannot tell, so it crashes
    assert "[crash]" in capsys.readouterr().out
    assert main(["fuzz", detr, "--examples", "3", "--device", "cpu"]) == 0
    assert main(["resolutions", detr, "--dim", "H", "--range", "8:12", "--device", "cpu"]) == 0
    assert "every H >= 8" in capsys.readouterr().out
