"""VendreClient against the sandbox and, for odd servers, pytest-httpserver (loopback only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from pytest_httpserver import HTTPServer
from tests.http_support import (
    PRODUCT_RECORD_KEYS,
    stock_update,
    vendre_order_doc,
    vendre_product,
    vendre_product_record,
)
from werkzeug.wrappers import Request, Response

from bexvendre_mapping import MappingError, vendre
from bexvendre_mapping._wire import dumps_json, parse_document
from bexvendre_mapping.http import (
    NotFound,
    RequestRejected,
    ResponseError,
    RetryPolicy,
    VendreClient,
    VendreEndpoints,
)
from bexvendre_mapping.testing.sandbox import Sandbox

STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


def order_calls(sandbox: Sandbox) -> list[str]:
    return [c.query for c in sandbox.calls("vendre") if c.path == "orders"]


# --- orders ---------------------------------------------------------------------------------


def test_iter_orders_follows_page_size_offset_and_remaining(sandbox: Sandbox) -> None:
    """Seven orders in pages of three take three requests, at offsets 0, 3 and 6."""
    for order_id in range(1, 8):
        sandbox.add_vendre_order(vendre_order_doc(order_id))
    client = sandbox.vendre_client()

    orders = list(client.iter_orders(page_size=3))

    assert [o.id for o in orders] == [1, 2, 3, 4, 5, 6, 7]
    assert all(isinstance(o, vendre.Order) for o in orders)
    assert order_calls(sandbox) == [
        "page_size=3&offset=0",
        "page_size=3&offset=3",
        "page_size=3&offset=6",
    ]


def test_iter_orders_is_lazy(sandbox: Sandbox) -> None:
    """No request is sent before the first order is asked for; one page per page."""
    for order_id in range(1, 5):
        sandbox.add_vendre_order(vendre_order_doc(order_id))
    orders = sandbox.vendre_client().iter_orders(page_size=2)

    assert order_calls(sandbox) == []
    assert next(orders).id == 1
    assert len(order_calls(sandbox)) == 1


def test_iter_orders_copes_with_a_shop_that_sends_smaller_pages() -> None:
    """A shop capping pages below page_size: the next offset is what was received."""
    with Sandbox(vendre_max_page_size=2) as sandbox:
        for order_id in range(1, 6):
            sandbox.add_vendre_order(vendre_order_doc(order_id))
        orders = list(sandbox.vendre_client().iter_orders(page_size=250))

        assert [o.id for o in orders] == [1, 2, 3, 4, 5]
        assert order_calls(sandbox) == [
            "page_size=250&offset=0",
            "page_size=250&offset=2",
            "page_size=250&offset=4",
        ]


def test_iter_orders_filters_by_since_and_status(sandbox: Sandbox) -> None:
    """since goes as the shop's wall clock; status as the status id."""
    sandbox.add_vendre_order(vendre_order_doc(1, date_added="2026-03-01 09:00:00", status=1))
    sandbox.add_vendre_order(vendre_order_doc(2, date_added="2026-03-02 09:00:00", status=3))
    sandbox.add_vendre_order(vendre_order_doc(3, date_added="2026-03-03 09:00:00", status=1))
    client = sandbox.vendre_client()

    since = datetime(2026, 3, 2, 8, 0, 0, 999, tzinfo=ZoneInfo("UTC"))  # 09:00 in Stockholm
    assert [o.id for o in client.iter_orders(since=since)] == [2, 3]
    assert [o.id for o in client.iter_orders(status=1)] == [1, 3]
    assert [o.id for o in client.iter_orders(since=since, status=1)] == [3]
    assert "date_added_from=2026-03-02+09%3A00%3A00" in order_calls(sandbox)[0]


def test_since_is_the_wall_clock_of_the_clients_time_zone() -> None:
    """A shop on Helsinki time gets the since filter on Helsinki's wall clock."""
    with Sandbox(time_zone="Europe/Helsinki") as helsinki:
        client = helsinki.vendre_client()
        list(client.iter_orders(since=datetime(2026, 3, 2, 8, 0, tzinfo=UTC)))
        (call,) = helsinki.calls("vendre")
    assert call.query.startswith("date_added_from=2026-03-02+10%3A00%3A00&")


