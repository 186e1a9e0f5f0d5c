"""archcheck: neural-network architectures as checked contracts."""

from archcheck.counting import count
from archcheck.errors import ArchcheckError, ModelError, SpecError, UsageError
from archcheck.spec import load_spec
from archcheck.verify import Report, verify

__all__ = ["ArchcheckError", "ModelError", "Report", "SpecError", "UsageError", "count", "load_spec", "verify"]
