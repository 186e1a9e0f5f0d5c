import ast
import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
from count_toys import SMALL_CSP_SPEC

from archcheck.cli import main

ROOT = Path(__file__).resolve().parents[2]
YOLOV4 = str(ROOT / "specs" / "yolov4.yaml")
AT_416 = ["--case", "B=1,H=416,W=416"]

SORTER = """\
archcheck: 1
name: sorter
model: {factory: count_toys:sorter}
inputs:
  x: [B, 3, H, W]
dims:
  B: {values: [1]}
  H: {values: [8]}
  W: {values: [8]}
"""


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_darknet_convention_prints_the_darknet_figure(capsys):
    code, out, err = run(capsys, "count", YOLOV4, *AT_416, "--convention", "darknet")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[1] == "parameters: 64,363,101 total, 64,363,101 trainable, 0 frozen; buffers: 66,411 (shared tensors counted once)"
    assert "BFLOPs (Darknet)" in lines[3] and "GMACs" in lines[3] and "other ops (G)" in lines[3]
    assert "output shape" in lines[3] and lines[3].index("output shape") < lines[3].index("params")
    assert lines[5].split() == ["yolov4", "(model)", "│", "YOLOv4", "│", "[1,", "255,", "13,", "13]", "+2", "│", "64,363,101", "│", "30.052", "│", "0.116", "│", "60.137"]
    assert "memory (estimate, inference): weights 245.8 MiB (parameters 245.5 MiB, buffers 0.3 MiB); activations: module outputs 611.3 MiB (sum over leaf modules), peak live 95.1 MiB" in out
    assert "total at B=1, H=416, W=416: 30.052 GMACs, 0.116 G other ops, 60.137 BFLOPs (Darknet)" in out


def test_depth_shows_deeper_modules(capsys):
    _, shallow, _ = run(capsys, "count", YOLOV4, *AT_416, "--depth", "1")
    _, deep, _ = run(capsys, "count", YOLOV4, *AT_416, "--depth", "2")
    assert "└ backbone" in shallow and "└ stem" not in shallow
    assert "  └ stem " in deep


def test_json_has_every_module_and_the_convention(capsys):
    code, out, _ = run(capsys, "count", YOLOV4, *AT_416, "--format", "json", "--convention", "flops")
    document = json.loads(out)
    assert code == 0
    assert document["convention"]["label"] == "GFLOPs (2 x MACs)"
    [case] = document["cases"]
    assert case["case"] == {"B": 1, "H": 416, "W": 416}
    assert case["total"]["macs"] == 30_052_385_792 and case["total"]["flops"] == 60_104_771_584
    assert {m["path"] for m in case["modules"]} >= {"", "backbone", "backbone.stages.4.blocks.3.block.1.conv"}


def test_every_spec_case_without_case(capsys, write_spec):
    spec = write_spec(SORTER.replace("H: {values: [8]}", "H: {values: [8, 16]}"))
    code, out, _ = run(capsys, "count", str(spec))
    assert code == 0
    assert "case B=1, H=8, W=8" in out and "case B=1, H=16, W=8" in out and "\ntotals" in out


def test_uncounted_ops_are_listed_and_strict_makes_them_exit_1(capsys, write_spec):
    spec = str(write_spec(SORTER))
    code, out, err = run(capsys, "count", spec)
    assert code == 0 and err == ""
    assert "uncounted ops (no cost formula; not in the totals, not zero): 1\n  aten._fft_r2c x2 (first in the model)\n" in out
    code, out, err = run(capsys, "count", spec, "--strict")
    assert code == 1
    assert err == "archcheck: --strict: 1 op(s) have no cost formula:\n  aten._fft_r2c x2 (first in the model)\n"


def test_strict_passes_when_everything_is_costed(capsys):
    code, _, err = run(capsys, "count", YOLOV4, *AT_416, "--strict")
    assert code == 0 and err == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--case", "Q=3"], "archcheck: error: --case names Q, which is not a dim of yolov4; the spec's dims are B, H, W\n"),
        (["--depth", "-1"], "archcheck: error: --depth -1 must be >= 0\n"),
        (["--engine", "thop"], "archcheck: error: unknown engine 'thop'; expected one of: torch, fvcore, torchinfo, all\n"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, args, message):
    code, out, err = run(capsys, "count", YOLOV4, *args)
    assert (code, out, err) == (2, "", message)


