"""The Vendre REST client (SPEC §8): orders in; products, stock and order statuses out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import attrs

from bexvendre_mapping import vendre
from bexvendre_mapping._dates import DEFAULT_TIME_ZONE, time_zone
from bexvendre_mapping._errors import MappingError, Problem
from bexvendre_mapping._text import has_control_character
from bexvendre_mapping._wire import dumps_json, parse_document
from bexvendre_mapping.http._transport import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    BaseClient,
    Reply,
    RetryPolicy,
    Timeout,
    Transport,
    path_part,
    wall_clock_from,
)

if TYPE_CHECKING:
    import requests

__all__ = ["VendreClient", "VendreEndpoints"]

#: The wire keys of a product (its attributes: Vendre's keys are English already).
PRODUCT_KEYS = frozenset(field.name for field in attrs.fields(vendre.Product))

# Keys the shop keeps itself: sent only when named in save_product's fields.
_SHOP_KEYS = frozenset({"date_added", "date_modified"})

_SAVE_METHODS = frozenset({"PUT", "POST", "PATCH"})
_CREATE_METHODS = frozenset({"POST", "PUT"})


def _upper(value: str) -> str:
    return str(value).upper()


def _method(allowed: frozenset[str]) -> Any:
    def check(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in allowed:
            msg = f"{attribute.name} must be one of {sorted(allowed)}, got {value!r}"
            raise ValueError(msg)

    return check


@attrs.frozen(kw_only=True)
class VendreEndpoints:
    """Paths (relative to the shop's ``/API/1`` base URL), methods and query parameter names.

    Vendre documents ``GET <resource>`` (paged with ``page_size``/``offset``, filtered by
    ``ids``) and ``GET <resource>/{id}``, and each product names ``products/{id}`` as its
    save URL. How a product is created and which method saves one are not public: the
    defaults (``POST products``, ``PUT products/{id}``) are this library's, which the sandbox
    serves. Override any of them to match a shop::

        VendreEndpoints(save_method="POST", since_param="updated_from")

    ``{id}`` and ``{order_id}`` are replaced by the URL-quoted id.

    Attributes:
        orders: ``GET``, paged: ``{"list": [...], "remaining": N}``.
        order: ``GET`` of one order by ``{id}``; 404 when there is none.
        order_status: ``PUT`` of an ``OrderStatusUpdate``; ``{order_id}`` is replaced.
        products: ``GET``, paged like ``orders``.
        product: ``GET`` of one product by ``{id}``; also where a product is saved.
        product_create: where a new product is created (:attr:`create_method`).
        save_method: the method that saves an existing product at :attr:`product`:
            ``PUT`` (the default), ``POST`` or ``PATCH``.
        create_method: the method that creates a product at :attr:`product_create`:
            ``POST`` (the default) or ``PUT``.
        since_param: the orders filter "placed at or after", a wall-clock date-time
            ``YYYY-MM-DD HH:MM:SS`` in the shop's time zone.
        status_param: the orders filter by status id.
        ids_param: the lists' filter by ids, comma-separated.
    """

    orders: str = "orders"
    order: str = "orders/{id}"
    order_status: str = "orders/{order_id}/status"
    products: str = "products"
    product: str = "products/{id}"
    product_create: str = "products"
    save_method: str = attrs.field(
        default="PUT", converter=_upper, validator=_method(_SAVE_METHODS)
    )
    create_method: str = attrs.field(
        default="POST", converter=_upper, validator=_method(_CREATE_METHODS)
    )
    since_param: str = "date_added_from"
    status_param: str = "status"
    ids_param: str = "ids"


class VendreClient(BaseClient):
    """A client of one shop's Vendre REST API (``/API/1``).

    Every request has a connect and a read timeout; GETs and PUTs are retried on connection
    errors, timeouts, 429 and 502/503/504 (see :class:`RetryPolicy`), and a server that
    announces ``RateLimit-Remaining: 0`` is given its ``RateLimit-Reset`` before the next
    request. Reads, saves of a product by id (with the default ``PUT``) and status updates
    may be repeated; a create (``POST``) is never repeated by the client. Documents the shop
    sends are loaded with the library's loaders; one that does not load raises
    :class:`ResponseError` carrying the ``MappingError``.

    Args:
        base_url: the API's base, ``https://<shop-domain>/API/1``.
        api_key: the shop's API key.
        auth: how the key is sent: ``"x-authorization"`` (``X-Authorization: <key>``, the
            default) or ``"bearer"`` (``Authorization: Bearer <key>``).
        endpoints: paths, methods and parameter names, see :class:`VendreEndpoints`.
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
        strict: reject documents with keys the wire format does not define (a real
            shop's records carry many more keys than the models: leave it off for them).

    Raises:
        ValueError: ``api_key`` is empty or holds a control character (a line break read
            along with it, say), ``auth`` is unknown, ``base_url`` is not an http(s) URL or
            holds a user name or password (credentials go in ``api_key``), or an option is
            out of range.

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
        self.auth = auth
        self.endpoints = endpoints or VendreEndpoints()
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
            ValueError: ``page_size`` is below 1 (at once, not when iterating).
            HttpError: a request failed.
            ResponseError: a page or an order in it does not load (the ``mapping_error``
                paths point into the page, e.g. ``$.list[3].products[0].model``), or the
                shop reports orders remaining but sends an empty page or the previous page
                again (as a shop that ignores ``offset`` would, forever).
        """
        pages = self._raw_pages(
            self.endpoints.orders, self._filters(since, status), page_size, "orders"
        )
        return (
            reply.load(vendre.load_order, item, f"$.list[{index}]") for reply, index, item in pages
        )

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
            ValueError: ``page_size`` is below 1.
            HttpError: a request failed.
            ResponseError: a page is not ``{"list": [...], "remaining": N}``.
        """
        pages = self._raw_pages(
            self.endpoints.orders, self._filters(since, status), page_size, "orders"
        )
        return (item for _, _, item in pages)

    def get_order(self, order_id: int) -> vendre.Order:
        """The order with id ``order_id`` (``GET orders/{id}``).

        Raises:
            NotFound: the shop has no such order (404).
            ResponseError: the order does not load.
            HttpError: the request failed.
        """
        reply = self._get_one(self.endpoints.order, order_id)
        order: vendre.Order = reply.load(vendre.load_order, reply.document())
        return order

    def get_order_document(self, order_id: int) -> Any:
        """Like :meth:`get_order`, but the order as the shop sent it, unloaded (a dict).

        Raises:
            NotFound: the shop has no such order (404).
            ResponseError: the answer is not JSON.
            HttpError: the request failed.
        """
        return self._get_one(self.endpoints.order, order_id).document()

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

    def _filters(self, since: datetime | None, status: int | None) -> dict[str, str | int]:
        params: dict[str, str | int] = {}
        if since is not None:
            params[self.endpoints.since_param] = wall_clock_from(since, self._transport.time_zone)
        if status is not None:
            params[self.endpoints.status_param] = status
        return params

    # --- products -------------------------------------------------------------------------

    def iter_products(self, *, page_size: int = 250) -> Iterator[vendre.Product]:
        """Every product of the shop (parents, their sizes and single products), paged.

        Paged like :meth:`iter_orders`. Group a listing into parents with their sizes with
        :func:`bexvendre_mapping.vendre.families`.

        Raises:
            ValueError: ``page_size`` is below 1 (at once, not when iterating).
            HttpError: a request failed.
            ResponseError: a page or a product in it does not load (paths point into the
                page, e.g. ``$.list[3].price``), or the paging goes wrong as described
                for :meth:`iter_orders`.
        """
        pages = self._raw_pages(self.endpoints.products, {}, page_size, "products")
        return (
            reply.load(vendre.load_product, item, f"$.list[{index}]")
            for reply, index, item in pages
        )

    def iter_product_documents(self, *, page_size: int = 250) -> Iterator[Any]:
        """Like :meth:`iter_products`, but yields each product as the shop sent it, unloaded.

        For flows that must go on past a product that does not load: load each document
        with :func:`bexvendre_mapping.vendre.load_product` yourself.

        Raises:
            ValueError: ``page_size`` is below 1.
            HttpError: a request failed.
            ResponseError: a page is not ``{"list": [...], "remaining": N}``.
        """
        pages = self._raw_pages(self.endpoints.products, {}, page_size, "products")
        return (item for _, _, item in pages)

    def get_product(self, product_id: int) -> vendre.Product:
        """The product with id ``product_id`` (``GET products/{id}``).

        Raises:
            NotFound: the shop has no such product (404).
            ResponseError: the product does not load.
            HttpError: the request failed.
        """
        reply = self._get_one(self.endpoints.product, product_id)
        product: vendre.Product = reply.load(vendre.load_product, reply.document())
        return product

    def save_product(
        self, product: vendre.Product, *, fields: Iterable[str] | None = None
    ) -> vendre.Product:
        """Create ``product`` (its ``id`` is ``None``) or save it over the shop's product ``id``.

        A create is :attr:`VendreEndpoints.create_method` (``POST``) at
        :attr:`VendreEndpoints.product_create` (``products``); a save is
        :attr:`VendreEndpoints.save_method` (``PUT``) at :attr:`VendreEndpoints.product`
        (``products/{id}``). The body is :func:`vendre.dump_product` as JSON (money as
        numbers) without ``id`` (it is in the URL, or the shop assigns it), without the
        fields that are ``None`` (so a converted product never overwrites the shop's stock,
        visibility or ids), and without ``date_added``/``date_modified``, which the shop
        keeps. ``fields`` restricts the body to those wire keys (a date named there is sent
        as Unix epoch seconds).

        A save by ``PUT`` is retried like a read; a create is never repeated by the client:
        after a failure without a clear answer (a lost response, a timeout) the product
        may exist, so list the products (:meth:`iter_product_documents`) before creating
        it again.

        Args:
            product: the product.
            fields: only these wire keys of the product are sent (e.g. ``["price"]``).

        Returns:
            The product as the shop answered with it; when the answer holds no product
            (an empty body, or only ``{"id": ...}``), ``product`` with the shop's id.

        Raises:
            ValueError: ``fields`` names a key a product does not have.
            MappingError: the product holds what the wire cannot take.
            NotFound: a save of a product the shop does not have (404).
            RequestRejected: the shop refused the product (its ``errors`` say why).
            ResponseError: the answer does not load, or a create's answer has no id.
            HttpError: the request failed.
        """
        body = self._product_body(product, fields)
        if product.id is None:
            method, path = self.endpoints.create_method, self.endpoints.product_create
        else:
            method = self.endpoints.save_method
            path = self.endpoints.product.format(id=path_part(product.id))
        reply = self._transport.request(method, path, body=dumps_json(body))
        return self._saved(reply, product)

    def save_stock(self, product_id: int, update: vendre.StockUpdate) -> None:
        """Set a product's stock: its ``quantity``, and its warehouse's when one is named.

        Stock in Vendre is the (child) product's ``quantity`` and ``warehouses[].quantity``:
        this saves ``{"quantity": q, "status": bool(status)}`` at
        :attr:`VendreEndpoints.product`, plus ``"warehouses": [{"external_id":
        update.warehouse, "quantity": q}]`` when ``update.warehouse`` is set. Only that one
        warehouse is sent.

        Args:
            product_id: the shop's id of the product (the size) whose stock it is.
            update: the stock level; its ``article_number`` is not sent.

        Raises:
            NotFound: the shop has no such product (404).
            RequestRejected: the shop refused the update.
            HttpError: the request failed.
        """
        body: dict[str, Any] = {"quantity": update.quantity, "status": bool(update.status)}
        if update.warehouse is not None:
            body["warehouses"] = [{"external_id": update.warehouse, "quantity": update.quantity}]
        path = self.endpoints.product.format(id=path_part(product_id))
        self._transport.request(self.endpoints.save_method, path, body=dumps_json(body))

    def _product_body(
        self, product: vendre.Product, fields: Iterable[str] | None
    ) -> dict[str, Any]:
        zone = self._transport.time_zone
        document = vendre.dump_product(product, time_zone=zone)
        document.pop("id", None)
        if fields is None:
            return {k: v for k, v in document.items() if k not in _SHOP_KEYS}
        wanted = set(fields)
        unknown = sorted(wanted - PRODUCT_KEYS)
        if unknown:
            msg = f"fields names keys a product does not have: {', '.join(unknown)}"
            raise ValueError(msg)
        body = {k: v for k, v in document.items() if k in wanted}
        for key in _SHOP_KEYS & wanted:
            moment = getattr(product, key)
            if moment is not None:
                body[key] = _epoch(moment, zone)
        return body

    def _saved(self, reply: Reply, product: vendre.Product) -> vendre.Product:
        """The product the shop answered a save or a create with.

        An answer that is not JSON (``OK``, say) holds no product; one that has the keys of a
        product must load.
        """
        try:
            document = parse_document(reply.content) if reply.content.strip() else None
        except MappingError:
            document = None
        if isinstance(document, Mapping) and "article_number" in document:
            saved: vendre.Product = reply.load(vendre.load_product, document)
            if saved.id is not None:
                return saved
        answered_id = document.get("id") if isinstance(document, Mapping) else None
        if type(answered_id) is int and answered_id >= 1:
            return attrs.evolve(product, id=answered_id)
        if product.id is not None:
            return product
        raise self._transport.response_error(
            "the shop's answer to a create does not say the new product's id",
            reply,
            MappingError([Problem("$.id", "required field is missing")]),
        )

    # --- shared ---------------------------------------------------------------------------

    def _get_one(self, template: str, record_id: int) -> Reply:
        return self._transport.request("GET", template.format(id=path_part(record_id)))

    def _raw_pages(
        self, path: str, filters: Mapping[str, str | int], page_size: int, what: str
    ) -> Iterator[tuple[Reply, int, Any]]:
        """Each item of each page of a ``{"list", "remaining"}`` listing (lazily).

        Raises:
            ValueError: ``page_size`` is below 1, at once.
        """
        if page_size < 1:
            msg = f"page_size must be at least 1, got {page_size}"
            raise ValueError(msg)
        return self._pages(path, filters, page_size, what)

    def _pages(
        self, path: str, filters: Mapping[str, str | int], page_size: int, what: str
    ) -> Iterator[tuple[Reply, int, Any]]:
        offset = 0
        previous: list[Any] | None = None
        while True:
            params = {**filters, "page_size": page_size, "offset": offset}
            reply = self._transport.request("GET", path, params=params)
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
                    f"the shop reports {what} remaining but sent an empty page",
                    reply,
                    MappingError([Problem("$.list", f"empty, with {remaining} remaining")]),
                )
            previous = items
            offset += len(items)


def _epoch(moment: datetime, zone_name: str) -> int:
    """``moment`` as Unix epoch seconds (a naive one is the shop's wall clock)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=time_zone(zone_name))
    return int(moment.timestamp())
