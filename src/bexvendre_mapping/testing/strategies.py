"""Hypothesis strategies for every model of both systems.

Each strategy generates models that the library's dumpers can write and its loaders read
back to an equal model: amounts at their wire's number of decimals, date-times in the shop's
time zone (daylight-saving gaps and overlaps included), model codes that obey SPEC §4.

>>> from hypothesis import given
>>> from bexvendre_mapping import vendre
>>> @given(vendre_orders())
... def test_round_trip(order):
...     assert vendre.load_order(vendre.dumps_order(order)) == order
>>> test_round_trip()
"""

from __future__ import annotations

import string
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import strategies as st

from bexvendre_mapping import bex, vendre
from bexvendre_mapping._dates import DEFAULT_TIME_ZONE, time_zone
from bexvendre_mapping._lookups import Lookups
from bexvendre_mapping._modelcode import ModelCode
from bexvendre_mapping.money import incl_vat, minor_unit

__all__ = [
    "amounts",
    "article_numbers",
    "bex_articles",
    "bex_bonus_balances",
    "bex_gift_card_reservations",
    "bex_gift_cards",
    "bex_order_statuses",
    "bex_orders",
    "bex_orders_for",
    "bex_rows",
    "bex_stock",
    "code_parts",
    "model_codes",
    "shop_datetimes",
    "texts",
    "vendre_bonus_balances",
    "vendre_gift_cards",
    "vendre_order_status_updates",
    "vendre_orders",
    "vendre_orders_for",
    "vendre_products",
    "vendre_stock_updates",
]

_WORD = string.ascii_letters + string.digits + "ÅÄÖåäöéü-"


def texts(min_size: int = 0, max_size: int = 24) -> st.SearchStrategy[str]:
    """Free text as shoppers type it: any printable Unicode, spaces and Swedish letters."""
    return st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
        min_size=min_size,
        max_size=max_size,
    )


def _words(min_size: int = 1, max_size: int = 12) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(_WORD), min_size=min_size, max_size=max_size)


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


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


# --- Vendre --------------------------------------------------------------------------------


def _vendre_address() -> st.SearchStrategy[vendre.Address]:
    return st.builds(
        vendre.Address,
        name=texts(1),
        street_address=texts(1),
        street_address2=_optional(texts()),
        postcode=_words(),
        city=texts(1),
        country_id=_ids,
    )


def _vendre_customer_address() -> st.SearchStrategy[vendre.CustomerAddress]:
    return st.builds(
        vendre.CustomerAddress,
        name=texts(1),
        street_address=texts(1),
        street_address2=_optional(texts()),
        postcode=_words(),
        city=texts(1),
        country_id=_optional(_ids),
        email_address=_optional(_words()),
        phone_default=_optional(_words()),
        phone_mobile=_optional(_words()),
    )


def vendre_orders() -> st.SearchStrategy[vendre.Order]:
    """Any Vendre order the wire format allows (not necessarily adding up)."""
    return st.builds(
        vendre.Order,
        id=_ids,
        date_added=shop_datetimes(),
        customer_id=_optional(_ids),
        status=_optional(st.integers(0, 50)),
        currency=_currency,
        currency_value=amounts(8, 0, 100),
        billing_address=_vendre_address(),
        customer_address=_vendre_customer_address(),
        delivery_address=_vendre_address(),
        payment=st.builds(
            vendre.Payment,
            external_id=_words(),
            transaction_id=_words(),
            date_added=shop_datetimes(),
            payment_method=_words(),
        ),
        products=st.lists(
            st.builds(
                vendre.OrderProduct,
                quantity=st.integers(1, 20),
                model=model_codes(),
                name=texts(1),
                price=amounts(4, 0, 10_000),
                tax=_vat.map(lambda v: v.quantize(Decimal("0.0001"))),
            ),
            min_size=1,
            max_size=6,
        ).map(tuple),
        totals=st.lists(
            st.builds(
                vendre.Total,
                class_=st.sampled_from(["ot_subtotal", "ot_shipping", "ot_tax", "ot_total"]),
                title=texts(),
                value=amounts(4, -1000, 10_000),
            ),
            max_size=5,
        ).map(tuple),
        shipping=st.builds(vendre.Shipping, method_id=_words(), title=texts()),
        gift_cards=st.lists(
            st.builds(
                vendre.GiftCardUse,
                code=_words(),
                amount=amounts(4, 0, 1000).filter(bool),  # a gift card pays more than 0
                reservation_id=_words(),
            ),
            max_size=3,
        ).map(tuple),
    )