def test_get_order_and_not_found(sandbox: Sandbox) -> None:
    """get_order reads GET orders/{id}; the shop's 404 for an unknown id is NotFound."""
    sandbox.add_vendre_order(vendre_order_doc(41))
    sandbox.add_vendre_order(vendre_order_doc(42))
    client = sandbox.vendre_client()

    assert client.get_order(42).id == 42
    with pytest.raises(NotFound) as caught:
        client.get_order(43)
    assert caught.value.status == 404
    assert caught.value.url.endswith("/API/1/orders/43")
    assert [(c.method, c.path) for c in sandbox.calls("vendre")] == [
        ("GET", "orders/42"),
        ("GET", "orders/43"),
    ]


def test_get_order_document_is_the_record_as_sent(sandbox: Sandbox) -> None:
    """The unloaded order: epoch seconds for dates, exact numbers for money."""
    sandbox.add_vendre_order(vendre_order_doc(42))
    client = sandbox.vendre_client()

    document = client.get_order_document(42)

    placed = datetime(2026, 3, 2, 10, 15, tzinfo=STOCKHOLM)
    assert document["date_added"] == int(placed.timestamp())
    assert document["products"][0]["price"] == Decimal("799.2")
    assert type(document["products"][0]["price"]) is Decimal
    assert client.get_order(42).date_added == placed
    with pytest.raises(NotFound):
        client.get_order_document(1)


def test_orders_are_listed_with_epoch_dates_and_number_money(sandbox: Sandbox) -> None:
    """What iter_order_documents sees is the real /API/1 shape, and it loads the same."""
    sandbox.add_vendre_order(vendre_order_doc(1))
    client = sandbox.vendre_client()

    (document,) = client.iter_order_documents()
    (order,) = client.iter_orders()

    assert type(document["date_added"]) is int
    assert type(document["payment"]["date_added"]) is int
    assert document["totals"][0]["value"] == Decimal("999")
    assert order == vendre.load_order(vendre_order_doc(1))


def test_update_order_status(sandbox: Sandbox) -> None:
    """The update arrives as a wire document, and the order carries the new status."""
    sandbox.add_vendre_order(vendre_order_doc(7, status=1))
    client = sandbox.vendre_client()

    client.update_order_status(vendre.load_order_status_update({"id": 7, "status": 3}))

    assert sandbox.vendre_order_statuses() == [{"id": 7, "status": 3}]
    assert sandbox.vendre_orders()[0]["status"] == 3
    assert [o.id for o in client.iter_orders(status=3)] == [7]


def test_update_order_status_of_an_unknown_order_is_not_found(sandbox: Sandbox) -> None:
    """The shop's 404 becomes NotFound."""
    client = sandbox.vendre_client()
    with pytest.raises(NotFound):
        client.update_order_status(vendre.load_order_status_update({"id": 9, "status": 3}))


def test_bearer_auth_works(sandbox: Sandbox) -> None:
    """Shops that take the key as a bearer token are served too."""
    sandbox.add_vendre_order(vendre_order_doc(1))
    client = sandbox.vendre_client(auth="bearer")
    assert [o.id for o in client.iter_orders()] == [1]


def test_unknown_auth_style_is_refused() -> None:
    """Only the two documented ways of sending the key exist."""
    with pytest.raises(ValueError, match="auth must be"):
        VendreClient("https://shop.example/API/1", "key", auth="basic")  # type: ignore[arg-type]


# --- products -------------------------------------------------------------------------------


def product_calls(sandbox: Sandbox) -> list[tuple[str, str, str]]:
    return [(c.method, c.path, c.query) for c in sandbox.calls("vendre")]


def test_iter_products_pages_through_the_listing(sandbox: Sandbox) -> None:
    """Five products in pages of two: offsets 0, 2 and 4, every product once, by id."""
    for number in ("A1", "A2", "A3", "A4", "A5"):
        sandbox.add_vendre_product(vendre_product(number))
    client = sandbox.vendre_client()

    products = list(client.iter_products(page_size=2))

    assert [p.article_number for p in products] == ["A1", "A2", "A3", "A4", "A5"]
    assert [p.id for p in products] == [1, 2, 3, 4, 5]
    assert product_calls(sandbox) == [
        ("GET", "products", "page_size=2&offset=0"),
        ("GET", "products", "page_size=2&offset=2"),
        ("GET", "products", "page_size=2&offset=4"),
    ]


