"""Orders: Vendre → Bex (the integration's main job) and back (SPEC §2, §5)."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter
from typing import NamedTuple

from bexvendre_mapping import bex, vendre
from bexvendre_mapping._errors import ModelCodeError, TotalsMismatchError, UnknownCodeError
from bexvendre_mapping._fastpath import fast_builder
from bexvendre_mapping._lookups import Lookups
from bexvendre_mapping._plan import Hook
from bexvendre_mapping._text import closest, show
from bexvendre_mapping._wire import child_path
from bexvendre_mapping.convert._support import (
    Copier,
    Problems,
    block_copier,
    copy_block,
    in_money_context,
    require_type,
    scaled_exactly,
)
from bexvendre_mapping.fieldmap import ORDER
from bexvendre_mapping.money import MAX_AMOUNT, MINOR_UNITS, quantize, vat_amount

__all__ = ["TotalsMismatchWarning", "order_to_bex", "order_to_vendre"]

#: Totals that are not rows in Bex: the subtotal and tax are recomputed from the rows, the
#: total is the web payment, and gift cards are payments.
NOT_ROWS = frozenset({"ot_subtotal", "ot_tax", "ot_total", "ot_giftcard"})

TITLES = {
    "ot_subtotal": "Delsumma",
    "ot_giftcard": "Presentkort",
    "ot_tax": "Moms",
    "ot_total": "Totalt",
}

_PRICE = 4  # Vendre's decimals for prices and totals
_MONEY = 2  # Bex's decimals for prices and amounts
_EXPONENTS = [Decimal(1).scaleb(-n) for n in range(9)]
_CENTS = _EXPONENTS[_MONEY]
_ZERO = Decimal(0)
_KEPT_RATES = 8  # an order has a few VAT rates; more are computed row by row
_AMOUNT = attrgetter("amount")
# What a converted order may hold: what its side's loader reads back. Amounts below
# MAX_AMOUNT (15 integer digits), so that every sum and product of them is exact in
# money.CONTEXT's 28 digits and fits the wire's decimals; quantities likewise.
_MAX, _MIN = MAX_AMOUNT, -MAX_AMOUNT
_MAX_QUANTITY = int(MAX_AMOUNT)
_OUT_OF_RANGE = "out of range (at most 15 integer digits)"


class TotalsMismatchWarning(UserWarning):
    """The rows of an order do not add up to what was paid (the ``warn`` totals policy)."""


def _currency_places(currency: str, problems: Problems, path: str) -> int:
    places = MINOR_UNITS.get(currency)
    if places is None:
        problems.record(
            UnknownCodeError("currencies", currency, closest(currency, MINOR_UNITS), path=path)
        )
        return _MONEY
    return places


@functools.cache
def _to_bex_copiers() -> tuple[Copier, Copier, Copier, Copier]:
    """The generated copies of the order's blocks, Vendre to Bex (see block_copier).

    The address copies return the Bex address; the payment's, its leading arguments.
    """
    invoice, orderer, delivery, payment = (
        block_copier(ORDER, source, target, to_bex=True, vendre_prefix=v, bex_prefix=b, whole=w)
        for source, target, v, b, w in (
            (vendre.Address, bex.InvoiceAddress, "billing_address.", "Faktureras.", True),
            (vendre.CustomerAddress, bex.Orderer, "customer_address.", "Beställare.", True),
            (vendre.Address, bex.DeliveryAddress, "delivery_address.", "Leveransadress.", True),
            (vendre.Payment, bex.Payment, "payment.", "Butik & webbetalningar[0].", False),
        )
    )
    return invoice, orderer, delivery, payment


class _BexBuilders(NamedTuple):
    """The builders of the Bex models an order is made of (see fast_builder), fetched once."""

    order: Hook
    payment: Hook
    row: Hook


@functools.cache
def _bex_builders() -> _BexBuilders:
    return _BexBuilders(
        *map(
            fast_builder,
            (bex.Order, bex.Payment, bex.Row),
        )
    )


@in_money_context
def order_to_bex(order: vendre.Order, lookups: Lookups) -> bex.Order:
    """Convert a Vendre order into the Bex order the integration creates.

    Product rows carry prices including VAT, rounded half up to the currency's minor unit;
    every total but the subtotal, tax, total and gift cards becomes a fee row; the web
    payment and each gift card become payments; the totals check runs last.

    Raises:
        UnknownCodeError: a code is missing from a code table (all of them, when several).
        TotalsMismatchError: the rows do not add up to ``ot_total`` plus the gift cards
            (with the ``error`` totals policy).
        MappingError: several kinds of problems, each with its path in the Vendre order.
    """
    require_type(order, vendre.Order, "order_to_bex")
    problems = Problems()
    places = _currency_places(order.currency, problems, "$.currency")

    copy_invoice, copy_orderer, copy_delivery, copy_payment = _to_bex_copiers()
    build = _bex_builders()
    invoice = copy_invoice(order.billing_address, lookups, problems, "$.billing_address")
    orderer = copy_orderer(order.customer_address, lookups, problems, "$.customer_address")
    delivery = copy_delivery(order.delivery_address, lookups, problems, "$.delivery_address")
    web = copy_payment(order.payment, lookups, problems, "$.payment")
    method_id = order.shipping.method_id
    try:  # the table's own dict first, as the copies read theirs
        shipping_id = lookups.shipping_methods._forward[method_id]
    except (KeyError, TypeError):
        shipping_id = problems.lookup(lookups.shipping_methods, method_id, "$.shipping.method_id")

    rows, rows_fit = _product_rows(order, places, shipping_id, lookups, problems, build.row)
    total_paid = _fee_rows(order, places, shipping_id, lookups, problems, rows, build.row)
    paid_known = total_paid is not None
    if total_paid is None:
        problems.add("$.totals", "no ot_total: what the customer paid is unknown")
        total_paid = _ZERO

    payment = build.payment
    payments = [payment(**web, amount=total_paid)]
    if order.gift_cards:
        exponent, payment_date = _EXPONENTS[places], order.payment.date_added
        gift_code = lookups.gift_card_payment_code
        for index, card in enumerate(order.gift_cards):
            amount = scaled_exactly(card.amount, exponent)
            if amount is None:
                amount = problems.exact(card.amount, places, f"$.gift_cards[{index}].amount")
            if not amount > _ZERO:  # as the loader checks: a model built by hand may not be
                problems.add(
                    f"$.gift_cards[{index}].amount", f"must be more than 0, got {show(card.amount)}"
                )
            payments.append(
                payment(
                    document_number=card.code,
                    transaction_number=card.reservation_id,
                    date=payment_date,
                    code=gift_code,
                    amount=amount,
                )
            )
    rows_total = sum(map(_AMOUNT, rows), _ZERO)
    if rows_fit and not _MIN < rows_total < _MAX:
        rows_fit = False
        problems.add("$.totals", f"the rows add up to {rows_total}: {_OUT_OF_RANGE}")
    paid = total_paid + sum(map(_AMOUNT, order.gift_cards), _ZERO)
    mismatch = (  # rows out of range add up to a figure that means nothing
        _check_totals(rows_total, quantize(paid, places), len(order.products), lookups)
        if paid_known and rows_fit
        else None
    )
    if mismatch is not None:
        problems.record(mismatch)
    if problems.errors:
        problems.raise_if_any()

    result: bex.Order = build.order(
        number=str(order.id),
        order_date=order.date_added,
        customer_number=None if order.customer_id is None else str(order.customer_id),
        currency=order.currency,
        currency_rate=order.currency_value,
        invoice_address=invoice,
        orderer=orderer,
        delivery_address=delivery,
        payments=tuple(payments),
        rows=tuple(rows),
        shipping_id=shipping_id,
        total=rows_total,
    )
    return result


def _fee_rows(  # noqa: PLR0917 - order_to_bex's state, passed once
    order: vendre.Order,
    places: int,
    shipping_id: str | None,
    lookups: Lookups,
    problems: Problems,
    rows: list[bex.Row],
    row: Hook,
) -> Decimal | None:
    """Append a fee row per total that is one; return what ``ot_total`` says was paid.

    ``row`` builds a ``bex.Row`` (see :func:`_bex_builders`).
    """
    exponent = _EXPONENTS[places]
    fee_rate = _fee_rate(lookups.settings.fee_tax_rate)
    fee_articles = lookups.fee_articles
    known = fee_articles._forward  # the table's own dict: a hit needs no method call
    total_paid: Decimal | None = None
    for index, total in enumerate(order.totals):
        kind = total.class_
        if kind in NOT_ROWS:
            if kind == "ot_total":
                if total_paid is not None:
                    problems.add(f"$.totals[{index}].class", "a second ot_total")
                total_paid = scaled_exactly(total.value, exponent)
                if total_paid is None:
                    total_paid = problems.exact(total.value, places, f"$.totals[{index}].value")
            continue
        if kind == "ot_shipping":
            article = shipping_id
        else:
            try:
                article = known[kind]
            except (KeyError, TypeError):
                article = problems.lookup(fee_articles, kind, f"$.totals[{index}].class")
        value = scaled_exactly(total.value, exponent)
        if value is None:
            value = problems.exact(total.value, places, f"$.totals[{index}].value")
        rows.append(
            row(
                article=article or "",
                quantity=1,
                description=total.title,
                price=value,
                vat_rate=fee_rate,
                amount=value,
            )
        )
    return total_paid


# The fee rate last written with 2 decimals, and how: the settings of one Lookups, used for
# order after order. One tuple, replaced whole, so that threads never mix two entries.
_last_fee_rate: tuple[object, Decimal] = (object(), _ZERO)


def _fee_rate(rate: Decimal) -> Decimal:
    """The fee rows' ``Moms``: Bex writes 2 decimals, so Decimal(25) is kept as 25.00."""
    global _last_fee_rate  # noqa: PLW0603 - the one-entry memo above
    last = _last_fee_rate
    if last[0] is rate:
        return last[1]
    cents = scaled_exactly(rate, _CENTS)
    written = rate if cents is None else cents
    _last_fee_rate = (rate, written)
    return written


