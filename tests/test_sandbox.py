"""The sandbox itself: lifecycle, what it checks, its faults, its seeding and its record."""

from __future__ import annotations

import decimal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
from tests.http_support import (
    PRODUCT_RECORD_KEYS,
    bex_order_doc,
    gift_card_doc,
    vendre_order_doc,
    vendre_product,
    vendre_product_record,
)

from bexvendre_mapping import MappingError, bex, vendre
from bexvendre_mapping._wire import parse_document
from bexvendre_mapping.http import NotFound, RequestRejected, ServerError, TransportError
from bexvendre_mapping.testing.sandbox import Call, Fault, RateLimit, Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


@pytest.fixture
def raw() -> Iterator[requests.Session]:
    """A plain requests session, to talk to the sandbox without the library's clients."""
    with requests.Session() as session:
        session.trust_env = False
        yield session


def port_is_open(url: str) -> bool:
    host, port = url.split("//")[1].split("/", maxsplit=1)[0].split(":")
    with socket.socket() as probe:
        return probe.connect_ex((host, int(port))) == 0


# --- lifecycle ------------------------------------------------------------------------------


def test_servers_listen_on_loopback_at_free_ports(sandbox: Sandbox) -> None:
    """Two servers on 127.0.0.1, each at its own port, with the documented base paths."""
    assert sandbox.vendre_url.startswith("http://127.0.0.1:")
    assert sandbox.vendre_url.endswith("/API/1/")
    assert sandbox.bex_url.startswith("http://127.0.0.1:")
    assert sandbox.bex_url.endswith("/api/")
    assert sandbox.vendre_url.split("/")[2] != sandbox.bex_url.split("/")[2]


def test_stopping_closes_ports_and_joins_threads() -> None:
    """After the with block, nothing listens and no thread of the sandbox is left."""
    before = set(threading.enumerate())
    with Sandbox() as sandbox:
        urls = [sandbox.vendre_url, sandbox.bex_url]
        sandbox.add_vendre_order(vendre_order_doc(1))
        assert len(list(sandbox.vendre_client().iter_orders())) == 1
        assert all(port_is_open(url) for url in urls)
    assert not any(port_is_open(url) for url in urls)
    left = set(threading.enumerate()) - before
    assert {t.name for t in left} <= {"bexvendre-deadlines"}  # the clients' one watchdog


def test_stopping_does_not_wait_for_slow_answers() -> None:
    """A request held by a long delay is let go when the sandbox stops."""
    with Sandbox() as sandbox, ThreadPoolExecutor(1) as pool:
        fault = sandbox.inject("bex", delay=60)
        client = sandbox.bex_client(retries=0)
        pending = pool.submit(client.get_bonus_balance, "1")
        while not fault.hits:
            time.sleep(0.01)
        started = time.monotonic()
        sandbox.stop()
        assert time.monotonic() - started < 2
        # The delay was cut short: the request got its ordinary answer.
        with pytest.raises(NotFound):
            pending.result(timeout=5)


def test_urls_need_a_running_sandbox() -> None:
    """Before start, asking for a URL is an error that says what to do."""
    sandbox = Sandbox()
    with pytest.raises(RuntimeError, match="not running"):
        _ = sandbox.vendre_url
    assert "stopped" in repr(sandbox)


def test_a_sandbox_cannot_start_twice(sandbox: Sandbox) -> None:
    """start() on a running sandbox is an error."""
    with pytest.raises(RuntimeError, match="running already"):
        sandbox.start()


def test_a_sandbox_can_restart() -> None:
    """stop() then start() serves again, at new ports, with the same data."""
    sandbox = Sandbox()
    with sandbox:
        sandbox.set_bex_bonus("1", 10)
    with sandbox:
        assert sandbox.bex_client().get_bonus_balance("1").points == 10


def test_credentials_are_random_per_sandbox() -> None:
    """Two sandboxes do not share keys."""
    first, second = Sandbox(), Sandbox()
    assert first.vendre_api_key != second.vendre_api_key
    assert first.bex_secret != second.bex_secret


def test_clients_are_closed_when_the_sandbox_stops() -> None:
    """A client the sandbox handed out cannot be left open by a forgetful test."""
    with Sandbox() as sandbox:
        client = sandbox.bex_client()
        sandbox.set_bex_bonus("1", 1)
        client.get_bonus_balance("1")
    # The sandbox closed it; using it again fails to connect (the server is gone).
    with pytest.raises(TransportError):
        client.get_bonus_balance("1")
    client.close()


def test_example_seeding() -> None:
    """seed_examples=True seeds the shipped examples, consistent with each other."""
    with Sandbox(seed_examples=True) as sandbox:
        assert [o["id"] for o in sandbox.vendre_orders()] == [100234]
        queued = [e["productIdentifier"] for e in sandbox.bex_queued_stock_changes()]
        assert queued == ["1001_SKO_42", "1001_SKO_43", "1001_SKO_44", "JKT_001_KL_M", "GIFTBOX"]
        (reservation,) = sandbox.reservations()
        order = sandbox.vendre_orders()[0]
        assert reservation["ReservationsID"] == order["gift_cards"][0]["reservation_id"]
        assert sandbox.bex_gift_cards()[0]["Status"] == "Reserverad"
        with sandbox.bex_client() as client:
            assert [a.article for a in client.iter_articles()] == ["1001"]


