"""Vendre's entities, as typed attrs models (SPEC §3, "Vendre").

Attribute names are Vendre's own JSON keys (they are English already), except ``Total.class_``
(``class`` is a Python keyword). Prices are *excluding* VAT with at most 4 decimals, as Vendre
keeps them; they are JSON numbers on the wire (read exactly from their text, never through a
float; strings are read too) and dumps write them as numbers (SPEC §8). Dates are instants:
Unix epoch seconds as the API sends them, or wall-clock text. Models do not re-validate on
construction: the loaders validate wire data, and the types say what a model holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

from bexvendre_mapping._checks import (
    at_least,
    currency_code,
    nonempty,
    one_of,
    positive_amount,
    vat_percent,
)
from bexvendre_mapping._errors import Problem
from bexvendre_mapping._modelcode import ModelCode
from bexvendre_mapping._plan import wire

__all__ = [
    "Address",
    "BonusBalance",
    "CustomerAddress",
    "GiftCard",
    "GiftCardUse",
    "Order",
    "OrderProduct",
    "OrderStatusUpdate",
    "Payment",
    "Product",
    "ProductFamily",
    "Shipping",
    "StockUpdate",
    "Total",
    "Warehouse",
    "families",
]

PRICE_PLACES = 4
RATE_PLACES = 8


def money(places: int = PRICE_PLACES, check: Any = None) -> dict[str, Any]:
    """A Vendre amount: a JSON number with at most ``places`` decimals (strings read too)."""
    return wire(places=places, check=check, number=True)


@attrs.frozen(kw_only=True)
class Address:
    """A billing or delivery address (``billing_address``, ``delivery_address``)."""

    name: str
    """``name``: the addressee."""
    street_address: str
    """``street_address``."""
    street_address2: str | None = None
    """``street_address2``: a second address line, may be empty or absent."""
    postcode: str
    """``postcode``."""
    city: str
    """``city``."""
    country_id: int
    """``country_id``: Vendre's country id (see the ``countries`` code table)."""


@attrs.frozen(kw_only=True)
class CustomerAddress:
    """The orderer's address and contact details (``customer_address``)."""

    name: str
    """``name``."""
    street_address: str
    """``street_address``."""
    street_address2: str | None = None
    """``street_address2``."""
    postcode: str
    """``postcode``."""
    city: str
    """``city``."""
    country_id: int | None = None
    """``country_id``: optional on the orderer's address."""
    email_address: str | None = None
    """``email_address``."""
    phone_default: str | None = None
    """``phone_default``."""
    phone_mobile: str | None = None
    """``phone_mobile``."""


@attrs.frozen(kw_only=True)
class Payment:
    """The web payment through the shop's payment provider (``payment``)."""

    external_id: str
    """``external_id``: the payment provider's document number."""
    transaction_id: str
    """``transaction_id``: needed by Bex to settle or refund Klarna, Adyen, PayPal."""
    date_added: datetime = attrs.field(metadata=wire(epoch=True))
    """``date_added``: Unix epoch seconds, as Vendre's API sends them, or date-time text."""
    payment_method: str = attrs.field(metadata=wire(check=nonempty))
    """``payment_method``: the shop's method code (see the ``payment_methods`` table)."""


@attrs.frozen(kw_only=True)
class OrderProduct:
    """An order row (``products[]``)."""

    quantity: int = attrs.field(metadata=wire(check=at_least(1)))
    """``quantity``: at least 1."""
    model: ModelCode
    """``model``: ``Artikelnr_Storleksgrupp_Storlek``, or the article number alone."""
    name: str
    """``name``."""
    price: Decimal = attrs.field(metadata=money())
    """``price``: unit price *excluding* VAT, before attribute values and discounts."""
    tax: Decimal = attrs.field(metadata=money(check=vat_percent))
    """``tax``: VAT percent from 0 to 100, e.g. ``25``."""
    final_price: Decimal | None = attrs.field(default=None, metadata=money())
    """``final_price``: "the price of the product" as Vendre documents it, *excluding* VAT,
    after attribute values and discounts; when present, the row's unit price in Bex."""


@attrs.frozen(kw_only=True)
class Total:
    """One line of the order's totals (``totals[]``), including VAT."""

    class_: str = attrs.field(metadata=wire("class", check=nonempty))
    """``class``: ``ot_subtotal``, ``ot_shipping``, ``ot_payment``, ``ot_discount``,
    ``ot_giftcard``, ``ot_tax``, ``ot_total`` or a shop-specific class."""
    title: str
    """``title``: the text the customer saw."""
    value: Decimal = attrs.field(metadata=money())
    """``value``: including VAT; discounts and gift cards are negative."""


