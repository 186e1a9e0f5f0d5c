"""archcheck: neural-network architectures as checked contracts."""

from archcheck.errors import ArchcheckError, ModelError, SpecError, UsageError
from archcheck.spec import load_spec
from archcheck.verify import Report, verify

__all__ = ["ArchcheckError", "ModelError", "Report", "SpecError", "UsageError", "load_spec", "verify"]
