"""Converter edge cases: unknown currencies, odd totals and payments, unchecked models."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
from bexvendre_mapping import testing as strategies
from bexvendre_mapping.convert._support import Problems, block_copier, copy_block
from bexvendre_mapping.fieldmap import ORDER, FieldRule

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE = Lookups.from_toml(EXAMPLES / "lookups.toml")
EXAMPLE_ORDER = (EXAMPLES / "vendre-order.json").read_bytes()


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


ORDER_BLOCKS = [
    ("billing_address", "Faktureras", vendre.Address, bex.InvoiceAddress),
    ("customer_address", "Beställare", vendre.CustomerAddress, bex.Orderer),
    ("delivery_address", "Leveransadress", vendre.Address, bex.DeliveryAddress),
    ("payment", "Butik & webbetalningar[0]", vendre.Payment, bex.Payment),
]


def _copied_block(  # noqa: PLR0917
    data: st.DataObject, v: str, b: str, target: type, to_bex: bool, whole: bool
) -> tuple[dict[str, Any], Any]:
    """A drawn order's block ``v`` (or its Bex side's): copy_block's mapping of it into
    ``target`` and what ``block_copier(..., whole=whole)`` gives of it."""
    order = data.draw(strategies.vendre_orders_for(EXAMPLE))
    source: Any = getattr(order, v)
    if not to_bex:
        bex_order = convert.order_to_bex(order, EXAMPLE)
        source = {
            "billing_address": bex_order.invoice_address,
            "customer_address": bex_order.orderer,
            "delivery_address": bex_order.delivery_address,
            "payment": bex_order.payments[0],
        }[v]
    prefixes = {"vendre_prefix": f"{v}.", "bex_prefix": f"{b}."}
    as_dict = copy_block(
        ORDER,
        source,
        target,
        to_bex=to_bex,
        **prefixes,
        lookups=EXAMPLE,
        problems=Problems(),
        path="$",
    )
    copy = block_copier(ORDER, type(source), target, to_bex=to_bex, **prefixes, whole=whole)
    return as_dict, copy(source, EXAMPLE, Problems(), "$")


# Every block as arguments; the address blocks also whole (the payment's lacks its amount).
COPIES = [(*block, False) for block in ORDER_BLOCKS] + [(*b, True) for b in ORDER_BLOCKS[:3]]


@pytest.mark.parametrize(("v", "b", "vendre_cls", "bex_cls", "whole"), COPIES)
@pytest.mark.parametrize("to_bex", [True, False])
@settings(max_examples=25)
@given(data=st.data())
def test_block_copiers_give_what_copy_block_gives(  # noqa: PLR0917
    v: str,
    b: str,
    vendre_cls: type,
    bex_cls: type,
    whole: bool,
    to_bex: bool,
    data: st.DataObject,
) -> None:
    """The builder's leading arguments hold what copy_block gives, defaults in between;
    with whole=True, an address block's copy is the target model itself."""
    target = bex_cls if to_bex else vendre_cls
    as_dict, copied = _copied_block(data, v, b, target, to_bex, whole=whole)
    if whole:
        assert type(copied) is target
        assert copied == target(**as_dict)
        return
    fields = attrs.fields(target)
    assert len(copied) <= len(fields)
    expected = tuple(as_dict.get(f.name, f.default) for f in fields[: len(copied)])
    assert copied == expected
    assert set(as_dict) <= {f.name for f in fields[: len(copied)]}


# A field map whose block skips a required field of the target; the order's own map.
PARTIAL = attrs.evolve(
    ORDER,
    name="partial",
    rules=(
        FieldRule("billing_address.name", "Faktureras.Namn", "copy"),
        FieldRule("billing_address.city", "Faktureras.Ort", "copy"),
    ),
)


