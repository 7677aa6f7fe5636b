"""The library's jobs written with msgspec: the order, product and stock pipelines.

Input Structs are decoded by typed ``msgspec.json.Decoder``s, which check in C the required
fields, the types and ``quantity >= 1`` (``Meta(ge=1)``, the one constraint msgspec checks
without calling back into Python). Everything msgspec has no C constraint for is checked
in one Python pass, the conversion itself, with the lean helpers of ``peers/_common.py``:
every model code against SPEC §4, every amount finite, below 10**15 and with at most 4
(Vendre) or 2 (Bex) decimals, VAT percents from 0 to 100, the currency, non-empty codes
(through the code tables, which hold none). Output Structs carry the wire keys
(``msgspec.field(name=...)``), omit ``None`` defaults and are encoded by a
``msgspec.json.Encoder``: decimals as strings for Bex, as JSON numbers for Vendre's products
(``decimal_format="number"`` writes a ``Decimal``'s ``str``, exact; the conversion gives
``plain_number()``s). No Struct of either side can be part of a reference cycle, so all are
``gc=False``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

import msgspec
from msgspec import Meta, Struct, field

from peers._common import (
    EXPONENTS,
    MAX_AMOUNT,
    MAX_QUANTITY,
    MIN_AMOUNT,
    MINOR_UNITS,
    NOT_ROWS,
    ZERO,
    PeerError,
    Tables,
    amount_problem,
    article_ok,
    blank,
    code_problem,
    code_problems,
    currency_problem,
    load_tables,
    parts_ok,
    plain_number,
    scaled,
    size_ok,
    split_code,
    unknown,
    vat_problem,
    vat_rate,
    wall_clock,
)

__all__ = ["order_pipeline", "product_pipeline", "stream_stock"]

AtLeastOne = Annotated[int, Meta(ge=1)]
# Vendre's dates: Unix epoch seconds (an aware datetime holds up to the year 9999), or text.
Epoch = Annotated[int, Meta(ge=0, lt=253402300800)]


class _In(Struct, gc=False):
    """A decoded input object (``kw_only`` is per class: fields with defaults come first)."""


class _Out(Struct, omit_defaults=True, gc=False):
    """An output object: ``None`` defaults left out."""


# --- Vendre order (input) -------------------------------------------------------------------


class Address(_In, kw_only=True):
    name: str
    street_address: str
    street_address2: str | None = None
    postcode: str
    city: str
    country_id: int


class CustomerAddress(_In, kw_only=True):
    name: str
    street_address: str
    street_address2: str | None = None
    postcode: str
    city: str
    country_id: int | None = None
    email_address: str | None = None
    phone_default: str | None = None
    phone_mobile: str | None = None


class Payment(_In, kw_only=True):
    external_id: str
    transaction_id: str
    date_added: Epoch | datetime
    payment_method: str


class OrderProduct(_In, kw_only=True):
    quantity: AtLeastOne
    model: str
    name: str
    price: Decimal
    tax: Decimal


class Total(_In, kw_only=True):
    class_: str = field(name="class")
    title: str
    value: Decimal


class Shipping(_In, kw_only=True):
    method_id: str
    title: str


class GiftCardUse(_In, kw_only=True):
    code: str
    amount: Decimal
    reservation_id: str


class VendreOrder(_In, kw_only=True):
    id: AtLeastOne
    date_added: Epoch | datetime
    customer_id: int | None = None
    status: int | None = None
    currency: str
    currency_value: Decimal
    billing_address: Address
    customer_address: CustomerAddress
    delivery_address: Address
    payment: Payment
    products: list[OrderProduct]
    totals: list[Total]
    shipping: Shipping
    gift_cards: list[GiftCardUse] = []


# --- Bex order (output) ---------------------------------------------------------------------


class InvoiceAddress(_Out, kw_only=True):
    name: str = field(name="Namn")
    address: str = field(name="Adress")
    address2: str | None = field(default=None, name="Adress2")
    postcode: str = field(name="Postnr")
    city: str = field(name="Ort")
    country: str = field(name="Land")


class Orderer(_Out, kw_only=True):
    name: str = field(name="Namn")
    address: str = field(name="Adress")
    address2: str | None = field(default=None, name="Adress2")
    postcode: str = field(name="PostNr")
    city: str = field(name="Ort")
    email: str | None = field(default=None, name="Epost")
    phone: str | None = field(default=None, name="Tel")
    mobile: str | None = field(default=None, name="Mobil")


class DeliveryAddress(_Out, kw_only=True):
    name: str = field(name="Namn")
    address: str = field(name="Adress")
    address2: str | None = field(default=None, name="Adress2")
    postcode: str = field(name="Postkod")
    city: str = field(name="Ort")
    country_code: str = field(name="Landskod")


class BexPayment(_Out, kw_only=True):
    document_number: str = field(name="Externt dokumentnr")
    transaction_number: str = field(name="Transnr")
    date: str = field(name="Datum")
    code: str = field(name="Kod")
    amount: Decimal = field(name="Belopp")


class Row(_Out, kw_only=True):
    article: str = field(name="Artikelnr")
    size_group: str | None = field(default=None, name="Storleksgrupp")
    size: str | None = field(default=None, name="Storlek")
    quantity: int = field(name="Antal")
    description: str = field(name="Beskrivning")
    price: Decimal = field(name="Pris")
    vat_rate: Decimal = field(name="Moms")
    amount: Decimal = field(name="Belopp inkl.moms")


class BexOrder(_Out, kw_only=True):
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


def order_to_bex(order: VendreOrder, tables: Tables) -> BexOrder:  # noqa: PLR0912, PLR0915
    """SPEC §5 with the input checks in the same pass: VAT-inclusive rows, fee rows, gift
    cards as payments, the totals check. A bad value raises at once; conversion problems
    (unknown codes, amounts Bex cannot hold exactly) are all reported together."""
    problems: list[str] = []
    currency = order.currency
    places = MINOR_UNITS.get(currency)
    if places is None:
        problems.append(currency_problem(currency))
        places = 2
    exponent = EXPONENTS[places]
    currency_rate = scaled(order.currency_value, 8)
    if currency_rate is None:
        raise PeerError(amount_problem(order.currency_value, 8, "$.currency_value"))

    countries = tables.countries
    bill, cust, deli, pay = (
        order.billing_address,
        order.customer_address,
        order.delivery_address,
        order.payment,
    )
    land = countries.get(bill.country_id)
    if land is None:
        problems.append(unknown("countries", bill.country_id, "$.billing_address.country_id"))
    country_code = countries.get(deli.country_id)
    if country_code is None:
        problems.append(unknown("countries", deli.country_id, "$.delivery_address.country_id"))
    web_code = tables.payment_methods.get(pay.payment_method)
    if web_code is None:
        problems.append(unknown("payment_methods", pay.payment_method, "$.payment"))
    shipping_id = tables.shipping_methods.get(order.shipping.method_id)
    if shipping_id is None:
        problems.append(
            unknown("shipping_methods", order.shipping.method_id, "$.shipping.method_id")
        )

    rows: list[Row] = []
    append = rows.append
    fee_numbers = tables.fee_article_numbers
    rows_total = ZERO
    fits = True
    last_tax = vat = factor = None  # the previous row's VAT rate: most rows share one
    for index, product in enumerate(order.products):
        parts = split_code(product.model)
        if parts is None:
            raise PeerError(f"$.products[{index}].model: {code_problem(product.model)}")
        article, group, size = parts
        if size is None and (article == shipping_id or article in fee_numbers):
            problems.append(
                f"$.products[{index}].model: the unsized article {article!r} is also a fee "
                "article or the FraktID"
            )
        excl, tax = product.price, product.tax
        if scaled(excl, 4) is None:
            raise PeerError(amount_problem(excl, 4, f"$.products[{index}].price"))
        if tax != last_tax:
            vat = vat_rate(tax, 2)  # Bex's Moms: 2 decimals
            if vat is None:
                if vat_rate(tax, 4) is None:
                    raise PeerError(vat_problem(tax, 4, f"$.products[{index}].tax"))
                problems.append(f"$.products[{index}].tax: {tax} has more than 2 decimals")
            last_tax, factor = tax, tax / 100 + 1
        price = (excl * factor).quantize(exponent, ROUND_HALF_UP)
        quantity = product.quantity
        amount = quantity * price
        if not (MIN_AMOUNT < amount < MAX_AMOUNT and quantity < MAX_QUANTITY):
            problems.append(f"$.products[{index}]: quantity, price or amount out of range")
            fits = False
        rows_total += amount
        append(
            Row(
                article=article,
                size_group=group,
                size=size,
                quantity=quantity,
                description=product.name,
                price=price,
                vat_rate=vat,
                amount=amount,
            )
        )

    fee_rate = tables.fee_rate
    fee_articles = tables.fee_articles
    total_paid: Decimal | None = None
    for index, total in enumerate(order.totals):
        kind, value = total.class_, total.value
        if kind in NOT_ROWS:
            if kind != "ot_total":
                if scaled(value, 4) is None:
                    raise PeerError(amount_problem(value, 4, f"$.totals[{index}].value"))
                continue
            if total_paid is not None:
                problems.append(f"$.totals[{index}].class: a second ot_total")
        elif kind == "ot_shipping":
            article = shipping_id
        else:
            article = fee_articles.get(kind)
            if article is None:
                problems.append(unknown("fee_articles", kind, f"$.totals[{index}].class"))
        exact = scaled(value, places)
        if exact is None:
            if scaled(value, 4) is None:
                raise PeerError(amount_problem(value, 4, f"$.totals[{index}].value"))
            problems.append(f"$.totals[{index}].value: {value} has more than {places} decimals")
            exact = value
        if kind == "ot_total":
            total_paid = exact
            continue
        rows_total += exact
        append(
            Row(
                article=article or "",
                quantity=1,
                description=total.title,
                price=exact,
                vat_rate=fee_rate,
                amount=exact,
            )
        )
    if total_paid is None:
        problems.append("$.totals: no ot_total")
        total_paid = ZERO

    date = wall_clock(pay.date_added)
    payments = [
        BexPayment(
            document_number=pay.external_id,
            transaction_number=pay.transaction_id,
            date=date,
            code=web_code,
            amount=total_paid,
        )
    ]
    paid = total_paid
    gift_code = tables.gift_card_payment_code
    for index, card in enumerate(order.gift_cards):
        if blank(card.code) or blank(card.reservation_id):
            raise PeerError(f"$.gift_cards[{index}]: code and reservation_id must not be empty")
        given = card.amount
        amount = scaled(given, places)
        if amount is None:
            if scaled(given, 4) is None:
                raise PeerError(amount_problem(given, 4, f"$.gift_cards[{index}].amount"))
            problems.append(
                f"$.gift_cards[{index}].amount: {given} has more than {places} decimals"
            )
            amount = given
        if not amount > ZERO:
            problems.append(f"$.gift_cards[{index}].amount: must be more than 0")
        paid += amount
        payments.append(
            BexPayment(
                document_number=card.code,
                transaction_number=card.reservation_id,
                date=date,
                code=gift_code,
                amount=amount,
            )
        )
    if fits and not MIN_AMOUNT < rows_total < MAX_AMOUNT:
        problems.append(f"$.totals: the rows add up to {rows_total}, out of range")
    if problems:
        raise PeerError("; ".join(problems))
    if rows_total != paid or tables.tolerance < ZERO:  # the totals check, per-row tolerance
        tolerance = tables.tolerance * max(len(order.products), 1)
        if abs(rows_total - paid) > tolerance and tables.totals_policy == "error":
            raise PeerError(f"$.totals: the rows add up to {rows_total}, but {paid} was paid")

    return BexOrder(
        number=str(order.id),
        order_date=wall_clock(order.date_added),
        customer_number=None if order.customer_id is None else str(order.customer_id),
        currency=currency,
        currency_rate=currency_rate,
        invoice_address=InvoiceAddress(
            name=bill.name,
            address=bill.street_address,
            address2=bill.street_address2,
            postcode=bill.postcode,
            city=bill.city,
            country=land,
        ),
        orderer=Orderer(
            name=cust.name,
            address=cust.street_address,
            address2=cust.street_address2,
            postcode=cust.postcode,
            city=cust.city,
            email=cust.email_address,
            phone=cust.phone_default,
            mobile=cust.phone_mobile,
        ),
        delivery_address=DeliveryAddress(
            name=deli.name,
            address=deli.street_address,
            address2=deli.street_address2,
            postcode=deli.postcode,
            city=deli.city,
            country_code=country_code,
        ),
        payments=payments,
        rows=rows,
        shipping_id=shipping_id,
        total=rows_total,
    )


# --- Bex article (input) -> Vendre product (output) -----------------------------------------


class Size(_In, kw_only=True):
    size: str = field(name="Storlek")
    barcode: str | None = field(default=None, name="Streckkod")


class Article(_In, kw_only=True):
    article: str = field(name="Artikel")
    size_group: str | None = field(default=None, name="Storleksgrupp")
    description: str = field(name="Beskrivning")
    supplier_id: str = field(name="LeverantörsID")
    price: Decimal = field(name="Pris")
    vat_rate: Decimal = field(name="Moms")
    purchase_price: Decimal = field(name="Inköpspris")
    external_reference: str = field(name="Extern referens")
    sizes: list[Size] = field(default_factory=list, name="Storlekar")


class Product(_Out, kw_only=True):
    """One product of the family (fields in the library's order; ``None`` left out)."""

    article_number: str
    ean1: str | None = None
    external_id: str
    name: dict[str, str]
    price: Decimal
    price_in: Decimal
    tax_class_id: int
    category_ids: list[int]
    manufacturer_id: int | None = None
    is_parent: bool | None = None


class ProductFamily(_Out):
    """An unsized article's family has no children: the key is left out, as the library
    leaves out an empty tuple."""

    parent: Product
    children: list[Product] = []


def article_to_family(article: Article, tables: Tables) -> ProductFamily:
    """The article's checks (amounts, VAT, codes, model codes, sizes) and its conversion:
    the parent, and one child per size. Unknown codes are reported together."""
    price, rate, price_in = article.price, article.vat_rate, article.purchase_price
    if scaled(price, 2) is None:
        raise PeerError(amount_problem(price, 2, "$.Pris"))
    if scaled(price_in, 2) is None:
        raise PeerError(amount_problem(price_in, 2, "$['Inköpspris']"))
    try:  # every rate of the table is a VAT percent with at most 2 decimals
        tax_class = tables.tax_class_of_rate.get(rate)
    except TypeError:  # a signalling NaN has no hash
        tax_class = None
    category = tables.categories.get(article.external_reference)
    supplier = article.supplier_id
    manufacturer = None if supplier == "" else tables.manufacturers.get(supplier)
    if tax_class is None or category is None or (manufacturer is None and supplier != ""):
        raise PeerError(_codes_problem(article, tables))
    code, group, sizes = article.article, article.size_group, article.sizes
    if group is None:
        if sizes or not article_ok(code, False):
            raise PeerError(_sizes_problem(article))
    elif not sizes or not article_ok(code, True) or not size_ok(group):
        raise PeerError(_sizes_problem(article))
    name = {"sv": article.description}
    excl = plain_number((price / (rate / 100 + 1)).quantize(EXPONENTS[4], ROUND_HALF_UP))
    cost = plain_number(price_in)
    categories = [category]
    children: list[Product] = []
    append = children.append
    seen: set[str] = set()
    for item in sizes:
        size = item.size
        if not size_ok(size) or size in seen:
            raise PeerError(_sizes_problem(article))
        seen.add(size)
        number = f"{code}_{group}_{size}"
        append(
            Product(
                article_number=number,
                ean1=item.barcode,
                external_id=number,
                name=name,
                price=excl,
                price_in=cost,
                tax_class_id=tax_class,
                category_ids=categories,
                manufacturer_id=manufacturer,
            )
        )
    parent = Product(
        article_number=code,
        external_id=code,
        name=name,
        price=excl,
        price_in=cost,
        tax_class_id=tax_class,
        category_ids=categories,
        manufacturer_id=manufacturer,
        is_parent=bool(children),
    )
    return ProductFamily(parent, children)


def _codes_problem(article: Article, tables: Tables) -> str:
    """Every code of the article missing from its table (error path only)."""
    rate, reference, supplier = (
        article.vat_rate,
        article.external_reference,
        article.supplier_id,
    )
    found = []
    if vat_rate(rate, 2) is None:
        found.append(vat_problem(rate, 2, "$.Moms"))
    elif rate not in tables.tax_class_of_rate:
        found.append(f"$.Moms: no tax class has the rate {rate}")
    if reference not in tables.categories:
        found.append(unknown("categories", reference, "$['Extern referens']"))
    if supplier != "" and supplier not in tables.manufacturers:
        found.append(unknown("manufacturers", supplier, "$.LeverantörsID"))
    return "; ".join(found)


def _sizes_problem(article: Article) -> str:
    """Why the article's number, size group and sizes make no valid variants (error path)."""
    code, group, sizes = article.article, article.size_group, article.sizes
    if group is None:
        found = code_problems(code, None, None)
        if sizes:
            found.append("sizes without a size group")
    elif not sizes:
        found = [*code_problems(code, group, "-"), "no sizes"]
    else:
        found, seen = [], set()
        for item in sizes:
            found += code_problems(code, group, item.size)
            if item.size in seen:
                found.append(f"size {item.size!r} appears twice")
            seen.add(item.size)
    return "; ".join(dict.fromkeys(found))


# --- Bex stock (input) -> Vendre stock update (output) --------------------------------------


class Stock(_In, kw_only=True):
    article: str = field(name="Artikelnr")
    size_group: str | None = field(default=None, name="Storleksgrupp")
    size: str | None = field(default=None, name="Storlek")
    quantity: int = field(name="Lagerantal")


class StockUpdate(Struct, gc=False):
    article_number: str
    quantity: int
    status: int


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
    dump = msgspec.json.Encoder(decimal_format="number").encode

    def run(raw: bytes) -> bytes:
        return dump(article_to_family(load(raw), tables))

    return run


def stream_stock(lookups_path: str, source: str, target: str) -> int:
    """Bex stock JSON Lines in, Vendre stock updates JSON Lines out, one line at a time."""
    tables = load_tables(lookups_path)
    load = msgspec.json.Decoder(Stock).decode
    dump = msgspec.json.Encoder().encode
    hidden = 1 if tables.always_show else 0  # the status of a row with nothing in stock
    count = 0
    with open(source, "rb") as lines, open(target, "wb") as out:
        write = out.write
        for line in lines:
            stock = load(line)
            article, group, size = stock.article, stock.size_group, stock.size
            if not parts_ok(article, group, size):
                raise PeerError(
                    f"line {count + 1}: {'; '.join(code_problems(article, group, size))}"
                )
            quantity = stock.quantity
            code = article if size is None else f"{article}_{group}_{size}"
            if quantity > 0:
                update = StockUpdate(code, quantity, 1)
            else:
                update = StockUpdate(code, 0, hidden)
            write(dump(update) + b"\n")
            count += 1
    return count
