"""Odd servers the clients must survive with their documented errors (loopback HTTP only).

A redirect whose ``Location`` cannot be parsed, a server that ignores ``offset``, a
``Retry-After`` that cannot be read, a create told to wait by a 503, and the sandbox's
reservation ids.
"""

from __future__ import annotations

import gc
import itertools
import json
import pickle
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from tests.http_support import bex_order, gift_card_doc, vendre_order_doc
from werkzeug.wrappers import Response

from bexvendre_mapping.http import (
    BexClient,
    RateLimited,
    ResponseError,
    RetryPolicy,
    ServerError,
    TransportError,
    VendreClient,
)
from bexvendre_mapping.testing.sandbox import Sandbox

NO_WAIT = RetryPolicy(total=2, backoff_factor=0, jitter=0, retry_after_max=1)
NO_RETRIES = RetryPolicy(total=0)
API_KEY = "key-1234-abcd"
SECRET = "s3cret-5678-efgh"  # noqa: S105 - a test credential


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


class RawServer:
    """A loopback server that answers every request with the same raw bytes, then closes."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.requests = 0
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}/api/"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            with connection:
                self._read_request(connection)
                self.requests += 1
                connection.sendall(self.answer)

    @staticmethod
    def _read_request(connection: socket.socket) -> None:
        connection.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                return
            body += chunk

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()


@pytest.fixture
def raw_server() -> Iterator[Any]:
    servers: list[RawServer] = []

    def start(answer: bytes) -> RawServer:
        servers.append(RawServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def redirect(status: int, location: bytes, body: bytes = b"moved") -> bytes:
    return (
        f"HTTP/1.1 {status} Moved\r\n".encode()
        + b"Location: "
        + location
        + f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )


def bex_client(url: str, **options: Any) -> BexClient:
    defaults: dict[str, Any] = {"retries": NO_RETRIES, "timeout": (2.0, 5.0), "trust_env": False}
    return BexClient(url, API_KEY, SECRET, **{**defaults, **options})


def vendre_client(url: str, **options: Any) -> VendreClient:
    defaults: dict[str, Any] = {"retries": NO_RETRIES, "timeout": (2.0, 5.0), "trust_env": False}
    return VendreClient(url, API_KEY, **{**defaults, **options})


# --- 1. a redirect whose Location cannot be parsed ------------------------------------------


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        (b"http://127.0.0.1:99999/x", "cannot be parsed (Port out of range 0-65535)"),
        (b"http://127.0.0.1:abc/x", "cannot be parsed (Port could not be cast"),
        (b"http://[::1/x", "cannot be parsed (Invalid IPv6 URL)"),
        (b"http://\xff\xfe/x", "not UTF-8: b'http://\\xff\\xfe/x'"),
    ],
    ids=["port-out-of-range", "port-not-a-number", "broken-ipv6", "not-utf8"],
)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308, 300])
def test_a_redirect_to_an_unreadable_location_is_a_response_error(
    raw_server: Any, status: int, location: bytes, reason: str
) -> None:
    """requests parses a redirect's Location even when it does not follow it; no raw error."""
    server = raw_server(redirect(status, location))
    with bex_client(server.url) as client, pytest.raises(ResponseError) as caught:
        client.get_bonus_balance("1")
    error = caught.value
    assert error.message.startswith("unexpected redirect to a Location that ")
    assert reason in error.message
    assert (error.status, error.body_excerpt, error.mapping_error) == (status, "moved", None)
    assert server.requests == 1


def test_an_unreadable_location_shows_no_credentials(raw_server: Any) -> None:
    """Its user:password@ is cut out, and the client's own key is redacted."""
    location = f"http://user:pass-word@127.0.0.1:99999/?key={API_KEY}".encode()
    server = raw_server(redirect(302, location))
    with vendre_client(server.url) as client, pytest.raises(ResponseError) as caught:
        client.get_order(1)
    assert "Port out of range" in str(caught.value)
    assert "pass-word" not in str(caught.value)
    assert API_KEY not in str(caught.value)
    assert "'http://127.0.0.1:99999/?key=***'" in str(caught.value)


