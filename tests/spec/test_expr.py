from fractions import Fraction

import pytest

from archcheck.spec.expr import ExprError, parse_expr


@pytest.mark.parametrize(
    ("text", "env", "value"),
    [
        ("H/8", {"H": 608}, 76),
        ("ceil(H/8)", {"H": 415}, 52),
        ("floor(H/8)", {"H": 415}, 51),
        ("3 * (5 + 80)", {}, 255),
        ("-H + 2*W", {"H": 3, "W": 4}, 5),
        ("H // 3 + H % 3", {"H": 10}, 4),
        ("min(H, W, 7) + max(H, W)", {"H": 3, "W": 9}, 12),
        ("(H/2)*2", {"H": 7}, 7),
        (256, {}, 256),
    ],
)
def test_evaluates_exactly(text, env, value):
    assert parse_expr(text).evaluate(env) == value


def test_names_are_collected():
    assert parse_expr("ceil(H/S) + A").names == {"H", "S", "A"}


def test_inexact_division_is_an_error_that_suggests_ceil():
    with pytest.raises(ExprError) as error:
        parse_expr("H/8").evaluate({"H": 415})
    assert str(error.value) == "H/8 is 415/8 at H=415, not a whole number; write ceil(H/8) or floor(H/8)"


def test_value_keeps_fractions_for_defines():
    assert parse_expr("H/8").value({"H": 4}) == Fraction(1, 2)


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("__import__('os')", "__import__(...) is not allowed in an expression; use integers, dimension names, + - * / // %, parentheses, ceil, floor, min and max", 0),
        ("H + os.system('x')", "os.system(...) is not allowed in an expression; use integers, dimension names, + - * / // %, parentheses, ceil, floor, min and max", 4),
        ("H ** 2", "'H ** 2' is not allowed in an expression; use integers, dimension names, + - * / // %, parentheses, ceil, floor, min and max", 0),
        ("H.real", "'H.real' is not allowed in an expression; use integers, dimension names, + - * / // %, parentheses, ceil, floor, min and max", 0),
        ("1.5 * H", "1.5 is not allowed in an expression; use integers, dimension names, + - * / // %, parentheses, ceil, floor, min and max", 0),
        ("ceil(H, 2)", "ceil() takes 1 argument(s), got 2", 0),
        ("max(H)", "max() takes at least 2 argument(s), got 1", 0),
        ("ceil + 1", "ceil is a function: call it as ceil(...)", 0),
        ("[H for H in x]", "'[H for H in x]' is not allowed in an expression; use integers, dimension names, + - * / // %, parentheses, ceil, floor, min and max", 0),
    ],
)
def test_rejects_what_is_not_arithmetic(text, message, offset):
    with pytest.raises(ExprError) as error:
        parse_expr(text)
    assert str(error.value) == message
    assert error.value.offset == offset


def test_syntax_error_names_the_text():
    with pytest.raises(ExprError, match=r"^cannot parse expression 'H/': invalid syntax$"):
        parse_expr("H/")


def test_division_by_zero():
    with pytest.raises(ExprError, match=r"^division by zero in H / S$"):
        parse_expr("H/S").evaluate({"H": 1, "S": 0})


@pytest.mark.parametrize("value", [True, 1.0, None, [1]])
def test_non_expressions_are_rejected(value):
    with pytest.raises(ExprError, match="expected an integer expression"):
        parse_expr(value)
