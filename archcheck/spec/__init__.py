"""Spec files: YAML with positions, a checked schema, safe expressions."""

from archcheck.spec.load import load_spec, parse_spec
from archcheck.spec.records import Case, Spec

__all__ = ["Case", "Spec", "load_spec", "parse_spec"]
