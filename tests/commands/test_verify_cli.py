import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archcheck.cli import main

ROOT = Path(__file__).resolve().parents[2]
YOLOV4 = str(ROOT / "specs" / "yolov4.yaml")
FAST = ["--devices", "meta", "--case", "B=1,H=416,W=416"]


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_passing_spec_exits_0_with_a_summary(capsys):
    code, out, err = run(capsys, "verify", YOLOV4, *FAST)
    assert code == 0 and err == "verify yolov4: meta\n"  # on a terminal a progress bar; in a log one line per device
    assert out.startswith(f"archcheck verify {YOLOV4}  (yolov4; devices meta; 1 cases)\n")
    assert out.rstrip().splitlines()[-1].startswith("OK  ")
    for section in ("backbone", "neck", "heads", "outputs", "params"):
        assert f"\n{section}" in out


def test_failing_spec_exits_1_and_names_the_line(capsys, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(Path(YOLOV4).read_text().replace("yolo_head2: [B, A, H/16, W/16]", "yolo_head2: [B, 72, H/16, W/16]"))
    code, out, err = run(capsys, "verify", str(spec), *FAST)
    assert code == 1
    assert f"{spec}:41:17: error: yolo_head2 [1, 255, 26, 26] != expected [B, 72, H/16, W/16] = [1, 72, 26, 26]: dim 1 is 255, expected 72 at B=1, H=416, W=416 on meta [shape]" in out
    assert "FAILED  " in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "missing.yaml"], "archcheck: error: missing.yaml: no such spec file\n"),
        (["verify", YOLOV4, "--case", "H608"], "archcheck: error: --case takes NAME=VALUE pairs separated by commas, e.g. H=608,W=608; got 'H608'\n"),
        (["verify", YOLOV4, "--case", "H=big"], "archcheck: error: --case H=big: 'big' is not a whole number\n"),
        (["verify", YOLOV4, "--devices", "gpu"], "archcheck: error: unknown device 'gpu'; expected meta, cpu, cuda, cuda:N, dp or ddp (ddp:gloo, ddp:nccl)\n"),
    ],
)
def test_bad_input_exits_2_with_one_message(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith(message)
    assert "Traceback" not in err


def test_json_report_is_stable_and_written_to_a_file(capsys, tmp_path):
    target = tmp_path / "out" / "report.json"
    code, out, _ = run(capsys, "verify", YOLOV4, *FAST, "--format", "json", "-o", str(target))
    assert code == 0 and out == ""
    document = json.loads(target.read_text())
    assert list(document) == ["format", "command", "spec", "name", "ok", "summary", "devices", "cases", "results", "ran"]
    assert document["format"] == 2 and document["command"] == "verify" and document["ok"] is True
    params = next(r for r in document["results"] if r["subject"] == "params.total")
    assert (params["expected"], params["actual"]) == (64363101, 64363101)  # numbers as numbers
    assert document["cases"] == [{"B": 1, "H": 416, "W": 416}]
    spp = next(r for r in document["results"] if r["subject"] == "SPP")
    assert spp == {
        "rule": "shape",
        "subject": "SPP",
        "status": "pass",
        "section": "neck",
        "message": "",
        "file": YOLOV4,
        "line": 27,
        "col": 10,
        "device": "meta",
        "case": {"B": 1, "H": 416, "W": 416},
        "expected": "[B, 2048, H/32, W/32] = [1, 2048, 13, 13]",
        "actual": "[1, 2048, 13, 13]",
        "unit": None,
    }
    assert document["summary"]["failed"] == 0 and document["summary"]["checks"] == len(document["results"])


def test_the_installed_command_prints_no_traceback(tmp_path):
    spec = tmp_path / "broken.yaml"
    spec.write_text("archcheck: 1\nname: x\nmodel: {factory: archcheck.zoo.yolov4:yolov5}\ninputs: {x: [B, 3]}\ndims: {B: {values: [1]}}\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "archcheck.cli", "verify", str(spec)], capture_output=True, text=True, env=env)
    assert done.returncode == 2
    assert done.stderr == f"archcheck: {spec}:3:18: error: module 'archcheck.zoo.yolov4' has no attribute 'yolov5'; did you mean 'yolov4'?\n"
    debug = subprocess.run([sys.executable, "-m", "archcheck.cli", "--debug", "verify", str(spec)], capture_output=True, text=True, env=env)
    assert debug.returncode == 2 and "Traceback" in debug.stderr




def wrong_channels(tmp_path):
    text = Path(YOLOV4).read_text().replace("    SPP: [B, 2048, H/32, W/32]", "    SPP: [B, 1024, H/32, W/32]")
    spec = tmp_path / "yolov4.yaml"
    spec.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("    SPP:"))
    return spec, line


def test_junit_report_has_the_wrong_channel_as_a_failed_testcase(capsys, tmp_path):
    import xml.etree.ElementTree as ET

    spec, line = wrong_channels(tmp_path)
    target = tmp_path / "r.xml"
    code, _, _ = run(capsys, "verify", str(spec), *FAST, "--format", "junit", "-o", str(target))
    assert code == 1
    root = ET.parse(target).getroot()
    (spp,) = root.findall(".//testcase[@name='SPP']")
    assert spp.get("line") == str(line) and spp.get("file") == str(spec)
    assert spp.find("failure").get("message").startswith(f"{spec}:{line}:10: error: SPP [1, 2048, 13, 13] != expected [B, 1024, H/32, W/32]")
    assert int(root.get("failures")) == 1


def test_github_report_puts_an_error_on_the_spec_line(capsys, tmp_path):
    spec, line = wrong_channels(tmp_path)
    code, out, _ = run(capsys, "verify", str(spec), *FAST, "--format", "github")
    assert code == 1
    errors = [row for row in out.splitlines() if row.startswith("::error ")]
    assert errors == [f"::error file={spec},line={line},col=10,title=archcheck shape%3A SPP::SPP [1, 2048, 13, 13] != expected [B, 1024, H/32, W/32] = [1, 1024, 13, 13]: dim 1 is 2048, expected 1024 at B=1, H=416, W=416 on meta"]


def test_markdown_report_has_the_verdict_and_the_problem(capsys, tmp_path):
    spec, line = wrong_channels(tmp_path)
    code, out, _ = run(capsys, "verify", str(spec), *FAST, "--format", "markdown")
    assert code == 1
    assert out.startswith("## ❌ archcheck verify yolov4: FAILED\n")
    assert f"- `{spec}:{line}:10` SPP [1, 2048, 13, 13] != expected" in out


def test_version_and_global_flags_after_the_subcommand(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"archcheck {version('archcheck')}\n"
    code, out, err = run(capsys, "verify", "missing.yaml", "--debug", "--no-color")
    assert code == 2 and "Traceback" in err and err.rstrip().endswith("archcheck: error: missing.yaml: no such spec file")


def test_print_report_shows_the_text_report():
    from archcheck import verify

    report = verify(YOLOV4, devices=["meta"], case={"B": 1, "H": 416, "W": 416})
    text = str(report)
    assert text.startswith("archcheck verify ") and "OK  " in text and "Report(" not in text
