"""Checks of loaded values that the wire's types alone do not express."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from bexvendre_mapping._errors import MappingError
from bexvendre_mapping._text import show

__all__ = [
    "INLINE_NAMES",
    "at_least",
    "country_code",
    "currency_code",
    "failure_condition",
    "nonempty",
    "one_of",
    "positive_amount",
    "vat_percent",
    "with_languages",
]

H = TypeVar("H", int, str)

_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")


# A check whose failure is one Python expression of the value, for the generated loaders to
# write inline (spelled with `{}` for the value): the check raises exactly when it is true.
_FAILS_WHEN: dict[Callable[..., Any], str] = {}
# The names those expressions use besides builtins, for the generated loaders' globals.
INLINE_NAMES: dict[str, Any] = {}


def failure_condition(check: Callable[..., Any]) -> str | None:
    """The expression (``{}`` for the value) true exactly when ``check`` raises, if known."""
    try:
        return _FAILS_WHEN.get(check)
    except TypeError:  # an unhashable check
        return None


def nonempty(value: str) -> str:
    """A string that is not empty or blank."""
    if not value.strip():
        raise MappingError(f"must not be empty, got {show(value)}")
    return value


_FAILS_WHEN[nonempty] = "not {}.strip()"


def currency_code(value: str) -> str:
    """An ISO 4217 code: three capital letters."""
    if not _CURRENCY.fullmatch(value):
        raise MappingError(f"expected an ISO 4217 currency code like 'SEK', got {show(value)}")
    return value


def country_code(value: str) -> str:
    """An ISO 3166-1 alpha-2 code: two capital letters."""
    if not _COUNTRY.fullmatch(value):
        raise MappingError(
            f"expected an ISO 3166-1 alpha-2 country code like 'SE', got {show(value)}"
        )
    return value


INLINE_NAMES.update(_CURRENCY_FULL=_CURRENCY.fullmatch, _COUNTRY_FULL=_COUNTRY.fullmatch)
_FAILS_WHEN[currency_code] = "_CURRENCY_FULL({}) is None"
_FAILS_WHEN[country_code] = "_COUNTRY_FULL({}) is None"


def at_least(minimum: int) -> Callable[[int], int]:
    """An integer of at least ``minimum``."""

    def check(value: int) -> int:
        if value < minimum:
            raise MappingError(f"must be at least {minimum}, got {show(value)}")
        return value

    _FAILS_WHEN[check] = f"{{}} < {int(minimum)!r}"
    return check


def vat_percent(value: Decimal) -> Decimal:
    """A VAT percent: from 0 to 100 (Sweden's are 25, 12, 6 and 0).

    Below -100 a price would change sign with VAT, at -100 it could not be taken off again
    (a division by zero), and nothing outside 0 to 100 is a VAT rate anywhere.
    """
    if not _NO_VAT <= value <= _ALL_VAT:
        raise MappingError(f"must be a VAT percent from 0 to 100, got {show(value)}")
    return value


# Decimal bounds: comparing two Decimals takes half the time of a Decimal and an int.
_NO_VAT, _ALL_VAT = Decimal(0), Decimal(100)
INLINE_NAMES.update(_NO_VAT=_NO_VAT, _ALL_VAT=_ALL_VAT)
_FAILS_WHEN[vat_percent] = "not _NO_VAT <= {} <= _ALL_VAT"


def positive_amount(value: Decimal) -> Decimal:
    """An amount above zero: what a gift card pays for an order."""
    if not value > _NO_VAT:
        raise MappingError(f"must be more than 0, got {show(value)}")
    return value


_FAILS_WHEN[positive_amount] = "not {} > _NO_VAT"


def one_of(*allowed: H) -> Callable[[H], H]:
    """A value among ``allowed``."""

    def check(value: H) -> H:
        if value not in allowed:
            listed = ", ".join(repr(a) for a in allowed)
            raise MappingError(f"must be one of {listed}, got {show(value)}")
        return value

    if all(type(a) in (int, str) for a in allowed):  # their repr() is their literal
        _FAILS_WHEN[check] = f"{{}} not in {allowed!r}"
    return check


def with_languages(*required: str) -> Callable[[Mapping[str, Any]], Mapping[str, Any]]:
    """A per-language text object holding at least the ``required`` languages."""

    def check(value: Mapping[str, Any]) -> Mapping[str, Any]:
        missing = [lang for lang in required if lang not in value]
        if missing:
            raise MappingError(f"needs a text for {', '.join(repr(m) for m in missing)}")
        return value

    return check
