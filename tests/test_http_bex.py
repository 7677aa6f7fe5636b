"""BexClient against the sandbox and, for odd servers, pytest-httpserver (loopback only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from pytest_httpserver import HTTPServer
from tests.http_support import (
    bex_article_doc,
    bex_order,
    bex_order_doc,
    gift_card_doc,
)
from werkzeug.wrappers import Request, Response

from bexvendre_mapping import MappingError, bex
from bexvendre_mapping.http import (
    BexClient,
    BexEndpoints,
    NotFound,
    RequestRejected,
    ResponseError,
    RetryPolicy,
    ServerError,
    StockChangeEntry,
    StockInformation,
)
from bexvendre_mapping.testing.sandbox import Sandbox

STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


def requests_to(sandbox: Sandbox, method: str, path: str) -> int:
    return sum(1 for c in sandbox.calls("bex") if c.method == method and c.path == path)


# --- the stock-change queue -----------------------------------------------------------------


def test_the_stock_change_queue_round_trip(sandbox: Sandbox) -> None:
    """Entries come from the queue, stock information is typed, confirmed entries leave."""
    sandbox.set_bex_stock("1001_SKO_42", 7, available=5, variant_id=88)
    sandbox.set_bex_stock(
        "GIFTBOX", 120, next_receival_date=date(2026, 4, 1), next_receival_quantity=50
    )
    client = sandbox.bex_client()

    handled = []
    for entry in client.iter_queued_stock_changes():
        handled.append((entry, client.get_stock_information(entry.product_identifier)))
        client.confirm_stock_change(entry.id)

    assert [entry for entry, _ in handled] == [
        StockChangeEntry(id=1, product_identifier="1001_SKO_42"),
        StockChangeEntry(id=2, product_identifier="GIFTBOX"),
    ]
    assert handled[0][1] == StockInformation(
        product_identifier="1001_SKO_42",
        variant_id=88,
        physical_quantity=Decimal(7),
        available_quantity=Decimal(5),
    )
    assert handled[1][1].next_receival_date == date(2026, 4, 1)
    assert handled[1][1].next_receival_quantity == Decimal(50)
    assert sandbox.bex_queued_stock_changes() == []


def test_the_queue_is_read_page_by_page_while_entries_are_confirmed() -> None:
    """Five entries in pages of two: each page brings the next ones once confirmed."""
    with Sandbox(bex_queue_page_size=2) as sandbox:
        for size in range(40, 45):
            sandbox.set_bex_stock(f"1001_SKO_{size}", size)
        client = sandbox.bex_client()

        seen = []
        for entry in client.iter_queued_stock_changes():
            seen.append(entry.id)
            client.confirm_stock_change(entry.id)

        assert seen == [1, 2, 3, 4, 5]
        assert requests_to(sandbox, "GET", "WarehouseManagement/GetQueuedStockChanges") == 3


def test_the_queue_iteration_ends_when_entries_are_not_confirmed() -> None:
    """Bex repeats unconfirmed entries with hasMore true; the client stops, not loops."""
    with Sandbox(bex_queue_page_size=2) as sandbox:
        for size in range(40, 45):
            sandbox.set_bex_stock(f"1001_SKO_{size}", size)
        client = sandbox.bex_client()

        seen = [entry.id for entry in client.iter_queued_stock_changes()]

        assert seen == [1, 2]
        assert requests_to(sandbox, "GET", "WarehouseManagement/GetQueuedStockChanges") == 2
        assert len(sandbox.bex_queued_stock_changes()) == 5


def test_confirming_twice_is_harmless(sandbox: Sandbox) -> None:
    """Confirming is idempotent, which is why it may be retried."""
    entry = sandbox.set_bex_stock("MUG", 1)
    client = sandbox.bex_client()
    client.confirm_stock_change(entry)
    client.confirm_stock_change(entry)
    assert sandbox.bex_queued_stock_changes() == []


def test_stock_information_is_asked_for_at_the_clients_location(sandbox: Sandbox) -> None:
    """locationCode goes with the look-up; a location Bex does not know is NotFound."""
    sandbox.set_bex_stock("MUG", 4)
    assert sandbox.bex_client().get_stock_information("MUG").physical_quantity == 4
    assert sandbox.bex_client(location=None).get_stock_information("MUG").physical_quantity == 4
    with pytest.raises(NotFound):
        sandbox.bex_client(location="ANNAT").get_stock_information("MUG")
    with pytest.raises(NotFound):
        sandbox.bex_client().get_stock_information("MUG", location="ANNAT")
    queries = [c.query for c in sandbox.calls("bex")]
    assert queries[0] == f"locationCode={sandbox.bex_location}&productIdentifier=MUG"
    assert queries[1] == "productIdentifier=MUG"


def test_stock_information_seeded_from_a_bex_stock_row(sandbox: Sandbox) -> None:
    """A Bex stock row names the product by its model code; negative stock is kept."""
    sandbox.set_bex_stock(
        {"Artikelnr": "1001", "Storleksgrupp": "SKO", "Storlek": "44", "Lagerantal": -2}
    )
    info = sandbox.bex_client().get_stock_information("1001_SKO_44")
    assert info.physical_quantity == Decimal(-2)


def bex_server_client(server: HTTPServer, **options: object) -> BexClient:
    defaults: dict[str, object] = {
        "retries": RetryPolicy(total=0),
        "timeout": (2.0, 5.0),
        "trust_env": False,
    }
    return BexClient(server.url_for("/api/"), "key-1234", "s3cret-5678", **{**defaults, **options})  # type: ignore[arg-type]


def test_fractional_quantities_stay_exact(httpserver: HTTPServer) -> None:
    """Quantities are Decimal, parsed exactly from JSON numbers: never a float."""
    body = (
        '{"productIdentifier": "ROPE", "variantId": "v-1", "physicalQuantity": 12.345,'
        ' "availableQuantity": "10.5", "nextReceivalDate": "2026-04-01T00:00:00",'
        ' "nextReceivalQuantity": 100}'
    )
    httpserver.expect_request("/api/WarehouseManagement/GetStockinformation").respond_with_data(
        body, content_type="application/json"
    )
    with bex_server_client(httpserver) as client:
        info = client.get_stock_information("ROPE")
    assert info.physical_quantity == Decimal("12.345")
    assert type(info.physical_quantity) is Decimal
    assert info.available_quantity == Decimal("10.5")
    assert info.variant_id == "v-1"
    assert info.next_receival_date == date(2026, 4, 1)


def test_stock_information_that_does_not_load(httpserver: HTTPServer) -> None:
    """Every problem is reported, with its path."""
    httpserver.expect_request("/api/WarehouseManagement/GetStockinformation").respond_with_json(
        {"productIdentifier": "", "physicalQuantity": True}
    )
    with bex_server_client(httpserver) as client, pytest.raises(ResponseError) as caught:
        client.get_stock_information("ROPE")
    assert caught.value.mapping_error is not None
    assert caught.value.mapping_error.paths == (
        "$.productIdentifier",
        "$.physicalQuantity",
        "$.availableQuantity",
    )


def test_a_queue_entry_that_does_not_load(httpserver: HTTPServer) -> None:
    """The path points at the entry in the page."""
    httpserver.expect_request("/api/WarehouseManagement/GetQueuedStockChanges").respond_with_json(
        {"hasMore": False, "stockChangeEntries": [{"id": 1, "productIdentifier": "A"}, {"id": 2}]}
    )
    with bex_server_client(httpserver) as client, pytest.raises(ResponseError) as caught:
        list(client.iter_queued_stock_changes())
    assert caught.value.mapping_error is not None
    assert caught.value.mapping_error.paths == ("$.stockChangeEntries[1].productIdentifier",)


# --- orders ---------------------------------------------------------------------------------


def test_create_and_find_an_order(sandbox: Sandbox) -> None:
    """The order arrives in its wire form and can be found by its Ordernr."""
    client = sandbox.bex_client()
    order = bex_order("100234")

    created = client.create_order(order)

    assert created == order
    assert sandbox.bex_orders() == [bex.dump_order(order)]
    assert client.find_order("100234") == order
    assert client.find_order("999") is None


def test_create_order_writes_times_in_the_clients_time_zone() -> None:
    """A shop on Helsinki time gets Orderdatum on Helsinki's wall clock, not Stockholm's."""
    document = bex_order_doc("100240")
    order = bex.load_order(document, time_zone="Europe/Helsinki")
    with Sandbox(time_zone="Europe/Helsinki") as helsinki:
        helsinki.bex_client().create_order(order)
        (stored,) = helsinki.bex_orders()
    assert stored["Orderdatum"] == document["Orderdatum"] == "2026-03-02 10:15:00"


def test_create_order_sends_orderdatum_on_the_clients_wall_clock(httpserver: HTTPServer) -> None:
    """On the wire, not through the sandbox: a Helsinki client writes Helsinki's wall clock.

    The order's times are instants (UTC here); Bex reads Orderdatum and the payment's Datum
    as the shop's local time, so a client on Europe/Helsinki must write them an hour later
    than one on Stockholm would.
    """
    order = bex.load_order(bex_order_doc("100241"), time_zone="UTC")
    seen: list[bytes] = []

    def echo(request: Request) -> Response:
        seen.append(request.get_data())
        return Response(request.get_data(), status=201, mimetype="application/json")

    httpserver.expect_request("/api/Orders", method="POST").respond_with_handler(echo)
    with bex_server_client(httpserver, time_zone="Europe/Helsinki") as client:
        created = client.create_order(order)

    (body,) = seen
    sent = json.loads(body)
    assert sent["Orderdatum"] == "2026-03-02 12:15:00"
    assert sent["Butik & webbetalningar"][0]["Datum"] == "2026-03-02 12:16:12"
    # The echo is read back on the same wall clock: the same instants.
    assert created.order_date == order.order_date == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    assert created.order_date.utcoffset() == timedelta(hours=2)


def test_find_order_reads_orderdatum_on_the_clients_wall_clock(httpserver: HTTPServer) -> None:
    """Bex's 10:15 is Helsinki's 10:15 for a Helsinki client: 08:15 UTC."""
    httpserver.expect_request("/api/Orders/100234").respond_with_json(bex_order_doc("100234"))
    with bex_server_client(httpserver, time_zone="Europe/Helsinki") as client:
        found = client.find_order("100234")
    assert found is not None
    assert found.order_date == datetime(2026, 3, 2, 8, 15, tzinfo=UTC)


def test_the_since_filters_are_the_clients_wall_clock(httpserver: HTTPServer) -> None:
    """since and changedSince go as Helsinki's wall clock for a Helsinki client."""
    empty = {"hasMore": False, "items": []}
    httpserver.expect_request("/api/OrderStatuses").respond_with_json(empty)
    httpserver.expect_request("/api/Articles").respond_with_json(empty)
    moment = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with bex_server_client(httpserver, time_zone="Europe/Helsinki") as client:
        assert list(client.iter_order_statuses(since=moment)) == []
        assert list(client.iter_article_documents(changed_since=moment)) == []
    assert [
        request.args.get(name)
        for (request, _), name in zip(httpserver.log, ("since", "changedSince"), strict=True)
    ] == ["2026-03-02 10:00:00", "2026-03-02 10:00:00"]


