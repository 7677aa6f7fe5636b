"""Sync flows when a listing fails, a record is bad, Bex refuses for good, or the queue is long.

Each test is a case a probe of the flows found wrong: a flow must go on past one bad record,
keep its cursor when a listing breaks off, quarantine what can never succeed instead of
failing it on every run, and never lose an order.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from tests.sync_support import EXAMPLE, order_doc

from bexvendre_mapping import Lookups
from bexvendre_mapping.http import RetryPolicy, VendreClient
from bexvendre_mapping.sync import (
    GiftCardCheckout,
    SqliteState,
    import_orders,
    push_products,
    push_statuses,
    push_stock,
    retry_quarantined,
)
from bexvendre_mapping.sync._cli import FLOWS, run_flows
from bexvendre_mapping.testing.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = json.loads((ROOT / "examples" / "bex-article.json").read_bytes())
PLACED = datetime(2026, 10, 25, 8, tzinfo=UTC)
LATER = datetime(2026, 10, 26, 12, tzinfo=UTC)


def results(report: Any) -> list[tuple[str, str, str]]:
    return [(o.entity, o.action, o.result) for o in report.outcomes]


# --- a listing that fails ---------------------------------------------------------------------


def test_a_failed_order_listing_is_reported_and_keeps_the_cursor(
    httpserver: HTTPServer, sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """The orders fetched before the failure are created; the cursor does not move."""
    first, second = order_doc(5001), order_doc(5002)
    pages = {"page_size": "250"}
    httpserver.expect_request(
        "/API/1/orders", query_string={**pages, "offset": "0"}
    ).respond_with_json({"list": [first], "remaining": 1})
    httpserver.expect_request(
        "/API/1/orders", query_string={**pages, "offset": "1"}
    ).respond_with_json({"error": "down"}, status=503)
    vendre_client = VendreClient(httpserver.url_for("/API/1"), "k3y", retries=RetryPolicy(total=0))
    report = import_orders(vendre_client, sandbox.bex_client(), lookups, state, now=LATER)
    assert results(report) == [("5001", "create", "done"), ("orders", "fetch", "failed")]
    assert report.outcomes[1].reason == "listing stopped; tried again next run"
    assert "HTTP 503" in report.outcomes[1].errors[0]
    assert not report.ok
    assert state.get_cursor("orders") is None  # the next run fetches 5002 again

    httpserver.clear()
    httpserver.expect_request("/API/1/orders").respond_with_json(
        {"list": [first, second], "remaining": 0}
    )
    again = import_orders(vendre_client, sandbox.bex_client(), lookups, state, now=LATER)
    assert results(again) == [("5001", "skip", "skipped"), ("5002", "create", "done")]
    assert state.get_cursor("orders") == LATER
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["5001", "5002"]


def test_one_failing_flow_does_not_stop_the_others(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Vendre's order listing fails for good: orders fail, stock still reaches Vendre."""
    sandbox.set_bex_stock("1001_SKO_42", 7)
    sandbox.inject("vendre", method="GET", path="orders", status=503, times=100)
    reports = run_flows(FLOWS, sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    by_flow = {report.flow: report for report in reports}
    assert list(by_flow) == ["orders", "products", "stock", "statuses"]
    assert not by_flow["orders"].ok
    assert by_flow["stock"].ok
    assert [(s["article_number"], s["quantity"]) for s in sandbox.vendre_stock()] == [
        ("1001_SKO_42", 7)
    ]


@pytest.mark.parametrize("flow", ["products", "statuses", "stock"])
def test_a_failed_bex_listing_keeps_the_flows_cursor(
    flow: str, sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    path = {
        "products": "Articles",
        "statuses": "OrderStatuses",
        "stock": "WarehouseManagement/GetQueuedStockChanges",
    }[flow]
    sandbox.inject("bex", method="GET", path=path, status=500, times=100)
    run = {"products": push_products, "statuses": push_statuses, "stock": push_stock}[flow]
    report = run(sandbox.bex_client(), sandbox.vendre_client(), lookups, state)
    ((_, action, result),) = results(report)
    assert (action, result) == ("fetch", "failed")
    assert "HTTP 500" in report.outcomes[0].errors[0]
    assert state.get_cursor(flow) is None


# --- one bad record in a Bex listing ----------------------------------------------------------


def test_a_bad_article_is_quarantined_and_the_others_are_pushed(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    bad = {**ARTICLE, "Artikel": "2002", "Pris": "gratis"}
    body = json.dumps({"hasMore": False, "items": [ARTICLE, bad]}).encode()
    sandbox.inject("bex", method="GET", path="Articles", body=body)
    report = push_products(sandbox.bex_client(), sandbox.vendre_client(), lookups, state)
    assert results(report) == [
        ("2002", "quarantine", "quarantined"),
        (ARTICLE["Artikel"], "update", "done"),
    ]
    assert report.outcomes[0].errors == ("$.Pris: expected a decimal number, got 'gratis'",)
    assert [p["article_number"] for p in sandbox.vendre_products()] == [ARTICLE["Artikel"]]
    assert state.get_cursor("products") is not None  # a bad record is handled, not failed


def test_a_bad_status_is_quarantined_and_the_others_are_sent(
    state: SqliteState, lookups: Lookups
) -> None:
    items = [{"Ordernr": "X1"}, {"Ordernr": "100234", "Status": "SKICKAD"}]
    with Sandbox(seed_examples=True) as sandbox:
        body = json.dumps({"hasMore": False, "items": items}).encode()
        sandbox.inject("bex", method="GET", path="OrderStatuses", body=body)
        report = push_statuses(sandbox.bex_client(), sandbox.vendre_client(), lookups, state)
        assert results(report) == [
            ("X1", "quarantine", "quarantined"),
            ("100234", "update", "done"),
        ]
        assert report.outcomes[0].errors == ("$.Status: required field is missing",)
        assert [s["id"] for s in sandbox.vendre_order_statuses()] == [100234]


# --- what Bex refuses for good ----------------------------------------------------------------


def test_an_order_whose_reservation_was_released_is_quarantined_not_failed_forever(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Redeeming answers 409: the order is in Bex, quarantined, and the cursor moves on."""
    sandbox.add_bex_gift_card(
        {"Nummer": "PK-4000-1234", "Saldo": "900.00", "Valuta": "SEK", "Status": "Aktiv"}
    )
    bex_client = sandbox.bex_client()
    reservation = bex_client.reserve_gift_card("PK-4000-1234", Decimal("500.00"), "100234")
    bex_client.release_gift_card(reservation.reservation_id)
    doc = json.loads(json.dumps(EXAMPLE))
    doc["gift_cards"][0]["reservation_id"] = reservation.reservation_id
    sandbox.add_vendre_order_document(doc, order_id=100234, date_added=PLACED)

    report = import_orders(sandbox.vendre_client(), bex_client, lookups, state, now=LATER)
    assert results(report) == [("100234", "quarantine", "quarantined")]
    assert report.outcomes[0].reason == "in Bex; its gift card was not redeemed"
    (problem,) = report.outcomes[0].errors
    assert problem.startswith(
        "$.gift_cards[0].reservation_id: Bex refused to redeem gift-card reservation "
        f"{reservation.reservation_id!r} ("
    )
    assert "HTTP 409" in problem
    assert problem.endswith("; the order was created in Bex")
    assert report.ok
    assert state.get_cursor("orders") == LATER
    assert [r.order_id for r in state.orders("quarantined")] == [100234]
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["100234"]

    # A retry looks the order up (no second order) and quarantines it again.
    retried = retry_quarantined(bex_client, lookups, state)
    assert results(retried) == [("100234", "quarantine", "quarantined")]
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["100234"]


def test_an_order_bex_rejects_is_quarantined(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """A 400 to the create call is Bex's verdict on the order: quarantined, not failed."""
    sandbox.add_vendre_order_document(order_doc(5101), order_id=5101, date_added=PLACED)
    sandbox.inject(
        "bex", method="POST", path="Orders", status=400, body=b'{"error": "Kundnr unknown"}'
    )
    report = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state, now=LATER)
    assert results(report) == [("5101", "quarantine", "quarantined")]
    assert report.outcomes[0].reason == "Bex refused it"
    (problem,) = report.outcomes[0].errors
    assert problem.startswith("$: Bex refused the order: ")
    assert "HTTP 400" in problem
    assert "Kundnr unknown" in problem
    assert state.get_cursor("orders") == LATER
    assert sandbox.bex_orders() == []

    # Once Bex takes it, a retry creates it.
    retried = retry_quarantined(sandbox.bex_client(), lookups, state)
    assert results(retried) == [("5101", "create", "done")]
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["5101"]


# --- never lose an order ----------------------------------------------------------------------


def test_an_order_with_a_string_id_is_kept_under_its_number(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """The loader reads "id": "2003" as 2003; so does the state, when quarantining it."""
    doc = order_doc(2003)
    doc["id"] = "2003"
    doc["products"][0]["quantity"] = 0
    sandbox.add_vendre_order_document(doc, order_id=2003, date_added=PLACED)
    report = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state, now=LATER)
    assert results(report) == [("2003", "quarantine", "quarantined")]
    (record,) = state.orders("quarantined")
    assert record.order_id == 2003
    assert json.loads(record.payload)["id"] == "2003"

    # Unchanged, it is skipped next time, found under the same key.
    again = import_orders(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, state, overlap=timedelta(days=9)
    )
    assert results(again) == [("2003", "skip", "skipped")]


def test_an_order_without_a_usable_id_is_quarantined_under_a_key_of_its_content(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    doc = order_doc(2004)
    doc["id"] = "two thousand four"
    sandbox.add_vendre_order_document(doc, order_id=2004, date_added=PLACED)
    report = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state, now=LATER)
    ((entity, _, result),) = results(report)
    assert result == "quarantined"
    assert entity.startswith("sha256:")
    (record,) = state.orders("quarantined")
    assert record.order_id < 0
    assert json.loads(record.payload)["id"] == "two thousand four"
    assert any(error.startswith("$.id: ") for error in record.errors)


# --- gift cards at checkout -------------------------------------------------------------------


def test_a_released_checkout_cannot_be_reserved_again_under_its_reference(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    sandbox.add_bex_gift_card(
        {"Nummer": "PK-1", "Saldo": "500.00", "Valuta": "SEK", "Status": "Aktiv"}
    )
    checkout = GiftCardCheckout(sandbox.bex_client(), state, lookups)
    checkout.reserve("PK-1", Decimal("120.00"), "cart-1")
    assert checkout.release("cart-1")
    with pytest.raises(ValueError, match="checkout 'cart-1' was released; reserve under a new"):
        checkout.reserve("PK-1", Decimal("120.00"), "cart-1")
    assert [r["Status"] for r in sandbox.reservations()] == ["Släppt"]
    assert checkout.reserve("PK-1", Decimal("120.00"), "cart-2").reservation_id


def test_a_reservation_bex_holds_as_released_is_not_taken_as_reserved(
    sandbox: Sandbox, tmp_path: Path, lookups: Lookups
) -> None:
    """The state was lost; Bex still holds the reference's reservation, released."""
    sandbox.add_bex_gift_card(
        {"Nummer": "PK-1", "Saldo": "500.00", "Valuta": "SEK", "Status": "Aktiv"}
    )
    with SqliteState(tmp_path / "first.sqlite3") as first:
        checkout = GiftCardCheckout(sandbox.bex_client(), first, lookups)
        checkout.reserve("PK-1", Decimal("120.00"), "cart-1")
        checkout.release("cart-1")
    with SqliteState(tmp_path / "second.sqlite3") as second:
        checkout = GiftCardCheckout(sandbox.bex_client(), second, lookups)
        with pytest.raises(ValueError, match=r"as Släppt; reserve under a new reference"):
            checkout.reserve("PK-1", Decimal("120.00"), "cart-1")
        stored = second.get_checkout("cart-1")
        assert stored is not None
        assert stored.state == "reserving"


# --- the stock queue --------------------------------------------------------------------------


def test_one_run_drains_a_queue_longer_than_a_page(state: SqliteState, lookups: Lookups) -> None:
    with Sandbox(bex_queue_page_size=2) as sandbox:
        for size in (42, 43, 44, 45, 46):
            sandbox.set_bex_stock(f"1001_SKO_{size}", size)
        report = push_stock(sandbox.bex_client(), sandbox.vendre_client(), lookups, state)
        assert report.ok
        assert sandbox.bex_queued_stock_changes() == []
        assert sorted(s["quantity"] for s in sandbox.vendre_stock()) == [42, 43, 44, 45, 46]


def test_entries_that_can_never_be_sent_do_not_block_the_queue(
    state: SqliteState, lookups: Lookups
) -> None:
    """A page full of unmappable entries used to hold every later change back for good."""
    with Sandbox(bex_queue_page_size=2) as sandbox:
        sandbox.set_bex_stock("BAD__CODE", 3)
        sandbox.set_bex_stock("ALSO__BAD", 4)
        sandbox.set_bex_stock("1001_SKO_42", 7)
        report = push_stock(sandbox.bex_client(), sandbox.vendre_client(), lookups, state)
        assert results(report) == [
            ("BAD__CODE", "quarantine", "quarantined"),
            ("BAD__CODE", "confirm", "skipped"),
            ("ALSO__BAD", "quarantine", "quarantined"),
            ("ALSO__BAD", "confirm", "skipped"),
            ("1001_SKO_42", "confirm", "done"),
        ]
        assert sandbox.bex_queued_stock_changes() == []
        assert [(s["article_number"], s["quantity"]) for s in sandbox.vendre_stock()] == [
            ("1001_SKO_42", 7)
        ]


def test_stock_bex_does_not_know_is_taken_off_the_queue(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    sandbox.set_bex_stock("1001_SKO_42", 7)
    sandbox.inject("bex", method="GET", path="WarehouseManagement/GetStockinformation", status=404)
    report = push_stock(sandbox.bex_client(), sandbox.vendre_client(), lookups, state)
    assert results(report) == [
        ("1001_SKO_42", "quarantine", "quarantined"),
        ("1001_SKO_42", "confirm", "skipped"),
    ]
    assert report.outcomes[0].reason == "Bex has no stock for it"
    assert sandbox.bex_queued_stock_changes() == []


def test_a_dry_run_reads_the_queue_once(state: SqliteState, lookups: Lookups) -> None:
    with Sandbox(bex_queue_page_size=2) as sandbox:
        for size in (42, 43, 44):
            sandbox.set_bex_stock(f"1001_SKO_{size}", size)
        report = push_stock(
            sandbox.bex_client(), sandbox.vendre_client(), lookups, state, dry_run=True
        )
        assert [e for e, a, _ in results(report) if a == "confirm"] == [
            "1001_SKO_42",
            "1001_SKO_43",
        ]
        assert len(sandbox.bex_queued_stock_changes()) == 3


def test_an_order_id_too_large_for_the_state_is_quarantined(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """SQLite keys are 64-bit: a larger id would have crashed the run with OverflowError."""
    doc = order_doc(2005)
    doc["id"] = 10**30
    sandbox.add_vendre_order_document(doc, order_id=2005, date_added=PLACED)
    report = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state, now=LATER)
    ((_, _, result),) = results(report)
    assert result == "quarantined"
    assert report.outcomes[0].errors == (
        "$.id: the order id is larger than the state can keep (at most 9223372036854775807)",
    )
    (record,) = state.orders("quarantined")
    assert record.order_id < 0
    assert sandbox.bex_orders() == []