def test_iter_products_is_lazy_and_checks_page_size_at_once(sandbox: Sandbox) -> None:
    """No request before the first product; a page size of 0 is refused before any."""
    sandbox.add_vendre_product(vendre_product("A1"))
    client = sandbox.vendre_client()
    products = client.iter_products()
    assert sandbox.calls() == []
    assert next(products).article_number == "A1"
    with pytest.raises(ValueError, match="page_size must be at least 1, got 0"):
        client.iter_products(page_size=0)
    with pytest.raises(ValueError, match="page_size"):
        client.iter_product_documents(page_size=-1)
    assert len(sandbox.calls()) == 1


def test_iter_product_documents_yields_the_records_unloaded(sandbox: Sandbox) -> None:
    """The records as the shop sends them: every SPEC key, prices as exact Decimals."""
    sandbox.add_vendre_product(vendre_product_record(3))
    (document,) = sandbox.vendre_client().iter_product_documents()
    assert set(document) == PRODUCT_RECORD_KEYS
    assert document["id"] == 3
    assert document["price"] == Decimal("439.2")
    assert document["actions"]["product_save_url"] == sandbox.vendre_url + "products/3"


def full_record_json(product_id: int, price: str, price_in: str) -> str:
    """A listed product as JSON text, its money written as the numbers given."""
    text = dumps_json(vendre_product_record(product_id)).decode()
    text = text.replace('"price":439.2', f'"price":{price}', 1)
    return text.replace('"price_in":null', f'"price_in":{price_in}', 1)


def test_a_full_product_record_loads_page_by_page_and_by_id(httpserver: HTTPServer) -> None:
    """Every key SPEC §8 lists, in its real type: loaded exactly, through both routes."""
    prices = {7: ("439.2", "212.5"), 8: ("70", "0.1"), 9: ("12345678901234.5678", "1E+2")}
    records = {pid: full_record_json(pid, *money) for pid, money in prices.items()}
    first = '{"list":[' + records[7] + "," + records[8] + '],"remaining":1}'
    second = '{"list":[' + records[9] + '],"remaining":0}'
    for offset, page in ((0, first), (2, second)):
        httpserver.expect_request(
            "/API/1/products", query_string=f"page_size=2&offset={offset}"
        ).respond_with_data(page, content_type="application/json")
    httpserver.expect_request("/API/1/products/8").respond_with_data(
        records[8], content_type="application/json"
    )
    assert set(json.loads(records[7])) == PRODUCT_RECORD_KEYS

    with vendre_client_of(httpserver) as client:
        listed = list(client.iter_products(page_size=2))
        one = client.get_product(8)

    assert [p.id for p in listed] == [7, 8, 9]
    for product in listed:
        price, price_in = prices[product.id or 0]
        assert product.price == Decimal(price)
        assert product.price_in == Decimal(price_in)
    assert one == listed[1]
    assert one.tax_class_id == 2
    assert one.category_ids == (12, 14)
    assert one.manufacturer_id is None
    assert one.warehouses == (vendre.Warehouse(external_id="HUVUDLAGER", quantity=12),)
    assert (one.quantity, one.status, one.show, one.parent, one.is_parent) == (
        12,
        True,
        True,
        0,
        False,
    )
    assert one.name == {"sv": "Löparsko Aero", "en": "Running shoe Aero"}
    assert one.date_added == datetime.fromtimestamp(1777993984, UTC)


def test_get_product_and_not_found(sandbox: Sandbox) -> None:
    """GET products/{id}; an unknown id is the shop's 404, NotFound."""
    stored = sandbox.add_vendre_product(vendre_product_record(5))
    client = sandbox.vendre_client()

    product = client.get_product(5)

    assert product == vendre.load_product(stored)
    assert product.price == Decimal("439.2")
    with pytest.raises(NotFound) as caught:
        client.get_product(6)
    assert caught.value.status == 404
    assert [c.path for c in sandbox.calls("vendre")] == ["products/5", "products/6"]