def test_create_order_returns_an_existing_order_on_409(sandbox: Sandbox) -> None:
    """Creating an order Bex already has is answered with the one Bex has."""
    sandbox.add_bex_order(bex_order_doc("100234"))
    client = sandbox.bex_client()

    assert client.create_order(bex_order("100234")).number == "100234"
    assert len(sandbox.bex_orders()) == 1


def test_a_response_lost_after_commit_never_creates_a_second_order(sandbox: Sandbox) -> None:
    """Bex stores the order and the connection drops: the client looks it up, no re-POST."""
    sandbox.inject("bex", method="POST", path="Orders", drop_after_commit=True)
    client = sandbox.bex_client()

    created = client.create_order(bex_order("100234"))

    assert created.number == "100234"
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["100234"]
    assert requests_to(sandbox, "POST", "Orders") == 1
    assert requests_to(sandbox, "GET", "Orders/100234") == 1
    assert sandbox.calls("bex")[0].status is None  # no answer was sent


def test_a_failed_create_is_looked_up_then_repeated(sandbox: Sandbox) -> None:
    """A 503 to the POST (nothing stored): look-up finds nothing, the POST is repeated once."""
    sandbox.inject("bex", method="POST", path="Orders", status=503)
    client = sandbox.bex_client()

    client.create_order(bex_order("100234"))

    assert len(sandbox.bex_orders()) == 1
    assert [(c.method, c.status) for c in sandbox.calls("bex")] == [
        ("POST", 503),
        ("GET", 404),
        ("POST", 201),
    ]


