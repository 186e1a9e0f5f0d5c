"""Safe integer expressions over dimension names: ``H/8``, ``ceil(W/32)*2``, ``3*(5+80)``.

A spec is data, so expressions are parsed with Python's ``ast`` and a whitelist,
then evaluated by walking the tree with exact fractions: nothing is ever
``eval``'d. ``/`` is exact division; a result that is not a whole number is an
error that suggests ``ceil(...)`` or ``floor(...)``.

Expressions are bounded (``limits.py``): their length, their number of nodes and
the size of every number met while evaluating, so that a spec cannot make
archcheck compute a number with millions of digits (``D2: D1 * D1`` forty times).
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Mapping

from archcheck.spec.limits import (
    MAX_EXPR_BITS,
    MAX_EXPR_CHARS,
    MAX_EXPR_NODES,
    shown_number,
)

ALLOWED = "integers, dimension names, + - * / // %, parentheses, ceil, floor, min and max"

_BINARY: dict[type, Callable[[Fraction, Fraction], Fraction]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: lambda a, b: Fraction(a // b),
    ast.Mod: operator.mod,
}
_UNARY: dict[type, Callable[[Fraction], Fraction]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS: dict[str, tuple[Callable[..., Fraction], int, int | None]] = {
    # name: (function, fewest arguments, most arguments)
    "ceil": (lambda x: Fraction(math.ceil(x)), 1, 1),
    "floor": (lambda x: Fraction(math.floor(x)), 1, 1),
    "min": (min, 2, None),
    "max": (max, 2, None),
}


class ExprError(ValueError):
    """An expression that cannot be parsed or evaluated; ``offset`` is a column in its text."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Expr:
    """A parsed expression; ``names`` are the dimension and define names it uses."""

    source: str
    tree: ast.expr = field(compare=False, repr=False)
    names: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return self.source

    def value(self, env: Mapping[str, Fraction | int]) -> Fraction:
        """Exact value; every name must be bound in ``env``."""
        return _evaluate(self.tree, env)

    def evaluate(self, env: Mapping[str, Fraction | int]) -> int:
        """Whole-number value, or ExprError saying why there is none."""
        result = self.value(env)
        if result.denominator != 1:
            bindings = ", ".join(f"{n}={env[n]}" for n in sorted(self.names) if n in env)
            hint = f"ceil({self.source}) or floor({self.source})" if "/" in self.source else "a whole-number expression"
            raise ExprError(f"{self.source} is {result} at {bindings}, not a whole number; write {hint}")
        return int(result)


def parse_expr(text: str | int) -> Expr:
    """Parse an expression, or raise ExprError with the column of the fault."""
    if isinstance(text, bool):
        raise ExprError(f"expected an integer expression, got {text!r}")
    if isinstance(text, int):
        _check_size(Fraction(text), shown_number(text))
        return Expr(str(text), ast.Constant(text), frozenset())
    if not isinstance(text, str):
        raise ExprError(f"expected an integer expression, got {type(text).__name__} {text!r}")
    if len(text) > MAX_EXPR_CHARS:
        raise ExprError(f"the expression is {len(text):,} characters long; the limit is {MAX_EXPR_CHARS:,}")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        offset = max((exc.offset or 1) - 1, 0)
        raise ExprError(f"cannot parse expression {text!r}: {exc.msg}", offset) from None
    except (RecursionError, MemoryError):
        raise ExprError(f"cannot parse expression {text[:40]!r}...: it nests too deeply") from None
    size = sum(1 for _ in ast.walk(tree))  # iterative: safe before the recursive _validate
    if size > MAX_EXPR_NODES:
        raise ExprError(f"the expression has {size} terms and operators; the limit is {MAX_EXPR_NODES}: use a define")
    names: set[str] = set()
    _validate(tree, names)
    return Expr(text.strip(), tree, frozenset(names))


def _validate(node: ast.AST, names: set[str]) -> None:
    offset = getattr(node, "col_offset", 0)
    if isinstance(node, ast.Constant):
        if type(node.value) is not int:
            raise ExprError(f"{node.value!r} is not allowed in an expression; use {ALLOWED}", offset)
        _check_size(Fraction(node.value), shown_number(node.value), offset)
    elif isinstance(node, ast.Name):
        if node.id in _FUNCTIONS:
            raise ExprError(f"{node.id} is a function: call it as {node.id}(...)", offset)
        names.add(node.id)
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _validate(node.left, names)
        _validate(node.right, names)
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _validate(node.operand, names)
    elif isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
        if name not in _FUNCTIONS or node.keywords:
            raise ExprError(f"{name}(...) is not allowed in an expression; use {ALLOWED}", offset)
        _, fewest, most = _FUNCTIONS[name]
        if len(node.args) < fewest or (most is not None and len(node.args) > most):
            wanted = str(fewest) if most == fewest else f"at least {fewest}"
            raise ExprError(f"{name}() takes {wanted} argument(s), got {len(node.args)}", offset)
        for arg in node.args:
            _validate(arg, names)
    else:
        shown = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
        raise ExprError(f"{shown!r} is not allowed in an expression; use {ALLOWED}", offset)


def _check_size(value: Fraction, what: str | ast.expr, offset: int = 0) -> Fraction:
    """``value``, or ExprError when its numerator or denominator reaches 2**MAX_EXPR_BITS.

    ``what``: the text or the node it came from (written out only for the error: a sweep evaluates millions)."""
    bits = max(abs(value.numerator).bit_length(), value.denominator.bit_length())
    if bits > MAX_EXPR_BITS:
        what = what if isinstance(what, str) else ast.unparse(what)
        raise ExprError(f"{what} is too large (about 2**{bits - 1}): values in expressions must stay below 2**{MAX_EXPR_BITS}", offset)
    return value


def _evaluate(node: ast.expr, env: Mapping[str, Fraction | int]) -> Fraction:
    """The exact value of ``node``; every step is size-checked before the next one uses it."""
    return _check_size(_step(node, env), node, getattr(node, "col_offset", 0))


def _step(node: ast.expr, env: Mapping[str, Fraction | int]) -> Fraction:
    if isinstance(node, ast.Constant):
        return Fraction(node.value)
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise ExprError(f"unknown name {node.id!r}", node.col_offset)
        return Fraction(env[node.id])
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, env), _evaluate(node.right, env)
        if right == 0 and isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)):
            raise ExprError(f"division by zero in {ast.unparse(node)}", node.col_offset)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, env))
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    function = _FUNCTIONS[node.func.id][0]
    return Fraction(function(*(_evaluate(arg, env) for arg in node.args)))
