"""VAT rates from 0 to 100, and converters that fail only with MappingError on any amount."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from decimal import Decimal, DivisionByZero, InvalidOperation
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.support import problems_of

from bexvendre_mapping import Lookups, LookupsError, MappingError, bex, convert, vendre
from bexvendre_mapping import testing as strategies
from bexvendre_mapping._checks import vat_percent
from bexvendre_mapping._dates import DEFAULT_TIME_ZONE, time_zone
from bexvendre_mapping._fastpath import fast_loader
from bexvendre_mapping._modelcode import ModelCode
from bexvendre_mapping._wire import dump_problems
from bexvendre_mapping.convert._support import in_money_context, model_error

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE = Lookups.from_toml(EXAMPLES / "lookups.toml")


def _vendre_order() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / "vendre-order.json").read_bytes())
    return document


def _bex_order() -> dict[str, Any]:
    order = convert.order_to_bex(vendre.load_order(_vendre_order()), EXAMPLE)
    return bex.dump_order(order)


def _bex_article() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / "bex-article.json").read_bytes())
    return document


# (class, example document, where its VAT rate sits, how the rate is written)
RATE_FIELDS: list[tuple[type, Callable[[], dict[str, Any]], tuple[str | int, ...], int]] = [
    (vendre.Order, _vendre_order, ("products", 0, "tax"), 4),
    (bex.Order, _bex_order, ("Artiklar", 0, "Moms"), 2),
    (bex.Article, _bex_article, ("Moms",), 2),
]
LOADERS: dict[type, Callable[..., Any]] = {
    vendre.Order: vendre.load_order,
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


def test_a_converter_failure_without_a_model_to_blame_stands() -> None:
    """A valid model: the converter's own error is not turned into a MappingError."""
    order = vendre.load_order(_vendre_order())
    assert model_error(order) is None
    assert model_error(object()) is None
    with pytest.raises(AttributeError):
        convert.order_to_bex(order, None)  # type: ignore[arg-type]


def test_a_decimal_failure_with_a_sound_model_is_still_a_mapping_error() -> None:
    """in_money_context: a decimal exception no field explains still names the amounts."""

    @in_money_context
    def divides_by_zero(order: vendre.Order, lookups: Lookups) -> Decimal:
        return order.currency_value / 0

    with pytest.raises(MappingError) as caught:
        divides_by_zero(vendre.load_order(_vendre_order()), EXAMPLE)
    assert problems_of(caught.value) == [("$", "the amounts cannot be computed (DivisionByZero)")]
    assert isinstance(caught.value.__cause__, DivisionByZero)


def test_a_model_of_the_wrong_class_stays_a_type_error() -> None:
    """Even a broken one: the caller passed the wrong thing, whatever its contents."""
    order = vendre.load_order(_vendre_order())
    broken = attrs.evolve(order, currency=None)
    with pytest.raises(TypeError, match=r"order_to_vendre expects a bex\.Order, got Order"):
        convert.order_to_vendre(broken, EXAMPLE)  # type: ignore[arg-type]


def test_wrong_types_in_a_model_built_by_hand_are_mapping_errors_with_paths() -> None:
    """Text for a price, None for a list, a str for a model code: every one, with its path."""
    order = vendre.load_order(_vendre_order())
    products = (
        attrs.evolve(order.products[0], price="799.20"),
        attrs.evolve(order.products[1], model="1001_SKO_43"),
        *order.products[2:],
    )
    broken = attrs.evolve(order, products=products, gift_cards=None, currency_value=1.0)
    with pytest.raises(MappingError) as caught:
        convert.order_to_bex(broken, EXAMPLE)
    assert problems_of(caught.value) == [
        ("$.currency_value", "expected Decimal, got 1.0"),
        ("$.products[0].price", "expected Decimal, got '799.20'"),
        ("$.products[1].model", "expected a ModelCode, got '1001_SKO_43'"),
        ("$.gift_cards", "expected a list, got null"),
    ]
    assert isinstance(caught.value.__cause__, TypeError)


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
ODD_VALUES = [None, "text", 1.5, b"x", 7, True, Decimal("NaN"), (), ("a",)]