# --- what the APIs check --------------------------------------------------------------------


def test_missing_credentials_get_401(sandbox: Sandbox, raw: requests.Session) -> None:
    """Both APIs refuse requests without credentials; Bex asks for Basic."""
    vendre = raw.get(sandbox.vendre_url + "orders")
    bex_answer = raw.get(sandbox.bex_url + "Customers/1/Bonus")
    assert (vendre.status_code, bex_answer.status_code) == (401, 401)
    assert bex_answer.headers["WWW-Authenticate"].startswith("Basic")


def test_a_document_that_does_not_load_gets_400_with_every_problem(
    sandbox: Sandbox, raw: requests.Session
) -> None:
    """The library's loaders check what arrives; every problem comes back with its path."""
    order = bex_order_doc("1")
    order["Valuta"] = "kronor"
    order["Artiklar"][0]["Antal"] = 0
    order["Extra"] = True
    answer = raw.post(
        sandbox.bex_url + "Orders",
        json=order,
        auth=(sandbox.bex_api_key, sandbox.bex_secret),
    )
    assert answer.status_code == 400
    paths = [p["path"] for p in answer.json()["problems"]]
    assert sorted(paths) == ["$.Artiklar[0].Antal", "$.Extra", "$.Valuta"]
    assert sandbox.bex_orders() == []


def test_a_save_with_a_bad_field_is_refused_whole(sandbox: Sandbox, raw: requests.Session) -> None:
    """All or nothing: one bad field, nothing saved; Vendre's error shape names the field."""
    before = sandbox.add_vendre_product(vendre_product_record(4))
    answer = raw.put(
        sandbox.vendre_url + "products/4",
        json={"quantity": 3, "warehouses": [{"external_id": "W1", "quantity": "three"}]},
        headers={"X-Authorization": sandbox.vendre_api_key},
    )
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert error["status"] == "400"
    assert error["code"] == "invalid_value"
    assert error["source"] == {"parameter": "warehouses[0].quantity"}
    assert sandbox.vendre_products() == [before]
    assert sandbox.vendre_stock() == []


def test_an_unknown_path_or_method_is_404_or_405(sandbox: Sandbox, raw: requests.Session) -> None:
    """Routing errors come back as JSON errors."""
    auth = (sandbox.bex_api_key, sandbox.bex_secret)
    assert raw.get(sandbox.bex_url + "Nothing", auth=auth).status_code == 404
    assert raw.delete(sandbox.bex_url + "Orders", auth=auth).status_code == 405


def test_bad_paging_parameters_are_400(sandbox: Sandbox, raw: requests.Session) -> None:
    """page_size must be a positive integer."""
    answer = raw.get(
        sandbox.vendre_url + "orders",
        params={"page_size": "0"},
        headers={"X-Authorization": sandbox.vendre_api_key},
    )
    assert answer.status_code == 400


# --- faults ---------------------------------------------------------------------------------


