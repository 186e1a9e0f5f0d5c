"""``load_spec(path) -> Spec``: YAML with positions, then schema, then expressions.

Every fault found is reported at once, each with ``file:line:col``.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from archcheck.errors import Diagnostic, Location, SpecError
from archcheck.spec.constraints import Constraint, parse_constraint
from archcheck.spec.devices import CASE_CHOICES, device_problem
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
from archcheck.spec.shapes import (
    AnyDims,
    AnySize,
    AnyValue,
    DictPattern,
    DimPattern,
    NonePattern,
    Pattern,
    ShapePattern,
    TuplePattern,
)
from archcheck.spec.yamlpos import PositionedDocument, load_yaml, read_spec_text

_SUFFIXES = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
_QUANTITY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([KMGTP]?)\s*$")
_SHORTHAND = {"channels", "stride"}
_INTEGER_DTYPES = {"int64", "int32", "uint8"}


def load_spec(path: str | Path) -> Spec:
    """Read and check a spec file; raise SpecError listing every fault."""
    path = Path(path)
    shown = str(path)
    text = read_spec_text(path, shown)  # refuses devices, pipes, folders and huge files
    return parse_spec(text, shown, base=path.parent)


def parse_spec(text: str, file: str = "<spec>", base: Path | None = None) -> Spec:
    tags = _tags(text, file)
    if tags:
        raise SpecError(*tags)
    document = load_yaml(text, file)
    if not isinstance(document.data, dict):
        raise SpecError(Diagnostic("a spec is a mapping of keys (archcheck, name, model, ...)", document.locate(())))
    try:
        raw = RawSpec.model_validate(document.data)
    except ValidationError as exc:
        raise SpecError(*_schema_diagnostics(exc, document)) from None
    return _Builder(raw, document, file, base or Path("."), text).build()


def _tags(text: str, file: str) -> list[Diagnostic]:
    """Every YAML tag (``!!python/object:...``, ``!!str``): a spec is plain data."""
    found = []
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.TagToken):
                handle, suffix = token.value
                mark = token.start_mark
                found.append(Diagnostic(f"YAML tags are not allowed (got {(handle or '') + suffix}); a spec is plain data", Location(file, mark.line + 1, mark.column + 1)))
    except yaml.YAMLError:
        pass  # load_yaml reports it, at its place
    return found


def parse_quantity(value: int | float | str) -> float:
    """``30.05G`` -> 30.05e9; plain numbers as they are."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    found = _QUANTITY.match(str(value))
    if not found:
        raise ValueError(f"{value!r} is not a number; write e.g. 64363101, 30.05G or 1.2e9")
    return float(found.group(1)) * _SUFFIXES[found.group(2)]


def parse_written_quantity(value: int | float | str) -> tuple[float, float]:
    """``145.031M`` -> (145.031e6, 500.0): the value and half a unit of its last written digit.

    A figure pasted from printed output (``145.031M``) holds to the precision it was printed
    with; a whole number written in full has slack 0.5, so it must be exact.
    """
    number = parse_quantity(value)
    if isinstance(value, int):
        return number, 0.5
    found = _QUANTITY.match(repr(value) if isinstance(value, float) else str(value))
    if not found:  # e.g. 1e+20 as a float: repr gives no shorter text
        return number, 0.0
    mantissa, _, exponent = found.group(1).lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    unit = 10.0 ** (int(exponent or 0) - decimals) * _SUFFIXES[found.group(2)]
    return number, unit / 2


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
    errors = [(error, _place(error["loc"])) for error in exc.errors()]
    # ``x: {shape: ..., keyword: maybe}`` fails both members of Union[list, RawInput]; "should be
    # a valid list" says nothing useful about a mapping whose own key is wrong: keep the deeper one.
    deeper = {place[:n] for _, place in errors for n in range(len(place))}
    for error, place in errors:
        if error["type"] == "list_type" and isinstance(error.get("input"), dict) and place in deeper:
            continue
        # pydantic reports each member of a Union; keep the first message per place.
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


def _place(loc: Any) -> tuple[Any, ...]:
    """pydantic's ``loc`` without its Union member tags (``list[...]``, ``RawInput``)."""
    from archcheck.spec import schema

    models = {name for name in vars(schema) if name.startswith("Raw")}
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith(("list", "dict", "function")) or p in models)))


