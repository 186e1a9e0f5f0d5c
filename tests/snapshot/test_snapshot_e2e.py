"""Snapshot, verify, change, diff: end to end on small models of every shape, and on the zoo's YOLOv4."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from archcheck import verify
from archcheck.snapshot.api import snapshot, target_of
from archcheck.snapshot.diff import compare
from archcheck.snapshot.take import take
from archcheck.spec import Case, load_spec

ROOT = Path(__file__).resolve().parents[2]
ENV = {"PYTHONPATH": f"{ROOT}:{ROOT / 'tests' / 'models'}"}

# factory, inputs, a kwarg that changes a width, the module whose spec line must then fail
MODELS = [
    ("snapshot_models:unet", ["x=[B,3,H,W]"], "width: 8", "enc1"),
    ("snapshot_models:vit", ["x=[B,3,H,W]"], "dim: 32", "patches"),
    ("snapshot_models:detector", ["x=[B,3,H,W]"], "classes: 4", "scores"),
    ("snapshot_models:two_inputs", ["x=[B,3,H,W]", "mask=[B,1,H,W]"], "width: 8", "image"),
    ("snapshot_models:flat_resnet", ["x=[B,3,H,W]"], "width: 16", "conv1"),
]


def line_of(text: str, key: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith(f"{key}:"))


@pytest.mark.parametrize("factory, inputs, change, module", MODELS, ids=[m[0].split(":")[1] for m in MODELS])
def test_a_snapshot_verifies_and_fails_at_the_changed_module(tmp_path, factory, inputs, change, module):
    _, text = snapshot(factory, inputs)
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    assert verify(spec, devices=["meta", "cpu"]).ok

    changed = tmp_path / "changed.yaml"
    changed.write_text(text.replace(f"  factory: {factory}\n", f"  factory: {factory}\n  kwargs: {{{change}}}\n"))
    problems = verify(changed, devices=["meta"]).problems
    shape_lines = {p.location.line for p in problems if p.rule == "shape" and p.subject == module}
    assert shape_lines == {line_of(changed.read_text(), module)}


def test_the_keyword_input_and_the_dict_output_are_written_as_the_format_says():
    _, two = snapshot("snapshot_models:two_inputs", ["x=[B,3,H,W]", "mask=[B,1,H,W]"])
    assert "  mask: {shape: [B, 1, H, W], keyword: true}\n" in two
    _, detector = snapshot("snapshot_models:detector", ["x=[B,3,H,W]"])
    assert "outputs: {boxes: [B, ceil(H/4)*ceil(W/4), 4], scores: [B, ceil(H/4)*ceil(W/4), 3]}\n" in detector
    _, vit = snapshot("snapshot_models:vit", ["x=[B,3,H,W]"])
    assert "  pool_attn: [[B, floor(H/8)*floor(W/8) + 1, 16], null]\n" in vit  # N + 1 tokens, and MHA's None
    assert "  encoder.layers.0: [B, floor(H/8)*floor(W/8) + 1, 16]\n" in vit


@pytest.mark.parametrize("factory, inputs, change, module", MODELS[:1] + MODELS[2:3], ids=["unet", "detector"])
def test_diff_names_the_change(factory, inputs, change, module):
    name, value = change.split(": ")
    old = take(target_of(factory, inputs))[0]
    new = take(target_of(factory, inputs, {name: int(value)}))[0]
    diff = compare(old, new)
    assert module in [c.path for c in diff.changes] and not diff.equal
    assert compare(old, old).equal


@pytest.mark.slow  # three subprocesses, each importing torch
def test_the_command_line(tmp_path):
    out = tmp_path / "unet.yaml"
    command = [sys.executable, "-m", "archcheck.cli", "snapshot", "snapshot_models:unet", "--input", "x=[B,3,H,W]", "-o", str(out)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("# Snapshot of snapshot_models:unet, made by `archcheck snapshot snapshot_models:unet --input 'x=[B,3,H,W]' -o ")
    diff = [sys.executable, "-m", "archcheck.cli", "diff", str(out), "snapshot_models:unet", "--new-input", "x=[B,3,H,W]", "--new-kwargs", "width=8", "--format", "markdown"]
    done = subprocess.run(diff, check=False, capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert done.returncode == 1 and "| ~ | `enc1` | [B, 4, H, W] -> [B, 8, H, W] |" in done.stdout
    same = subprocess.run(diff[:8], check=False, capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert same.returncode == 0 and same.stdout == "unet -> unet: no difference\nparams: 3,690\nmacs at B=1, H=64, W=64: 3,686,400\n"


def test_a_snapshot_never_overwrites_its_spec():
    command = [sys.executable, "-m", "archcheck.cli", "snapshot", "specs/yolov4.yaml", "-o", "specs/yolov4.yaml"]
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=ENV, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr == "archcheck: error: -o specs/yolov4.yaml would overwrite an input (the spec); choose another file\n"


def same_shapes(hand, ours, path: str) -> bool:
    """The hand-written and the snapshot formula give the same shapes across the claimed domain."""
    mine = next(m for m in ours.modules if m.path == path)
    theirs = next(m for m in hand.modules if m.path == path)
    for h, w in ((32, 32), (416, 608), (1024, 96)):
        case = Case.of({"B": 2, "H": h, "W": w})
        if str(_concrete(mine.pattern, ours.env(case))) != str(_concrete(theirs.pattern, hand.env(case))):
            return False
    return True


def _concrete(pattern, env):
    from archcheck.spec.shapes import ShapePattern, TuplePattern

    if isinstance(pattern, TuplePattern):
        return [_concrete(p, env) for p in pattern.items]
    assert isinstance(pattern, ShapePattern)
    return pattern.concrete(env)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["yolov4", "yolov4-involution"])
def test_yolov4_snapshots_are_equivalent_to_the_hand_written_specs(tmp_path, name):
    hand = load_spec(ROOT / "specs" / f"{name}.yaml")
    _, text = snapshot(hand)
    assert "  # runs for H >= 25 with H % 32 in {0, 25-31} (swept 1..96); formulas hold for multiples of 32 from 32 to 1024\n" in text
    assert "  H: {range: [32, 1024], multiple_of: 32, values: [416, 608]}\n" in text
    (tmp_path / "ours.yaml").write_text(text)
    ours = load_spec(tmp_path / "ours.yaml")
    assert [p for p in hand.module_paths if not same_shapes(hand, ours, p)] == []
    counts = {c.path: c.value for c in ours.params.modules} | {"": ours.params.total.value}
    written = {c.path: c.value for c in hand.params.modules} | {"": hand.params.total.value}
    assert {p: counts.get(p) for p in written if p in counts} == {p: v for p, v in written.items() if p in counts}
    assert ours.params.total.value == hand.params.total.value


@pytest.mark.slow
def test_diff_of_yolov4_and_its_involution_variant():
    command = [sys.executable, "-m", "archcheck.cli", "diff", "specs/yolov4.yaml", "specs/yolov4-involution.yaml"]
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=ENV, cwd=ROOT)
    assert done.returncode == 1
    assert done.stdout == (
        "yolov4 -> yolov4-involution: 3 modules changed, 0 added, 0 removed\n"
        "  ~ involution1  Identity -> Involution  [B, 128, H/8, W/8]  params 0 -> 17,096 (+17,096)  macs 0 -> 61,954,048 (+61,954,048)  new inside: reduce, span, unfold\n"
        "  ~ involution2  Identity -> Involution  [B, 256, H/16, W/16]  params 0 -> 67,472 (+67,472)  macs 0 -> 53,474,304 (+53,474,304)  new inside: reduce, span, unfold\n"
        "  ~ involution3  Identity -> Involution  [B, 512, H/32, W/32]  params 0 -> 268,064 (+268,064)  macs 0 -> 49,234,432 (+49,234,432)  new inside: reduce, span, unfold\n"
        "params: 64,363,101 -> 64,715,733 (+352,632)\n"
        "macs at B=1, H=416, W=416: 30,052,385,792 -> 30,217,048,576 (+164,662,784, +0.55%)\n"
    )
