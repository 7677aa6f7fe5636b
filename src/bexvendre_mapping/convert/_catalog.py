"""Articles ↔ products, stock, order statuses, gift cards and bonus balances."""

from __future__ import annotations

from typing import Any

from bexvendre_mapping import bex, vendre
from bexvendre_mapping._fastpath import fast_builder
from bexvendre_mapping._lookups import Lookups
from bexvendre_mapping._modelcode import ModelCode
from bexvendre_mapping.convert._support import (
    Problems,
    checks_models,
    copy_block,
    in_money_context,
    require_type,
)
from bexvendre_mapping.fieldmap import PRODUCT, STATUS, EntityMap
from bexvendre_mapping.money import MAX_AMOUNT, excl_vat, incl_vat, quantize

__all__ = [
    "article_to_vendre",
    "bonus_to_bex",
    "bonus_to_vendre",
    "gift_card_to_bex",
    "gift_card_to_vendre",
    "product_to_bex",
    "status_to_bex",
    "status_to_vendre",
    "stock_to_bex",
    "stock_to_vendre",
]


def _top_level(
    entity: EntityMap,
    source: object,
    target_cls: type,
    *,
    to_bex: bool,
    lookups: Lookups,
    problems: Problems,
) -> dict[str, Any]:
    """The field map's plain rules for the entity's top-level fields."""
    return copy_block(
        entity,
        source,
        target_cls,
        to_bex=to_bex,
        vendre_prefix="",
        bex_prefix="",
        lookups=lookups,
        problems=problems,
        path="$",
    )


@in_money_context
def article_to_vendre(article: bex.Article, lookups: Lookups) -> vendre.Product:
    """A Bex article as a Vendre product, with one variant per size.

    Raises:
        UnknownCodeError: the article's ``Extern referens`` is not in ``categories``.
    """
    require_type(article, bex.Article, "article_to_vendre")
    problems = Problems()
    scalars = _top_level(
        PRODUCT, article, vendre.Product, to_bex=False, lookups=lookups, problems=problems
    )
    problems.raise_if_any()
    code, group, variant = article.article, article.size_group, fast_builder(vendre.Variant)
    product: vendre.Product = fast_builder(vendre.Product)(
        **scalars,  # what the field map's rules copy
        name={"sv": article.description},
        price=excl_vat(article.price, article.vat_rate, 4),
        variants=tuple(
            [
                variant(article_number=ModelCode(code, group, s.size), size=s.size, ean1=s.barcode)
                for s in article.sizes
            ]
        ),
    )
    return product


@in_money_context
def product_to_bex(product: vendre.Product, lookups: Lookups) -> bex.Article:
    """A Vendre product as the Bex article it stands for.

    Raises:
        UnknownCodeError: the ``category_id`` is not in ``categories``.
        MappingError: a variant's article number does not match the product's article,
            size group and its size; or several problems, each with its path.
    """
    require_type(product, vendre.Product, "product_to_bex")
    problems = Problems()
    scalars = _top_level(
        PRODUCT, product, bex.Article, to_bex=True, lookups=lookups, problems=problems
    )
    for index, variant in enumerate(product.variants):
        expected = _join(product.article_number, product.size_group, variant.size)
        if str(variant.article_number) != expected:
            problems.add(
                f"$.variants[{index}].article_number",
                f"{str(variant.article_number)!r} does not match the product: expected "
                f"{expected!r}",
            )
    if "sv" not in product.name:
        problems.add("$.name", "needs a text for 'sv'")
    price = incl_vat(product.price, product.tax_rate, 2)
    if not -MAX_AMOUNT < price < MAX_AMOUNT:  # what Bex's loader reads back
        problems.add(
            "$.price", f"{price} including VAT is out of range (at most 15 integer digits)"
        )
    article = bex.Article(
        **scalars,
        description=product.name.get("sv", ""),
        price=price,
        sizes=tuple(bex.Size(size=v.size, barcode=v.ean1) for v in product.variants),
    )
    # The article must be one Bex accepts: the same checks as bex.load_article, on our paths.
    for problem in bex.Article._wire_check(article):
        problems.add(_product_path(problem.path), problem.message)
    problems.raise_if_any()
    return article


def _join(article: str, group: str | None, size: str) -> str:
    return article if group is None else f"{article}_{group}_{size}"


def _product_path(path: str) -> str:
    """A path in a Bex article as the path of the field it came from in the product."""
    if path.startswith("$.Storlekar["):
        return "$.variants[" + path[len("$.Storlekar[") :].replace("].Storlek", "].size")
    return {
        "$.Artikel": "$.article_number",
        "$.Storleksgrupp": "$.size_group",
        "$.Storlekar": "$.variants",
    }.get(path, path)


@checks_models
def stock_to_vendre(stock: bex.Stock, lookups: Lookups) -> vendre.StockUpdate:
    """A Bex stock level as a Vendre stock update.

    Negative stock (a point-of-sale system sells what it has not booked in) is sent as 0.
    The status follows the ``stock_status`` setting.

    Raises:
        ModelCodeError: the article number, size group and size do not form a model code.
    """
    require_type(stock, bex.Stock, "stock_to_vendre")
    quantity, status = stock_level(stock.quantity, lookups)
    return vendre.StockUpdate(article_number=stock.model_code, quantity=quantity, status=status)