def test_a_create_that_keeps_failing_gives_up(sandbox: Sandbox) -> None:
    """After the policy's repetitions the ServerError is raised; still no order."""
    sandbox.inject("bex", method="POST", path="Orders", status=500, times=10)
    client = sandbox.bex_client(retries=RetryPolicy(total=2, backoff_factor=0, jitter=0))

    with pytest.raises(ServerError):
        client.create_order(bex_order("100234"))

    assert requests_to(sandbox, "POST", "Orders") == 3
    assert sandbox.bex_orders() == []


def test_an_invalid_order_is_rejected_with_its_problems(sandbox: Sandbox) -> None:
    """The sandbox checks what arrives with the library's loaders (strictly)."""
    # Models do not re-validate when built or evolved; the server's loader catches it.
    broken = attrs.evolve(bex_order("100234"), shipping_id="")
    client = sandbox.bex_client()

    with pytest.raises(RequestRejected) as caught:
        client.create_order(broken)

    assert caught.value.status == 400
    assert "$.FraktID" in (caught.value.body_excerpt or "")
    assert sandbox.bex_orders() == []


def test_order_statuses_since(sandbox: Sandbox) -> None:
    """Statuses changed at or after `since`, as models."""
    sandbox.set_bex_order_status(
        "1", "MOTTAGEN", changed_at=datetime(2026, 3, 1, 9, 0, tzinfo=STOCKHOLM)
    )
    sandbox.set_bex_order_status(
        {"Ordernr": "2", "Status": "SKICKAD"},
        changed_at=datetime(2026, 3, 3, 9, 0, tzinfo=STOCKHOLM),
    )
    client = sandbox.bex_client()

    assert [s.order_number for s in client.iter_order_statuses()] == ["1", "2"]
    since = datetime(2026, 3, 2, 0, 0, tzinfo=STOCKHOLM)
    assert list(client.iter_order_statuses(since)) == [
        bex.load_order_status({"Ordernr": "2", "Status": "SKICKAD"})
    ]
    assert sandbox.calls("bex")[-1].query == "since=2026-03-02+00%3A00%3A00&offset=0&limit=100"


