"""Small text helpers shared by the error messages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

__all__ = ["closest", "find_surrogate", "has_control_character", "show", "surrogate_problem"]

#: The first lone surrogate (U+D800 to U+DFFF) in a str, if any. A Python str may hold one,
#: and so may JSON (the escape ``\ud800``); UTF-8 cannot, so no text on the wire does.
find_surrogate = re.compile("[\ud800-\udfff]").search


def show(value: object) -> str:
    """Quote a JSON value for an error message, shortened when long."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(str(value)) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


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