@attrs.frozen(kw_only=True)
class Shipping:
    """The shipping method chosen (``shipping``)."""

    method_id: str = attrs.field(metadata=wire(check=nonempty))
    """``method_id``: see the ``shipping_methods`` table."""
    title: str
    """``title``."""


@attrs.frozen(kw_only=True)
class GiftCardUse:
    """A Bex gift card used at checkout (``gift_cards[]``)."""

    code: str = attrs.field(metadata=wire(check=nonempty))
    """``code``: the card number."""
    amount: Decimal = attrs.field(metadata=money(check=positive_amount))
    """``amount``: how much of the card's balance pays for the order; more than 0."""
    reservation_id: str = attrs.field(metadata=wire(check=nonempty))
    """``reservation_id``: the Bex reservation made at checkout."""


@attrs.frozen(kw_only=True)
class Order:
    """A Vendre order (``Orderanrop``), as fetched by the integration."""

    id: int = attrs.field(metadata=wire(check=at_least(1)))
    """``id``: the order number (Bex ``Ordernr``)."""
    date_added: datetime = attrs.field(metadata=wire(epoch=True))
    """``date_added``: when the order was placed: Unix epoch seconds, as Vendre's API sends
    them, or date-time text; the shop's wall clock in the model."""
    customer_id: int | None = None
    """``customer_id``: ``None`` for a guest."""
    status: int | None = None
    """``status``: the shop-specific status id."""
    currency: str = attrs.field(metadata=wire(check=currency_code))
    """``currency``: ISO 4217."""
    currency_value: Decimal = attrs.field(metadata=money(RATE_PLACES))
    """``currency_value``: the exchange rate."""
    billing_address: Address
    """``billing_address``: invoiced to."""
    customer_address: CustomerAddress
    """``customer_address``: the orderer."""
    delivery_address: Address
    """``delivery_address``."""
    payment: Payment
    """``payment``."""
    products: tuple[OrderProduct, ...]
    """``products``: the rows."""
    totals: tuple[Total, ...]
    """``totals``."""
    shipping: Shipping
    """``shipping``."""
    gift_cards: tuple[GiftCardUse, ...] = ()
    """``gift_cards``: optional; omitted from dumps when empty."""


@attrs.frozen(kw_only=True)
class Warehouse:
    """A product's stock in one of the shop's warehouses (``warehouses[]``)."""

    external_id: str
    """``external_id``: the warehouse, as the ``warehouses`` table names it."""
    quantity: int
    """``quantity``: may be negative, as a shop may oversell."""
    location: str | None = None
    """``location``: the shelf, if the shop keeps one."""


@attrs.frozen(kw_only=True)
class Product:
    """A Vendre product as ``/API/1/products`` lists it (SPEC §8).

    The model keeps the fields the integration maps or writes back; every other key of the
    record is read past. A sized Bex article is a parent product and one child product per size (see
    :class:`ProductFamily`); an unsized article is one product. Fields the Bex article does
    not decide (stock, visibility, Vendre's own ids and dates) are ``None`` in what the
    converters make, and dumps leave ``None`` out, so saving a converted product never
    overwrites them.
    """

    id: int | None = attrs.field(default=None, metadata=wire(check=at_least(1)))
    """``id``: Vendre's product id; ``None`` before the product is created."""
    article_number: str = attrs.field(metadata=wire(check=nonempty))
    """``article_number``: the Bex ``Artikel`` (a parent or unsized product) or the model
    code ``Artikel_Storleksgrupp_Storlek`` (a size)."""
    ean1: str | None = None
    """``ean1``: the barcode (Bex ``Streckkod`` of the size); may be empty."""
    external_id: str | None = None
    """``external_id``: the integration's reference; the converters set the article number."""
    name: Mapping[str, str]
    """``name``: texts keyed by language (``sv``, ``en``, ...)."""
    price: Decimal = attrs.field(metadata=money())
    """``price``: *excluding* VAT."""
    price_in: Decimal | None = attrs.field(default=None, metadata=money())
    """``price_in``: purchase price, excluding VAT; ``null`` when the shop has none."""
    tax_class_id: int
    """``tax_class_id``: the VAT class (see the ``tax_classes`` table: a class is a rate)."""
    category_ids: tuple[int, ...] = ()
    """``category_ids``: the product's categories (see the ``categories`` table)."""
    manufacturer_id: int | None = None
    """``manufacturer_id``: see the ``manufacturers`` table; ``null`` for none."""
    quantity: int | None = None
    """``quantity``: stock in all; may be negative."""
    warehouses: tuple[Warehouse, ...] | None = None
    """``warehouses``: stock per warehouse."""
    status: bool | None = None
    """``status``: whether the product is active."""
    show: bool | None = None
    """``show``: whether the product is shown in the shop."""
    parent: int | None = None
    """``parent``: the parent product's id for a size, ``0`` when none."""
    is_parent: bool | None = None
    """``is_parent``: whether sizes hang under it."""
    child_product_ids: tuple[int, ...] | None = None
    """``child_product_ids``: the ids of its sizes."""
    date_added: datetime | None = attrs.field(default=None, metadata=wire(epoch=True))
    """``date_added``: Unix epoch seconds, or date-time text."""
    date_modified: datetime | None = attrs.field(default=None, metadata=wire(epoch=True))
    """``date_modified``: Unix epoch seconds, or date-time text."""