def _product_rows(  # noqa: PLR0917 - order_to_bex's state, passed once
    order: vendre.Order,
    places: int,
    shipping_id: str | None,
    lookups: Lookups,
    problems: Problems,
    row: Hook,
) -> tuple[list[bex.Row], bool]:
    """The Bex rows of the order's products: prices including VAT, rounded half up.

    ``row`` builds a ``bex.Row`` (see :func:`_bex_builders`). Also whether every row's
    quantity, price and amount are in range (each one that is not is a problem).
    """
    exponent = _EXPONENTS[places]
    # Per VAT rate of the order: the rate, 1 + rate/100, and the rate with 2 decimals (None
    # when that would round it). A list searched with ==, not a dict: hashing a Decimal
    # costs more than computing the factor, and each loaded order's Decimals are new.
    rates: list[tuple[Decimal, Decimal, Decimal | None]] = []
    rows: list[bex.Row] = []
    fit = True
    for index, product in enumerate(order.products):
        model, tax = product.model, product.tax
        if model.size is None and (
            model.article == shipping_id or model.article in lookups.fee_articles._reverse
        ):
            problems.add(
                f"$.products[{index}].model",
                f"the unsized article {model.article!r} is also a fee article or the "
                "FraktID, so Bex could not tell the row from a fee",
            )
        for entry in rates:
            if entry[0] == tax:
                break
        else:
            vat = tax.quantize(_CENTS)
            entry = (tax, 1 + tax / 100, vat if vat == tax else None)
            if len(rates) < _KEPT_RATES:
                rates.append(entry)
        _, factor, vat_rate = entry
        if vat_rate is None:
            vat_rate = problems.exact(tax, _MONEY, f"$.products[{index}].tax")
        # final_price, when sent, is what the customer paid a unit (Vendre: "the price of
        # the product"); price is before attribute values and discounts.
        unit = product.price if product.final_price is None else product.final_price
        # quantize's rounding given by position: a keyword costs _decimal 0.1 µs more.
        price = (unit * factor).quantize(exponent, ROUND_HALF_UP)
        quantity = product.quantity
        amount = quantity * price
        if not (_MIN < amount < _MAX and _MIN < price < _MAX and quantity < _MAX_QUANTITY):
            _row_out_of_range(index, product, price, problems)
            fit = False
        rows.append(
            row(
                article=model.article,
                size_group=model.size_group,
                size=model.size,
                quantity=quantity,
                description=product.name,
                price=price,
                vat_rate=vat_rate,
                amount=amount,
            )
        )
    return rows, fit


