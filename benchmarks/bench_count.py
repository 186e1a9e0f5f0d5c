"""archcheck count vs what users run today (torchinfo.summary + fvcore FlopCountAnalysis) on YOLOv4.

Each run is a fresh subprocess; we print wall time end to end, time beyond ``import torch``
(measured the same way in its own subprocess), the child's peak RSS, and the ratios.

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


def measure(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed: {child.stderr.read().decode() if child.stderr else ''}")
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def best(argv: list[str], repeats: int) -> tuple[float, float]:
    runs = [measure(argv) for _ in range(repeats)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="416,608")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    python = sys.executable
    torch_s, torch_mb = best([python, "-c", IMPORT_TORCH], args.repeats)
    print(f"import torch alone: {torch_s:.2f} s, {torch_mb:.0f} MiB peak")
    print(f"{'size':>5} {'tool':<22} {'wall s':>7} {'beyond torch s':>15} {'peak MiB':>9}")
    measured: dict[int, tuple[float, float]] = {}  # the peers per size, reused by the last row
    for size in (int(s) for s in args.sizes.split(",")):
        ours = best([python, "-m", "archcheck.cli", "count", "specs/yolov4.yaml", "--case", f"B=1,H={size},W={size}"], args.repeats)
        peers = measured[size] = best([python, "-c", PEERS.format(size=size)], args.repeats)
        for name, (wall, mb) in (("archcheck count (meta)", ours), ("torchinfo + fvcore", peers)):
            print(f"{size:>5} {name:<22} {wall:7.2f} {wall - torch_s:15.2f} {mb:9.0f}")
        end_to_end = peers[0] / ours[0]
        beyond = (peers[0] - torch_s) / max(ours[0] - torch_s, 1e-3)
        memory = peers[1] / ours[1]
        memory_beyond = (peers[1] - torch_mb) / max(ours[1] - torch_mb, 1.0)
        print(f"{size:>5} ratio (peers / archcheck): {end_to_end:.1f}x wall, {beyond:.1f}x beyond import torch (goal >= 5x: {'met' if beyond >= 5 else 'MISSED'}), {memory:.1f}x peak memory, {memory_beyond:.1f}x beyond import torch (goal >= 5x: {'met' if memory_beyond >= 5 else 'MISSED'})")
    factory = best([python, "-m", "archcheck.cli", "count", "archcheck.zoo.yolov4:yolov4", "--input", "1,3,416,416"], args.repeats)
    peers = measured.get(416) or best([python, "-c", PEERS.format(size=416)], args.repeats)
    for name, (wall, mb) in (("count FACTORY --input", factory), ("torchinfo + fvcore", peers)):
        print(f"{416:>5} {name:<22} {wall:7.2f} {wall - torch_s:15.2f} {mb:9.0f}")
    beyond = (peers[0] - torch_s) / max(factory[0] - torch_s, 1e-3)
    print(f"{416:>5} ratio (peers / count FACTORY): {peers[0] / factory[0]:.1f}x wall, {beyond:.1f}x beyond import torch, {peers[1] / factory[1]:.1f}x peak memory")


if __name__ == "__main__":
    main()
