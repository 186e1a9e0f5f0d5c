"""What DDP costs next to the cpu run of the same cases: time, memory of every process, /tmp.

    .venv/bin/python benchmarks/bench_ddp.py [--spec specs/yolov4.yaml] [--small B=2,H=128,W=128] [--root TREE]

For the spec's own cases and for one small case, runs ``archcheck verify SPEC --devices cpu``,
``--devices ddp:gloo`` and ``--devices cpu,ddp:gloo`` as subprocesses (``--root``: the source
tree to run, to measure an older version). Every 0.1 s it samples /proc for the peak of each
process's memory: RSS (VmHWM), and for the ranks also their private memory (USS: pages no
other process maps) and PSS (shared pages split between the processes that map them), and
the size of /tmp/archcheck-ddp-*. A rank's own cost is its memory beyond a bare rank's
interpreter (``import torch`` and archcheck's rank module), measured in the same run.

Goals (issue 13): ddp <= 2x the time of the cpu run of the same cases; <= 2x the model's size
per rank; no tensors on disk beyond one weights file. A rank's memory is also set against what
the model itself needs for the rank's training step (one plain forward and backward of the
first case in one process, on a rank's rows, no DDP): the floor of any DDP check that trains.
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
DEVICES = ("cpu", "ddp:gloo", "cpu,ddp:gloo")


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


def memory(pid: int) -> dict[str, int]:
    """Peak RSS, and the current USS and PSS, in bytes (zeros for a process that is gone)."""
    found = dict(rss=0, uss=0, pss=0)
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                found["rss"] = int(line.split()[1]) * 1024
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("Private_Clean", "Private_Dirty"):
                found["uss"] += int(rest.split()[0]) * 1024
            elif key == "Pss":
                found["pss"] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return found


def folder_bytes() -> int:
    total = 0
    for folder in Path(tempfile.gettempdir()).glob("archcheck-ddp-*"):
        for file in folder.glob("*"):
            try:
                total += file.stat().st_size
            except OSError:
                pass
    return total


def peak(found: dict[str, int], now: dict[str, int]) -> dict[str, int]:
    return {key: max(found.get(key, 0), value) for key, value in now.items()}


def measure(root: Path, spec: str, devices: str, case: str | None) -> dict:
    environment = os.environ | {"PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "archcheck.cli", "--no-color", "verify", spec, "--devices", devices, "--select", "parity,shape,ddp-process,ddp-step,ddp-grad"]
    command += ["--case", case] if case else []
    started = time.perf_counter()
    process = subprocess.Popen(command, env=environment, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    parent: dict[str, int] = {}
    ranks: dict[int, dict[str, int]] = {}
    disk = 0
    while process.poll() is None:
        parent = peak(parent, memory(process.pid))
        for child in descendants(process.pid):
            ranks[child] = peak(ranks.get(child, {}), memory(child))
        disk = max(disk, folder_bytes())
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    output = process.stdout.read() if process.stdout else ""
    status = output.strip().splitlines()[-1] if output.strip() else ""
    top = sorted(ranks.values(), key=lambda r: r["rss"], reverse=True)[:2]
    return dict(seconds=seconds, parent=parent.get("rss", 0), ranks=top, disk=disk, code=process.returncode, status=status)


def bare_rank() -> dict[str, int]:
    """A rank's interpreter before any model: ``import torch`` and the rank module, as a rank starts."""
    code = "import torch, torch.distributed, archcheck.runners._rank, time; time.sleep(0.5)"
    process = subprocess.Popen([sys.executable, "-c", code], env=os.environ | {"PYTHONPATH": str(ROOT)})
    found: dict[str, int] = {}
    while process.poll() is None:
        found = peak(found, memory(process.pid))
        time.sleep(0.05)
    return found


