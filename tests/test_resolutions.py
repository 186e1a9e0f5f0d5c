"""archcheck.sizes: the exact accepted sizes of small nets with a known answer, and of YOLOv4."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sizes import SKIP_CONCAT_SPEC

from archcheck.cli import main
from archcheck.sizes import resolutions, size_set

ROOT = Path(__file__).resolve().parents[1]


SKIP_SPEC = SKIP_CONCAT_SPEC

POOL_SPEC = """archcheck: 1
name: pool
model: {factory: "sizes:pool_then_conv"}
inputs:
  x: [B, 1, H, W]
dims:
  B: {values: [1]}
  H: {range: [8, 64], multiple_of: 2, values: [8]}
  W: {values: [8]}
modules:
  main:
    pool: [B, 1, floor(H/2), floor(W/2)]
outputs: [B, 2, floor(H/2) - 2, floor(W/2) - 2]
"""


def test_skip_concat_accepts_multiples_of_4_and_the_spec_is_narrower(write_spec) -> None:
    report = resolutions(write_spec(SKIP_SPEC), ["H"], (1, 40))
    (h,) = report.dims
    assert h.sizes_run == 40
    assert (h.accepted.period, h.accepted.residues, h.accepted.minimum, h.accepted.maximum) == (4, (0,), 4, None)
    assert h.accepted.describe("H") == "every multiple of 4 from 4"
    assert h.runs.sizes == h.accepted.sizes
    assert h.verdict == "inside the accepted set, but narrower than it need be: 5 more sizes are accepted (H in {4, 12, 20, 28, 36})"
    (crash,) = h.rejections
    assert crash.kind == "crash" and len(crash.sizes) == 30
    assert crash.where == "the model forward (SkipConcat) at sizes.py:16: return torch.cat([x, self.up(self.down(x))], dim=1)"
    assert crash.reason == "RuntimeError: Sizes of tensors must match except in dimension 1. Expected 1 in dimension 2 but got 4 for tensor number 1 in the list"
    assert report.ok


def test_pool_then_conv_accepts_every_size_from_6(write_spec) -> None:
    report = resolutions(write_spec(POOL_SPEC), ["H"], (1, 30))
    (h,) = report.dims
    assert h.accepted.describe("H") == "every H >= 6"
    assert h.accepted.sizes == tuple(range(6, 31))
    assert {r.kind for r in h.rejections} == {"crash"}
    assert sorted(s for r in h.rejections for s in r.sizes) == [1, 2, 3, 4, 5]
    assert {r.where for r in h.rejections} == {"conv (Conv2d) at sizes.py:28: return self.conv(self.pool(x))", "pool (MaxPool2d) at sizes.py:28: return self.conv(self.pool(x))"}


def test_a_claimed_size_the_network_rejects_fails(write_spec) -> None:
    report = resolutions(write_spec(SKIP_SPEC.replace("multiple_of: 8", "multiple_of: 2")), ["H"], (1, 16))
    assert not report.ok
    assert report.dims[0].verdict.startswith("the spec claims 2 sizes the network does not accept, e.g. H=10: RuntimeError: Sizes of tensors must match")


def test_yolov4_accepts_multiples_of_32_and_runs_at_more() -> None:
    report = resolutions(ROOT / "specs/yolov4.yaml", ["H"], (1, 100))
    (h,) = report.dims
    assert h.accepted.describe("H") == "every multiple of 32 from 32"
    assert h.runs.describe("H") == "H >= 25 with H % 32 in {0, 25-31}"
    assert h.verdict == "inside the accepted set, and exactly it within this range"
    crashes = [r for r in h.rejections if r.kind == "crash"]
    assert [r.where for r in crashes] == [
        "the model forward (YOLOv4) at yolov4.py:146: p4 = self.make_five_conv1(torch.cat([self.conv_for_P4(c4), self.upsample1(p5)], dim=1))",
        "the model forward (YOLOv4) at yolov4.py:147: p3 = self.make_five_conv2(torch.cat([self.conv_for_P3(c3), self.upsample2(p4)], dim=1))",
    ]
    assert sum(len(r.sizes) for r in crashes) == 100 - 24
    shape = next(r for r in h.rejections if r.kind == "shape" and r.sizes[0] == 25)
    assert shape.where == f"{ROOT / 'specs/yolov4.yaml'}:19:24 backbone.stages.0"


@pytest.mark.parametrize(
    ("size", "members", "expected"),
    [
        (40, set(range(6, 41)), "every H >= 6"),
        (40, {8, 16, 24, 32, 40}, "every multiple of 8 from 8"),
        (40, {3, 4, 5, 6}, "every H >= 3 up to 6"),
        (40, {224}, "H in {224}"),
        (40, set(), "no size"),
        (96, {s for s in range(1, 97) if s % 32 in (0, 25, 26, 27, 28, 29, 30, 31)}, "H >= 25 with H % 32 in {0, 25-31}"),
    ],
)
def test_size_set_descriptions(size: int, members: set[int], expected: str) -> None:
    assert size_set(members, size).describe("H") == expected


def test_cli_text_and_json(write_spec, capsys) -> None:
    spec = write_spec(SKIP_SPEC)
    assert main(["resolutions", str(spec), "--dim", "H", "--range", "1:12"]) == 0
    out = capsys.readouterr().out
    assert "  accepted:  every multiple of 4 from 4  [3 sizes]\n" in out
    assert "H in 1..12 (B=1, W=8 held; 12 meta runs, one per size)" in out
    assert main(["resolutions", str(spec), "--range", "1:12", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dims"][0]["accepted"] | {"sizes": None} == {"period": 4, "residues": [0], "minimum": 4, "maximum": None, "count": 3, "sizes": None, "text": "every multiple of 4 from 4"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--range", "10:5"], "archcheck: error: --range takes LO:HI with 1 <= LO <= HI, e.g. 1:1024; got '10:5'\n"),
        (["--range", "a:b"], "archcheck: error: --range takes LO:HI with 1 <= LO <= HI, e.g. 1:1024; got 'a:b'\n"),
        (["--dim", "h"], "archcheck: error: --dim h is not a dim of skip; the spec's dims are B, H, W\n"),
        (["--dim", "B", "--jobs", "0"], "archcheck: error: --jobs must be between 1 and 64, got 0\n"),
    ],
)
def test_cli_bad_input_exits_2(write_spec, capsys, args: list[str], message: str) -> None:
    assert main(["resolutions", str(write_spec(SKIP_SPEC)), *args]) == 2
    assert capsys.readouterr().err == message


def test_jobs_give_the_same_answer(write_spec) -> None:
    spec = write_spec(SKIP_SPEC)
    one, two = (resolutions(spec, ["H"], (1, 24), jobs=j).dims[0] for j in (1, 2))
    assert (one.accepted, one.runs, one.rejections) == (two.accepted, two.runs, two.rejections)