def test_missing_spec_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, "count", str(tmp_path / "nope.yaml"))
    assert code == 2 and err.startswith("archcheck: ") and "nope.yaml" in err and "Traceback" not in err


def test_engine_all_prints_the_engines_side_by_side_with_reasons(capsys, write_spec):
    pytest.importorskip("fvcore")
    pytest.importorskip("torchinfo")
    spec = write_spec(
        SMALL_CSP_SPEC
    )
    code, out, err = run(capsys, "count", str(spec), "--engine", "all")
    assert code == 0 and err == ""
    assert "engines at B=1, H=64, W=64" in out
    header = next(line for line in out.splitlines() if "archcheck MMACs" in line)
    assert header.split() == ["module", "┃", "archcheck", "MMACs", "┃", "fvcore", "┃", "torchinfo"]
    assert "  - conv: fvcore 2,605,056 = archcheck macs 2,605,056\n" in out
    assert "  - BatchNorm2d x22: torchinfo 544 vs archcheck 0 MACs (+544): params x batch counted as MACs +544 (archcheck: 97,280 'other' ops, no MACs)\n" in out
    assert "fvcore.nn" not in out + err  # fvcore's logging is silenced


def test_verbose_adds_input_shapes_and_json_has_shapes_and_memory(capsys):
    code, out, _ = run(capsys, "count", YOLOV4, *AT_416, "--verbose", "--depth", "1")
    header = out.splitlines()[3]
    assert code == 0 and header.index("input shape") < header.index("output shape") < header.index("params")
    assert "└ conv1           │ Sequential            │ [1, 1024, 13, 13] │ [1, 512, 13, 13]" in out
    code, out, _ = run(capsys, "count", YOLOV4, *AT_416, "--format", "json")
    [case] = json.loads(out)["cases"]
    conv1 = next(m for m in case["modules"] if m["path"] == "conv1")
    assert (conv1["input_shapes"], conv1["output_shapes"], conv1["output_bytes"]) == ([[1, 1024, 13, 13]], [[1, 512, 13, 13]], 512 * 13 * 13 * 4)
    assert case["memory"] == {"estimate": True, "params_bytes": 64_363_101 * 4, "buffers_bytes": case["memory"]["buffers_bytes"], "activation_outputs_bytes": case["memory"]["activation_outputs_bytes"], "activation_peak_bytes": case["memory"]["activation_peak_bytes"]}
    assert case["device"] == "meta" and json.loads(out)["fallbacks"] == []


def test_markdown_has_shapes_params_compute_and_the_memory_estimate(capsys):
    code, out, _ = run(capsys, "count", "toy:two_scale", "--input", "1,3,16,16", "--format", "markdown")
    assert code == 0
    assert "| module | type | output shape | params | KMACs |" in out
    assert "| stem | Conv2d | [1, 8, 16, 16] | 224 | 55.296 |" in out
    assert "memory (estimate, inference): weights" in out


OTHER_COMMANDS_WORK = ("archcheck.pipeline", "archcheck.checks", "archcheck.snapshot.take", "archcheck.sizes", "archcheck.fuzzing", "archcheck.graph", "hypothesis", "graphviz", "sympy", "torch._dynamo")


def loaded_after(code: str, watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` a fresh interpreter has imported after running ``code``."""
    probe = f"import sys\n{code}\nprint(sorted(m for m in {watched!r} if m in sys.modules))\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def test_count_imports_no_other_commands_work():
    """Each command imports its work when it runs: count loads neither verify's checks, snapshot's
    fitting, resolutions' sweep, fuzz's hypothesis nor graph's graphviz."""
    code = f"from archcheck.cli import main\nassert main(['count', {YOLOV4!r}, '--case', 'B=1,H=64,W=64']) == 0"
    assert loaded_after(code, OTHER_COMMANDS_WORK) == []


def test_help_imports_no_torch():
    code = "from archcheck.cli import main\ntry:\n    main(['count', '--help'])\nexcept SystemExit:\n    pass"
    assert loaded_after(code, ("torch", "rich")) == []


def test_main_hands_back_to_the_collector_what_it_froze(capsys, tmp_path):
    """main freezes torch's objects for the run (no full collection walks them), and unfreezes them after, even on an error."""
    assert gc.get_freeze_count() == 0
    assert run(capsys, "count", YOLOV4, "--case", "B=1,H=64,W=64")[0] == 0
    assert run(capsys, "count", str(tmp_path / "nope.yaml"))[0] == 2
    assert gc.get_freeze_count() == 0
