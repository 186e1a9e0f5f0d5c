"""``archcheck verify specs/yolov4.yaml`` (8 cases) against its anchors, each in a fresh subprocess.

Rows: ``--devices meta`` against ``python -c "import torch"``; meta + cpu (the README's first
command) against the bare eager CPU forwards of the same 8 cases (eval, inference_mode, one
build, nothing kept), in time and in peak RSS. Every ratio is against anchors measured in this
run, so a busy machine moves both sides.

    .venv/bin/python benchmarks/bench_verify.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys

from bench_count import measure


def best(argv: list[str], repeats: int) -> tuple[float, float]:
    """The best wall seconds and the most peak RSS (MiB) of ``repeats`` runs."""
    runs = [measure(argv) for _ in range(repeats)]
    return min(r[0] for r in runs), max(r[2] for r in runs)

SPEC = "specs/yolov4.yaml"
BARE_FORWARDS = """
import itertools, torch
from archcheck.zoo.yolov4 import yolov4
model = yolov4().eval()
with torch.inference_mode():
    for b, h, w in itertools.product((1, 2), (416, 608), (416, 608)):
        model(torch.randn(b, 3, h, w))
"""


def row(name: str, seconds: float, mib: float, anchor: str, ratio: float, goal: str, met: bool) -> None:
    print(f"{name:<34} {seconds:7.2f} s {mib:7.0f} MiB  {ratio:6.2f}x {anchor:<28} goal {goal:<18} {'met' if met else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    python, n = sys.executable, args.repeats
    torch_s, torch_mb = best([python, "-c", "import torch"], n)
    bare_s, bare_mb = best([python, "-c", BARE_FORWARDS], n)
    meta_s, meta_mb = best([python, "-m", "archcheck.cli", "verify", SPEC, "--devices", "meta"], n)
    both_s, both_mb = best([python, "-m", "archcheck.cli", "verify", SPEC], n)
    forwards = bare_s - torch_s  # the floor: building the model and 8 eager forwards
    print(f"anchors: import torch {torch_s:.2f} s, {torch_mb:.0f} MiB; bare CPU forwards {bare_s:.2f} s ({forwards:.2f} s beyond import), {bare_mb:.0f} MiB")
    row("import torch", torch_s, torch_mb, "", 1.0, "", True)
    row("bare eager forwards, 8 cases", bare_s, bare_mb, "", 1.0, "", True)
    beyond = meta_s - torch_s
    row("verify --devices meta, 8 cases", meta_s, meta_mb, f"(+{beyond:.2f} s beyond import)", meta_s / torch_s, "<= import + 1 s", beyond <= 1.0)
    slack = (both_s - torch_s) / forwards
    row("verify meta + cpu, 8 cases", both_s, both_mb, "x bare forwards beyond import", slack, "<= 1.2x", slack <= 1.2)
    row("  its peak memory", both_s, both_mb, "x the bare forwards' peak", both_mb / bare_mb, "<= 1.5x", both_mb / bare_mb <= 1.5)


if __name__ == "__main__":
    main()
