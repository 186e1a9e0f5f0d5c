from pathlib import Path

import pytest

from archcheck import SpecError, UsageError, load_spec, verify

ROOT = Path(__file__).resolve().parents[1]
YOLOV4 = ROOT / "specs" / "yolov4.yaml"

TOY = """\
archcheck: 1
name: toy
model: {factory: toy:two_scale}
inputs:
  x: [B, 3, H, W]
dims:
  B: {values: [1, 2]}
  H: {range: [4, 64], multiple_of: 4, values: [16]}
  W: {values: [16]}
modules:
  body:
    stem: [B, 8, H, W]
    down1: {channels: 8, stride: 2}
    down2: [B, 8, H/4, W/4]
  head:
    head: [B, 4, H/2, W/2]
outputs: [B, 4, H/2, W/2]
params: {total: 1148, modules: {stem: 224}}
devices: [meta, cpu]
"""


@pytest.mark.parametrize("name", ["yolov4", "yolov4-involution", "cspdarknet53"])
def test_shipped_specs_hold_on_meta(name):
    report = verify(ROOT / "specs" / f"{name}.yaml", devices=["meta"])
    assert report.problems == ()
    spec = report.spec
    shape_checks = [r for r in report.results if r.rule == "shape"]
    assert len(shape_checks) == len(spec.modules) * len(spec.cases())
    assert all(r.status == "pass" for r in report.results)


def test_yolov4_holds_on_cpu_at_a_small_case():
    report = verify(YOLOV4, devices=["meta", "cpu"], case={"B": 1, "H": 64, "W": 96})
    assert report.ok
    assert {r.device for r in report.results if r.rule == "output"} == {"meta", "cpu"}


def test_a_wrong_shape_is_reported_at_its_spec_line(tmp_path):
    text = YOLOV4.read_text().replace("SPP: [B, 2048, H/32, W/32]", "SPP: [B, 1024, H/32, W/32]")
    path = tmp_path / "yolov4.yaml"
    path.write_text(text)
    report = verify(path, devices=["meta"], case={"B": 1, "H": 608, "W": 608})
    assert [p.headline() for p in report.problems] == [
        f"{path}:27:10: error: SPP [1, 2048, 19, 19] != expected [B, 1024, H/32, W/32] = [1, 1024, 19, 19]: "
        "dim 1 is 2048, expected 1024 at B=1, H=608, W=608 on meta [shape]"
    ]


def test_every_difference_is_reported(write_spec):
    text = TOY.replace("stem: [B, 8, H, W]", "stem: [B, 9, H, W]").replace("total: 1148", "total: 1100")
    report = verify(write_spec(text), devices=["meta"])
    assert sorted((p.rule, p.subject, p.location.line) for p in report.problems) == [
        ("params", "params.total", 18),
        ("shape", "stem", 12),
        ("shape", "stem", 12),
    ]
    params = next(p for p in report.problems if p.rule == "params")
    assert params.message == "params.total is 1,148, expected 1,100 (+48)"


def test_a_crash_is_a_failed_check_and_later_modules_are_skipped(write_spec):
    report = verify(write_spec(TOY), devices=["meta", "cpu"], case={"B": 1, "H": 18})
    crashes = [p for p in report.problems if p.rule == "crash"]
    assert [p.device for p in crashes] == ["meta", "cpu"]
    assert crashes[0].message.startswith(
        "forward crashed in the model's forward (TwoScale) at toy.py:22: return self.bn(self.head(torch.cat([x, y], dim=1))) "
        "with inputs [1, 3, 18, 16]: RuntimeError: Sizes of tensors must match except in dimension 1."
    )
    head = [r for r in report.results if r.subject == "head"]
    assert {r.status for r in head} == {"skip"}
    assert head[0].message == "head was not reached: the forward pass crashed in the model"
    # H=18 is outside the claimed domain: said, not hidden
    domain = [r for r in report.results if r.rule == "domain"]
    assert domain[0].message == "H=18 is not a multiple of 4: this case is outside the domain the spec claims"


def test_a_formula_with_no_whole_value_is_a_spec_problem(write_spec):
    report = verify(write_spec(TOY.replace("down2: [B, 8, H/4, W/4]", "down2: [B, 8, H/8, W/4]")), devices=["meta"], case={"B": 1, "H": 20})
    expr = [p for p in report.problems if p.rule == "expr"]
    assert expr and expr[0].message == "down2: the spec has no value here: H/8 is 5/2 at H=20, not a whole number; write ceil(H/8) or floor(H/8)"


def test_a_module_that_never_runs_is_reported(write_spec):
    report = verify(write_spec(TOY.replace("head: [B, 4, H/2, W/2]", "up: [B, 8, H/2, W/2]\n    bn: [B, 4, H/2, W/2]\n    head: [B, 4, H/2, W/2]")), devices=["meta"], case={"B": 1})
    assert report.ok  # up, bn and head all run
    text = TOY.replace("    stem: [B, 8, H, W]", "    stem: [B, 8, H, W]\n    extra: [B, 8, H, W]")
    path = write_spec(text + "")
    with pytest.raises(SpecError, match=r"spec.yaml:13:5: error: no module 'extra' in TwoScale"):
        verify(path, devices=["meta"])


