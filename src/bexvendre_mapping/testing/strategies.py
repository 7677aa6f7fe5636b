"""Hypothesis strategies for every model of both systems.

Each strategy generates models that the library's dumpers can write and its loaders read
back to an equal model: amounts at their wire's number of decimals, date-times in the shop's
time zone (daylight-saving gaps and overlaps included), model codes that obey SPEC §4.

The strategies are derived from the models' field plans (:func:`from_model`): every field is
drawn from its type and its check, so a field added to a model is generated, set and unset,
without a change here. Each strategy below gives only the fields that follow a rule of the
domain (a model code's parts, totals that add up, sizes unique, codes from the lookups).

>>> from hypothesis import given
>>> from bexvendre_mapping import vendre
>>> @given(vendre_orders())
... def test_round_trip(order):
...     assert vendre.load_order(vendre.dumps_order(order)) == order
>>> test_round_trip()
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st

from bexvendre_mapping import _plan, bex, vendre
from bexvendre_mapping._checks import Check
from bexvendre_mapping._dates import DEFAULT_TIME_ZONE, time_zone
from bexvendre_mapping._errors import MappingError
from bexvendre_mapping._lookups import Lookups
from bexvendre_mapping._modelcode import ModelCode
from bexvendre_mapping._plan import FieldPlan, Kind, plan_of
from bexvendre_mapping.money import incl_vat, minor_unit

__all__ = [
    "amounts",
    "article_numbers",
    "bex_articles",
    "bex_articles_for",
    "bex_bonus_balances",
    "bex_gift_card_reservations",
    "bex_gift_cards",
    "bex_order_statuses",
    "bex_orders",
    "bex_orders_for",
    "bex_rows",
    "bex_stock",
    "code_parts",
    "from_model",
    "model_codes",
    "shop_datetimes",
    "texts",
    "vendre_bonus_balances",
    "vendre_gift_cards",
    "vendre_order_status_updates",
    "vendre_orders",
    "vendre_orders_for",
    "vendre_product_families",
    "vendre_products",
    "vendre_stock_updates",
]

_Model = TypeVar("_Model")


def texts(min_size: int = 0, max_size: int = 24) -> st.SearchStrategy[str]:
    """Free text as shoppers type it: any printable Unicode, spaces and Swedish letters."""
    return st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
        min_size=min_size,
        max_size=max_size,
    )


def code_parts(underscore: bool = False) -> st.SearchStrategy[str]:
    """A valid part of a model code: non-empty, no control characters, no outer whitespace."""
    alphabet = st.characters(
        codec="utf-8",
        exclude_categories=("Cs", "Cc", "Zl", "Zp"),
        exclude_characters="" if underscore else "_",
    )
    return st.text(alphabet, min_size=1, max_size=10).filter(lambda s: s == s.strip())


def article_numbers(sized: bool) -> st.SearchStrategy[str]:
    """A Bex article number; only a sized article's number may hold two or more ``_``."""
    if sized:
        return code_parts(underscore=True)
    return code_parts(underscore=True).filter(lambda s: s.count("_") < 2)


def model_codes(sized: bool | None = None) -> st.SearchStrategy[ModelCode]:
    """Valid model codes, sized, unsized or (``None``) either."""
    sized_codes = st.builds(ModelCode, article_numbers(True), code_parts(), code_parts())
    unsized_codes = st.builds(ModelCode, article_numbers(False))
    if sized is None:
        return st.one_of(sized_codes, unsized_codes)
    return sized_codes if sized else unsized_codes


def amounts(
    places: int, min_value: int = 0, max_value: int = 100_000
) -> st.SearchStrategy[Decimal]:
    """Decimals with exactly ``places`` decimals between the given whole bounds."""
    scale = 10**places
    return st.integers(min_value * scale, max_value * scale).map(
        lambda n: Decimal(n).scaleb(-places)
    )


def shop_datetimes(zone: str = DEFAULT_TIME_ZONE) -> st.SearchStrategy[datetime]:
    """Aware date-times in the shop's zone, whole seconds, DST gaps and overlaps included."""
    return st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2099, 12, 31),
        timezones=st.just(time_zone(zone)),
    ).map(lambda d: d.replace(microsecond=0))


def _dates() -> st.SearchStrategy[date]:
    return st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


_ids = st.integers(1, 10**9)
_vat = st.sampled_from([Decimal(0), Decimal(6), Decimal(12), Decimal(25)])
_currency = st.sampled_from(["SEK", "EUR", "NOK", "DKK"])
_country = st.sampled_from(["SE", "NO", "DK", "FI", "DE"])