@st.composite
def vendre_products(draw: st.DrawFn) -> vendre.Product:
    """A Vendre product, unsized or with one variant per size."""
    sized = draw(st.booleans())
    article = draw(article_numbers(sized))
    group = draw(code_parts()) if sized else None
    sizes = draw(st.lists(code_parts(), min_size=1, max_size=8, unique=True)) if sized else []
    return vendre.Product(
        article_number=article,
        name={"sv": draw(texts(1))}
        | draw(st.dictionaries(st.sampled_from(["en", "fi", "no"]), texts(1), max_size=2)),
        manufacturer_id=draw(_words()),
        price=draw(amounts(4, 0, 10_000)),
        tax_rate=draw(_vat).quantize(Decimal("0.0001")),
        price_in=draw(amounts(4, 0, 10_000)),
        category_id=draw(_ids),
        size_group=group,
        variants=tuple(
            vendre.Variant(
                article_number=ModelCode(article, group, size),
                size=size,
                ean1=draw(_optional(st.text(string.digits, min_size=8, max_size=13))),
            )
            for size in sizes
        ),
    )


def vendre_stock_updates() -> st.SearchStrategy[vendre.StockUpdate]:
    """Vendre stock updates."""
    return st.builds(
        vendre.StockUpdate,
        article_number=model_codes(),
        quantity=st.integers(0, 10**6),
        status=st.sampled_from([0, 1]),
    )


def vendre_order_status_updates() -> st.SearchStrategy[vendre.OrderStatusUpdate]:
    """Vendre order status updates."""
    return st.builds(vendre.OrderStatusUpdate, id=_ids, status=st.integers(0, 50))


def vendre_gift_cards() -> st.SearchStrategy[vendre.GiftCard]:
    """Gift cards as Vendre's checkout sees them."""
    return st.builds(
        vendre.GiftCard,
        code=_words(),
        balance=amounts(4, 0, 10_000),
        currency=_currency,
        expires=_optional(_dates()),
        usable=st.booleans(),
        status=st.none(),
    ).flatmap(
        lambda card: st.sampled_from(
            [None, "active"] if card.usable else [None, "reserved", "used", "blocked"]
        ).map(lambda status: attrs.evolve(card, status=status))
    )


def vendre_bonus_balances() -> st.SearchStrategy[vendre.BonusBalance]:
    """Vendre bonus balances."""
    return st.builds(vendre.BonusBalance, customer_id=_ids, points=st.integers(0, 10**7))


# --- Bex -----------------------------------------------------------------------------------


@st.composite
def bex_rows(draw: st.DrawFn) -> bex.Row:
    """Any Bex order row: sized, unsized or a fee row (which may be negative)."""
    code = draw(model_codes())
    quantity = draw(st.integers(1, 20))
    price = draw(amounts(2, -1000, 10_000))
    return bex.Row(
        article=code.article,
        size_group=code.size_group,
        size=code.size,
        quantity=quantity,
        description=draw(texts(1)),
        price=price,
        vat_rate=draw(_vat).quantize(Decimal("0.01")),
        amount=quantity * price,
    )


def _bex_payment() -> st.SearchStrategy[bex.Payment]:
    return st.builds(
        bex.Payment,
        document_number=_words(),
        transaction_number=_words(),
        date=shop_datetimes(),
        code=_words(),
        amount=amounts(2, 0, 100_000),
    )


def bex_orders() -> st.SearchStrategy[bex.Order]:
    """Any Bex order the wire format allows (not necessarily adding up)."""
    return st.builds(
        bex.Order,
        number=st.integers(1, 10**9).map(str),
        order_date=shop_datetimes(),
        customer_number=_optional(st.integers(1, 10**9).map(str)),
        currency=_currency,
        currency_rate=amounts(8, 0, 100),
        invoice_address=st.builds(
            bex.InvoiceAddress,
            name=texts(1),
            address=texts(1),
            address2=_optional(texts()),
            postcode=_words(),
            city=texts(1),
            country=_country,
        ),
        orderer=st.builds(
            bex.Orderer,
            name=texts(1),
            address=texts(1),
            address2=_optional(texts()),
            postcode=_words(),
            city=texts(1),
            email=_optional(_words()),
            phone=_optional(_words()),
            mobile=_optional(_words()),
        ),
        delivery_address=st.builds(
            bex.DeliveryAddress,
            name=texts(1),
            address=texts(1),
            address2=_optional(texts()),
            postcode=_words(),
            city=texts(1),
            country_code=_country,
        ),
        payments=st.lists(_bex_payment(), min_size=1, max_size=3).map(tuple),
        rows=st.lists(bex_rows(), min_size=1, max_size=6).map(tuple),
        shipping_id=_words(),
        total=amounts(2, -1000, 100_000),
    )