def test_a_fault_applies_to_its_method_and_path_prefix_only(sandbox: Sandbox) -> None:
    """A fault on PUT Gift... leaves a GET of gift cards and other paths alone."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1"))
    sandbox.set_bex_bonus("1", 1)
    fault = sandbox.inject("bex", method="put", path="/GiftCardReservations", status=500)
    client = sandbox.bex_client()

    client.get_gift_card("PK-1")
    client.get_bonus_balance("1")
    reservation = client.reserve_gift_card("PK-1", Decimal("1.00"), "c-1")
    assert fault.hits == 0
    with pytest.raises(ServerError):
        client.redeem_gift_card(reservation.reservation_id)
    assert (fault.hits, fault.remaining) == (1, 0)


def test_a_body_fault_answers_raw_bytes(sandbox: Sandbox, raw: requests.Session) -> None:
    """body= answers those bytes, with status 200 unless given."""
    sandbox.inject("vendre", body=b"<html>proxy error</html>", status=502)
    answer = raw.get(sandbox.vendre_url + "orders")
    assert (answer.status_code, answer.content) == (502, b"<html>proxy error</html>")


def test_a_fault_sends_the_headers_given(sandbox: Sandbox, raw: requests.Session) -> None:
    """headers= go with a status or a body, and win over retry_after."""
    sandbox.inject("vendre", status=503, retry_after=1, headers={"Retry-After": "soon"})
    sandbox.inject("vendre", body=b"{}", headers={"X-Test": "1"})
    first, second = (raw.get(sandbox.vendre_url + "orders") for _ in range(2))
    assert (first.status_code, first.headers["Retry-After"]) == (503, "soon")
    assert (second.status_code, second.headers["X-Test"]) == (200, "1")


def test_a_stored_document_with_a_lone_surrogate_is_served_escaped(
    sandbox: Sandbox, raw: requests.Session
) -> None:
    """Such a document has no UTF-8 form: it is served with a \\u escape, not as a 500."""
    document = vendre_order_doc(77)
    document["customer_address"]["name"] = "Astrid \ud83d"
    sandbox.add_vendre_order_document(
        document, order_id=77, date_added=datetime(2026, 10, 1, tzinfo=UTC)
    )
    answer = raw.get(
        sandbox.vendre_url + "orders", headers={"X-Authorization": sandbox.vendre_api_key}
    )
    assert answer.status_code == 200
    assert b'"Astrid \\ud83d"' in answer.content
    assert answer.json()["list"][0]["customer_address"]["name"] == "Astrid \ud83d"


def test_faults_are_taken_in_order_and_counted(sandbox: Sandbox, raw: requests.Session) -> None:
    """The first matching fault with uses left applies; hits counts them."""
    first = sandbox.inject("vendre", status=503, times=2)
    second = sandbox.inject("vendre", status=429)
    codes = [raw.get(sandbox.vendre_url + "orders").status_code for _ in range(4)]
    assert codes == [503, 503, 429, 401]
    assert (first.hits, second.hits) == (2, 1)
    sandbox.clear_faults()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"system": "shop", "status": 500}, "system"),
        ({"system": "bex"}, "needs"),
        ({"system": "bex", "status": 500, "times": 0}, "times"),
        ({"system": "bex", "status": 500, "drop_after_commit": True}, "drop_after_commit"),
        ({"system": "bex", "retry_after": 1, "delay": 1}, "retry_after"),
        ({"system": "bex", "headers": {"Retry-After": "1"}, "delay": 1}, "headers"),
    ],
)
def test_faults_must_make_sense(arguments: dict[str, object], message: str) -> None:
    """inject refuses arguments that describe no fault, or two at once."""
    with pytest.raises(ValueError, match=message):
        Sandbox().inject(**arguments)  # type: ignore[arg-type]


def test_inject_returns_a_fault_record() -> None:
    """The fault is a plain record of what was asked."""
    fault = Sandbox().inject("vendre", path="orders", status=503, retry_after=2, times=3)
    assert fault == Fault(system="vendre", path="orders", status=503, retry_after=2, times=3)


# --- seeding and the record -----------------------------------------------------------------


def test_seeding_refuses_documents_that_do_not_load(sandbox: Sandbox) -> None:
    """A bad seed is the test author's mistake, reported with the library's error."""
    with pytest.raises(MappingError):
        sandbox.add_vendre_order({"id": "x"})
    with pytest.raises(TypeError):
        sandbox.set_bex_stock("MUG")
    with pytest.raises(TypeError):
        sandbox.set_bex_order_status("1")
    with pytest.raises(TypeError):
        sandbox.set_bex_bonus({"Kundnr": "1", "Bonuspoäng": 1}, 5)


def test_seeds_accept_models_and_json(sandbox: Sandbox) -> None:
    """Documents may be mappings, JSON text or models; all are stored in wire form."""
    order = sandbox.add_bex_order(bex.load_order(bex_order_doc("1")))
    card = sandbox.add_bex_gift_card(bex.dumps_gift_card(bex.load_gift_card(gift_card_doc())))
    assert order["Ordernr"] == "1"
    assert card == gift_card_doc()
    assert sandbox.bex_orders() == [order]


def test_what_arrived_is_a_copy(sandbox: Sandbox) -> None:
    """Changing a returned document does not change the sandbox."""
    sandbox.add_bex_order(bex_order_doc("1"))
    sandbox.bex_orders()[0]["Ordernr"] = "2"
    assert sandbox.bex_orders()[0]["Ordernr"] == "1"


def test_bex_refuses_an_ordernr_twice_unless_told_not_to(raw: requests.Session) -> None:
    """By default a second POST of an ``Ordernr`` is a 409; with
    ``bex_unique_order_numbers=False`` it is stored beside the first, so a double is seen."""
    body = bex.dumps_order(bex.load_order(bex_order_doc("7")))
    for unique, second, stored in ((True, 409, 1), (False, 201, 2)):
        with Sandbox(bex_unique_order_numbers=unique) as sandbox:
            auth = (sandbox.bex_api_key, sandbox.bex_secret)
            headers = {"Content-Type": "application/json"}
            answers = [
                raw.post(sandbox.bex_url + "Orders", data=body, auth=auth, headers=headers)
                for _ in range(2)
            ]
            assert [a.status_code for a in answers] == [201, second]
            assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["7"] * stored


def test_calls_record_every_request(sandbox: Sandbox) -> None:
    """Method, relative path, query and status of each request, per system."""
    sandbox.set_bex_bonus("1", 1)
    sandbox.bex_client().get_bonus_balance("1")
    list(sandbox.vendre_client().iter_orders(page_size=5))

    assert sandbox.calls("bex") == [
        Call(
            system="bex", method="GET", path="Customers/1/Bonus", query="", status=200, fault=False
        )
    ]
    assert sandbox.calls("vendre")[0].query == "page_size=5&offset=0"
    assert len(sandbox.calls()) == 2


def test_reset_forgets_everything(sandbox: Sandbox) -> None:
    """reset() empties data, faults and calls; the servers keep running."""
    sandbox.add_vendre_order(vendre_order_doc(1))
    sandbox.set_bex_stock("MUG", 1)
    sandbox.inject("bex", status=500, times=5)
    sandbox.reset()
    assert sandbox.vendre_orders() == []
    assert sandbox.bex_queued_stock_changes() == []
    assert sandbox.calls() == []
    assert list(sandbox.bex_client().iter_queued_stock_changes()) == []


def test_gift_card_arithmetic_ignores_a_low_default_precision(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server's threads take DefaultContext; balances are still exact to the öre."""
    monkeypatch.setattr(decimal.DefaultContext, "prec", 3)  # for threads started from now
    with Sandbox() as sandbox:
        sandbox.add_bex_gift_card(gift_card_doc("PK-1", "5000.00"))
        client = sandbox.bex_client()
        first = client.reserve_gift_card("PK-1", Decimal("1234.56"), "c-1")
        with pytest.raises(RequestRejected, match=r"3765\.44 free"):
            client.reserve_gift_card("PK-1", Decimal("3765.45"), "c-2")
        client.redeem_gift_card(first.reservation_id)
        assert client.get_gift_card("PK-1").balance == Decimal("3765.44")


