"""Articles ↔ products, stock, order statuses, gift cards and bonus balances."""

from __future__ import annotations

import collections
from decimal import Decimal
from typing import Any

from bexvendre_mapping import bex, vendre
from bexvendre_mapping._errors import MappingError
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
from bexvendre_mapping.fieldmap import STATUS, EntityMap
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
def article_to_vendre(article: bex.Article, lookups: Lookups) -> vendre.ProductFamily:
    """A Bex article as a Vendre product family: the parent, and one child per size.

    The parent's article number is the ``Artikel``; each child's is the size's model code
    ``Artikel_Storleksgrupp_Storlek``, its ``ean1`` the size's ``Streckkod``. Every product
    of the family has the article's name, price (excluding VAT), purchase price, tax class,
    category and manufacturer. An unsized article is a family without children. Vendre's ids
    (``id``, the children's ``parent``) are not known here: the sync sets them.

    Raises:
        UnknownCodeError: the ``Moms`` is no rate of ``tax_classes``, the ``Extern
            referens`` is not in ``categories``, or the ``LeverantörsID`` is not in
            ``manufacturers``; every one, each with its path.
    """
    require_type(article, bex.Article, "article_to_vendre")
    problems = Problems()
    tax_class = problems.reverse(lookups.tax_classes, article.vat_rate, "$.Moms")
    category = problems.lookup(
        lookups.categories, article.external_reference, "$['Extern referens']"
    )
    manufacturer = (
        None
        if article.supplier_id == ""
        else problems.lookup(lookups.manufacturers, article.supplier_id, "$.LeverantörsID")
    )
    price_in = problems.exact(article.purchase_price, 4, "$.Inköpspris")
    problems.raise_if_any()
    build = fast_builder(vendre.Product)
    common = {
        "name": {"sv": article.description},
        "price": excl_vat(article.price, article.vat_rate, 4),
        "price_in": price_in,
        "tax_class_id": tax_class,
        "category_ids": (category,),
        "manufacturer_id": manufacturer,
    }
    code, group = article.article, article.size_group
    children = []
    for size in article.sizes:
        number = str(ModelCode(code, group, size.size))
        children.append(
            build(article_number=number, external_id=number, ean1=size.barcode, **common)
        )
    parent = build(article_number=code, external_id=code, is_parent=bool(children), **common)
    return vendre.ProductFamily(parent=parent, children=tuple(children))


@in_money_context
def product_to_bex(product: vendre.ProductFamily | vendre.Product, lookups: Lookups) -> bex.Article:
    """A Vendre product family (or an unsized product) as the Bex article it stands for.

    The parent gives the article's fields; each child, by its model code, one size (its
    ``ean1`` the ``Streckkod``). The ``Moms`` is the rate of the parent's ``tax_class_id``;
    the ``Extern referens`` is that of the first of its ``category_ids`` that the
    ``categories`` table knows. Paths in errors point into the family
    (``$.children[1].article_number``), or into the product when one was given.

    Raises:
        UnknownCodeError: the tax class, every category or the manufacturer is unknown.
        MappingError: a child's article number is no model code of the parent's article,
            the children's size groups differ, a size appears twice, the product has no
            Swedish name or no purchase price (Bex needs one), or the price including VAT
            is out of range; every problem, each with its path.
    """
    if isinstance(product, vendre.Product):
        family, base = vendre.ProductFamily(parent=product), "$"
    else:
        family, base = require_type(product, vendre.ProductFamily, "product_to_bex"), "$.parent"
    parent = family.parent
    problems = Problems()
    rate = problems.lookup(lookups.tax_classes, parent.tax_class_id, f"{base}.tax_class_id")
    reference = _category(parent, lookups, problems, base)
    supplier = (
        ""
        if parent.manufacturer_id is None
        else problems.reverse(
            lookups.manufacturers, parent.manufacturer_id, f"{base}.manufacturer_id"
        )
    )
    if parent.price_in is None:
        problems.add(f"{base}.price_in", "Bex needs a purchase price (Inköpspris); none is given")
        purchase = Decimal(0)
    else:
        purchase = problems.exact(parent.price_in, 2, f"{base}.price_in")
    if "sv" not in parent.name:
        problems.add(f"{base}.name", "needs a text for 'sv'")
    group, sizes = _sizes(family, problems)
    price = Decimal(0)
    if rate is not None:
        price = incl_vat(parent.price, rate, 2)
        if not -MAX_AMOUNT < price < MAX_AMOUNT:  # what Bex's loader reads back
            problems.add(
                f"{base}.price",
                f"{price} including VAT is out of range (at most 15 integer digits)",
            )
    problems.raise_if_any()
    article = bex.Article(
        article=parent.article_number,
        size_group=group,
        description=parent.name.get("sv", ""),
        supplier_id=supplier,
        price=price,
        vat_rate=quantize(rate, 2),
        purchase_price=purchase,
        external_reference=reference,
        sizes=sizes,
    )
    # The article must be one Bex accepts: the same checks as bex.load_article, on our paths.
    for problem in bex.Article._wire_check(article):
        problems.add(_family_path(problem.path, base), problem.message)
    problems.raise_if_any()
    return article


def _category(product: vendre.Product, lookups: Lookups, problems: Problems, base: str) -> str:
    """The ``Extern referens`` of the first of the product's categories the table knows."""
    for category in product.category_ids:
        if lookups.categories.has_value(category):
            reference: str = lookups.categories.reverse(category)
            return reference
    if not product.category_ids:
        problems.add(f"{base}.category_ids", "needs a category (Bex's Extern referens)")
    else:
        problems.reverse(lookups.categories, product.category_ids[0], f"{base}.category_ids[0]")
    return ""


def _sizes(
    family: vendre.ProductFamily, problems: Problems
) -> tuple[str | None, tuple[bex.Size, ...]]:
    """The size group and sizes the children's model codes give.

    The size group is the one most children have; a child with another is an error.
    """
    article = family.parent.article_number
    codes: list[tuple[int, ModelCode, vendre.Product]] = []
    for index, child in enumerate(family.children):
        path = f"$.children[{index}].article_number"
        try:
            code = ModelCode.parse(child.article_number)
        except MappingError as exc:
            problems.add(path, exc.problems[0].message)
            continue
        if code.article != article or code.size_group is None or code.size is None:
            problems.add(
                path,
                f"{child.article_number!r} is no size of the parent: expected "
                f"'{article}_<size group>_<size>'",
            )
            continue
        codes.append((index, code, child))
    counts = collections.Counter(code.size_group for _, code, _ in codes)
    group = counts.most_common(1)[0][0] if counts else None
    sizes = []
    for index, code, child in codes:
        if code.size_group != group:
            problems.add(
                f"$.children[{index}].article_number",
                f"size group {code.size_group!r} differs from the other sizes' {group!r}",
            )
            continue
        assert code.size is not None  # noqa: S101 - checked above
        sizes.append(bex.Size(size=code.size, barcode=child.ean1))
    return group, tuple(sizes)


def _family_path(path: str, base: str) -> str:
    """A path in a Bex article as the path of the field it came from in the family."""
    if path.startswith("$.Storlekar["):
        index = path[len("$.Storlekar[") :].split("]", 1)[0]
        return f"$.children[{index}].article_number"
    return {
        "$.Artikel": f"{base}.article_number",
        "$.Storlekar": "$.children",
        "$.Storleksgrupp": "$.children",
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
