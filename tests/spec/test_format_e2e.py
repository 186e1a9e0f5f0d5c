"""Each new spec form, end to end: ``verify`` on the meta device against a tiny model (tests/models/format_models.py)."""

import pytest

from archcheck import verify


def run(write_spec, text):
    report = verify(write_spec(text), devices=["meta"])
    return report, [(r.rule, r.subject, r.status, r.message) for r in report.results if r.status != "pass"]


DETECTOR = """\
archcheck: 1
name: detector
model: {factory: "format_models:detector", kwargs: {k: 10}}
inputs: {x: [B, 3, H, W]}
dims: {B: {values: [1, 2]}, H: {values: [32]}, W: {values: [32]}}
modules:
  backbone: {channels: 8, stride: 2}
outputs: {boxes: [B, 10, 4], scores: [B, 10]}
"""


def test_dict_outputs_pass(write_spec):
    report, problems = run(write_spec, DETECTOR)
    assert problems == [] and report.count("pass") > 2


def test_dict_output_keys_are_checked(write_spec):
    report, problems = run(write_spec, DETECTOR.replace("scores: [B, 10]", "labels: [B, 10]"))
    assert problems[0] == (
        "output",
        "outputs",
        "fail",
        "model output {boxes: [1, 10, 4], scores: [1, 10]} != expected {boxes: [B, 10, 4], labels: [B, 10]} = {boxes: [1, 10, 4], labels: [1, 10]}: missing key labels; unexpected key scores",
    )
    assert len(problems) == 2  # B=1 and B=2


ATTENTION = """\
archcheck: 1
name: attention
model: {factory: "format_models:attention"}
inputs: {x: [B, L, E]}
dims: {B: {values: [2]}, L: {values: [5, 7]}}
define: {E: 16}
modules:
  attn: [[B, L, E], null]
outputs: [[B, L, E], _]
"""


def test_none_in_tuples_passes(write_spec):
    report, problems = run(write_spec, ATTENTION)
    assert problems == [] and report.count("pass") == 6  # crash, attn and outputs at L=5 and L=7


def test_a_tensor_where_null_is_expected_fails(write_spec):
    report, problems = run(write_spec, ATTENTION.replace("outputs: [[B, L, E], _]", "outputs: [[B, L, E], [B, L, L]]"))
    assert problems[0][3] == "model output [[2, 5, 16], NoneType] != expected [[B, L, E], [B, L, L]] = [[2, 5, 16], [2, 5, 5]]: output 1: expected a tensor, got NoneType"


SHARED = """archcheck: 1
name: shared
model: {factory: "format_models:shared_head", kwargs: {anchors: 6}}
inputs: {x: [B, 3, H, W]}
dims: {B: {values: [1]}, H: {values: [64, 128]}, W: {values: [64]}}
modules:
  head: {calls: [[B, 6, H/8, W/8], [B, 6, H/16, W/16], [B, 6, H/32, W/32]]}
outputs: [[B, 6, H/8, W/8], [B, 6, H/16, W/16], [B, 6, H/32, W/32]]
"""


def test_a_shape_per_call_passes(write_spec):
    report, problems = run(write_spec, SHARED)
    assert problems == []
    assert [r.subject for r in report.results if r.rule == "shape"][:3] == ["head"] * 3


def test_call_i_is_compared_with_shape_i_and_the_count_is_checked(write_spec):
    report, problems = run(write_spec, SHARED.replace("[[B, 6, H/8, W/8], [B, 6, H/16, W/16], [B, 6, H/32, W/32]]}", "[[B, 6, H/8, W/8], [B, 6, H/32, W/32]]}"))
    messages = [p[3] for p in problems if p[3].startswith("head")]
    assert messages[:2] == [
        "head ran 3 times; the spec lists 2 calls",
        "head (call 2 of 2) [1, 6, 4, 4] != expected [B, 6, H/32, W/32] = [1, 6, 2, 2]: dim 2 is 4, expected H/32 = 2; dim 3 is 4, expected W/32 = 2",
    ]
    assert problems[0][:3] == ("called", "head", "fail")


RESNET = """archcheck: 1
name: tiny-resnet
model: {factory: "format_models:tiny_resnet"}
inputs: {x: [B, 3, H, W]}
dims: {B: {values: [2]}, H: {values: [32, 64]}, W: {values: [32]}}
constraints: ["(H/2)*(W/2) <= 256"]
modules:
  conv1: [B, 8, H/2, W/2]
  layer1.0: {channels: 8, stride: 2}
  layer2: [B, 16, H/4, W/4]
  head:
    fc: [B, 10]
outputs: [B, 10]
params: {total: 5.15K}      # 5,146 as printed to 3 digits
"""


def test_flat_modules_constraints_and_printed_counts(write_spec):
    report, problems = run(write_spec, RESNET)
    assert problems == []
    assert [str(c) for c in report.cases] == ["B=2, H=32, W=32"]  # H=64 breaks the constraint
    assert [(m.section, m.path) for m in report.spec.modules] == [("modules", "conv1"), ("modules", "layer1.0"), ("modules", "layer2"), ("head", "fc")]


def test_a_printed_count_fails_past_its_precision(write_spec):
    report, problems = run(write_spec, RESNET.replace("5.15K", "5.14K"))
    assert problems == [("params", "params.total", "fail", "params.total is 5,146, expected 5,140 ± 5 (+6)")]


def test_a_case_outside_the_constraints_is_refused(write_spec):
    from archcheck.errors import UsageError

    with pytest.raises(UsageError, match=r"--case H=64: no case meets the spec's constraints; at B=2, H=64, W=32: \(H/2\)\*\(W/2\) <= 256 does not hold"):
        verify(write_spec(RESNET), devices=["meta"], case={"H": 64})


TOKENS = """archcheck: 1
name: tokens
model: {factory: "format_models:masked", kwargs: {vocab: 1000}}
inputs:
  tokens: {shape: [B, N], dtype: int64, low: 0, high: 1000}
  mask: {shape: [B, N], dtype: bool, keyword: true}
dims: {B: {values: [2]}, N: {values: [7]}}
outputs: [B, N, 16]
"""


def test_keyword_inputs(write_spec):
    report, problems = run(write_spec, TOKENS)
    assert problems == []