def test_concurrent_clients_are_served(sandbox: Sandbox) -> None:
    """The servers are threaded and the data locked: parallel reservations all land."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1", "1000.00"))
    client = sandbox.bex_client()
    amount = Decimal("10.00")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: client.reserve_gift_card("PK-1", amount, f"c-{n}"), range(40)))

    assert len(sandbox.reservations()) == 40
    assert {r["Referens"] for r in sandbox.reservations()} == {f"c-{n}" for n in range(40)}


# --- The sandbox's answers to odd requests, and its seeding helpers' checks -----------------------


def vendre_headers(sandbox: Sandbox) -> dict[str, str]:
    return {"X-Authorization": sandbox.vendre_api_key}


def bex_auth(sandbox: Sandbox) -> tuple[str, str]:
    return (sandbox.bex_api_key, sandbox.bex_secret)


def answer(response: requests.Response) -> tuple[int, Any]:
    return response.status_code, response.json()


def test_the_queue_page_size_must_be_positive() -> None:
    """A stock-change queue page holds at least one entry."""
    with pytest.raises(ValueError, match="bex_queue_page_size must be at least 1, got 0"):
        Sandbox(bex_queue_page_size=0)


def test_a_sandbox_that_cannot_listen_fails_to_start_cleanly() -> None:
    """An address it cannot bind: start() raises, and nothing is left running."""
    before = {t.name for t in threading.enumerate()}
    sandbox = Sandbox(host="192.0.2.1")  # TEST-NET-1: never a local address
    # werkzeug turns the bind error into SystemExit(1); either way start() must not succeed.
    with pytest.raises((OSError, SystemExit)):
        sandbox.start()
    assert repr(sandbox) == "<Sandbox stopped vendre=None bex=None>"
    assert {t.name for t in threading.enumerate()} == before


def test_stock_quantities_are_whole_numbers() -> None:
    """Fractional or boolean quantities are refused when seeding stock."""
    sandbox = Sandbox()
    with pytest.raises(TypeError, match=r"quantities are whole numbers, got 1\.5"):
        sandbox.set_bex_stock("1001_SKO_42", 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got True"):
        sandbox.set_bex_stock("1001_SKO_42", 3, available=True)


def test_a_reservation_needs_its_card() -> None:
    """A reservation can only be seeded for a gift card the sandbox holds."""
    reservation = {
        "ReservationsID": "R1",
        "Nummer": "PK-404",
        "Belopp": "10.00",
        "Referens": "order-1",
        "Status": "Reserverad",
    }
    with pytest.raises(KeyError, match="no gift card 'PK-404'"):
        Sandbox().add_bex_gift_card_reservation(reservation)


def test_bonus_can_be_seeded_from_a_model(sandbox: Sandbox) -> None:
    """set_bex_bonus takes a BonusBalance model alone, and the client reads it back."""
    balance = bex.BonusBalance(customer_number="5512", points=340)
    assert sandbox.set_bex_bonus(balance) == {"Kundnr": "5512", "Bonuspoäng": 340}
    assert sandbox.bex_client().get_bonus_balance("5512") == balance


def test_a_path_outside_both_apis_is_404(sandbox: Sandbox, raw: requests.Session) -> None:
    """A request beside the API's base path gets a JSON 404 naming the path."""
    root = sandbox.vendre_url.split("/API/")[0]
    assert answer(raw.get(root + "/status")) == (
        404,
        {"errors": [{"status": "404", "code": "not_found", "title": "no API at /status"}]},
    )
    bex_root = sandbox.bex_url.split("/api/")[0]
    assert answer(raw.get(bex_root + "/status")) == (404, {"error": "no API at /status"})


def test_paging_parameters_have_defaults(sandbox: Sandbox, raw: requests.Session) -> None:
    """Without page_size and offset, the orders list uses its defaults."""
    response = raw.get(sandbox.vendre_url + "orders", headers=vendre_headers(sandbox))
    assert answer(response) == (200, {"list": [], "remaining": 0})


def test_a_bad_since_filter_is_400(sandbox: Sandbox, raw: requests.Session) -> None:
    """A since filter that is not a date-time is refused, naming the parameter."""
    response = raw.get(
        sandbox.vendre_url + "orders",
        params={"date_added_from": "yesterday"},
        headers=vendre_headers(sandbox),
    )
    status, body = answer(response)
    assert status == 400
    (error,) = body["errors"]
    assert error["title"].startswith("date_added_from: $: expected a date-time")
    assert error["source"] == {"parameter": "date_added_from"}


def test_the_ids_filter_must_be_integers(sandbox: Sandbox, raw: requests.Session) -> None:
    """ids=abc is a 400, for orders and products alike."""
    expected = {
        "errors": [
            {
                "status": "400",
                "code": "bad_request",
                "title": "ids must be integers, got '1,abc'",
                "source": {"parameter": "ids"},
            }
        ]
    }
    for resource in ("orders", "products"):
        response = raw.get(
            sandbox.vendre_url + resource,
            params={"ids": "1,abc"},
            headers=vendre_headers(sandbox),
        )
        assert answer(response) == (400, expected)


