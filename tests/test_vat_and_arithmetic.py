"""VAT rates from 0 to 100, and converters that fail only with MappingError on any amount."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from decimal import Decimal, DecimalException, DivisionByZero, InvalidOperation
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bexvendre_mapping import Lookups, LookupsError, MappingError, bex, convert, vendre
from bexvendre_mapping import testing as strategies
from bexvendre_mapping._checks import vat_percent
from bexvendre_mapping._dates import DEFAULT_TIME_ZONE
from bexvendre_mapping._fastpath import fast_loader
from bexvendre_mapping._modelcode import ModelCode
from bexvendre_mapping._wire import amount_problems
from bexvendre_mapping.convert._support import arithmetic_error

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE = Lookups.from_toml(EXAMPLES / "lookups.toml")


def problems_of(error: MappingError) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in error.problems]


def _vendre_order() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / "vendre-order.json").read_bytes())
    return document


def _bex_order() -> dict[str, Any]:
    order = convert.order_to_bex(vendre.load_order(_vendre_order()), EXAMPLE)
    return bex.dump_order(order)


def _bex_article() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / "bex-article.json").read_bytes())
    return document


def _vendre_product() -> dict[str, Any]:
    product = convert.article_to_vendre(bex.load_article(_bex_article()), EXAMPLE)
    return vendre.dump_product(product)


# (class, example document, where its VAT rate sits, how the rate is written)
RATE_FIELDS: list[tuple[type, Callable[[], dict[str, Any]], tuple[str | int, ...], int]] = [
    (vendre.Order, _vendre_order, ("products", 0, "tax"), 4),
    (vendre.Product, _vendre_product, ("tax_rate",), 4),
    (bex.Order, _bex_order, ("Artiklar", 0, "Moms"), 2),
    (bex.Article, _bex_article, ("Moms",), 2),
]
LOADERS: dict[type, Callable[..., Any]] = {
    vendre.Order: vendre.load_order,
    vendre.Product: vendre.load_product,
    bex.Order: bex.load_order,
    bex.Article: bex.load_article,
}


def _with_rate(document: dict[str, Any], where: tuple[str | int, ...], rate: str) -> Any:
    inner: Any = document
    for key in where[:-1]:
        inner = inner[key]
    inner[where[-1]] = rate
    return document


def _path(where: tuple[str | int, ...]) -> str:
    return "$" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in where)


@pytest.mark.parametrize("text", ["0", "0.01", "6", "25", "99.99", "100", "-0"])
def test_a_vat_percent_from_0_to_100_passes(text: str) -> None:
    assert vat_percent(Decimal(text)) == Decimal(text)


@pytest.mark.parametrize("text", ["-0.01", "-25", "-100", "-200", "100.01", "250", "1E+10"])
def test_a_vat_percent_outside_0_to_100_is_refused(text: str) -> None:
    with pytest.raises(MappingError, match="must be a VAT percent from 0 to 100"):
        vat_percent(Decimal(text))


@pytest.mark.parametrize("field", RATE_FIELDS, ids=lambda f: f"{f[0].__module__}.{f[2][-1]}")
@pytest.mark.parametrize(
    ("rate", "refused"),
    [
        ("-100", True),
        ("-0.01", True),
        ("100.01", True),
        ("999999999999999", True),
        ("0", False),
        ("100", False),
    ],
)
def test_loaders_take_vat_rates_from_0_to_100_only(
    field: tuple[type, Callable[[], dict[str, Any]], tuple[str | int, ...], int],
    rate: str,
    refused: bool,
) -> None:
    """On both routes: the generated loader gives up on a refused rate, the load names the
    field; 0 and 100 load, on the fast route."""
    cls, example, where, places = field
    written = str(Decimal(rate).quantize(Decimal(1).scaleb(-places)))
    document = _with_rate(example(), where, written)
    if not refused:
        fast = fast_loader(cls, DEFAULT_TIME_ZONE, False)(document)
        assert fast == LOADERS[cls](document)
        return
    with pytest.raises(Exception):  # noqa: B017, PT011 - the fast route's bare failure
        fast_loader(cls, DEFAULT_TIME_ZONE, False)(document)
    with pytest.raises(MappingError) as caught:
        LOADERS[cls](document)
    assert problems_of(caught.value) == [
        (_path(where), f"must be a VAT percent from 0 to 100, got {written!r}")
    ]


def test_a_bex_order_with_moms_minus_100_is_refused_not_divided_by_zero() -> None:
    """The row price cannot be taken back to excluding VAT at -100 %: the load says so."""
    document = _with_rate(_bex_order(), ("Artiklar", 1, "Moms"), "-100.00")
    with pytest.raises(MappingError) as caught:
        bex.load_order(document)
    assert problems_of(caught.value) == [
        ("$.Artiklar[1].Moms", "must be a VAT percent from 0 to 100, got '-100.00'")
    ]


@pytest.mark.parametrize("rate", ["101", "-1"])
def test_the_fee_tax_rate_is_a_vat_percent(rate: str) -> None:
    with pytest.raises(LookupsError) as caught:
        Lookups.from_dict({"settings": {"fee_tax_rate": rate}})
    assert caught.value.paths == ("$.settings.fee_tax_rate",)


def test_the_fee_tax_rate_may_be_100() -> None:
    lookups = Lookups.from_dict({"settings": {"fee_tax_rate": "100"}})
    assert lookups.settings.fee_tax_rate == Decimal(100)


# --- converters on models built by hand -----------------------------------------------------


def test_a_hand_built_rate_of_minus_100_is_a_mapping_error_with_its_path() -> None:
    """order_to_vendre divides by 1 + rate/100: the DivisionByZero becomes the field's error."""
    order = bex.load_order(_bex_order())
    rows = (
        attrs.evolve(order.rows[0], vat_rate=Decimal(-100)),
        attrs.evolve(order.rows[1], price=Decimal("NaN")),
        *order.rows[2:],
    )
    with pytest.raises(MappingError) as caught:
        convert.order_to_vendre(attrs.evolve(order, rows=rows), EXAMPLE)
    assert problems_of(caught.value) == [
        ("$.Artiklar[0].Moms", "must be a VAT percent from 0 to 100, got '-100.00'"),
        ("$.Artiklar[1].Pris", "expected a finite decimal number, got 'NaN'"),
    ]
    assert isinstance(caught.value.__cause__, DivisionByZero)


