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

from bexvendre_mapping._codec import Codec as _Codec
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
    "dump_delivery_address",
    "dump_gift_card",
    "dump_gift_card_reservation",
    "dump_invoice_address",
    "dump_order",
    "dump_order_status",
    "dump_orderer",
    "dump_payment",
    "dump_row",
    "dump_size",
    "dump_stock",
    "dumps_article",
    "dumps_bonus_balance",
    "dumps_delivery_address",
    "dumps_gift_card",
    "dumps_gift_card_reservation",
    "dumps_invoice_address",
    "dumps_order",
    "dumps_order_status",
    "dumps_orderer",
    "dumps_payment",
    "dumps_row",
    "dumps_size",
    "dumps_stock",
    "load_article",
    "load_bonus_balance",
    "load_delivery_address",
    "load_gift_card",
    "load_gift_card_reservation",
    "load_invoice_address",
    "load_order",
    "load_order_status",
    "load_orderer",
    "load_payment",
    "load_row",
    "load_size",
    "load_stock",
]

_article = _Codec(Article)
load_article, dump_article, dumps_article = _article.load, _article.dump, _article.dumps
_bonus = _Codec(BonusBalance)
load_bonus_balance, dump_bonus_balance, dumps_bonus_balance = _bonus.load, _bonus.dump, _bonus.dumps
_card = _Codec(GiftCard)
load_gift_card, dump_gift_card, dumps_gift_card = _card.load, _card.dump, _card.dumps
_reservation = _Codec(GiftCardReservation)
load_gift_card_reservation, dump_gift_card_reservation, dumps_gift_card_reservation = (
    _reservation.load,
    _reservation.dump,
    _reservation.dumps,
)
_order = _Codec(Order)
load_order, dump_order, dumps_order = _order.load, _order.dump, _order.dumps
_status = _Codec(OrderStatus)
load_order_status, dump_order_status, dumps_order_status = _status.load, _status.dump, _status.dumps
_row = _Codec(Row)
load_row, dump_row, dumps_row = _row.load, _row.dump, _row.dumps
_stock = _Codec(Stock)
load_stock, dump_stock, dumps_stock = _stock.load, _stock.dump, _stock.dumps
_delivery = _Codec(DeliveryAddress)
load_delivery_address, dump_delivery_address, dumps_delivery_address = (
    _delivery.load,
    _delivery.dump,
    _delivery.dumps,
)
_invoice = _Codec(InvoiceAddress)
load_invoice_address, dump_invoice_address, dumps_invoice_address = (
    _invoice.load,
    _invoice.dump,
    _invoice.dumps,
)
_orderer = _Codec(Orderer)
load_orderer, dump_orderer, dumps_orderer = _orderer.load, _orderer.dump, _orderer.dumps
_payment = _Codec(Payment)
load_payment, dump_payment, dumps_payment = _payment.load, _payment.dump, _payment.dumps
_size = _Codec(Size)
load_size, dump_size, dumps_size = _size.load, _size.dump, _size.dumps
