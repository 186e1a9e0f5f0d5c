"""Read YAML into plain Python values plus the position of every value.

PyYAML keeps the last of two equal keys without a word; a spec must not, so
duplicate keys are errors here (a key given beside a ``<<`` merge overrides the
merged one, as YAML intends). Positions are keyed by the path of the value
in the document, e.g. ``("modules", "neck", "SPP")``, so that later stages
(pydantic's error ``loc``, the expression parser) can point at the exact spot.

A spec is data: YAML tags are refused, and the file's size, the nesting depth
and the size of the document once aliases are expanded are bounded
(``limits.py``), so that no file can make loading slow or crash.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any, NoReturn

import yaml

from archcheck.errors import Diagnostic, Location, SpecError
from archcheck.spec.limits import MAX_SPEC_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES

Path = tuple[Any, ...]

_CORE = "tag:yaml.org,2002:"
# Tags a spec may spell out: the plain core types. Anything else (!foo, !!python/object) is refused.
ALLOWED_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map")) | {"!"}


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


def _location(file: str, node: yaml.Node | yaml.Event) -> Location:
    mark = node.start_mark
    return Location(file, mark.line + 1, mark.column + 1)


def read_spec_text(path: FilePath, shown: str, limit: int = MAX_SPEC_BYTES) -> str:
    """The text of a spec file, refusing devices, pipes, folders and files over ``limit`` bytes.

    The file is opened without blocking (a FIFO would wait for a writer) and checked
    before anything is read, and never more than ``limit + 1`` bytes are read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise SpecError(f"{shown}: no such spec file") from None
    except OSError as exc:
        raise SpecError(f"{shown}: cannot read the spec: {exc.strerror or exc}") from None
    too_large = SpecError(f"{shown}: the file is larger than {limit:,} bytes, the most a spec may be")
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise SpecError(f"{shown}: is a directory, not a spec file")
        if not stat.S_ISREG(info.st_mode):
            raise SpecError(f"{shown}: is not a regular file (a device, pipe or socket); a spec is a YAML file")
        if info.st_size > limit:
            raise too_large
        data = b""
        while len(data) <= limit and (chunk := os.read(fd, limit + 1 - len(data))):
            data += chunk
    except OSError as exc:
        raise SpecError(f"{shown}: cannot read the spec: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew while we looked
        raise too_large
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{shown}: cannot read the spec: it is not UTF-8 text (byte {exc.start})") from None


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, composing with the limits a spec needs.

    Composing keeps an alias as a shared node, so it is cheap; expanding it
    (``convert`` below) is what a "billion laughs" file blows up. So while
    composing, count the nodes and depth the document will have once every alias
    is expanded, and stop at the first alias or value past a limit.
    """

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self.file = file
        self.depth = 0  # nesting of the node being composed
        self.expanded = 0  # nodes so far, counting each alias as the whole value it repeats
        self.open_anchors: set[str] = set()  # anchors whose value is still being composed
        self.measured: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, depth) once expanded

    def fail(self, message: str, event: yaml.Event) -> NoReturn:
        raise SpecError(Diagnostic(message, _location(self.file, event)))

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self.open_anchors:
                self.fail(f"alias *{event.anchor} is inside the value it names; that value would never end", event)
            node = super().compose_node(parent, index)
            nodes, depth = self.measure(node)
            self.count(nodes, self.depth + depth, event, f"alias *{event.anchor}")
            return node
        if event.tag not in (None, *ALLOWED_TAGS):
            shown = event.tag.replace(_CORE, "!!", 1)
            self.fail(f"YAML tags are not allowed (found {shown}); a spec is plain data", event)
        self.count(1, self.depth + 1, event)
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        self.depth += 1
        node = super().compose_node(parent, index)
        self.depth -= 1
        self.open_anchors.discard(event.anchor)
        return node

    def count(self, nodes: int, depth: int, event: yaml.Event, alias: str = "") -> None:
        self.expanded += nodes
        if self.expanded > MAX_YAML_NODES:
            what = f"{alias} makes the spec hold" if alias else "the spec holds"
            self.fail(f"{what} more than {MAX_YAML_NODES:,} values once aliases are expanded", event)
        if depth > MAX_YAML_DEPTH:
            deep = f"more than {MAX_YAML_DEPTH} levels deep"
            self.fail(f"{alias} nests lists and mappings {deep}" if alias else f"lists and mappings nest {deep} here", event)

    def measure(self, node: yaml.Node) -> tuple[int, int]:
        """(nodes, depth) of a composed node with its aliases expanded; shared nodes are measured once."""
        if id(node) not in self.measured:
            children: list[yaml.Node] = []
            if isinstance(node, yaml.SequenceNode):
                children = node.value
            elif isinstance(node, yaml.MappingNode):
                children = [n for pair in node.value for n in pair]
            sizes = [self.measure(child) for child in children]
            self.measured[id(node)] = (1 + sum(n for n, _ in sizes), 1 + max((d for _, d in sizes), default=0))
        return self.measured[id(node)]


def _compose(text: str, file: str) -> tuple[yaml.Node | None, _BoundedLoader]:
    loader = _BoundedLoader(text, file)
    try:
        return loader.get_single_node(), loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else None
        context = ""
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            context = f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise SpecError(Diagnostic(f"invalid YAML: {exc.problem or exc}{context}", where)) from None
    except yaml.YAMLError as exc:
        raise SpecError(Diagnostic(f"invalid YAML: {exc}", Location(file, 1, 1))) from None
    finally:
        loader.dispose()


def load_yaml(text: str, file: str) -> PositionedDocument:
    root, constructor = _compose(text, file)
    if root is None:
        raise SpecError(Diagnostic("the spec file is empty", Location(file, 1, 1)))

    positions: dict[Path, Location] = {}
    key_positions: dict[Path, Location] = {}
    errors: list[Diagnostic] = []

    def construct(node: yaml.Node) -> Any:
        """A plain value; a scalar that its type cannot read (``!!int x``, ``2020-13-45``) is an error."""
        try:
            return constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, KeyError, TypeError, OverflowError) as exc:
            shown = str(node.value) if isinstance(node, yaml.ScalarNode) else "this value"
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            errors.append(Diagnostic(f"invalid YAML value {shown!r}: {exc}", _location(file, node)))
            return None

    def merged_pairs(node: yaml.MappingNode) -> tuple[list[tuple[yaml.Node, yaml.Node]], int]:
        """The mapping's pairs with ``<<`` merges expanded in front, and how many came from merges."""
        explicit = sum(1 for key, _ in node.value if key.tag != _CORE + "merge")
        try:
            constructor.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = Location(file, mark.line + 1, mark.column + 1) if mark else _location(file, node)
            errors.append(Diagnostic(f"invalid YAML: {exc.problem}", where))
            return [], 0
        return node.value, len(node.value) - explicit

    def convert_mapping(node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        pairs, merged = merged_pairs(node)
        chosen: dict[Any, tuple[yaml.Node, yaml.Node]] = {}  # a later pair wins, in the first one's place
        explicit: dict[Any, Location] = {}
        for index, (key_node, value_node) in enumerate(pairs):
            key = construct(key_node)
            if isinstance(key, (list, dict)):
                errors.append(Diagnostic("a mapping key must be a plain value", _location(file, key_node)))
                continue
            if index >= merged:  # written here, not merged in: a second one is an error
                if key in explicit:
                    errors.append(
                        Diagnostic(
                            f"duplicate key {key!r} (first at line {explicit[key].line}); YAML would silently keep the last one",
                            _location(file, key_node),
                        )
                    )
                    continue
                explicit[key] = _location(file, key_node)
            chosen[key] = (key_node, value_node)
        result: dict[Any, Any] = {}
        for key, (key_node, value_node) in chosen.items():
            key_positions[path + (key,)] = _location(file, key_node)
            result[key] = convert(value_node, path + (key,))
        return result

    def convert(node: yaml.Node, path: Path) -> Any:
        positions[path] = _location(file, node)
        if isinstance(node, yaml.MappingNode):
            return convert_mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [convert(item, path + (i,)) for i, item in enumerate(node.value)]
        return construct(node)

    data = convert(root, ())
    if errors:  # in the order of the file, as a reader meets them
        raise SpecError(*sorted(errors, key=lambda d: (d.location.line, d.location.col) if d.location else (0, 0)))
    return PositionedDocument(data, positions, key_positions)