def test_a_status_update_must_load_and_match_the_url(
    sandbox: Sandbox, raw: requests.Session
) -> None:
    """A body that is not JSON, or an update for another order than the URL's, is a 400."""
    url = sandbox.vendre_url + "orders/7/status"
    not_json = raw.put(url, data=b"status=3", headers=vendre_headers(sandbox))
    other_order = raw.put(url, json={"id": 8, "status": 3}, headers=vendre_headers(sandbox))
    status, body = answer(not_json)
    assert (status, body["errors"][0]["title"]) == (400, "the document does not load")
    assert "source" not in body["errors"][0]  # the whole body is at fault
    status, body = answer(other_order)
    assert (status, body["errors"][0]["title"]) == (400, "the update is for order 8, the URL for 7")
    assert body["errors"][0]["source"] == {"parameter": "id"}
    assert sandbox.vendre_order_statuses() == []


def test_product_bodies_must_be_json_objects(sandbox: Sandbox, raw: requests.Session) -> None:
    """A create or save whose body is not JSON, or not an object, is a 400; no collection PUT."""
    sandbox.add_vendre_product(vendre_product_record(1))
    headers = vendre_headers(sandbox)
    not_json = raw.post(sandbox.vendre_url + "products", data=b"[{", headers=headers)
    not_object = raw.put(sandbox.vendre_url + "products/1", json=[1], headers=headers)
    collection = raw.put(sandbox.vendre_url + "products", json=[], headers=headers)
    assert answer(not_json)[0] == 400
    assert answer(not_json)[1]["errors"][0]["title"] == "the document does not load"
    assert answer(not_object)[1]["errors"][0]["title"] == "expected a JSON object"
    assert answer(collection)[0] == 405
    assert [p["id"] for p in sandbox.vendre_products()] == [1]


def test_stock_information_needs_a_known_product(sandbox: Sandbox, raw: requests.Session) -> None:
    """Without productIdentifier it is a 400; an unknown product is a 404."""
    url = sandbox.bex_url + "WarehouseManagement/GetStockinformation"
    assert answer(raw.get(url, auth=bex_auth(sandbox))) == (
        400,
        {"error": "productIdentifier is required"},
    )
    with pytest.raises(NotFound, match="no product 'NOPE'"):
        sandbox.bex_client().get_stock_information("NOPE")


def test_confirming_checks_the_entry(sandbox: Sandbox, raw: requests.Session) -> None:
    """A confirmation must be JSON with an integer entryId that was queued."""
    url = sandbox.bex_url + "WarehouseManagement/ConfirmStockChange"
    entry = sandbox.set_bex_stock("1001_SKO_42", 3)
    not_json = raw.put(url, data=b"entryId=1", auth=bex_auth(sandbox))
    as_string = raw.put(url, json={"entryId": str(entry)}, auth=bex_auth(sandbox))
    assert answer(not_json)[0] == 400
    assert answer(as_string) == (400, {"error": 'expected {"entryId": <integer>}'})
    with pytest.raises(NotFound, match="no stock change entry 99"):
        sandbox.bex_client().confirm_stock_change(99)
    assert [e["id"] for e in sandbox.bex_queued_stock_changes()] == [entry]


def test_a_reservation_request_must_load(sandbox: Sandbox, raw: requests.Session) -> None:
    """A body that is not an object, or lacks a field, is a 400 listing the problems."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1"))
    url = sandbox.bex_url + "GiftCardReservations"
    as_array = raw.post(url, json=[{"Nummer": "PK-1"}], auth=bex_auth(sandbox))
    no_reference = raw.post(url, json={"Nummer": "PK-1", "Belopp": "5.00"}, auth=bex_auth(sandbox))
    assert answer(as_array) == (
        400,
        {
            "error": "the document does not load",
            "problems": [{"path": "$", "message": "expected an object"}],
        },
    )
    assert answer(no_reference)[1]["problems"] == [
        {"path": "$.Referens", "message": "required field is missing"}
    ]
    assert sandbox.reservations() == []


def test_a_reservation_currency_must_be_text(sandbox: Sandbox, raw: requests.Session) -> None:
    """``Valuta``, when sent, is a currency code: a number is a 400 naming it."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1"))
    response = raw.post(
        sandbox.bex_url + "GiftCardReservations",
        json={"Nummer": "PK-1", "Belopp": "5.00", "Referens": "order-1", "Valuta": 752},
        auth=bex_auth(sandbox),
    )
    assert answer(response)[0] == 400
    assert answer(response)[1]["problems"] == [
        {"path": "$.Valuta", "message": "expected a currency code"}
    ]
    assert sandbox.reservations() == []


