"""Counting parameters and compute per module, at the op-dispatch level, with named conventions.

The records import here; what runs torch (``count``, ``count_model``, ``parameter_stats``) on first use,
so that the command line can offer the conventions without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archcheck.counting.records import (
    CONVENTIONS,
    CaseCount,
    Convention,
    CountReport,
    ModuleCount,
    ParamStats,
    Tally,
)

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'archcheck.counting' has no attribute {name!r}")