# What a field with no rule of its own is drawn from: integers and amounts in these whole
# bounds (amounts well below the 15 integer digits a loader reads back, and products of an
# integer and an amount too), lists and mappings of at most a few items.
_INTEGERS = 10**9
_AMOUNTS = (-1000, 100_000)
_ITEMS = 4


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def _nonblank(max_size: int = 24) -> st.SearchStrategy[str]:
    """Text that the ``nonempty`` check takes: not empty, not only whitespace."""
    return texts(1, max_size).filter(lambda s: s.strip() != "")


def _positive(places: int, max_value: int = _AMOUNTS[1]) -> st.SearchStrategy[Decimal]:
    """Decimals with exactly ``places`` decimals, more than 0 and at most ``max_value``."""
    return st.integers(1, max_value * 10**places).map(lambda n: Decimal(n).scaleb(-places))


def _vat_rates(places: int | None) -> st.SearchStrategy[Decimal]:
    """Sweden's VAT rates, with the wire's number of decimals."""
    if places is None:
        return _vat
    exponent = Decimal(1).scaleb(-places)
    return _vat.map(lambda rate: rate.quantize(exponent))


# --- strategies derived from the field plans --------------------------------------------------


def from_model(
    cls: type[_Model], /, **overrides: st.SearchStrategy[Any]
) -> st.SearchStrategy[_Model]:
    """Models of the attrs model class ``cls``, every field drawn from its field plan.

    Each field not in ``overrides`` is drawn from its kind and its check: text (not blank
    where it must not be empty), integers (from a check's minimum, or among its allowed
    values), amounts with the wire's decimals (Sweden's VAT rates for a VAT percent, more than
    0 for a positive amount), date-times in the shop's zone, dates, model codes, enum members,
    nested models (derived the same way), lists, mappings (with every required language) and
    ``None`` for an optional type; currency and country codes from a few real ones. A field
    with a default is left at it in some examples and drawn in the others. A class with its
    own check of a whole model (a model code's parts, unique sizes) keeps only the models it
    passes: give such fields in ``overrides``, or most examples are rejected.

    Args:
        cls: the model class (bex's, vendre's, or a subclass with more fields).
        overrides: a strategy per attribute name, replacing the derived one: for the fields
            that follow a rule of the domain. It is drawn as given (for a field with a
            default, the default is not mixed in).

    Raises:
        TypeError: ``cls`` is no model class, an override names no field of it or is no
            strategy.

    >>> from hypothesis import given
    >>> from bexvendre_mapping import bex
    >>> @given(from_model(bex.GiftCard, currency=st.just("SEK")))
    ... def test_round_trip(card):
    ...     assert bex.load_gift_card(bex.dumps_gift_card(card)) == card
    >>> test_round_trip()
    """
    model: type = cls
    plan = plan_of(model)
    names = {field.name for field in plan.fields}
    unknown = sorted(set(overrides) - names)
    if unknown:
        msg = f"{model.__qualname__} has no field {', '.join(map(repr, unknown))}"
        raise TypeError(msg)
    given: dict[str, object] = dict(overrides)  # whatever an untyped caller passed
    for name, strategy in given.items():
        if not isinstance(strategy, st.SearchStrategy):
            msg = f"the override of {name!r} is no strategy: {strategy!r}"
            raise TypeError(msg)
    arguments = {
        field.alias: overrides[field.name] if field.name in overrides else _of_field(field)
        for field in plan.fields
    }
    models: st.SearchStrategy[_Model] = st.builds(cls, **arguments)
    wire_check = plan.wire_check
    if wire_check is not None:
        models = models.filter(lambda drawn: not wire_check(drawn))
    return models


@functools.cache
def _derived(cls: type) -> st.SearchStrategy[Any]:
    """``from_model(cls)``, built once: the strategy of a nested model."""
    return from_model(cls)


def _of_field(field: FieldPlan) -> st.SearchStrategy[Any]:
    drawn = _of_kind(field.kind, field.check)
    if field.required or (field.default is None and isinstance(field.kind, _plan.Optional)):
        return drawn  # an optional type draws None, its default, already
    return st.just(field.default) | drawn


# The checks _of_kind draws values for; any other is kept by filtering the drawn values.
_KNOWN_CHECKS = frozenset(
    {
        "nonempty",
        "currency_code",
        "country_code",
        "at_least",
        "vat_percent",
        "positive_amount",
        "one_of",
    }
)


