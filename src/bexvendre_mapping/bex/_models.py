"""Bex's entities, as typed attrs models (SPEC §3, "Bex").

Attributes have English names; the wire keys are exactly as the seed's Bex column spells
them, Swedish letters and spaces included (``Beställare``, ``Belopp inkl.moms``). Prices are
*including* VAT with 2 decimals, as retail keeps them; purchase prices exclude VAT.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import attrs

from bexvendre_mapping._checks import (
    at_least,
    country_code,
    currency_code,
    nonempty,
    vat_percent,
)
from bexvendre_mapping._errors import Problem
from bexvendre_mapping._modelcode import ModelCode, code_problems
from bexvendre_mapping._plan import wire

__all__ = [
    "Article",
    "BonusBalance",
    "DeliveryAddress",
    "GiftCard",
    "GiftCardReservation",
    "GiftCardStatus",
    "InvoiceAddress",
    "Order",
    "OrderStatus",
    "Orderer",
    "Payment",
    "ReservationStatus",
    "Row",
    "Size",
    "Stock",
]

MONEY_PLACES = 2
# The seed writes "Belopp inkl.moms"; SPEC §3 wrote "Belopp inkl. moms". The seed's spelling
# is the key; loaders also accept the other.
_BELOPP_ALIASES = ("Belopp inkl. moms",)
RATE_PLACES = 8


_CODE_PATHS = ("$.Artikelnr", "$.Storleksgrupp", "$.Storlek")


def _code_check(model: Row | Stock) -> list[Problem]:
    """Article number, size group and size must form a valid model code (SPEC §4)."""
    return [
        Problem(_CODE_PATHS[index], message)
        for index, message in code_problems(model.article, model.size_group, model.size)
    ]


@attrs.frozen(kw_only=True)
class InvoiceAddress:
    """The invoiced-to block (``Faktureras``)."""

    name: str = attrs.field(metadata=wire("Namn"))
    """``Namn``."""
    address: str = attrs.field(metadata=wire("Adress"))
    """``Adress``."""
    address2: str | None = attrs.field(default=None, metadata=wire("Adress2"))
    """``Adress2``."""
    postcode: str = attrs.field(metadata=wire("Postnr"))
    """``Postnr``."""
    city: str = attrs.field(metadata=wire("Ort"))
    """``Ort``."""
    country: str = attrs.field(metadata=wire("Land", check=country_code))
    """``Land``: ISO 3166-1 alpha-2."""


@attrs.frozen(kw_only=True)
class Orderer:
    """The orderer block (``Beställare``)."""

    name: str = attrs.field(metadata=wire("Namn"))
    """``Namn``."""
    address: str = attrs.field(metadata=wire("Adress"))
    """``Adress``."""
    address2: str | None = attrs.field(default=None, metadata=wire("Adress2"))
    """``Adress2``."""
    postcode: str = attrs.field(metadata=wire("PostNr"))
    """``PostNr`` (capital N, as the seed spells it)."""
    city: str = attrs.field(metadata=wire("Ort"))
    """``Ort``."""
    email: str | None = attrs.field(default=None, metadata=wire("Epost"))
    """``Epost``."""
    phone: str | None = attrs.field(default=None, metadata=wire("Tel"))
    """``Tel``."""
    mobile: str | None = attrs.field(default=None, metadata=wire("Mobil"))
    """``Mobil``."""


@attrs.frozen(kw_only=True)
class DeliveryAddress:
    """The delivery block (``Leveransadress``)."""

    name: str = attrs.field(metadata=wire("Namn"))
    """``Namn``."""
    address: str = attrs.field(metadata=wire("Adress"))
    """``Adress``."""
    address2: str | None = attrs.field(default=None, metadata=wire("Adress2"))
    """``Adress2``."""
    postcode: str = attrs.field(metadata=wire("Postkod"))
    """``Postkod``."""
    city: str = attrs.field(metadata=wire("Ort"))
    """``Ort``."""
    country_code: str = attrs.field(metadata=wire("Landskod", check=country_code))
    """``Landskod``: ISO 3166-1 alpha-2."""


@attrs.frozen(kw_only=True)
class Payment:
    """A store or web payment (``Butik & webbetalningar[]``)."""

    document_number: str = attrs.field(metadata=wire("Externt dokumentnr"))
    """``Externt dokumentnr``."""
    transaction_number: str = attrs.field(metadata=wire("Transnr"))
    """``Transnr``."""
    date: datetime = attrs.field(metadata=wire("Datum"))
    """``Datum``."""
    code: str = attrs.field(metadata=wire("Kod", check=nonempty))
    """``Kod``: the payment method's code (the gift-card code for gift cards)."""
    amount: Decimal = attrs.field(metadata=wire("Belopp", places=MONEY_PLACES))
    """``Belopp``."""