def test_a_3xx_without_location_says_so(httpserver: HTTPServer) -> None:
    """A 300 without Location is an unexpected redirect too, to nowhere."""
    httpserver.expect_request("/api/GiftCards/PK-1").respond_with_data("choose", status=300)
    with (
        bex_client(httpserver.url_for("/api/")) as client,
        pytest.raises(ResponseError, match=r"^unexpected redirect to nowhere \(no Location\)"),
    ):
        client.get_gift_card("PK-1")


def test_a_create_redirected_to_an_unreadable_location_is_not_repeated(raw_server: Any) -> None:
    """A POST answered with a broken redirect: a ResponseError, no look-up, no second POST."""
    server = raw_server(redirect(303, b"http://[::1/Orders/1"))
    with bex_client(server.url, retries=NO_WAIT) as client, pytest.raises(ResponseError):
        client.create_order(bex_order())
    assert server.requests == 1


def test_a_callers_session_gets_the_same_treatment(raw_server: Any) -> None:
    """The client's adapter is mounted on a session passed in, for its base URL."""
    server = raw_server(redirect(302, b"http://127.0.0.1:99999/x"))
    with (
        requests.Session() as session,
        bex_client(server.url, session=session) as client,
        pytest.raises(ResponseError),
    ):
        client.get_gift_card("PK-1")


def test_a_redirect_whose_body_breaks_is_a_transport_error(raw_server: Any) -> None:
    """The redirect's body is read where the response is built: cut short, it is lost."""
    answer = b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 100\r\n\r\nshort"
    server = raw_server(answer)
    with bex_client(server.url) as client, pytest.raises(TransportError) as caught:
        client.get_bonus_balance("1")
    assert caught.value.status is None


def test_a_header_urllib3_cannot_read_is_a_transport_error(raw_server: Any) -> None:
    """Two different Content-Lengths: urllib3 refuses the response, and so does the client."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\nConnection: close\r\n\r\n{}"
    server = raw_server(answer)
    with warnings.catch_warnings():
        # urllib3 drops http.client's response unclosed when it refuses one; collect it here.
        warnings.simplefilter("ignore", ResourceWarning)
        with bex_client(server.url) as client, pytest.raises(TransportError) as caught:
            client.get_bonus_balance("1")
        error = caught.value
        del caught
        gc.collect()
    assert "a header that cannot be read" in error.message
    assert error.connected
    assert server.requests == 1


# --- 2. a server that ignores offset ----------------------------------------------------------


def stuck_pages(page: dict[str, Any], last: dict[str, Any]) -> Any:
    """A handler sending ``page`` whatever the offset; after 20 requests, ``last``.

    The cap only keeps a client without the guard from looping for ever.
    """
    served = itertools.count()

    def handler(_request: Any) -> Response:
        document = page if next(served) < 20 else last
        return Response(json.dumps(document), content_type="application/json")

    return handler


def test_a_shop_that_ignores_offset_stops_at_the_second_page(httpserver: HTTPServer) -> None:
    """The same non-empty page with orders remaining, whatever the offset: a ResponseError."""
    page = {"list": [vendre_order_doc(1), vendre_order_doc(2)], "remaining": 5}
    last = {"list": [], "remaining": 0}
    httpserver.expect_request("/API/1/orders").respond_with_handler(stuck_pages(page, last))
    with vendre_client(httpserver.url_for("/API/1/")) as client:
        received = []
        with pytest.raises(ResponseError, match="previous page again") as caught:
            received.extend(client.iter_orders(page_size=2))
    assert [order.id for order in received] == [1, 2]
    assert caught.value.mapping_error is not None
    problem = caught.value.mapping_error.problems[0]
    assert (problem.path, problem.message) == ("$.list", "repeats the previous page, at offset 2")
    assert [r.args.get("offset") for r, _ in httpserver.log] == ["0", "2"]


def test_unloaded_order_documents_stop_too(httpserver: HTTPServer) -> None:
    """iter_order_documents shares the paging, and its guard."""
    page = {"list": [vendre_order_doc(1)], "remaining": 1}
    last = {"list": [], "remaining": 0}
    httpserver.expect_request("/API/1/orders").respond_with_handler(stuck_pages(page, last))
    with vendre_client(httpserver.url_for("/API/1/")) as client, pytest.raises(ResponseError):
        list(client.iter_order_documents())
    assert len(httpserver.log) == 2


@pytest.mark.parametrize("listing", ["order_statuses", "articles", "reservations"])
def test_bex_ignoring_offset_stops_at_the_second_page(httpserver: HTTPServer, listing: str) -> None:
    """Bex's lists: the same page with hasMore, whatever the offset: a ResponseError."""
    reservation = {
        "ReservationsID": "R1",
        "Nummer": "PK-2",
        "Belopp": "1.00",
        "Referens": "other",
        "Status": "Reserverad",
    }
    item = {
        "order_statuses": {"Ordernr": "1", "Status": "SKICKAD"},
        "articles": {},
        "reservations": reservation,
    }[listing]
    handler = stuck_pages({"items": [item], "hasMore": True}, {"items": [], "hasMore": False})
    for path in ("/api/OrderStatuses", "/api/Articles", "/api/GiftCardReservations"):
        httpserver.expect_request(path).respond_with_handler(handler)
    with bex_client(httpserver.url_for("/api/")) as client:
        iterations = {
            "order_statuses": client.iter_order_statuses,
            "articles": client.iter_article_documents,
            "reservations": lambda: iter([client.find_gift_card_reservation("PK-1", "ref")]),
        }
        with pytest.raises(ResponseError, match="previous page again") as caught:
            list(iterations[listing]())
    assert caught.value.mapping_error is not None
    assert caught.value.mapping_error.problems[0].path == "$.items"
    assert [r.args.get("offset") for r, _ in httpserver.log] == ["0", "1"]


