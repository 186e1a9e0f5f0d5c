"""How numbers are shown: decimal prefixes for large counts, runs of sizes as ranges."""

from __future__ import annotations

from typing import Iterable

PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"))


def scale_for(value: float) -> tuple[float, str]:
    """The unit that shows ``value`` with a few digits before the point: 1e9 -> G."""
    return next(((s, p) for s, p in PREFIXES if value >= s), (1, ""))


def ranges_text(values: Iterable[int], limit: int = 0) -> str:
    """``1, 2, 3, 5, 7, 8`` -> ``1-3, 5, 7-8``; with ``limit``, the first runs and ``...``."""
    runs: list[list[int]] = []
    for value in sorted(values):
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    parts = [str(a) if a == b else f"{a}-{b}" for a, b in runs]
    if limit and len(parts) > limit:
        parts = parts[:limit] + [f"... ({len(parts) - limit} more runs)"]
    return ", ".join(parts)