@attrs.frozen(kw_only=True)
class Row:
    """An order row (``Artiklar[]``): an article, or a fee such as shipping or a discount."""

    article: str = attrs.field(metadata=wire("Artikelnr"))
    """``Artikelnr``."""
    size_group: str | None = attrs.field(default=None, metadata=wire("Storleksgrupp"))
    """``Storleksgrupp``: ``None`` for unsized and fee rows."""
    size: str | None = attrs.field(default=None, metadata=wire("Storlek"))
    """``Storlek``: ``None`` for unsized and fee rows."""
    quantity: int = attrs.field(metadata=wire("Antal", check=at_least(1)))
    """``Antal``."""
    description: str = attrs.field(metadata=wire("Beskrivning"))
    """``Beskrivning``."""
    price: Decimal = attrs.field(metadata=wire("Pris", places=MONEY_PLACES))
    """``Pris``: unit price *including* VAT."""
    vat_rate: Decimal = attrs.field(metadata=wire("Moms", places=MONEY_PLACES, check=vat_percent))
    """``Moms``: VAT percent from 0 to 100."""
    amount: Decimal = attrs.field(
        metadata=wire("Belopp inkl.moms", places=MONEY_PLACES, aliases=_BELOPP_ALIASES)
    )
    """``Belopp inkl.moms``: ``Antal × Pris``."""

    _wire_check = staticmethod(_code_check)

    @property
    def model_code(self) -> ModelCode:
        """The row's article, size group and size as one model code."""
        return ModelCode(self.article, self.size_group, self.size)


@attrs.frozen(kw_only=True)
class Order:
    """A Bex order, as the integration creates it from a Vendre order."""

    number: str = attrs.field(metadata=wire("Ordernr", check=nonempty))
    """``Ordernr``: the Vendre order id."""
    order_date: datetime = attrs.field(metadata=wire("Orderdatum"))
    """``Orderdatum``."""
    customer_number: str | None = attrs.field(default=None, metadata=wire("Kundnr"))
    """``Kundnr``: ``None`` for a guest."""
    currency: str = attrs.field(metadata=wire("Valuta", check=currency_code))
    """``Valuta``: ISO 4217."""
    currency_rate: Decimal = attrs.field(metadata=wire("Valutakod", places=RATE_PLACES))
    """``Valutakod``: the exchange rate (the seed maps ``currency_value`` to it)."""
    invoice_address: InvoiceAddress = attrs.field(metadata=wire("Faktureras"))
    """``Faktureras``."""
    orderer: Orderer = attrs.field(metadata=wire("Beställare"))
    """``Beställare``."""
    delivery_address: DeliveryAddress = attrs.field(metadata=wire("Leveransadress"))
    """``Leveransadress``."""
    payments: tuple[Payment, ...] = attrs.field(metadata=wire("Butik & webbetalningar"))
    """``Butik & webbetalningar``: the web payment, then one entry per gift card."""
    rows: tuple[Row, ...] = attrs.field(metadata=wire("Artiklar"))
    """``Artiklar``: product rows, then fee rows."""
    shipping_id: str = attrs.field(metadata=wire("FraktID", check=nonempty))
    """``FraktID``: the shipping method's external article number."""
    total: Decimal = attrs.field(
        metadata=wire("Belopp inkl.moms", places=MONEY_PLACES, aliases=_BELOPP_ALIASES)
    )
    """``Belopp inkl.moms``: the sum of the rows."""


@attrs.frozen(kw_only=True)
class Size:
    """One size of an article (``Storlekar[]``)."""

    size: str = attrs.field(metadata=wire("Storlek", check=nonempty))
    """``Storlek``."""
    barcode: str | None = attrs.field(default=None, metadata=wire("Streckkod"))
    """``Streckkod``: the EAN."""


def _article_check(article: Article) -> list[Problem]:
    """The article's parts must form valid model codes, one per size, sizes unique."""
    paths = ["$.Artikel", "$.Storleksgrupp", "$.Storlekar"]
    if article.size_group is None:
        found = code_problems(article.article, None, None)
        if article.sizes:
            found.append((2, "sizes without a size group"))
    elif not article.sizes:
        found = [
            *code_problems(article.article, article.size_group, "-"),
            (2, "a size group without sizes"),
        ]
    else:
        found = []
        seen: set[str] = set()
        for position, size in enumerate(article.sizes):
            paths.append(f"$.Storlekar[{position}].Storlek")
            for index, message in code_problems(article.article, article.size_group, size.size):
                found.append((len(paths) - 1 if index == 2 else index, message))
            if size.size in seen:
                found.append((len(paths) - 1, f"size {size.size!r} appears twice"))
            seen.add(size.size)
    return list(dict.fromkeys(Problem(paths[index], message) for index, message in found))