# --- articles -------------------------------------------------------------------------------


def test_iter_articles_pages_and_filters(sandbox: Sandbox) -> None:
    """Five articles in pages of two; changed_since filters by when they changed."""
    for index in range(5):
        sandbox.add_bex_article(
            bex_article_doc(f"A{index}"),
            changed_at=datetime(2026, 3, 1 + index, 12, 0, tzinfo=STOCKHOLM),
        )
    client = sandbox.bex_client(page_size=2)

    assert [a.article for a in client.iter_articles()] == ["A0", "A1", "A2", "A3", "A4"]
    assert requests_to(sandbox, "GET", "Articles") == 3
    since = datetime(2026, 3, 4, 0, 0, tzinfo=STOCKHOLM)
    changed = list(client.iter_articles(changed_since=since, page_size=10))
    assert [a.article for a in changed] == ["A3", "A4"]
    assert all(isinstance(a, bex.Article) for a in changed)


def test_an_empty_page_with_has_more_stops_with_an_error(httpserver: HTTPServer) -> None:
    """A server saying hasMore with nothing in the page never loops forever."""
    httpserver.expect_request("/api/Articles").respond_with_json({"hasMore": True, "items": []})
    with bex_server_client(httpserver) as client, pytest.raises(ResponseError, match="more"):
        list(client.iter_articles())


# --- gift cards -----------------------------------------------------------------------------