def test_pages_that_only_overlap_are_not_a_repeat(httpserver: HTTPServer) -> None:
    """Offset paging over changing data may show an item twice; only an exact repeat stops."""
    pages = {
        "0": {"items": [{"Ordernr": "1"}, {"Ordernr": "2"}], "hasMore": True},
        "2": {"items": [{"Ordernr": "2"}, {"Ordernr": "3"}], "hasMore": False},
    }
    httpserver.expect_request("/api/OrderStatuses").respond_with_handler(
        lambda request: Response(
            json.dumps(pages[request.args["offset"]]),
            content_type="application/json",
        )
    )
    with bex_client(httpserver.url_for("/api/")) as client:
        documents = list(client.iter_order_status_documents(page_size=2))
    assert [d["Ordernr"] for d in documents] == ["1", "2", "2", "3"]


# --- 3. a Retry-After that cannot be read -----------------------------------------------------


@pytest.mark.parametrize(("status", "value"), [(429, "soon"), (503, "1.5"), (502, "")])
def test_an_unreadable_retry_after_is_retried_like_an_absent_one(
    httpserver: HTTPServer, status: int, value: str
) -> None:
    """urllib3 would give up at once without a status; the client backs off and retries."""
    httpserver.expect_ordered_request("/api/GiftCards/PK-1").respond_with_json(
        {"error": "busy"}, status=status, headers={"Retry-After": value}
    )
    httpserver.expect_ordered_request("/api/GiftCards/PK-1").respond_with_json(
        gift_card_doc("PK-1")
    )
    with bex_client(httpserver.url_for("/api/"), retries=NO_WAIT) as client:
        assert client.get_gift_card("PK-1").number == "PK-1"
    assert len(httpserver.log) == 2


@pytest.mark.parametrize(
    ("status", "error_class"), [(429, RateLimited), (503, ServerError), (504, ServerError)]
)
def test_retries_used_up_under_an_unreadable_retry_after(
    httpserver: HTTPServer, status: int, error_class: type[RateLimited | ServerError]
) -> None:
    """In the end the status's own error, without a retry_after."""
    httpserver.expect_request("/api/GiftCards/PK-1").respond_with_json(
        {"error": "busy"}, status=status, headers={"Retry-After": "in a while"}
    )
    with (
        bex_client(httpserver.url_for("/api/"), retries=NO_WAIT) as client,
        pytest.raises(error_class) as caught,
    ):
        client.get_gift_card("PK-1")
    assert (caught.value.status, caught.value.retry_after) == (status, None)
    assert len(httpserver.log) == 1 + NO_WAIT.total