def _row_out_of_range(
    index: int, product: vendre.OrderProduct, price: Decimal, problems: Problems
) -> None:
    """Record why a product row cannot be a Bex row: a quantity, price or amount too large.

    Bex's loader would refuse it, and beyond 28 digits its dumper too.
    """
    at = f"$.products[{index}]"
    if product.quantity >= _MAX_QUANTITY:
        problems.add(
            f"{at}.quantity", f"{show(product.quantity)} is out of range (at most 15 digits)"
        )
    elif not _MIN < price < _MAX:
        key = "price" if product.final_price is None else "final_price"
        problems.add(f"{at}.{key}", f"{price} including VAT is {_OUT_OF_RANGE}")
    else:
        problems.add(
            at, f"the row amount, {product.quantity} × {price} including VAT, is {_OUT_OF_RANGE}"
        )


def _check_totals(
    rows_total: Decimal, paid: Decimal, product_rows: int, lookups: Lookups
) -> TotalsMismatchError | None:
    """The totals check of SPEC §5: the error to report, if any (a warning under ``warn``)."""
    per_row = lookups.settings.totals_tolerance_per_row
    if rows_total == paid and per_row >= _ZERO:  # the usual case, no arithmetic needed
        return None
    tolerance = per_row * max(product_rows, 1)
    if abs(rows_total - paid) <= tolerance:
        return None
    error = TotalsMismatchError(rows_total, paid, path="$.totals")
    if lookups.settings.totals_policy == "warn":
        # The caller of order_to_bex (above: order_to_bex, in_money_context's wrapper).
        warnings.warn(str(error), TotalsMismatchWarning, stacklevel=4)
        return None
    return error


