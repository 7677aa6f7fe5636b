"""The sandbox's Vendre API: orders to fetch; products, stock and order statuses arriving."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from bexvendre_mapping import vendre
from bexvendre_mapping._errors import MappingError, Problem
from bexvendre_mapping._wire import parse_document
from bexvendre_mapping.testing._sandbox_server import Api, ApiError, json_response, same_secret

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

    from bexvendre_mapping.http import VendreEndpoints

__all__ = ["VendreApi"]


@attrs.define
class _StoredOrder:
    document: dict[str, Any]
    date_added: datetime


class VendreApi(Api):
    """Vendre's REST API at ``/API/1``, per :class:`~bexvendre_mapping.http.VendreEndpoints`.

    Accepts the key as ``X-Authorization: <key>`` or ``Authorization: Bearer <key>``.
    Documents that arrive are loaded with the library's loaders (strictly: unknown keys are
    refused) and stored in their canonical wire form.
    """

    system: ClassVar[str] = "vendre"

    def __init__(
        self,
        *,
        api_key: str,
        endpoints: VendreEndpoints,
        max_page_size: int | None,
        **common: Any,
    ) -> None:
        self.api_key = api_key
        self.endpoints = endpoints
        self.max_page_size = max_page_size
        self.orders: dict[int, _StoredOrder] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.stock: dict[str, dict[str, Any]] = {}
        self.status_updates: list[dict[str, Any]] = []
        super().__init__(**common)

    def rules(self) -> list[tuple[str, str, str]]:
        """The routes, from the endpoints."""
        status_path = self.endpoints.order_status.replace("{order_id}", "<int:order_id>")
        return [
            ("GET", self.endpoints.orders, "list_orders"),
            ("PUT", status_path, "put_order_status"),
            ("PUT", self.endpoints.products, "put_products"),
            ("PUT", self.endpoints.stock, "put_stock"),
        ]

    def authorized(self, request: Request) -> bool:
        """The key in ``X-Authorization``, or as a bearer token."""
        if same_secret(request.headers.get("X-Authorization"), self.api_key):
            return True
        return same_secret(request.headers.get("Authorization"), f"Bearer {self.api_key}")

    def clear(self) -> None:
        """Forget every document."""
        self.orders.clear()
        self.products.clear()
        self.stock.clear()
        self.status_updates.clear()

    # --- seeding --------------------------------------------------------------------------

    def add_order(self, order: vendre.Order) -> dict[str, Any]:
        """Store an order (replacing one with the same id)."""
        document = vendre.dump_order(order, time_zone=self.zone_name)
        self.orders[order.id] = _StoredOrder(document, order.date_added)
        return document

    def add_document(
        self, document: dict[str, Any], order_id: int, date_added: datetime
    ) -> dict[str, Any]:
        """Store an order document as it is, valid or not (replacing one with the same id)."""
        self.orders[order_id] = _StoredOrder(document, date_added)
        return document

    # --- handlers -------------------------------------------------------------------------

    def list_orders(self, request: Request) -> Response:
        """``GET orders``: paged with ``page_size``/``offset``; filters ids, status, since."""
        page_size = self.int_param(request, "page_size", 250, minimum=1)
        if self.max_page_size is not None:
            page_size = min(page_size, self.max_page_size)
        offset = self.int_param(request, "offset", 0)
        matching = sorted(self.orders.items())
        ids_text = request.args.get(self.endpoints.ids_param)
        if ids_text is not None:
            try:
                ids = {int(part) for part in ids_text.split(",") if part.strip()}
            except ValueError:
                raise ApiError(400, f"ids must be integers, got {ids_text!r}") from None
            matching = [(key, stored) for key, stored in matching if key in ids]
        status = request.args.get(self.endpoints.status_param)
        if status is not None:
            wanted = self.int_param(request, self.endpoints.status_param, 0)
            matching = [
                (key, stored) for key, stored in matching if stored.document.get("status") == wanted
            ]
        since = self.datetime_param(request, self.endpoints.since_param)
        if since is not None:
            matching = [
                (key, stored) for key, stored in matching if self.wall(stored.date_added) >= since
            ]
        page = matching[offset : offset + page_size]
        remaining = max(0, len(matching) - offset - len(page))
        return json_response(
            {"list": [stored.document for _, stored in page], "remaining": remaining}
        )

    def put_order_status(self, request: Request, order_id: int) -> Response:
        """``PUT orders/<id>/status`` with an ``OrderStatusUpdate``."""
        try:
            update = vendre.load_order_status_update(
                request.get_data(), strict=True, time_zone=self.zone_name
            )
        except MappingError as exc:
            raise ApiError.invalid(exc) from None
        if update.id != order_id:
            raise ApiError(400, f"the update is for order {update.id}, the URL for {order_id}")
        stored = self.orders.get(order_id)
        if stored is None:
            raise ApiError(404, f"no order {order_id}")
        stored.document["status"] = update.status
        document = vendre.dump_order_status_update(update)
        self.status_updates.append(document)
        return json_response(document)

    def put_products(self, request: Request) -> Response:
        """``PUT products`` with a JSON array of products, upserted by ``article_number``."""
        products = self._load_array(request, vendre.load_product)
        for product in products:
            self.products[product.article_number] = vendre.dump_product(
                product, time_zone=self.zone_name
            )
        return json_response({"count": len(products)})

    def put_stock(self, request: Request) -> Response:
        """``PUT stock`` with a JSON array of stock updates, keyed by ``article_number``."""
        updates = self._load_array(request, vendre.load_stock_update)
        for update in updates:
            self.stock[str(update.article_number)] = vendre.dump_stock_update(update)
        return json_response({"count": len(updates)})

    def _load_array(self, request: Request, loader: Any) -> list[Any]:
        # All or nothing: every problem of every item is reported, nothing is stored.
        try:
            items = parse_document(request.get_data())
        except MappingError as exc:
            raise ApiError.invalid(exc) from None
        if not isinstance(items, list):
            raise ApiError(400, "expected a JSON array")
        loaded: list[Any] = []
        problems: list[Problem] = []
        for index, item in enumerate(items):
            try:
                loaded.append(loader(item, strict=True, time_zone=self.zone_name))
            except MappingError as exc:
                problems.extend(ApiError.invalid(exc, f"$[{index}]").problems)
        if problems:
            raise ApiError(400, "documents do not load", problems)
        return loaded
