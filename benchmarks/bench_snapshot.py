"""How long a snapshot of YOLOv4 takes, against a ``verify --devices meta`` of its spec.

    .venv/bin/python benchmarks/bench_snapshot.py

Both run as the user runs them: a fresh ``archcheck`` process each (imports, build and all).
The target: snapshot under 2x verify.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(label: str, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "archcheck.cli", *args], cwd=ROOT, check=False, capture_output=True)
    seconds = time.perf_counter() - started
    print(f"{label:<44} {seconds:6.1f} s")
    return seconds


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        verify = timed("verify specs/yolov4.yaml --devices meta", "verify", "specs/yolov4.yaml", "--devices", "meta")
        snap = timed("snapshot specs/yolov4.yaml", "snapshot", "specs/yolov4.yaml", "-o", f"{scratch}/yolov4.yaml")
    print(f"snapshot / verify --devices meta: {snap / verify:.2f}x (target: under 2x)")


if __name__ == "__main__":
    main()