def test_save_product_creates_then_saves(sandbox: Sandbox) -> None:
    """id None: POST products, the shop's id comes back; then PUT products/{id} saves."""
    client = sandbox.vendre_client()

    created = client.save_product(vendre_product("1001"))
    assert created.id == 1
    assert created.price == Decimal("439.2")
    (record,) = sandbox.vendre_products()
    assert (record["article_number"], record["price"], record["quantity"]) == (
        "1001",
        Decimal("439.2"),
        0,
    )

    changed = attrs.evolve(created, price=Decimal("399.00"), name={"sv": "Aero 2"})
    saved = client.save_product(changed)

    assert saved.id == 1
    assert (saved.price, saved.name) == (Decimal("399"), {"sv": "Aero 2"})
    (record,) = sandbox.vendre_products()
    assert (record["price"], record["name"]) == (Decimal("399"), {"sv": "Aero 2"})
    assert [(c.method, c.path) for c in sandbox.calls("vendre")] == [
        ("POST", "products"),
        ("PUT", "products/1"),
    ]


def test_saving_leaves_out_what_the_product_does_not_decide(sandbox: Sandbox) -> None:
    """Stock, visibility and dates the model holds as None are not overwritten."""
    sandbox.add_vendre_product(
        vendre_product_record(4, quantity=5, status=False, show=False, date_added=1700000000)
    )
    client = sandbox.vendre_client()

    client.save_product(vendre_product("1001", product_id=4, price=Decimal("10")))

    (record,) = sandbox.vendre_products()
    assert (record["quantity"], record["status"], record["show"]) == (5, False, False)
    assert record["date_added"] == 1700000000
    assert record["price"] == Decimal("10")


def test_save_product_with_fields_sends_only_those(sandbox: Sandbox) -> None:
    """fields=["price"]: the name the model holds is not sent, so the shop keeps its own."""
    sandbox.add_vendre_product(vendre_product_record(4))
    client = sandbox.vendre_client()

    saved = client.save_product(
        vendre_product("1001", product_id=4, price=Decimal("1.5"), name={"sv": "Ny"}),
        fields=["price"],
    )

    assert saved.price == Decimal("1.5")
    assert saved.name == {"sv": "Löparsko Aero", "en": "Running shoe Aero"}
    with pytest.raises(ValueError, match="fields names keys a product does not have: prize"):
        client.save_product(vendre_product(product_id=4), fields=["prize", "price"])
    assert len(sandbox.calls()) == 1


def capture(server: HTTPServer, path: str, method: str, answer: Response) -> list[Request]:
    """Answer ``method path`` with ``answer`` and keep each request."""
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        return answer

    server.expect_request(path, method=method).respond_with_handler(handler)
    return seen


def test_the_body_holds_numbers_no_id_and_no_dates(httpserver: HTTPServer) -> None:
    """Money as JSON numbers, exactly; the id goes in the URL; the shop's dates stay out."""
    seen = capture(httpserver, "/API/1/products/4", "PUT", Response(status=204))
    product = vendre_product(
        "1001",
        product_id=4,
        price=Decimal("439.2000"),
        price_in=Decimal("0.1"),
        date_added=datetime(2026, 3, 1, tzinfo=UTC),
        date_modified=datetime(2026, 3, 2, tzinfo=UTC),
    )
    with vendre_client_of(httpserver) as client:
        saved = client.save_product(product)

    assert saved == product  # no body in the answer: the product as sent
    (request,) = seen
    body = request.get_data()
    assert b'"price":439.2,' in body
    assert b'"price_in":0.1,' in body
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert set(parse_document(body)) == {
        "article_number",
        "external_id",
        "name",
        "price",
        "price_in",
        "tax_class_id",
        "category_ids",
    }


def test_a_date_named_in_fields_is_sent_as_epoch_seconds(httpserver: HTTPServer) -> None:
    """A naive date is the shop's wall clock (the client's time zone), sent as an instant."""
    seen = capture(httpserver, "/API/1/products/4", "PUT", Response(status=204))
    product = vendre_product(product_id=4, date_added=datetime(2026, 3, 2, 10, 15))
    with vendre_client_of(httpserver, time_zone="Europe/Helsinki") as client:
        client.save_product(product, fields=["date_added"])
    helsinki = datetime(2026, 3, 2, 10, 15, tzinfo=ZoneInfo("Europe/Helsinki"))
    assert json.loads(seen[0].get_data()) == {"date_added": int(helsinki.timestamp())}


