"""Money: exact decimal parsing, currency minor units, and VAT (SPEC §5).

Money is always :class:`decimal.Decimal`, never ``float``. Every rounding is ROUND_HALF_UP,
the rule Swedish receipts and both systems use. Every computation is done in :data:`CONTEXT`,
whatever decimal context the calling thread has set.

>>> incl_vat(Decimal("79.9920"), Decimal("25"))
Decimal('99.99')
>>> excl_vat(Decimal("99.99"), Decimal("25"))
Decimal('79.9920')
>>> round_money(Decimal("1234.5"), "JPY")
Decimal('1235')
"""

from __future__ import annotations

from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from bexvendre_mapping._errors import MappingError, UnknownCodeError
from bexvendre_mapping._text import closest as _closest
from bexvendre_mapping._text import show as _show

__all__ = [
    "CONTEXT",
    "MAX_AMOUNT",
    "MINOR_UNITS",
    "excl_vat",
    "incl_vat",
    "minor_unit",
    "parse_decimal",
    "quantize",
    "round_money",
    "vat_amount",
]

#: ISO 4217 minor units of the currencies the library rounds to.
MINOR_UNITS: dict[str, int] = {
    "CHF": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "ISK": 0,
    "JPY": 0,
    "NOK": 2,
    "PLN": 2,
    "SEK": 2,
    "USD": 2,
}

#: Amounts, rates and percentages must be smaller than this in absolute value. It keeps
#: every computation exact within Decimal's default 28 digits, and is far above any real
#: order, price or stock value.
MAX_AMOUNT = Decimal(10) ** 15

#: The decimal context of every amount the library reads, writes or computes: Decimal's own
#: defaults (28 digits; ROUND_HALF_EVEN for an inexact intermediate result, such as a price
#: divided by 1.12; InvalidOperation, DivisionByZero and Overflow trapped), whatever context
#: the calling thread has set. So a document loads to the same amounts, a model dumps to the
#: same bytes and an order converts to the same rows in a program that has changed its own
#: context (a lower precision, another rounding, Inexact trapped). Roundings to a currency or
#: to the wire are ROUND_HALF_UP, given explicitly.
CONTEXT = Context(
    prec=28,
    rounding=ROUND_HALF_EVEN,
    Emin=-999999,
    Emax=999999,
    capitals=1,
    clamp=0,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

_EXPONENTS = [Decimal(1).scaleb(-n) for n in range(13)]


def _exponent(places: int) -> Decimal:
    return _EXPONENTS[places] if 0 <= places < len(_EXPONENTS) else Decimal(1).scaleb(-places)


def quantize(value: Decimal, places: int) -> Decimal:
    """Round ``value`` to ``places`` decimals, half up.

    >>> quantize(Decimal("2.345"), 2)
    Decimal('2.35')
    >>> quantize(Decimal("-2.345"), 2)
    Decimal('-2.35')
    """
    try:
        exponent = _EXPONENTS[places]
    except IndexError:
        exponent = Decimal(1).scaleb(-places)
    # Positional: _decimal parses keyword arguments slowly (about 0.1 µs a call).
    return value.quantize(exponent, ROUND_HALF_UP, CONTEXT)


def parse_decimal(value: object, places: int | None = None) -> Decimal:
    """Read an exact decimal from a JSON value.

    Accepts a :class:`~decimal.Decimal`, an ``int`` (not ``bool``), a ``float`` (through
    ``str()``, so ``0.1`` is ``Decimal('0.1')``) or a string of decimal digits. With
    ``places``, a value is given exactly that many decimals, and a value that would need
    rounding for it is refused rather than silently rounded.

    Raises:
        MappingError: the value is of another type, not a number, NaN, infinite, too large
            (see :data:`MAX_AMOUNT`) or has more than ``places`` decimals.

    >>> parse_decimal("12.5", 2)
    Decimal('12.50')
    >>> parse_decimal(0.1)
    Decimal('0.1')
    >>> parse_decimal("12.345", 2)
    Traceback (most recent call last):
    ...
    bexvendre_mapping._errors.MappingError: $: '12.345' has more than 2 decimals
    """
    return _checked(_to_decimal(value), value, places)


def _to_decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        # Decimal() alone would also take spaces, '_' separators and non-ASCII digits.
        if not value.isascii() or "_" in value or value.strip() != value:
            raise MappingError(f"expected a decimal number, got {_show(value)}")
        try:
            return Decimal(value)
        except InvalidOperation:
            raise MappingError(f"expected a decimal number, got {_show(value)}") from None
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    raise MappingError(f"expected a decimal number, got {_show(value)}")


def _checked(number: Decimal, original: object, places: int | None) -> Decimal:
    # copy_abs() and the wire context: the checks do not depend on the thread's context.
    if not number.is_finite():
        raise MappingError(f"expected a finite decimal number, got {_show(original)}")
    if number.copy_abs() >= MAX_AMOUNT:
        raise MappingError(f"{_show(original)} is out of range (at most 15 integer digits)")
    if places is None:
        return number
    try:
        exact = number.quantize(_exponent(places), None, CONTEXT)
    except InvalidOperation:  # more decimals than Decimal's precision can hold
        exact = None
    if exact is None or exact != number:
        raise MappingError(f"{_show(original)} has more than {places} decimals")
    return exact


def minor_unit(currency: str) -> int:
    """The number of decimals of ``currency`` (ISO 4217).

    Raises:
        UnknownCodeError: the currency is not in :data:`MINOR_UNITS`.

    >>> minor_unit("SEK"), minor_unit("JPY")
    (2, 0)
    """
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise UnknownCodeError(
            "currencies", currency, _closest(str(currency), MINOR_UNITS)
        ) from None


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` half up to ``currency``'s minor unit.

    >>> round_money(Decimal("10.005"), "SEK")
    Decimal('10.01')
    """
    return quantize(amount, minor_unit(currency))


def incl_vat(excl: Decimal, rate: Decimal, places: int = 2) -> Decimal:
    """The price including VAT: ``round(excl × (1 + rate/100))`` to ``places`` decimals.

    >>> incl_vat(Decimal("100"), Decimal("12"))
    Decimal('112.00')
    """
    c = CONTEXT  # its methods: the thread's context plays no part
    return quantize(c.multiply(excl, c.add(1, c.divide(rate, 100))), places)


def excl_vat(incl: Decimal, rate: Decimal, places: int = 4) -> Decimal:
    """The price excluding VAT: ``round(incl / (1 + rate/100))`` to ``places`` decimals.

    >>> excl_vat(Decimal("112.00"), Decimal("12"))
    Decimal('100.0000')
    """
    c = CONTEXT
    return quantize(c.divide(incl, c.add(1, c.divide(rate, 100))), places)


def vat_amount(incl: Decimal, rate: Decimal, places: int = 2) -> Decimal:
    """The VAT contained in an amount that includes it, rounded to ``places`` decimals.

    >>> vat_amount(Decimal("125.00"), Decimal("25"))
    Decimal('25.00')
    """
    c = CONTEXT
    return quantize(c.divide(c.multiply(incl, rate), c.add(100, rate)), places)
