"""Small text helpers shared by the error messages."""

from __future__ import annotations

import re
import types
from collections.abc import Iterable
from decimal import Decimal

__all__ = [
    "closest",
    "find_surrogate",
    "has_control_character",
    "json_decimal",
    "json_type",
    "show",
    "surrogate_problem",
]

#: The first lone surrogate (U+D800 to U+DFFF) in a str, if any. A Python str may hold one,
#: and so may JSON (the escape ``\ud800``); UTF-8 cannot, so no text on the wire does.
find_surrogate = re.compile("[\ud800-\udfff]").search


def show(value: object) -> str:
    """Quote a JSON value for an error message, shortened when long."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    try:
        text = repr(str(value)) if isinstance(value, Decimal) else repr(value)
    except ValueError:  # an integer beyond sys.get_int_max_str_digits() (a model by hand)
        return "an integer too long to show"
    return text if len(text) <= 60 else f"{text[:57]}..."


def json_type(value: object) -> str:
    """What a parsed JSON value is, in JSON's words: ``a number``, ``an array``, ``null``.

    Anything else is named by its Python type.

    >>> json_type(5), json_type([1]), json_type(None), json_type(set())
    ('a number', 'an array', 'null', 'set')
    """
    if value is None:
        return "null"
    for kind, name in _JSON_TYPES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


_JSON_TYPES: tuple[tuple[type | types.UnionType, str], ...] = (
    (bool, "a boolean"),  # before int, its base class
    (int | float | Decimal, "a number"),
    (str, "a string"),
    (list | tuple, "an array"),
    (dict, "an object"),
)


def has_control_character(text: str) -> bool:
    """Whether ``text`` holds a C0 control character or DEL, a line break say.

    Such text cannot go into an HTTP header as it is.
    """
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def closest(code: str, known: Iterable[object], n: int = 3) -> list[str]:
    """The known codes closest to ``code``, best first (difflib's ratio, at least 0.5).

    >>> closest("KLARN", ["KORT", "KLARNA", "SWISH"])
    ['KLARNA']
    """
    import difflib  # noqa: PLC0415 - only needed on the error path

    candidates = [str(k) for k in known]
    return difflib.get_close_matches(str(code), candidates, n=n, cutoff=0.5)


def surrogate_problem(text: str, what: str = "text") -> str | None:
    r"""Why ``text`` cannot be written as UTF-8: the lone surrogate it holds, if any.

    ``isascii()`` takes constant time and ``isprintable()`` is false for every surrogate,
    so the search runs only on non-ASCII text that is not all printable.

    >>> surrogate_problem("Öberg") is None
    True
    >>> surrogate_problem("x" + chr(0xD800))
    'text with a lone surrogate (\\ud800)'
    """
    if text.isascii() or text.isprintable():
        return None
    found = find_surrogate(text)
    if found is None:
        return None
    return f"{what} with a lone surrogate (\\u{ord(found.group()):04x})"


def json_decimal(text: str) -> Decimal:
    """A JSON number with a fraction or an exponent, exactly: both JSON engines' hook.

    Raises:
        ValueError: an exponent beyond what Decimal holds (``1e999999999999999999999``).
            The standard library's decoder lets it through as it is, and msgspec's wraps it
            in an error it does not take, so that the standard library reports it as well.
    """
    try:
        return Decimal(text)
    except ArithmeticError:  # InvalidOperation: the decoder checked the syntax, so the exponent
        msg = f"the number {show(text)} is out of range"
        raise ValueError(msg) from None