@pytest.mark.parametrize(
    ("answer", "expected_id"),
    [(b'{"id": 31}', 31), (b'{"success": true, "id": 32}', 32)],
    ids=["id-only", "id-and-more"],
)
def test_a_create_answered_with_an_id_alone(
    httpserver: HTTPServer, answer: bytes, expected_id: int
) -> None:
    """No product in the answer: the product sent, with the shop's new id."""
    capture(httpserver, "/API/1/products", "POST", Response(answer, status=201))
    with vendre_client_of(httpserver) as client:
        created = client.save_product(vendre_product())
    assert created == attrs.evolve(vendre_product(), id=expected_id)


@pytest.mark.parametrize("answer", [b"", b"OK", b"{}", b'{"id": "31"}', b'{"id": 0}', b"[]"])
def test_a_create_answered_without_an_id_is_a_response_error(
    httpserver: HTTPServer, answer: bytes
) -> None:
    """The new product's id is what a create is for: without one, ResponseError."""
    capture(httpserver, "/API/1/products", "POST", Response(answer, status=201))
    with vendre_client_of(httpserver) as client, pytest.raises(ResponseError) as caught:
        client.save_product(vendre_product())
    assert "does not say the new product's id" in str(caught.value)
    assert problems_of(caught.value.mapping_error) == [("$.id", "required field is missing")]


@pytest.mark.parametrize("answer", [b"", b"OK", b'{"success": true}', b'{"id": 4}'])
def test_a_save_answered_without_a_product_returns_the_product_sent(
    httpserver: HTTPServer, answer: bytes
) -> None:
    """A shop that answers a save with no record: the save went through; the product as sent."""
    capture(httpserver, "/API/1/products/4", "PUT", Response(answer))
    product = vendre_product(product_id=4)
    with vendre_client_of(httpserver) as client:
        assert client.save_product(product) == product


def test_a_saved_product_that_does_not_load_is_a_response_error(httpserver: HTTPServer) -> None:
    """An answer that is a product must load; its problems are in mapping_error."""
    broken = vendre_product_record(4, price="lots")
    capture(httpserver, "/API/1/products/4", "PUT", Response(dumps_json(broken)))
    with vendre_client_of(httpserver) as client, pytest.raises(ResponseError) as caught:
        client.save_product(vendre_product(product_id=4))
    assert caught.value.mapping_error is not None
    assert caught.value.mapping_error.paths == ("$.price",)


def test_saving_an_unknown_product_is_not_found(sandbox: Sandbox) -> None:
    """The shop's 404 for a save by id: NotFound; nothing is created."""
    with pytest.raises(NotFound):
        sandbox.vendre_client().save_product(vendre_product(product_id=9))
    assert sandbox.vendre_products() == []


def test_a_product_the_shop_refuses_carries_its_errors(sandbox: Sandbox) -> None:
    """A 400 in Vendre's error shape: RequestRejected with each error, its field named."""
    client = sandbox.vendre_client()
    created = client.save_product(vendre_product("1001"))
    bad = attrs.evolve(created, article_number="", quantity=-1, parent=99)

    with pytest.raises(RequestRejected) as caught:
        client.save_product(bad)

    error = caught.value
    assert error.status == 400
    assert [(e.status, e.code, e.parameter) for e in error.errors] == [
        ("400", "invalid_value", "article_number")
    ]
    assert "errors: article_number: " in str(error)
    assert sandbox.vendre_products()[0]["article_number"] == "1001"


def test_sizes_are_linked_under_their_parent(sandbox: Sandbox) -> None:
    """A child saved with parent: X is listed in X's child_product_ids, X a parent."""
    client = sandbox.vendre_client()
    parent = client.save_product(vendre_product("1001"))
    sizes = [
        client.save_product(vendre_product(f"1001_SKO_{size}", parent=parent.id, ean1=""))
        for size in ("42", "43")
    ]

    listed = list(client.iter_products())

    assert client.get_product(parent.id or 0).child_product_ids == tuple(s.id for s in sizes)
    assert client.get_product(parent.id or 0).is_parent is True
    assert [s.parent for s in sizes] == [parent.id, parent.id]
    (family,) = vendre.families(listed)
    assert family.parent.id == parent.id
    assert [c.article_number for c in family.children] == ["1001_SKO_42", "1001_SKO_43"]


