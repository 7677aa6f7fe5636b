"""The sandbox's Bex API: the stock-change queue, orders, articles, gift cards, bonus."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from bexvendre_mapping import bex
from bexvendre_mapping._errors import MappingError
from bexvendre_mapping._wire import parse_document
from bexvendre_mapping.money import CONTEXT, quantize
from bexvendre_mapping.testing._sandbox_server import Api, ApiError, json_response, same_secret

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

    from bexvendre_mapping.http import BexEndpoints

__all__ = ["BexApi"]

_RESERVED = bex.ReservationStatus.RESERVED.value
_REDEEMED = bex.ReservationStatus.REDEEMED.value
_RELEASED = bex.ReservationStatus.RELEASED.value


@attrs.define
class _Stamped:
    """A document with the moment it last changed (for the ``since`` filters)."""

    document: dict[str, Any]
    changed_at: datetime


def _route(template: str) -> str:
    """A werkzeug rule from an endpoint template: ``Orders/{ordernr}`` → ``Orders/<ordernr>``."""
    return template.replace("{", "<").replace("}", ">")


def _money(value: Decimal) -> str:
    return format(quantize(value, 2), "f")


class BexApi(Api):
    """The Bex REST API, per :class:`~bexvendre_mapping.http.BexEndpoints`, with HTTP Basic.

    Documents that arrive are loaded with the library's loaders (strictly) and stored in
    their canonical wire form. Product identifiers are model codes (``1001_SKO_42``).
    """

    system: ClassVar[str] = "bex"
    challenge: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Basic realm="Bex sandbox"'}

    def __init__(
        self,
        *,
        api_key: str,
        secret: str,
        location: str,
        endpoints: BexEndpoints,
        queue_page_size: int,
        unique_order_numbers: bool = True,
        **common: Any,
    ) -> None:
        self.api_key = api_key
        self.secret = secret
        self.location = location
        self.endpoints = endpoints
        self.queue_page_size = queue_page_size
        self.unique_order_numbers = unique_order_numbers
        self.orders: dict[str, dict[str, Any]] = {}
        # Orders added beside one with the same Ordernr (a Bex that created one twice).
        self.order_copies: list[dict[str, Any]] = []
        self.articles: dict[str, _Stamped] = {}
        self.statuses: dict[str, _Stamped] = {}
        self.stock: dict[str, dict[str, Any]] = {}
        self.queue: dict[int, dict[str, Any]] = {}
        self.next_entry = 1
        self.gift_cards: dict[str, dict[str, Any]] = {}
        self.reservations: dict[str, dict[str, Any]] = {}
        self.bonus: dict[str, dict[str, Any]] = {}
        super().__init__(**common)

    def rules(self) -> list[tuple[str, str, str]]:
        """The routes, from the endpoints."""
        e = self.endpoints
        return [
            ("GET", e.queued_stock_changes, "queued_stock_changes"),
            ("GET", e.stock_information, "stock_information"),
            ("PUT", e.confirm_stock_change, "confirm_stock_change"),
            ("POST", e.orders, "create_order"),
            ("GET", e.orders, "list_orders"),
            ("GET", _route(e.order), "get_order"),
            ("GET", e.articles, "list_articles"),
            ("GET", e.order_statuses, "list_order_statuses"),
            ("GET", _route(e.gift_card), "get_gift_card"),
            ("POST", e.gift_card_reservations, "reserve"),
            ("GET", e.gift_card_reservations, "find_reservations"),
            ("PUT", _route(e.redeem_reservation), "redeem"),
            ("PUT", _route(e.release_reservation), "release"),
            ("GET", _route(e.bonus_balance), "bonus_balance"),
        ]

    def authorized(self, request: Request) -> bool:
        """HTTP Basic with the API key as user name and the secret as password."""
        auth = request.authorization
        if auth is None or auth.type != "basic":
            return False
        return same_secret(auth.username, self.api_key) & same_secret(auth.password, self.secret)

    def clear(self) -> None:
        """Forget every document and queue entry."""
        for store in (
            self.orders,
            self.articles,
            self.statuses,
            self.stock,
            self.queue,
            self.gift_cards,
            self.reservations,
            self.bonus,
            self.order_copies,
        ):
            store.clear()

    # --- seeding --------------------------------------------------------------------------

    def add_article(self, article: bex.Article, changed_at: datetime | None) -> dict[str, Any]:
        """Store an article (replacing one with the same ``Artikel``)."""
        document = bex.dump_article(article, time_zone=self.zone_name)
        self.articles[article.article] = _Stamped(document, changed_at or self.now())
        return document

    def set_order_status(
        self, status: bex.OrderStatus, changed_at: datetime | None
    ) -> dict[str, Any]:
        """Store an order's status (replacing the one before)."""
        document = bex.dump_order_status(status)
        self.statuses[status.order_number] = _Stamped(document, changed_at or self.now())
        return document

    def add_gift_card(self, card: bex.GiftCard) -> dict[str, Any]:
        """Store a gift card (replacing one with the same ``Nummer``)."""
        document = bex.dump_gift_card(card, time_zone=self.zone_name)
        self.gift_cards[card.number] = document
        return document

    def add_reservation(self, reservation: bex.GiftCardReservation) -> dict[str, Any]:
        """Store a reservation as it stands, keeping its id (the card must exist)."""
        if reservation.number not in self.gift_cards:
            msg = f"no gift card {reservation.number!r}"
            raise KeyError(msg)
        document = bex.dump_gift_card_reservation(reservation)
        self.reservations[reservation.reservation_id] = document
        self._update_card_status(reservation.number)
        return document

    def set_bonus(self, balance: bex.BonusBalance) -> dict[str, Any]:
        """Store a customer's bonus points."""
        document = bex.dump_bonus_balance(balance)
        self.bonus[balance.customer_number] = document
        return document

    def set_stock(self, document: dict[str, Any]) -> int:
        """Store a product's stock information and queue a stock change for it."""
        product = document["productIdentifier"]
        self.stock[product] = document
        entry = self.next_entry
        self.next_entry += 1
        self.queue[entry] = {"id": entry, "productIdentifier": product}
        return entry

    # --- the stock-change queue -----------------------------------------------------------

    def queued_stock_changes(self, request: Request) -> Response:
        """``GET``: the oldest unconfirmed entries, ``hasMore`` when there are others."""
        del request
        entries = list(self.queue.values())
        page = entries[: self.queue_page_size]
        return json_response({"hasMore": len(entries) > len(page), "stockChangeEntries": page})

    def stock_information(self, request: Request) -> Response:
        """``GET`` with ``productIdentifier`` and (optionally) ``locationCode``."""
        product = request.args.get("productIdentifier")
        if not product:
            raise ApiError(400, "productIdentifier is required")
        location = request.args.get("locationCode")
        if location is not None and location != self.location:
            raise ApiError(404, f"no location {location!r}")
        found = self.stock.get(product)
        if found is None:
            raise ApiError(404, f"no product {product!r}")
        return json_response(found)

    def confirm_stock_change(self, request: Request) -> Response:
        """``PUT`` of ``{"entryId": id}``: idempotent; an id never queued is a 404."""
        try:
            body = parse_document(request.get_data())
        except MappingError as exc:
            raise ApiError.invalid(exc) from None
        entry = body.get("entryId") if isinstance(body, dict) else None
        if isinstance(entry, bool) or not isinstance(entry, int):
            raise ApiError(400, 'expected {"entryId": <integer>}')
        if not 1 <= entry < self.next_entry:
            raise ApiError(404, f"no stock change entry {entry}")
        self.queue.pop(entry, None)
        return json_response({"entryId": entry, "confirmed": True})

    # --- orders and articles --------------------------------------------------------------

    def add_order(self, order: bex.Order) -> dict[str, Any]:
        """Store an order (replacing one with the same ``Ordernr``)."""
        document = bex.dump_order(order, time_zone=self.zone_name)
        self.orders[order.number] = document
        return document

    def add_order_copy(self, order: bex.Order) -> dict[str, Any]:
        """Store an order beside the one with the same ``Ordernr`` (as if created twice)."""
        if order.number not in self.orders:
            return self.add_order(order)
        document = bex.dump_order(order, time_zone=self.zone_name)
        self.order_copies.append(document)
        return document

    def delete_order(self, ordernr: str) -> int:
        """Forget every order with ``Ordernr`` ``ordernr``; how many there were."""
        copies = [d for d in self.order_copies if d["Ordernr"] == ordernr]
        self.order_copies[:] = [d for d in self.order_copies if d["Ordernr"] != ordernr]
        return len(copies) + (self.orders.pop(ordernr, None) is not None)

    def all_orders(self) -> list[dict[str, Any]]:
        """Every order, the copies after the first of their ``Ordernr``."""
        return [*self.orders.values(), *self.order_copies]

    def list_orders(self, request: Request) -> Response:
        """``GET``, paged, filtered by the order-number parameter (every copy of a number)."""
        number = request.args.get(self.endpoints.order_number_param)
        documents = [d for d in self.all_orders() if number is None or d["Ordernr"] == number]
        return self._page(request, documents)

    def create_order(self, request: Request) -> Response:
        """``POST`` of an order: 201, or 409 when the ``Ordernr`` exists.

        Without :attr:`unique_order_numbers`, an order whose ``Ordernr`` exists is stored
        beside it (201), as a Bex without that check would.
        """
        try:
            order = bex.load_order(request.get_data(), strict=True, time_zone=self.zone_name)
        except MappingError as exc:
            raise ApiError.invalid(exc) from None
        if order.number in self.orders:
            if self.unique_order_numbers:
                raise ApiError(409, f"order {order.number!r} already exists")
            return json_response(self.add_order_copy(order), 201)
        return json_response(self.add_order(order), 201)

    def get_order(self, request: Request, ordernr: str) -> Response:
        """``GET`` of one order."""
        del request
        found = self.orders.get(ordernr)
        if found is None:
            raise ApiError(404, f"no order {ordernr!r}")
        return json_response(found)

    def list_articles(self, request: Request) -> Response:
        """``GET``, paged, filtered by the changed-since parameter."""
        return self._stamped_page(request, self.articles, self.endpoints.changed_since_param)

    def list_order_statuses(self, request: Request) -> Response:
        """``GET``, paged, filtered by the since parameter."""
        return self._stamped_page(request, self.statuses, self.endpoints.since_param)

    def _stamped_page(
        self, request: Request, store: dict[str, _Stamped], since_param: str
    ) -> Response:
        since = self.datetime_param(request, since_param)
        documents = [
            stamped.document
            for stamped in store.values()
            if since is None or self.wall(stamped.changed_at) >= since
        ]
        return self._page(request, documents)

    def _page(self, request: Request, documents: list[dict[str, Any]]) -> Response:
        offset = self.int_param(request, "offset", 0)
        limit = self.int_param(request, "limit", 100, minimum=1)
        page = documents[offset : offset + limit]
        return json_response({"hasMore": offset + len(page) < len(documents), "items": page})

    # --- gift cards -----------------------------------------------------------------------

    def get_gift_card(self, request: Request, number: str) -> Response:
        """``GET`` of one gift card."""
        del request
        return json_response(self._card(number))

    def _card(self, number: str) -> dict[str, Any]:
        card = self.gift_cards.get(number)
        if card is None:
            raise ApiError(404, f"no gift card {number!r}")
        return card

    def reserve(self, request: Request) -> Response:
        """``POST`` of ``{"Nummer", "Belopp", "Referens"}``.

        Keyed by number and reference: a second reservation under them answers 200 with
        the first. A card that is not active, has expired, lacks the free balance (its
        balance less its active reservations) or is in another currency than an optional
        ``Valuta`` is a 409.
        """
        try:
            body = parse_document(request.get_data())
            if not isinstance(body, dict):
                raise MappingError("expected an object")
            currency = body.pop("Valuta", None)
            if currency is not None and not isinstance(currency, str):
                raise MappingError("expected a currency code", path="$.Valuta")
            # The reservation's loader checks the three fields (and refuses other keys).
            asked = bex.load_gift_card_reservation(
                {**body, "ReservationsID": "-", "Status": _RESERVED},
                strict=True,
                time_zone=self.zone_name,
            )
        except MappingError as exc:
            raise ApiError.invalid(exc) from None
        for reservation in self.reservations.values():
            if reservation["Nummer"] == asked.number and reservation["Referens"] == asked.reference:
                return json_response(reservation, 200)
        card = self._card(asked.number)
        if card["Status"] not in (
            bex.GiftCardStatus.ACTIVE.value,
            bex.GiftCardStatus.RESERVED.value,
        ):
            raise ApiError(409, f"gift card {asked.number!r} is {card['Status']}")
        valid_until = card.get("Giltig till")
        if valid_until is not None and date.fromisoformat(valid_until) < self.now().date():
            raise ApiError(409, f"gift card {asked.number!r} expired on {valid_until}")
        if currency is not None and currency != card["Valuta"]:
            raise ApiError(
                409, f"gift card {asked.number!r} is in {card['Valuta']}, not {currency}"
            )
        if asked.amount <= 0:
            raise ApiError(400, "Belopp must be above 0")
        free = CONTEXT.subtract(Decimal(card["Saldo"]), self.reserved(asked.number))
        if asked.amount > free:
            raise ApiError(409, f"gift card {asked.number!r} has {_money(free)} free")
        reservation_id = self._new_reservation_id()
        document = {**bex.dump_gift_card_reservation(asked), "ReservationsID": reservation_id}
        self.reservations[reservation_id] = document
        card["Status"] = bex.GiftCardStatus.RESERVED.value
        return json_response(document, 201)

    def _new_reservation_id(self) -> str:
        """The next of ``R000001``, ``R000002``, ... that no reservation holds (seeded ones too)."""
        number = len(self.reservations) + 1
        while f"R{number:06d}" in self.reservations:
            number += 1
        return f"R{number:06d}"

    def find_reservations(self, request: Request) -> Response:
        """``GET`` with ``number`` and ``reference`` filters, paged."""
        number = request.args.get("number")
        reference = request.args.get("reference")
        found = [
            r
            for r in self.reservations.values()
            if (number is None or r["Nummer"] == number)
            and (reference is None or r["Referens"] == reference)
        ]
        return self._page(request, found)

    def redeem(self, request: Request, reservation_id: str) -> Response:
        """``PUT``: draw the reserved amount from the card; idempotent."""
        del request
        return self._settle(reservation_id, _REDEEMED, self._draw)

    def release(self, request: Request, reservation_id: str) -> Response:
        """``PUT``: free the reserved amount; idempotent."""
        del request
        return self._settle(reservation_id, _RELEASED, None)

    def _settle(
        self,
        reservation_id: str,
        status: str,
        effect: Callable[[dict[str, Any]], None] | None,
    ) -> Response:
        reservation = self.reservations.get(reservation_id)
        if reservation is None:
            raise ApiError(404, f"no reservation {reservation_id!r}")
        if reservation["Status"] == status:
            return json_response(reservation)
        if reservation["Status"] != _RESERVED:
            raise ApiError(409, f"reservation {reservation_id!r} is {reservation['Status']}")
        if effect is not None:
            effect(reservation)
        reservation["Status"] = status
        self._update_card_status(reservation["Nummer"])
        return json_response(reservation)

    def _draw(self, reservation: dict[str, Any]) -> None:
        card = self._card(reservation["Nummer"])
        card["Saldo"] = _money(
            CONTEXT.subtract(Decimal(card["Saldo"]), Decimal(reservation["Belopp"]))
        )

    def reserved(self, number: str) -> Decimal:
        """The sum of the card's active (``Reserverad``) reservations."""
        total = Decimal(0)
        for r in self.reservations.values():
            if r["Nummer"] == number and r["Status"] == _RESERVED:
                # In money.CONTEXT: the server thread's context is whatever DefaultContext was.
                total = CONTEXT.add(total, Decimal(r["Belopp"]))
        return total

    def _update_card_status(self, number: str) -> None:
        card = self._card(number)
        if Decimal(card["Saldo"]) <= 0:
            card["Status"] = bex.GiftCardStatus.USED.value
        elif self.reserved(number) > 0:
            card["Status"] = bex.GiftCardStatus.RESERVED.value
        else:
            card["Status"] = bex.GiftCardStatus.ACTIVE.value

    # --- bonus ----------------------------------------------------------------------------

    def bonus_balance(self, request: Request, customer_number: str) -> Response:
        """``GET`` of a customer's bonus points."""
        del request
        found = self.bonus.get(customer_number)
        if found is None:
            raise ApiError(404, f"no customer {customer_number!r}")
        return json_response(found)