@pytest.mark.parametrize(
    ("entity", "source", "target", "prefixes", "whole", "missing"),
    [
        (
            PARTIAL,
            vendre.Address,
            bex.InvoiceAddress,
            ("billing_address", "Faktureras"),
            False,
            "InvoiceAddress.address",
        ),
        # The payment block has no amount: its copy gives arguments, never a whole model.
        (
            ORDER,
            vendre.Payment,
            bex.Payment,
            ("payment", "Butik & webbetalningar[0]"),
            True,
            "Payment.amount",
        ),
    ],
)
def test_a_block_leaving_a_required_field_out_is_refused(  # noqa: PLR0917
    entity: Any, source: type, target: type, prefixes: tuple[str, str], whole: bool, missing: str
) -> None:
    """A block that cannot build its target (up to its last field, or whole) is refused."""
    with pytest.raises(TypeError, match=re.escape(missing)):
        block_copier(
            entity,
            source,
            target,
            to_bex=True,
            vendre_prefix=f"{prefixes[0]}.",
            bex_prefix=f"{prefixes[1]}.",
            whole=whole,
        )


@pytest.mark.parametrize(("rate", "written"), [("25", "25.00"), ("12.5", "12.50"), ("0", "0.00")])
def test_fee_rows_carry_the_fee_rate_with_two_decimals(rate: str, written: str) -> None:
    """Decimal(25) as the fee rate gives Moms 25.00 on every fee row, as Bex writes it."""
    lookups = attrs.evolve(
        EXAMPLE, settings=attrs.evolve(EXAMPLE.settings, fee_tax_rate=Decimal(rate))
    )
    order = convert.order_to_bex(vendre.load_order(EXAMPLE_ORDER), lookups)
    fees = [row for row in order.rows if row.article in {"PNMC", "RABATT", "AVGIFT"}]
    assert len(fees) == 3
    assert {str(row.vat_rate) for row in fees} == {written}


def test_each_conversion_uses_its_own_lookups_fee_rate() -> None:
    """Lookups with other fee rates, one after the other: each order has its own Moms."""
    order = vendre.load_order(EXAMPLE_ORDER)
    written = []
    for rate in ("25", "12.5", "25", "12.345", "25.00"):
        lookups = attrs.evolve(
            EXAMPLE, settings=attrs.evolve(EXAMPLE.settings, fee_tax_rate=Decimal(rate))
        )
        rows = convert.order_to_bex(order, lookups).rows
        written.append({str(row.vat_rate) for row in rows if row.article == "PNMC"})
    assert written == [{"25.00"}, {"12.50"}, {"25.00"}, {"12.345"}, {"25.00"}]


def test_a_fee_rate_with_more_decimals_is_kept_for_the_dumper_to_refuse() -> None:
    """A rate Bex cannot write is not rounded silently: dumping the order names the field."""
    lookups = attrs.evolve(
        EXAMPLE, settings=attrs.evolve(EXAMPLE.settings, fee_tax_rate=Decimal("12.345"))
    )
    order = convert.order_to_bex(vendre.load_order(EXAMPLE_ORDER), lookups)
    assert {row.vat_rate for row in order.rows if row.article == "PNMC"} == {Decimal("12.345")}
    with pytest.raises(MappingError, match="Moms"):
        bex.dump_order(order)


def test_the_rebuilt_tax_is_rounded_once_per_vat_rate() -> None:
    """ot_tax sums the VAT of each rate's rows, rounded once per rate (25 and 25.00 are one)."""

    def row(article: str, rate: str) -> dict[str, Any]:
        return {
            "Artikelnr": article,
            "Antal": 1,
            "Beskrivning": article,
            "Pris": "0.03",
            "Moms": rate,
            "Belopp inkl.moms": "0.03",
        }

    rows = [row("A1", "25.00"), row("A2", "6.00"), row("A3", "25")]
    document = bex_order_doc(
        Artiklar=rows,
        **{"Belopp inkl.moms": "0.09"},
        **{
            "Butik & webbetalningar": [
                {**bex_order_doc()["Butik & webbetalningar"][0], "Belopp": "0.09"}
            ]
        },
    )
    order = bex.load_order(document)  # loading writes Moms "25" as 25.00
    order = attrs.evolve(
        order, rows=(*order.rows[:2], attrs.evolve(order.rows[2], vat_rate=Decimal(25)))
    )
    back = convert.order_to_vendre(order, EXAMPLE)
    tax = {total.class_: total.value for total in back.totals}["ot_tax"]
    # 25 %: 0.06 × 25/125 = 0.012 → 0.01 (row by row, or 25 apart from 25.00: 2 × 0.01);
    # 6 %: 0.03 × 6/106 = 0.0017 → 0.00
    assert tax == Decimal("0.01")
