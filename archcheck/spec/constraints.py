"""Joint constraints between dims: ``(H/16)*(W/16) <= 256``, ``H == W``, ``16 <= H*W <= 4096``.

A constraint is a comparison of expressions. Each side is parsed by
``parse_expr``, so constraints allow exactly what shapes allow, plus one or
more of ``< <= == != >= >`` between the sides. Sides are compared as exact
fractions: ``H/16`` need not be a whole number here.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Mapping

from archcheck.errors import Location
from archcheck.spec.expr import Expr, ExprError, parse_expr

_COMPARE: dict[type, tuple[str, Callable[[Fraction, Fraction], bool]]] = {
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
    ast.GtE: (">=", operator.ge),
    ast.Gt: (">", operator.gt),
}


@dataclass(frozen=True)
class Constraint:
    """``left op right [op right ...]``; ``holds`` says whether a case satisfies it."""

    source: str
    sides: tuple[Expr, ...]  # one more than ops
    ops: tuple[str, ...]
    location: Location | None = None

    def __str__(self) -> str:
        return self.source

    @property
    def names(self) -> frozenset[str]:
        return frozenset().union(*(s.names for s in self.sides))

    def holds(self, env: Mapping[str, Fraction | int]) -> bool:
        return not self.why_not(env)

    def why_not(self, env: Mapping[str, Fraction | int]) -> str:
        """Why the case ``env`` breaks this constraint; "" when it holds. Raises ExprError (x/0)."""
        values = [side.value(env) for side in self.sides]
        functions = {symbol: function for symbol, function in _COMPARE.values()}
        for index, op in enumerate(self.ops):
            if not functions[op](values[index], values[index + 1]):
                left, right = (_shown(self.sides[i], values[i]) for i in (index, index + 1))
                return f"{self.source} does not hold: {left} {op} {right} is false"
        return ""


def _number(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def _shown(expr: Expr, value: Fraction) -> str:
    number = _number(value)
    return number if str(expr) == number else f"{expr} = {number}"


def parse_constraint(text: object, location: Location | None = None) -> Constraint:
    """Parse ``left op right``; ExprError with the column of the fault otherwise."""
    if not isinstance(text, str):
        raise ExprError(f"a constraint is a comparison such as \"H*W <= 4096\", got {text!r}")
    source = text.strip()
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as exc:
        raise ExprError(f"cannot parse constraint {source!r}: {exc.msg}", max((exc.offset or 1) - 1, 0)) from None
    if not isinstance(tree, ast.Compare):
        raise ExprError(f"a constraint compares two expressions with < <= == != >= or >, e.g. \"H*W <= 4096\"; got {source!r}")
    nodes = [tree.left, *tree.comparators]
    ops = []
    for op, node in zip(tree.ops, tree.comparators):
        if type(op) not in _COMPARE:
            shown = {"In": "in", "NotIn": "not in", "Is": "is", "IsNot": "is not"}.get(type(op).__name__, type(op).__name__)
            raise ExprError(f"{shown!r} is not a comparison a constraint allows; use < <= == != >= >", node.col_offset)
        ops.append(_COMPARE[type(op)][0])
    sides = []
    for node in nodes:
        start, end = node.col_offset, node.end_col_offset
        piece = source[start:end]
        try:
            sides.append(parse_expr(piece))
        except ExprError as exc:
            raise ExprError(str(exc), start + exc.offset) from None
    return Constraint(source, tuple(sides), tuple(ops), location)
