"""Tools for testing code that uses the library: Hypothesis strategies and a sandbox.

Needs the ``testing`` extra: ``pip install "bexvendre-mapping[testing]"``.

- :mod:`bexvendre_mapping.testing.strategies`: a strategy for every model of both systems
  (re-exported here).
- :mod:`bexvendre_mapping.testing.sandbox`: both APIs as real HTTP servers on loopback.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401 - fail early with the install command
except ImportError as exc:  # pragma: no cover - exercised in the no-extras test session
    msg = 'bexvendre_mapping.testing needs Hypothesis: pip install "bexvendre-mapping[testing]"'
    raise ImportError(msg) from exc

from bexvendre_mapping.testing.strategies import (
    amounts,
    article_numbers,
    bex_articles,
    bex_articles_for,
    bex_bonus_balances,
    bex_gift_card_reservations,
    bex_gift_cards,
    bex_order_statuses,
    bex_orders,
    bex_orders_for,
    bex_rows,
    bex_stock,
    code_parts,
    from_model,
    model_codes,
    shop_datetimes,
    texts,
    vendre_bonus_balances,
    vendre_gift_cards,
    vendre_order_status_updates,
    vendre_orders,
    vendre_orders_for,
    vendre_product_families,
    vendre_products,
    vendre_stock_updates,
)

__all__ = [
    "amounts",
    "article_numbers",
    "bex_articles",
    "bex_articles_for",
    "bex_bonus_balances",
    "bex_gift_card_reservations",
    "bex_gift_cards",
    "bex_order_statuses",
    "bex_orders",
    "bex_orders_for",
    "bex_rows",
    "bex_stock",
    "code_parts",
    "from_model",
    "model_codes",
    "shop_datetimes",
    "texts",
    "vendre_bonus_balances",
    "vendre_gift_cards",
    "vendre_order_status_updates",
    "vendre_orders",
    "vendre_orders_for",
    "vendre_product_families",
    "vendre_products",
    "vendre_stock_updates",
]