def stock_level(quantity: int, lookups: Lookups) -> tuple[int, int]:
    """A Bex ``Lagerantal`` as Vendre's ``quantity`` and ``status``."""
    shown = quantity > 0 or lookups.settings.stock_status == "always_show"
    return (quantity if quantity > 0 else 0), (1 if shown else 0)


@checks_models
def stock_to_bex(update: vendre.StockUpdate, lookups: Lookups) -> bex.Stock:
    """A Vendre stock update as a Bex stock level."""
    require_type(update, vendre.StockUpdate, "stock_to_bex")
    code = update.article_number
    return bex.Stock(
        article=code.article, size_group=code.size_group, size=code.size, quantity=update.quantity
    )


@checks_models
def status_to_vendre(status: bex.OrderStatus, lookups: Lookups) -> vendre.OrderStatusUpdate:
    """A Bex order status as a Vendre status update.

    Raises:
        UnknownCodeError: the Bex ``Status`` is not in ``order_statuses``.
        MappingError: the ``Ordernr`` is not a number (Vendre order ids are).
    """
    require_type(status, bex.OrderStatus, "status_to_vendre")
    problems = Problems()
    order_id = problems.vendre_id(status.order_number, "$.Ordernr")
    kwargs = _top_level(
        STATUS, status, vendre.OrderStatusUpdate, to_bex=False, lookups=lookups, problems=problems
    )
    problems.raise_if_any()
    assert order_id is not None  # noqa: S101 - a bad number was raised above
    return vendre.OrderStatusUpdate(id=order_id, **kwargs)


@checks_models
def status_to_bex(update: vendre.OrderStatusUpdate, lookups: Lookups) -> bex.OrderStatus:
    """A Vendre status update as a Bex order status.

    Raises:
        UnknownCodeError: no Bex status maps to the Vendre status id.
    """
    require_type(update, vendre.OrderStatusUpdate, "status_to_bex")
    problems = Problems()
    kwargs = _top_level(
        STATUS, update, bex.OrderStatus, to_bex=True, lookups=lookups, problems=problems
    )
    problems.raise_if_any()
    return bex.OrderStatus(order_number=str(update.id), **kwargs)


_CARD_STATES = {
    bex.GiftCardStatus.ACTIVE: "active",
    bex.GiftCardStatus.RESERVED: "reserved",
    bex.GiftCardStatus.USED: "used",
    bex.GiftCardStatus.BLOCKED: "blocked",
}
_CARD_STATUSES = {state: status for status, state in _CARD_STATES.items()}


@in_money_context
def gift_card_to_vendre(card: bex.GiftCard, lookups: Lookups | None = None) -> vendre.GiftCard:
    """A Bex gift card as Vendre's checkout sees it: usable exactly when it is ``Aktiv``."""
    require_type(card, bex.GiftCard, "gift_card_to_vendre")
    return vendre.GiftCard(
        code=card.number,
        balance=quantize(card.balance, 4),
        currency=card.currency,
        expires=card.valid_until,
        usable=card.status is bex.GiftCardStatus.ACTIVE,
        status=_CARD_STATES[card.status],
    )


@checks_models
def gift_card_to_bex(card: vendre.GiftCard, lookups: Lookups | None = None) -> bex.GiftCard:
    """A Vendre gift card as the Bex card.

    The ``status`` decides the Bex status; without one, a usable card is ``Aktiv`` and an
    unusable one ``Använd`` when its balance is spent, ``Spärrad`` otherwise.

    Raises:
        MappingError: the balance has more than 2 decimals.
    """
    require_type(card, vendre.GiftCard, "gift_card_to_bex")
    problems = Problems()
    balance = problems.exact(card.balance, 2, "$.balance")
    problems.raise_if_any()
    if card.status is not None:
        status = _CARD_STATUSES[card.status]
    elif card.usable:
        status = bex.GiftCardStatus.ACTIVE
    elif card.balance == 0:
        status = bex.GiftCardStatus.USED
    else:
        status = bex.GiftCardStatus.BLOCKED
    return bex.GiftCard(
        number=card.code,
        balance=balance,
        currency=card.currency,
        valid_until=card.expires,
        status=status,
    )


@checks_models
def bonus_to_vendre(
    balance: bex.BonusBalance, lookups: Lookups | None = None
) -> vendre.BonusBalance:
    """A Bex bonus balance for Vendre.

    Raises:
        MappingError: the ``Kundnr`` is not a number (Vendre customer ids are).
    """
    require_type(balance, bex.BonusBalance, "bonus_to_vendre")
    problems = Problems()
    customer_id = problems.vendre_id(balance.customer_number, "$.Kundnr")
    problems.raise_if_any()
    assert customer_id is not None  # noqa: S101 - a bad number was raised above
    return vendre.BonusBalance(customer_id=customer_id, points=balance.points)


@checks_models
def bonus_to_bex(balance: vendre.BonusBalance, lookups: Lookups | None = None) -> bex.BonusBalance:
    """A Vendre bonus balance as Bex's."""
    require_type(balance, vendre.BonusBalance, "bonus_to_bex")
    return bex.BonusBalance(customer_number=str(balance.customer_id), points=balance.points)