def test_a_reservation_of_nothing_is_400(sandbox: Sandbox, raw: requests.Session) -> None:
    """The sandbox refuses a zero amount the way Bex does."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1"))
    response = raw.post(
        sandbox.bex_url + "GiftCardReservations",
        json={"Nummer": "PK-1", "Belopp": "0.00", "Referens": "order-1"},
        auth=bex_auth(sandbox),
    )
    assert answer(response) == (400, {"error": "Belopp must be above 0"})


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"Status": "Spärrad"}, "gift card 'PK-1' is Spärrad"),
        ({"Giltig till": "2020-12-31"}, "gift card 'PK-1' expired on 2020-12-31"),
    ],
)
def test_blocked_or_expired_cards_cannot_be_reserved(
    sandbox: Sandbox, changes: dict[str, str], why: str
) -> None:
    """Reserving a blocked or expired card is a 409 that says why."""
    sandbox.add_bex_gift_card({**gift_card_doc("PK-1"), **changes})
    with pytest.raises(RequestRejected, match=why) as caught:
        sandbox.bex_client().reserve_gift_card("PK-1", Decimal("10.00"), "order-1")
    assert caught.value.status == 409
    assert sandbox.reservations() == []


def test_redeeming_the_whole_balance_uses_the_card_up(sandbox: Sandbox) -> None:
    """After the whole balance is redeemed, the card is Använd with a zero balance."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1", balance="250.00"))
    client = sandbox.bex_client()
    reservation = client.reserve_gift_card("PK-1", Decimal("250.00"), "order-1")
    redeemed = client.redeem_gift_card(reservation.reservation_id)
    assert redeemed.status is bex.ReservationStatus.REDEEMED
    (card,) = sandbox.bex_gift_cards()
    assert (card["Saldo"], card["Status"]) == ("0.00", "Använd")
    assert client.get_gift_card("PK-1").status is bex.GiftCardStatus.USED


# --- Vendre's products and orders, in the real /API/1 shapes ------------------------------------


def test_a_product_record_has_every_key_in_its_real_type(
    sandbox: Sandbox, raw: requests.Session
) -> None:
    """A model seeded becomes a full record: epoch ints, numbers, null, {} and actions."""
    record = sandbox.add_vendre_product(vendre_product("1001"))

    assert set(record) == PRODUCT_RECORD_KEYS
    assert record["id"] == 1
    assert type(record["date_added"]) is int
    assert type(record["date_modified"]) is int
    assert record["date_available"] is None
    assert (record["price"], type(record["price"])) == (Decimal("439.2"), Decimal)
    assert record["price_in"] is record["manufacturer_id"] is record["price_special"] is None
    assert record["variants"] == record["variant_products"] == record["extra"] == {}
    assert record["warehouses"] == record["child_product_ids"] == record["images"] == []
    assert (record["parent"], record["is_parent"], record["type"]) == (0, False, "st")
    assert (record["quantity"], record["status"], record["show"]) == (0, True, True)
    assert record["category_ids"] == [12]
    assert record["description"] == {"sv": ""}
    url = sandbox.vendre_url + "products/1"
    assert record["actions"] == {
        "product_url": url,
        "product_save_url": url,
        "product_delete_url": url,
    }
    served = raw.get(url, headers=vendre_headers(sandbox))
    assert b'"price":439.2,' in served.content
    assert f'"date_added":{record["date_added"]},'.encode() in served.content
    assert parse_document(served.content) == record


def test_a_real_record_is_kept_as_given(sandbox: Sandbox) -> None:
    """A shop's record seeded as it is: every value kept, keys a record lacks too."""
    given = {**vendre_product_record(7), "brand_id": 3}

    stored = sandbox.add_vendre_product(given)

    assert {k: v for k, v in stored.items() if k != "actions"} == {
        k: v for k, v in given.items() if k != "actions"
    }
    assert stored["actions"]["product_url"] == sandbox.vendre_url + "products/7"
    assert sandbox.vendre_products() == [stored]


def test_seeded_products_get_the_next_ids_or_replace(sandbox: Sandbox) -> None:
    """Without an id, the next free one; with a held id, the product is replaced."""
    assert sandbox.add_vendre_product(vendre_product("A"))["id"] == 1
    assert sandbox.add_vendre_product(vendre_product_record(10))["id"] == 10
    assert sandbox.add_vendre_product(vendre_product("B"))["id"] == 11
    sandbox.add_vendre_product(vendre_product_record(10, article_number="C"))
    assert [(p["id"], p["article_number"]) for p in sandbox.vendre_products()] == [
        (1, "A"),
        (10, "C"),
        (11, "B"),
    ]


@pytest.mark.parametrize(
    "document",
    [
        {"article_number": "X"},
        b'[{"article_number": "X"}]',
        {**vendre_product_record(1), "id": "one"},
        {**vendre_product_record(1), "price": "lots"},
    ],
    ids=["incomplete", "not-an-object", "bad-id", "bad-price"],
)
def test_seeding_a_product_that_does_not_load_is_refused(sandbox: Sandbox, document: Any) -> None:
    """The test author's mistake, reported with the library's error."""
    with pytest.raises(MappingError):
        sandbox.add_vendre_product(document)
    assert sandbox.vendre_products() == []


def test_create_assigns_the_id_and_answers_the_record(
    sandbox: Sandbox, raw: requests.Session
) -> None:
    """POST products: 201 with the whole record; the shop chooses the id."""
    body = {"article_number": "1001", "name": {"sv": "Sko"}, "price": 70, "tax_class_id": 2}
    response = raw.post(sandbox.vendre_url + "products", json=body, headers=vendre_headers(sandbox))

    assert response.status_code == 201
    created = parse_document(response.content)
    assert created == sandbox.vendre_products()[0]
    assert (created["id"], created["price"], created["quantity"]) == (1, 70, 0)
    assert b'"price":70,' in response.content


