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

import pytest
import requests
from tests.http_support import bex_order_doc, gift_card_doc, vendre_order_doc

from bexvendre_mapping import MappingError, bex
from bexvendre_mapping.http import NotFound, RequestRejected, ServerError, TransportError
from bexvendre_mapping.testing.sandbox import Call, Fault, Sandbox


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
    assert set(threading.enumerate()) - before == set()


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


def test_an_array_with_a_bad_item_is_refused_whole(sandbox: Sandbox, raw: requests.Session) -> None:
    """All or nothing: one bad stock row, nothing stored, its index in the path."""
    rows = [
        {"article_number": "MUG", "quantity": 1, "status": 1},
        {"article_number": "MUG_X", "quantity": 1, "status": 2},
    ]
    answer = raw.put(
        sandbox.vendre_url + "stock", json=rows, headers={"X-Authorization": sandbox.vendre_api_key}
    )
    assert answer.status_code == 400
    assert [p["path"] for p in answer.json()["problems"]] == ["$[1].status"]
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