def _of_kind(kind: Kind, check: Check | None) -> st.SearchStrategy[Any]:
    """Values of ``kind`` that pass ``check`` (of the value; ``None`` is never checked)."""
    if isinstance(kind, _plan.Optional):
        return st.none() | _of_kind(kind.inner, check)
    drawn = _checked(kind, check) if check is not None else None
    if drawn is None:
        drawn = _plain(kind)
        if check is not None:
            drawn = drawn.filter(_passes(check))
    return drawn


def _passes(check: Check) -> Callable[[Any], bool]:
    def passes(value: Any) -> bool:
        try:
            check(value)
        except MappingError:
            return False
        return True

    return passes


def _checked(kind: Kind, check: Check) -> st.SearchStrategy[Any] | None:  # noqa: PLR0911 - per check
    """Values of ``kind`` drawn for one of the known checks (``None``: not one of them)."""
    name, arguments = check.name, check.arguments
    if name not in _KNOWN_CHECKS:
        return None
    if name == "one_of":
        return st.sampled_from(arguments)
    if name == "currency_code":
        return _currency
    if name == "country_code":
        return _country
    if name == "nonempty" and isinstance(kind, _plan.Text):
        return _nonblank()
    if name == "at_least" and isinstance(kind, _plan.Int):
        minimum = int(arguments[0])
        return st.integers(minimum, max(minimum, _INTEGERS))
    if name == "vat_percent" and isinstance(kind, _plan.Amount):
        return _vat_rates(kind.places)
    if name == "positive_amount" and isinstance(kind, _plan.Amount):
        return _positive(kind.places if kind.places is not None else 2)
    return None  # a known check of another kind than usual: filtered


def _plain(kind: Kind) -> st.SearchStrategy[Any]:  # noqa: PLR0911 - one per kind
    """Any value of ``kind`` (not optional) that its wire takes."""
    if isinstance(kind, _plan.Text):
        return texts()
    if isinstance(kind, _plan.Bool):
        return st.booleans()
    if isinstance(kind, _plan.Int):
        return st.integers(-_INTEGERS, _INTEGERS)
    if isinstance(kind, _plan.Amount):
        if kind.places is None:  # any number of decimals the wire writes in plain notation
            return st.integers(0, 8).flatmap(lambda places: amounts(places, *_AMOUNTS))
        return amounts(kind.places, *_AMOUNTS)
    if isinstance(kind, _plan.DateTime):
        return shop_datetimes()
    if isinstance(kind, _plan.Date):
        return _dates()
    if isinstance(kind, _plan.Code):
        return model_codes()
    if isinstance(kind, _plan.EnumOf):
        return st.sampled_from(kind.cls)
    if isinstance(kind, _plan.Nested):
        cls = kind.cls
        return st.deferred(lambda: _derived(cls))
    if isinstance(kind, _plan.ListOf):
        return st.lists(_of_kind(kind.item, None), max_size=_ITEMS).map(tuple)
    if isinstance(kind, _plan.MappingOf):
        return st.dictionaries(texts(max_size=8), _of_kind(kind.value, None), max_size=_ITEMS)
    msg = f"no strategy for values of {kind!r}"  # Optional is _of_kind's
    raise TypeError(msg)


def _model_of(model: type, name: str) -> type:
    """The model class that the field ``name`` of ``model`` holds (or a list of)."""
    for field in plan_of(model).fields:
        if field.name == name:
            kind = field.kind
            while isinstance(kind, _plan.Optional | _plan.ListOf):
                kind = kind.inner if isinstance(kind, _plan.Optional) else kind.item
            if isinstance(kind, _plan.Nested):
                return kind.cls
    msg = f"{model.__qualname__}.{name} holds no model"
    raise TypeError(msg)


# --- Vendre --------------------------------------------------------------------------------


def vendre_orders() -> st.SearchStrategy[vendre.Order]:
    """Any Vendre order the wire format allows (not necessarily adding up), with a product."""
    products = st.lists(from_model(vendre.OrderProduct), min_size=1, max_size=6)
    return from_model(vendre.Order, products=products.map(tuple))


def vendre_products() -> st.SearchStrategy[vendre.Product]:
    """Any Vendre product the wire format allows, as a listing has it or as converted."""
    return from_model(vendre.Product)