def test_every_amount_out_of_range_is_listed_when_the_arithmetic_fails() -> None:
    """A price of 10**40 cannot be rounded to cents in 28 digits: every bad amount is named."""
    order = vendre.load_order(_vendre_order())
    products = (
        attrs.evolve(order.products[0], price=Decimal("1E+40")),
        order.products[1],
        attrs.evolve(order.products[2], tax=Decimal(-300)),
        *order.products[3:],
    )
    card = attrs.evolve(order.gift_cards[0], amount=Decimal("Infinity"))
    broken = attrs.evolve(order, products=products, gift_cards=(card,))
    with pytest.raises(MappingError) as caught:
        convert.order_to_bex(broken, EXAMPLE)
    assert problems_of(caught.value) == [
        ("$.products[0].price", "'1E+40' is out of range (at most 15 integer digits)"),
        ("$.products[2].tax", "must be a VAT percent from 0 to 100, got '-300.0000'"),
        ("$.gift_cards[0].amount", "expected a finite decimal number, got 'Infinity'"),
    ]
    assert isinstance(caught.value.__cause__, InvalidOperation)


def test_a_gift_card_balance_too_large_to_round_is_a_mapping_error() -> None:
    card = bex.load_gift_card((EXAMPLES / "bex-gift-card.json").read_bytes())
    with pytest.raises(MappingError) as caught:
        convert.gift_card_to_vendre(attrs.evolve(card, balance=Decimal("1E+40")))
    assert problems_of(caught.value) == [
        ("$.Saldo", "'1E+40' is out of range (at most 15 integer digits)")
    ]


def test_an_arithmetic_failure_without_a_bad_amount_still_is_a_mapping_error() -> None:
    """What the error says when no amount explains it (not reachable from a model's fields)."""
    error = arithmetic_error(object(), InvalidOperation())
    assert problems_of(error) == [
        ("$", "the amounts of this object cannot be computed (InvalidOperation)")
    ]


ODD_AMOUNTS = [
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    Decimal("1E+40"),
    Decimal("-1E+40"),
    Decimal("1E-40"),
    Decimal("-100"),
    Decimal("123456789012345678901234567890.5"),
]


def _odd(model: Any, data: st.DataObject) -> Any:
    """``model`` with some of its amounts, anywhere in it, replaced by odd ones."""
    if isinstance(model, Decimal):
        return data.draw(st.sampled_from(ODD_AMOUNTS)) if data.draw(st.booleans()) else model
    if isinstance(model, tuple):
        return tuple(_odd(item, data) for item in model)
    if attrs.has(type(model)) and type(model) is not ModelCode:
        changes = {f.alias: _odd(getattr(model, f.name), data) for f in attrs.fields(type(model))}
        return type(model)(**changes)
    return model


CONVERTERS: dict[str, tuple[Callable[[Any, Lookups], Any], st.SearchStrategy[Any]]] = {
    "order_to_bex": (convert.order_to_bex, strategies.vendre_orders_for(EXAMPLE)),
    "order_to_vendre": (convert.order_to_vendre, strategies.bex_orders_for(EXAMPLE)),
    "article_to_vendre": (convert.article_to_vendre, strategies.bex_articles()),
    "product_to_bex": (convert.product_to_bex, strategies.vendre_products()),
    "gift_card_to_vendre": (convert.gift_card_to_vendre, strategies.bex_gift_cards()),
    "gift_card_to_bex": (convert.gift_card_to_bex, strategies.vendre_gift_cards()),
}


@pytest.mark.parametrize("name", sorted(CONVERTERS))
@given(data=st.data())
def test_converters_fail_only_with_mapping_errors_on_odd_amounts(
    name: str, data: st.DataObject
) -> None:
    """Whatever the amounts of a model built by hand, a converter returns or raises a
    MappingError; when its arithmetic failed, the error lists the model's bad amounts."""
    converter, models = CONVERTERS[name]
    model = _odd(data.draw(models), data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a totals mismatch under a "warn" policy
            converter(model, EXAMPLE)
    except MappingError as error:
        if isinstance(error.__cause__, DecimalException):
            assert error.problems
            assert [(p.path, p.message) for p in amount_problems(model)] == problems_of(error)


@pytest.mark.parametrize(
    "models",
    [
        strategies.vendre_orders(),
        strategies.bex_orders(),
        strategies.bex_articles(),
        strategies.vendre_products(),
        strategies.bex_gift_cards(),
        strategies.vendre_gift_cards(),
    ],
    ids=["vendre order", "bex order", "bex article", "vendre product", "bex card", "vendre card"],
)
@given(data=st.data())
def test_a_generated_model_has_no_amount_problems(
    models: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    """The strategies' models are loadable: amount_problems finds nothing in them."""
    assert amount_problems(data.draw(models)) == []