def _fee_kind(row: bex.Row, order: bex.Order, lookups: Lookups) -> str | None:
    """The total class of a fee row, or ``None`` for a product row."""
    if row.size is not None:
        return None
    if row.article == order.shipping_id:
        return "ot_shipping"
    if lookups.fee_articles.has_value(row.article):
        return lookups.fee_articles.reverse(row.article)
    return None


@in_money_context
def order_to_vendre(order: bex.Order, lookups: Lookups) -> vendre.Order:
    """Convert a Bex order back into the Vendre order it came from.

    Rows whose ``Artikelnr`` is the ``FraktID`` or a fee article become totals, the others
    products (prices back to excluding VAT, 4 decimals); the first payment whose ``Kod`` is
    not the gift-card code is the web payment, the others gift cards; the subtotal, tax and
    total are rebuilt (SPEC §5).

    Raises:
        UnknownCodeError: a code is missing from a code table (all of them, when several).
        MappingError: several kinds of problems, each with its path in the Bex order.
    """
    require_type(order, bex.Order, "order_to_vendre")
    problems = Problems()
    places = _currency_places(order.currency, problems, "$.Valuta")

    def block(v: str, b: str, source: object, cls: type, path: str) -> dict[str, object]:
        return copy_block(
            ORDER,
            source,
            cls,
            to_bex=False,
            vendre_prefix=f"{v}.",
            bex_prefix=f"{b}.",
            lookups=lookups,
            problems=problems,
            path=path,
        )

    billing = block(
        "billing_address", "Faktureras", order.invoice_address, vendre.Address, "$.Faktureras"
    )
    customer = block(
        "customer_address", "Beställare", order.orderer, vendre.CustomerAddress, "$.Beställare"
    )
    delivery = block(
        "delivery_address",
        "Leveransadress",
        order.delivery_address,
        vendre.Address,
        "$.Leveransadress",
    )
    order_id = problems.vendre_id(order.number, "$.Ordernr")
    customer_id = (
        None
        if order.customer_number is None
        else problems.vendre_id(order.customer_number, "$.Kundnr")
    )

    web_payment, cards = _split_payments(order.payments, lookups, problems)
    payment = None
    if web_payment is not None:
        index, entry = web_payment
        payment = vendre.Payment(
            **block(
                "payment",
                "Butik & webbetalningar[0]",
                entry,
                vendre.Payment,
                f"$['Butik & webbetalningar'][{index}]",
            )  # type: ignore[arg-type]
        )
    method_id = problems.reverse(lookups.shipping_methods, order.shipping_id, "$.FraktID")

    rows = _vendre_rows(order, places, lookups, problems)
    rows_total = sum((row.amount for row in order.rows), Decimal(0))
    if order.total != rows_total:
        problems.add(
            "$['Belopp inkl.moms']", f"{order.total} is not the sum of the rows, {rows_total}"
        )
    problems.raise_if_any()
    assert payment is not None  # noqa: S101 - a missing web payment was recorded as a problem
    assert method_id is not None  # noqa: S101 - likewise an unknown FraktID

    gift_total = sum((card.amount for card in cards), Decimal(0))
    tax = sum((vat_amount(amount, rate, places) for rate, amount in rows.by_rate), Decimal(0))
    totals = [
        vendre.Total(
            class_="ot_subtotal", title=TITLES["ot_subtotal"], value=quantize(rows.subtotal, _PRICE)
        ),
        *rows.fee_totals,
    ]
    if cards:
        totals.append(
            vendre.Total(
                class_="ot_giftcard",
                title=TITLES["ot_giftcard"],
                value=quantize(-gift_total, _PRICE),
            )
        )
    totals += [
        vendre.Total(class_="ot_tax", title=TITLES["ot_tax"], value=quantize(tax, _PRICE)),
        vendre.Total(
            class_="ot_total",
            title=TITLES["ot_total"],
            value=quantize(web_payment[1].amount, _PRICE),  # type: ignore[index]
        ),
    ]
    for total in totals:  # sums of amounts in range may not be: Vendre's loader refuses them
        if not _MIN < total.value < _MAX:
            at = "$['Butik & webbetalningar']" if total.class_ == "ot_giftcard" else "$.Artiklar"
            problems.add(at, f"the {total.class_} would be {total.value}: {_OUT_OF_RANGE}")
    problems.raise_if_any()
    return vendre.Order(
        id=order_id or 0,
        date_added=order.order_date,
        customer_id=customer_id,
        currency=order.currency,
        currency_value=order.currency_rate,
        billing_address=vendre.Address(**billing),  # type: ignore[arg-type]
        customer_address=vendre.CustomerAddress(**customer),  # type: ignore[arg-type]
        delivery_address=vendre.Address(**delivery),  # type: ignore[arg-type]
        payment=payment,
        products=tuple(rows.products),
        totals=tuple(totals),
        shipping=vendre.Shipping(method_id=method_id, title=rows.shipping_title),
        gift_cards=tuple(
            vendre.GiftCardUse(
                code=card.document_number,
                amount=quantize(card.amount, _PRICE),
                reservation_id=card.transaction_number,
            )
            for card in cards
        ),
    )


