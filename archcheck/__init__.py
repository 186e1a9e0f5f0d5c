"""archcheck: neural-network architectures as checked contracts.

``verify`` and ``count`` import torch on first use, so that importing archcheck
(for example through its pytest plugin) costs nothing until a spec is checked.
"""

from typing import Any

from archcheck.errors import ArchcheckError, ModelError, SpecError, UsageError
from archcheck.spec import load_spec

__all__ = ["ArchcheckError", "ModelError", "Report", "SpecError", "UsageError", "count", "load_spec", "verify"]

_LAZY = {"verify": "archcheck.verifier", "Report": "archcheck.verifier", "count": "archcheck.counting"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'archcheck' has no attribute {name!r}")
