"""Money: exact decimals, minor units and VAT (SPEC §5)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bexvendre_mapping import (
    MappingError,
    UnknownCodeError,
)
from bexvendre_mapping.money import (
    excl_vat,
    incl_vat,
    minor_unit,
    parse_decimal,
    quantize,
    round_money,
    vat_amount,
)
from bexvendre_mapping.testing import amounts


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", Decimal("12.50")),
        ("-0.5", Decimal("-0.5")),
        (7, Decimal(7)),
        (0.1, Decimal("0.1")),  # through str(), not the binary value
        (Decimal("3.14"), Decimal("3.14")),
        ("1e2", Decimal(100)),
    ],
)
def test_parse_decimal_is_exact(value: object, expected: Decimal) -> None:
    """Strings, ints, Decimals and floats (via str) parse to the exact decimal."""
    result = parse_decimal(value)
    assert result == expected
    assert type(result) is Decimal


@pytest.mark.parametrize(
    "value",
    ["NaN", "Infinity", float("nan"), float("inf"), Decimal("NaN"), True, None, "12,5", " 1", [1]],
)
def test_parse_decimal_rejects_non_numbers(value: object) -> None:
    """NaN, infinities, booleans, null and malformed text are errors, never defaults."""
    with pytest.raises(MappingError):
        parse_decimal(value)


def test_parse_decimal_refuses_to_round() -> None:
    """A value with more decimals than the wire allows is refused, not rounded."""
    assert parse_decimal("1.2300", 2) == Decimal("1.23")
    with pytest.raises(MappingError, match="more than 2 decimals"):
        parse_decimal("1.235", 2)


def test_parse_decimal_rejects_huge_values() -> None:
    """Amounts beyond 15 integer digits are out of range (no silent overflow)."""
    with pytest.raises(MappingError, match="out of range"):
        parse_decimal("1e400")


@pytest.mark.parametrize(
    ("currency", "places"),
    [("SEK", 2), ("NOK", 2), ("DKK", 2), ("EUR", 2), ("USD", 2), ("GBP", 2), ("JPY", 0)],
)
def test_minor_units(currency: str, places: int) -> None:
    """ISO 4217 minor units of the currencies the shops use."""
    assert minor_unit(currency) == places


def test_unknown_currency_names_the_closest() -> None:
    """An unknown currency is an UnknownCodeError naming the table and close codes."""
    with pytest.raises(UnknownCodeError) as info:
        minor_unit("SEX")
    assert info.value.table == "currencies"
    assert "SEK" in info.value.closest


def test_rounding_is_half_up() -> None:
    """Half-way amounts round away from zero, as on Swedish receipts."""
    assert round_money(Decimal("0.125"), "SEK") == Decimal("0.13")
    assert round_money(Decimal("-0.125"), "SEK") == Decimal("-0.13")
    assert round_money(Decimal("2.5"), "JPY") == Decimal(3)


def test_vat_conversions() -> None:
    """incl = round2(excl × (1 + r)), excl = round4(incl / (1 + r)), VAT contained."""
    assert incl_vat(Decimal("799.2000"), Decimal(25)) == Decimal("999.00")
    assert excl_vat(Decimal("200.00"), Decimal(6)) == Decimal("188.6792")
    assert incl_vat(Decimal("188.6792"), Decimal(6)) == Decimal("200.00")
    assert vat_amount(Decimal("999.00"), Decimal(25)) == Decimal("199.80")
    assert incl_vat(Decimal("10"), Decimal(0)) == Decimal("10.00")


@given(amounts(2, 0, 100_000), st.sampled_from([Decimal(0), Decimal(6), Decimal(12), Decimal(25)]))
def test_excluding_then_including_vat_gives_the_price_back(price: Decimal, rate: Decimal) -> None:
    """A 2-decimal price survives the trip through 4-decimal excluding-VAT prices."""
    assert incl_vat(excl_vat(price, rate), rate) == price


# --- Quantizing to many places --------------------------------------------------------------------


def test_quantize_to_many_places() -> None:
    """Rounding to more places than the precomputed exponents still works, half up."""
    assert quantize(Decimal("1.5"), 14) == Decimal("1.50000000000000")
    assert str(quantize(Decimal("0.000000000000005"), 14)) == "1E-14"


def test_more_places_than_decimal_precision_is_refused() -> None:
    """Asking for more digits than Decimal holds is a MappingError, never a crash."""
    with pytest.raises(MappingError) as caught:
        parse_decimal("1", 30)
    assert caught.value.paths == ("$",)
    assert "'1'" in str(caught.value)
