"""The laws of SPEC §7, as Hypothesis properties over generated data."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bexvendre_mapping import (
    Lookups,
    MappingError,
    bex,
    convert,
    vendre,
)
from bexvendre_mapping import testing as strategies
from bexvendre_mapping.testing.strategies import vendre_orders_for


def example_lookups() -> Lookups:
    return Lookups.from_toml(Path(__file__).resolve().parent.parent / "examples" / "lookups.toml")


L = example_lookups()


def floats_in(value: Any) -> bool:
    if isinstance(value, dict):
        return any(floats_in(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(floats_in(v) for v in value)
    return isinstance(value, float)


@given(strategies.bex_orders_for(L))
def test_bex_vendre_bex_is_the_identity_for_orders(order: bex.Order) -> None:
    """Bex → Vendre → Bex gives the order back (DST times, sized/unsized, gift cards)."""
    assert convert.order_to_bex(convert.order_to_vendre(order, L), L) == order


@given(strategies.vendre_orders_for(L))
def test_vendre_round_trip_is_a_projection(order: vendre.Order) -> None:
    """Vendre → Bex → Vendre → Bex equals Vendre → Bex; every order passes the totals check."""
    once = convert.order_to_bex(order, L)
    assert convert.order_to_bex(convert.order_to_vendre(once, L), L) == once
    assert once.total == sum((p.amount for p in once.payments), Decimal(0))


@given(strategies.vendre_orders_for(L))
def test_no_amount_is_ever_a_float(order: vendre.Order) -> None:
    """Converted and dumped orders hold Decimals in models and strings on the wire."""
    converted = convert.order_to_bex(order, L)
    assert all(type(r.amount) is Decimal and type(r.price) is Decimal for r in converted.rows)
    assert not floats_in(bex.dump_order(converted))
    assert not floats_in(vendre.dump_order(convert.order_to_vendre(converted, L)))


@given(strategies.bex_articles())
def test_articles_round_trip(article: bex.Article) -> None:
    """Bex → Vendre → Bex is the identity for articles (categories from the table)."""
    article = attrs.evolve(article, external_reference="SKOR")
    assert convert.product_to_bex(convert.article_to_vendre(article, L), L) == article


@given(strategies.bex_stock(min_quantity=0))
def test_stock_round_trip(stock: bex.Stock) -> None:
    """Bex → Vendre → Bex is the identity for non-negative stock."""
    assert convert.stock_to_bex(convert.stock_to_vendre(stock, L), L) == stock


@given(
    strategies.bex_order_statuses().map(
        lambda s: s.__class__(order_number=s.order_number, status="SKICKAD")
    )
)
def test_status_round_trip(status: bex.OrderStatus) -> None:
    """Bex → Vendre → Bex is the identity for order statuses."""
    assert convert.status_to_bex(convert.status_to_vendre(status, L), L) == status


@given(strategies.bex_gift_cards())
def test_gift_card_round_trip(card: bex.GiftCard) -> None:
    """Bex → Vendre → Bex is the identity for gift cards in every state."""
    assert convert.gift_card_to_bex(convert.gift_card_to_vendre(card, L), L) == card


@given(strategies.bex_bonus_balances())
def test_bonus_round_trip(balance: bex.BonusBalance) -> None:
    """Bex → Vendre → Bex is the identity for bonus balances."""
    assert convert.bonus_to_bex(convert.bonus_to_vendre(balance, L), L) == balance


LOADERS_AND_CONVERTERS = [
    (vendre.load_order, convert.order_to_bex, strategies.vendre_orders_for(L), vendre.dumps_order),
    (bex.load_order, convert.order_to_vendre, strategies.bex_orders_for(L), bex.dumps_order),
    (bex.load_article, convert.article_to_vendre, strategies.bex_articles(), bex.dumps_article),
    (
        vendre.load_product,
        convert.product_to_bex,
        strategies.vendre_products(),
        vendre.dumps_product,
    ),
    (bex.load_stock, convert.stock_to_vendre, strategies.bex_stock(), bex.dumps_stock),
    (
        bex.load_order_status,
        convert.status_to_vendre,
        strategies.bex_order_statuses(),
        bex.dumps_order_status,
    ),
]


def mutate(document: Any, data: st.DataObject) -> Any:
    """Replace one value somewhere in a document with another plausible one."""
    if isinstance(document, dict) and document:
        key = data.draw(st.sampled_from(sorted(document)))
        return {**document, key: mutate(document[key], data)}
    if isinstance(document, list) and document:
        index = data.draw(st.integers(0, len(document) - 1))
        return [*document[:index], mutate(document[index], data), *document[index + 1 :]]
    return data.draw(
        st.one_of(
            st.none(),
            st.integers(-5, 5),
            st.sampled_from(["", "x", "SE", "KORT", "ot_total", "0.005", "-1", "1_2_3", "12"]),
        )
    )


@pytest.mark.parametrize("index", range(len(LOADERS_AND_CONVERTERS)))
@given(data=st.data())
def test_load_and_convert_either_succeed_or_raise_mapping_error(
    index: int, data: st.DataObject
) -> None:
    """Any mutated document loads and converts, or raises MappingError with paths."""
    load, to_other, strategy, dumps = LOADERS_AND_CONVERTERS[index]
    document = mutate(json.loads(dumps(data.draw(strategy))), data)
    try:
        to_other(load(document), L)
    except MappingError as exc:
        assert exc.problems
        assert all(p.path.startswith("$") for p in exc.problems)


# The thread's decimal context changes no conversion (money.CONTEXT).
ODD_CONTEXTS = [
    {"prec": 6},
    {"rounding": "ROUND_DOWN"},
    {"rounding": "ROUND_CEILING", "prec": 12},
    {"traps": ["Inexact", "Rounded", "InvalidOperation"]},
    {"prec": 60, "Emax": 40, "clamp": 1},
]


def _in_context(changes: dict[str, Any], run: Any) -> Any:
    import decimal  # noqa: PLC0415 - only here

    settings: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "rounding":
            settings[key] = getattr(decimal, value)
        elif key == "traps":
            settings[key] = [getattr(decimal, name) for name in value]
        else:
            settings[key] = value
    with decimal.localcontext(**settings):
        return run()


@pytest.mark.parametrize("changes", ODD_CONTEXTS, ids=str)
@settings(max_examples=20)
@given(data=st.data())
def test_conversions_do_not_depend_on_the_decimal_context(
    changes: dict[str, Any], data: st.DataObject
) -> None:
    order = data.draw(strategies.vendre_orders_for(L))
    article = attrs.evolve(data.draw(strategies.bex_articles()), external_reference="SKOR")
    expected = (convert.order_to_bex(order, L), convert.article_to_vendre(article, L))
    bex_order, product = expected

    def everything() -> Any:
        return (
            convert.order_to_bex(order, L),
            convert.article_to_vendre(article, L),
            convert.order_to_vendre(bex_order, L),
            convert.product_to_bex(product, L),
            bex.dumps_order(bex_order),
            vendre.dumps_product(product),
        )

    found = _in_context(changes, everything)
    assert found[:2] == expected
    assert found[2:] == (
        convert.order_to_vendre(bex_order, L),
        convert.product_to_bex(product, L),
        bex.dumps_order(bex_order),
        vendre.dumps_product(product),
    )


@pytest.mark.parametrize("changes", ODD_CONTEXTS, ids=str)
def test_money_functions_do_not_depend_on_the_decimal_context(changes: dict[str, Any]) -> None:
    from bexvendre_mapping import money  # noqa: PLC0415

    def everything() -> Any:
        return (
            money.incl_vat(Decimal("89.2857"), Decimal("12")),
            money.excl_vat(Decimal("100.00"), Decimal("12")),
            money.vat_amount(Decimal("100.00"), Decimal("12")),
            money.round_money(Decimal("1234.5"), "JPY"),
            money.quantize(Decimal("2.345"), 2),
            money.parse_decimal("123456789.1234", 4),
        )

    assert _in_context(changes, everything) == everything()


def test_a_conversion_leaves_the_callers_decimal_context_as_it_was() -> None:
    """The caller's context object comes back, its flags untouched, on success and error."""
    import decimal  # noqa: PLC0415 - only here

    examples = Path(__file__).resolve().parent.parent / "examples"
    order = vendre.load_order((examples / "vendre-order.json").read_bytes())
    unknown = attrs.evolve(order, currency="SEX")
    with decimal.localcontext(prec=5) as context:
        context.clear_flags()
        converted = convert.order_to_bex(order, L)
        with pytest.raises(MappingError):
            convert.order_to_bex(unknown, L)
        assert decimal.getcontext() is context
        assert context.prec == 5
        assert not any(context.flags.values())
    assert converted == convert.order_to_bex(order, L)


# --- The test strategies --------------------------------------------------------------------------


def test_orders_for_empty_tables_cannot_be_drawn() -> None:
    """Drawing orders for lookups without codes fails, naming the empty table."""

    @settings(max_examples=1, database=None)
    @given(vendre_orders_for(Lookups()))
    def draw(order: vendre.Order) -> None:
        del order

    with pytest.raises(ValueError, match="'shipping_methods' table is empty"):
        draw()