def test_gift_card_lifecycle(sandbox: Sandbox) -> None:
    """Look up, reserve, redeem: the reservation is Inlöst and the balance drawn."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1", "500.00"))
    client = sandbox.bex_client()

    card = client.get_gift_card("PK-1")
    assert card.balance == Decimal("500.00")
    assert card.status is bex.GiftCardStatus.ACTIVE

    reservation = client.reserve_gift_card("PK-1", Decimal("120.50"), "checkout-77")
    assert reservation.status is bex.ReservationStatus.RESERVED
    assert reservation.amount == Decimal("120.50")
    assert client.get_gift_card("PK-1").status is bex.GiftCardStatus.RESERVED

    redeemed = client.redeem_gift_card(reservation.reservation_id)
    assert redeemed.status is bex.ReservationStatus.REDEEMED
    assert client.redeem_gift_card(reservation.reservation_id) == redeemed  # idempotent
    after = client.get_gift_card("PK-1")
    assert (after.balance, after.status) == (Decimal("379.50"), bex.GiftCardStatus.ACTIVE)

    with pytest.raises(RequestRejected) as caught:
        client.release_gift_card(reservation.reservation_id)
    assert caught.value.status == 409


def test_release_frees_the_amount(sandbox: Sandbox) -> None:
    """A released reservation leaves the balance whole and the card active."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1", "100.00"))
    client = sandbox.bex_client()
    reservation = client.reserve_gift_card("PK-1", Decimal("100.00"), "checkout-1")

    released = client.release_gift_card(reservation.reservation_id)

    assert released.status is bex.ReservationStatus.RELEASED
    assert client.release_gift_card(reservation.reservation_id) == released
    assert sandbox.bex_gift_cards() == [gift_card_doc("PK-1", "100.00")]


def test_reserving_twice_under_one_reference_gives_one_reservation(sandbox: Sandbox) -> None:
    """The reservation is keyed by card number and reference."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1"))
    client = sandbox.bex_client()

    first = client.reserve_gift_card("PK-1", Decimal("50.00"), "checkout-1")
    second = client.reserve_gift_card("PK-1", Decimal("50.00"), "checkout-1")

    assert first == second
    assert len(sandbox.reservations()) == 1


def test_a_reservation_response_lost_after_commit_leaves_one_reservation(
    sandbox: Sandbox,
) -> None:
    """The reservation is made, the connection drops: found by reference, not made twice."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1"))
    fault = sandbox.inject(
        "bex", method="POST", path="GiftCardReservations", drop_after_commit=True
    )
    client = sandbox.bex_client()

    reservation = client.reserve_gift_card("PK-1", Decimal("75.00"), "order-100234")

    assert fault.hits == 1
    assert reservation.reference == "order-100234"
    assert sandbox.reservations() == [
        {
            "ReservationsID": reservation.reservation_id,
            "Nummer": "PK-1",
            "Belopp": "75.00",
            "Referens": "order-100234",
            "Status": "Reserverad",
        }
    ]
    assert requests_to(sandbox, "POST", "GiftCardReservations") == 1
    assert requests_to(sandbox, "GET", "GiftCardReservations") == 1


