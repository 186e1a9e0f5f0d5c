"""Small bounds: 'did you mean' over thousands of module paths stays fast; stdout on a full device is one clear error."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from torch import nn

from archcheck.errors import SpecError
from archcheck.model import check_module_paths
from archcheck.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]

SPEC = """\
archcheck: 1
name: many
model:
  factory: ddp_models:tiny
inputs:
  x: [B, 3, 8, 8]
dims:
  B: {values: [1]}
modules:
  wrong:
"""


def test_did_you_mean_over_4000_modules_and_100_wrong_paths_is_fast(write_spec):
    spec = load_spec(write_spec(SPEC + "".join(f"    blocks.{i}.convv: [B, 3, 8, 8]\n" for i in range(0, 4000, 40))))
    model = nn.Module()
    model.blocks = nn.ModuleList(nn.Sequential(nn.Identity()) for _ in range(4000))
    started = time.perf_counter()
    with pytest.raises(SpecError) as error:
        check_module_paths(spec, model)
    assert time.perf_counter() - started < 1.0
    assert len(error.value.diagnostics) == 100
    assert error.value.diagnostics[0].message.startswith("no module 'blocks.0.convv' in Module; did you mean ")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_report_written_to_a_full_device_is_one_clear_error(write_spec):
    spec = write_spec(SPEC.replace("modules:\n  wrong:\n", "outputs: [B, 4, 8, 8]\n"))
    environment = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "models")])}
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "archcheck.cli", "verify", str(spec), "--devices", "meta"], stdout=full, stderr=subprocess.PIPE, text=True, env=environment, timeout=120)
    assert done.returncode == 2
    assert done.stderr.endswith("archcheck: error: cannot write the output to stdout: No space left on device\n")
    assert "Traceback" not in done.stderr
