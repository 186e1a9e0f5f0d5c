"""Read YAML into plain Python values plus the position of every value.

PyYAML keeps the last of two equal keys without a word; a spec must not, so
duplicate keys are errors here. Positions are keyed by the path of the value
in the document, e.g. ``("modules", "neck", "SPP")``, so that later stages
(pydantic's error ``loc``, the expression parser) can point at the exact spot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from archcheck.errors import Diagnostic, Location, SpecError

Path = tuple[Any, ...]


@dataclass(frozen=True)
class PositionedDocument:
    data: Any
    positions: dict[Path, Location]  # where each value starts
    key_positions: dict[Path, Location]  # where each mapping key starts

    def locate(self, path: Path) -> Location | None:
        """The position of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get(())

    def locate_key(self, path: Path) -> Location | None:
        return self.key_positions.get(tuple(path)) or self.locate(path)


def _location(file: str, node: yaml.Node) -> Location:
    mark = node.start_mark
    return Location(file, mark.line + 1, mark.column + 1)


def load_yaml(text: str, file: str) -> PositionedDocument:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else None
        context = ""
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            context = f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise SpecError(Diagnostic(f"invalid YAML: {exc.problem or exc}{context}", where)) from None
    except yaml.YAMLError as exc:
        raise SpecError(Diagnostic(f"invalid YAML: {exc}", Location(file, 1, 1))) from None
    if root is None:
        raise SpecError(Diagnostic("the spec file is empty", Location(file, 1, 1)))

    constructor = yaml.SafeLoader("")
    positions: dict[Path, Location] = {}
    key_positions: dict[Path, Location] = {}
    errors: list[Diagnostic] = []

    def convert(node: yaml.Node, path: Path) -> Any:
        positions[path] = _location(file, node)
        if isinstance(node, yaml.MappingNode):
            constructor.flatten_mapping(node)
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node, deep=True)
                if isinstance(key, (list, dict)):
                    errors.append(Diagnostic("a mapping key must be a plain value", _location(file, key_node)))
                    continue
                if key in result:
                    first = key_positions[path + (key,)]
                    errors.append(
                        Diagnostic(
                            f"duplicate key {key!r} (first at line {first.line}); YAML would silently keep the last one",
                            _location(file, key_node),
                        )
                    )
                    continue
                key_positions[path + (key,)] = _location(file, key_node)
                result[key] = convert(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [convert(item, path + (i,)) for i, item in enumerate(node.value)]
        return constructor.construct_object(node, deep=True)

    data = convert(root, ())
    if errors:
        raise SpecError(*errors)
    return PositionedDocument(data, positions, key_positions)