def test_a_create_must_be_complete_and_without_an_id(
    sandbox: Sandbox, raw: requests.Session
) -> None:
    """Each missing field is an error of its own; an id is the shop's to give."""
    url, headers = sandbox.vendre_url + "products", vendre_headers(sandbox)
    incomplete = raw.post(url, json={"name": {"sv": "Sko"}}, headers=headers)
    with_id = raw.post(
        url,
        json={"id": 5, "article_number": "A", "name": {}, "price": 1, "tax_class_id": 2},
        headers=headers,
    )
    status, body = answer(incomplete)
    assert status == 400
    assert [e["source"]["parameter"] for e in body["errors"]] == [
        "article_number",
        "price",
        "tax_class_id",
    ]
    assert answer(with_id)[1]["errors"][0]["source"] == {"parameter": "id"}
    assert sandbox.vendre_products() == []


def test_a_save_merges_the_given_keys_exactly(sandbox: Sandbox, raw: requests.Session) -> None:
    """Only the keys given change; numbers are read from their text, never through a float."""
    before = sandbox.add_vendre_product(vendre_product_record(4, date_modified=1700000000))
    body = b'{"price": 12345678901234.5678, "weight": 1.25, "description": {"sv": "Ny"}}'
    url = sandbox.vendre_url + "products/4"

    response = raw.put(url, data=body, headers=vendre_headers(sandbox))

    assert response.status_code == 200
    assert b'"price":12345678901234.5678,' in response.content
    (after,) = sandbox.vendre_products()
    assert after["price"] == Decimal("12345678901234.5678")
    assert after["weight"] == Decimal("1.25")
    assert after["description"] == {"sv": "Ny"}
    assert after["date_modified"] > 1700000000
    unchanged = set(PRODUCT_RECORD_KEYS) - {"price", "weight", "description", "date_modified"}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    # The save URL takes a POST too.
    again = raw.post(url, json={"ean1": "735"}, headers=vendre_headers(sandbox))
    assert (again.status_code, sandbox.vendre_products()[0]["ean1"]) == (200, "735")


def test_a_save_is_checked(sandbox: Sandbox, raw: requests.Session) -> None:
    """Unknown keys, another product's id and unknown products are refused."""
    sandbox.add_vendre_product(vendre_product_record(4))
    headers = vendre_headers(sandbox)
    unknown = raw.put(sandbox.vendre_url + "products/4", json={"tax_rate": 25}, headers=headers)
    other = raw.put(sandbox.vendre_url + "products/4", json={"id": 5}, headers=headers)
    missing = raw.put(sandbox.vendre_url + "products/5", json={"price": 1}, headers=headers)

    assert answer(unknown)[0] == 400
    assert answer(unknown)[1]["errors"][0]["detail"] == "unknown field 'tax_rate'"
    assert answer(other)[1]["errors"][0]["source"] == {"parameter": "id"}
    assert answer(missing) == (
        404,
        {"errors": [{"status": "404", "code": "not_found", "title": "no product 5"}]},
    )


def test_a_size_moved_to_another_parent_is_relinked(sandbox: Sandbox) -> None:
    """child_product_ids and is_parent follow each size's parent."""
    for product_id in (1, 2):
        sandbox.add_vendre_product(vendre_product_record(product_id))
    sandbox.add_vendre_product(vendre_product_record(3, article_number="1001_SKO_42", parent=1))
    client = sandbox.vendre_client()

    def links() -> list[tuple[int, list[int], bool]]:
        return [
            (p["id"], p["child_product_ids"], p["is_parent"]) for p in sandbox.vendre_products()
        ]

    assert links() == [(1, [3], True), (2, [], False), (3, [], False)]
    client.save_product(vendre_product("1001_SKO_42", product_id=3, parent=2))
    assert links() == [(1, [], False), (2, [3], True), (3, [], False)]


def test_products_are_paged_and_filtered_by_ids(sandbox: Sandbox, raw: requests.Session) -> None:
    """GET products: by id, page_size and offset, the ids filter."""
    for number in ("A", "B", "C"):
        sandbox.add_vendre_product(vendre_product(number))
    url, headers = sandbox.vendre_url + "products", vendre_headers(sandbox)

    page = parse_document(
        raw.get(url, params={"page_size": 1, "offset": 1}, headers=headers).content
    )
    filtered = parse_document(raw.get(url, params={"ids": "3,1,9"}, headers=headers).content)

    assert ([p["article_number"] for p in page["list"]], page["remaining"]) == (["B"], 1)
    assert ([p["id"] for p in filtered["list"]], filtered["remaining"]) == ([1, 3], 0)


def test_the_page_cap_applies_to_products_too() -> None:
    """vendre_max_page_size caps product pages as it caps order pages."""
    with Sandbox(vendre_max_page_size=2) as sandbox:
        for number in ("A", "B", "C"):
            sandbox.add_vendre_product(vendre_product(number))
        products = list(sandbox.vendre_client().iter_products(page_size=50))
        assert [p.article_number for p in products] == ["A", "B", "C"]
        assert [c.query for c in sandbox.calls("vendre")] == [
            "page_size=50&offset=0",
            "page_size=50&offset=2",
        ]


