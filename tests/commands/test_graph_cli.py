import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from archcheck.cli import main

ROOT = Path(__file__).resolve().parents[2]
YOLOV4 = ROOT / "specs" / "yolov4.yaml"
SVG = "{http://www.w3.org/2000/svg}"

TOY = """\
archcheck: 1
name: toy
model: {factory: toy:two_scale}
inputs:
  x: [B, 3, H, W]
dims:
  B: {values: [1, 2]}
  H: {range: [4, 64], multiple_of: 4, values: [16, 32]}
  W: {values: [16]}
modules:
  body:
    stem: [B, 8, H, W]
    down2: [B, 8, H/4, W/4]
  head:
    head: [B, 4, H/2, W/2]
outputs: [B, 4, H/2, W/2]
"""


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def fills(svg: Path) -> dict[str, str]:
    """Each node's fill colour, by node id."""
    found = {}
    for group in ET.parse(svg).getroot().iter(f"{SVG}g"):
        if group.get("class") == "node":
            shape = next(s for s in group.iter() if s.tag in (f"{SVG}path", f"{SVG}polygon", f"{SVG}ellipse"))
            found[group.findtext(f"{SVG}title")] = shape.get("fill")
    return found


@pytest.fixture
def toy(write_spec):
    return write_spec(TOY, "toy.yaml")


def test_graph_writes_the_diagram_and_exits_0(capsys, toy, tmp_path):
    output = tmp_path / "toy.svg"
    code, out, err = run(capsys, "graph", toy, "-o", output, "--case", "H=32")
    assert (code, err) == (0, "")
    assert out == f"wrote {output}: 9 nodes, 9 edges at B=1, H=32, W=16; 5 checks passed, 0 failed\n"
    assert fills(output)["stem"] == "#dff3df"


def test_graph_of_yolov4_exits_0(capsys, tmp_path):
    code, out, err = run(capsys, "graph", YOLOV4, "-o", tmp_path / "yolov4.png", "--params")
    assert (code, err) == (0, "")
    assert out.startswith(f"wrote {tmp_path / 'yolov4.png'}: 30 nodes, 33 edges at B=1, H=416, W=416; ")
    assert out.endswith(" checks passed, 0 failed\n")
    assert (tmp_path / "yolov4.png").read_bytes().startswith(b"\x89PNG")


def test_a_failed_check_exits_1_and_paints_the_node_red(capsys, write_spec, tmp_path):
    spec = write_spec(TOY.replace("down2: [B, 8, H/4, W/4]", "down2: [B, 8, H/8, W/8]"), "bad.yaml")
    code, out, err = run(capsys, "graph", spec, "-o", tmp_path / "bad.svg")
    assert (code, err) == (1, "")
    assert out == f"wrote {tmp_path / 'bad.svg'}: 9 nodes, 9 edges at B=1, H=16, W=16; 4 checks passed, 1 failed\n"
    assert fills(tmp_path / "bad.svg")["down2"] == "#fde0e0"


def test_the_default_output_is_the_spec_name_as_svg(capsys, toy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "graph", toy, "--depth", "1")
    assert code == 0 and out.startswith("wrote toy.svg: ")
    assert (tmp_path / "toy.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "toy.gif"], "archcheck: error: cannot draw toy.gif: the suffix chooses the format; use .svg, .png, .pdf or .dot\n"),
        (["--depth", "0"], "archcheck: error: --depth must be at least 1, got 0\n"),
        (["--case", "H32"], "archcheck: error: --case takes NAME=VALUE pairs separated by commas, e.g. H=608,W=608; got 'H32'\n"),
        (["--case", "X=1"], "archcheck: error: --case names X, which is not a dim of toy; the spec's dims are B, H, W\n"),
    ],
)
def test_bad_input_exits_2_with_one_message(capsys, toy, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "graph", toy, *args)
    assert (code, out, err) == (2, "", message)
    assert list(tmp_path.glob("toy.*")) == [toy]


def test_without_dot_the_command_writes_the_source_says_how_to_install_and_exits_2(toy, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty), "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "models"), os.environ.get("PYTHONPATH", "")])}
    output = tmp_path / "out" / "toy.svg"
    done = subprocess.run([sys.executable, "-m", "archcheck.cli", "graph", str(toy), "-o", str(output)], env=env, capture_output=True, text=True, timeout=120)
    source = tmp_path / "out" / "toy.dot"
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"archcheck: error: cannot render {output}: graphviz's dot program is not installed; wrote the source to {source}. "
        f"Install graphviz (apt-get install graphviz, brew install graphviz or conda install graphviz), then run: dot -Tsvg {source} -o {output}\n"
    )
    assert source.read_text().startswith("digraph archcheck {") and not output.exists()


def test_verify_graph_paints_the_results_of_verify(capsys, toy, tmp_path):
    output = tmp_path / "verified.svg"
    code, out, err = run(capsys, "verify", toy, "--devices", "meta", "--graph", output)
    assert code == 0 and "OK  " in out
    source = output.read_text()
    assert "toy (" in source and "at B=1, H=16, W=16" in source  # the first case verify ran
    assert "20 checks passed, 0 failed" in source  # all of verify's results: 4 cases x 5 checks
    assert fills(output)["stem"] == "#dff3df" and fills(output)["up"] == "#ffffff"


def test_verify_graph_with_a_bad_suffix_fails_before_checking(capsys, toy, tmp_path):
    code, out, err = run(capsys, "verify", toy, "--devices", "meta", "--graph", tmp_path / "g.jpg")
    assert (code, out) == (2, "")
    assert err == f"archcheck: error: cannot draw {tmp_path / 'g.jpg'}: the suffix chooses the format; use .svg, .png, .pdf or .dot\n"
