"""The kinds of documents, for the command line and the streaming API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from bexvendre_mapping import bex, convert, vendre
from bexvendre_mapping._dates import DEFAULT_TIME_ZONE
from bexvendre_mapping._errors import MappingError, Problem
from bexvendre_mapping._lookups import Lookups
from bexvendre_mapping._wire import parse_document

__all__ = ["KINDS", "OTHER", "Kind"]


@attrs.frozen
class Kind:
    """One kind of document, both sides: how to load, convert and dump it."""

    load: dict[str, Callable[..., Any]]
    to_other: dict[str, Callable[[Any, Lookups], Any]]
    dump: dict[str, Callable[..., dict[str, Any]]]
    dumps: dict[str, Callable[..., bytes]]


def load_family(
    data: Any, *, strict: bool = False, time_zone: str = DEFAULT_TIME_ZONE
) -> vendre.ProductFamily:
    """A Vendre product family from any of its documents.

    ``{"parent": {...}, "children": [...]}`` (what ``dump_product_family`` writes), a listing
    page ``{"list": [...], "remaining": N}`` holding one family (a parent and its sizes as
    ``/API/1/products`` lists them), or one product (an unsized article).

    Raises:
        MappingError: the document does not load, or the listing holds no family or several.
    """
    document = parse_document(data) if isinstance(data, bytes | bytearray | str) else data
    if isinstance(document, dict) and isinstance(document.get("parent"), dict):
        return vendre.load_product_family(document, strict=strict, time_zone=time_zone)
    if isinstance(document, dict) and isinstance(document.get("list"), list):
        problems: list[Problem] = []
        products = []
        for index, item in enumerate(document["list"]):
            try:
                products.append(vendre.load_product(item, strict=strict, time_zone=time_zone))
            except MappingError as exc:
                problems += exc.rebased(f"$.list[{index}]").problems
        if problems:
            raise MappingError(problems)
        found = vendre.families(products)
        if len(found) != 1:
            msg = f"holds {len(found)} product families; convert one family at a time"
            raise MappingError(msg, path="$.list")
        return found[0]
    return vendre.ProductFamily(
        parent=vendre.load_product(document, strict=strict, time_zone=time_zone)
    )


KINDS: dict[str, Kind] = {
    "order": Kind(
        {"vendre": vendre.load_order, "bex": bex.load_order},
        {"vendre": convert.order_to_bex, "bex": convert.order_to_vendre},
        {"vendre": vendre.dump_order, "bex": bex.dump_order},
        {"vendre": vendre.dumps_order, "bex": bex.dumps_order},
    ),
    "product": Kind(
        {"vendre": load_family, "bex": bex.load_article},
        {"vendre": convert.product_to_bex, "bex": convert.article_to_vendre},
        {"vendre": vendre.dump_product_family, "bex": bex.dump_article},
        {"vendre": vendre.dumps_product_family, "bex": bex.dumps_article},
    ),
    "stock": Kind(
        {"vendre": vendre.load_stock_update, "bex": bex.load_stock},
        {"vendre": convert.stock_to_bex, "bex": convert.stock_to_vendre},
        {"vendre": vendre.dump_stock_update, "bex": bex.dump_stock},
        {"vendre": vendre.dumps_stock_update, "bex": bex.dumps_stock},
    ),
    "status": Kind(
        {"vendre": vendre.load_order_status_update, "bex": bex.load_order_status},
        {"vendre": convert.status_to_bex, "bex": convert.status_to_vendre},
        {"vendre": vendre.dump_order_status_update, "bex": bex.dump_order_status},
        {"vendre": vendre.dumps_order_status_update, "bex": bex.dumps_order_status},
    ),
    "gift-card": Kind(
        {"vendre": vendre.load_gift_card, "bex": bex.load_gift_card},
        {"vendre": convert.gift_card_to_bex, "bex": convert.gift_card_to_vendre},
        {"vendre": vendre.dump_gift_card, "bex": bex.dump_gift_card},
        {"vendre": vendre.dumps_gift_card, "bex": bex.dumps_gift_card},
    ),
    "bonus": Kind(
        {"vendre": vendre.load_bonus_balance, "bex": bex.load_bonus_balance},
        {"vendre": convert.bonus_to_bex, "bex": convert.bonus_to_vendre},
        {"vendre": vendre.dump_bonus_balance, "bex": bex.dump_bonus_balance},
        {"vendre": vendre.dumps_bonus_balance, "bex": bex.dumps_bonus_balance},
    ),
}
KINDS["article"] = KINDS["product"]
OTHER = {"vendre": "bex", "bex": "vendre"}
