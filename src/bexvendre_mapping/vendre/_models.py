"""Vendre's entities, as typed attrs models (SPEC §3, "Vendre").

Attribute names are Vendre's own JSON keys (they are English already), except ``Total.class_``
(``class`` is a Python keyword). Prices are *excluding* VAT with 4 decimals, as Vendre keeps
them. Models do not re-validate on construction: the loaders validate wire data, and the
types say what a model holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

import attrs

from bexvendre_mapping._checks import (
    at_least,
    currency_code,
    nonempty,
    one_of,
    positive_amount,
    vat_percent,
    with_languages,
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
    "Shipping",
    "StockUpdate",
    "Total",
    "Variant",
]

PRICE_PLACES = 4
RATE_PLACES = 8


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
    price: Decimal = attrs.field(metadata=wire(places=PRICE_PLACES))
    """``price``: unit price *excluding* VAT, 4 decimals."""
    tax: Decimal = attrs.field(metadata=wire(places=PRICE_PLACES, check=vat_percent))
    """``tax``: VAT percent from 0 to 100, e.g. ``25.0000``."""


@attrs.frozen(kw_only=True)
class Total:
    """One line of the order's totals (``totals[]``), including VAT."""

    class_: str = attrs.field(metadata=wire("class", check=nonempty))
    """``class``: ``ot_subtotal``, ``ot_shipping``, ``ot_payment``, ``ot_discount``,
    ``ot_giftcard``, ``ot_tax``, ``ot_total`` or a shop-specific class."""
    title: str
    """``title``: the text the customer saw."""
    value: Decimal = attrs.field(metadata=wire(places=PRICE_PLACES))
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
    amount: Decimal = attrs.field(metadata=wire(places=PRICE_PLACES, check=positive_amount))
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
    currency_value: Decimal = attrs.field(metadata=wire(places=RATE_PLACES))
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
class Variant:
    """One size of a product (``variants[]``)."""

    article_number: ModelCode
    """``article_number``: the full model code."""
    size: str = attrs.field(metadata=wire(check=nonempty))
    """``size``: the Bex ``Storlek``."""
    ean1: str | None = None
    """``ean1``: the barcode."""


@attrs.frozen(kw_only=True)
class Product:
    """A Vendre product (``Produktanrop``), one per Bex article."""

    article_number: str = attrs.field(metadata=wire(check=nonempty))
    """``article_number``: the Bex ``Artikel``."""
    name: Mapping[str, str] = attrs.field(metadata=wire(check=with_languages("sv")))
    """``name``: texts keyed by language, at least ``sv``."""
    manufacturer_id: str
    """``manufacturer_id``: the Bex ``LeverantörsID``."""
    price: Decimal = attrs.field(metadata=wire(places=PRICE_PLACES))
    """``price``: *excluding* VAT, 4 decimals."""
    tax_rate: Decimal = attrs.field(metadata=wire(places=PRICE_PLACES, check=vat_percent))
    """``tax_rate``: VAT percent from 0 to 100."""
    price_in: Decimal = attrs.field(metadata=wire(places=PRICE_PLACES))
    """``price_in``: purchase price, excluding VAT."""
    category_id: int
    """``category_id``: see the ``categories`` table."""
    size_group: str | None = None
    """``size_group``: the Bex ``Storleksgrupp``, ``None`` for an unsized product."""
    variants: tuple[Variant, ...] = ()
    """``variants``: one per size."""


@attrs.frozen(kw_only=True)
class StockUpdate:
    """A stock level for one variant (``Lageranrop``)."""

    article_number: ModelCode
    """``article_number``: the model code."""
    quantity: int = attrs.field(metadata=wire(check=at_least(0)))
    """``quantity``: at least 0."""
    status: int = attrs.field(metadata=wire(check=one_of(0, 1)))
    """``status``: 1 to show the variant in the shop, 0 to hide it."""


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
    balance: Decimal = attrs.field(metadata=wire(places=PRICE_PLACES))
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
