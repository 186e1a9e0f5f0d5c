"""Write a diagram in the format its file suffix names; without graphviz's ``dot``, write the source."""

from __future__ import annotations

import shutil
from pathlib import Path

import graphviz

from archcheck.errors import ArchcheckError, UsageError

FORMATS = ("svg", "png", "pdf", "dot")
INSTALL = "apt-get install graphviz, brew install graphviz or conda install graphviz"


class DotMissing(ArchcheckError):
    """The system ``dot`` program is not installed: the source was written instead."""


def output_format(output: Path) -> str:
    """The format for ``output``, from its suffix; anything else is a usage error."""
    suffix = output.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise UsageError(f"cannot draw {output}: the suffix chooses the format; use .svg, .png, .pdf or .dot")
    return suffix


def render(graph: graphviz.Digraph, output: Path) -> Path:
    """Write ``graph`` to ``output``; raise DotMissing (after writing ``.dot``) where ``dot`` is not installed."""
    fmt = output_format(output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "dot":
            output.write_text(graph.source, encoding="utf-8")
            return output
        try:
            if shutil.which("dot") is None:
                raise graphviz.ExecutableNotFound(("dot",))
            data = graph.pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            source = output.with_suffix(".dot")
            source.write_text(graph.source, encoding="utf-8")
            raise DotMissing(
                f"cannot render {output}: graphviz's dot program is not installed; wrote the source to {source}. "
                f"Install graphviz ({INSTALL}), then run: dot -T{fmt} {source} -o {output}"
            ) from None
        except graphviz.CalledProcessError as exc:
            stderr = exc.stderr.decode(errors="replace").strip() if isinstance(exc.stderr, bytes) else str(exc.stderr or "")
            raise ArchcheckError(f"dot failed to render {output}: {stderr}") from None
        output.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    return output