def test_unknown_module_paths_are_all_listed_with_suggestions(write_spec):
    text = TOY.replace("down1:", "dwn1:").replace("head: [B", "heads: [B")
    with pytest.raises(SpecError) as error:
        verify(write_spec(text), devices=["meta"])
    assert [str(d) for d in error.value.diagnostics] == [
        f"{error.value.diagnostics[0].location.file}:13:5: error: no module 'dwn1' in TwoScale; did you mean down1, down2?",
        f"{error.value.diagnostics[0].location.file}:16:5: error: no module 'heads' in TwoScale; did you mean head?",
    ]


def test_case_errors_are_usage_errors():
    with pytest.raises(UsageError, match=r"^error: --case names Q, which is not a dim of yolov4; the spec's dims are B, H, W$"):
        verify(YOLOV4, devices=["meta"], case={"Q": 1})
    with pytest.raises(UsageError, match=r"^error: unknown device 'tpu'; expected meta, cpu, cuda, cuda:N, dp or ddp "):
        verify(YOLOV4, devices=["tpu"])


def test_spec_objects_are_accepted_and_reused(write_spec):
    spec = load_spec(write_spec(TOY.replace("stem: [B, 8, H, W]", "stem: [B, 9, H, W]")))
    first = verify(spec, devices=["meta"])
    second = verify(spec, devices=["meta"])
    by_path = verify(spec.path, devices=["meta"])
    assert first.spec is spec and second.spec is spec
    assert first.results == second.results == by_path.results  # the same spec object gives the same verdicts, run after run
    assert {(r.subject, r.status) for r in first.problems} == {("stem", "fail")}
    assert first.count("pass") > 0


def test_a_declared_module_that_never_runs_fails_the_called_rule(write_spec):
    path = write_spec(TOY.replace("model: {factory: toy:two_scale}", "model: {factory: toy:with_unused}").replace("    down1: {channels: 8, stride: 2}\n", "    down1: {channels: 8, stride: 2}\n    unused: [B, 8, H, W]\n").replace("params: {total: 1148, modules: {stem: 224}}\n", ""))
    report = verify(path, devices=["meta"], case={"B": 1})
    (problem,) = report.problems
    assert problem.headline() == f"{path}:14:13: error: unused never ran in the forward pass, so its shape cannot be checked at B=1, H=16, W=16 on meta [called]"


def test_a_cpu_run_with_nothing_to_compare_keeps_no_outputs(write_spec):
    report = verify(write_spec(TOY), devices=["meta", "cpu"], case={"B": 1, "H": 16})
    cpu = next(run for run in report.runs if run.device == "cpu")
    assert cpu.ran and cpu.observations and cpu.tensors == ()


def test_verify_on_meta_runs_what_meta_cannot_tell_on_the_cpu_and_says_so():
    report = verify(ROOT / "tests" / "specs" / "detr.yaml", devices=["meta"])
    assert report.ok
    (note,) = [r for r in report.results if r.rule == "fallback"]
    assert note.message.startswith("ran the case on CPU: meta cannot tell (aten.index in the model's forward (Detector) at detr.py:28: kept = boxes[confident]: NotImplementedError")
    assert "Notes" in str(report)


def test_a_model_built_on_the_cpu_because_meta_cannot_is_reported(write_spec):
    spec = write_spec("archcheck: 1\nname: regnet\nmodel: {factory: corpus.regnet:regnet}\ninputs: {x: [1, 3, 32, 32]}\n")
    report = verify(spec, devices=["meta"])
    (note,) = [r for r in report.results if r.rule == "fallback"]
    assert note.message.startswith("built on CPU, then moved to meta: the constructor cannot run on meta (")


def test_the_flops_count_is_made_during_the_meta_forward_and_equals_a_separate_one():
    from archcheck.counting.counter import count_model
    from archcheck.inputs import make_inputs
    from archcheck.model import Builds
    from archcheck.pipeline import _CountDuring
    from archcheck.runners.local import LocalRunner

    spec = load_spec(YOLOV4)
    builds, runner, case = Builds(spec), LocalRunner("meta", "meta"), spec.flops.case
    during = _CountDuring(spec, runner, case)
    run = runner.run(spec, [case], builds, lambda: None)
    assert during.result((run,)) == count_model(builds.meta, make_inputs(spec, case, "meta"), case)


def test_the_flops_claim_is_judged_when_its_case_is_not_among_the_cases_run():
    report = verify(YOLOV4, devices=["meta"], case={"B": 1, "H": 608, "W": 608}, select=["flops"])
    (flops,) = [r for r in report.results if r.rule == "flops"]
    assert report.ok and not flops.failed
