"""archcheck count vs what users run today (torchinfo.summary + fvcore FlopCountAnalysis) on YOLOv4.

Each run is a fresh subprocess, the tools taking turns each repeat; we print the best wall time end
to end, wall and CPU (user + system) time beyond ``import torch`` (measured the same way in its own
subprocess), the child's peak RSS, and the ratios. CPU time is steadier than wall on a busy machine.

    .venv/bin/python benchmarks/bench_count.py [--sizes 416,608] [--repeats 1]

The last row is spec-free use: ``archcheck count archcheck.zoo.yolov4:yolov4 --input 1,3,416,416``
(no spec file), against the same peers at 416 measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]

IMPORT_TORCH = "import torch"
PEERS = """
import torch, torchinfo
from fvcore.nn import FlopCountAnalysis
from archcheck.zoo.yolov4 import yolov4
model = yolov4().eval()
x = torch.randn(1, 3, {size}, {size})
stats = torchinfo.summary(model, input_data=x, verbose=0)
with torch.no_grad():
    flops = FlopCountAnalysis(model, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False).total()
print(stats.total_mult_adds, flops)
"""


class Run(NamedTuple):
    wall: float  # seconds, the best of the repeats
    cpu: float  # user + system seconds of the child, the best of the repeats: steadier than wall on a shared machine
    mib: float  # peak RSS, the most of the repeats


def measure(argv: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed: {child.stderr.read().decode() if child.stderr else ''}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def best_of(commands: dict[str, list[str]], repeats: int) -> dict[str, Run]:
    """Each command ``repeats`` times, taking turns, so that a busy spell of the machine hits all alike."""
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, argv in commands.items():
            runs[name].append(measure(argv))
    return {name: Run(min(r[0] for r in rs), min(r[1] for r in rs), max(r[2] for r in rs)) for name, rs in runs.items()}


def row(size: int, name: str, run: Run, torch: Run) -> str:
    return f"{size:>5} {name:<22} {run.wall:7.2f} {run.wall - torch.wall:15.2f} {run.cpu - torch.cpu:14.2f} {run.mib:9.0f}"


def ratios(peers: Run, ours: Run, torch: Run) -> tuple[float, float, float]:
    """Peers / ours beyond ``import torch``: wall, CPU and peak memory."""
    wall = (peers.wall - torch.wall) / max(ours.wall - torch.wall, 1e-3)
    cpu = (peers.cpu - torch.cpu) / max(ours.cpu - torch.cpu, 1e-3)
    memory = (peers.mib - torch.mib) / max(ours.mib - torch.mib, 1.0)
    return wall, cpu, memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="416,608")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    python = sys.executable
    sizes = [int(s) for s in args.sizes.split(",")]
    commands = {"torch": [python, "-c", IMPORT_TORCH]}
    for size in sorted({*sizes, 416}):
        commands[f"ours {size}"] = [python, "-m", "archcheck.cli", "count", "specs/yolov4.yaml", "--case", f"B=1,H={size},W={size}"]
        commands[f"peers {size}"] = [python, "-c", PEERS.format(size=size)]
    commands["factory"] = [python, "-m", "archcheck.cli", "count", "archcheck.zoo.yolov4:yolov4", "--input", "1,3,416,416"]
    best = best_of(commands, args.repeats)
    torch = best["torch"]
    print(f"import torch alone: {torch.wall:.2f} s ({torch.cpu:.2f} s CPU), {torch.mib:.0f} MiB peak")
    print(f"{'size':>5} {'tool':<22} {'wall s':>7} {'beyond torch s':>15} {'CPU beyond s':>14} {'peak MiB':>9}")
    for size in sizes:
        ours, peers = best[f"ours {size}"], best[f"peers {size}"]
        print(row(size, "archcheck count (meta)", ours, torch))
        print(row(size, "torchinfo + fvcore", peers, torch))
        wall, cpu, memory = ratios(peers, ours, torch)
        print(f"{size:>5} ratio (peers / archcheck): {peers.wall / ours.wall:.1f}x wall, {wall:.1f}x beyond import torch (goal >= 5x: {'met' if wall >= 5 else 'MISSED'}; CPU {cpu:.1f}x), {peers.mib / ours.mib:.1f}x peak memory, {memory:.1f}x beyond import torch (goal >= 5x: {'met' if memory >= 5 else 'MISSED'})")
    factory, peers = best["factory"], best["peers 416"]
    print(row(416, "count FACTORY --input", factory, torch))
    print(row(416, "torchinfo + fvcore", peers, torch))
    wall, cpu, memory = ratios(peers, factory, torch)
    print(f"{416:>5} ratio (peers / count FACTORY): {peers.wall / factory.wall:.1f}x wall, {wall:.1f}x beyond import torch (CPU {cpu:.1f}x), {peers.mib / factory.mib:.1f}x peak memory")


if __name__ == "__main__":
    main()
