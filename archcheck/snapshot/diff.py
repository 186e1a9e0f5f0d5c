"""Two snapshots compared: per module, the shape formula, the type, params and compute that changed.

A module only one side has is *added* or *removed*; one inside a module that changed type
(``Identity`` -> ``Involution``) or was itself added is folded into it (``inside``), so that
inserting a block reads as one change, not one per layer of the block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from archcheck.snapshot.records import ModuleShot, Snapshot, shape_text


@dataclass(frozen=True)
class ModuleChange:
    path: str
    kind: Literal["changed", "added", "removed"]
    old_type: str
    new_type: str
    old_shape: str  # "" when the side lacks the module
    new_shape: str
    old_params: int
    new_params: int
    old_compute: int
    new_compute: int
    inside: tuple[str, ...] = ()  # submodules added or removed with this one, relative paths

    @property
    def params_delta(self) -> int:
        return self.new_params - self.old_params

    @property
    def compute_delta(self) -> int:
        return self.new_compute - self.old_compute


@dataclass(frozen=True)
class Diff:
    old_name: str
    new_name: str
    changes: tuple[ModuleChange, ...]
    old_outputs: str
    new_outputs: str
    old_params: int
    new_params: int
    convention: str
    old_case: str
    new_case: str
    old_compute: int
    new_compute: int
    domains: tuple[tuple[str, str, str], ...]  # (dim, old claim, new claim) where they differ

    @property
    def equal(self) -> bool:
        return not self.changes and self.old_outputs == self.new_outputs and self.old_params == self.new_params and self.old_compute == self.new_compute and not self.domains

    def count(self, kind: str) -> int:
        return sum(c.kind == kind for c in self.changes)


def compare(old: Snapshot, new: Snapshot) -> Diff:
    olds = {m.path: m for m in old.modules}
    news = {m.path: m for m in new.modules}
    order = list(news) + [p for p in olds if p not in news]
    changes: dict[str, ModuleChange] = {}
    for path in order:
        before, after = olds.get(path), news.get(path)
        change = _change(path, before, after)
        if change is None:
            continue
        owner = next((a for a in _ancestors(path) if a in changes and (changes[a].kind != "changed" or changes[a].old_type != changes[a].new_type)), None)
        if owner is not None and change.kind != "changed":
            held = changes[owner]
            changes[owner] = _with_inside(held, path[len(owner) + 1 :])
            continue
        changes[path] = change
    domains = tuple((d.name, _claim(d), _claim(e)) for d in old.dims for e in new.dims if d.name == e.name and _claim(d) != _claim(e))
    return Diff(
        old.name, new.name, tuple(changes.values()), shape_text(old.outputs), shape_text(new.outputs), old.params_total, new.params_total,
        new.convention, _case(old), _case(new), old.flops_total, new.flops_total, domains,
    )


def _change(path: str, before: ModuleShot | None, after: ModuleShot | None) -> ModuleChange | None:
    if before is not None and after is not None:
        same = shape_text(before.shape) == shape_text(after.shape) and before.type == after.type and before.params == after.params and before.compute == after.compute
        if same:
            return None
        return ModuleChange(path, "changed", before.type, after.type, shape_text(before.shape), shape_text(after.shape), before.params, after.params, before.compute or 0, after.compute or 0)
    if after is not None:
        return ModuleChange(path, "added", "", after.type, "", shape_text(after.shape), 0, after.params, 0, after.compute or 0)
    assert before is not None
    return ModuleChange(path, "removed", before.type, "", shape_text(before.shape), "", before.params, 0, before.compute or 0, 0)


def _with_inside(change: ModuleChange, relative: str) -> ModuleChange:
    from dataclasses import replace

    return replace(change, inside=change.inside + (relative,))


def _ancestors(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _claim(dim) -> str:  # type: ignore[no-untyped-def]
    if dim.range is None:
        return f"values {', '.join(map(str, dim.values))}"
    step = f" step {dim.multiple_of}" if dim.multiple_of else ""
    return f"{dim.range[0]}..{dim.range[1]}{step}"


def _case(snapshot: Snapshot) -> str:
    return ", ".join(f"{n}={v}" for n, v in snapshot.flops_case)