def test_a_size_under_an_unknown_parent_is_refused(sandbox: Sandbox) -> None:
    """parent must name a product the shop has."""
    with pytest.raises(RequestRejected) as caught:
        sandbox.vendre_client().save_product(vendre_product("1001_SKO_42", parent=77))
    assert [e.parameter for e in caught.value.errors] == ["parent"]
    assert sandbox.vendre_products() == []


def test_endpoints_choose_the_paths_and_methods(httpserver: HTTPServer) -> None:
    """product_create, product, create_method and save_method are followed."""
    record = dumps_json(vendre_product_record(12))
    created = capture(httpserver, "/API/1/product/new", "PUT", Response(record, status=201))
    saved = capture(httpserver, "/API/1/product/12/save", "POST", Response(record))
    read = capture(httpserver, "/API/1/product/12/save", "GET", Response(record))
    endpoints = VendreEndpoints(
        product="product/{id}/save",
        product_create="product/new",
        create_method="put",
        save_method="POST",
    )
    with vendre_client_of(httpserver, endpoints=endpoints) as client:
        assert client.save_product(vendre_product()).id == 12
        assert client.save_product(vendre_product(product_id=12)).id == 12
        client.save_stock(12, stock_update(quantity=1))
        assert client.get_product(12).id == 12
    assert (len(created), len(saved), len(read)) == (1, 2, 1)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"save_method": "GET"}, "save_method must be one of"),
        ({"create_method": "PATCH"}, "create_method must be one of"),
    ],
)
def test_endpoints_refuse_methods_that_cannot_write(
    arguments: dict[str, str], message: str
) -> None:
    """A save is PUT, POST or PATCH; a create POST or PUT."""
    with pytest.raises(ValueError, match=message):
        VendreEndpoints(**arguments)


def test_endpoint_defaults() -> None:
    """The documented defaults."""
    endpoints = VendreEndpoints()
    assert (endpoints.order, endpoints.product, endpoints.product_create) == (
        "orders/{id}",
        "products/{id}",
        "products",
    )
    assert (endpoints.save_method, endpoints.create_method) == ("PUT", "POST")
    assert not hasattr(endpoints, "stock")


# --- stock ----------------------------------------------------------------------------------


def test_save_stock_sets_the_quantity_and_the_warehouses(sandbox: Sandbox) -> None:
    """quantity, status and the named warehouse's quantity; other warehouses stay."""
    warehouses = [
        {"external_id": "HUVUDLAGER", "quantity": 3, "location": "A1"},
        {"external_id": "BUTIK", "quantity": 2, "location": None},
    ]
    sandbox.add_vendre_product(vendre_product_record(4, quantity=5, warehouses=warehouses))
    client = sandbox.vendre_client()

    client.save_stock(4, stock_update("1001_SKO_42", 7, warehouse="HUVUDLAGER"))

    product = client.get_product(4)
    assert (product.quantity, product.status) == (7, True)
    assert product.warehouses == (
        vendre.Warehouse(external_id="HUVUDLAGER", quantity=7, location="A1"),
        vendre.Warehouse(external_id="BUTIK", quantity=2),
    )
    assert sandbox.vendre_stock() == [
        {
            "id": 4,
            "article_number": "1001",
            "quantity": 7,
            "status": True,
            "warehouses": [
                {"external_id": "HUVUDLAGER", "quantity": 7, "location": "A1"},
                {"external_id": "BUTIK", "quantity": 2, "location": None},
            ],
        }
    ]
    assert [(c.method, c.path) for c in sandbox.calls("vendre")][:1] == [("PUT", "products/4")]


def test_save_stock_without_a_warehouse_sends_quantity_and_status(httpserver: HTTPServer) -> None:
    """Out of stock: quantity 0 and status false, nothing else."""
    seen = capture(httpserver, "/API/1/products/4", "PUT", Response(status=204))
    with vendre_client_of(httpserver) as client:
        client.save_stock(4, stock_update("1001_SKO_42", 0))
    assert seen[0].get_data() == b'{"quantity":0,"status":false}'


def test_save_stock_of_an_unknown_product_is_not_found(sandbox: Sandbox) -> None:
    """The shop's 404."""
    with pytest.raises(NotFound):
        sandbox.vendre_client().save_stock(3, stock_update())
    assert sandbox.vendre_stock() == []


