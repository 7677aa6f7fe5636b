"""The library's jobs written with pydantic v2: the order, product and stock pipelines.

As pydantic's performance guide advises (use ``TypedDict`` over nested models, a
``TypeAdapter`` built once, ``validate_json`` on the bytes), the inputs are ``TypedDict``s
with the wire keys, validated by ``TypeAdapter.validate_json``: parsing, required fields,
types and ``quantity >= 1`` (``Field(ge=1)``) are checked in pydantic-core, without calling
back into Python. Everything pydantic-core has no native check for is checked in one Python
pass, the conversion itself, with the lean helpers of ``peers/_common.py``: every model code
against SPEC §4, every amount finite, below 10**15 and with at most 4 (Vendre) or 2 (Bex)
decimals (``decimal_places``/``gt``/``lt`` would call back into ``decimal`` for each value),
VAT percents from 0 to 100, the currency, non-empty codes (through the code tables, which
hold none). The output is not validated again: the conversion builds plain dicts with the
wire keys, serialised by pydantic-core through a ``TypeAdapter`` of ``TypedDict``s that
declares their types, ``None`` left out (``exclude_none``). Decimals are strings for Bex;
Vendre's product money is JSON numbers, which pydantic-core writes only through ``float``
(inexact beyond 15 digits): it writes the exact plain text as a string, and one regex pass
over the bytes unquotes those values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, NotRequired

from pydantic import Field, TypeAdapter
from typing_extensions import TypedDict

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

AtLeastOne = Annotated[int, Field(ge=1)]


# --- Vendre order (input) -------------------------------------------------------------------


class Address(TypedDict):
    name: str
    street_address: str
    street_address2: NotRequired[str | None]
    postcode: str
    city: str
    country_id: int


class CustomerAddress(TypedDict):
    name: str
    street_address: str
    street_address2: NotRequired[str | None]
    postcode: str
    city: str
    country_id: NotRequired[int | None]
    email_address: NotRequired[str | None]
    phone_default: NotRequired[str | None]
    phone_mobile: NotRequired[str | None]


class Payment(TypedDict):
    external_id: str
    transaction_id: str
    date_added: datetime
    payment_method: str


class OrderProduct(TypedDict):
    quantity: AtLeastOne
    model: str
    name: str
    price: Decimal
    tax: Decimal


Total = TypedDict("Total", {"class": str, "title": str, "value": Decimal})


class Shipping(TypedDict):
    method_id: str
    title: str


class GiftCardUse(TypedDict):
    code: str
    amount: Decimal
    reservation_id: str


class VendreOrder(TypedDict):
    id: AtLeastOne
    date_added: datetime
    customer_id: NotRequired[int | None]
    status: NotRequired[int | None]
    currency: str
    currency_value: Decimal
    billing_address: Address
    customer_address: CustomerAddress
    delivery_address: Address
    payment: Payment
    products: list[OrderProduct]
    totals: list[Total]
    shipping: Shipping
    gift_cards: NotRequired[list[GiftCardUse]]


# --- Bex order (output): the types pydantic-core serialises, for dicts built directly ------

MaybeText = NotRequired[str | None]  # left out when None (exclude_none)


class InvoiceAddress(TypedDict):
    Namn: str
    Adress: str
    Adress2: MaybeText
    Postnr: str
    Ort: str
    Land: str


class Orderer(TypedDict):
    Namn: str
    Adress: str
    Adress2: MaybeText
    PostNr: str
    Ort: str
    Epost: MaybeText
    Tel: MaybeText
    Mobil: MaybeText


class DeliveryAddress(TypedDict):
    Namn: str
    Adress: str
    Adress2: MaybeText
    Postkod: str
    Ort: str
    Landskod: str


BexPayment = TypedDict(
    "BexPayment",
    {"Externt dokumentnr": str, "Transnr": str, "Datum": str, "Kod": str, "Belopp": Decimal},
)
Row = TypedDict(
    "Row",
    {
        "Artikelnr": str,
        "Storleksgrupp": MaybeText,
        "Storlek": MaybeText,
        "Antal": int,
        "Beskrivning": str,
        "Pris": Decimal,
        "Moms": Decimal,
        "Belopp inkl.moms": Decimal,
    },
)
BexOrder = TypedDict(
    "BexOrder",
    {
        "Ordernr": str,
        "Orderdatum": str,
        "Kundnr": MaybeText,
        "Valuta": str,
        "Valutakod": Decimal,
        "Faktureras": InvoiceAddress,
        "Beställare": Orderer,
        "Leveransadress": DeliveryAddress,
        "Butik & webbetalningar": list[BexPayment],
        "Artiklar": list[Row],
        "FraktID": str,
        "Belopp inkl.moms": Decimal,
    },
)


def order_to_bex(order: VendreOrder, tables: Tables) -> BexOrder:  # noqa: PLR0912, PLR0915
    """SPEC §5 with the input checks in the same pass: VAT-inclusive rows, fee rows, gift
    cards as payments, the totals check. A bad value raises at once; conversion problems
    (unknown codes, amounts Bex cannot hold exactly) are all reported together."""
    problems: list[str] = []
    currency = order["currency"]
    places = MINOR_UNITS.get(currency)
    if places is None:
        problems.append(currency_problem(currency))
        places = 2
    exponent = EXPONENTS[places]
    currency_rate = scaled(order["currency_value"], 8)
    if currency_rate is None:
        raise PeerError(amount_problem(order["currency_value"], 8, "$.currency_value"))

    countries = tables.countries
    bill, cust, deli, pay = (
        order["billing_address"],
        order["customer_address"],
        order["delivery_address"],
        order["payment"],
    )
    land = countries.get(bill["country_id"])
    if land is None:
        problems.append(unknown("countries", bill["country_id"], "$.billing_address.country_id"))
    country_code = countries.get(deli["country_id"])
    if country_code is None:
        problems.append(unknown("countries", deli["country_id"], "$.delivery_address.country_id"))
    web_code = tables.payment_methods.get(pay["payment_method"])
    if web_code is None:
        problems.append(unknown("payment_methods", pay["payment_method"], "$.payment"))
    shipping_id = tables.shipping_methods.get(order["shipping"]["method_id"])
    if shipping_id is None:
        problems.append(
            unknown("shipping_methods", order["shipping"]["method_id"], "$.shipping.method_id")
        )

    rows: list[dict[str, Any]] = []
    append = rows.append
    fee_numbers = tables.fee_article_numbers
    rows_total = ZERO
    fits = True
    last_tax = vat = factor = None  # the previous row's VAT rate: most rows share one
    for index, product in enumerate(order["products"]):
        parts = split_code(product["model"])
        if parts is None:
            raise PeerError(f"$.products[{index}].model: {code_problem(product['model'])}")
        article, group, size = parts
        if size is None and (article == shipping_id or article in fee_numbers):
            problems.append(
                f"$.products[{index}].model: the unsized article {article!r} is also a fee "
                "article or the FraktID"
            )
        excl, tax = product["price"], product["tax"]
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
        quantity = product["quantity"]
        amount = quantity * price
        if not (MIN_AMOUNT < amount < MAX_AMOUNT and quantity < MAX_QUANTITY):
            problems.append(f"$.products[{index}]: quantity, price or amount out of range")
            fits = False
        rows_total += amount
        append(
            {
                "Artikelnr": article,
                "Storleksgrupp": group,
                "Storlek": size,
                "Antal": quantity,
                "Beskrivning": product["name"],
                "Pris": price,
                "Moms": vat,
                "Belopp inkl.moms": amount,
            }
        )

    fee_rate = tables.fee_rate
    fee_articles = tables.fee_articles
    total_paid: Decimal | None = None
    for index, total in enumerate(order["totals"]):
        kind, value = total["class"], total["value"]
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
            {
                "Artikelnr": article or "",
                "Antal": 1,
                "Beskrivning": total["title"],
                "Pris": exact,
                "Moms": fee_rate,
                "Belopp inkl.moms": exact,
            }
        )
    if total_paid is None:
        problems.append("$.totals: no ot_total")
        total_paid = ZERO

    date = wall_clock(pay["date_added"])
    payments = [
        {
            "Externt dokumentnr": pay["external_id"],
            "Transnr": pay["transaction_id"],
            "Datum": date,
            "Kod": web_code,
            "Belopp": total_paid,
        }
    ]
    paid = total_paid
    gift_code = tables.gift_card_payment_code
    for index, card in enumerate(order.get("gift_cards", ())):
        if blank(card["code"]) or blank(card["reservation_id"]):
            raise PeerError(f"$.gift_cards[{index}]: code and reservation_id must not be empty")
        given = card["amount"]
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
            {
                "Externt dokumentnr": card["code"],
                "Transnr": card["reservation_id"],
                "Datum": date,
                "Kod": gift_code,
                "Belopp": amount,
            }
        )
    if fits and not MIN_AMOUNT < rows_total < MAX_AMOUNT:
        problems.append(f"$.totals: the rows add up to {rows_total}, out of range")
    if problems:
        raise PeerError("; ".join(problems))
    if rows_total != paid or tables.tolerance < ZERO:  # the totals check, per-row tolerance
        tolerance = tables.tolerance * max(len(order["products"]), 1)
        if abs(rows_total - paid) > tolerance and tables.totals_policy == "error":
            raise PeerError(f"$.totals: the rows add up to {rows_total}, but {paid} was paid")

    customer = order.get("customer_id")
    return {
        "Ordernr": str(order["id"]),
        "Orderdatum": wall_clock(order["date_added"]),
        "Kundnr": None if customer is None else str(customer),
        "Valuta": currency,
        "Valutakod": currency_rate,
        "Faktureras": {
            "Namn": bill["name"],
            "Adress": bill["street_address"],
            "Adress2": bill.get("street_address2"),
            "Postnr": bill["postcode"],
            "Ort": bill["city"],
            "Land": land,
        },
        "Beställare": {
            "Namn": cust["name"],
            "Adress": cust["street_address"],
            "Adress2": cust.get("street_address2"),
            "PostNr": cust["postcode"],
            "Ort": cust["city"],
            "Epost": cust.get("email_address"),
            "Tel": cust.get("phone_default"),
            "Mobil": cust.get("phone_mobile"),
        },
        "Leveransadress": {
            "Namn": deli["name"],
            "Adress": deli["street_address"],
            "Adress2": deli.get("street_address2"),
            "Postkod": deli["postcode"],
            "Ort": deli["city"],
            "Landskod": country_code,
        },
        "Butik & webbetalningar": payments,
        "Artiklar": rows,
        "FraktID": shipping_id,
        "Belopp inkl.moms": rows_total,
    }


# --- Bex article (input) -> Vendre product (output) -----------------------------------------


class Size(TypedDict):
    Storlek: str
    Streckkod: NotRequired[str | None]


Article = TypedDict(
    "Article",
    {
        "Artikel": str,
        "Storleksgrupp": NotRequired[str | None],
        "Beskrivning": str,
        "LeverantörsID": str,
        "Pris": Decimal,
        "Moms": Decimal,
        "Inköpspris": Decimal,
        "Extern referens": str,
        "Storlekar": NotRequired[list[Size]],
    },
)


class Product(TypedDict):
    """One product of the family, as built (in the library's key order)."""

    article_number: str
    ean1: MaybeText
    external_id: str
    name: dict[str, str]
    price: Decimal
    price_in: Decimal
    tax_class_id: int
    category_ids: list[int]
    manufacturer_id: NotRequired[int | None]
    is_parent: NotRequired[bool]


class ProductFamily(TypedDict):
    """An unsized article's family has no children: the key is left out, as the library
    leaves out an empty tuple."""

    parent: Product
    children: NotRequired[list[Product]]


# pydantic-core writes a Decimal as a JSON string of its str() (the plain text, since the
# conversion gives plain_number()s), and has no raw JSON output: the money keys' strings
# are unquoted after dumping. A quote inside a JSON string is escaped, so the pattern only
# meets real keys; the values are digits, '-' and '.'.
_QUOTED_MONEY = re.compile(rb'("price(?:_in)?":)"([-0-9.]+)"')


def article_to_family(article: Article, tables: Tables) -> ProductFamily:
    """The article's checks (amounts, VAT, codes, model codes, sizes) and its conversion:
    the parent, and one child per size. Unknown codes are reported together."""
    price, rate, price_in = article["Pris"], article["Moms"], article["Inköpspris"]
    if scaled(price, 2) is None:
        raise PeerError(amount_problem(price, 2, "$.Pris"))
    if scaled(price_in, 2) is None:
        raise PeerError(amount_problem(price_in, 2, "$['Inköpspris']"))
    # Every rate of the table is a VAT percent with at most 2 decimals (and pydantic-core
    # refuses NaN), so finding the rate is its check.
    tax_class = tables.tax_class_of_rate.get(rate)
    category = tables.categories.get(article["Extern referens"])
    supplier = article["LeverantörsID"]
    manufacturer = None if supplier == "" else tables.manufacturers.get(supplier)
    if tax_class is None or category is None or (manufacturer is None and supplier != ""):
        raise PeerError(_codes_problem(article, tables))
    code, group, sizes = (
        article["Artikel"],
        article.get("Storleksgrupp"),
        article.get("Storlekar", ()),
    )
    if group is None:
        if sizes or not article_ok(code, False):
            raise PeerError(_sizes_problem(article))
    elif not sizes or not article_ok(code, True) or not size_ok(group):
        raise PeerError(_sizes_problem(article))
    common = {
        "name": {"sv": article["Beskrivning"]},
        "price": plain_number((price / (rate / 100 + 1)).quantize(EXPONENTS[4], ROUND_HALF_UP)),
        "price_in": plain_number(price_in),
        "tax_class_id": tax_class,
        "category_ids": [category],
        "manufacturer_id": manufacturer,
    }
    children: list[dict[str, Any]] = []
    append = children.append
    seen: set[str] = set()
    for item in sizes:
        size = item["Storlek"]
        if not size_ok(size) or size in seen:
            raise PeerError(_sizes_problem(article))
        seen.add(size)
        number = f"{code}_{group}_{size}"
        append(
            {
                "article_number": number,
                "ean1": item.get("Streckkod"),
                "external_id": number,
                **common,
            }
        )
    parent = {"article_number": code, "external_id": code, **common, "is_parent": bool(children)}
    if not children:
        return {"parent": parent}  # type: ignore[typeddict-item]
    return {"parent": parent, "children": children}  # type: ignore[typeddict-item]


def _codes_problem(article: Article, tables: Tables) -> str:
    """Every code of the article missing from its table (error path only)."""
    rate, reference, supplier = (
        article["Moms"],
        article["Extern referens"],
        article["LeverantörsID"],
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
    code, group, sizes = (
        article["Artikel"],
        article.get("Storleksgrupp"),
        article.get("Storlekar", ()),
    )
    if group is None:
        found = code_problems(code, None, None)
        if sizes:
            found.append("sizes without a size group")
    elif not sizes:
        found = [*code_problems(code, group, "-"), "no sizes"]
    else:
        found, seen = [], set()
        for item in sizes:
            found += code_problems(code, group, item["Storlek"])
            if item["Storlek"] in seen:
                found.append(f"size {item['Storlek']!r} appears twice")
            seen.add(item["Storlek"])
    return "; ".join(dict.fromkeys(found))


# --- Bex stock (input) -> Vendre stock update (output) --------------------------------------


class Stock(TypedDict):
    Artikelnr: str
    Storleksgrupp: NotRequired[str | None]
    Storlek: NotRequired[str | None]
    Lagerantal: int


class StockUpdate(TypedDict):
    article_number: str
    quantity: int
    status: int


# --- the pipelines --------------------------------------------------------------------------


def order_pipeline(lookups_path: str) -> Callable[[bytes], bytes]:
    tables = load_tables(lookups_path)
    load = TypeAdapter(VendreOrder).validate_json
    dump = TypeAdapter(BexOrder).dump_json

    def run(raw: bytes) -> bytes:
        return dump(order_to_bex(load(raw), tables), exclude_none=True)  # type: ignore[arg-type]

    return run


def product_pipeline(lookups_path: str) -> Callable[[bytes], bytes]:
    tables = load_tables(lookups_path)
    load = TypeAdapter(Article).validate_json
    dump = TypeAdapter(ProductFamily).dump_json
    unquote = functools.partial(_QUOTED_MONEY.sub, rb"\1\2")

    def run(raw: bytes) -> bytes:
        return unquote(dump(article_to_family(load(raw), tables), exclude_none=True))

    return run


def stream_stock(lookups_path: str, source: str, target: str) -> int:
    """Bex stock JSON Lines in, Vendre stock updates JSON Lines out, one line at a time."""
    tables = load_tables(lookups_path)
    load = TypeAdapter(Stock).validate_json
    dump = TypeAdapter(StockUpdate).dump_json
    hidden = 1 if tables.always_show else 0  # the status of a row with nothing in stock
    count = 0
    with open(source, "rb") as lines, open(target, "wb") as out:
        write = out.write
        for line in lines:
            stock = load(line)
            article, group, size = (
                stock["Artikelnr"],
                stock.get("Storleksgrupp"),
                stock.get("Storlek"),
            )
            if not parts_ok(article, group, size):
                raise PeerError(
                    f"line {count + 1}: {'; '.join(code_problems(article, group, size))}"
                )
            quantity = stock["Lagerantal"]
            code = article if size is None else f"{article}_{group}_{size}"
            if quantity > 0:
                update = {"article_number": code, "quantity": quantity, "status": 1}
            else:
                update = {"article_number": code, "quantity": 0, "status": hidden}
            write(dump(update) + b"\n")  # type: ignore[arg-type]
            count += 1
    return count
