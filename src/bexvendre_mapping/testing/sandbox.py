"""Both APIs as real HTTP servers on loopback, for integration tests (the ``testing`` extra).

:class:`Sandbox` starts a Vendre API and a Bex API on ``127.0.0.1`` at free ports, each a
werkzeug server in a background thread, holding its data in memory. Seed it, point your
integration code at it (or take its ready clients), run, and look at what arrived::

    from bexvendre_mapping.testing.sandbox import Sandbox

    def test_orders_reach_bex():
        with Sandbox() as sandbox:
            sandbox.add_vendre_order(order_document)
            my_sync(vendre=sandbox.vendre_client(), bex=sandbox.bex_client())
            assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["100234"]

The servers answer like the real APIs as :class:`~bexvendre_mapping.http.VendreEndpoints`
and :class:`~bexvendre_mapping.http.BexEndpoints` describe them: wrong credentials get a
401, documents that arrive are checked with the library's loaders (a 400 lists every
problem with its JSON path), and :meth:`Sandbox.inject` makes them fail the ways real
servers do: an error status, ``Retry-After``, a slow answer, a body that is not JSON, or a
response lost after the work was done. :meth:`Sandbox.rate_limit` puts a rate limit on one
of them, announced in ``RateLimit-*`` headers.

The Vendre API speaks ``/API/1`` as SPEC §8 describes it: products are full records (every
key of a listed product; dates as Unix epoch seconds, money as JSON numbers) listed at
``GET products`` and read at ``GET products/{id}``, created at ``POST products`` and saved
at ``PUT products/{id}``; orders are listed and read at ``GET orders/{id}`` with epoch dates
and number money; errors are ``{"errors": [{"status", "code", "title", "detail",
"source": {"parameter"}}]}``.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Self, TypeVar

from bexvendre_mapping import bex, vendre
from bexvendre_mapping._dates import DEFAULT_TIME_ZONE, format_date
from bexvendre_mapping._errors import MappingError
from bexvendre_mapping._examples import examples_dir
from bexvendre_mapping._wire import parse_document
from bexvendre_mapping.http import (
    BexClient,
    BexEndpoints,
    RetryPolicy,
    VendreClient,
    VendreEndpoints,
)
from bexvendre_mapping.money import CONTEXT
from bexvendre_mapping.testing import _sandbox_bex, _sandbox_server, _sandbox_vendre
from bexvendre_mapping.testing._sandbox_server import Call, Fault, RateLimit

__all__ = [
    "Call",
    "FAST_RETRIES",
    "Fault",
    "RateLimit",
    "Sandbox",
]

#: The retry policy of the sandbox's clients: no backoff, ``Retry-After`` cut to 1 second.
FAST_RETRIES = RetryPolicy(total=3, backoff_factor=0, jitter=0, retry_after_max=1)

# The sandbox's clients' timeouts: (connect, read) seconds. Loopback is fast.
_TIMEOUT = (2.0, 10.0)

_Document = Mapping[str, Any] | bytes | str

_M = TypeVar("_M")


class Sandbox:
    """The Vendre and Bex APIs on loopback, in memory, as a context manager.

    Args:
        seed_examples: seed the shipped example documents: the Vendre order, the Bex article
            with its stock rows, the order statuses, the gift card and its reservation for
            the order (see :meth:`seed_examples`).
        time_zone: the shop's IANA time zone, for date-times and filters.
        vendre_max_page_size: the most orders or products one page holds, whatever the
            client asks (``None``: as many as asked), to test paging.
        bex_location: the location code of the Bex key (stock look-ups with another code
            get a 404).
        bex_queue_page_size: the most entries one page of the stock-change queue holds.
        bex_unique_order_numbers: whether Bex refuses an order whose ``Ordernr`` it holds
            already (409, the default). With ``False`` it stores the order beside the first,
            as a Bex without that check would (see :meth:`add_bex_order`'s ``duplicate``):
            a client that sends an order twice then makes a double, seen in
            :meth:`bex_orders`, instead of being saved by the 409.
        vendre_endpoints: the paths the Vendre API serves (default: the library's).
        bex_endpoints: the paths the Bex API serves (default: the library's).
        host: the loopback address to listen on.

    Attributes:
        vendre_api_key: the Vendre API key the sandbox accepts (random per sandbox).
        bex_api_key: the Bex API key (random).
        bex_secret: the Bex API secret (random).
        bex_location: the Bex location code.
    """

    def __init__(
        self,
        *,
        seed_examples: bool = False,
        time_zone: str = DEFAULT_TIME_ZONE,
        vendre_max_page_size: int | None = None,
        bex_location: str = "HUVUDLAGER",
        bex_queue_page_size: int = 50,
        bex_unique_order_numbers: bool = True,
        vendre_endpoints: VendreEndpoints | None = None,
        bex_endpoints: BexEndpoints | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        if bex_queue_page_size < 1:
            msg = f"bex_queue_page_size must be at least 1, got {bex_queue_page_size}"
            raise ValueError(msg)
        self.time_zone = time_zone
        self.vendre_api_key = secrets.token_hex(16)
        self.bex_api_key = secrets.token_hex(8)
        self.bex_secret = secrets.token_hex(16)
        self.bex_location = bex_location
        self._host = host
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._faults: list[Fault] = []
        self._calls: list[Call] = []
        common: dict[str, Any] = {
            "lock": self._lock,
            "faults": self._faults,
            "calls": self._calls,
            "stopping": self._stopping,
            "zone_name": time_zone,
        }
        self._vendre = _sandbox_vendre.VendreApi(
            api_key=self.vendre_api_key,
            endpoints=vendre_endpoints or VendreEndpoints(),
            max_page_size=vendre_max_page_size,
            base_path="API/1",
            **common,
        )
        self._bex = _sandbox_bex.BexApi(
            api_key=self.bex_api_key,
            secret=self.bex_secret,
            location=bex_location,
            endpoints=bex_endpoints or BexEndpoints(),
            queue_page_size=bex_queue_page_size,
            unique_order_numbers=bex_unique_order_numbers,
            base_path="api",
            **common,
        )
        self._servers: dict[str, _sandbox_server.LoopbackServer] = {}
        self._clients: list[VendreClient | BexClient] = []
        if seed_examples:
            self.seed_examples()

    def __repr__(self) -> str:
        state = "running" if self._servers else "stopped"
        vendre_at, bex_at = self._url_or_none("vendre"), self._url_or_none("bex")
        return f"<Sandbox {state} vendre={vendre_at} bex={bex_at}>"

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        """Start both servers (done by ``with``).

        Raises:
            RuntimeError: the sandbox is running already.
        """
        if self._servers:
            msg = "the sandbox is running already"
            raise RuntimeError(msg)
        self._stopping.clear()
        try:
            for name, app in (("vendre", self._vendre), ("bex", self._bex)):
                self._servers[name] = _sandbox_server.LoopbackServer(
                    app, name=name, host=self._host
                )
        except BaseException:
            self.stop()
            raise
        with self._lock:
            self._vendre.public_base = self.vendre_url
        return self

    def stop(self) -> None:
        """Shut the servers down, join their threads, and close the clients it made.

        Requests held by an injected delay are let go at once.
        """
        self._stopping.set()
        servers, self._servers = self._servers, {}
        for server in servers.values():
            server.stop()
        clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget all data, faults, rate limits, latency and calls (the servers keep running).

        The peak of requests in flight starts again from those in flight now.
        """
        with self._lock:
            self._vendre.clear()
            self._bex.clear()
            self._faults.clear()
            self._calls.clear()
            self._vendre.rate_limit = self._bex.rate_limit = None
            for api in (self._vendre, self._bex):
                api.latency = 0.0
                api.peak_in_flight = api.in_flight

    # --- where and how to connect ---------------------------------------------------------

    @property
    def vendre_url(self) -> str:
        """The Vendre API's base URL, ``http://127.0.0.1:<port>/API/1/``."""
        return self._server("vendre").url("API/1/")

    @property
    def bex_url(self) -> str:
        """The Bex API's base URL, ``http://127.0.0.1:<port>/api/``."""
        return self._server("bex").url("api/")

    def vendre_client(self, **options: Any) -> VendreClient:
        """A :class:`~bexvendre_mapping.http.VendreClient` of this sandbox.

        It retries without backoff (:data:`FAST_RETRIES`), ignores proxy settings, and is
        closed when the sandbox stops.

        Args:
            **options: ``VendreClient`` arguments, overriding the sandbox's (``api_key``
                too, e.g. a wrong one).
        """
        api_key = options.pop("api_key", self.vendre_api_key)
        options = {
            "retries": FAST_RETRIES,
            "timeout": _TIMEOUT,
            "trust_env": False,
            "time_zone": self.time_zone,
            **options,
        }
        client = VendreClient(options.pop("base_url", self.vendre_url), api_key, **options)
        self._clients.append(client)
        return client

    def bex_client(self, **options: Any) -> BexClient:
        """A :class:`~bexvendre_mapping.http.BexClient` of this sandbox.

        Like :meth:`vendre_client`; its location is the sandbox's.

        Args:
            **options: ``BexClient`` arguments, overriding the sandbox's (``api_key`` and
                ``secret`` too).
        """
        options = {
            "base_url": self.bex_url,
            "api_key": self.bex_api_key,
            "secret": self.bex_secret,
            "location": self.bex_location,
            "retries": FAST_RETRIES,
            "timeout": _TIMEOUT,
            "trust_env": False,
            "time_zone": self.time_zone,
            **options,
        }
        client = BexClient(**options)
        self._clients.append(client)
        return client

    # --- faults ---------------------------------------------------------------------------

    def inject(
        self,
        system: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        retry_after: int | None = None,
        headers: Mapping[str, str] | None = None,
        delay: float | None = None,
        body: bytes | None = None,
        drop_after_commit: bool = False,
        times: int = 1,
    ) -> Fault:
        """Make the next ``times`` matching requests fail.

        A request matches when its method is ``method`` (any when ``None``) and its path,
        relative to the API's base (``orders``, ``GiftCardReservations``), starts with
        ``path`` (any when ``None``). Faults apply in the order they were injected.

        Args:
            system: ``"vendre"`` or ``"bex"``.
            method: the HTTP method to match.
            path: the path prefix to match.
            status: answer with this status (and ``{"error": "injected fault"}``) without
                doing the work, e.g. 503.
            retry_after: the ``Retry-After`` seconds sent with ``status``.
            headers: more headers to send with ``status`` or ``body`` (they win over
                ``retry_after``): ``{"Retry-After": "9" * 5000}`` tries a client on a
                header it cannot read.
            delay: seconds to wait before answering (longer than a client's read timeout
                makes it time out).
            body: answer with these bytes (status ``status``, default 200) without doing
                the work, e.g. an HTML error page or truncated JSON.
            drop_after_commit: do the work (store the order, make the reservation), then
                close the connection without an answer: a response lost after commit.
            times: how many matching requests fail.

        Returns:
            The fault; its ``hits`` counts the requests it applied to.

        Raises:
            ValueError: the arguments do not describe a fault.
        """
        if system not in _sandbox_server.SYSTEMS:
            msg = f"system must be 'vendre' or 'bex', got {system!r}"
            raise ValueError(msg)
        if times < 1:
            msg = f"times must be at least 1, got {times}"
            raise ValueError(msg)
        if status is None and delay is None and body is None and not drop_after_commit:
            msg = "a fault needs a status, a delay, a body or drop_after_commit"
            raise ValueError(msg)
        if drop_after_commit and (status is not None or body is not None):
            msg = "drop_after_commit does the work; it cannot also answer a status or a body"
            raise ValueError(msg)
        if retry_after is not None and status is None:
            msg = "retry_after goes with a status (429 or 503)"
            raise ValueError(msg)
        if headers and status is None and body is None:
            msg = "headers go with a status or a body"
            raise ValueError(msg)
        fault = Fault(
            system=system,
            method=method,
            path=path,
            status=status,
            retry_after=retry_after,
            headers=dict(headers or {}),
            delay=delay,
            body=body,
            drop_after_commit=drop_after_commit,
            times=times,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        with self._lock:
            self._faults.clear()

    def rate_limit(self, system: str, *, limit: int, per: float = 1.0) -> RateLimit:
        """Limit ``system`` to ``limit`` requests per ``per`` seconds (replacing a limit before).

        Every answer then carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and
        ``RateLimit-Reset`` (whole seconds until the window ends, rounded up); a request past
        the limit is answered 429 with ``Retry-After`` and not carried out. A request an
        injected fault answers is not counted. ``clear_rate_limits()`` and ``reset()``
        remove the limits.

        Args:
            system: ``"vendre"`` or ``"bex"``.
            limit: requests per window, at least 1.
            per: the window's length in seconds, above 0.

        Returns:
            The limit; its ``requests`` and ``refused`` count what it saw.

        Raises:
            ValueError: the arguments do not describe a limit.
        """
        if system not in _sandbox_server.SYSTEMS:
            msg = f"system must be 'vendre' or 'bex', got {system!r}"
            raise ValueError(msg)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            msg = f"limit must be a whole number of requests >= 1, got {limit!r}"
            raise ValueError(msg)
        if isinstance(per, bool) or not isinstance(per, int | float) or not per > 0:
            msg = f"per must be seconds > 0, got {per!r}"
            raise ValueError(msg)
        limiter = RateLimit(system=system, limit=limit, per=float(per))
        with self._lock:
            self._api(system).rate_limit = limiter
        return limiter

    def set_latency(self, system: str | None, seconds: float) -> None:
        """Make every request of ``system`` (of both when ``None``) wait ``seconds`` first.

        The wait is the API's own, as a distant server's would be: requests in flight at
        once wait side by side, not one after another. ``0`` removes it; ``reset()`` too.

        Raises:
            ValueError: ``system`` is unknown, or ``seconds`` is not a number >= 0.
        """
        if system is not None and system not in _sandbox_server.SYSTEMS:
            msg = f"system must be 'vendre', 'bex' or None, got {system!r}"
            raise ValueError(msg)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds >= 0:
            msg = f"seconds must be a number >= 0, got {seconds!r}"
            raise ValueError(msg)
        with self._lock:
            for name in _sandbox_server.SYSTEMS if system is None else (system,):
                self._api(name).latency = float(seconds)

    def peak_in_flight(self, system: str) -> int:
        """The most requests ``system`` served at once since it started (or the last reset).

        Raises:
            ValueError: ``system`` is unknown.
        """
        if system not in _sandbox_server.SYSTEMS:
            msg = f"system must be 'vendre' or 'bex', got {system!r}"
            raise ValueError(msg)
        with self._lock:
            return self._api(system).peak_in_flight

    def clear_rate_limits(self) -> None:
        """Remove the rate limits of both APIs."""
        with self._lock:
            self._vendre.rate_limit = self._bex.rate_limit = None

    def calls(self, system: str | None = None) -> list[Call]:
        """The requests received so far, oldest first (of one system, or of both)."""
        with self._lock:
            return [c for c in self._calls if system is None or c.system == system]

    # --- seeding Vendre -------------------------------------------------------------------

    def add_vendre_order(self, order: _Document | vendre.Order) -> dict[str, Any]:
        """Add an order for clients to fetch (replacing one with the same id).

        Args:
            order: a Vendre order, as a wire document (mapping, JSON bytes or str) or a
                model.

        Returns:
            The stored document, as the API serves it: its dates (``date_added``, the
            payment's ``date_added``) as Unix epoch seconds, its money as numbers
            (``Decimal`` in the dict).

        Raises:
            MappingError: the document does not load.
        """
        model = self._model(order, vendre.Order, vendre.load_order)
        with self._lock:
            return copy.deepcopy(self._vendre.add_order(model))

    def add_vendre_order_document(
        self, document: Mapping[str, Any], *, order_id: int, date_added: datetime
    ) -> dict[str, Any]:
        """Add an order document exactly as given, even one that does not load.

        For testing how a flow treats the bad orders a real shop can send.

        Args:
            document: the order as the API should serve it.
            order_id: its id, for the ``ids`` filter and ordering.
            date_added: when it was placed, for the since filter (aware).

        Returns:
            A copy of the stored document.
        """
        stored = _sandbox_vendre.plain(document)
        with self._lock:
            return copy.deepcopy(self._vendre.add_document(stored, order_id, date_added))

    def add_vendre_product(self, product: _Document | vendre.Product) -> dict[str, Any]:
        """Add a product for clients to list, read and save (replacing one with the same id).

        The product becomes a full record, as the API lists it: every key of a listed
        product, the ones not given at their defaults (``quantity`` 0, ``status`` and
        ``show`` true, ``parent`` 0, ``variants`` ``{}``, ...), dates as Unix epoch seconds,
        money as numbers. Keys a record does not have are kept as given (a real shop's
        record has more). Without an ``id``, the next free one is given. A product whose
        ``parent`` is held is linked under it (``child_product_ids``, ``is_parent``).

        Args:
            product: a Vendre product, as a wire document (mapping, JSON bytes or str) or a
                model.

        Returns:
            The stored record, with its ``actions``.

        Raises:
            MappingError: the document does not load.
        """
        if isinstance(product, vendre.Product):
            document: Any = vendre.dump_product(product, time_zone=self.time_zone)
        else:
            document = parse_document(product)
            if not isinstance(document, Mapping):
                raise MappingError(f"expected an object, got {type(document).__name__}")
        with self._lock:
            stored = self._vendre.add_product(_sandbox_vendre.plain(document))
            return copy.deepcopy(self._vendre.record(stored))

    # --- seeding Bex ----------------------------------------------------------------------

    def add_bex_article(
        self, article: _Document | bex.Article, *, changed_at: datetime | None = None
    ) -> dict[str, Any]:
        """Add an article (replacing one with the same ``Artikel``).

        Args:
            article: a Bex article, as a wire document or a model.
            changed_at: when it changed, for the changed-since filter (default: now).

        Returns:
            The stored document.
        """
        model = self._model(article, bex.Article, bex.load_article)
        with self._lock:
            return copy.deepcopy(self._bex.add_article(model, changed_at))

    def add_bex_order(
        self, order: _Document | bex.Order, *, duplicate: bool = False
    ) -> dict[str, Any]:
        """Add an order to Bex, as if created earlier (replacing one with the same ``Ordernr``).

        Args:
            order: a Bex order, as a wire document or a model.
            duplicate: keep it beside an order with the same ``Ordernr`` instead of
                replacing it, as a Bex that created an order twice would hold them (both are
                listed at ``GET Orders?ordernr=...``; ``GET Orders/{ordernr}`` answers the
                first).

        Returns:
            The stored document.
        """
        model = self._model(order, bex.Order, bex.load_order)
        with self._lock:
            added = self._bex.add_order_copy(model) if duplicate else self._bex.add_order(model)
            return copy.deepcopy(added)

    def delete_bex_order(self, ordernr: str) -> int:
        """Delete the orders with ``Ordernr`` ``ordernr`` from Bex, as a person might by hand.

        Returns:
            How many were deleted (0 when Bex had none).
        """
        with self._lock:
            return self._bex.delete_order(ordernr)

    def set_bex_stock(
        self,
        product_identifier: str | _Document | bex.Stock,
        quantity: int | None = None,
        *,
        available: int | None = None,
        variant_id: int | str | None = None,
        next_receival_date: date | None = None,
        next_receival_quantity: int | None = None,
    ) -> int:
        """Set a product's stock and queue a stock change for it.

        Either ``set_bex_stock("1001_SKO_42", 7)`` or ``set_bex_stock(stock)`` with a Bex
        stock row (document or model), whose model code is the product identifier and whose
        ``Lagerantal`` the quantity.

        Args:
            product_identifier: the product identifier, or a Bex stock row.
            quantity: the physical quantity (not with a stock row).
            available: the available quantity (default: the physical one).
            variant_id: the ``variantId`` to report.
            next_receival_date: when more arrives.
            next_receival_quantity: how much arrives then.

        Returns:
            The id of the queued stock-change entry.

        Raises:
            TypeError: the arguments do not name a product and a quantity.
        """
        if isinstance(product_identifier, str) and quantity is not None:
            identifier, physical = product_identifier, quantity
        elif not isinstance(product_identifier, str) and quantity is None:
            stock = self._model(product_identifier, bex.Stock, bex.load_stock)
            identifier, physical = str(stock.model_code), stock.quantity
        else:
            msg = "give a product identifier and a quantity, or a Bex stock row alone"
            raise TypeError(msg)
        for value in (physical, available, next_receival_quantity):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                msg = f"quantities are whole numbers, got {value!r}"
                raise TypeError(msg)
        document: dict[str, Any] = {
            "productIdentifier": identifier,
            "variantId": variant_id,
            "physicalQuantity": physical,
            "availableQuantity": physical if available is None else available,
        }
        if next_receival_date is not None:
            document["nextReceivalDate"] = format_date(next_receival_date)
        if next_receival_quantity is not None:
            document["nextReceivalQuantity"] = next_receival_quantity
        with self._lock:
            return self._bex.set_stock(document)

    def add_bex_gift_card(self, card: _Document | bex.GiftCard) -> dict[str, Any]:
        """Add a gift card (replacing one with the same ``Nummer``).

        Returns:
            The stored document.
        """
        model = self._model(card, bex.GiftCard, bex.load_gift_card)
        with self._lock:
            return copy.deepcopy(self._bex.add_gift_card(model))

    def add_bex_gift_card_reservation(
        self, reservation: _Document | bex.GiftCardReservation
    ) -> dict[str, Any]:
        """Add a reservation as it stands, keeping its ``ReservationsID``.

        For a reservation made at a checkout before the test starts. The card must exist.

        Returns:
            The stored document.

        Raises:
            KeyError: no gift card with the reservation's ``Nummer``.
        """
        model = self._model(reservation, bex.GiftCardReservation, bex.load_gift_card_reservation)
        with self._lock:
            return copy.deepcopy(self._bex.add_reservation(model))

    def seed_examples(self) -> None:
        """Seed the shipped example documents (``bexvendre_mapping`` ``examples/``).

        The Vendre order; the Bex article; the stock rows, each queued as a stock change; the
        order statuses; the gift card and the reservation the order's gift card refers to.
        """
        folder = examples_dir()

        def read(name: str) -> Any:
            return json.loads((folder / name).read_bytes(), parse_float=Decimal)

        self.add_vendre_order(read("vendre-order.json"))
        self.add_bex_article(read("bex-article.json"))
        for row in read("bex-stock.json"):
            self.set_bex_stock(row)
        for status in read("bex-order-statuses.json"):
            self.set_bex_order_status(status)
        self.add_bex_gift_card(read("bex-gift-card.json"))
        self.add_bex_gift_card_reservation(read("bex-gift-card-reservation.json"))

    def set_bex_order_status(
        self,
        ordernr: str | _Document | bex.OrderStatus,
        status: str | None = None,
        *,
        changed_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Set an order's Bex status: ``set_bex_order_status("100234", "SKICKAD")``.

        Args:
            ordernr: the ``Ordernr``, or an order status (document or model) alone.
            status: the Bex status code (not with an order status).
            changed_at: when it changed, for the since filter (default: now).

        Returns:
            The stored document.

        Raises:
            TypeError: the arguments do not name an order and a status.
        """
        if isinstance(ordernr, str) and status is not None:
            model = bex.load_order_status({"Ordernr": ordernr, "Status": status})
        elif not isinstance(ordernr, str) and status is None:
            model = self._model(ordernr, bex.OrderStatus, bex.load_order_status)
        else:
            msg = "give an Ordernr and a status, or an order status alone"
            raise TypeError(msg)
        with self._lock:
            return copy.deepcopy(self._bex.set_order_status(model, changed_at))

    def set_bex_bonus(
        self, customer_number: str | _Document | bex.BonusBalance, points: int | None = None
    ) -> dict[str, Any]:
        """Set a customer's bonus points: ``set_bex_bonus("5512", 340)``.

        Args:
            customer_number: the ``Kundnr``, or a bonus balance (document or model) alone.
            points: the points (not with a bonus balance).

        Returns:
            The stored document.

        Raises:
            TypeError: the arguments do not name a customer and points.
        """
        if isinstance(customer_number, str) and points is not None:
            model = bex.load_bonus_balance({"Kundnr": customer_number, "Bonuspoäng": points})
        elif not isinstance(customer_number, str) and points is None:
            model = self._model(customer_number, bex.BonusBalance, bex.load_bonus_balance)
        else:
            msg = "give a Kundnr and points, or a bonus balance alone"
            raise TypeError(msg)
        with self._lock:
            return copy.deepcopy(self._bex.set_bonus(model))

    # --- what arrived ---------------------------------------------------------------------

    def vendre_orders(self) -> list[dict[str, Any]]:
        """Vendre's orders, by id, with the statuses set since."""
        with self._lock:
            return copy.deepcopy(
                [stored.document for _, stored in sorted(self._vendre.orders.items())]
            )

    def vendre_products(self) -> list[dict[str, Any]]:
        """Vendre's product records, in id order, as the API serves them (with ``actions``)."""
        with self._lock:
            return copy.deepcopy(
                [self._vendre.record(stored) for _, stored in sorted(self._vendre.products.items())]
            )

    def vendre_stock(self) -> list[dict[str, Any]]:
        """The stock of the products whose stock was saved through the API, in id order.

        Stock lives in the product records; this is taken from them: for each product that a
        create or save carrying ``quantity`` or ``warehouses`` reached, ``{"id",
        "article_number", "quantity", "status", "warehouses"}`` as the record holds them now.
        """
        with self._lock:
            return copy.deepcopy(self._vendre.stock())

    def vendre_order_statuses(self) -> list[dict[str, Any]]:
        """Every order status update that arrived at Vendre, in order of arrival."""
        with self._lock:
            return copy.deepcopy(self._vendre.status_updates)

    def bex_orders(self) -> list[dict[str, Any]]:
        """The orders in Bex (created through the API or added), in order of creation.

        An order added with ``duplicate=True`` comes after all the others.
        """
        with self._lock:
            return copy.deepcopy(self._bex.all_orders())

    def bex_gift_cards(self) -> list[dict[str, Any]]:
        """The gift cards in Bex, with their balances and statuses now."""
        with self._lock:
            return copy.deepcopy(list(self._bex.gift_cards.values()))

    def bex_queued_stock_changes(self) -> list[dict[str, Any]]:
        """The stock-change entries not confirmed yet, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._bex.queue.values()))

    def bex_gift_card_free_balance(self, number: str) -> Decimal:
        """What of gift card ``number``'s balance its active reservations leave free.

        Read in one go under the sandbox's lock (a consistent view while requests run);
        may be negative, should a bug let reservations overdraw the card.

        Raises:
            KeyError: no such card.
        """
        with self._lock:
            card = self._bex.gift_cards[number]
            return CONTEXT.subtract(Decimal(card["Saldo"]), self._bex.reserved(number))

    def reservations(self) -> list[dict[str, Any]]:
        """Every gift-card reservation made, in order, with its status now."""
        with self._lock:
            return copy.deepcopy(list(self._bex.reservations.values()))

    # --- internals ------------------------------------------------------------------------

    def _server(self, name: str) -> _sandbox_server.LoopbackServer:
        server = self._servers.get(name)
        if server is None:
            msg = "the sandbox is not running: use it in a with block, or call start()"
            raise RuntimeError(msg)
        return server

    def _api(self, system: str) -> _sandbox_server.Api:
        return self._vendre if system == "vendre" else self._bex

    def _url_or_none(self, name: str) -> str | None:
        server = self._servers.get(name)
        return None if server is None else server.url("")

    def _model(self, value: object, cls: type[_M], loader: Callable[..., _M]) -> _M:
        if isinstance(value, cls):
            return value
        return loader(value, time_zone=self.time_zone)