def test_a_refused_stock_level_names_the_field(sandbox: Sandbox) -> None:
    """A quantity the shop refuses: RequestRejected naming the warehouse's quantity."""
    sandbox.add_vendre_product(vendre_product_record(4))
    bad = attrs.evolve(stock_update(warehouse="W1"), quantity="many")
    with pytest.raises(RequestRejected) as caught:
        sandbox.vendre_client().save_stock(4, bad)
    assert [e.parameter for e in caught.value.errors] == ["quantity", "warehouses[0].quantity"]
    assert sandbox.vendre_stock() == []


# --- odd servers ----------------------------------------------------------------------------


def plain_client(server: HTTPServer, **options: object) -> VendreClient:
    defaults: dict[str, object] = {
        "retries": RetryPolicy(total=0),
        "timeout": (2.0, 5.0),
        "trust_env": False,
    }
    return VendreClient(server.url_for("/API/1"), "k3y-for-tests", **{**defaults, **options})  # type: ignore[arg-type]


def test_a_huge_page_is_taken_whole(httpserver: HTTPServer) -> None:
    """A shop that ignores page_size and sends 3000 orders at once: all are yielded."""
    page = {"list": [vendre_order_doc(i) for i in range(1, 3001)], "remaining": 0}
    httpserver.expect_request("/API/1/orders").respond_with_data(
        json.dumps(page), content_type="application/json"
    )
    with plain_client(httpserver) as client:
        ids = [o.id for o in client.iter_orders(page_size=10)]
    assert ids == list(range(1, 3001))


def test_an_order_that_does_not_load_is_a_response_error(httpserver: HTTPServer) -> None:
    """The MappingError comes along, its paths pointing into the page."""
    broken = vendre_order_doc(2, id="two")
    page = {"list": [vendre_order_doc(1), broken], "remaining": 0}
    httpserver.expect_request("/API/1/orders").respond_with_data(
        json.dumps(page), content_type="application/json"
    )
    with plain_client(httpserver) as client:
        orders = client.iter_orders()
        assert next(orders).id == 1
        with pytest.raises(ResponseError) as caught:
            next(orders)
    error = caught.value
    assert isinstance(error.mapping_error, MappingError)
    assert error.mapping_error.paths == ("$.list[1].id",)
    assert error.method == "GET"
    assert error.url.startswith(httpserver.url_for("/API/1/orders"))
    assert error.status == 200


def test_a_body_that_is_not_json_is_a_response_error(httpserver: HTTPServer) -> None:
    """An HTML page where JSON was expected: ResponseError with an excerpt of it."""
    httpserver.expect_request("/API/1/orders").respond_with_data(
        "<html>" + "maintenance " * 100 + "</html>", content_type="text/html"
    )
    with plain_client(httpserver) as client, pytest.raises(ResponseError) as caught:
        list(client.iter_orders())
    assert caught.value.mapping_error is not None
    assert caught.value.body_excerpt is not None
    assert caught.value.body_excerpt.startswith("<html>maintenance")
    assert len(caught.value.body_excerpt) == 500


def test_a_page_of_the_wrong_shape_is_a_response_error(httpserver: HTTPServer) -> None:
    """A page without "remaining" is not guessed at."""
    httpserver.expect_request("/API/1/orders").respond_with_json({"list": []})
    with plain_client(httpserver) as client, pytest.raises(ResponseError) as caught:
        list(client.iter_orders())
    assert caught.value.mapping_error is not None
    assert caught.value.mapping_error.paths == ("$.remaining",)


def test_an_empty_page_with_orders_remaining_stops_with_an_error(httpserver: HTTPServer) -> None:
    """A server stuck at "remaining": 5 with nothing in the list never loops forever."""
    httpserver.expect_request("/API/1/orders").respond_with_json({"list": [], "remaining": 5})
    with plain_client(httpserver) as client, pytest.raises(ResponseError, match="remaining"):
        list(client.iter_orders())


def test_custom_endpoints_are_used(httpserver: HTTPServer) -> None:
    """Paths and parameter names come from VendreEndpoints."""
    httpserver.expect_request(
        "/API/1/v2/orders", query_string="updated_from=2026-03-02+09%3A00%3A00&page_size=5&offset=0"
    ).respond_with_json({"list": [], "remaining": 0})
    endpoints = VendreEndpoints(orders="v2/orders", since_param="updated_from")
    with plain_client(httpserver, endpoints=endpoints) as client:
        since = datetime(2026, 3, 2, 9, 0, tzinfo=STOCKHOLM)
        assert list(client.iter_orders(since=since, page_size=5)) == []
    httpserver.check_assertions()