@st.composite
def bex_articles(draw: st.DrawFn) -> bex.Article:
    """A Bex article, unsized or with unique sizes."""
    sized = draw(st.booleans())
    sizes = draw(st.lists(code_parts(), min_size=1, max_size=8, unique=True)) if sized else []
    return bex.Article(
        article=draw(article_numbers(sized)),
        size_group=draw(code_parts()) if sized else None,
        description=draw(texts(1)),
        supplier_id=draw(_words()),
        price=draw(amounts(2, 0, 100_000)),
        vat_rate=draw(_vat).quantize(Decimal("0.01")),
        purchase_price=draw(amounts(2, 0, 100_000)),
        external_reference=draw(_words()),
        sizes=tuple(
            bex.Size(
                size=size,
                barcode=draw(_optional(st.text(string.digits, min_size=8, max_size=13))),
            )
            for size in sizes
        ),
    )


@st.composite
def bex_stock(draw: st.DrawFn, min_quantity: int = -1000) -> bex.Stock:
    """A Bex stock row (quantities may be negative, as in a point-of-sale system)."""
    code = draw(model_codes())
    return bex.Stock(
        article=code.article,
        size_group=code.size_group,
        size=code.size,
        quantity=draw(st.integers(min_quantity, 10**6)),
    )


def bex_order_statuses() -> st.SearchStrategy[bex.OrderStatus]:
    """Bex order statuses."""
    return st.builds(bex.OrderStatus, order_number=st.integers(1, 10**9).map(str), status=_words())


def bex_gift_cards() -> st.SearchStrategy[bex.GiftCard]:
    """Bex gift cards in any state."""
    return st.builds(
        bex.GiftCard,
        number=_words(),
        balance=amounts(2, 0, 10_000),
        currency=_currency,
        valid_until=_optional(_dates()),
        status=st.sampled_from(bex.GiftCardStatus),
    )


def bex_gift_card_reservations() -> st.SearchStrategy[bex.GiftCardReservation]:
    """Bex gift-card reservations in any state."""
    return st.builds(
        bex.GiftCardReservation,
        reservation_id=_words(),
        number=_words(),
        amount=amounts(2, 0, 10_000),
        reference=_words(),
        status=st.sampled_from(bex.ReservationStatus),
    )


def bex_bonus_balances() -> st.SearchStrategy[bex.BonusBalance]:
    """Bex bonus balances."""
    return st.builds(
        bex.BonusBalance,
        customer_number=st.integers(1, 10**9).map(str),
        points=st.integers(0, 10**7),
    )


# --- documents that convert: consistent with a set of code tables -----------------------------


def _table_values(table: Any) -> list[Any]:
    values = [value for _, value in table.items()]
    if not values:
        msg = f"the {table.name!r} table is empty: nothing to draw codes from"
        raise ValueError(msg)
    return values


def _table_keys(table: Any) -> list[Any]:
    return [key for key, _ in table.items()]


@st.composite
def vendre_orders_for(draw: st.DrawFn, lookups: Lookups) -> vendre.Order:
    """Vendre orders that convert with ``lookups``: known codes, totals that add up.

    Rows may be sized or unsized (article numbers with ``_`` included), VAT 0–25 %,
    with discounts, fees, shipping and several gift cards. The lookups need at least one
    payment method, shipping method and country.
    """
    currency = draw(st.sampled_from(["SEK", "EUR", "NOK", "DKK", "JPY"]))
    places = minor_unit(currency)
    fee_articles = {
        *_table_values(lookups.shipping_methods),
        *(article for _, article in lookups.fee_articles.items()),
    }
    products = draw(
        st.lists(
            st.builds(
                vendre.OrderProduct,
                quantity=st.integers(1, 5),
                model=model_codes().filter(
                    lambda c: c.size is not None or c.article not in fee_articles
                ),
                name=texts(1),
                price=amounts(4, 0, 5_000),
                tax=_vat.map(lambda v: v.quantize(Decimal("0.0001"))),
            ),
            min_size=1,
            max_size=6,
        )
    )
    subtotal = sum((p.quantity * incl_vat(p.price, p.tax, places) for p in products), Decimal(0))
    fee_classes = ["ot_shipping", *_table_keys(lookups.fee_articles)]
    fees = draw(
        st.lists(
            st.tuples(st.sampled_from(fee_classes), texts(), amounts(places, -200, 200)),
            max_size=3,
            unique_by=lambda fee: fee[0],
        )
    )
    total_rows = subtotal + sum((value for _, _, value in fees), Decimal(0))
    cards = draw(
        st.lists(
            st.builds(
                vendre.GiftCardUse,
                code=_words(),
                amount=amounts(places, 0, 300).filter(bool),  # more than 0
                reservation_id=_words(),
            ),
            max_size=3,
        )
    )
    gift_total = sum((c.amount for c in cards), Decimal(0))
    paid = total_rows - gift_total
    totals = [
        vendre.Total(class_="ot_subtotal", title="Delsumma", value=subtotal),
        *(vendre.Total(class_=cls, title=title, value=value) for cls, title, value in fees),
    ]
    if cards:
        totals.append(vendre.Total(class_="ot_giftcard", title="Presentkort", value=-gift_total))
    totals += [
        vendre.Total(class_="ot_tax", title="Moms", value=draw(amounts(2, 0, 5_000))),
        vendre.Total(class_="ot_total", title="Totalt", value=paid),
    ]
    countries = st.sampled_from(_table_keys(lookups.countries))
    order = draw(vendre_orders())
    return attrs.evolve(
        order,
        currency=currency,
        billing_address=attrs.evolve(order.billing_address, country_id=draw(countries)),
        delivery_address=attrs.evolve(order.delivery_address, country_id=draw(countries)),
        payment=attrs.evolve(
            order.payment,
            payment_method=draw(st.sampled_from(_table_keys(lookups.payment_methods))),
        ),
        shipping=attrs.evolve(
            order.shipping,
            method_id=draw(st.sampled_from(_table_keys(lookups.shipping_methods))),
        ),
        products=tuple(products),
        totals=tuple(totals),
        gift_cards=tuple(cards),
    )