def _allowed_keys(parent: tuple[Any, ...]) -> list[str]:
    from archcheck.spec import schema

    models = {
        (): schema.RawSpec,
        ("model",): schema.RawModel,
        ("params",): schema.RawParams,
        ("flops",): schema.RawFlops,
        ("parity",): schema.RawParity,
    }
    if parent == ("constraints",):
        return []
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

    def __init__(self, raw: RawSpec, document: PositionedDocument, file: str, base: Path, text: str = "") -> None:
        self.raw, self.document, self.file, self.base = raw, document, file, base
        self.lines = text.splitlines()
        self.errors: list[Diagnostic] = []

    def fail(self, message: str, path: tuple[Any, ...], offset: int = 0, key: bool = False) -> None:
        location = self.document.locate_key(path) if key else self.document.locate(path)
        if location and offset:
            location = location.shifted(offset + self._quote(location))
        self.errors.append(Diagnostic(message, location))

    def _quote(self, location: Location) -> int:
        """1 when the value at ``location`` is a quoted string: columns inside it start after the quote."""
        line = self.lines[location.line - 1] if 0 < location.line <= len(self.lines) else ""
        return 1 if line[location.col - 1 : location.col] in ("'", '"') else 0

    def at(self, *path: Any) -> Location | None:
        return self.document.locate(path)

    def build(self) -> Spec:
        raw = self.raw
        inputs = self._inputs()
        defines = self._defines()
        dims = self._dims(inputs)
        modules = self._modules(inputs)
        outputs = self._pattern(raw.outputs, ("outputs",), inputs) if raw.outputs is not None else None
        constraints = self._constraints()
        params = self._params()
        flops = self._flops(dims)
        for index, device in enumerate(raw.devices):
            problem = device_problem(device)
            if problem:
                self.fail(problem, ("devices", index))
        self._device_cases()
        if ":" not in raw.model.factory or raw.model.factory.startswith(":") or raw.model.factory.endswith(":"):
            self.fail(f"model.factory must be 'module:callable', got {raw.model.factory!r}", ("model", "factory"))
        for name in ("rtol", "atol"):
            value = getattr(raw.parity, name)
            if not math.isfinite(value):  # .inf (or .nan) would pass every comparison: parity silently off
                self.fail(f"parity.{name} must be a finite number, got {value}; to skip parity, leave the other devices out or use --ignore parity", ("parity", name))
            elif value < 0:
                self.fail(f"parity.{name} must not be negative", ("parity", name))

        # Every name the spec declares, even one whose entry is faulty: that fault is
        # reported once, at the entry, not again as "unknown name" at every use.
        known = set(raw.dims) | set(raw.define)
        self._check_names(inputs, defines, modules, outputs, constraints, known)
        if self.errors:
            raise SpecError(*self.errors)
        spec = Spec(
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
            constraints=constraints,
            device_cases={device: (choice if isinstance(choice, str) else tuple(choice)) for device, choice in raw.cases.items()},
        )
        if constraints and not spec.cases():
            first = replace(spec, constraints=()).cases()[0]
            where = self.document.locate_key(("constraints",))
            raise SpecError(Diagnostic(f"no case of the dims' values meets the constraints; at {first}: {spec.admits(first)}", where))
        return spec

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
            if isinstance(item, list):
                shape, dtype, keyword, low, high = item, "float32", False, None, None
            else:
                shape, dtype, keyword, low, high = item.shape, item.dtype, item.keyword, item.low, item.high
                path += ("shape",)
                if (low is not None or high is not None) and dtype not in _INTEGER_DTYPES:
                    which = "low" if low is not None else "high"
                    self.fail(f"inputs.{name}.{which}: low and high bound integer inputs (int64, int32, uint8); {name} is {dtype}", ("inputs", name, which), key=True)
                elif (low is None) != (high is None):
                    self.fail(f"inputs.{name}: give both low and high (values are drawn from [low, high)), e.g. low: 0, high: 1000", ("inputs", name, "low" if low is not None else "high"), key=True)
                elif low is not None and high is not None and low >= high:
                    self.fail(f"inputs.{name}: low {low} must be less than high {high} (values are drawn from [low, high))", ("inputs", name, "high"))
            pattern = self._pattern(shape, path, ())
            if pattern is None:
                continue
            if not isinstance(pattern, ShapePattern) or any(not isinstance(d, Expr) for d in pattern.dims):
                self.fail(f"input {name} must be one shape of expressions, without _ or ...", path)
                continue
            inputs.append(Input(name, pattern, dtype, self.at(*path), keyword, low, high))
        return tuple(inputs)

    def _modules(self, inputs: tuple[Input, ...]) -> tuple[ModuleExpectation, ...]:
        """``modules:`` flat (``{path: shape}``, section "modules"), in sections, or both.

        At the top, a value that is a shape, a tuple, the shorthand or ``{calls: [...]}`` is a
        module entry; any other mapping is a section of ``{path: shape}``.
        """
        entries: list[tuple[str, str, Any, tuple[Any, ...]]] = []
        for key, value in self.raw.modules.items():
            if _is_module_entry(value):
                entries.append(("modules", key, value, ("modules", key)))
            else:
                entries.extend((key, module, item, ("modules", key, module)) for module, item in value.items())
        first: dict[str, tuple[Any, ...]] = {}
        found = []
        for section, module, item, path in entries:
            if module in first and (len(path) == 2) != (len(first[module]) == 2):
                shown = ".".join(map(str, first[module]))
                self.fail(f"module {module} is listed twice: at {shown} and here; flat entries and sections must not overlap", path, key=True)
                continue
            first.setdefault(module, path)
            calls: tuple[Pattern, ...] = ()
            if _is_calls(item):
                patterns = [self._pattern(sub, path + ("calls", i), inputs) for i, sub in enumerate(item["calls"])]
                if any(p is None for p in patterns):
                    continue
                calls = tuple(patterns)  # type: ignore[arg-type]
                pattern: Pattern | None = calls[0]
            else:
                pattern = self._pattern(item, path, inputs)
            if pattern is not None:
                found.append(ModuleExpectation(section, str(module), pattern, self.at(*path), self.document.locate_key(path), calls))
        return tuple(found)

    def _constraints(self) -> tuple[Constraint, ...]:
        found = []
        for index, text in enumerate(self.raw.constraints):
            path = ("constraints", index)
            try:
                found.append(parse_constraint(text, self.at(*path)))
            except ExprError as exc:
                self.fail(str(exc), path, exc.offset)
        return tuple(found)

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

    def _device_cases(self) -> None:
        """``cases: {cpu: smallest}``: a device name, and all, first, smallest or dim bindings of the dims."""
        names = {d for d in self.raw.dims}
        for device, choice in self.raw.cases.items():
            problem = device_problem(device)
            if problem:
                self.fail(problem, ("cases", device), key=True)
            if isinstance(choice, str) and choice not in CASE_CHOICES:
                self.fail(f"cases.{device} must be one of {', '.join(CASE_CHOICES)} or a list of dim bindings, got {choice!r}", ("cases", device))
            for index, binding in enumerate(choice if isinstance(choice, list) else ()):
                for name in binding:
                    if name not in names:
                        self.fail(f"cases.{device} names {name!r}, which is not a dim{_did_you_mean(name, sorted(names))}", ("cases", device, index, name), key=True)

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

    def _pattern(self, item: Any, path: tuple[Any, ...], inputs: tuple[Input, ...], inner: bool = False) -> Pattern | None:
        """A shape, a tuple ``[[...], null, _]``, a dict ``{key: shape}`` or the shorthand.

        ``inner``: an item of a tuple or dict, where ``null`` (exactly None) and ``_`` (anything) are allowed.
        """
        location = self.at(*path)
        if inner and item is None:
            return NonePattern(location)
        if inner and item == "_":
            return AnyValue(location)
        if isinstance(item, dict):
            if _is_shorthand(item) or _all_scalars(item):
                return self._shorthand(item, path, inputs)
            items = [(str(key), self._pattern(sub, path + (key,), inputs, inner=True)) for key, sub in item.items()]
            return None if any(p is None for _, p in items) else DictPattern(tuple(items), location)  # type: ignore[arg-type]
        if not isinstance(item, list):
            self.fail(f"expected a shape like [B, 64, H/2, W/2], got {item!r}", path)
            return None
        nested = [isinstance(i, (list, dict)) or i is None for i in item]
        if any(nested):
            if not all(n or i == "_" for n, i in zip(nested, item)):
                self.fail("a shape mixes dimensions and nested shapes; write [[...], [...]] for a tuple output", path)
                return None
            items = [self._pattern(sub, path + (i,), inputs, inner=True) for i, sub in enumerate(item)]
            return None if any(i is None for i in items) else TuplePattern(tuple(items), location)  # type: ignore[arg-type]
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
        if set(item) != _SHORTHAND:
            extra = "" if set(item) <= _SHORTHAND else " (a dict output maps each key to a shape, tuple, null or _)"
            self.fail(f"the shorthand is {{channels: C, stride: S}}, got keys {', '.join(map(str, item))}{extra}", path)
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

    def _count(self, path: str, value: Any, where: tuple[Any, ...]) -> Count | None:
        try:
            number, slack = parse_written_quantity(value)
        except ValueError as exc:
            self.fail(str(exc), where)
            return None
        return Count(path, number, self.at(*where), slack)

    def _tolerance(self, value: Any, where: tuple[Any, ...]) -> float | None:
        if value is None:
            return None
        try:
            return parse_tolerance(value)
        except ValueError as exc:
            self.fail(str(exc), where)
            return None

    def _params(self) -> ParamsExpectation | None:
        raw = self.raw.params
        if raw is None:
            return None
        return ParamsExpectation(
            total=self._count("", raw.total, ("params", "total")) if raw.total is not None else None,
            trainable=self._count("", raw.trainable, ("params", "trainable")) if raw.trainable is not None else None,
            modules=tuple(c for p, v in raw.modules.items() if (c := self._count(p, v, ("params", "modules", p))) is not None),
            tolerance=self._tolerance(raw.tolerance, ("params", "tolerance")),
        )

    def _flops(self, dims: tuple[Dim, ...]) -> FlopsExpectation | None:
        raw = self.raw.flops
        if raw is None:
            return None

        tolerance = self._tolerance(raw.tolerance, ("flops", "tolerance"))
        names = list(self.raw.dims)  # every declared dim, even a faulty one (reported at its entry)
        for name in raw.case:
            if name not in names:
                self.fail(f"flops.case names {name!r}, which is not a dim{_did_you_mean(name, names)}", ("flops", "case", name), key=True)
        missing = [n for n in names if n not in raw.case]
        if missing:
            self.fail(f"flops.case must bind every dim; missing {', '.join(missing)}", ("flops", "case"))
        total = self._count("", raw.total, ("flops", "total")) if raw.total is not None else None
        modules = tuple(c for p, v in raw.modules.items() if (c := self._count(p, v, ("flops", "modules", p))) is not None)
        return FlopsExpectation(
            convention=raw.convention,
            case=Case(tuple((n, raw.case[n]) for n in names if n in raw.case)),
            total=total,
            modules=modules,
            tolerance=tolerance,
            location=self.document.locate_key(("flops",)),
        )

    def _check_names(self, inputs, defines, modules, outputs, constraints, known: set[str]) -> None:  # type: ignore[no-untyped-def]
        def check(names: frozenset[str], path: tuple[Any, ...]) -> None:
            for name in sorted(names - known):
                self.fail(f"unknown name {name!r}{_did_you_mean(name, sorted(known))}", path)

        for name, expr in defines:
            check(expr.names, ("define", name))
        for module in modules:
            path = ("modules", module.path) if module.section == "modules" and module.path in self.raw.modules else ("modules", module.section, module.path)
            if module.calls:
                for index, call in enumerate(module.calls):
                    check(call.names, path + ("calls", index))
            else:
                check(module.names, path)
        if outputs is not None:
            check(outputs.names, ("outputs",))
        for index, constraint in enumerate(constraints):
            check(constraint.names, ("constraints", index))


