"""``snapshot(source)``: a spec from a model (or from the model a spec names), verified before it is returned."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from archcheck.errors import ModelError
from archcheck.model import Builds
from archcheck.pipeline import verify
from archcheck.snapshot.records import Snapshot
from archcheck.snapshot.take import (
    DEFAULT_DEPTH,
    Target,
    take,
    target_from_factory,
    target_from_spec,
)
from archcheck.snapshot.write import write_spec
from archcheck.spec import Spec, load_spec
from archcheck.spec.adhoc import is_factory
from archcheck.spec.load import parse_spec


def target_of(source: str | Path | Spec, inputs: Iterable[str] = (), kwargs: Mapping[str, Any] | None = None) -> Target:
    """A factory (with ``inputs`` and ``kwargs``) or a spec (the model it names, fed as it says)."""
    if isinstance(source, Spec):
        return target_from_spec(source)
    if is_factory(source):
        return target_from_factory(str(source), inputs, kwargs)
    return target_from_spec(load_spec(source))


def snapshot(
    source: str | Path | Spec,
    inputs: Iterable[str] = (),
    kwargs: Mapping[str, Any] | None = None,
    depth: int = DEFAULT_DEPTH,
    convention: str = "macs",
    command: str = "",
    version: str = "unknown",
    progress: Callable[[str, int], None] | None = None,
) -> tuple[Snapshot, str]:
    """The snapshot and its spec text; the text is loaded and verified on meta first (ModelError if it fails)."""
    found, model, memo = take(target_of(source, inputs, kwargs), depth, convention, progress)
    text = write_spec(found, command, version)
    spec = parse_spec(text, "<snapshot>", Path.cwd() / "snapshot.yaml")
    builds = Builds(spec)
    builds.meta = model  # type: ignore[misc]  # the model the snapshot was taken from: built once
    with memo:  # the cases verify runs were run while fitting: their meta ops are replayed
        report = verify(spec, devices=["meta"], builds=builds)
    if not report.ok:
        shown = "\n".join(p.headline() for p in report.problems[:5])
        raise ModelError(f"the snapshot of {found.factory} does not verify against its own model (is the model deterministic in shape?):\n{shown}")
    return found, text
