"""Small text helpers shared by the error messages."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

__all__ = ["closest", "show"]


def show(value: object) -> str:
    """Quote a JSON value for an error message, shortened when long."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(str(value)) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def closest(code: str, known: Iterable[object], n: int = 3) -> list[str]:
    """The known codes closest to ``code``, best first (difflib's ratio, at least 0.5).

    >>> closest("KLARN", ["KORT", "KLARNA", "SWISH"])
    ['KLARNA']
    """
    import difflib  # noqa: PLC0415 - only needed on the error path

    candidates = [str(k) for k in known]
    return difflib.get_close_matches(str(code), candidates, n=n, cutoff=0.5)
