"""Counting parameters and compute per module, at the op-dispatch level, with named conventions.

The records import here; what runs torch (``count``, ``count_model``, ``parameter_stats``) on first use,
so that the command line can offer the conventions without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archcheck.counting.records import (
    CONVENTIONS,
    CaseCount,
    Convention,
    CountReport,
    ModuleCount,
    ParamStats,
    Tally,
)
from archcheck.lazy import lazy_names

if TYPE_CHECKING:
    from archcheck.counting.api import count
    from archcheck.counting.counter import count_model, parameter_stats

__all__ = [
    "CONVENTIONS",
    "CaseCount",
    "Convention",
    "CountReport",
    "ModuleCount",
    "ParamStats",
    "Tally",
    "count",
    "count_model",
    "parameter_stats",
]

_LAZY = {"count": "archcheck.counting.api", "count_model": "archcheck.counting.counter", "parameter_stats": "archcheck.counting.counter"}


__getattr__ = lazy_names(__name__, _LAZY)