def _odd(model: Any, data: st.DataObject, types: bool) -> Any:
    """``model`` with some of its amounts (or, with ``types``, any of its fields' values),
    anywhere in it, replaced by odd ones."""
    if isinstance(model, Decimal) and not types:
        return data.draw(st.sampled_from(ODD_AMOUNTS)) if data.draw(st.booleans()) else model
    if isinstance(model, tuple):
        return tuple(_odd(item, data, types) for item in model)
    if attrs.has(type(model)) and type(model) is not ModelCode:
        changes = {}
        for field in attrs.fields(type(model)):
            value = getattr(model, field.name)
            if types and data.draw(st.integers(0, 9)) == 0:
                changes[field.alias] = data.draw(st.sampled_from(ODD_VALUES))
            else:
                changes[field.alias] = _odd(value, data, types)
        return type(model)(**changes)
    return model


CONVERTERS: dict[str, tuple[Callable[[Any, Lookups], Any], st.SearchStrategy[Any]]] = {
    "order_to_bex": (convert.order_to_bex, strategies.vendre_orders_for(EXAMPLE)),
    "order_to_vendre": (convert.order_to_vendre, strategies.bex_orders_for(EXAMPLE)),
    "article_to_vendre": (convert.article_to_vendre, strategies.bex_articles()),
    "product_to_bex": (convert.product_to_bex, strategies.vendre_products()),
    "gift_card_to_vendre": (convert.gift_card_to_vendre, strategies.bex_gift_cards()),
    "gift_card_to_bex": (convert.gift_card_to_bex, strategies.vendre_gift_cards()),
    "stock_to_vendre": (convert.stock_to_vendre, strategies.bex_stock()),
    "stock_to_bex": (convert.stock_to_bex, strategies.vendre_stock_updates()),
    "status_to_vendre": (convert.status_to_vendre, strategies.bex_order_statuses()),
    "status_to_bex": (convert.status_to_bex, strategies.vendre_order_status_updates()),
    "bonus_to_vendre": (convert.bonus_to_vendre, strategies.bex_bonus_balances()),
    "bonus_to_bex": (convert.bonus_to_bex, strategies.vendre_bonus_balances()),
}


def _hand_built_problems(model: Any) -> list[tuple[str, str]]:
    found = dump_problems(model, time_zone(DEFAULT_TIME_ZONE), as_loaded=True)
    return [(p.path, p.message) for p in found]


@pytest.mark.parametrize("name", sorted(CONVERTERS))
@given(data=st.data(), types=st.booleans())
def test_converters_fail_only_with_mapping_errors_on_models_built_by_hand(
    name: str, data: st.DataObject, types: bool
) -> None:
    """Whatever the values of a model built by hand (odd amounts, or values of any type), a
    converter returns or raises a MappingError; when the model was to blame, the error
    lists the model's every bad field."""
    converter, models = CONVERTERS[name]
    model = _odd(data.draw(models), data, types)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a totals mismatch under a "warn" policy
            converter(model, EXAMPLE)
    except MappingError as error:
        if error.__cause__ is not None and not isinstance(error.__cause__, MappingError):
            assert error.problems
            assert _hand_built_problems(model) == problems_of(error)


@pytest.mark.parametrize(
    "models",
    [
        strategies.vendre_orders(),
        strategies.bex_orders(),
        strategies.bex_articles(),
        strategies.vendre_products(),
        strategies.bex_gift_cards(),
        strategies.vendre_gift_cards(),
        strategies.bex_stock(),
        strategies.vendre_stock_updates(),
    ],
    ids=lambda s: repr(s)[:40],
)
@given(data=st.data())
def test_a_generated_model_has_no_hand_built_problems(
    models: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    """The strategies' models are loadable: the converters' model check finds nothing."""
    assert _hand_built_problems(data.draw(models)) == []
