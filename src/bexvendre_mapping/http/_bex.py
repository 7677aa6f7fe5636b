"""The Bex REST client (SPEC §8): the stock-change queue, orders, articles, gift cards, bonus."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from bexvendre_mapping import bex
from bexvendre_mapping._dates import DEFAULT_TIME_ZONE, parse_date, parse_datetime, time_zone
from bexvendre_mapping._errors import MappingError, Problem
from bexvendre_mapping._text import show
from bexvendre_mapping._wire import child_path
from bexvendre_mapping.http._errors import (
    NotFound,
    RateLimited,
    RequestRejected,
    ServerError,
    TransportError,
)
from bexvendre_mapping.http._transport import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    BaseClient,
    Reply,
    RetryPolicy,
    Timeout,
    Transport,
    basic_credentials,
    path_part,
    wall_clock_from,
)
from bexvendre_mapping.money import CONTEXT, parse_decimal, quantize

if TYPE_CHECKING:
    import requests

__all__ = [
    "BEX_BASE_URL",
    "BexClient",
    "BexEndpoints",
    "StockChangeEntry",
    "StockInformation",
]

T = TypeVar("T")

logger = logging.getLogger("bexvendre_mapping.http")

#: The public base URL of the Bex REST API.
BEX_BASE_URL = "https://api.bexonline.com/api/"

_MONEY_PLACES = 2


@attrs.frozen(kw_only=True)
class BexEndpoints:
    """Paths of the Bex API, relative to the base URL, and the names of filter parameters.

    The three ``WarehouseManagement`` paths are Bex's public ones. Bex does not publish its
    endpoints for orders, articles, gift cards and bonus points, so those defaults are this
    library's convention (which the sandbox serves); override them to match an installation::

        BexEndpoints(order="Order/{ordernr}", articles="Article/List")

    ``{...}`` parts are replaced by the quoted value. The list endpoints (``articles``,
    ``order_statuses``, ``gift_card_reservations``) are paged with ``offset`` and ``limit`` and
    answer ``{"hasMore": bool, "items": [...]}``.

    Attributes:
        queued_stock_changes: ``GET``: ``{"hasMore", "stockChangeEntries": [{"id",
            "productIdentifier"}]}``.
        stock_information: ``GET`` with ``locationCode`` and ``productIdentifier``.
        confirm_stock_change: ``PUT`` of ``{"entryId": id}``.
        orders: ``POST`` of a Bex order (a duplicate ``Ordernr`` may answer 409); ``GET``
            lists orders, paged, filtered by :attr:`order_number_param` (every order with
            that ``Ordernr``: more than one if it was created twice).
        order: ``GET`` of one order by ``{ordernr}``; 404 when there is none.
        articles: ``GET``, paged, filtered by :attr:`changed_since_param`.
        order_statuses: ``GET``, paged, filtered by :attr:`since_param`.
        gift_card: ``GET`` of one gift card by ``{number}``.
        gift_card_reservations: ``POST`` of ``{"Nummer", "Belopp", "Referens"}`` reserves
            (a second one with the same number and reference returns the first); ``GET``
            with ``number`` and ``reference`` finds reservations, paged.
        redeem_reservation: ``PUT`` redeems the reservation ``{reservation_id}``.
        release_reservation: ``PUT`` releases the reservation ``{reservation_id}``.
        bonus_balance: ``GET`` of a customer's bonus points by ``{customer_number}``.
        changed_since_param: the articles filter "changed at or after", wall clock.
        since_param: the order statuses filter "changed at or after", wall clock.
        order_number_param: the orders filter "with this ``Ordernr``".
    """

    queued_stock_changes: str = "WarehouseManagement/GetQueuedStockChanges"
    stock_information: str = "WarehouseManagement/GetStockinformation"
    confirm_stock_change: str = "WarehouseManagement/ConfirmStockChange"
    orders: str = "Orders"
    order: str = "Orders/{ordernr}"
    articles: str = "Articles"
    order_statuses: str = "OrderStatuses"
    gift_card: str = "GiftCards/{number}"
    gift_card_reservations: str = "GiftCardReservations"
    redeem_reservation: str = "GiftCardReservations/{reservation_id}/Redeem"
    release_reservation: str = "GiftCardReservations/{reservation_id}/Release"
    bonus_balance: str = "Customers/{customer_number}/Bonus"
    changed_since_param: str = "changedSince"
    since_param: str = "since"
    order_number_param: str = "ordernr"


@attrs.frozen(kw_only=True)
class StockChangeEntry:
    """An entry of Bex's stock-change queue: a product whose stock changed.

    Attributes:
        id: the entry's id, to confirm it with (as Bex sent it: a number or a string).
        product_identifier: the product whose stock changed.
    """

    id: int | str
    product_identifier: str


@attrs.frozen(kw_only=True)
class StockInformation:
    """A product's stock at a location (``GetStockinformation``).

    Quantities are exact decimals (whole numbers for units: ``int(q)`` when needed).

    Attributes:
        product_identifier: ``productIdentifier``.
        variant_id: ``variantId``, as Bex sent it, or ``None``.
        physical_quantity: ``physicalQuantity``: on the shelf.
        available_quantity: ``availableQuantity``: on the shelf and not promised away.
        next_receival_date: ``nextReceivalDate``: when more arrives, or ``None``.
        next_receival_quantity: ``nextReceivalQuantity``: how much arrives then, or ``None``.
    """

    product_identifier: str
    variant_id: int | str | None = None
    physical_quantity: Decimal
    available_quantity: Decimal
    next_receival_date: date | None = None
    next_receival_quantity: Decimal | None = None


# --- loaders of the warehouse documents, in the library's style -----------------------------


def _take(
    document: Mapping[str, Any],
    key: str,
    read: Callable[[Any], T],
    problems: list[Problem],
    *,
    required: bool = True,
) -> T | None:
    path = child_path("$", key)
    if key not in document or document[key] is None:
        if required:
            problems.append(Problem(path, "required field is missing"))
        return None
    try:
        return read(document[key])
    except MappingError as exc:
        problems.extend(Problem(path + p.path[1:], p.message) for p in exc.problems)
        return None


def _unknown_keys(document: Mapping[str, Any], known: set[str], problems: list[Problem]) -> None:
    problems.extend(
        Problem(child_path("$", str(key)), f"unknown field {key!r}")
        for key in document
        if key not in known
    )


def _text(value: Any) -> str:
    if isinstance(value, str) and value:
        return value
    raise MappingError(f"expected a non-empty string, got {show(value)}")


def _identifier(value: Any) -> int | str:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise MappingError(f"expected a number or a non-empty string, got {show(value)}")


def _quantity(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise MappingError(f"expected a number, got {show(value)}")
    return parse_decimal(value)


def _receival_date(zone_name: str) -> Callable[[Any], date]:
    def read(value: Any) -> date:
        if isinstance(value, str) and len(value) == 10:
            return parse_date(value)
        return parse_datetime(value, time_zone(zone_name)).date()

    return read


def _mapping(data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise MappingError(f"expected an object, got {type(data).__name__}")
    return data


def load_stock_change_entry(
    data: Any, *, strict: bool = False, time_zone: str = DEFAULT_TIME_ZONE
) -> StockChangeEntry:
    """Load a queue entry ``{"id", "productIdentifier"}``.

    Raises:
        MappingError: every problem, each with its JSON path.
    """
    del time_zone  # the entry has no date; the argument keeps the loaders' signature
    document = _mapping(data)
    problems: list[Problem] = []
    entry_id = _take(document, "id", _identifier, problems)
    product = _take(document, "productIdentifier", _text, problems)
    if strict:
        _unknown_keys(document, {"id", "productIdentifier"}, problems)
    if problems or entry_id is None or product is None:
        raise MappingError(problems)
    return StockChangeEntry(id=entry_id, product_identifier=product)


def load_stock_information(
    data: Any, *, strict: bool = False, time_zone: str = DEFAULT_TIME_ZONE
) -> StockInformation:
    """Load a ``GetStockinformation`` answer.

    Raises:
        MappingError: every problem, each with its JSON path.
    """
    document = _mapping(data)
    problems: list[Problem] = []
    product = _take(document, "productIdentifier", _text, problems)
    variant = _take(document, "variantId", _identifier, problems, required=False)
    physical = _take(document, "physicalQuantity", _quantity, problems)
    available = _take(document, "availableQuantity", _quantity, problems)
    receival_date = _take(
        document, "nextReceivalDate", _receival_date(time_zone), problems, required=False
    )
    receival_quantity = _take(document, "nextReceivalQuantity", _quantity, problems, required=False)
    if strict:
        known = {
            "productIdentifier",
            "variantId",
            "physicalQuantity",
            "availableQuantity",
            "nextReceivalDate",
            "nextReceivalQuantity",
        }
        _unknown_keys(document, known, problems)
    if problems or product is None or physical is None or available is None:
        raise MappingError(problems)
    return StockInformation(
        product_identifier=product,
        variant_id=variant,
        physical_quantity=physical,
        available_quantity=available,
        next_receival_date=receival_date,
        next_receival_quantity=receival_quantity,
    )


def _amount_text(amount: object) -> str:
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        msg = f"amount must be a Decimal (money is never a float), got {type(amount).__name__}"
        raise TypeError(msg)
    value = Decimal(amount)
    if not value.is_finite():
        raise MappingError(f"amount must be a finite number, got {value}", path="amount")
    if quantize(value, _MONEY_PLACES) != value:
        raise MappingError(f"amount {value} has more than 2 decimals", path="amount")
    if value <= 0:
        raise MappingError(f"amount must be above 0, got {value}", path="amount")
    return format(quantize(value, _MONEY_PLACES), "f")


class BexClient(BaseClient):
    """A client of the Bex REST API, with HTTP Basic authentication (API key and secret).

    Reads and PUTs are retried on connection errors, timeouts, 429 and 502/503/504 (see
    :class:`RetryPolicy`). The two creates are repeated only in ways that cannot duplicate:
    after a lost response or a failure, :meth:`create_order` looks the order up by its
    ``Ordernr`` and :meth:`reserve_gift_card` looks the reservation up by its reference, and
    only when nothing is found is the ``POST`` sent again.

    Args:
        base_url: the API's base; default Bex's public ``https://api.bexonline.com/api/``.
        api_key: the API key (the Basic user name). Required.
        secret: the API secret (the Basic password). Required.
        location: the location code sent with stock look-ups; ``None`` leaves it out, and
            Bex uses the key's default location.
        endpoints: paths and parameter names, see :class:`BexEndpoints`.
        timeout: seconds, or ``(connect, read)`` seconds; default ``(5, 30)``.
        deadline: the most seconds one attempt of a request may take in all, from sending
            it to the body's last byte (the read timeout bounds only each wait for more
            bytes); past it, :class:`TransportError`. Default 120; ``None``: no deadline.
        max_response_bytes: the largest response body read, in bytes after decoding;
            past it, :class:`ResponseError`. Default 64 MiB.
        retries: a :class:`RetryPolicy`, or how many times to retry with the default
            backoff; default ``RetryPolicy()`` (its ``wait_budget`` bounds the waits
            between two calls of :meth:`reset_wait_budget`).
        session: a ``requests.Session`` to use (the client mounts its retrying adapter on it
            for ``base_url`` only and does not close it); by default the client makes and
            closes its own.
        verify: TLS verification: ``True`` (the default), or a CA bundle's path.
        trust_env: whether the session reads proxies and CA bundles from the environment.
        time_zone: the shop's IANA time zone, for date-times.
        strict: reject documents with keys the wire format does not define.
        page_size: how many items to ask for per page of a list.

    Raises:
        TypeError: ``api_key`` or ``secret`` is missing.
        ValueError: ``base_url`` is not an http(s) URL, or holds a user name or password
            (credentials go in ``api_key`` and ``secret``), or an option is out of range.

    >>> with BexClient(api_key="key", secret="s3cret", location="HUVUDLAGER") as client:
    ...     client
    BexClient(base_url='https://api.bexonline.com/api/', location='HUVUDLAGER')
    """

    def __init__(
        self,
        base_url: str = BEX_BASE_URL,
        api_key: str | None = None,
        secret: str | None = None,
        *,
        location: str | None = None,
        endpoints: BexEndpoints | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        deadline: float | None = DEFAULT_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        retries: int | RetryPolicy | None = None,
        session: requests.Session | None = None,
        verify: bool | str = True,
        trust_env: bool = True,
        time_zone: str = DEFAULT_TIME_ZONE,
        strict: bool = False,
        page_size: int = 100,
    ) -> None:
        if not api_key or not secret:
            msg = "BexClient needs api_key and secret"
            raise TypeError(msg)
        if page_size < 1:
            msg = f"page_size must be at least 1, got {page_size}"
            raise ValueError(msg)
        self.location = location
        self.endpoints = endpoints or BexEndpoints()
        self.page_size = page_size
        self._transport = Transport(
            base_url,
            headers={},
            auth=(api_key, secret),
            secrets=[secret, api_key, basic_credentials(api_key, secret)],
            timeout=timeout,
            deadline=deadline,
            max_response_bytes=max_response_bytes,
            retries=RetryPolicy.coerce(retries),
            session=session,
            verify=verify,
            trust_env=trust_env,
            time_zone=time_zone,
            strict=strict,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, location={self.location!r})"

    # --- the stock-change queue -----------------------------------------------------------

    def iter_queued_stock_changes(self) -> Iterator[StockChangeEntry]:
        """The entries of the stock-change queue, page by page while Bex says ``hasMore``.

        Entries stay queued until confirmed with :meth:`confirm_stock_change`, so the usual
        loop confirms each entry once its stock is handled, and each next page then brings
        new entries::

            for entry in bex.iter_queued_stock_changes():
                info = bex.get_stock_information(entry.product_identifier)
                ...  # send it on
                bex.confirm_stock_change(entry.id)

        Each entry is yielded at most once per call. When a page brings no entry that was
        not already yielded (because they were not confirmed), the iteration ends, even if
        Bex still says ``hasMore``: asking again would only bring the same entries, forever.

        Yields:
            The queued entries, in Bex's order.

        Raises:
            ResponseError: a page or an entry does not load.
            HttpError: a request failed.
        """
        seen: set[int | str] = set()
        while True:
            reply = self._transport.request("GET", self.endpoints.queued_stock_changes)
            page = reply.document()
            entries = reply.field(page, "stockChangeEntries", list)
            has_more = reply.field(page, "hasMore", bool)
            fresh = 0
            for index, item in enumerate(entries):
                entry: StockChangeEntry = reply.load(
                    load_stock_change_entry, item, f"$.stockChangeEntries[{index}]"
                )
                if entry.id in seen:
                    continue
                seen.add(entry.id)
                fresh += 1
                yield entry
            if not has_more:
                return
            if not fresh:
                logger.info(
                    "the stock-change queue repeats entries already yielded; stopping "
                    "(confirm entries to advance the queue)"
                )
                return

    def get_stock_information(
        self, product_identifier: str, *, location: str | None = None
    ) -> StockInformation:
        """A product's stock.

        Args:
            product_identifier: the product, as a queue entry names it.
            location: the location code; default the client's ``location`` (and when that
                is ``None`` too, Bex's default location of the key).

        Raises:
            NotFound: Bex does not know the product (or the location).
            ResponseError: the answer does not load.
            HttpError: the request failed.
        """
        params: dict[str, str | int] = {}
        code = location if location is not None else self.location
        if code is not None:
            params["locationCode"] = code
        params["productIdentifier"] = product_identifier
        reply = self._transport.request("GET", self.endpoints.stock_information, params=params)
        info: StockInformation = reply.load(load_stock_information, reply.document())
        return info

    def confirm_stock_change(self, entry_id: int | str) -> None:
        """Remove an entry from the stock-change queue (``PUT`` of ``{"entryId": id}``).

        Confirming is idempotent, so it is retried like a read.

        Raises:
            HttpError: the request failed.
        """
        body = json.dumps({"entryId": entry_id}).encode()
        self._transport.request("PUT", self.endpoints.confirm_stock_change, body=body)

    # --- orders ---------------------------------------------------------------------------

    def create_order(self, order: bex.Order) -> bex.Order:
        """Create an order in Bex, exactly once.

        When the ``POST`` fails without a clear answer (a lost response, a timeout, a 5xx,
        a 429), the order is looked up by its ``Ordernr`` before the ``POST`` is repeated,
        so a response lost after Bex committed never yields a second order. A 409 (an order
        with that ``Ordernr`` exists) is answered with the existing order, found the same
        way; so is a look-up that finds it. The existing order is returned as Bex holds it.

        Returns:
            The order as Bex answered with it (or the order sent, when Bex answered with
            an empty body).

        Raises:
            RequestRejected: Bex refused the order (e.g. 400 with its problems).
            HttpError: the request failed, still after the retries.
        """
        body = bex.dumps_order(order, time_zone=self._transport.time_zone)

        def load(reply: Reply) -> bex.Order:
            if not reply.content.strip():
                return order
            created: bex.Order = reply.load(bex.load_order, reply.document())
            return created

        return self._create(
            self.endpoints.orders,
            body,
            load=load,
            lookup=lambda: self.find_order(order.number),
            what=f"order {order.number!r}",
        )

    def find_order(self, ordernr: str) -> bex.Order | None:
        """The order with ``Ordernr`` ``ordernr``, or ``None`` when Bex has none (404).

        Raises:
            ResponseError: the order does not load.
            HttpError: the request failed.
        """
        path = self.endpoints.order.format(ordernr=path_part(ordernr))
        try:
            reply = self._transport.request("GET", path)
        except NotFound:
            return None
        found: bex.Order = reply.load(bex.load_order, reply.document())
        return found

    def find_order_documents(self, ordernr: str) -> list[Any]:
        """Every order Bex holds with ``Ordernr`` ``ordernr``, as sent, unloaded.

        Empty when Bex has none; more than one when the order was created twice. Listed at
        :attr:`BexEndpoints.orders` filtered by :attr:`BexEndpoints.order_number_param`;
        only the orders whose ``Ordernr`` is ``ordernr`` are kept (whatever the filter did).

        Raises:
            ResponseError: a page is not ``{"items": [...], "hasMore": ...}``.
            HttpError: a request failed.
        """
        filters = {self.endpoints.order_number_param: ordernr}
        return [
            document
            for document in self._documents(self.endpoints.orders, filters, None)
            if isinstance(document, dict) and str(document.get("Ordernr")) == ordernr
        ]

    def iter_order_statuses(
        self, since: datetime | None = None, *, page_size: int | None = None
    ) -> Iterator[bex.OrderStatus]:
        """Order statuses, fetched page by page as the iteration goes.

        Args:
            since: only statuses changed at or after this moment (the shop's wall clock).
            page_size: items per page (default: the client's ``page_size``).

        Raises:
            ResponseError: a page or a status does not load.
            HttpError: a request failed.
        """
        return self._items(
            self.endpoints.order_statuses, self._since(since), bex.load_order_status, page_size
        )

    def iter_order_status_documents(
        self, since: datetime | None = None, *, page_size: int | None = None
    ) -> Iterator[Any]:
        """Like :meth:`iter_order_statuses`, but yields each status as Bex sent it, unloaded.

        For flows that must go on past a status that does not load (and report it): load
        each document with :func:`bexvendre_mapping.bex.load_order_status` yourself.

        Raises:
            ResponseError: a page is not ``{"items": [...], "hasMore": ...}``.
            HttpError: a request failed.
        """
        return self._documents(self.endpoints.order_statuses, self._since(since), page_size)

    def _since(self, since: datetime | None) -> dict[str, str | int]:
        if since is None:
            return {}
        return {self.endpoints.since_param: wall_clock_from(since, self._transport.time_zone)}

    # --- articles -------------------------------------------------------------------------

    def iter_articles(
        self, changed_since: datetime | None = None, *, page_size: int | None = None
    ) -> Iterator[bex.Article]:
        """Articles with their sizes, fetched page by page as the iteration goes.

        Args:
            changed_since: only articles changed at or after this moment (the shop's wall
                clock).
            page_size: items per page (default: the client's ``page_size``).

        Raises:
            ResponseError: a page or an article does not load.
            HttpError: a request failed.
        """
        return self._items(
            self.endpoints.articles, self._changed_since(changed_since), bex.load_article, page_size
        )

    def iter_article_documents(
        self, changed_since: datetime | None = None, *, page_size: int | None = None
    ) -> Iterator[Any]:
        """Like :meth:`iter_articles`, but yields each article as Bex sent it, unloaded.

        For flows that must go on past an article that does not load (and report it): load
        each document with :func:`bexvendre_mapping.bex.load_article` yourself.

        Raises:
            ResponseError: a page is not ``{"items": [...], "hasMore": ...}``.
            HttpError: a request failed.
        """
        return self._documents(
            self.endpoints.articles, self._changed_since(changed_since), page_size
        )

    def _changed_since(self, changed_since: datetime | None) -> dict[str, str | int]:
        if changed_since is None:
            return {}
        wall = wall_clock_from(changed_since, self._transport.time_zone)
        return {self.endpoints.changed_since_param: wall}

    # --- gift cards -----------------------------------------------------------------------

    def get_gift_card(self, number: str) -> bex.GiftCard:
        """The gift card ``number``.

        Raises:
            NotFound: Bex has no such card.
            ResponseError: the card does not load.
            HttpError: the request failed.
        """
        path = self.endpoints.gift_card.format(number=path_part(number))
        reply = self._transport.request("GET", path)
        card: bex.GiftCard = reply.load(bex.load_gift_card, reply.document())
        return card

    def reserve_gift_card(
        self, number: str, amount: Decimal, reference: str, *, currency: str | None = None
    ) -> bex.GiftCardReservation:
        """Reserve ``amount`` of a gift card for a checkout or order, exactly once.

        The reservation is keyed by ``reference`` (with the card number): Bex answers a
        second reservation with the same number and reference with the first one, and
        after a failure without a clear answer the client looks the reservation up by its
        reference before it repeats the ``POST``. A reference therefore names one
        reservation for good; after a release, reserve again under a new reference.

        Args:
            number: the gift card's number.
            amount: how much to reserve, a Decimal with at most 2 decimals, above 0.
            reference: the Vendre order or checkout reference.
            currency: the checkout's currency (ISO 4217), sent as ``Valuta`` so that Bex
                refuses a card in another currency (409); ``None`` leaves it out.

        Raises:
            TypeError: ``amount`` is a float.
            MappingError: ``amount`` has more than 2 decimals or is not above 0.
            NotFound: Bex has no such card.
            RequestRejected: Bex refused (e.g. 409: the balance does not cover it).
            HttpError: the request failed, still after the retries.
        """
        document = {"Nummer": number, "Belopp": _amount_text(amount), "Referens": reference}
        if currency is not None:
            document["Valuta"] = currency
        body = json.dumps(document, ensure_ascii=False).encode()

        def load(reply: Reply) -> bex.GiftCardReservation:
            made: bex.GiftCardReservation = reply.load(
                bex.load_gift_card_reservation, reply.document()
            )
            return made

        return self._create(
            self.endpoints.gift_card_reservations,
            body,
            load=load,
            lookup=lambda: self.find_gift_card_reservation(number, reference),
            what=f"reservation {reference!r} of gift card {number!r}",
        )

    def find_gift_card_reservation(
        self, number: str, reference: str
    ) -> bex.GiftCardReservation | None:
        """The reservation of gift card ``number`` under ``reference``, or ``None``.

        Raises:
            ResponseError: a reservation does not load.
            HttpError: the request failed.
        """
        params: dict[str, str | int] = {"number": number, "reference": reference}
        for reservation in self._items(
            self.endpoints.gift_card_reservations, params, bex.load_gift_card_reservation, None
        ):
            # Checked again here, in case a server ignores the filters.
            if reservation.number == number and reservation.reference == reference:
                return reservation
        return None

    def list_gift_card_reservations(self, number: str) -> list[bex.GiftCardReservation]:
        """Every reservation of gift card ``number``, whatever its status.

        Raises:
            ResponseError: a reservation does not load.
            HttpError: the request failed.
        """
        params: dict[str, str | int] = {"number": number}
        return [
            reservation
            for reservation in self._items(
                self.endpoints.gift_card_reservations, params, bex.load_gift_card_reservation, None
            )
            if reservation.number == number  # in case a server ignores the filter
        ]

    def free_gift_card_balance(self, card: bex.GiftCard) -> Decimal:
        """What of ``card``'s balance no active (``Reserverad``) reservation holds.

        Raises:
            ResponseError: a reservation does not load.
            HttpError: the request failed.
        """
        free = card.balance
        for reservation in self.list_gift_card_reservations(card.number):
            if reservation.status is bex.ReservationStatus.RESERVED:
                free = CONTEXT.subtract(free, reservation.amount)
        return max(free, Decimal(0))

    def redeem_gift_card(self, reservation_id: str) -> bex.GiftCardReservation:
        """Redeem a reservation: the reserved amount is drawn from the card.

        Redeeming is idempotent (a redeemed reservation stays redeemed), so it is retried
        like a read.

        Returns:
            The reservation, now ``Inlöst``.

        Raises:
            NotFound: Bex has no such reservation.
            RequestRejected: the reservation was released (409).
            HttpError: the request failed.
        """
        return self._reservation_action(self.endpoints.redeem_reservation, reservation_id)

    def release_gift_card(self, reservation_id: str) -> bex.GiftCardReservation:
        """Release a reservation: the amount is free on the card again.

        Idempotent, like :meth:`redeem_gift_card`.

        Returns:
            The reservation, now ``Släppt``.

        Raises:
            NotFound: Bex has no such reservation.
            RequestRejected: the reservation was redeemed (409).
            HttpError: the request failed.
        """
        return self._reservation_action(self.endpoints.release_reservation, reservation_id)

    def _reservation_action(self, template: str, reservation_id: str) -> bex.GiftCardReservation:
        path = template.format(reservation_id=path_part(reservation_id))
        reply = self._transport.request("PUT", path)
        reservation: bex.GiftCardReservation = reply.load(
            bex.load_gift_card_reservation, reply.document()
        )
        return reservation

    # --- bonus ----------------------------------------------------------------------------

    def get_bonus_balance(self, customer_number: str) -> bex.BonusBalance:
        """A customer's bonus points.

        Raises:
            NotFound: Bex has no such customer.
            ResponseError: the balance does not load.
            HttpError: the request failed.
        """
        path = self.endpoints.bonus_balance.format(customer_number=path_part(customer_number))
        reply = self._transport.request("GET", path)
        balance: bex.BonusBalance = reply.load(bex.load_bonus_balance, reply.document())
        return balance

    # --- shared ---------------------------------------------------------------------------

    def _items(
        self,
        path: str,
        filters: Mapping[str, str | int],
        loader: Callable[..., T],
        page_size: int | None,
    ) -> Iterator[T]:
        pages = self._pages(path, filters, self._page_size(page_size))
        return (reply.load(loader, item, f"$.items[{index}]") for reply, index, item in pages)

    def _documents(
        self, path: str, filters: Mapping[str, str | int], page_size: int | None
    ) -> Iterator[Any]:
        return (item for _, _, item in self._pages(path, filters, self._page_size(page_size)))

    def _page_size(self, page_size: int | None) -> int:
        size = self.page_size if page_size is None else page_size
        if size < 1:
            msg = f"page_size must be at least 1, got {size}"
            raise ValueError(msg)
        return size

    def _pages(
        self, path: str, filters: Mapping[str, str | int], size: int
    ) -> Iterator[tuple[Reply, int, Any]]:
        """Each item of each page, with its reply and index, as the iteration goes."""
        offset = 0
        previous: list[Any] | None = None
        while True:
            params = {**filters, "offset": offset, "limit": size}
            reply = self._transport.request("GET", path, params=params)
            page = reply.document()
            items = reply.field(page, "items", list)
            has_more = reply.field(page, "hasMore", bool)
            if items == previous:
                # A server that ignores offset would send this page forever.
                raise self._transport.response_error(
                    "Bex sent the previous page again (does it ignore offset?)",
                    reply,
                    MappingError(
                        [Problem("$.items", f"repeats the previous page, at offset {offset}")]
                    ),
                )
            for index, item in enumerate(items):
                yield reply, index, item
            if not has_more:
                return
            if not items:
                raise self._transport.response_error(
                    "Bex says it has more but sent an empty page",
                    reply,
                    MappingError([Problem("$.items", "empty, with hasMore true")]),
                )
            previous = items
            offset += len(items)

    def _create(
        self,
        path: str,
        body: bytes,
        *,
        load: Callable[[Reply], T],
        lookup: Callable[[], T | None],
        what: str,
    ) -> T:
        """POST ``body``; after an unclear failure, look the result up before repeating."""
        policy = self._transport.retries
        attempt = 0
        while True:
            try:
                reply = self._transport.request("POST", path, body=body)
            except RequestRejected as exc:
                if exc.status != 409:
                    raise
                found = lookup()
                if found is None:
                    raise
                logger.info("%s already exists in Bex; using it", what)
                return found
            except (TransportError, ServerError, RateLimited) as exc:
                if isinstance(exc, TransportError) and not exc.connected:
                    # Never sent; urllib3 has already retried the connection.
                    raise
                if attempt >= policy.total:
                    raise
                attempt += 1
                # A 429's or a 5xx's (503's) Retry-After, honoured as urllib3 does for a GET.
                retry_after = None if isinstance(exc, TransportError) else exc.retry_after
                wait = policy.delay(attempt, retry_after)
                logger.info(
                    "creating %s failed (%s); looking it up before repeating, in %.2fs "
                    "(repetition %d of %d)",
                    what,
                    type(exc).__name__,
                    wait,
                    attempt,
                    policy.total,
                )
                # Within the client's wait budget, else RetryBudgetExhausted.
                self._transport.wait(wait, exc)
                found = lookup()
                if found is not None:
                    logger.info("%s was created after all; using it", what)
                    return found
                continue
            return load(reply)
