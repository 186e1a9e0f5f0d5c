"""The import rules of the pipeline, checked on the source: no cycles; runners never import
checks; report/ never imports torch; the spec stage imports neither torch nor a later stage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "archcheck"
# Function-level imports that are not dependencies of the module: ``Report.__str__`` renders itself.
PRESENTATION = {("archcheck.results", "archcheck.report.text")}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; ``TYPE_CHECKING`` blocks left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test) for node in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


GRAPH = {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def depends(name: str, target: str) -> bool:
    """An edge of the graph: ``from archcheck.spec import schema`` inside archcheck.spec.load depends on
    archcheck.spec.schema, not on its own package (whose __init__ runs first anyway)."""
    own_package = name.startswith(target + ".")
    return target in GRAPH and target != name and not own_package and (name, target) not in PRESENTATION


INTERNAL = {name: {i for i in found if depends(name, i)} for name, found in GRAPH.items()}


def reaches(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for name in INTERNAL.get(todo.pop(), ()):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def test_the_graph_is_real():
    assert len(GRAPH) > 50 and "archcheck.pipeline" in GRAPH
    assert "archcheck.checks" in INTERNAL["archcheck.pipeline"]


def test_no_import_cycles():
    assert sorted(name for name in INTERNAL if name in reaches(name)) == []


@pytest.mark.parametrize("runner", sorted(m for m in GRAPH if m.startswith("archcheck.runners")))
def test_runners_never_import_checks(runner):
    assert not {m for m in reaches(runner) if m.startswith("archcheck.checks")}


@pytest.mark.parametrize("renderer", sorted(m for m in GRAPH if m.startswith("archcheck.report")))
def test_report_never_imports_torch(renderer):
    modules = {renderer, *reaches(renderer)}
    packages = {".".join(m.split(".")[:i]) for m in modules for i in range(2, m.count(".") + 1)}
    with_inits = modules | {p for p in packages if p in GRAPH}
    torch_users = sorted(m for m in with_inits if any(i == "torch" or i.startswith("torch.") for i in GRAPH[m]))
    assert torch_users == []


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m.startswith("archcheck.spec")))
def test_the_spec_stage_imports_no_later_stage(module):
    later = ("archcheck.model", "archcheck.observe", "archcheck.runners", "archcheck.checks", "archcheck.pipeline", "archcheck.report", "archcheck.counting", "archcheck.graph")
    assert not {m for m in reaches(module) if m.startswith(later)}
    assert not any(i == "torch" or i.startswith("torch.") for m in {module, *reaches(module)} for i in GRAPH[m])
