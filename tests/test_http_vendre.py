"""VendreClient against the sandbox and, for odd servers, pytest-httpserver (loopback only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer
from tests.http_support import stock_update, vendre_order_doc, vendre_product

from bexvendre_mapping import MappingError, vendre
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


def test_get_order_and_not_found(sandbox: Sandbox) -> None:
    """get_order finds an order by id; an unknown id is NotFound."""
    sandbox.add_vendre_order(vendre_order_doc(41))
    sandbox.add_vendre_order(vendre_order_doc(42))
    client = sandbox.vendre_client()

    assert client.get_order(42).id == 42
    with pytest.raises(NotFound) as caught:
        client.get_order(43)
    assert caught.value.status == 200  # the list answered, without the order
    assert "43" in str(caught.value)


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


# --- products and stock ---------------------------------------------------------------------


def test_upsert_products_in_chunks(sandbox: Sandbox) -> None:
    """Five products in chunks of two: three PUTs, five products stored, count returned."""
    codes = ["1001", "GIFTBOX", "BOK-17", "MUG", "CAP"]
    client = sandbox.vendre_client()

    sent = client.upsert_products((vendre_product(code) for code in codes), chunk_size=2)

    assert sent == 5
    assert [p["article_number"] for p in sandbox.vendre_products()] == codes
    puts = [c for c in sandbox.calls("vendre") if c.method == "PUT"]
    assert [c.path for c in puts] == ["products"] * 3


def test_upsert_products_updates_by_article_number(sandbox: Sandbox) -> None:
    """A product sent twice is stored once, as last sent."""
    client = sandbox.vendre_client()
    client.upsert_products([vendre_product("MUG")])
    client.upsert_products([vendre_product("MUG")])
    assert len(sandbox.vendre_products()) == 1


def test_upsert_products_reads_its_input_lazily(sandbox: Sandbox) -> None:
    """Each chunk is sent before the next is read from the iterable."""
    client = sandbox.vendre_client()
    seen_puts: list[int] = []

    def products() -> object:
        for index, code in enumerate(["A1", "A2", "A3", "A4"]):
            seen_puts.append(
                sum(1 for c in sandbox.calls("vendre") if c.method == "PUT") if index else 0
            )
            yield vendre_product(code)

    client.upsert_products(products(), chunk_size=2)  # type: ignore[arg-type]
    assert seen_puts == [0, 0, 1, 1]


def test_update_stock_in_chunks(sandbox: Sandbox) -> None:
    """Stock updates arrive keyed by model code, latest value winning."""
    client = sandbox.vendre_client(chunk_size=2)
    updates = [stock_update("1001_SKO_42", 3), stock_update("1001_SKO_43", 0)]

    assert client.update_stock(updates) == 2
    assert client.update_stock([stock_update("1001_SKO_42", 5)]) == 1

    assert sandbox.vendre_stock() == [
        {"article_number": "1001_SKO_42", "quantity": 5, "status": 1},
        {"article_number": "1001_SKO_43", "quantity": 0, "status": 0},
    ]


def test_update_stock_rejected_by_the_shop_names_the_problem(sandbox: Sandbox) -> None:
    """A 400 with the shop's problems is RequestRejected; nothing of the chunk is stored."""
    bad = vendre.StockUpdate(  # models do not re-validate; the shop does
        article_number=vendre.load_stock_update(
            {"article_number": "MUG", "quantity": 1, "status": 1}
        ).article_number,
        quantity=-1,
        status=1,
    )
    client = sandbox.vendre_client()

    with pytest.raises(RequestRejected) as caught:
        client.update_stock([stock_update("MUG", 1), bad])

    assert caught.value.status == 400
    assert "$[1].quantity" in (caught.value.body_excerpt or "")
    assert sandbox.vendre_stock() == []


def test_an_empty_upload_sends_nothing(sandbox: Sandbox) -> None:
    """No products, no request."""
    assert sandbox.vendre_client().upsert_products([]) == 0
    assert sandbox.calls() == []


def test_chunk_size_must_be_positive(sandbox: Sandbox) -> None:
    """A chunk size of 0 is a programming error."""
    with pytest.raises(ValueError, match="chunk_size"):
        sandbox.vendre_client().update_stock([stock_update()], chunk_size=0)


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


def test_get_order_ignores_other_orders_in_the_answer(httpserver: HTTPServer) -> None:
    """A shop that ignores the ids filter: only the order asked for counts, else NotFound."""
    httpserver.expect_request("/API/1/orders").respond_with_json(
        {"list": [vendre_order_doc(7), vendre_order_doc(8)], "remaining": 0}
    )
    with vendre_client_of(httpserver) as client:
        assert client.get_order(8).id == 8
        with pytest.raises(NotFound, match="the shop has no order 9"):
            client.get_order(9)


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