@attrs.frozen(kw_only=True)
class Article:
    """A Bex article, with its sizes (sent to Vendre as a product with variants)."""

    article: str = attrs.field(metadata=wire("Artikel"))
    """``Artikel``: the article number."""
    size_group: str | None = attrs.field(default=None, metadata=wire("Storleksgrupp"))
    """``Storleksgrupp``: ``None`` for an unsized article."""
    description: str = attrs.field(metadata=wire("Beskrivning"))
    """``Beskrivning``: the Swedish name."""
    supplier_id: str = attrs.field(metadata=wire("LeverantörsID"))
    """``LeverantörsID``."""
    price: Decimal = attrs.field(metadata=wire("Pris", places=MONEY_PLACES))
    """``Pris``: *including* VAT."""
    vat_rate: Decimal = attrs.field(metadata=wire("Moms", places=MONEY_PLACES, check=vat_percent))
    """``Moms``: VAT percent from 0 to 100."""
    purchase_price: Decimal = attrs.field(metadata=wire("Inköpspris", places=MONEY_PLACES))
    """``Inköpspris``: excluding VAT."""
    external_reference: str = attrs.field(metadata=wire("Extern referens", check=nonempty))
    """``Extern referens``: the article category's external reference."""
    sizes: tuple[Size, ...] = attrs.field(default=(), metadata=wire("Storlekar"))
    """``Storlekar``: empty for an unsized article."""

    _wire_check = staticmethod(_article_check)


@attrs.frozen(kw_only=True)
class Stock:
    """A stock level (``Lagerantal``) for one article or size."""

    article: str = attrs.field(metadata=wire("Artikelnr"))
    """``Artikelnr``."""
    size_group: str | None = attrs.field(default=None, metadata=wire("Storleksgrupp"))
    """``Storleksgrupp``."""
    size: str | None = attrs.field(default=None, metadata=wire("Storlek"))
    """``Storlek``."""
    quantity: int = attrs.field(metadata=wire("Lagerantal"))
    """``Lagerantal``: may be negative in a point-of-sale system."""

    _wire_check = staticmethod(_code_check)

    @property
    def model_code(self) -> ModelCode:
        """The stock row's article, size group and size as one model code."""
        return ModelCode(self.article, self.size_group, self.size)


@attrs.frozen(kw_only=True)
class OrderStatus:
    """An order's status in Bex."""

    order_number: str = attrs.field(metadata=wire("Ordernr", check=nonempty))
    """``Ordernr``."""
    status: str = attrs.field(metadata=wire("Status", check=nonempty))
    """``Status``: the Bex status code (see the ``order_statuses`` table)."""


class GiftCardStatus(enum.Enum):
    """A gift card's state in Bex."""

    ACTIVE = "Aktiv"
    RESERVED = "Reserverad"
    USED = "Använd"
    BLOCKED = "Spärrad"


class ReservationStatus(enum.Enum):
    """A gift-card reservation's state in Bex."""

    RESERVED = "Reserverad"
    REDEEMED = "Inlöst"
    RELEASED = "Släppt"


@attrs.frozen(kw_only=True)
class GiftCard:
    """A gift card held in Bex (``Presentkort``)."""

    number: str = attrs.field(metadata=wire("Nummer", check=nonempty))
    """``Nummer``."""
    balance: Decimal = attrs.field(metadata=wire("Saldo", places=MONEY_PLACES))
    """``Saldo``."""
    currency: str = attrs.field(metadata=wire("Valuta", check=currency_code))
    """``Valuta``."""
    valid_until: date | None = attrs.field(default=None, metadata=wire("Giltig till"))
    """``Giltig till``: the last valid day, ``None`` for no expiry."""
    status: GiftCardStatus = attrs.field(metadata=wire("Status"))
    """``Status``: ``Aktiv``, ``Reserverad``, ``Använd`` or ``Spärrad``."""


@attrs.frozen(kw_only=True)
class GiftCardReservation:
    """An amount of a gift card held for a Vendre order or checkout."""

    reservation_id: str = attrs.field(metadata=wire("ReservationsID", check=nonempty))
    """``ReservationsID``."""
    number: str = attrs.field(metadata=wire("Nummer", check=nonempty))
    """``Nummer``: the gift card."""
    amount: Decimal = attrs.field(metadata=wire("Belopp", places=MONEY_PLACES))
    """``Belopp``."""
    reference: str = attrs.field(metadata=wire("Referens", check=nonempty))
    """``Referens``: the Vendre order or checkout reference."""
    status: ReservationStatus = attrs.field(metadata=wire("Status"))
    """``Status``: ``Reserverad``, ``Inlöst`` or ``Släppt``."""


@attrs.frozen(kw_only=True)
class BonusBalance:
    """A customer's bonus points in Bex."""

    customer_number: str = attrs.field(metadata=wire("Kundnr", check=nonempty))
    """``Kundnr``."""
    points: int = attrs.field(metadata=wire("Bonuspoäng"))
    """``Bonuspoäng``."""
