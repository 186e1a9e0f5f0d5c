"""The claimed domain of a dim, from the sizes the network was seen to run at.

``sweep_until_periodic`` runs sizes 1, 2, 3, ... in chunks until the set of sizes that run
has shown a period at least twice past its first size (``resolutions.size_set``), so that
YOLOv4 costs 96 forward passes per dim, not 1024. ``claimable`` turns that set into what a
spec can write: every size from the first (period 1), or the multiples of the period
(when 0 is among the residues), or, when neither fits, no range at all.
"""

from __future__ import annotations

from collections.abc import Callable

from archcheck.sizes import SizeSet, size_set

CHUNK = 32
SEEN_PAST_FIRST = 64  # sizes seen past the first that runs before a period is believed
SWEEP_CAP = 512
CLAIM_HIGH = 1024  # the top of the claimed range: checked at the end, not swept
YOLO_VALUES = (416, 608)  # multiples of 32: the sizes YOLO is trained and tested at
VALUE_CHOICES = ((64, 96), (224, 320))


def sweep_until_periodic(runs_at: Callable[[int], bool], cap: int = SWEEP_CAP) -> tuple[SizeSet, int]:
    """The sizes in 1..high that run, and high: swept until periodic, or to ``cap``."""
    members: set[int] = set()
    high = 0
    while high < cap:
        for size in range(high + 1, high + CHUNK + 1):
            if runs_at(size):
                members.add(size)
        high += CHUNK
        found = size_set(members, high)
        if found.period is not None and found.maximum is None and found.minimum is not None and high - found.minimum >= SEEN_PAST_FIRST:
            return found, high
    return size_set(members, high), high


def claimable(runs: SizeSet, step: int | None = None) -> tuple[tuple[int, int] | None, int | None]:
    """``(range, multiple_of)`` inside ``runs``; ``step`` asks for multiples of it instead of the period."""
    if not runs.sizes or runs.period is None or runs.minimum is None:
        return None, None
    top = runs.maximum if runs.maximum is not None else CLAIM_HIGH
    step = step or runs.period
    if step % runs.period:
        return None, None
    if runs.period == 1 and step == 1:
        return (runs.minimum, top), None
    if 0 not in runs.residues:
        return None, None
    low = -(-runs.minimum // step) * step
    top = top // step * step
    return ((low, top), step) if low <= top else (None, None)


def choose_values(sizes: list[int], multiple_of: int | None = None) -> tuple[int, ...]:
    """Two representative sizes of the domain: 416 and 608 for a YOLO-like stride of 32, else small ones (cheap on CPU)."""
    present = set(sizes)
    for pair in ((YOLO_VALUES,) if multiple_of == 32 else ()) + VALUE_CHOICES:
        if all(p in present for p in pair):
            return pair
    return tuple(sizes[:2]) if len(sizes) > 1 else tuple(sizes)


def domain_sizes(span: tuple[int, int] | None, step: int | None, fallback: tuple[int, ...]) -> list[int]:
    if span is None:
        return list(fallback)
    return list(range(span[0], span[1] + 1, step or 1))


def samples(sizes: list[int], values: tuple[int, ...]) -> list[int]:
    """Sizes to fit and check formulas at: the first few, a spread (odd offsets), the values and the largest."""
    if len(sizes) <= 12:
        return sizes
    picks = {sizes[i] for i in (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89) if i < len(sizes)}
    picks |= {sizes[len(sizes) // 3], sizes[-1], *values}
    return sorted(picks)
