"""Checks of loaded values that the wire's types alone do not express.

A check is a :class:`Check`: called with a value, it returns it or raises
:class:`~bexvendre_mapping.MappingError`; where its failure is one Python expression of the
value, it also gives that expression (:meth:`Check.fails`), which the generated loaders write
inline. Both are written here, side by side, once per check; ``tests/test_fastpath.py`` proves
on generated values that each expression is true exactly when its check raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from bexvendre_mapping._errors import MappingError
from bexvendre_mapping._text import show

__all__ = [
    "Check",
    "at_least",
    "country_code",
    "currency_code",
    "nonempty",
    "one_of",
    "positive_amount",
    "vat_percent",
]

H = TypeVar("H", int, str)

_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")


class Check:
    """A check of a loaded value, as a callable and, where it can be, as inline source.

    Attributes:
        name: what it checks, for messages and the reference tables (``nonempty``).
        function: returns the value, or raises MappingError.
        failure: a Python expression of the value (``{}``) true exactly when ``function``
            raises, or ``None`` when there is none (the generated code then calls it).
        names: the globals that expression uses besides builtins.
        arguments: what the check was made with (``at_least(1)``: ``(1,)``).
        description: the check in words, for the reference tables.
    """

    __slots__ = ("arguments", "description", "failure", "function", "name", "names")

    def __init__(  # noqa: PLR0917 - the attributes above, in their order
        self,
        name: str,
        function: Callable[[Any], Any],
        failure: str | None = None,
        names: Mapping[str, Any] | None = None,
        arguments: tuple[Any, ...] = (),
        description: str = "",
    ) -> None:
        self.name = name
        self.function = function
        self.failure = failure
        self.names: Mapping[str, Any] = names or {}
        self.arguments = arguments
        self.description = description

    def __repr__(self) -> str:
        arguments = "".join(f", {a!r}" for a in self.arguments)
        return f"Check({self.name!r}{arguments})"

    def __call__(self, value: Any) -> Any:
        return self.function(value)

    def fails(self, var: str) -> str | None:
        """The inline expression of ``var`` true exactly when the check raises, if any."""
        return None if self.failure is None else self.failure.format(var)


def _nonempty(value: str) -> str:
    if not value.strip():
        raise MappingError(f"must not be empty, got {show(value)}")
    return value


nonempty = Check("nonempty", _nonempty, "not {}.strip()", description="not empty or blank")
"""A string that is not empty or blank."""


def _matching(name: str, pattern: re.Pattern[str], expected: str, description: str) -> Check:
    """A check that the whole text matches ``pattern`` (``expected`` names it in errors)."""
    full = pattern.fullmatch

    def check(value: str) -> str:
        if not full(value):
            raise MappingError(f"expected {expected}, got {show(value)}")
        return value

    # The compiled pattern's own method under a name of its own in the generated code.
    matcher = f"_{name.upper()}_FULL"
    return Check(name, check, f"{matcher}({{}}) is None", {matcher: full}, description=description)


currency_code = _matching(
    "currency_code",
    _CURRENCY,
    "an ISO 4217 currency code like 'SEK'",
    "ISO 4217 currency code",
)
"""An ISO 4217 code: three capital letters."""

country_code = _matching(
    "country_code",
    _COUNTRY,
    "an ISO 3166-1 alpha-2 country code like 'SE'",
    "ISO 3166-1 alpha-2 country code",
)
"""An ISO 3166-1 alpha-2 code: two capital letters."""


def at_least(minimum: int) -> Check:
    """An integer of at least ``minimum``."""

    def check(value: int) -> int:
        if value < minimum:
            raise MappingError(f"must be at least {minimum}, got {show(value)}")
        return value

    return Check(
        "at_least",
        check,
        f"{{}} < {int(minimum)!r}",
        arguments=(minimum,),
        description=f"at least {minimum}",
    )


# Decimal bounds: comparing two Decimals takes half the time of a Decimal and an int.
_NO_VAT, _ALL_VAT = Decimal(0), Decimal(100)


def _vat_percent(value: Decimal) -> Decimal:
    if not _NO_VAT <= value <= _ALL_VAT:
        raise MappingError(f"must be a VAT percent from 0 to 100, got {show(value)}")
    return value


vat_percent = Check(
    "vat_percent",
    _vat_percent,
    "not _NO_VAT <= {} <= _ALL_VAT",
    {"_NO_VAT": _NO_VAT, "_ALL_VAT": _ALL_VAT},
    description="VAT percent, 0 to 100",
)
"""A VAT percent: from 0 to 100 (Sweden's are 25, 12, 6 and 0).

Below -100 a price would change sign with VAT, at -100 it could not be taken off again (a
division by zero), and nothing outside 0 to 100 is a VAT rate anywhere.
"""


def _positive_amount(value: Decimal) -> Decimal:
    if not value > _NO_VAT:
        raise MappingError(f"must be more than 0, got {show(value)}")
    return value


positive_amount = Check(
    "positive_amount",
    _positive_amount,
    "not {} > _NO_VAT",
    {"_NO_VAT": _NO_VAT},
    description="more than 0",
)
"""An amount above zero: what a gift card pays for an order."""


def one_of(*allowed: H) -> Check:
    """A value among ``allowed``."""

    def check(value: H) -> H:
        if value not in allowed:
            listed = ", ".join(repr(a) for a in allowed)
            raise MappingError(f"must be one of {listed}, got {show(value)}")
        return value

    # Written inline only where each value's repr() is its literal.
    literal = all(type(a) in (int, str) for a in allowed)
    return Check(
        "one_of",
        check,
        f"{{}} not in {allowed!r}" if literal else None,
        arguments=allowed,
        description="one of " + ", ".join(repr(a) for a in allowed),
    )