def test_vendre_stock_is_taken_from_the_products(sandbox: Sandbox) -> None:
    """Only products whose stock arrived through the API, as their records hold it now."""
    sandbox.add_vendre_product(vendre_product_record(1, quantity=4))
    client = sandbox.vendre_client()
    created = client.save_product(vendre_product("1001_SKO_42", ean1=""))
    assert sandbox.vendre_stock() == []

    client.save_stock(
        created.id or 0,
        vendre.load_stock_update({"article_number": "1001_SKO_42", "quantity": 0, "status": 0}),
    )

    assert sandbox.vendre_stock() == [
        {"id": 2, "article_number": "1001_SKO_42", "quantity": 0, "status": False, "warehouses": []}
    ]


def test_orders_are_served_in_the_real_shape(sandbox: Sandbox, raw: requests.Session) -> None:
    """Epoch seconds for dates, numbers for money; GET orders/{id} serves the same record."""
    stored = sandbox.add_vendre_order(vendre_order_doc(100234))
    headers = vendre_headers(sandbox)

    listed = raw.get(sandbox.vendre_url + "orders", headers=headers)
    one = raw.get(sandbox.vendre_url + "orders/100234", headers=headers)
    missing = raw.get(sandbox.vendre_url + "orders/1", headers=headers)

    placed = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    assert stored["date_added"] == int(placed.timestamp())
    assert stored["payment"]["date_added"] == int(placed.timestamp()) + 72
    assert b'"price":799.2,' in one.content
    assert f'"date_added":{int(placed.timestamp())},'.encode() in one.content
    assert parse_document(listed.content)["list"] == [parse_document(one.content)] == [stored]
    assert sandbox.vendre_orders() == [stored]
    assert answer(missing)[0] == 404


def test_reset_forgets_products_and_starts_ids_again(sandbox: Sandbox) -> None:
    """After reset() the next product is 1 again."""
    sandbox.add_vendre_product(vendre_product("A"))
    sandbox.reset()
    assert sandbox.vendre_products() == []
    assert sandbox.add_vendre_product(vendre_product("B"))["id"] == 1


# --- rate limits ----------------------------------------------------------------------------


def test_a_rate_limit_announces_itself_and_refuses_past_it(
    sandbox: Sandbox, raw: requests.Session
) -> None:
    """RateLimit-* on every answer; past the limit a 429 with Retry-After, the work not done."""
    sandbox.add_vendre_order(vendre_order_doc(7, status=1))
    limiter = sandbox.rate_limit("vendre", limit=2, per=30)
    url, headers = sandbox.vendre_url + "orders/7/status", vendre_headers(sandbox)

    answers = [raw.put(url, json={"id": 7, "status": s}, headers=headers) for s in (2, 3, 4)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert {a.headers["RateLimit-Limit"] for a in answers} == {"2"}
    assert all(0 < int(a.headers["RateLimit-Reset"]) <= 30 for a in answers)
    assert answers[2].headers["Retry-After"] == answers[2].headers["RateLimit-Reset"]
    assert answers[2].json()["errors"][0]["code"] == "too_many_requests"
    assert sandbox.vendre_orders()[0]["status"] == 3
    assert (limiter.requests, limiter.refused) == (3, 1)
    assert limiter == RateLimit(system="vendre", limit=2, per=30.0, requests=3, refused=1)


def test_a_rate_limit_window_ends(sandbox: Sandbox, raw: requests.Session) -> None:
    """After per seconds, a new window: the limit's requests are there again."""
    sandbox.rate_limit("bex", limit=1, per=0.2)
    url = sandbox.bex_url + "Customers/1/Bonus"
    first, second = (raw.get(url, auth=bex_auth(sandbox)) for _ in range(2))
    time.sleep(0.25)
    third = raw.get(url, auth=bex_auth(sandbox))
    assert [a.status_code for a in (first, second, third)] == [404, 429, 404]
    assert second.json() == {"error": "too many requests"}
    assert third.headers["RateLimit-Remaining"] == "0"


def test_faults_go_before_the_rate_limit_and_limits_can_be_cleared(
    sandbox: Sandbox, raw: requests.Session
) -> None:
    """A request a fault answers is not counted; clear_rate_limits() and reset() lift it."""
    limiter = sandbox.rate_limit("vendre", limit=1, per=60)
    sandbox.inject("vendre", status=503)
    url, headers = sandbox.vendre_url + "orders", vendre_headers(sandbox)
    codes = [raw.get(url, headers=headers).status_code for _ in range(3)]
    assert codes == [503, 200, 429]
    assert limiter.requests == 2
    sandbox.clear_rate_limits()
    assert "RateLimit-Limit" not in raw.get(url, headers=headers).headers
    sandbox.rate_limit("vendre", limit=1, per=60)
    sandbox.reset()
    assert [raw.get(url, headers=headers).status_code for _ in range(2)] == [200, 200]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"system": "shop", "limit": 1}, "system"),
        ({"system": "vendre", "limit": 0}, "limit"),
        ({"system": "vendre", "limit": True}, "limit"),
        ({"system": "vendre", "limit": 1, "per": 0}, "per"),
        ({"system": "vendre", "limit": 1, "per": -1.0}, "per"),
    ],
)
def test_rate_limits_must_make_sense(arguments: dict[str, Any], message: str) -> None:
    """rate_limit refuses a limit that cannot be kept."""
    with pytest.raises(ValueError, match=message):
        Sandbox().rate_limit(**arguments)