def test_a_reservation_beyond_the_balance_is_refused(sandbox: Sandbox) -> None:
    """409, and nothing reserved."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1", "10.00"))
    with pytest.raises(RequestRejected) as caught:
        sandbox.bex_client().reserve_gift_card("PK-1", Decimal("10.01"), "c-1")
    assert caught.value.status == 409
    assert sandbox.reservations() == []


def test_an_unknown_gift_card_is_not_found(sandbox: Sandbox) -> None:
    """404 for the card, for a reservation of it, and for an unknown reservation."""
    client = sandbox.bex_client()
    with pytest.raises(NotFound):
        client.get_gift_card("nope")
    with pytest.raises(NotFound):
        client.reserve_gift_card("nope", Decimal(1), "c-1")
    with pytest.raises(NotFound):
        client.redeem_gift_card("R999")


def test_reservation_amounts_are_money(sandbox: Sandbox) -> None:
    """A float is refused before anything is sent; so is a third decimal."""
    client = sandbox.bex_client()
    with pytest.raises(TypeError, match="float"):
        client.reserve_gift_card("PK-1", 10.5, "c-1")  # type: ignore[arg-type]
    with pytest.raises(MappingError, match="2 decimals"):
        client.reserve_gift_card("PK-1", Decimal("10.005"), "c-1")
    assert sandbox.calls() == []


# --- bonus, credentials, endpoints ----------------------------------------------------------


def test_bonus_balance(sandbox: Sandbox) -> None:
    """Bonus points of a customer, and NotFound for an unknown one."""
    sandbox.set_bex_bonus("5512", 340)
    client = sandbox.bex_client()
    assert client.get_bonus_balance("5512") == bex.load_bonus_balance(
        {"Kundnr": "5512", "Bonuspoäng": 340}
    )
    with pytest.raises(NotFound):
        client.get_bonus_balance("1")


def test_path_values_are_quoted(sandbox: Sandbox) -> None:
    """A value with a slash or a space stays one path segment."""
    sandbox.set_bex_bonus("55 12", 1)
    assert sandbox.bex_client().get_bonus_balance("55 12").points == 1
    assert sandbox.bex_client().find_order("a/b") is None


def test_custom_endpoints() -> None:
    """Paths Bex does not publish come from BexEndpoints; the sandbox can serve others too."""
    endpoints = BexEndpoints(order="Order/Get/{ordernr}", orders="Order/Create")
    with Sandbox(bex_endpoints=endpoints) as sandbox:
        client = sandbox.bex_client(endpoints=endpoints)
        client.create_order(bex_order("7"))
        assert client.find_order("7") is not None
        assert [c.path for c in sandbox.calls()] == ["Order/Create", "Order/Get/7"]


def test_bex_client_needs_credentials() -> None:
    """A key without a secret is a programming error."""
    with pytest.raises(TypeError, match="api_key and secret"):
        BexClient(api_key="key")


def test_bex_client_defaults_to_the_public_base_url() -> None:
    """The default base URL is Bex's public one."""
    with BexClient(api_key="key", secret="not-a-real-secret") as client:  # noqa: S106
        assert client.base_url == "https://api.bexonline.com/api/"


def test_every_method_gets_json_documents(httpserver: HTTPServer) -> None:
    """The client asks for JSON and sends JSON."""
    httpserver.expect_request(
        "/api/Orders",
        method="POST",
        headers={"Accept": "application/json", "Content-Type": "application/json; charset=utf-8"},
    ).respond_with_data(json.dumps(bex_order_doc("1")), status=201)
    with bex_server_client(httpserver) as client:
        assert client.create_order(bex_order("1")).number == "1"


# --- Warehouse documents, queue entries and creates against odd servers ---------------------------


NO_RETRIES = RetryPolicy(total=0)


def bex_client_of(server: HTTPServer, **options: Any) -> BexClient:
    defaults: dict[str, Any] = {"retries": NO_RETRIES, "timeout": (2.0, 5.0), "trust_env": False}
    return BexClient(server.url_for("/api/"), "key-1234", "s3cret-5678", **{**defaults, **options})


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


def test_strict_clients_refuse_unknown_warehouse_keys(httpserver: HTTPServer) -> None:
    """With strict=True, extra keys in queue entries and stock information are problems."""
    httpserver.expect_request("/api/WarehouseManagement/GetQueuedStockChanges").respond_with_json(
        {"hasMore": False, "stockChangeEntries": [{"id": 1, "productIdentifier": "A", "x": 1}]}
    )
    httpserver.expect_request("/api/WarehouseManagement/GetStockinformation").respond_with_json(
        {"productIdentifier": "A", "physicalQuantity": 1, "availableQuantity": 1, "bin": "B7"}
    )
    with bex_client_of(httpserver, strict=True) as client:
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
    with bex_client_of(httpserver) as client:
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
    with bex_client_of(httpserver) as client:
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


def test_a_created_order_answered_with_an_empty_body_is_the_order_sent(
    httpserver: HTTPServer,
) -> None:
    """Bex may answer a create with 201 and no body: the order sent is returned."""
    httpserver.expect_request("/api/Orders", method="POST").respond_with_data("", status=201)
    order = bex_order("4242")
    with bex_client_of(httpserver) as client:
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
    with bex_client_of(httpserver) as client:
        found = client.find_gift_card_reservation("PK-1", "order-1")
        assert found is not None
        assert found.reservation_id == "R3"
        assert client.find_gift_card_reservation("PK-2", "order-2") is None