class _VendreRows(NamedTuple):
    """What order_to_vendre makes of a Bex order's rows."""

    products: list[vendre.OrderProduct]
    fee_totals: list[vendre.Total]
    shipping_title: str
    subtotal: Decimal  # of the products, including VAT, as Vendre computes it
    by_rate: list[list[Decimal]]  # [VAT rate, amount] of every row, see _add_to_rate


def _vendre_rows(
    order: bex.Order, places: int, lookups: Lookups, problems: Problems
) -> _VendreRows:
    """Product rows as Vendre products (prices excluding VAT), fee rows as totals.

    The prices are money.excl_vat's and the subtotal money.incl_vat's, with the factor
    1 + rate/100 computed once per VAT rate (this runs in money.CONTEXT). The rates sit in
    a list searched with ==, as in _product_rows: hashing a new Decimal costs more.
    """
    products: list[vendre.OrderProduct] = []
    fee_totals: list[vendre.Total] = []
    shipping_title = ""
    by_rate: list[list[Decimal]] = []
    rates: list[tuple[Decimal, Decimal, Decimal]] = []  # rate, factor, rate with 4 decimals
    subtotal = _ZERO
    price_exponent, incl_exponent = _EXPONENTS[_PRICE], _EXPONENTS[places]
    product, total = fast_builder(vendre.OrderProduct), fast_builder(vendre.Total)
    for index, row in enumerate(order.rows):
        quantity, rate = row.quantity, row.vat_rate
        if quantity >= _MAX_QUANTITY:  # as order_to_bex refuses it
            problems.add(
                f"$.Artiklar[{index}].Antal",
                f"{show(quantity)} is out of range (at most 15 digits)",
            )
        if row.amount != quantity * row.price:
            problems.add(
                f"$.Artiklar[{index}]['Belopp inkl.moms']",
                f"{row.amount} is not Antal × Pris = {quantity * row.price}",
            )
        _add_to_rate(by_rate, rate, row.amount)
        kind = _fee_kind(row, order, lookups)
        if kind is not None:
            if kind == "ot_shipping":
                shipping_title = row.description
            fee_totals.append(
                total(class_=kind, title=row.description, value=quantize(row.amount, _PRICE))
            )
            continue
        try:
            code = row.model_code
        except ModelCodeError as exc:
            problems.record(exc.rebased(f"$.Artiklar[{index}]"))
            continue
        for entry in rates:
            if entry[0] == rate:
                break
        else:
            entry = (rate, 1 + rate / 100, quantize(rate, _PRICE))
            if len(rates) < _KEPT_RATES:
                rates.append(entry)
        _, factor, tax = entry
        price = (row.price / factor).quantize(price_exponent, ROUND_HALF_UP)
        subtotal += quantity * (price * factor).quantize(incl_exponent, ROUND_HALF_UP)
        products.append(
            product(quantity=quantity, model=code, name=row.description, price=price, tax=tax)
        )
    return _VendreRows(products, fee_totals, shipping_title, subtotal, by_rate)


