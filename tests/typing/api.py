"""Usages of the public API, type-checked by ``mypy --strict`` and never run.

A change that breaks how users call the library fails the type check here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from bexvendre_mapping import (
    Lookups,
    MappingError,
    ModelCode,
    Problem,
    UnknownCodeError,
    bex,
    convert,
    json_engine,
    vendre,
)
from bexvendre_mapping.http import BexClient, VendreClient
from bexvendre_mapping.money import CONTEXT, incl_vat, parse_decimal, round_money
from bexvendre_mapping.stream import convert_lines
from bexvendre_mapping.sync import (
    CheckoutState,
    GiftCardCheckout,
    OrderState,
    ReconcileEntry,
    ReconcileReport,
    Report,
    SqliteState,
    StateStore,
    push_stock,
    reconcile,
    retry_quarantined,
)

code: ModelCode = ModelCode.parse("1001_SKO_42")
article: str = code.article
size: str | None = code.size
text: str = str(ModelCode("GIFTBOX"))

lookups: Lookups = Lookups.from_toml(Path("examples/lookups.toml"))
lookups = Lookups.from_dict({"countries": {"203": "SE"}})
kod: str = lookups.payment_methods.get("KLARNA")
country_id: int = lookups.countries.reverse("SE")
status_id: int = lookups.order_statuses.get("SKICKAD")

order: vendre.Order = vendre.load_order(b"{}", strict=True, time_zone="Europe/Stockholm")
order = vendre.load_order("{}")
order = vendre.load_order({"id": 1})
placed: datetime = order.date_added
price: Decimal = order.products[0].price
bex_order: bex.Order = convert.order_to_bex(order, lookups)
document: dict[str, object] = bex.dump_order(bex_order)
payload: bytes = bex.dumps_order(bex_order)
back: vendre.Order = convert.order_to_vendre(bex_order, lookups)

family: vendre.ProductFamily = convert.article_to_vendre(bex.load_article(b"{}"), lookups)
product: vendre.Product = family.parent
sizes: tuple[vendre.Product, ...] = family.children
article_model: bex.Article = convert.product_to_bex(family, lookups)
article_model = convert.product_to_bex(product, lookups)
listed: list[vendre.ProductFamily] = vendre.families([product, *sizes])
product_id: int | None = vendre.load_product(b"{}").id
update: vendre.StockUpdate = convert.stock_to_vendre(bex.load_stock(b"{}"), lookups)
stock: bex.Stock = convert.stock_to_bex(update, lookups)
status: vendre.OrderStatusUpdate = convert.status_to_vendre(bex.load_order_status(b"{}"), lookups)
card: vendre.GiftCard = convert.gift_card_to_vendre(bex.load_gift_card(b"{}"), lookups)
reservation: bex.GiftCardReservation = bex.load_gift_card_reservation(b"{}")
balance: vendre.BonusBalance = convert.bonus_to_vendre(bex.load_bonus_balance(b"{}"))

amount: Decimal = incl_vat(parse_decimal("79.992", 4), Decimal(25))
rounded: Decimal = round_money(amount, "SEK")

try:
    vendre.load_stock_update(b"{}")
except UnknownCodeError as error:
    table: str = error.table
    closest: tuple[str, ...] = error.closest
except MappingError as error:
    problems: tuple[Problem, ...] = error.problems
    paths: tuple[str, ...] = error.paths

lines: list[bytes] = list(convert_lines([b"{}"], "stock", source="bex", lookups=lookups))
engine: str = json_engine()
precision: int = CONTEXT.prec


# Every flow takes (vendre_client, bex_client, lookups, state); reconcile reads only.
vendre_client = VendreClient("https://shop.example.se/API/1/", "key")
bex_client = BexClient(api_key="key", secret=Path("secret").read_text())
state: StateStore = SqliteState("state.sqlite3")
report: Report = push_stock(vendre_client, bex_client, lookups, state, dry_run=True)
report = retry_quarantined(vendre_client, bex_client, lookups, state)
report = retry_quarantined(None, bex_client, lookups, state, order_ids=[1])
checkout: GiftCardCheckout = GiftCardCheckout(vendre_client, bex_client, lookups, state)
checkout = GiftCardCheckout(None, bex_client, lookups, state)
found: ReconcileReport = reconcile(vendre_client, bex_client, state, since=placed.date())
found = reconcile(vendre_client, bex_client, state, since=placed, until=placed)
exit_status: int = found.exit_code
entries: list[ReconcileEntry] = found.discrepancies
known: OrderState | None = None if state.get_order(1) is None else "created"
held: CheckoutState = "reserved"
copies: list[object] = bex_client.find_order_documents("100234")
