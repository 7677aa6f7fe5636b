"""Vendre's side: models and wire format (SPEC §3).

For every entity there is ``load_<entity>(data, *, strict=False, time_zone=...)``,
``dump_<entity>(model) -> dict`` and ``dumps_<entity>(model) -> bytes``. Loaders read the
records as ``/API/1`` sends them (SPEC §8): unknown keys ignored unless ``strict``, dates as
epoch seconds or text, money as JSON numbers (read exactly) or strings. Dumps write money as
JSON numbers: ``Decimal`` values in the dict, numbers in the bytes.

>>> from bexvendre_mapping import vendre
>>> update = vendre.load_stock_update(b'{"article_number": "1001_SKO_42", "quantity": 3, "status": 1}')
>>> update.article_number.size
'42'
>>> vendre.dumps_stock_update(update)
b'{"article_number":"1001_SKO_42","quantity":3,"status":1}'
"""  # noqa: E501

from __future__ import annotations

from bexvendre_mapping._codec import Codec as _Codec
from bexvendre_mapping.vendre._models import (
    Address,
    BonusBalance,
    CustomerAddress,
    GiftCard,
    GiftCardUse,
    Order,
    OrderProduct,
    OrderStatusUpdate,
    Payment,
    Product,
    ProductFamily,
    Shipping,
    StockUpdate,
    Total,
    Warehouse,
    families,
)

__all__ = [
    "Address",
    "BonusBalance",
    "CustomerAddress",
    "GiftCard",
    "GiftCardUse",
    "Order",
    "OrderProduct",
    "OrderStatusUpdate",
    "Payment",
    "Product",
    "ProductFamily",
    "Shipping",
    "StockUpdate",
    "Total",
    "Warehouse",
    "dump_address",
    "dump_bonus_balance",
    "dump_customer_address",
    "dump_gift_card",
    "dump_gift_card_use",
    "dump_order",
    "dump_order_product",
    "dump_order_status_update",
    "dump_payment",
    "dump_product",
    "dump_product_family",
    "dump_shipping",
    "dump_stock_update",
    "dump_total",
    "dump_warehouse",
    "dumps_address",
    "dumps_bonus_balance",
    "dumps_customer_address",
    "dumps_gift_card",
    "dumps_gift_card_use",
    "dumps_order",
    "dumps_order_product",
    "dumps_order_status_update",
    "dumps_payment",
    "dumps_product",
    "dumps_product_family",
    "dumps_shipping",
    "dumps_stock_update",
    "dumps_total",
    "dumps_warehouse",
    "families",
    "load_address",
    "load_bonus_balance",
    "load_customer_address",
    "load_gift_card",
    "load_gift_card_use",
    "load_order",
    "load_order_product",
    "load_order_status_update",
    "load_payment",
    "load_product",
    "load_product_family",
    "load_shipping",
    "load_stock_update",
    "load_total",
    "load_warehouse",
]

_address = _Codec(Address)
load_address, dump_address, dumps_address = _address.load, _address.dump, _address.dumps
_bonus = _Codec(BonusBalance)
load_bonus_balance, dump_bonus_balance, dumps_bonus_balance = _bonus.load, _bonus.dump, _bonus.dumps
_customer = _Codec(CustomerAddress)
load_customer_address, dump_customer_address, dumps_customer_address = (
    _customer.load,
    _customer.dump,
    _customer.dumps,
)
_card = _Codec(GiftCard)
load_gift_card, dump_gift_card, dumps_gift_card = _card.load, _card.dump, _card.dumps
_card_use = _Codec(GiftCardUse)
load_gift_card_use, dump_gift_card_use, dumps_gift_card_use = (
    _card_use.load,
    _card_use.dump,
    _card_use.dumps,
)
_order = _Codec(Order)
load_order, dump_order, dumps_order = _order.load, _order.dump, _order.dumps
_row = _Codec(OrderProduct)
load_order_product, dump_order_product, dumps_order_product = _row.load, _row.dump, _row.dumps
_status = _Codec(OrderStatusUpdate)
load_order_status_update, dump_order_status_update, dumps_order_status_update = (
    _status.load,
    _status.dump,
    _status.dumps,
)
_payment = _Codec(Payment)
load_payment, dump_payment, dumps_payment = _payment.load, _payment.dump, _payment.dumps
_product = _Codec(Product)
load_product, dump_product, dumps_product = _product.load, _product.dump, _product.dumps
_family = _Codec(ProductFamily)
load_product_family, dump_product_family, dumps_product_family = (
    _family.load,
    _family.dump,
    _family.dumps,
)
_shipping = _Codec(Shipping)
load_shipping, dump_shipping, dumps_shipping = _shipping.load, _shipping.dump, _shipping.dumps
_stock = _Codec(StockUpdate)
load_stock_update, dump_stock_update, dumps_stock_update = _stock.load, _stock.dump, _stock.dumps
_total = _Codec(Total)
load_total, dump_total, dumps_total = _total.load, _total.dump, _total.dumps
_warehouse = _Codec(Warehouse)
load_warehouse, dump_warehouse, dumps_warehouse = (
    _warehouse.load,
    _warehouse.dump,
    _warehouse.dumps,
)
