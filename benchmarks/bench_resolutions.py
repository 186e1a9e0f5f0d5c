"""How fast fuzz and resolutions are on YOLOv4, against the naive way of doing the same.

    .venv/bin/python benchmarks/bench_resolutions.py [--quick]

Prints: 200 fuzz cases; a resolutions sweep of H over 1..1024 (W=416 held), with one
and two worker processes; and, as the peer, plain meta forwards (torch's own meta
kernels, a fresh forward per size, no memo) over a sample of sizes, scaled to 1024;
and torch.export's dynamic-shape suggestion for H.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from archcheck.fuzzing import fuzz
from archcheck.model import build
from archcheck.sizes import resolutions
from archcheck.spec import load_spec

SPEC = Path(__file__).resolve().parents[1] / "specs/yolov4.yaml"


def timed(label: str, work) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    print(f"{label:<52} {seconds:7.1f} s")
    return seconds, result


def main() -> None:
    quick = "--quick" in sys.argv
    high = 256 if quick else 1024
    spec = load_spec(SPEC)
    _, report = timed("fuzz, 200 cases", lambda: fuzz(spec, examples=200))
    print(f"  {report.cases_run} distinct cases, ok={report.ok}")
    ours, sweep = timed(f"resolutions H=1..{high}, 1 process", lambda: resolutions(spec, ["H"], (1, high)))
    (h,) = sweep.dims
    print(f"  accepted: {h.accepted.describe('H')}; runs: {h.runs.describe('H')}")
    timed(f"resolutions H=1..{high}, 2 processes", lambda: resolutions(spec, ["H"], (1, high), jobs=2))

    model = build(spec, "meta")
    sample = range(1, high + 1, 16)
    started = time.perf_counter()
    with torch.no_grad():
        for size in sample:
            try:
                model(torch.empty(1, 3, size, 416, device="meta"))
            except RuntimeError:
                pass
    naive = (time.perf_counter() - started) / len(sample) * high
    print(f"{f'peer: plain meta forwards, {len(sample)} sizes scaled to {high}':<52} {naive:7.1f} s")
    print(f"ratio (peer / ours, 1 process): {naive / ours:.1f}x  (the peer has no hooks and checks nothing)")
    one = naive / high
    print(f"resolutions H=1..{high}: {ours:.1f} s = {ours / one:.0f}x one meta forward ({one * 1000:.0f} ms); goal < 10 s: {'met' if ours < 10 else 'MISSED'}")

    def suggest() -> str:
        try:
            torch.export.export(model, (torch.empty(1, 3, 416, 416, device="meta"),), dynamic_shapes={"x": {2: torch.export.Dim("H", min=1, max=high)}})
        except Exception as exc:  # torch.export says what it wants as an error
            text = str(exc)
            return " ".join(line.strip() for line in text.split("Suggested fixes:")[-1].splitlines()[1:3])
        return "no constraint"

    _, suggestion = timed("peer: torch.export dynamic-shape suggestion", suggest)
    print(f"  torch.export suggests: {suggestion}  (sufficient for the cat, not necessary: it misses the sizes that also run)")


if __name__ == "__main__":
    main()