@st.composite
def vendre_product_families(
    draw: st.DrawFn, lookups: Lookups | None = None
) -> vendre.ProductFamily:
    """A Vendre product family: a parent and one child per size (none when unsized).

    With ``lookups``, the tax class, categories and manufacturer come from its tables, so
    that ``product_to_bex`` can map the family; the children's article numbers are always
    model codes of the parent's article.
    """
    sized = draw(st.booleans())
    article = draw(article_numbers(sized))
    group = draw(code_parts()) if sized else None
    sizes = draw(st.lists(code_parts(), min_size=1, max_size=8, unique=True)) if sized else []
    overrides: dict[str, st.SearchStrategy[Any]] = {}
    if lookups is not None:
        overrides = {
            "tax_class_id": st.sampled_from(list(lookups.tax_classes)),
            "category_ids": st.sampled_from([value for _, value in lookups.categories.items()]).map(
                lambda c: (c,)
            ),
            "manufacturer_id": st.sampled_from(
                [None, *(value for _, value in lookups.manufacturers.items())]
            ),
            "price_in": amounts(2, max_value=10**6),  # Bex's Inköpspris has 2 decimals
            "price": amounts(4, max_value=10**6),
            "name": st.builds(lambda text: {"sv": text}, texts()),
        }
    parent = draw(from_model(vendre.Product, article_number=st.just(article), **overrides))
    children = tuple(
        draw(
            from_model(
                vendre.Product,
                article_number=st.just(str(ModelCode(article, group, size))),
                **overrides,
            )
        )
        for size in sizes
    )
    return vendre.ProductFamily(parent=parent, children=children)


def vendre_stock_updates() -> st.SearchStrategy[vendre.StockUpdate]:
    """Vendre stock updates."""
    return from_model(vendre.StockUpdate)


def vendre_order_status_updates() -> st.SearchStrategy[vendre.OrderStatusUpdate]:
    """Vendre order status updates."""
    return from_model(vendre.OrderStatusUpdate)


@st.composite
def vendre_gift_cards(draw: st.DrawFn) -> vendre.GiftCard:
    """Gift cards as Vendre's checkout sees them: a status, if any, agrees with ``usable``."""
    usable = draw(st.booleans())
    statuses = [None, "active"] if usable else [None, "reserved", "used", "blocked"]
    return draw(
        from_model(vendre.GiftCard, usable=st.just(usable), status=st.sampled_from(statuses))
    )


def vendre_bonus_balances() -> st.SearchStrategy[vendre.BonusBalance]:
    """Vendre bonus balances."""
    return from_model(vendre.BonusBalance)


# --- Bex -----------------------------------------------------------------------------------


def _code_fields(code: ModelCode) -> dict[str, st.SearchStrategy[Any]]:
    """Overrides of a Bex row's or stock level's article, size group and size."""
    return _parts(code.article, code.size_group, code.size)


def _parts(
    article: str, size_group: str | None, size: str | None
) -> dict[str, st.SearchStrategy[Any]]:
    """Overrides of a Bex row's or stock level's article, size group and size, given apart."""
    return {"article": st.just(article), "size_group": st.just(size_group), "size": st.just(size)}


@st.composite
def bex_rows(draw: st.DrawFn) -> bex.Row:
    """Any Bex order row: sized, unsized or a fee row (which may be negative)."""
    code = draw(model_codes())
    row = draw(from_model(bex.Row, **_code_fields(code), amount=st.just(Decimal(0))))
    return attrs.evolve(row, amount=row.quantity * row.price)


def bex_orders() -> st.SearchStrategy[bex.Order]:
    """Any Bex order the wire format allows (not necessarily adding up), with rows, paid."""
    return from_model(
        bex.Order,
        payments=st.lists(from_model(bex.Payment), min_size=1, max_size=3).map(tuple),
        rows=st.lists(bex_rows(), min_size=1, max_size=6).map(tuple),
    )


@st.composite
def bex_articles(draw: st.DrawFn) -> bex.Article:
    """A Bex article, unsized or with unique sizes."""
    sized = draw(st.booleans())
    sizes = draw(st.lists(code_parts(), min_size=1, max_size=8, unique=True)) if sized else []
    return draw(
        from_model(
            bex.Article,
            article=article_numbers(sized),
            size_group=code_parts() if sized else st.none(),
            sizes=st.tuples(*(from_model(bex.Size, size=st.just(size)) for size in sizes)),
        )
    )


