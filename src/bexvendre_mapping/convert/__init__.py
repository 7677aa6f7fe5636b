"""Converters between the two systems: pure functions of (model, lookups) (SPEC §9).

One function per direction and entity. None does I/O or keeps state; each raises a
:class:`~bexvendre_mapping.MappingError` naming every problem with its path in the source
document.

>>> from bexvendre_mapping import Lookups, bex, convert
>>> lookups = Lookups.from_dict({"order_statuses": {"SKICKAD": 3}})
>>> status = bex.load_order_status({"Ordernr": "100234", "Status": "SKICKAD"})
>>> convert.status_to_vendre(status, lookups)
OrderStatusUpdate(id=100234, status=3)
"""

from __future__ import annotations

from bexvendre_mapping.convert._catalog import (
    article_to_vendre,
    bonus_to_bex,
    bonus_to_vendre,
    gift_card_to_bex,
    gift_card_to_vendre,
    product_to_bex,
    status_to_bex,
    status_to_vendre,
    stock_to_bex,
    stock_to_vendre,
)
from bexvendre_mapping.convert._orders import TotalsMismatchWarning, order_to_bex, order_to_vendre

__all__ = [
    "TotalsMismatchWarning",
    "article_to_vendre",
    "bonus_to_bex",
    "bonus_to_vendre",
    "gift_card_to_bex",
    "gift_card_to_vendre",
    "order_to_bex",
    "order_to_vendre",
    "product_to_bex",
    "status_to_bex",
    "status_to_vendre",
    "stock_to_bex",
    "stock_to_vendre",
]