@st.composite
def bex_orders_for(draw: st.DrawFn, lookups: Lookups) -> bex.Order:
    """Bex orders as the integration writes them with ``lookups``.

    Product rows first, then fee rows (shipping with the ``FraktID``, fees from
    ``fee_articles``, at the ``fee_tax_rate``); the web payment first, then gift cards on the
    web payment's date; ``Ordernr`` and ``Kundnr`` are Vendre ids. For these,
    Bex → Vendre → Bex is the identity.
    """
    currency = draw(st.sampled_from(["SEK", "EUR", "NOK", "DKK", "JPY"]))
    places = minor_unit(currency)
    fee_rate = lookups.settings.fee_tax_rate.quantize(Decimal("0.01"))
    shipping_id = draw(st.sampled_from(_table_values(lookups.shipping_methods)))
    fee_articles = [shipping_id, *_table_values(lookups.fee_articles)]
    # An unsized product row named like a fee article would read back as a fee row.
    product_codes = model_codes().filter(
        lambda c: c.size is not None or c.article not in fee_articles
    )
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        code = draw(product_codes)
        quantity = draw(st.integers(1, 5))
        price = draw(amounts(places, 0, 5_000)).quantize(Decimal("0.01"))
        rows.append(
            bex.Row(
                article=code.article,
                size_group=code.size_group,
                size=code.size,
                quantity=quantity,
                description=draw(texts(1)),
                price=price,
                vat_rate=draw(_vat).quantize(Decimal("0.01")),
                amount=quantity * price,
            )
        )
    for article in draw(st.lists(st.sampled_from(fee_articles), max_size=3, unique=True)):
        value = draw(amounts(places, -200, 200)).quantize(Decimal("0.01"))
        rows.append(
            bex.Row(
                article=article,
                quantity=1,
                description=draw(texts()),
                price=value,
                vat_rate=fee_rate,
                amount=value,
            )
        )
    total = sum((r.amount for r in rows), Decimal(0))
    base = draw(bex_orders())
    paid_date = draw(shop_datetimes())
    gift_code = lookups.gift_card_payment_code
    cards = [
        bex.Payment(
            document_number=draw(_words()),
            transaction_number=draw(_words()),
            date=paid_date,
            code=gift_code,
            amount=draw(amounts(places, 0, 300).filter(bool)).quantize(Decimal("0.01")),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    web = bex.Payment(
        document_number=draw(_words()),
        transaction_number=draw(_words()),
        date=paid_date,
        code=draw(st.sampled_from(_table_values(lookups.payment_methods))),
        amount=total - sum((c.amount for c in cards), Decimal(0)),
    )
    countries = st.sampled_from(_table_values(lookups.countries))
    return attrs.evolve(
        base,
        currency=currency,
        invoice_address=attrs.evolve(base.invoice_address, country=draw(countries)),
        delivery_address=attrs.evolve(base.delivery_address, country_code=draw(countries)),
        payments=(web, *cards),
        rows=tuple(rows),
        shipping_id=shipping_id,
        total=total,
    )