def test_a_server_error_carries_its_retry_after(httpserver: HTTPServer) -> None:
    """A 503 with Retry-After: 7 after the retries: ServerError.retry_after, through pickling."""
    httpserver.expect_request("/api/GiftCards/PK-1").respond_with_json(
        {"error": "down"}, status=503, headers={"Retry-After": "7"}
    )
    with bex_client(httpserver.url_for("/api/")) as client, pytest.raises(ServerError) as caught:
        client.get_gift_card("PK-1")
    assert caught.value.retry_after == 7
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 - our own error
    assert (type(copy), copy.retry_after, str(copy)) == (ServerError, 7, str(caught.value))


# --- 4. a create told to wait by a 503 --------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_a_create_waits_the_retry_after_of_a_429_and_of_a_503(
    sandbox: Sandbox, status: int
) -> None:
    """Between the failed POST and the look-up, the server's Retry-After (cut to 1 s) passes."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1"))
    sandbox.inject("bex", method="POST", path="GiftCardReservations", status=status, retry_after=1)
    client = sandbox.bex_client()
    started = time.monotonic()
    reservation = client.reserve_gift_card("PK-1", Decimal("10.00"), "checkout-1")
    waited = time.monotonic() - started
    assert reservation.reference == "checkout-1"
    assert [(c.method, c.status) for c in sandbox.calls("bex")] == [
        ("POST", status),
        ("GET", 200),
        ("POST", 201),
    ]
    assert waited >= 0.9


def test_a_create_order_waits_a_503s_retry_after(sandbox: Sandbox) -> None:
    """create_order shares the create loop: the same wait."""
    sandbox.inject("bex", method="POST", path="Orders", status=503, retry_after=1)
    started = time.monotonic()
    sandbox.bex_client().create_order(bex_order())
    assert time.monotonic() - started >= 0.9
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == [bex_order().number]


# --- 5. the sandbox's reservation ids ---------------------------------------------------------


def test_a_new_reservation_never_takes_a_seeded_ones_id(sandbox: Sandbox) -> None:
    """A seeded R000002 stays; the reservations made after it get ids of their own."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1"))
    seeded = {
        "ReservationsID": "R000002",
        "Nummer": "PK-1",
        "Belopp": "100.00",
        "Referens": "checkout-A",
        "Status": "Reserverad",
    }
    sandbox.add_bex_gift_card_reservation(seeded)
    client = sandbox.bex_client()
    first = client.reserve_gift_card("PK-1", Decimal("50.00"), "checkout-B")
    second = client.reserve_gift_card("PK-1", Decimal("25.00"), "checkout-C")
    assert {first.reservation_id, second.reservation_id}.isdisjoint({"R000002"})
    assert first.reservation_id != second.reservation_id
    held = {r["ReservationsID"]: (r["Referens"], r["Belopp"]) for r in sandbox.reservations()}
    assert held == {
        "R000002": ("checkout-A", "100.00"),
        first.reservation_id: ("checkout-B", "50.00"),
        second.reservation_id: ("checkout-C", "25.00"),
    }
    assert client.find_gift_card_reservation("PK-1", "checkout-A") is not None


@pytest.mark.parametrize("key", ["k3y\n", "k3y\r\nX-Other: 1", "k\x00y"])
def test_an_api_key_with_a_line_break_is_refused_at_once(key: str) -> None:
    """requests would refuse the header only when sending, as if the server had sent it."""
    with pytest.raises(ValueError, match="api_key holds a line break or another control"):
        VendreClient("http://127.0.0.1:9/API/1", key)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:99999/API/1", "Port out of range"),
        ("http://user:pw@127.0.0.1:abc/API/1", "Port could not be cast"),
        ("http://[::1/API/1", "Invalid IPv6 URL"),
    ],
)
def test_a_base_url_that_cannot_be_parsed_is_refused_when_the_client_is_made(
    url: str, reason: str
) -> None:
    """Before, the client was made and every request failed with requests' own ValueError."""
    with pytest.raises(ValueError, match="base_url cannot be parsed") as caught:
        VendreClient(url, "k3y")
    assert reason in str(caught.value)
    assert "pw" not in str(caught.value)
