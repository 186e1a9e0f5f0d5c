"""``load_spec(path) -> Spec``: YAML with positions, then schema, then expressions.

Every fault found is reported at once, each with ``file:line:col``.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from archcheck.errors import Diagnostic, Location, SpecError
from archcheck.spec.devices import device_problem
from archcheck.spec.expr import Expr, ExprError, parse_expr
from archcheck.spec.limits import dim_faults
from archcheck.spec.records import (
    Case,
    Count,
    Dim,
    FlopsExpectation,
    Input,
    ModuleExpectation,
    ParamsExpectation,
    Spec,
)
from archcheck.spec.schema import RawSpec
from archcheck.spec.shapes import AnyDims, AnySize, DimPattern, Pattern, ShapePattern, TuplePattern
from archcheck.spec.yamlpos import PositionedDocument, load_yaml, read_spec_text

_SUFFIXES = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
_QUANTITY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([KMGTP]?)\s*$")


def load_spec(path: str | Path) -> Spec:
    """Read and check a spec file; raise SpecError listing every fault."""
    path = Path(path)
    shown = str(path)
    text = read_spec_text(path, shown)  # refuses devices, pipes, folders and huge files
    return parse_spec(text, shown, base=path.parent)


def parse_spec(text: str, file: str = "<spec>", base: Path | None = None) -> Spec:
    document = load_yaml(text, file)
    if not isinstance(document.data, dict):
        raise SpecError(Diagnostic("a spec is a mapping of keys (archcheck, name, model, ...)", document.locate(())))
    try:
        raw = RawSpec.model_validate(document.data)
    except ValidationError as exc:
        raise SpecError(*_schema_diagnostics(exc, document)) from None
    return _Builder(raw, document, file, base or Path(".")).build()


def parse_quantity(value: int | float | str) -> float:
    """``30.05G`` -> 30.05e9; plain numbers as they are."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    found = _QUANTITY.match(str(value))
    if not found:
        raise ValueError(f"{value!r} is not a number; write e.g. 64363101, 30.05G or 1.2e9")
    return float(found.group(1)) * _SUFFIXES[found.group(2)]


def parse_tolerance(value: int | float | str) -> float:
    """``1%`` -> 0.01; a plain number is a fraction."""
    text = str(value).strip()
    try:
        tolerance = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a tolerance; write e.g. 1% or 0.01") from None
    if tolerance < 0:
        raise ValueError(f"tolerance {value!r} is negative")
    return tolerance


def _schema_diagnostics(exc: ValidationError, document: PositionedDocument) -> list[Diagnostic]:
    diagnostics = []
    seen: set[tuple[Any, ...]] = set()
    for error in exc.errors():
        loc = tuple(error["loc"])
        # pydantic reports each member of a Union; keep the first message per place.
        place = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith(("list", "dict", "function")))))
        if place in seen:
            continue
        seen.add(place)
        dotted = ".".join(str(p) for p in place) or "the spec"
        if error["type"] == "extra_forbidden":
            parent = place[:-1]
            allowed = _allowed_keys(parent)
            hint = _did_you_mean(str(place[-1]), allowed)
            message = f"unknown key {place[-1]!r} in {'.'.join(map(str, parent)) or 'the spec'}{hint}"
            diagnostics.append(Diagnostic(message, document.locate_key(place)))
        elif error["type"] == "missing":
            diagnostics.append(Diagnostic(f"missing required key {dotted}", document.locate(place[:-1])))
        elif place == ("archcheck",):
            diagnostics.append(Diagnostic(f"this is spec format {error.get('input')!r}; this archcheck reads format 1", document.locate(place)))
        elif error["type"] in ("model_type", "dict_type"):
            diagnostics.append(Diagnostic(f"{dotted} must be a mapping (key: value)", document.locate(place)))
        else:
            given = error.get("input")
            message = f"{dotted}: {error['msg'].lower()}"
            if given is not None and not isinstance(given, (dict, list)):
                message += f" (got {given!r})"
            diagnostics.append(Diagnostic(message, document.locate(place)))
    return diagnostics


