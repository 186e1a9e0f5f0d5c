"""Counting parameters and compute per module, at the op-dispatch level, with named conventions."""

from archcheck.counting.api import count
from archcheck.counting.counter import count_model, parameter_stats
from archcheck.counting.records import (
    CONVENTIONS,
    CaseCount,
    Convention,
    CountReport,
    ModuleCount,
    ParamStats,
    Tally,
)

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
