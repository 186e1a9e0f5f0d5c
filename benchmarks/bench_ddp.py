"""What DDP costs next to the cpu run of the same cases: time, peak memory of every process, /tmp.

    .venv/bin/python benchmarks/bench_ddp.py [--case B=2,H=128,W=128] [--spec specs/yolov4.yaml] [--root TREE]

Runs ``archcheck verify SPEC --devices cpu``, ``--devices ddp:gloo`` and ``--devices cpu,ddp:gloo``
as subprocesses (``--root``: the source tree to run, to measure an older version), samples
/proc every 0.1 s for the peak RSS (VmHWM) of the parent and of each rank, and the size of
/tmp/archcheck-ddp-*, and prints them with the ratios to the cpu run and to the model's size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                kids = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def peak_rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def folder_bytes() -> int:
    total = 0
    for folder in Path(tempfile.gettempdir()).glob("archcheck-ddp-*"):
        for file in folder.glob("*"):
            try:
                total += file.stat().st_size
            except OSError:
                pass
    return total


def measure(root: Path, spec: str, devices: str, case: str) -> dict:
    environment = os.environ | {"PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "archcheck.cli", "--no-color", "verify", spec, "--devices", devices, "--case", case, "--select", "parity,shape,ddp-process,ddp-step,ddp-grad"]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=environment, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    parent, ranks, disk = 0, {}, 0
    while process.poll() is None:
        parent = max(parent, peak_rss(process.pid))
        for child in descendants(process.pid):
            ranks[child] = max(ranks.get(child, 0), peak_rss(child))
        disk = max(disk, folder_bytes())
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    output = process.stdout.read() if process.stdout else ""
    status = output.strip().splitlines()[-1] if output.strip() else ""
    return dict(seconds=seconds, parent=parent, ranks=sorted(ranks.values(), reverse=True)[:2], disk=disk, code=process.returncode, status=status)


def model_bytes(spec: str) -> int:
    from archcheck.model import build
    from archcheck.spec import load_spec

    model = build(load_spec(ROOT / spec), "meta")
    return sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="specs/yolov4.yaml")
    parser.add_argument("--case", default="B=2,H=128,W=128")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args()
    size = model_bytes(args.spec)
    print(f"{args.spec} at {args.case}; model {size / MiB:.0f} MiB; tree {args.root}")
    runs = {devices: measure(args.root.resolve(), args.spec, devices, args.case) for devices in ("cpu", "ddp:gloo", "cpu,ddp:gloo")}
    for devices, found in runs.items():
        ranks = ", ".join(f"{r / MiB:.0f}" for r in found["ranks"]) or "-"
        print(f"{devices:<14} {found['seconds']:6.1f} s  parent {found['parent'] / MiB:6.0f} MiB  ranks {ranks:>11} MiB  /tmp {found['disk'] / MiB:6.1f} MiB  exit {found['code']}: {found['status']}")
    cpu, ddp, both = runs["cpu"], runs["ddp:gloo"], runs["cpu,ddp:gloo"]
    print(f"ddp time / cpu time:                {ddp['seconds'] / cpu['seconds']:.2f}")
    print(f"(cpu,ddp - cpu) time / cpu time:    {(both['seconds'] - cpu['seconds']) / cpu['seconds']:.2f}")
    print(f"peak rank RSS / model size:         {max(both['ranks'] or [0]) / size:.2f} (cpu,ddp), {max(ddp['ranks'] or [0]) / size:.2f} (ddp)")
    print(f"parent RSS cpu,ddp / cpu:           {both['parent'] / cpu['parent']:.2f}")
    print(f"/tmp at the peak / model size:      {both['disk'] / size:.2f}")


if __name__ == "__main__":
    main()
