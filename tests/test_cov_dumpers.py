"""The dump functions agree with the cattrs-based reference dumper, for every model class."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.http_support import bex_order_doc

from bexvendre_mapping import MappingError, bex, vendre
from bexvendre_mapping._wire import unstructure_hook
from bexvendre_mapping.testing import strategies

# (models of one class, that class's dump function), for every class with its own dump.
CASES: list[tuple[st.SearchStrategy[Any], Callable[..., dict[str, Any]]]] = [
    (strategies.vendre_orders(), vendre.dump_order),
    (strategies.vendre_products(), vendre.dump_product),
    (strategies.vendre_stock_updates(), vendre.dump_stock_update),
    (strategies.vendre_order_status_updates(), vendre.dump_order_status_update),
    (strategies.vendre_gift_cards(), vendre.dump_gift_card),
    (strategies.vendre_bonus_balances(), vendre.dump_bonus_balance),
    (strategies.bex_orders(), bex.dump_order),
    (strategies.bex_rows(), bex.dump_row),
    (strategies.bex_articles(), bex.dump_article),
    (strategies.bex_stock(), bex.dump_stock),
    (strategies.bex_order_statuses(), bex.dump_order_status),
    (strategies.bex_gift_cards(), bex.dump_gift_card),
    (strategies.bex_gift_card_reservations(), bex.dump_gift_card_reservation),
    (strategies.bex_bonus_balances(), bex.dump_bonus_balance),
]


@pytest.mark.parametrize(
    ("models", "dump"), CASES, ids=[f"{d.__module__}.{d.__name__}" for _, d in CASES]
)
@pytest.mark.parametrize("zone", ["Europe/Stockholm", "Europe/Helsinki"])
def test_dumps_equal_the_reference(
    models: st.SearchStrategy[Any], dump: Callable[..., dict[str, Any]], zone: str
) -> None:
    """dump_* gives exactly the reference's document: same keys, order, values and omissions."""

    @settings(max_examples=15, database=None)
    @given(models)
    def check(model: Any) -> None:
        expected = unstructure_hook(type(model), zone)(model)
        actual = dump(model, time_zone=zone)
        assert actual == expected
        assert list(actual) == list(expected)

    check()


@pytest.mark.parametrize(
    ("model", "dump", "amount"),
    [
        (
            bex.GiftCard(
                number="PK-1",
                balance=Decimal("-0.00"),
                currency="SEK",
                status=bex.GiftCardStatus.USED,
            ),
            bex.dump_gift_card,
            ("Saldo", "0.00"),
        ),
        (
            vendre.Total(class_="ot_discount", title="Rabatt", value=Decimal("-0.0000")),
            vendre.dump_total,
            ("value", "0.0000"),
        ),
    ],
)
def test_negative_zero_is_written_as_zero(
    model: Any, dump: Callable[..., Any], amount: tuple[str, str]
) -> None:
    """A negative zero amount is never written as '-0.00', by either dumper."""
    reference = unstructure_hook(type(model), "Europe/Stockholm")(model)
    key, written = amount
    assert reference[key] == written
    assert dump(model) == reference


def test_an_amount_with_too_many_decimals_is_named_by_both_routes() -> None:
    """An amount that does not fit the wire's decimals: the reference names the field, the
    public dump gives its path."""
    card = bex.GiftCard(
        number="PK-1", balance=Decimal("1.005"), currency="SEK", status=bex.GiftCardStatus.ACTIVE
    )
    too_precise = "Decimal('1.005') does not fit the wire's 2 decimals"
    with pytest.raises(MappingError) as reference:
        unstructure_hook(bex.GiftCard, "Europe/Stockholm")(card)
    assert str(reference.value) == f"$: field 'Saldo': {too_precise}"
    with pytest.raises(MappingError) as dumped:
        bex.dump_gift_card(card)
    assert str(dumped.value) == f"$.Saldo: {too_precise}"


def test_a_dump_lists_every_field_it_refuses_with_its_path() -> None:
    """The generated dumper stops at the first bad field; the error names them all."""
    order = bex.load_order(bex_order_doc())
    rows = (
        attrs.evolve(order.rows[0], price=Decimal("NaN")),
        attrs.evolve(order.rows[-1], description=None, amount=Decimal("1.005")),
        *order.rows[1:-1],
    )
    broken = attrs.evolve(
        order,
        number=5,
        invoice_address=attrs.evolve(order.invoice_address, city=b"x"),
        rows=rows,
    )
    with pytest.raises(MappingError) as caught:
        bex.dump_order(broken)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("$.Ordernr", "expected str, got 5"),
        ("$.Faktureras.Ort", "expected str, got b'x'"),
        ("$.Artiklar[0].Pris", "Decimal('NaN') does not fit the wire's 2 decimals"),
        ("$.Artiklar[1].Beskrivning", "expected str, got null"),
        (
            "$.Artiklar[1]['Belopp inkl.moms']",
            "Decimal('1.005') does not fit the wire's 2 decimals",
        ),
    ]


def test_an_order_without_gift_cards_leaves_the_key_out() -> None:
    """An empty optional list is left out of the document, like a null, by both dumpers."""

    @settings(max_examples=10, database=None)
    @given(strategies.vendre_orders())
    def check(order: vendre.Order) -> None:
        plain = attrs.evolve(order, gift_cards=())
        reference = unstructure_hook(vendre.Order, "Europe/Stockholm")(plain)
        assert "gift_cards" not in reference
        assert vendre.dump_order(plain) == reference

    check()


def test_a_dump_report_takes_in_a_value_of_no_wire_type() -> None:
    """Text in a date-time field fails on its own with the dumper's own error; with another
    problem before it, it joins the MappingError rather than hiding that problem."""
    order = bex.load_order(bex_order_doc())
    alone = attrs.evolve(order, order_date="2026-03-01 12:00:00")
    with pytest.raises(AttributeError):
        bex.dump_order(alone)
    both = attrs.evolve(alone, number=5)  # Ordernr comes first: the dumper stops there
    with pytest.raises(MappingError) as caught:
        bex.dump_order(both)
    assert [p.path for p in caught.value.problems] == ["$.Ordernr", "$.Orderdatum"]
    assert caught.value.problems[1].message.startswith("cannot be written: AttributeError: ")
