"""Tools for testing code that uses the library: Hypothesis strategies and a sandbox.

- :mod:`bexvendre_mapping.testing.strategies`: a strategy for every model of both systems
  (re-exported here, loaded on first use). Needs Hypothesis, in the ``testing`` extra:
  ``pip install "bexvendre-mapping[testing]"``.
- :mod:`bexvendre_mapping.testing.sandbox`: both APIs as real HTTP servers on loopback. Needs
  werkzeug and requests, in the ``testing`` extra and in ``http`` with ``cli`` (for
  ``bexvendre demo`` and ``bexvendre sandbox``); not Hypothesis.
- :mod:`bexvendre_mapping.testing.state_conformance`: the promises of a state store, checked
  against any store (``StateStoreConformance``, a pytest mixin, or ``check_state_store``).
  Needs pytest; loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    """The strategies, imported on first use: the sandbox alone does not need Hypothesis."""
    if name == "state_conformance":  # pytest, only when asked for
        return importlib.import_module("bexvendre_mapping.testing.state_conformance")
    if name not in __all__:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    try:
        import hypothesis  # noqa: F401, PLC0415 - fail with the install command
    except ImportError as exc:
        msg = (
            "bexvendre_mapping.testing's strategies need Hypothesis: "
            'pip install "bexvendre-mapping[testing]"'
        )
        raise ImportError(msg) from exc
    value = getattr(importlib.import_module("bexvendre_mapping.testing.strategies"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
