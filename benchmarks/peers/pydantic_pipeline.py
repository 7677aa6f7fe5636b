"""The library's jobs written with pydantic v2: the order, product and stock pipelines.

Input models validate what the library's loaders validate: required fields and their types,
``quantity >= 1``, non-empty codes, ISO currency and country codes, decimals with at most 4
(Vendre) or 2 (Bex) places below 10**15 and never NaN, VAT percents from 0 to 100, wall-clock
times read in Europe/Stockholm, and every model code checked against SPEC §4. Parsing and
validation run in pydantic-core (``model_validate_json``); the checks pydantic has no
constraint for (model codes, time zones, the article's sizes) are
``AfterValidator``/``model_validator`` functions. Output models are built with their
constructors (pydantic-core validates them again, which measured faster than the pure-Python
``model_construct``) and serialised by pydantic-core with aliases, nulls omitted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from peers._common import (
    MAX_AMOUNT,
    MINOR_UNITS,
    PeerError,
    Tables,
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


def _amount(places: int) -> object:
    return Field(decimal_places=places, allow_inf_nan=False, gt=-MAX_AMOUNT, lt=MAX_AMOUNT)


Price4 = Annotated[Decimal, _amount(4)]
Money2 = Annotated[Decimal, _amount(2)]
Vat4 = Annotated[Decimal, _amount(4), Field(ge=0, le=100)]
Vat2 = Annotated[Decimal, _amount(2), Field(ge=0, le=100)]
Rate8 = Annotated[Decimal, _amount(8)]
NonEmpty = Annotated[str, StringConstraints(pattern=r"\S")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
ShopTime = Annotated[datetime, AfterValidator(to_zone)]
Code = Annotated[str, AfterValidator(parse_model_code)]
WallClock = Annotated[datetime, PlainSerializer(format_datetime, return_type=str)]


class _In(BaseModel):
    model_config = ConfigDict(frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(validate_by_name=True)


# --- Vendre order (input) -------------------------------------------------------------------


class Address(_In):
    name: str
    street_address: str
    street_address2: str | None = None
    postcode: str
    city: str
    country_id: int


class CustomerAddress(_In):
    name: str
    street_address: str
    street_address2: str | None = None
    postcode: str
    city: str
    country_id: int | None = None
    email_address: str | None = None
    phone_default: str | None = None
    phone_mobile: str | None = None


class Payment(_In):
    external_id: str
    transaction_id: str
    date_added: ShopTime
    payment_method: NonEmpty


class OrderProduct(_In):
    quantity: Annotated[int, Field(ge=1)]
    model: Code
    name: str
    price: Price4
    tax: Vat4


class Total(_In):
    class_: NonEmpty = Field(alias="class")
    title: str
    value: Price4


class Shipping(_In):
    method_id: NonEmpty
    title: str


class GiftCardUse(_In):
    code: NonEmpty
    amount: Price4
    reservation_id: NonEmpty


class VendreOrder(_In):
    id: Annotated[int, Field(ge=1)]
    date_added: ShopTime
    customer_id: int | None = None
    status: int | None = None
    currency: Currency
    currency_value: Rate8
    billing_address: Address
    customer_address: CustomerAddress
    delivery_address: Address
    payment: Payment
    products: tuple[OrderProduct, ...]
    totals: tuple[Total, ...]
    shipping: Shipping
    gift_cards: tuple[GiftCardUse, ...] = ()


# --- Bex order (output) ---------------------------------------------------------------------


class InvoiceAddress(_Out):
    name: str = Field(alias="Namn")
    address: str = Field(alias="Adress")
    address2: str | None = Field(None, alias="Adress2")
    postcode: str = Field(alias="Postnr")
    city: str = Field(alias="Ort")
    country: str = Field(alias="Land")


class Orderer(_Out):
    name: str = Field(alias="Namn")
    address: str = Field(alias="Adress")
    address2: str | None = Field(None, alias="Adress2")
    postcode: str = Field(alias="PostNr")
    city: str = Field(alias="Ort")
    email: str | None = Field(None, alias="Epost")
    phone: str | None = Field(None, alias="Tel")
    mobile: str | None = Field(None, alias="Mobil")


class DeliveryAddress(_Out):
    name: str = Field(alias="Namn")
    address: str = Field(alias="Adress")
    address2: str | None = Field(None, alias="Adress2")
    postcode: str = Field(alias="Postkod")
    city: str = Field(alias="Ort")
    country_code: str = Field(alias="Landskod")


class BexPayment(_Out):
    document_number: str = Field(alias="Externt dokumentnr")
    transaction_number: str = Field(alias="Transnr")
    date: WallClock = Field(alias="Datum")
    code: str = Field(alias="Kod")
    amount: Decimal = Field(alias="Belopp")


class Row(_Out):
    article: str = Field(alias="Artikelnr")
    size_group: str | None = Field(None, alias="Storleksgrupp")
    size: str | None = Field(None, alias="Storlek")
    quantity: int = Field(alias="Antal")
    description: str = Field(alias="Beskrivning")
    price: Decimal = Field(alias="Pris")
    vat_rate: Decimal = Field(alias="Moms")
    amount: Decimal = Field(alias="Belopp inkl.moms")


class BexOrder(_Out):
    number: str = Field(alias="Ordernr")
    order_date: WallClock = Field(alias="Orderdatum")
    customer_number: str | None = Field(None, alias="Kundnr")
    currency: str = Field(alias="Valuta")
    currency_rate: Decimal = Field(alias="Valutakod")
    invoice_address: InvoiceAddress = Field(alias="Faktureras")
    orderer: Orderer = Field(alias="Beställare")
    delivery_address: DeliveryAddress = Field(alias="Leveransadress")
    payments: list[BexPayment] = Field(alias="Butik & webbetalningar")
    rows: list[Row] = Field(alias="Artiklar")
    shipping_id: str = Field(alias="FraktID")
    total: Decimal = Field(alias="Belopp inkl.moms")


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
        ),
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
        ),
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
                article=article or "",
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

    payments = [
        BexPayment(
            document_number=pay.external_id,
            transaction_number=pay.transaction_id,
            date=pay.date_added,
            code=web_code,
            amount=total_paid,
        )
    ]
    gift_code = tables.gift_card_payment_code
    payments += [
        BexPayment(
            document_number=card.code,
            transaction_number=card.reservation_id,
            date=pay.date_added,
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
        order_date=order.date_added,
        customer_number=None if order.customer_id is None else str(order.customer_id),
        currency=order.currency,
        currency_rate=quantize(order.currency_value, 8),
        invoice_address=invoice,
        orderer=orderer,
        delivery_address=delivery,
        payments=payments,
        rows=rows,
        shipping_id=shipping_id,
        total=rows_total,
    )


# --- Bex article (input) -> Vendre product (output) -----------------------------------------


class Size(_In):
    size: NonEmpty = Field(alias="Storlek")
    barcode: str | None = Field(None, alias="Streckkod")


class Article(_In):
    article: str = Field(alias="Artikel")
    size_group: str | None = Field(None, alias="Storleksgrupp")
    description: str = Field(alias="Beskrivning")
    supplier_id: str = Field(alias="LeverantörsID")
    price: Money2 = Field(alias="Pris")
    vat_rate: Vat2 = Field(alias="Moms")
    purchase_price: Money2 = Field(alias="Inköpspris")
    external_reference: NonEmpty = Field(alias="Extern referens")
    sizes: tuple[Size, ...] = Field((), alias="Storlekar")

    @model_validator(mode="after")
    def _codes(self) -> Article:
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
        return self


class Variant(_Out):
    article_number: str
    size: str
    ean1: str | None = None


class Product(_Out):
    article_number: str
    name: dict[str, str]
    manufacturer_id: str
    price: Decimal
    tax_rate: Decimal
    price_in: Decimal
    category_id: int
    size_group: str | None = None
    variants: list[Variant] | None = None


def article_to_product(article: Article, tables: Tables) -> Product:
    category = tables.categories.get(article.external_reference, "$['Extern referens']")
    group = article.size_group
    variants = [
        Variant(
            article_number=join_code(article.article, group, size.size),
            size=size.size,
            ean1=size.barcode,
        )
        for size in article.sizes
    ]
    return Product(
        article_number=article.article,
        name={"sv": article.description},
        manufacturer_id=article.supplier_id,
        price=excl_vat(article.price, article.vat_rate, 4),
        tax_rate=quantize(article.vat_rate, 4),
        price_in=quantize(article.purchase_price, 4),
        category_id=category,
        size_group=group,
        variants=variants or None,
    )


# --- Bex stock (input) -> Vendre stock update (output) --------------------------------------


class Stock(_In):
    article: str = Field(alias="Artikelnr")
    size_group: str | None = Field(None, alias="Storleksgrupp")
    size: str | None = Field(None, alias="Storlek")
    quantity: int = Field(alias="Lagerantal")

    @model_validator(mode="after")
    def _code(self) -> Stock:
        found = code_problems(self.article, self.size_group, self.size)
        if found:
            raise ValueError("; ".join(found))
        return self


class StockUpdate(_Out):
    article_number: str
    quantity: int
    status: int


def stock_to_update(stock: Stock, tables: Tables) -> StockUpdate:
    quantity = max(stock.quantity, 0)
    code = join_code(stock.article, stock.size_group, stock.size)
    shown = tables.always_show or quantity > 0
    return StockUpdate(article_number=code, quantity=quantity, status=1 if shown else 0)


# --- the pipelines --------------------------------------------------------------------------

_ORDER_OUT = TypeAdapter(BexOrder)
_PRODUCT_OUT = TypeAdapter(Product)
_STOCK_OUT = TypeAdapter(StockUpdate)


def order_pipeline(lookups_path: str) -> Callable[[bytes], bytes]:
    tables = load_tables(lookups_path)
    load = VendreOrder.model_validate_json
    dump = _ORDER_OUT.dump_json

    def run(raw: bytes) -> bytes:
        return dump(order_to_bex(load(raw), tables), by_alias=True, exclude_none=True)

    return run


def product_pipeline(lookups_path: str) -> Callable[[bytes], bytes]:
    tables = load_tables(lookups_path)
    load = Article.model_validate_json
    dump = _PRODUCT_OUT.dump_json

    def run(raw: bytes) -> bytes:
        return dump(article_to_product(load(raw), tables), exclude_none=True)

    return run


def stream_stock(lookups_path: str, source: str, target: str) -> int:
    """Bex stock JSON Lines in, Vendre stock updates JSON Lines out, one line at a time."""
    tables = load_tables(lookups_path)
    load = Stock.model_validate_json
    dump = _STOCK_OUT.dump_json
    count = 0
    with open(source, "rb") as lines, open(target, "wb") as out:
        write = out.write
        for line in lines:
            write(dump(stock_to_update(load(line), tables)) + b"\n")
            count += 1
    return count