def _add_to_rate(by_rate: list[list[Decimal]], rate: Decimal, amount: Decimal) -> None:
    """Add ``amount`` to the ``[rate, total]`` entry of ``rate``, made at its first use.

    A list searched with ``==``, not a dict, as in _product_rows: an order has a few rates,
    and hashing a new ``Decimal`` costs more than a few comparisons.
    """
    for entry in by_rate:
        if entry[0] == rate:
            entry[1] += amount
            return
    by_rate.append([rate, _ZERO + amount])


def _split_payments(
    payments: Sequence[bex.Payment], lookups: Lookups, problems: Problems
) -> tuple[tuple[int, bex.Payment] | None, list[bex.Payment]]:
    web: tuple[int, bex.Payment] | None = None
    cards: list[bex.Payment] = []
    for index, payment in enumerate(payments):
        if payment.code == lookups.gift_card_payment_code:
            cards.append(payment)
            if not payment.amount > _ZERO:
                problems.add(
                    child_path("$['Butik & webbetalningar']", index) + ".Belopp",
                    f"a gift card pays more than 0, got {show(payment.amount)}",
                )
        elif web is None:
            web = (index, payment)
        else:
            problems.add(
                child_path("$['Butik & webbetalningar']", index) + ".Kod",
                f"a second web payment ({payment.code!r}); Vendre orders have one",
            )
    if web is None:
        problems.add("$['Butik & webbetalningar']", "no web payment (only gift cards)")
    return web, cards
