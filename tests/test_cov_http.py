"""HTTP clients at their edges: odd servers, bad arguments, faults below HTTP (loopback only)."""

from __future__ import annotations

import json
import pickle
import socket
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from tests.http_support import bex_order, vendre_order_doc
from werkzeug.wrappers import Response

from bexvendre_mapping import MappingError
from bexvendre_mapping.http import (
    BEX_BASE_URL,
    BexClient,
    NotFound,
    RateLimited,
    ResponseError,
    RetryPolicy,
    TransportError,
    VendreClient,
)

NO_RETRIES = RetryPolicy(total=0)


def bex_client(server: HTTPServer, **options: Any) -> BexClient:
    defaults: dict[str, Any] = {"retries": NO_RETRIES, "timeout": (2.0, 5.0), "trust_env": False}
    return BexClient(server.url_for("/api/"), "key-1234", "s3cret-5678", **{**defaults, **options})


def vendre_client(server: HTTPServer, **options: Any) -> VendreClient:
    defaults: dict[str, Any] = {"retries": NO_RETRIES, "timeout": (2.0, 5.0), "trust_env": False}
    return VendreClient(server.url_for("/API/1/"), "k3y-1234", **{**defaults, **options})


def problems_of(error: MappingError | None) -> list[tuple[str, str]]:
    assert error is not None
    return [(p.path, p.message) for p in error.problems]


def reservation_doc(number: str, reference: str, reservation_id: str) -> dict[str, str]:
    return {
        "ReservationsID": reservation_id,
        "Nummer": number,
        "Belopp": "100.00",
        "Referens": reference,
        "Status": "Reserverad",
    }


# --- arguments checked before any request ---------------------------------------------------


def test_client_arguments_are_checked_up_front() -> None:
    """An empty key, chunk or page sizes below 1 are refused when the client is made."""
    with pytest.raises(ValueError, match="api_key is empty"):
        VendreClient("https://shop.example/API/1", "")
    with pytest.raises(ValueError, match="chunk_size must be at least 1, got 0"):
        VendreClient("https://shop.example/API/1", "k3y", chunk_size=0)
    with pytest.raises(ValueError, match="page_size must be at least 1, got 0"):
        BexClient(BEX_BASE_URL, "key", "s3cret", page_size=0)


def test_page_sizes_are_checked_when_iterating() -> None:
    """page_size below 1 is a ValueError at the call, before any request is sent."""
    with VendreClient("https://shop.example/API/1", "k3y") as vendre:
        with pytest.raises(ValueError, match="got 0"):
            vendre.iter_orders(page_size=0)
        with pytest.raises(ValueError, match="got -1"):
            vendre.iter_order_documents(page_size=-1)
    with BexClient(BEX_BASE_URL, "key", "s3cret") as bex_api:
        with pytest.raises(ValueError, match="got 0"):
            bex_api.iter_articles(page_size=0)
        with pytest.raises(ValueError, match="got 0"):
            bex_api.iter_order_statuses(page_size=0)


@pytest.mark.parametrize("amount", [Decimal(0), Decimal("-5.00"), 0])
def test_a_reservation_must_be_above_zero(amount: Decimal) -> None:
    """Reserving nothing or less is bad data at $.Belopp, refused before a request."""
    with (
        BexClient(BEX_BASE_URL, "key", "s3cret") as client,
        pytest.raises(MappingError) as caught,
    ):
        client.reserve_gift_card("PK-1", amount, "order-1")
    assert caught.value.paths == ("$.Belopp",)
    assert "must be above 0" in str(caught.value)


def test_a_base_url_with_credentials_and_ipv6_is_shown_without_them() -> None:
    """The error about a bad base URL shows its IPv6 host in brackets, without user:password."""
    with pytest.raises(ValueError, match="http") as caught:
        VendreClient("ftp://user:pa55word@[::1]:8080/API/1", "k3y")
    assert "'ftp://[::1]:8080/API/1'" in str(caught.value)
    assert "pa55word" not in str(caught.value)


# --- the Bex warehouse documents ------------------------------------------------------------