def _is_shorthand(item: Any) -> bool:
    """``{channels: C, stride: S}``: only a mapping whose keys are among exactly these two."""
    return isinstance(item, dict) and bool(item) and set(item) <= _SHORTHAND


def _all_scalars(item: Any) -> bool:
    """A mapping of plain numbers and names: a mistyped shorthand, not a dict output or a section."""
    return isinstance(item, dict) and bool(item) and all(isinstance(v, (int, str)) and v != "_" for v in item.values())


def _is_calls(item: Any) -> bool:
    """``{calls: [shape, shape, ...]}``: a shape for each call of a module called several times."""
    return isinstance(item, dict) and set(item) == {"calls"} and isinstance(item["calls"], list) and bool(item["calls"]) and all(isinstance(i, (list, dict)) for i in item["calls"])


def _is_module_entry(value: Any) -> bool:
    """At the top of ``modules:``: a module entry (flat), not a section."""
    return not isinstance(value, dict) or _is_shorthand(value) or _all_scalars(value) or _is_calls(value)


def _atom(text: str) -> str:
    """``H`` stays ``H``; ``H+1`` becomes ``(H+1)``, so that it can be divided."""
    return text if text.isidentifier() or text.isdigit() else f"({text})"


class _Cycle(Exception):
    pass
