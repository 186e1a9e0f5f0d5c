"""archcheck: neural-network architectures as checked contracts.

The public face: ``load_spec``, ``verify``, ``count``, ``summary``, ``draw``, ``fuzz``, ``resolutions``, their
option and report records, and the errors. Everything that needs torch is imported on first use,
so importing archcheck (for example through its pytest plugin) costs nothing until a spec is checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archcheck.errors import ArchcheckError, ModelError, SpecError, UsageError
from archcheck.lazy import lazy_names
from archcheck.results import Report, Result
from archcheck.spec import Spec, load_spec

if TYPE_CHECKING:
    from archcheck.counting import CountReport, count
    from archcheck.counting.summary import summary
    from archcheck.fuzzing import FuzzReport, fuzz
    from archcheck.graph import Drawing, draw
    from archcheck.pipeline import verify
    from archcheck.runners import DeviceOptions
    from archcheck.sizes import ResolutionsReport, resolutions

__all__ = [
    "ArchcheckError",
    "CountReport",
    "DeviceOptions",
    "Drawing",
    "FuzzReport",
    "ModelError",
    "Report",
    "ResolutionsReport",
    "Result",
    "Spec",
    "SpecError",
    "UsageError",
    "count",
    "draw",
    "fuzz",
    "load_spec",
    "resolutions",
    "summary",
    "verify",
]

_LAZY = {
    "verify": "archcheck.pipeline",
    "count": "archcheck.counting",
    "CountReport": "archcheck.counting",
    "summary": "archcheck.counting.summary",
    "draw": "archcheck.graph",
    "Drawing": "archcheck.graph",
    "fuzz": "archcheck.fuzzing",
    "FuzzReport": "archcheck.fuzzing",
    "resolutions": "archcheck.sizes",
    "ResolutionsReport": "archcheck.sizes",
    "DeviceOptions": "archcheck.runners",
}


__getattr__ = lazy_names(__name__, _LAZY)