def _allowed_keys(parent: tuple[Any, ...]) -> list[str]:
    from archcheck.spec import schema

    models = {
        (): schema.RawSpec,
        ("model",): schema.RawModel,
        ("params",): schema.RawParams,
        ("flops",): schema.RawFlops,
        ("parity",): schema.RawParity,
    }
    if len(parent) == 2 and parent[0] == "dims":
        return list(schema.RawDim.model_fields)
    if len(parent) == 2 and parent[0] == "inputs":
        return list(schema.RawInput.model_fields)
    model = models.get(parent)
    return list(model.model_fields) if model else []


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; expected one of: {', '.join(options)}" if options else ""


class _Builder:
    """Turns the schema-checked document into records, collecting every fault."""

    def __init__(self, raw: RawSpec, document: PositionedDocument, file: str, base: Path) -> None:
        self.raw, self.document, self.file, self.base = raw, document, file, base
        self.errors: list[Diagnostic] = []

    def fail(self, message: str, path: tuple[Any, ...], offset: int = 0, key: bool = False) -> None:
        location = self.document.locate_key(path) if key else self.document.locate(path)
        if location and offset:
            location = location.shifted(offset)
        self.errors.append(Diagnostic(message, location))

    def at(self, *path: Any) -> Location | None:
        return self.document.locate(path)

    def build(self) -> Spec:
        raw = self.raw
        inputs = self._inputs()
        defines = self._defines()
        dims = self._dims(inputs)
        modules = tuple(
            ModuleExpectation(section, module, pattern, self.at("modules", section, module), self.document.locate_key(("modules", section, module)))
            for section, entries in raw.modules.items()
            for module, item in entries.items()
            if (pattern := self._pattern(item, ("modules", section, module), inputs)) is not None
        )
        outputs = self._pattern(raw.outputs, ("outputs",), inputs) if raw.outputs is not None else None
        params = self._params()
        flops = self._flops(dims)
        for index, device in enumerate(raw.devices):
            problem = device_problem(device)
            if problem:
                self.fail(problem, ("devices", index))
        if ":" not in raw.model.factory or raw.model.factory.startswith(":") or raw.model.factory.endswith(":"):
            self.fail(f"model.factory must be 'module:callable', got {raw.model.factory!r}", ("model", "factory"))
        for name in ("rtol", "atol"):
            if getattr(raw.parity, name) < 0:
                self.fail(f"parity.{name} must not be negative", ("parity", name))

        known = {d.name for d in dims} | {name for name, _ in defines}
        self._check_names(inputs, defines, modules, outputs, known)
        if self.errors:
            raise SpecError(*self.errors)
        return Spec(
            path=Path(self.file),
            name=raw.name,
            description=raw.description,
            factory=raw.model.factory,
            kwargs=dict(raw.model.kwargs),
            weights=self.base / raw.model.weights if raw.model.weights else None,
            inputs=inputs,
            dims=dims,
            defines=defines,
            modules=modules,
            outputs=outputs,
            params=params,
            flops=flops,
            devices=tuple(raw.devices),
            rtol=raw.parity.rtol,
            atol=raw.parity.atol,
            locations={key: loc for key in self.document.data if (loc := self.document.locate_key((key,)))}
            | {"model.factory": self.at("model", "factory"), "model.kwargs": self.document.locate_key(("model", "kwargs"))},
        )

    # -- pieces ---------------------------------------------------------------

    def _expr(self, value: Any, path: tuple[Any, ...]) -> Expr | None:
        try:
            return parse_expr(value)
        except ExprError as exc:
            self.fail(str(exc), path, exc.offset)
            return None

    def _inputs(self) -> tuple[Input, ...]:
        inputs = []
        if not self.raw.inputs:
            self.fail("inputs must name at least one input, e.g. x: [B, 3, H, W]", ("inputs",))
        for name, item in self.raw.inputs.items():
            path: tuple[Any, ...] = ("inputs", name)
            shape, dtype = (item, "float32") if isinstance(item, list) else (item.shape, item.dtype)
            if not isinstance(item, list):
                path += ("shape",)
            pattern = self._pattern(shape, path, ())
            if pattern is None:
                continue
            if not isinstance(pattern, ShapePattern) or any(not isinstance(d, Expr) for d in pattern.dims):
                self.fail(f"input {name} must be one shape of expressions, without _ or ...", path)
                continue
            inputs.append(Input(name, pattern, dtype, self.at(*path)))
        return tuple(inputs)

    def _defines(self) -> tuple[tuple[str, Expr], ...]:
        parsed = {name: e for name, value in self.raw.define.items() if (e := self._expr(value, ("define", name)))}
        ordered: list[tuple[str, Expr]] = []
        visiting: list[str] = []

        def visit(name: str) -> None:
            if any(n == name for n, _ in ordered):
                return
            if name in visiting:
                cycle = " -> ".join(visiting[visiting.index(name) :] + [name])
                self.fail(f"define {name} refers to itself: {cycle}", ("define", name))
                raise _Cycle
            visiting.append(name)
            for used in sorted(parsed[name].names & parsed.keys()):
                visit(used)
            visiting.pop()
            ordered.append((name, parsed[name]))

        for name in parsed:
            try:
                visit(name)
            except _Cycle:
                return ()
        return tuple(ordered)

    def _dims(self, inputs: tuple[Input, ...]) -> tuple[Dim, ...]:
        dims = []
        sizes: dict[str, str] = {}  # dim -> the first input that it is a size of
        for spec_input in inputs:
            for size in spec_input.pattern.dims:
                sizes.setdefault(str(size), spec_input.name)
        for name, raw in self.raw.dims.items():
            path = ("dims", name)
            if name in self.raw.define:
                self.fail(f"{name} is both a dim and a define", path)
            faults = dim_faults(name, raw.values or (), raw.range, raw.multiple_of, sizes.get(name))
            for where, message in faults:  # too large, or not a size a tensor can have
                self.fail(message, path + where)
            if faults:  # keep the name known, so that its uses are not reported as unknown too
                dims.append(Dim(name, (), location=self.at(*path)))
                continue
            if raw.range and raw.range[0] > raw.range[1]:
                self.fail(f"dims.{name}.range: {raw.range[0]} is larger than {raw.range[1]}", path + ("range",))
                continue
            values = tuple(raw.values or ())
            dim = Dim(name, values, tuple(raw.range) if raw.range else None, raw.multiple_of, self.at(*path))
            if not values:
                start = raw.range[0] if raw.range else None
                if start is None:
                    self.fail(f"dims.{name} needs values (the cases verify runs), e.g. values: [416, 608]", path)
                    continue
                step = raw.multiple_of or 1
                values = (-(-start // step) * step,)
                dim = Dim(name, values, dim.range, dim.multiple_of, dim.location)
            for index, value in enumerate(raw.values or ()):
                reason = dim.why_outside(value)
                if reason:
                    self.fail(f"{reason}, the domain this spec claims", path + ("values", index))
            dims.append(dim)
        used = {n for i in inputs for n in i.pattern.names}
        for name in sorted(used - set(self.raw.dims) - set(self.raw.define)):
            where = next(i for i in inputs if name in i.pattern.names)
            self.fail(f"dimension {name} of input {where.name} has no entry in dims; add e.g. {name}: {{values: [1]}}", ("inputs", where.name))
        return tuple(dims)

    def _pattern(self, item: Any, path: tuple[Any, ...], inputs: tuple[Input, ...]) -> Pattern | None:
        location = self.at(*path)
        if isinstance(item, dict):
            return self._shorthand(item, path, inputs)
        if not isinstance(item, list):
            self.fail(f"expected a shape like [B, 64, H/2, W/2], got {item!r}", path)
            return None
        nested = [isinstance(i, (list, dict)) for i in item]
        if item and all(nested):
            items = [self._pattern(sub, path + (i,), inputs) for i, sub in enumerate(item)]
            return None if any(i is None for i in items) else TuplePattern(tuple(items), location)  # type: ignore[arg-type]
        if any(nested):
            self.fail("a shape mixes dimensions and nested shapes; write [[...], [...]] for a tuple output", path)
            return None
        dims: list[DimPattern] = []
        faults = len(self.errors)
        for index, value in enumerate(item):
            if value == "_":
                dims.append(AnySize())
            elif value == "...":
                if any(isinstance(d, AnyDims) for d in dims):
                    self.fail("a shape may hold at most one '...'", path + (index,))
                dims.append(AnyDims())
            elif (expr := self._expr(value, path + (index,))) is not None:
                dims.append(expr)
        if len(self.errors) > faults:
            return None
        locations = tuple(self.at(*path, i) for i in range(len(item)))
        return ShapePattern(tuple(dims), location, locations)

    def _shorthand(self, item: dict[str, Any], path: tuple[Any, ...], inputs: tuple[Input, ...]) -> Pattern | None:
        unknown = set(item) - {"channels", "stride"}
        if unknown or not {"channels", "stride"} <= set(item):
            self.fail(f"the shorthand is {{channels: C, stride: S}}, got keys {', '.join(map(str, item))}", path)
            return None
        if not inputs or len(inputs[0].pattern.dims) < 3:
            self.fail("{channels, stride} needs a first input shaped [B, C, H, ...]", path)
            return None
        channels = self._expr(item["channels"], path + ("channels",))
        stride = self._expr(item["stride"], path + ("stride",))
        if channels is None or stride is None:
            return None
        batch, *spatial = (inputs[0].pattern.dims[0], *inputs[0].pattern.dims[2:])
        dims = [batch, channels] + [parse_expr(f"ceil({_atom(str(s))}/{_atom(str(stride))})") for s in spatial]
        return ShapePattern(tuple(dims), self.at(*path))  # type: ignore[arg-type]

    def _params(self) -> ParamsExpectation | None:
        raw = self.raw.params
        if raw is None:
            return None
        return ParamsExpectation(
            total=Count("", raw.total, self.at("params", "total")) if raw.total is not None else None,
            trainable=Count("", raw.trainable, self.at("params", "trainable")) if raw.trainable is not None else None,
            modules=tuple(Count(p, v, self.at("params", "modules", p)) for p, v in raw.modules.items()),
        )

    def _flops(self, dims: tuple[Dim, ...]) -> FlopsExpectation | None:
        raw = self.raw.flops
        if raw is None:
            return None

        def quantity(value: Any, path: tuple[Any, ...]) -> float | None:
            try:
                return parse_quantity(value)
            except ValueError as exc:
                self.fail(str(exc), path)
                return None

        try:
            tolerance = parse_tolerance(raw.tolerance)
        except ValueError as exc:
            self.fail(str(exc), ("flops", "tolerance"))
            tolerance = 0.0
        names = [d.name for d in dims]
        for name in raw.case:
            if name not in names:
                self.fail(f"flops.case names {name!r}, which is not a dim{_did_you_mean(name, names)}", ("flops", "case", name), key=True)
        missing = [n for n in names if n not in raw.case]
        if missing:
            self.fail(f"flops.case must bind every dim; missing {', '.join(missing)}", ("flops", "case"))
        total = quantity(raw.total, ("flops", "total")) if raw.total is not None else None
        modules = tuple(
            Count(p, q, self.at("flops", "modules", p))
            for p, v in raw.modules.items()
            if (q := quantity(v, ("flops", "modules", p))) is not None
        )
        return FlopsExpectation(
            convention=raw.convention,
            case=Case(tuple((n, raw.case[n]) for n in names if n in raw.case)),
            total=Count("", total, self.at("flops", "total")) if total is not None else None,
            modules=modules,
            tolerance=tolerance,
            location=self.document.locate_key(("flops",)),
        )

    def _check_names(self, inputs, defines, modules, outputs, known: set[str]) -> None:  # type: ignore[no-untyped-def]
        def check(names: frozenset[str], path: tuple[Any, ...]) -> None:
            for name in sorted(names - known):
                self.fail(f"unknown name {name!r}{_did_you_mean(name, sorted(known))}", path)

        for name, expr in defines:
            check(expr.names, ("define", name))
        for module in modules:
            check(module.pattern.names, ("modules", module.section, module.path))
        if outputs is not None:
            check(outputs.names, ("outputs",))


def _atom(text: str) -> str:
    """``H`` stays ``H``; ``H+1`` becomes ``(H+1)``, so that it can be divided."""
    return text if text.isidentifier() or text.isdigit() else f"({text})"


class _Cycle(Exception):
    pass