# --- Vendre answers of the wrong shape ------------------------------------------------------------


NO_RETRIES = RetryPolicy(total=0)


def vendre_client_of(server: HTTPServer, **options: Any) -> VendreClient:
    defaults: dict[str, Any] = {"retries": NO_RETRIES, "timeout": (2.0, 5.0), "trust_env": False}
    return VendreClient(server.url_for("/API/1/"), "k3y-1234", **{**defaults, **options})


def problems_of(error: MappingError | None) -> list[tuple[str, str]]:
    assert error is not None
    return [(p.path, p.message) for p in error.problems]


def test_get_order_follows_the_endpoint(httpserver: HTTPServer) -> None:
    """VendreEndpoints.order names the path; the id is URL-quoted into it."""
    httpserver.expect_request("/API/1/order/8/view").respond_with_json(vendre_order_doc(8))
    httpserver.expect_request("/API/1/order/9/view").respond_with_json(
        {"errors": [{"status": "404", "title": "not found"}]}, status=404
    )
    endpoints = VendreEndpoints(order="order/{id}/view")
    with vendre_client_of(httpserver, endpoints=endpoints) as client:
        assert client.get_order(8).id == 8
        with pytest.raises(NotFound):
            client.get_order(9)


def test_a_shop_that_ignores_offset_for_products_is_stopped(httpserver: HTTPServer) -> None:
    """The same page again and again: ResponseError after the second, not an endless loop."""
    page = {"list": [vendre_product_record(1), vendre_product_record(2)], "remaining": 3}
    httpserver.expect_request("/API/1/products").respond_with_data(
        dumps_json(page), content_type="application/json"
    )
    with vendre_client_of(httpserver) as client, pytest.raises(ResponseError) as caught:
        list(client.iter_product_documents(page_size=2))
    assert "previous page again" in str(caught.value)
    assert len(httpserver.log) == 2


def test_an_empty_page_with_products_remaining_is_an_error(httpserver: HTTPServer) -> None:
    """remaining > 0 with nothing in the list: ResponseError naming products."""
    httpserver.expect_request("/API/1/products").respond_with_json({"list": [], "remaining": 2})
    with vendre_client_of(httpserver) as client, pytest.raises(ResponseError) as caught:
        list(client.iter_products())
    assert "the shop reports products remaining but sent an empty page" in str(caught.value)


def test_a_product_that_does_not_load_points_into_the_page(httpserver: HTTPServer) -> None:
    """The MappingError's path is where the product is in the page."""
    page = {"list": [vendre_product_record(1), vendre_product_record(2, tax_class_id="two")]}
    httpserver.expect_request("/API/1/products").respond_with_data(
        dumps_json({**page, "remaining": 0}), content_type="application/json"
    )
    with vendre_client_of(httpserver) as client, pytest.raises(ResponseError) as caught:
        list(client.iter_products())
    assert caught.value.mapping_error is not None
    assert caught.value.mapping_error.paths == ("$.list[1].tax_class_id",)


def test_a_page_that_is_not_an_object(httpserver: HTTPServer) -> None:
    """A page that is a JSON array is a ResponseError at $."""
    httpserver.expect_request("/API/1/orders").respond_with_json([vendre_order_doc()])
    with vendre_client_of(httpserver) as client, pytest.raises(ResponseError) as caught:
        list(client.iter_orders())
    assert problems_of(caught.value.mapping_error) == [("$", "expected an object, got list")]


@pytest.mark.parametrize(
    ("remaining", "shown"),
    [("0", "'0'"), (True, "true"), (None, "null")],
)
def test_a_page_field_of_the_wrong_type(
    httpserver: HTTPServer, remaining: object, shown: str
) -> None:
    """remaining must be an integer (not a string, a boolean or null)."""
    httpserver.expect_request("/API/1/orders").respond_with_json(
        {"list": [], "remaining": remaining}
    )
    with vendre_client_of(httpserver) as client, pytest.raises(ResponseError) as caught:
        list(client.iter_orders())
    assert problems_of(caught.value.mapping_error) == [("$.remaining", f"unexpected value {shown}")]
