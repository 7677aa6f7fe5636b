"""The library's jobs written with msgspec: the order, product and stock pipelines.

Input Structs are decoded by typed ``msgspec.json.Decoder``s, which check required fields and
types; ``Meta`` constraints check ``quantity >= 1``, non-empty codes and ISO currency codes;
``__post_init__`` (run by the decoder) checks what msgspec has no constraint for: decimals
with at most 4 (Vendre) or 2 (Bex) places below 10**15 and never NaN, VAT percents from 0 to
100, wall-clock times placed in Europe/Stockholm, and every model code against SPEC §4. Output
Structs carry the wire keys as field names (``msgspec.field(name=...)``), omit ``None``
defaults, and are encoded by one ``msgspec.json.Encoder`` (decimals as strings).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec
from msgspec import Meta, Struct, field

from peers._common import (
    MINOR_UNITS,
    PeerError,
    Tables,
    check_places,
    check_vat,
    code_problems,
    excl_vat,
    format_datetime,
    incl_vat,
    join_code,
    load_tables,
    parse_model_code,
    quantize,
    to_zone,
)

__all__ = ["order_pipeline", "product_pipeline", "stream_stock"]

NonEmpty = Annotated[str, Meta(pattern=r"\S")]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]
AtLeastOne = Annotated[int, Meta(ge=1)]


# --- Vendre order (input) -------------------------------------------------------------------


class Address(Struct, kw_only=True):
    name: str
    street_address: str
    street_address2: str | None = None
    postcode: str
    city: str
    country_id: int


class CustomerAddress(Struct, kw_only=True):
    name: str
    street_address: str
    street_address2: str | None = None
    postcode: str
    city: str
    country_id: int | None = None
    email_address: str | None = None
    phone_default: str | None = None
    phone_mobile: str | None = None


class Payment(Struct, kw_only=True):
    external_id: str
    transaction_id: str
    date_added: datetime
    payment_method: NonEmpty

    def __post_init__(self) -> None:
        self.date_added = to_zone(self.date_added)


class OrderProduct(Struct, kw_only=True):
    quantity: AtLeastOne
    model: str
    name: str
    price: Decimal
    tax: Decimal

    def __post_init__(self) -> None:
        self.model = parse_model_code(self.model)  # type: ignore[assignment]
        self.price = check_places(self.price, 4)
        self.tax = check_vat(check_places(self.tax, 4))


class Total(Struct, kw_only=True):
    class_: NonEmpty = field(name="class")
    title: str
    value: Decimal

    def __post_init__(self) -> None:
        self.value = check_places(self.value, 4)


class Shipping(Struct, kw_only=True):
    method_id: NonEmpty
    title: str


class GiftCardUse(Struct, kw_only=True):
    code: NonEmpty
    amount: Decimal
    reservation_id: NonEmpty

    def __post_init__(self) -> None:
        self.amount = check_places(self.amount, 4)


class VendreOrder(Struct, kw_only=True):
    id: AtLeastOne
    date_added: datetime
    customer_id: int | None = None
    status: int | None = None
    currency: Currency
    currency_value: Decimal
    billing_address: Address
    customer_address: CustomerAddress
    delivery_address: Address
    payment: Payment
    products: list[OrderProduct]
    totals: list[Total]
    shipping: Shipping
    gift_cards: list[GiftCardUse] = []

    def __post_init__(self) -> None:
        self.date_added = to_zone(self.date_added)
        self.currency_value = check_places(self.currency_value, 8)


# --- Bex order (output) ---------------------------------------------------------------------


class InvoiceAddress(Struct, kw_only=True, omit_defaults=True):
    name: str = field(name="Namn")
    address: str = field(name="Adress")
    address2: str | None = field(default=None, name="Adress2")
    postcode: str = field(name="Postnr")
    city: str = field(name="Ort")
    country: str = field(name="Land")


class Orderer(Struct, kw_only=True, omit_defaults=True):
    name: str = field(name="Namn")
    address: str = field(name="Adress")
    address2: str | None = field(default=None, name="Adress2")
    postcode: str = field(name="PostNr")
    city: str = field(name="Ort")
    email: str | None = field(default=None, name="Epost")
    phone: str | None = field(default=None, name="Tel")
    mobile: str | None = field(default=None, name="Mobil")


class DeliveryAddress(Struct, kw_only=True, omit_defaults=True):
    name: str = field(name="Namn")
    address: str = field(name="Adress")
    address2: str | None = field(default=None, name="Adress2")
    postcode: str = field(name="Postkod")
    city: str = field(name="Ort")
    country_code: str = field(name="Landskod")


class BexPayment(Struct, kw_only=True):
    document_number: str = field(name="Externt dokumentnr")
    transaction_number: str = field(name="Transnr")
    date: str = field(name="Datum")
    code: str = field(name="Kod")
    amount: Decimal = field(name="Belopp")


class Row(Struct, kw_only=True, omit_defaults=True):
    article: str = field(name="Artikelnr")
    size_group: str | None = field(default=None, name="Storleksgrupp")
    size: str | None = field(default=None, name="Storlek")
    quantity: int = field(name="Antal")
    description: str = field(name="Beskrivning")
    price: Decimal = field(name="Pris")
    vat_rate: Decimal = field(name="Moms")
    amount: Decimal = field(name="Belopp inkl.moms")


class BexOrder(Struct, kw_only=True, omit_defaults=True):
    number: str = field(name="Ordernr")
    order_date: str = field(name="Orderdatum")
    customer_number: str | None = field(default=None, name="Kundnr")
    currency: str = field(name="Valuta")
    currency_rate: Decimal = field(name="Valutakod")
    invoice_address: InvoiceAddress = field(name="Faktureras")
    orderer: Orderer = field(name="Beställare")
    delivery_address: DeliveryAddress = field(name="Leveransadress")
    payments: list[BexPayment] = field(name="Butik & webbetalningar")
    rows: list[Row] = field(name="Artiklar")
    shipping_id: str = field(name="FraktID")
    total: Decimal = field(name="Belopp inkl.moms")


NOT_ROWS = frozenset({"ot_subtotal", "ot_tax", "ot_total", "ot_giftcard"})


def _exact(value: Decimal, places: int, path: str, problems: list[str]) -> Decimal:
    scaled = quantize(value, places)
    if scaled != value:
        problems.append(f"{path}: {value} cannot be written with {places} decimals")
    return scaled


def _lookup(table: object, code: object, path: str, problems: list[str]) -> object:
    try:
        return table.get(code, path)  # type: ignore[attr-defined]
    except PeerError as exc:
        problems.append(str(exc))
        return None


def order_to_bex(order: VendreOrder, tables: Tables) -> BexOrder:
    """SPEC §5: VAT-inclusive rows, fee rows, gift cards as payments, the totals check."""
    problems: list[str] = []
    places = MINOR_UNITS.get(order.currency)
    if places is None:
        problems.append(f"$.currency: unknown currency {order.currency!r}")
        places = 2
    bill, cust, deli, pay = (
        order.billing_address,
        order.customer_address,
        order.delivery_address,
        order.payment,
    )
    invoice = InvoiceAddress(
        name=bill.name,
        address=bill.street_address,
        address2=bill.street_address2,
        postcode=bill.postcode,
        city=bill.city,
        country=_lookup(
            tables.countries, bill.country_id, "$.billing_address.country_id", problems
        ),  # type: ignore[arg-type]
    )
    orderer = Orderer(
        name=cust.name,
        address=cust.street_address,
        address2=cust.street_address2,
        postcode=cust.postcode,
        city=cust.city,
        email=cust.email_address,
        phone=cust.phone_default,
        mobile=cust.phone_mobile,
    )
    delivery = DeliveryAddress(
        name=deli.name,
        address=deli.street_address,
        address2=deli.street_address2,
        postcode=deli.postcode,
        city=deli.city,
        country_code=_lookup(
            tables.countries, deli.country_id, "$.delivery_address.country_id", problems
        ),  # type: ignore[arg-type]
    )
    web_code = _lookup(tables.payment_methods, pay.payment_method, "$.payment", problems)
    shipping_id = _lookup(
        tables.shipping_methods, order.shipping.method_id, "$.shipping.method_id", problems
    )

    rows: list[Row] = []
    for index, product in enumerate(order.products):
        price = incl_vat(product.price, product.tax, places)
        code = product.model
        rows.append(
            Row(
                article=code.article,  # type: ignore[attr-defined]
                size_group=code.size_group,  # type: ignore[attr-defined]
                size=code.size,  # type: ignore[attr-defined]
                quantity=product.quantity,
                description=product.name,
                price=price,
                vat_rate=_exact(product.tax, 2, f"$.products[{index}].tax", problems),
                amount=product.quantity * price,
            )
        )
    fee_rate = quantize(tables.fee_tax_rate, 2)
    total_paid: Decimal | None = None
    for index, total in enumerate(order.totals):
        kind = total.class_
        if kind == "ot_total":
            if total_paid is not None:
                problems.append(f"$.totals[{index}].class: a second ot_total")
            total_paid = quantize(total.value, places)
        if kind in NOT_ROWS:
            continue
        if kind == "ot_shipping":
            article = shipping_id
        else:
            article = _lookup(tables.fee_articles, kind, f"$.totals[{index}].class", problems)
        value = quantize(total.value, places)
        rows.append(
            Row(
                article=article or "",  # type: ignore[arg-type]
                quantity=1,
                description=total.title,
                price=value,
                vat_rate=fee_rate,
                amount=value,
            )
        )
    if total_paid is None:
        problems.append("$.totals: no ot_total")
        total_paid = Decimal(0)

    date = format_datetime(pay.date_added)
    payments = [
        BexPayment(
            document_number=pay.external_id,
            transaction_number=pay.transaction_id,
            date=date,
            code=web_code,  # type: ignore[arg-type]
            amount=total_paid,
        )
    ]
    gift_code = tables.gift_card_payment_code
    payments += [
        BexPayment(
            document_number=card.code,
            transaction_number=card.reservation_id,
            date=date,
            code=gift_code,
            amount=_exact(card.amount, places, f"$.gift_cards[{index}].amount", problems),
        )
        for index, card in enumerate(order.gift_cards)
    ]
    if problems:
        raise PeerError("; ".join(problems))

    rows_total = sum((row.amount for row in rows), Decimal(0))
    paid = quantize(total_paid + sum((c.amount for c in order.gift_cards), Decimal(0)), places)
    tolerance = tables.tolerance * max(len(order.products), 1)
    if abs(rows_total - paid) > tolerance and tables.totals_policy == "error":
        raise PeerError(f"$.totals: the rows add up to {rows_total}, but {paid} was paid")

    return BexOrder(
        number=str(order.id),
        order_date=format_datetime(order.date_added),
        customer_number=None if order.customer_id is None else str(order.customer_id),
        currency=order.currency,
        currency_rate=quantize(order.currency_value, 8),
        invoice_address=invoice,
        orderer=orderer,
        delivery_address=delivery,
        payments=payments,
        rows=rows,
        shipping_id=shipping_id,  # type: ignore[arg-type]
        total=rows_total,
    )


# --- Bex article (input) -> Vendre product (output) -----------------------------------------


class Size(Struct, kw_only=True):
    size: NonEmpty = field(name="Storlek")
    barcode: str | None = field(default=None, name="Streckkod")


class Article(Struct, kw_only=True):
    article: str = field(name="Artikel")
    size_group: str | None = field(default=None, name="Storleksgrupp")
    description: str = field(name="Beskrivning")
    supplier_id: str = field(name="LeverantörsID")
    price: Decimal = field(name="Pris")
    vat_rate: Decimal = field(name="Moms")
    purchase_price: Decimal = field(name="Inköpspris")
    external_reference: NonEmpty = field(name="Extern referens")
    sizes: list[Size] = field(default_factory=list, name="Storlekar")

    def __post_init__(self) -> None:
        self.price = check_places(self.price, 2)
        self.vat_rate = check_vat(check_places(self.vat_rate, 2))
        self.purchase_price = check_places(self.purchase_price, 2)
        found: list[str] = []
        if self.size_group is None:
            found += code_problems(self.article, None, None)
            if self.sizes:
                found.append("sizes without a size group")
        elif not self.sizes:
            found += [*code_problems(self.article, self.size_group, "-"), "no sizes"]
        else:
            seen: set[str] = set()
            for size in self.sizes:
                found += code_problems(self.article, self.size_group, size.size)
                if size.size in seen:
                    found.append(f"size {size.size!r} appears twice")
                seen.add(size.size)
        if found:
            raise ValueError("; ".join(dict.fromkeys(found)))


class Variant(Struct, kw_only=True, omit_defaults=True):
    article_number: str
    size: str
    ean1: str | None = None


class Product(Struct, kw_only=True, omit_defaults=True):
    article_number: str
    name: dict[str, str]
    manufacturer_id: str
    price: Decimal
    tax_rate: Decimal
    price_in: Decimal
    category_id: int
    size_group: str | None = None
    variants: list[Variant] = []


def article_to_product(article: Article, tables: Tables) -> Product:
    category = tables.categories.get(article.external_reference, "$['Extern referens']")
    group = article.size_group
    return Product(
        article_number=article.article,
        name={"sv": article.description},
        manufacturer_id=article.supplier_id,
        price=excl_vat(article.price, article.vat_rate, 4),
        tax_rate=quantize(article.vat_rate, 4),
        price_in=quantize(article.purchase_price, 4),
        category_id=category,
        size_group=group,
        variants=[
            Variant(
                article_number=join_code(article.article, group, size.size),
                size=size.size,
                ean1=size.barcode,
            )
            for size in article.sizes
        ],
    )


# --- Bex stock (input) -> Vendre stock update (output) --------------------------------------


class Stock(Struct, kw_only=True):
    article: str = field(name="Artikelnr")
    size_group: str | None = field(default=None, name="Storleksgrupp")
    size: str | None = field(default=None, name="Storlek")
    quantity: int = field(name="Lagerantal")

    def __post_init__(self) -> None:
        found = code_problems(self.article, self.size_group, self.size)
        if found:
            raise ValueError("; ".join(found))


class StockUpdate(Struct):
    article_number: str
    quantity: int
    status: int


def stock_to_update(stock: Stock, tables: Tables) -> StockUpdate:
    quantity = max(stock.quantity, 0)
    shown = tables.always_show or quantity > 0
    return StockUpdate(
        join_code(stock.article, stock.size_group, stock.size), quantity, 1 if shown else 0
    )


# --- the pipelines --------------------------------------------------------------------------


def order_pipeline(lookups_path: str) -> Callable[[bytes], bytes]:
    tables = load_tables(lookups_path)
    load = msgspec.json.Decoder(VendreOrder).decode
    dump = msgspec.json.Encoder().encode

    def run(raw: bytes) -> bytes:
        return dump(order_to_bex(load(raw), tables))

    return run


def product_pipeline(lookups_path: str) -> Callable[[bytes], bytes]:
    tables = load_tables(lookups_path)
    load = msgspec.json.Decoder(Article).decode
    dump = msgspec.json.Encoder().encode

    def run(raw: bytes) -> bytes:
        return dump(article_to_product(load(raw), tables))

    return run


def stream_stock(lookups_path: str, source: str, target: str) -> int:
    """Bex stock JSON Lines in, Vendre stock updates JSON Lines out, one line at a time."""
    tables = load_tables(lookups_path)
    load = msgspec.json.Decoder(Stock).decode
    dump = msgspec.json.Encoder().encode
    count = 0
    with open(source, "rb") as lines, open(target, "wb") as out:
        write = out.write
        for line in lines:
            write(dump(stock_to_update(load(line), tables)) + b"\n")
            count += 1
    return count
