"""The sandbox's Vendre API (``/API/1``, SPEC §8): orders and products, in the real shapes.

Records are served as a real shop lists them: products with every key of a listed product,
dates as Unix epoch seconds (JSON integers), money as JSON numbers. Documents that arrive are
parsed exactly (numbers through ``Decimal``, never a float), checked with the library's
loaders, and refused with a 400 in Vendre's error shape,
``{"errors": [{"status", "code", "title", "detail", "source": {"parameter"}}]}``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from bexvendre_mapping import vendre
from bexvendre_mapping._dates import time_zone
from bexvendre_mapping._errors import MappingError, Problem
from bexvendre_mapping._wire import parse_document
from bexvendre_mapping.testing._sandbox_server import Api, ApiError, json_response, same_secret

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

    from bexvendre_mapping.http import VendreEndpoints

__all__ = ["PLACEHOLDER_BASE", "VendreApi", "epoch_seconds", "plain"]

#: The base URL of products' ``actions`` before the sandbox has a port.
PLACEHOLDER_BASE = "http://sandbox.invalid/API/1/"

# What each status is called in an error's "code".
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "too_many_requests",
}

# The keys a product of the model may be given in; the rest of a record is the shop's own.
_MODEL_KEYS = frozenset(field.name for field in attrs.fields(vendre.Product))
# A create must give these (the model has no default for them).
_REQUIRED = ("article_number", "name", "price", "tax_class_id")
# Texts by language that a listed product carries besides its name.
_TEXTS = ("description", "description_short", "meta_title", "meta_description", "meta_keywords")
_DATES = ("date_added", "date_modified")


def epoch_seconds(moment: datetime, zone_name: str) -> int:
    """``moment`` as Unix epoch seconds (a naive one is the shop's wall clock)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=time_zone(zone_name))
    return int(moment.timestamp())


def plain(value: Any) -> Any:
    """``value`` as JSON types: dicts with text keys, lists, text, numbers, booleans, None.

    ``Decimal`` amounts stay ``Decimal`` (written as numbers); anything else is its text.
    """
    if value is None or isinstance(value, str | bool | int | Decimal):
        return value
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return str(value)


def _route(template: str) -> str:
    """A werkzeug rule: ``orders/{id}`` → ``orders/<int:record_id>``."""
    return template.replace("{id}", "<int:record_id>").replace("{order_id}", "<int:order_id>")


def _parameter(path: str) -> str | None:
    """A problem's JSON path as the field it names: ``$.warehouses[0].quantity`` → ``warehouses[0].quantity``."""  # noqa: E501
    if path == "$":
        return None
    return path[2:] if path.startswith("$.") else path[1:]


def _now() -> int:
    return int(time.time())


@attrs.define
class _StoredOrder:
    document: dict[str, Any]
    date_added: datetime


class VendreApi(Api):
    """Vendre's REST API at ``/API/1``, per :class:`~bexvendre_mapping.http.VendreEndpoints`.

    Accepts the key as ``X-Authorization: <key>`` or ``Authorization: Bearer <key>``.
    Products are held as full records by id; orders as the documents the shop serves.
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
        self.products: dict[int, dict[str, Any]] = {}
        self.stock_saved: set[int] = set()
        self.status_updates: list[dict[str, Any]] = []
        self.next_product_id = 1
        #: The base URL products' ``actions`` name; the sandbox sets it when it starts.
        self.public_base = PLACEHOLDER_BASE
        super().__init__(**common)

    def rules(self) -> list[tuple[str, str, str]]:
        """The routes, from the endpoints."""
        e = self.endpoints
        rules = [
            ("GET", e.orders, "list_orders"),
            ("GET", _route(e.order), "get_order"),
            ("PUT", _route(e.order_status), "put_order_status"),
            ("GET", e.products, "list_products"),
            ("GET", _route(e.product), "get_product"),
            (e.create_method, e.product_create, "create_product"),
            (e.save_method, _route(e.product), "save_product"),
            # A product's save URL takes a POST too.
            ("POST", _route(e.product), "save_product"),
        ]
        unique: list[tuple[str, str, str]] = []
        for rule in rules:
            if all(rule[:2] != kept[:2] for kept in unique):
                unique.append(rule)
        return unique

    def authorized(self, request: Request) -> bool:
        """The key in ``X-Authorization``, or as a bearer token."""
        if same_secret(request.headers.get("X-Authorization"), self.api_key):
            return True
        return same_secret(request.headers.get("Authorization"), f"Bearer {self.api_key}")

    def error_response(self, error: ApiError, headers: Mapping[str, str] | None = None) -> Response:
        """Vendre's shape: ``{"errors": [{"status", "code", "title", "detail", "source"}]}``.

        One entry per problem (its field as ``source.parameter``), or one for the error.
        """
        status = str(error.status)
        code = _CODES.get(error.status, "server_error" if error.status >= 500 else "error")
        entries: list[dict[str, Any]] = []
        for problem in error.problems:
            entry: dict[str, Any] = {
                "status": status,
                "code": "invalid_value",
                "title": error.message,
                "detail": problem.message,
            }
            parameter = _parameter(problem.path)
            if parameter is not None:
                entry["source"] = {"parameter": parameter}
            entries.append(entry)
        if not entries:
            entry = {"status": status, "code": code, "title": error.message}
            if error.parameter is not None:
                entry["source"] = {"parameter": error.parameter}
            entries.append(entry)
        return json_response({"errors": entries}, error.status, headers)

    def clear(self) -> None:
        """Forget every document."""
        self.orders.clear()
        self.products.clear()
        self.stock_saved.clear()
        self.status_updates.clear()
        self.next_product_id = 1

    # --- seeding --------------------------------------------------------------------------

    def add_order(self, order: vendre.Order) -> dict[str, Any]:
        """Store an order (replacing one with the same id), dates as epoch seconds."""
        document = vendre.dump_order(order, time_zone=self.zone_name)
        document["date_added"] = epoch_seconds(order.date_added, self.zone_name)
        document["payment"]["date_added"] = epoch_seconds(order.payment.date_added, self.zone_name)
        self.orders[order.id] = _StoredOrder(document, order.date_added)
        return document

    def add_document(
        self, document: dict[str, Any], order_id: int, date_added: datetime
    ) -> dict[str, Any]:
        """Store an order document as it is, valid or not (replacing one with the same id)."""
        self.orders[order_id] = _StoredOrder(document, date_added)
        return document

    def add_product(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Store a product record (replacing one with the same id), checked and completed.

        Keys the records do not have are kept as given (a real record has more).

        Raises:
            MappingError: the product does not load.
        """
        given = dict(document)
        product_id = given.get("id")
        if product_id is None:
            product_id = self._new_id()
        elif type(product_id) is not int or product_id < 1:
            raise MappingError(f"expected an id of at least 1, got {product_id!r}", path="$.id")
        given["id"] = product_id
        product = vendre.load_product(given, time_zone=self.zone_name)
        old = self.products.get(product_id)
        record = self._new_record(product_id) if old is None else copy.deepcopy(old)
        self._merge(record, given, product)
        self._store(record, old)
        self.next_product_id = max(self.next_product_id, product_id + 1)
        return record

    def record(self, stored: dict[str, Any]) -> dict[str, Any]:
        """A stored product as the API serves it: with its ``actions``."""
        url = f"{self.public_base}products/{stored['id']}"
        actions = {"product_url": url, "product_save_url": url, "product_delete_url": url}
        return {**stored, "actions": actions}

    def stock(self) -> list[dict[str, Any]]:
        """The stock of the products whose stock arrived through the API, by id."""
        return [
            {
                "id": product_id,
                "article_number": self.products[product_id]["article_number"],
                "quantity": self.products[product_id]["quantity"],
                "status": self.products[product_id]["status"],
                "warehouses": self.products[product_id]["warehouses"],
            }
            for product_id in sorted(self.stock_saved)
            if product_id in self.products
        ]

    # --- orders ---------------------------------------------------------------------------

    def list_orders(self, request: Request) -> Response:
        """``GET orders``: paged with ``page_size``/``offset``; filters ids, status, since."""
        matching = sorted(self.orders.items())
        ids = self._ids(request)
        if ids is not None:
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
        return self._page(request, [stored.document for _, stored in matching])

    def get_order(self, request: Request, record_id: int) -> Response:
        """``GET orders/<id>``: the order, or a 404."""
        del request
        stored = self.orders.get(record_id)
        if stored is None:
            raise ApiError(404, f"no order {record_id}")
        return json_response(stored.document)

    def put_order_status(self, request: Request, order_id: int) -> Response:
        """``PUT orders/<id>/status`` with an ``OrderStatusUpdate``."""
        try:
            update = vendre.load_order_status_update(
                request.get_data(), strict=True, time_zone=self.zone_name
            )
        except MappingError as exc:
            raise ApiError.invalid(exc) from None
        if update.id != order_id:
            raise ApiError(
                400, f"the update is for order {update.id}, the URL for {order_id}", parameter="id"
            )
        stored = self.orders.get(order_id)
        if stored is None:
            raise ApiError(404, f"no order {order_id}")
        stored.document["status"] = update.status
        document = vendre.dump_order_status_update(update)
        self.status_updates.append(document)
        return json_response(document)

    # --- products -------------------------------------------------------------------------

    def list_products(self, request: Request) -> Response:
        """``GET products``: every record by id, paged; the ``ids`` filter."""
        ids = self._ids(request)
        records = [
            self.record(stored)
            for product_id, stored in sorted(self.products.items())
            if ids is None or product_id in ids
        ]
        return self._page(request, records)

    def get_product(self, request: Request, record_id: int) -> Response:
        """``GET products/<id>``: the record, or a 404."""
        del request
        return json_response(self.record(self._product(record_id)))

    def create_product(self, request: Request) -> Response:
        """Create a product: the shop assigns the id; answers the record, 201."""
        given = self._body(request)
        if "id" in given:
            raise ApiError(400, "the shop assigns a new product's id", parameter="id")
        problems = [
            Problem(f"$.{key}", "required field is missing")
            for key in _REQUIRED
            if key not in given
        ]
        if problems:
            raise ApiError(400, "the product is incomplete", problems)
        product_id = self._new_id()
        record = self._new_record(product_id)
        product = self._check(record, given)
        self._merge(record, given, product)
        self._store(record, None)
        self._note_stock(product_id, given)
        return json_response(self.record(record), 201)

    def save_product(self, request: Request, record_id: int) -> Response:
        """Save the given keys over product ``<id>``; answers the record."""
        old = self._product(record_id)
        given = self._body(request)
        if given.get("id", record_id) != record_id:
            raise ApiError(
                400,
                f"the body is for product {given['id']!r}, the URL for {record_id}",
                parameter="id",
            )
        record = copy.deepcopy(old)
        product = self._check(record, given)
        self._merge(record, given, product)
        self._store(record, old)
        self._note_stock(record_id, given)
        return json_response(self.record(record))

    def _product(self, product_id: int) -> dict[str, Any]:
        stored = self.products.get(product_id)
        if stored is None:
            raise ApiError(404, f"no product {product_id}")
        return stored

    def _body(self, request: Request) -> dict[str, Any]:
        """The request's JSON object, parsed exactly; keys a record does not have refused."""
        try:
            body = parse_document(request.get_data())
        except MappingError as exc:
            raise ApiError.invalid(exc) from None
        if not isinstance(body, dict):
            raise ApiError(400, "expected a JSON object")
        known = set(self._new_record(0)) | {"id"}
        unknown = [
            Problem(f"$.{key}", f"unknown field {key!r}") for key in body if key not in known
        ]
        if unknown:
            raise ApiError(400, "the product has fields a product does not have", unknown)
        return body

    def _check(self, record: dict[str, Any], given: Mapping[str, Any]) -> vendre.Product:
        """The product ``record`` becomes with ``given`` over it, checked by the loader."""
        merged = {**record, **given}
        try:
            product = vendre.load_product(merged, time_zone=self.zone_name)
        except MappingError as exc:
            raise ApiError.invalid(exc) from None
        parent = product.parent or 0
        if parent and (parent == record["id"] or parent not in self.products):
            raise ApiError(400, f"no parent product {parent}", parameter="parent")
        return product

    def _note_stock(self, product_id: int, given: Mapping[str, Any]) -> None:
        if "quantity" in given or "warehouses" in given:
            self.stock_saved.add(product_id)

    # --- records --------------------------------------------------------------------------

    def _new_id(self) -> int:
        product_id = self.next_product_id
        self.next_product_id += 1
        return product_id

    def _new_record(self, product_id: int) -> dict[str, Any]:
        """A product record with every key of a listed product, the required ones empty."""
        now = _now()
        return {
            "id": product_id,
            "article_number": "",
            "ean1": "",
            "external_id": "",
            "name": {},
            **{key: {} for key in _TEXTS},
            "price": Decimal(0),
            "price_in": None,
            "price_rek": None,
            "price_special": None,
            "tax_class_id": 0,
            "category_ids": [],
            "category_paths": [],
            "manufacturer_id": None,
            "manufacturer_name": None,
            "manufacturer_model": "",
            "quantity": 0,
            "warehouses": [],
            "status": True,
            "show": True,
            "stock_allow_checkout": None,
            "inactivate_stock_under_zero": None,
            "type": "st",
            "parent": 0,
            "is_parent": False,
            "child_product_ids": [],
            "variants": {},
            "variant_products": {},
            "images": [],
            "customer_groups": [],
            "extra": {},
            "specifications": [],
            "tag_ids": [],
            "weight": 0,
            "sort_order": 0,
            "ordered": 0,
            "date_added": now,
            "date_modified": now,
            "date_available": None,
        }

    def _merge(
        self, record: dict[str, Any], given: Mapping[str, Any], product: vendre.Product
    ) -> None:
        """Put ``given`` into ``record``: the model's keys as the shop writes them."""
        dumped = vendre.dump_product(product, time_zone=self.zone_name)
        for key, value in given.items():
            if key == "id":
                continue
            if key == "warehouses":
                self._merge_warehouses(record, value, product)
            elif key in _DATES:
                moment = getattr(product, key)
                record[key] = None if moment is None else epoch_seconds(moment, self.zone_name)
            elif key in _MODEL_KEYS:
                record[key] = dumped.get(key)
            else:
                record[key] = plain(value)
        if "category_ids" in given and "category_paths" not in given:
            record["category_paths"] = [str(category) for category in record["category_ids"]]
        for key in _TEXTS:
            if key not in given and isinstance(record[key], dict):
                # Every language of the name, empty unless the shop has a text.
                record[key] = {**dict.fromkeys(record["name"], ""), **record[key]}
        if record["parent"] is None:
            record["parent"] = 0
        if "date_modified" not in given:
            record["date_modified"] = _now()

    def _merge_warehouses(
        self, record: dict[str, Any], given: Any, product: vendre.Product
    ) -> None:
        """Warehouses given update the ones with the same ``external_id``; others stay.

        A warehouse given without ``location`` keeps the one it had.
        """
        if not isinstance(given, list):  # null: nothing to change
            return
        held = {w["external_id"]: w for w in record["warehouses"]}
        for entry, warehouse in zip(given, product.warehouses or (), strict=True):
            updated = dict(held.get(warehouse.external_id, {"location": None}))
            updated.update(external_id=warehouse.external_id, quantity=warehouse.quantity)
            if "location" in entry:
                updated["location"] = warehouse.location
            held[warehouse.external_id] = {
                "external_id": updated["external_id"],
                "quantity": updated["quantity"],
                "location": updated["location"],
            }
        record["warehouses"] = list(held.values())

    def _store(self, record: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Store ``record``, linking it under its parent (and off its old one)."""
        product_id = record["id"]
        old_parent = 0 if old is None else old["parent"]
        new_parent = record["parent"]
        if old_parent and old_parent != new_parent and old_parent in self.products:
            former = self.products[old_parent]
            former["child_product_ids"] = [
                c for c in former["child_product_ids"] if c != product_id
            ]
            former["is_parent"] = bool(former["child_product_ids"])
        if new_parent and new_parent in self.products:
            parent = self.products[new_parent]
            if product_id not in parent["child_product_ids"]:
                parent["child_product_ids"].append(product_id)
            parent["is_parent"] = True
        self.products[product_id] = record

    # --- shared ---------------------------------------------------------------------------

    def _ids(self, request: Request) -> set[int] | None:
        text = request.args.get(self.endpoints.ids_param)
        if text is None:
            return None
        try:
            return {int(part) for part in text.split(",") if part.strip()}
        except ValueError:
            raise ApiError(
                400, f"ids must be integers, got {text!r}", parameter=self.endpoints.ids_param
            ) from None

    def _page(self, request: Request, items: list[Any]) -> Response:
        page_size = self.int_param(request, "page_size", 250, minimum=1)
        if self.max_page_size is not None:
            page_size = min(page_size, self.max_page_size)
        offset = self.int_param(request, "offset", 0)
        page = items[offset : offset + page_size]
        remaining = max(0, len(items) - offset - len(page))
        return json_response({"list": page, "remaining": remaining})
