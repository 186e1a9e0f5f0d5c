"""Reports are functions of a verify Report: text (rich) and JSON."""

from archcheck.report.json import render_json
from archcheck.report.text import render_text

RENDERERS = {"text": render_text, "json": render_json}

__all__ = ["RENDERERS", "render_json", "render_text"]
