"""The sandbox's answers to odd requests, and its seeding helpers' checks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from tests.http_support import gift_card_doc

from bexvendre_mapping import bex
from bexvendre_mapping.http import NotFound, RequestRejected
from bexvendre_mapping.testing.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


@pytest.fixture
def raw() -> Iterator[requests.Session]:
    """A plain requests session, to send what the library's clients never would."""
    with requests.Session() as session:
        session.trust_env = False
        yield session


def vendre_headers(sandbox: Sandbox) -> dict[str, str]:
    return {"X-Authorization": sandbox.vendre_api_key}


def bex_auth(sandbox: Sandbox) -> tuple[str, str]:
    return (sandbox.bex_api_key, sandbox.bex_secret)


def answer(response: requests.Response) -> tuple[int, Any]:
    return response.status_code, response.json()


# --- lifecycle and seeding ------------------------------------------------------------------


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


# --- the shared server ----------------------------------------------------------------------


def test_a_path_outside_both_apis_is_404(sandbox: Sandbox, raw: requests.Session) -> None:
    """A request beside the API's base path gets a JSON 404 naming the path."""
    root = sandbox.vendre_url.split("/API/")[0]
    assert answer(raw.get(root + "/status")) == (404, {"error": "no API at /status"})


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
    assert body["error"].startswith("date_added_from: $: expected a date-time")


# --- the Vendre API -------------------------------------------------------------------------


def test_the_ids_filter_must_be_integers(sandbox: Sandbox, raw: requests.Session) -> None:
    """ids=abc is a 400."""
    response = raw.get(
        sandbox.vendre_url + "orders", params={"ids": "1,abc"}, headers=vendre_headers(sandbox)
    )
    assert answer(response) == (400, {"error": "ids must be integers, got '1,abc'"})


def test_a_status_update_must_load_and_match_the_url(
    sandbox: Sandbox, raw: requests.Session
) -> None:
    """A body that is not JSON, or an update for another order than the URL's, is a 400."""
    url = sandbox.vendre_url + "orders/7/status"
    not_json = raw.put(url, data=b"status=3", headers=vendre_headers(sandbox))
    other_order = raw.put(url, json={"id": 8, "status": 3}, headers=vendre_headers(sandbox))
    status, body = answer(not_json)
    assert (status, body["error"]) == (400, "the document does not load")
    assert body["problems"][0]["path"] == "$"
    assert answer(other_order) == (400, {"error": "the update is for order 8, the URL for 7"})
    assert sandbox.vendre_order_statuses() == []


def test_uploads_must_be_json_arrays(sandbox: Sandbox, raw: requests.Session) -> None:
    """PUT products with a body that is not JSON, or not an array, is a 400."""
    url = sandbox.vendre_url + "products"
    not_json = raw.put(url, data=b"[{", headers=vendre_headers(sandbox))
    not_array = raw.put(url, json={"article_number": "1001"}, headers=vendre_headers(sandbox))
    assert answer(not_json)[0] == 400
    assert answer(not_json)[1]["error"] == "the document does not load"
    assert answer(not_array) == (400, {"error": "expected a JSON array"})
    assert sandbox.vendre_products() == []


# --- the Bex API: stock ---------------------------------------------------------------------


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


# --- the Bex API: gift cards ----------------------------------------------------------------


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
