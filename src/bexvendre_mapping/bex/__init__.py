"""Bex's side: models and wire format (SPEC §3), keys exactly as the seed spells them.

For every entity there is ``load_<entity>(data, *, strict=False, time_zone=...)``,
``dump_<entity>(model) -> dict`` and ``dumps_<entity>(model) -> bytes``.

>>> from bexvendre_mapping import bex
>>> stock = bex.load_stock('{"Artikelnr": "1001", "Storleksgrupp": "SKO", '
...                        '"Storlek": "42", "Lagerantal": -2}')
>>> str(stock.model_code), stock.quantity
('1001_SKO_42', -2)
>>> bex.dump_stock(stock)
{'Artikelnr': '1001', 'Storleksgrupp': 'SKO', 'Storlek': '42', 'Lagerantal': -2}
"""

from __future__ import annotations

from bexvendre_mapping._wire import Codec
from bexvendre_mapping.bex._models import (
    Article,
    BonusBalance,
    DeliveryAddress,
    GiftCard,
    GiftCardReservation,
    GiftCardStatus,
    InvoiceAddress,
    Order,
    Orderer,
    OrderStatus,
    Payment,
    ReservationStatus,
    Row,
    Size,
    Stock,
)

__all__ = [
    "Article",
    "BonusBalance",
    "DeliveryAddress",
    "GiftCard",
    "GiftCardReservation",
    "GiftCardStatus",
    "InvoiceAddress",
    "Order",
    "OrderStatus",
    "Orderer",
    "Payment",
    "ReservationStatus",
    "Row",
    "Size",
    "Stock",
    "dump_article",
    "dump_bonus_balance",
    "dump_gift_card",
    "dump_gift_card_reservation",
    "dump_order",
    "dump_order_status",
    "dump_row",
    "dump_stock",
    "dumps_article",
    "dumps_bonus_balance",
    "dumps_gift_card",
    "dumps_gift_card_reservation",
    "dumps_order",
    "dumps_order_status",
    "dumps_row",
    "dumps_stock",
    "load_article",
    "load_bonus_balance",
    "load_gift_card",
    "load_gift_card_reservation",
    "load_order",
    "load_order_status",
    "load_row",
    "load_stock",
]

_article = Codec(Article)
load_article, dump_article, dumps_article = _article.load, _article.dump, _article.dumps
_bonus = Codec(BonusBalance)
load_bonus_balance, dump_bonus_balance, dumps_bonus_balance = _bonus.load, _bonus.dump, _bonus.dumps
_card = Codec(GiftCard)
load_gift_card, dump_gift_card, dumps_gift_card = _card.load, _card.dump, _card.dumps
_reservation = Codec(GiftCardReservation)
load_gift_card_reservation, dump_gift_card_reservation, dumps_gift_card_reservation = (
    _reservation.load,
    _reservation.dump,
    _reservation.dumps,
)
_order = Codec(Order)
load_order, dump_order, dumps_order = _order.load, _order.dump, _order.dumps
_status = Codec(OrderStatus)
load_order_status, dump_order_status, dumps_order_status = _status.load, _status.dump, _status.dumps
_row = Codec(Row)
load_row, dump_row, dumps_row = _row.load, _row.dump, _row.dumps
_stock = Codec(Stock)
load_stock, dump_stock, dumps_stock = _stock.load, _stock.dump, _stock.dumps
