"""Converter edge cases: unknown currencies, odd totals and payments, unchecked models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest
from tests.http_support import bex_order, bex_order_doc, vendre_order_doc

from bexvendre_mapping import (
    Lookups,
    MappingError,
    ModelCodeError,
    UnknownCodeError,
    bex,
    convert,
    vendre,
)


def problems_of(error: MappingError) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in error.problems]


def gift_card_payment(amount: str = "100.00") -> dict[str, Any]:
    return {
        "Externt dokumentnr": "PK-4000-1234",
        "Transnr": "R000001",
        "Datum": "2026-03-02 10:16:12",
        "Kod": "PRESENTKORT",
        "Belopp": amount,
    }


def test_an_order_in_an_unknown_currency_names_the_closest(lookups: Lookups) -> None:
    """A currency without known minor units is an unknown code, both ways, at its path."""
    with pytest.raises(UnknownCodeError) as to_bex:
        convert.order_to_bex(vendre.load_order(vendre_order_doc(currency="SEX")), lookups)
    assert to_bex.value.table == "currencies"
    assert to_bex.value.paths == ("$.currency",)
    assert "SEK" in to_bex.value.closest
    with pytest.raises(UnknownCodeError) as to_vendre:
        convert.order_to_vendre(bex.load_order(bex_order_doc(Valuta="SEX")), lookups)
    assert to_vendre.value.paths == ("$.Valuta",)


def test_a_second_ot_total_is_a_problem(lookups: Lookups) -> None:
    """An order with two ot_total lines is refused at the second one."""
    doc = vendre_order_doc()
    doc["totals"].append({"class": "ot_total", "title": "Totalt", "value": "999.0000"})
    with pytest.raises(MappingError) as caught:
        convert.order_to_bex(vendre.load_order(doc), lookups)
    assert problems_of(caught.value) == [("$.totals[3].class", "a second ot_total")]


def test_a_bex_order_paid_with_gift_cards_only_has_no_web_payment(lookups: Lookups) -> None:
    """Vendre orders need one web payment: a Bex order with only gift cards does not convert."""
    doc = bex_order_doc()
    doc["Butik & webbetalningar"] = [gift_card_payment("999.00")]
    with pytest.raises(MappingError) as caught:
        convert.order_to_vendre(bex.load_order(doc), lookups)
    assert problems_of(caught.value) == [
        ("$['Butik & webbetalningar']", "no web payment (only gift cards)")
    ]


def test_a_second_web_payment_is_a_problem(lookups: Lookups) -> None:
    """Two payments that are not gift cards: the second is named, with its code."""
    doc = bex_order_doc()
    second = {**doc["Butik & webbetalningar"][0], "Kod": "SWISH"}
    doc["Butik & webbetalningar"] += [gift_card_payment(), second]
    with pytest.raises(MappingError) as caught:
        convert.order_to_vendre(bex.load_order(doc), lookups)
    assert problems_of(caught.value) == [
        (
            "$['Butik & webbetalningar'][2].Kod",
            "a second web payment ('SWISH'); Vendre orders have one",
        )
    ]


def test_a_constructed_row_with_a_bad_model_code_does_not_convert(lookups: Lookups) -> None:
    """Models do not re-validate: a row with a size group but no size fails the conversion."""
    order = bex_order()
    row = attrs.evolve(order.rows[0], size=None)
    with pytest.raises(ModelCodeError) as caught:
        convert.order_to_vendre(attrs.evolve(order, rows=(row,)), lookups)
    assert "invalid model code '1001_SKO': a size group without a size" in str(caught.value)
    assert caught.value.paths == ("$.Artiklar[0]",)


def test_an_amount_beyond_decimal_precision_is_a_problem(lookups: Lookups) -> None:
    """A constructed total too large for Decimal's precision is reported, not a crash."""
    order = vendre.load_order(vendre_order_doc())
    fee = vendre.Total(class_="ot_payment", title="Avgift", value=Decimal("1E+30"))
    huge = attrs.evolve(order, totals=(order.totals[0], fee, *order.totals[1:]))
    with pytest.raises(MappingError) as caught:
        convert.order_to_bex(huge, lookups)
    assert problems_of(caught.value)[0] == (
        "$.totals[1].value",
        "1E+30 cannot be written with 2 decimals without rounding",
    )
    assert caught.value.paths == ("$.totals[1].value", "$.totals")


def test_a_constructed_product_without_swedish_does_not_convert(lookups: Lookups) -> None:
    """product_to_bex needs the 'sv' name, which becomes Beskrivning."""
    product = vendre.load_product(
        {
            "article_number": "GIFTBOX",
            "name": {"sv": "Presentask"},
            "manufacturer_id": "LEV-1",
            "price": "80.0000",
            "tax_rate": "25.0000",
            "price_in": "20.0000",
            "category_id": 20,
        }
    )
    english_only = attrs.evolve(product, name={"en": "Gift box"})
    assert convert.product_to_bex(product, lookups).description == "Presentask"
    with pytest.raises(MappingError) as caught:
        convert.product_to_bex(english_only, lookups)
    assert problems_of(caught.value) == [("$.name", "needs a text for 'sv'")]