@st.composite
def bex_articles_for(draw: st.DrawFn, lookups: Lookups) -> bex.Article:
    """A Bex article whose codes are in ``lookups``, so that ``article_to_vendre`` maps it.

    Its ``Moms`` is a rate of ``tax_classes``, its ``Extern referens`` a code of
    ``categories``, its ``LeverantörsID`` a code of ``manufacturers`` or empty.

    Raises:
        ValueError: one of those tables is empty.
    """
    for name in ("tax_classes", "categories"):
        if not len(getattr(lookups, name)):
            msg = f"lookups.{name} is empty: no article maps"
            raise ValueError(msg)
    article = draw(bex_articles())
    return attrs.evolve(
        article,
        vat_rate=draw(st.sampled_from([rate for _, rate in lookups.tax_classes.items()])),
        external_reference=draw(st.sampled_from(list(lookups.categories))),
        supplier_id=draw(st.sampled_from(["", *lookups.manufacturers])),
    )


@st.composite
def bex_stock(draw: st.DrawFn, min_quantity: int = -1000) -> bex.Stock:
    """A Bex stock row (quantities may be negative, as in a point-of-sale system)."""
    code = draw(model_codes())
    return draw(
        from_model(bex.Stock, **_code_fields(code), quantity=st.integers(min_quantity, 10**6))
    )


def bex_order_statuses() -> st.SearchStrategy[bex.OrderStatus]:
    """Bex order statuses (of orders numbered with Vendre ids, as the integration's are)."""
    return from_model(bex.OrderStatus, order_number=_ids.map(str))


def bex_gift_cards() -> st.SearchStrategy[bex.GiftCard]:
    """Bex gift cards in any state."""
    return from_model(bex.GiftCard)


def bex_gift_card_reservations() -> st.SearchStrategy[bex.GiftCardReservation]:
    """Bex gift-card reservations in any state."""
    return from_model(bex.GiftCardReservation)


def bex_bonus_balances() -> st.SearchStrategy[bex.BonusBalance]:
    """Bex bonus balances (of customers numbered with Vendre ids)."""
    return from_model(bex.BonusBalance, customer_number=_ids.map(str))


# --- documents that convert: consistent with a set of code tables -----------------------------


def _unit_price(row: vendre.OrderProduct) -> Decimal:
    """What a row's unit costs: its ``final_price`` when it has one, else its ``price``."""
    return row.price if row.final_price is None else row.final_price


def _table_values(table: Any) -> list[Any]:
    values = [value for _, value in table.items()]
    if not values:
        msg = f"the {table.name!r} table is empty: nothing to draw codes from"
        raise ValueError(msg)
    return values


def _table_keys(table: Any) -> list[Any]:
    return [key for key, _ in table.items()]


@st.composite
def vendre_orders_for(
    draw: st.DrawFn, lookups: Lookups, *, model: type[vendre.Order] = vendre.Order
) -> vendre.Order:
    """Vendre orders that convert with ``lookups``: known codes, totals that add up.

    Rows may be sized or unsized (article numbers with ``_`` included), VAT 0–25 %,
    with discounts, fees, shipping and several gift cards. The lookups need at least one
    payment method, shipping method and country. ``model`` is the class drawn:
    ``vendre.Order`` or a subclass, whose further fields are derived (:func:`from_model`).
    """
    currency = draw(st.sampled_from(["SEK", "EUR", "NOK", "DKK", "JPY"]))
    places = minor_unit(currency)
    fee_articles = {
        *_table_values(lookups.shipping_methods),
        *(article for _, article in lookups.fee_articles.items()),
    }
    products = draw(
        st.lists(
            from_model(
                _model_of(model, "products"),
                quantity=st.integers(1, 5),
                model=model_codes().filter(
                    lambda c: c.size is not None or c.article not in fee_articles
                ),
                price=amounts(4, 0, 5_000),
            ),
            min_size=1,
            max_size=6,
        )
    )
    subtotal = sum(
        (p.quantity * incl_vat(_unit_price(p), p.tax, places) for p in products), Decimal(0)
    )
    fee_classes = ["ot_shipping", *_table_keys(lookups.fee_articles)]
    fees = draw(
        st.lists(
            st.tuples(st.sampled_from(fee_classes), amounts(places, -200, 200)),
            max_size=3,
            unique_by=lambda fee: fee[0],
        )
    )
    total_rows = subtotal + sum((value for _, value in fees), Decimal(0))
    cards = draw(
        st.lists(
            from_model(_model_of(model, "gift_cards"), amount=_positive(places, 300)),
            max_size=3,
        )
    )
    gift_total = sum((c.amount for c in cards), Decimal(0))
    paid = total_rows - gift_total
    lines = [("ot_subtotal", subtotal), *fees]
    if cards:
        lines.append(("ot_giftcard", -gift_total))
    lines += [("ot_tax", draw(amounts(2, 0, 5_000))), ("ot_total", paid)]
    total = _model_of(model, "totals")
    totals = tuple(
        draw(from_model(total, class_=st.just(cls), value=st.just(value))) for cls, value in lines
    )
    countries = st.sampled_from(_table_keys(lookups.countries))
    return draw(
        from_model(
            model,
            customer_id=_optional(_ids),
            currency=st.just(currency),
            billing_address=from_model(_model_of(model, "billing_address"), country_id=countries),
            delivery_address=from_model(_model_of(model, "delivery_address"), country_id=countries),
            payment=from_model(
                _model_of(model, "payment"),
                payment_method=st.sampled_from(_table_keys(lookups.payment_methods)),
            ),
            shipping=from_model(
                _model_of(model, "shipping"),
                method_id=st.sampled_from(_table_keys(lookups.shipping_methods)),
            ),
            products=st.just(tuple(products)),
            totals=st.just(totals),
            gift_cards=st.just(tuple(cards)),
        )
    )