def test_strict_clients_refuse_unknown_warehouse_keys(httpserver: HTTPServer) -> None:
    """With strict=True, extra keys in queue entries and stock information are problems."""
    httpserver.expect_request("/api/WarehouseManagement/GetQueuedStockChanges").respond_with_json(
        {"hasMore": False, "stockChangeEntries": [{"id": 1, "productIdentifier": "A", "x": 1}]}
    )
    httpserver.expect_request("/api/WarehouseManagement/GetStockinformation").respond_with_json(
        {"productIdentifier": "A", "physicalQuantity": 1, "availableQuantity": 1, "bin": "B7"}
    )
    with bex_client(httpserver, strict=True) as client:
        with pytest.raises(ResponseError) as entry:
            list(client.iter_queued_stock_changes())
        with pytest.raises(ResponseError) as info:
            client.get_stock_information("A")
    assert problems_of(entry.value.mapping_error) == [
        ("$.stockChangeEntries[0].x", "unknown field 'x'")
    ]
    assert problems_of(info.value.mapping_error) == [("$.bin", "unknown field 'bin'")]


def test_lenient_clients_ignore_unknown_warehouse_keys(httpserver: HTTPServer) -> None:
    """Without strict, the same extra keys are ignored."""
    httpserver.expect_request("/api/WarehouseManagement/GetStockinformation").respond_with_json(
        {"productIdentifier": "A", "physicalQuantity": 1, "availableQuantity": 1, "bin": "B7"}
    )
    with bex_client(httpserver) as client:
        info = client.get_stock_information("A")
    assert (info.product_identifier, info.available_quantity) == ("A", Decimal(1))


def test_queue_entries_of_the_wrong_shape(httpserver: HTTPServer) -> None:
    """An entry that is not an object, or whose id is neither a number nor a string."""
    httpserver.expect_ordered_request(
        "/api/WarehouseManagement/GetQueuedStockChanges"
    ).respond_with_json({"hasMore": False, "stockChangeEntries": [["id", 1]]})
    httpserver.expect_ordered_request(
        "/api/WarehouseManagement/GetQueuedStockChanges"
    ).respond_with_json(
        {"hasMore": False, "stockChangeEntries": [{"id": True, "productIdentifier": "A"}]}
    )
    with bex_client(httpserver) as client:
        with pytest.raises(ResponseError) as not_object:
            list(client.iter_queued_stock_changes())
        with pytest.raises(ResponseError) as bool_id:
            list(client.iter_queued_stock_changes())
    assert problems_of(not_object.value.mapping_error) == [
        ("$.stockChangeEntries[0]", "expected an object, got list")
    ]
    assert problems_of(bool_id.value.mapping_error) == [
        ("$.stockChangeEntries[0].id", "expected a number or a non-empty string, got true")
    ]


# --- creates and look-ups against odd servers -----------------------------------------------


def test_a_created_order_answered_with_an_empty_body_is_the_order_sent(
    httpserver: HTTPServer,
) -> None:
    """Bex may answer a create with 201 and no body: the order sent is returned."""
    httpserver.expect_request("/api/Orders", method="POST").respond_with_data("", status=201)
    order = bex_order("4242")
    with bex_client(httpserver) as client:
        assert client.create_order(order) == order


def test_reservation_look_up_checks_the_filters_itself(httpserver: HTTPServer) -> None:
    """A server that ignores the number and reference filters cannot fool the look-up."""
    others = [
        reservation_doc("PK-9", "order-1", "R1"),
        reservation_doc("PK-1", "order-9", "R2"),
    ]
    httpserver.expect_request("/api/GiftCardReservations", method="GET").respond_with_json(
        {"hasMore": False, "items": [*others, reservation_doc("PK-1", "order-1", "R3")]}
    )
    with bex_client(httpserver) as client:
        found = client.find_gift_card_reservation("PK-1", "order-1")
        assert found is not None
        assert found.reservation_id == "R3"
        assert client.find_gift_card_reservation("PK-2", "order-2") is None


