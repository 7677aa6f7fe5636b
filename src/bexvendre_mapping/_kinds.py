"""The kinds of documents, for the command line and the streaming API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from bexvendre_mapping import bex, convert, vendre
from bexvendre_mapping._lookups import Lookups

__all__ = ["KINDS", "OTHER", "Kind"]


@attrs.frozen
class Kind:
    """One kind of document, both sides: how to load, convert and dump it."""

    load: dict[str, Callable[..., Any]]
    to_other: dict[str, Callable[[Any, Lookups], Any]]
    dump: dict[str, Callable[..., dict[str, Any]]]
    dumps: dict[str, Callable[..., bytes]]


KINDS: dict[str, Kind] = {
    "order": Kind(
        {"vendre": vendre.load_order, "bex": bex.load_order},
        {"vendre": convert.order_to_bex, "bex": convert.order_to_vendre},
        {"vendre": vendre.dump_order, "bex": bex.dump_order},
        {"vendre": vendre.dumps_order, "bex": bex.dumps_order},
    ),
    "product": Kind(
        {"vendre": vendre.load_product, "bex": bex.load_article},
        {"vendre": convert.product_to_bex, "bex": convert.article_to_vendre},
        {"vendre": vendre.dump_product, "bex": bex.dump_article},
        {"vendre": vendre.dumps_product, "bex": bex.dumps_article},
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
