"""The Vendre REST client (SPEC §8): orders in, products, stock and order statuses out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import attrs

from bexvendre_mapping import vendre
from bexvendre_mapping._dates import DEFAULT_TIME_ZONE
from bexvendre_mapping._errors import MappingError, Problem
from bexvendre_mapping._text import has_control_character
from bexvendre_mapping.http._errors import NotFound
from bexvendre_mapping.http._transport import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    BaseClient,
    Reply,
    RetryPolicy,
    Timeout,
    Transport,
    chunks,
    json_array,
    path_part,
    wall_clock_from,
)

if TYPE_CHECKING:
    import requests

__all__ = ["VendreClient", "VendreEndpoints"]

M = TypeVar("M")

#: How many documents one request of :meth:`VendreClient.upsert_products` or
#: :meth:`VendreClient.update_stock` carries by default.
DEFAULT_CHUNK_SIZE = 100


@attrs.frozen(kw_only=True)
class VendreEndpoints:
    """Paths (relative to the shop's ``/API/1`` base URL) and query parameter names.

    Vendre documents ``orders``, ``products``, paging with ``page_size``/``offset`` and the
    ``ids`` filter; the rest are this library's defaults, which the sandbox serves. Override
    any of them to match a shop::

        VendreEndpoints(stock="products/stock", since_param="updated_from")

    Attributes:
        orders: ``GET``, paged: ``{"list": [...], "remaining": N}``.
        order_status: ``PUT`` of an ``OrderStatusUpdate``; ``{order_id}`` is replaced.
        products: ``PUT`` of a JSON array of products, upserted by ``article_number``.
        stock: ``PUT`` of a JSON array of stock updates, keyed by ``article_number``.
        since_param: the orders filter "placed at or after", a wall-clock date-time
            ``YYYY-MM-DD HH:MM:SS`` in the shop's time zone.
        status_param: the orders filter by status id.
        ids_param: the orders filter by ids, comma-separated.
    """

    orders: str = "orders"
    order_status: str = "orders/{order_id}/status"
    products: str = "products"
    stock: str = "stock"
    since_param: str = "date_added_from"
    status_param: str = "status"
    ids_param: str = "ids"


class VendreClient(BaseClient):
    """A client of one shop's Vendre REST API.

    Every request has a connect and a read timeout; GETs and PUTs are retried on connection
    errors, timeouts, 429 and 502/503/504 (see :class:`RetryPolicy`). Every request this
    client sends is idempotent (reads, and PUTs keyed by id or article number), so all of
    them may be repeated. Documents the shop sends are loaded with the library's loaders; one
    that does not load raises :class:`ResponseError` carrying the ``MappingError``.

    Args:
        base_url: the API's base, ``https://<shop-domain>/API/1``.
        api_key: the shop's API key.
        auth: how the key is sent: ``"x-authorization"`` (``X-Authorization: <key>``, the
            default) or ``"bearer"`` (``Authorization: Bearer <key>``).
        endpoints: paths and parameter names, see :class:`VendreEndpoints`.
        timeout: seconds, or ``(connect, read)`` seconds; default ``(5, 30)``.
        deadline: the most seconds one attempt of a request may take in all, from sending
            it to the body's last byte (the read timeout bounds only each wait for more
            bytes); past it, :class:`TransportError`. Default 120; ``None``: no deadline.
        max_response_bytes: the largest response body read, in bytes after decoding;
            past it, :class:`ResponseError`. Default 64 MiB.
        retries: a :class:`RetryPolicy`, or how many times to retry with the default
            backoff; default ``RetryPolicy()`` (its ``wait_budget`` bounds the waits
            between two calls of :meth:`reset_wait_budget`).
        session: a ``requests.Session`` to use (the client mounts its retrying adapter on
            it for ``base_url`` only and does not close it); by default the client makes
            and closes its own.
        verify: TLS verification: ``True`` (the default), or a CA bundle's path.
        trust_env: whether the session reads proxies and CA bundles from the environment.
        time_zone: the shop's IANA time zone, for date-times.
        strict: reject documents with keys the wire format does not define.
        chunk_size: the default number of documents per request of the bulk updates.

    Raises:
        ValueError: ``api_key`` is empty or holds a control character (a line break read
            along with it, say), ``auth`` is unknown, ``chunk_size`` is below 1,
            ``base_url`` is not an http(s) URL or holds a user name or password
            (credentials go in ``api_key``), or an option is out of range.

    >>> with VendreClient("https://shop.example/API/1", "k3y") as client:
    ...     client
    VendreClient(base_url='https://shop.example/API/1/', auth='x-authorization')
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        auth: Literal["x-authorization", "bearer"] = "x-authorization",
        endpoints: VendreEndpoints | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        deadline: float | None = DEFAULT_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        retries: int | RetryPolicy | None = None,
        session: requests.Session | None = None,
        verify: bool | str = True,
        trust_env: bool = True,
        time_zone: str = DEFAULT_TIME_ZONE,
        strict: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        if not api_key:
            msg = "api_key is empty"
            raise ValueError(msg)
        if has_control_character(api_key):
            # It goes into a header as it is: requests would refuse it only when sending.
            msg = "api_key holds a line break or another control character"
            raise ValueError(msg)
        headers = {
            "x-authorization": {"X-Authorization": api_key},
            "bearer": {"Authorization": f"Bearer {api_key}"},
        }.get(str(auth))
        if headers is None:
            msg = f"auth must be 'x-authorization' or 'bearer', got {auth!r}"
            raise ValueError(msg)
        if chunk_size < 1:
            msg = f"chunk_size must be at least 1, got {chunk_size}"
            raise ValueError(msg)
        self.auth = auth
        self.endpoints = endpoints or VendreEndpoints()
        self.chunk_size = chunk_size
        self._transport = Transport(
            base_url,
            headers=headers,
            auth=None,
            secrets=[api_key],
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
        return f"{type(self).__name__}(base_url={self.base_url!r}, auth={self.auth!r})"

    # --- orders ---------------------------------------------------------------------------

    def iter_orders(
        self,
        *,
        since: datetime | None = None,
        status: int | None = None,
        page_size: int = 250,
    ) -> Iterator[vendre.Order]:
        """Every order matching the filters, fetched page by page as the iteration goes.

        Pages are requested with ``page_size`` and ``offset``; the next offset is the count
        of orders received so far (a shop may send fewer than asked), until the shop says
        ``remaining`` is 0.

        Args:
            since: only orders placed at or after this moment (sent as the shop's wall
                clock, seconds floored; a naive datetime is the shop's wall clock).
            status: only orders with this shop-specific status id.
            page_size: how many orders to ask for per request.

        Yields:
            The orders, in the shop's order.

        Raises:
            HttpError: a request failed.
            ResponseError: a page or an order in it does not load (the ``mapping_error``
                paths point into the page, e.g. ``$.list[3].products[0].model``), or the
                shop reports orders remaining but sends an empty page or the previous page
                again (as a shop that ignores ``offset`` would, forever).
        """
        if page_size < 1:
            msg = f"page_size must be at least 1, got {page_size}"
            raise ValueError(msg)
        return self._pages(self._filters(since, status), page_size)

    def iter_order_documents(
        self,
        *,
        since: datetime | None = None,
        status: int | None = None,
        page_size: int = 250,
    ) -> Iterator[Any]:
        """Like :meth:`iter_orders`, but yields each order as the shop sent it, unloaded.

        For flows that must go on past an order that does not load (and quarantine it):
        load each document with :func:`bexvendre_mapping.vendre.load_order` yourself.

        Raises:
            HttpError: a request failed.
            ResponseError: a page is not ``{"list": [...], "remaining": N}``.
        """
        if page_size < 1:
            msg = f"page_size must be at least 1, got {page_size}"
            raise ValueError(msg)
        return (item for _, _, item in self._raw_pages(self._filters(since, status), page_size))

    def _filters(self, since: datetime | None, status: int | None) -> dict[str, str | int]:
        params: dict[str, str | int] = {}
        if since is not None:
            params[self.endpoints.since_param] = wall_clock_from(since, self._transport.time_zone)
        if status is not None:
            params[self.endpoints.status_param] = status
        return params

    def _pages(self, filters: dict[str, str | int], page_size: int) -> Iterator[vendre.Order]:
        for reply, index, item in self._raw_pages(filters, page_size):
            yield reply.load(vendre.load_order, item, f"$.list[{index}]")

    def _raw_pages(
        self, filters: dict[str, str | int], page_size: int
    ) -> Iterator[tuple[Reply, int, Any]]:
        offset = 0
        previous: list[Any] | None = None
        while True:
            params = {**filters, "page_size": page_size, "offset": offset}
            reply = self._transport.request("GET", self.endpoints.orders, params=params)
            page = reply.document()
            items = reply.field(page, "list", list)
            remaining = reply.field(page, "remaining", int)
            if items == previous:
                # A shop that ignores offset would send this page forever.
                raise self._transport.response_error(
                    "the shop sent the previous page again (does it ignore offset?)",
                    reply,
                    MappingError(
                        [Problem("$.list", f"repeats the previous page, at offset {offset}")]
                    ),
                )
            for index, item in enumerate(items):
                yield reply, index, item
            if remaining <= 0:
                return
            if not items:
                raise self._transport.response_error(
                    "the shop reports orders remaining but sent an empty page",
                    reply,
                    MappingError([Problem("$.list", f"empty, with {remaining} remaining")]),
                )
            previous = items
            offset += len(items)

    def get_order(self, order_id: int) -> vendre.Order:
        """The order with id ``order_id`` (fetched with the ``ids`` filter).

        Raises:
            NotFound: the shop has no such order.
            ResponseError: the order does not load.
            HttpError: the request failed.
        """
        params: dict[str, str | int] = {
            self.endpoints.ids_param: order_id,
            "page_size": 1,
            "offset": 0,
        }
        reply = self._transport.request("GET", self.endpoints.orders, params=params)
        page = reply.document()
        items = reply.field(page, "list", list)
        for index, item in enumerate(items):
            order: vendre.Order = reply.load(vendre.load_order, item, f"$.list[{index}]")
            if order.id == order_id:
                return order
        raise NotFound(
            f"the shop has no order {order_id}",
            method=reply.method,
            url=reply.url,
            status=reply.status,
            body_excerpt=self._transport.excerpt(reply.content),
        )

    def update_order_status(self, update: vendre.OrderStatusUpdate) -> None:
        """Set an order's status (``PUT`` of the update to :attr:`VendreEndpoints.order_status`).

        Raises:
            NotFound: the shop has no such order.
            RequestRejected: the shop refused the update.
            HttpError: the request failed.
        """
        path = self.endpoints.order_status.format(order_id=path_part(update.id))
        body = vendre.dumps_order_status_update(update, time_zone=self._transport.time_zone)
        self._transport.request("PUT", path, body=body)

    # --- catalogue and stock --------------------------------------------------------------

    def upsert_products(
        self, products: Iterable[vendre.Product], *, chunk_size: int | None = None
    ) -> int:
        """Create or update products, keyed by ``article_number``, in bounded chunks.

        ``products`` is read lazily, one chunk at a time, so a generator over a whole
        catalogue never sits in memory at once. Each chunk is one ``PUT`` of a JSON array;
        a chunk that fails stops the upload, and the chunks before it stay applied (sending
        them again is harmless: an upsert is idempotent).

        Args:
            products: the products.
            chunk_size: products per request (default: the client's ``chunk_size``).

        Returns:
            How many products were sent.

        Raises:
            RequestRejected: the shop refused a chunk (e.g. 400 with its problems).
            HttpError: a request failed.
        """
        return self._put_chunks(self.endpoints.products, products, vendre.dumps_product, chunk_size)

    def update_stock(
        self, updates: Iterable[vendre.StockUpdate], *, chunk_size: int | None = None
    ) -> int:
        """Set stock levels of variants, keyed by ``article_number``, in bounded chunks.

        Read lazily and sent like :meth:`upsert_products`.

        Args:
            updates: the stock updates.
            chunk_size: updates per request (default: the client's ``chunk_size``).

        Returns:
            How many updates were sent.

        Raises:
            RequestRejected: the shop refused a chunk.
            HttpError: a request failed.
        """
        return self._put_chunks(
            self.endpoints.stock, updates, vendre.dumps_stock_update, chunk_size
        )

    def _put_chunks(
        self,
        path: str,
        models: Iterable[M],
        dumps: Callable[..., bytes],
        chunk_size: int | None,
    ) -> int:
        sent = 0
        zone = self._transport.time_zone
        for chunk in chunks(models, self.chunk_size if chunk_size is None else chunk_size):
            body = json_array(dumps(model, time_zone=zone) for model in chunk)
            self._transport.request("PUT", path, body=body)
            sent += len(chunk)
        return sent