def test_get_order_ignores_other_orders_in_the_answer(httpserver: HTTPServer) -> None:
    """A shop that ignores the ids filter: only the order asked for counts, else NotFound."""
    httpserver.expect_request("/API/1/orders").respond_with_json(
        {"list": [vendre_order_doc(7), vendre_order_doc(8)], "remaining": 0}
    )
    with vendre_client(httpserver) as client:
        assert client.get_order(8).id == 8
        with pytest.raises(NotFound, match="the shop has no order 9"):
            client.get_order(9)


# --- responses of the wrong shape -----------------------------------------------------------


def test_a_page_that_is_not_an_object(httpserver: HTTPServer) -> None:
    """A page that is a JSON array is a ResponseError at $."""
    httpserver.expect_request("/API/1/orders").respond_with_json([vendre_order_doc()])
    with vendre_client(httpserver) as client, pytest.raises(ResponseError) as caught:
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
    with vendre_client(httpserver) as client, pytest.raises(ResponseError) as caught:
        list(client.iter_orders())
    assert problems_of(caught.value.mapping_error) == [("$.remaining", f"unexpected value {shown}")]


def test_an_unreadable_retry_after_is_left_out(httpserver: HTTPServer) -> None:
    """A 429 whose Retry-After is neither seconds nor a date: RateLimited without one."""
    httpserver.expect_request("/API/1/orders").respond_with_json(
        {"error": "slow down"}, status=429, headers={"Retry-After": "soon"}
    )
    with vendre_client(httpserver) as client, pytest.raises(RateLimited) as caught:
        client.get_order(1)
    assert caught.value.status == 429
    assert caught.value.retry_after is None


def test_response_errors_pickle_with_their_mapping_error() -> None:
    """A ResponseError keeps its status, excerpt and MappingError through pickling."""
    error = ResponseError(
        "a document in the response does not load",
        method="GET",
        url="https://shop.example/API/1/orders",
        status=200,
        body_excerpt='{"list": [1]}',
        mapping_error=MappingError("expected an object, got 1", path="$.list[0]"),
    )
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own data
    assert str(again) == str(error)
    assert (again.status, again.body_excerpt) == (200, '{"list": [1]}')
    assert again.mapping_error is not None
    assert again.mapping_error.problems == error.mapping_error.problems  # type: ignore[union-attr]


# --- faults below HTTP ----------------------------------------------------------------------


def test_a_malformed_chunked_body_is_a_transport_error(httpserver: HTTPServer) -> None:
    """A broken chunked encoding: the response could not be read; the detail is cut short."""
    garbage = b"z" * 400 + b"\r\n"
    httpserver.expect_request("/API/1/orders").respond_with_response(
        Response(garbage, headers={"Transfer-Encoding": "chunked"}, mimetype="application/json")
    )
    with vendre_client(httpserver) as client, pytest.raises(TransportError) as caught:
        client.get_order(1)
    assert caught.value.connected
    assert caught.value.message.startswith("the response could not be read (")
    assert caught.value.message.endswith("...)")
    assert len(caught.value.message) < 360
    assert caught.value.status is None


@pytest.fixture
def unresponsive_port() -> Iterator[int]:
    """A port whose listen queue is full: connection attempts are dropped, never answered."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = []
        try:
            for _ in range(3):
                filler = socket.socket()
                fillers.append(filler)
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
            time.sleep(0.05)
            yield port
        finally:
            for filler in fillers:
                filler.close()


@pytest.mark.skipif(sys.platform != "linux", reason="relies on Linux dropping SYNs to a full queue")
def test_a_connect_timeout_is_a_transport_error_that_never_connected(
    unresponsive_port: int,
) -> None:
    """No answer to the connection attempt: 'timed out connecting', and the request never left."""
    started = time.monotonic()
    with (
        VendreClient(
            f"http://127.0.0.1:{unresponsive_port}/API/1",
            "k3y-1234",
            retries=NO_RETRIES,
            timeout=(0.2, 1.0),
            trust_env=False,
        ) as client,
        pytest.raises(TransportError) as caught,
    ):
        client.get_order(1)
    assert time.monotonic() - started < 2
    assert caught.value.message.startswith("timed out connecting")
    assert not caught.value.connected
    assert json.dumps(caught.value.url).count("k3y-1234") == 0