TRAINING_STEP = """
import resource, sys, torch
from archcheck.inputs import call, make_inputs
from archcheck.model import build
from archcheck.observe.tree import tensors_in
from archcheck.spec import load_spec
spec = load_spec(sys.argv[1])
case = spec.cases({k: int(v) for k, v in (p.split("=") for p in sys.argv[2].split(","))} if sys.argv[2] else None)[0]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
model = build(spec, "cpu").train()
inputs = make_inputs(spec, case)
inputs = inputs.split(2, 0) if inputs[0].shape[0] >= 2 else inputs  # a rank's rows, of 2 ranks
sum(t.float().mean() for t in tensors_in(call(model, inputs)) if t.is_floating_point()).backward()
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)
"""


def training_step_bytes(spec: str, case: str | None) -> int:
    """Peak RSS beyond ``import torch`` of one plain training step (build, forward, backward) at the first case."""
    done = subprocess.run([sys.executable, "-c", TRAINING_STEP, spec, case or ""], env=os.environ | {"PYTHONPATH": str(ROOT)}, cwd=ROOT, capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


def model_bytes(spec: str) -> int:
    from archcheck.model import build
    from archcheck.spec import load_spec

    model = build(load_spec(ROOT / spec), "meta")
    return sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])


def report(label: str, runs: dict[str, dict], size: int, bare: dict[str, int], step: int) -> None:
    print(f"\n{label}")
    for devices, found in runs.items():
        ranks = ", ".join(f"{r['rss'] / MiB:.0f}/{r['pss'] / MiB:.0f}/{r['uss'] / MiB:.0f}" for r in found["ranks"]) or "-"
        print(f"  {devices:<13} {found['seconds']:6.1f} s  parent {found['parent'] / MiB:5.0f} MiB  ranks RSS/PSS/USS {ranks:>17} MiB  /tmp {found['disk'] / MiB:6.1f} MiB  exit {found['code']}: {found['status']}")
    cpu, ddp, both = runs["cpu"], runs["ddp:gloo"], runs["cpu,ddp:gloo"]
    ratio = ddp["seconds"] / cpu["seconds"]
    print(f"  ddp time / cpu time:                     {ratio:.2f} (goal <= 2: {'met' if ratio <= 2 else 'MISSED'})")
    print(f"  (cpu,ddp - cpu) time / cpu time:         {(both['seconds'] - cpu['seconds']) / cpu['seconds']:.2f}")
    for name, key in (("RSS", "rss"), ("PSS", "pss"), ("USS", "uss")):
        own = max((r[key] - bare[key] for r in both["ranks"]), default=0) / size
        print(f"  rank {name} beyond a bare rank / model:   {own:.2f}" + (f" (goal <= 2: {'met' if own <= 2 else 'MISSED'})" if key == "uss" else ""))
    own = max((r["rss"] - bare["rss"] for r in both["ranks"]), default=0)
    print(f"  a plain training step of the first case: {step / MiB:.0f} MiB beyond import torch ({step / size:.2f}x the model); a rank's RSS beyond a bare rank / it: {own / step:.2f}")
    print(f"  /tmp at the peak / model size:           {both['disk'] / size:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="specs/yolov4.yaml")
    parser.add_argument("--small", default="B=2,H=128,W=128", help="the one small case")
    parser.add_argument("--only-small", action="store_true", help="skip the spec's own cases (minutes)")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args()
    size = model_bytes(args.spec)
    bare = bare_rank()
    print(f"{args.spec}; model {size / MiB:.0f} MiB; a bare rank: RSS {bare['rss'] / MiB:.0f}, PSS {bare['pss'] / MiB:.0f}, USS {bare['uss'] / MiB:.0f} MiB; tree {args.root}")
    root = args.root.resolve()
    if not args.only_small:
        report("the spec's own cases", {d: measure(root, args.spec, d, None) for d in DEVICES}, size, bare, training_step_bytes(args.spec, None))
    report(f"one small case, {args.small}", {d: measure(root, args.spec, d, args.small) for d in DEVICES}, size, bare, training_step_bytes(args.spec, args.small))


if __name__ == "__main__":
    main()