@attrs.frozen(kw_only=True)
class ProductFamily:
    """A Bex article on Vendre's side: the ``parent`` product and one child per size.

    An unsized article is a family without children. Not a wire document of its own: its
    products are (see :func:`families` to group a listing).
    """

    parent: Product
    """The product that stands for the article (article number = the Bex ``Artikel``)."""
    children: tuple[Product, ...] = ()
    """One product per size (article number = the model code), in the article's order."""


def families(products: Iterable[Product]) -> list[ProductFamily]:
    """Group listed products into families: each parent with its children, in listing order.

    A child is found by its ``parent`` id (or by the parent's ``child_product_ids``); a
    product that is neither a parent nor a child is a family of its own; a child whose
    parent is not among ``products`` is left out (list it with its parent).
    """
    listed = list(products)
    by_id = {p.id: p for p in listed if p.id is not None}
    children: dict[int, list[Product]] = {}
    claimed: set[int] = set()
    for product in listed:
        if product.parent and product.parent in by_id and product.id is not None:
            children.setdefault(product.parent, []).append(product)
            claimed.add(product.id)
    for product in listed:
        for child_id in product.child_product_ids or ():
            child = by_id.get(child_id)
            if product.id is not None and child is not None and child_id not in claimed:
                children.setdefault(product.id, []).append(child)
                claimed.add(child_id)
    result = []
    for product in listed:
        if product.id in claimed or (product.parent and product.id is not None):
            continue
        kids = children.get(product.id, []) if product.id is not None else []
        result.append(ProductFamily(parent=product, children=tuple(kids)))
    return result


@attrs.frozen(kw_only=True)
class StockUpdate:
    """A stock level for one variant (``Lageranrop``)."""

    article_number: ModelCode
    """``article_number``: the model code."""
    quantity: int = attrs.field(metadata=wire(check=at_least(0)))
    """``quantity``: at least 0."""
    status: int = attrs.field(metadata=wire(check=one_of(0, 1)))
    """``status``: 1 to show the variant in the shop, 0 to hide it."""
    warehouse: str | None = None
    """``warehouse``: the Vendre warehouse (``external_id``) the quantity is in, when the
    ``warehouses`` table maps the Bex location; the quantity is then saved there too."""


@attrs.frozen(kw_only=True)
class OrderStatusUpdate:
    """A new status for an order."""

    id: int = attrs.field(metadata=wire(check=at_least(1)))
    """``id``: the order id."""
    status: int
    """``status``: the shop-specific status id."""


def _gift_card_check(card: GiftCard) -> list[Problem]:
    if card.status is not None and card.usable != (card.status == "active"):
        return [Problem("$.usable", f"{card.usable} contradicts the status {card.status!r}")]
    return []


@attrs.frozen(kw_only=True)
class GiftCard:
    """A gift card as the checkout sees it."""

    code: str = attrs.field(metadata=wire(check=nonempty))
    """``code``."""
    balance: Decimal = attrs.field(metadata=money())
    """``balance``."""
    currency: str = attrs.field(metadata=wire(check=currency_code))
    """``currency``."""
    expires: date | None = None
    """``expires``: the last day it can be used, ``None`` when it does not expire."""
    usable: bool
    """``usable``: whether the checkout may take it."""
    status: str | None = attrs.field(
        default=None, metadata=wire(check=one_of("active", "reserved", "used", "blocked"))
    )
    """``status``: ``active``, ``reserved``, ``used`` or ``blocked``, so the checkout can say
    why a card is not usable (an addition to SPEC §3: the Bex state has four values, which
    ``usable`` alone cannot carry back)."""

    _wire_check = staticmethod(_gift_card_check)


@attrs.frozen(kw_only=True)
class BonusBalance:
    """A customer's bonus points."""

    customer_id: int
    """``customer_id``."""
    points: int
    """``points``."""