@st.composite
def bex_orders_for(
    draw: st.DrawFn, lookups: Lookups, *, model: type[bex.Order] = bex.Order
) -> bex.Order:
    """Bex orders as the integration writes them with ``lookups``.

    Product rows first, then fee rows (shipping with the ``FraktID``, fees from
    ``fee_articles``, at the ``fee_tax_rate``); the web payment first, then gift cards on the
    web payment's date; ``Ordernr`` and ``Kundnr`` are Vendre ids. For these,
    Bex → Vendre → Bex is the identity. ``model`` is the class drawn: ``bex.Order`` or a
    subclass, whose further fields are derived (:func:`from_model`).
    """
    currency = draw(st.sampled_from(["SEK", "EUR", "NOK", "DKK", "JPY"]))
    places = minor_unit(currency)
    cents = Decimal("0.01")
    fee_rate = lookups.settings.fee_tax_rate.quantize(cents)
    shipping_id = draw(st.sampled_from(_table_values(lookups.shipping_methods)))
    fee_articles = [shipping_id, *_table_values(lookups.fee_articles)]
    # An unsized product row named like a fee article would read back as a fee row.
    product_codes = model_codes().filter(
        lambda c: c.size is not None or c.article not in fee_articles
    )
    row = _model_of(model, "rows")
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        product = draw(
            from_model(
                row,
                **_code_fields(draw(product_codes)),
                quantity=st.integers(1, 5),
                price=amounts(places, 0, 5_000).map(lambda p: p.quantize(cents)),
                amount=st.just(Decimal(0)),
            )
        )
        rows.append(attrs.evolve(product, amount=product.quantity * product.price))
    for article in draw(st.lists(st.sampled_from(fee_articles), max_size=3, unique=True)):
        value = draw(amounts(places, -200, 200)).quantize(cents)
        rows.append(
            draw(
                from_model(
                    row,
                    **_parts(article, None, None),
                    quantity=st.just(1),
                    price=st.just(value),
                    vat_rate=st.just(fee_rate),
                    amount=st.just(value),
                )
            )
        )
    total = sum((r.amount for r in rows), Decimal(0))
    paid_date = st.just(draw(shop_datetimes()))
    payment = _model_of(model, "payments")
    # A gift card's numbers are the Vendre card's code and reservation: never blank there.
    cards = [
        draw(
            from_model(
                payment,
                document_number=_nonblank(),
                transaction_number=_nonblank(),
                date=paid_date,
                code=st.just(lookups.gift_card_payment_code),
                amount=_positive(places, 300).map(lambda a: a.quantize(cents)),
            )
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    web = draw(
        from_model(
            payment,
            date=paid_date,
            code=st.sampled_from(_table_values(lookups.payment_methods)),
            amount=st.just(total - sum((c.amount for c in cards), Decimal(0))),
        )
    )
    countries = st.sampled_from(_table_values(lookups.countries))
    return draw(
        from_model(
            model,
            number=_ids.map(str),
            customer_number=_optional(_ids.map(str)),
            currency=st.just(currency),
            invoice_address=from_model(_model_of(model, "invoice_address"), country=countries),
            delivery_address=from_model(
                _model_of(model, "delivery_address"), country_code=countries
            ),
            payments=st.just((web, *cards)),
            rows=st.just(tuple(rows)),
            shipping_id=st.just(shipping_id),
            total=st.just(total),
        )
    )
