"""Sync flows, state and audit at their edges: odd records, failing calls, odd state files."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from tests.http_support import bex_article_doc
from tests.sync_support import EXAMPLE, order_doc

from bexvendre_mapping import Lookups
from bexvendre_mapping.http import BexClient, RetryPolicy, VendreClient
from bexvendre_mapping.sync import (
    AuditLog,
    Checkout,
    GiftCardCheckout,
    OrderRecord,
    Outcome,
    SqliteState,
    import_orders,
    push_products,
    push_statuses,
    push_stock,
    retry_quarantined,
)
from bexvendre_mapping.testing.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
LONG_AGO = timedelta(days=3650)


def with_paypal(lookups: Lookups) -> Lookups:
    return Lookups.from_dict(
        {
            **lookups.to_dict(),
            "payment_methods": {**dict(lookups.payment_methods.items()), "PAYPAL": "PAYPAL"},
        }
    )


def outcomes(report: Any) -> list[tuple[str, str, str, str]]:
    return [(o.entity, o.action, o.result, o.reason) for o in report.outcomes]


# --- orders ---------------------------------------------------------------------------------


def test_an_order_changed_after_creation_is_not_created_again(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Bex holds the order: a later change in Vendre is reported and skipped."""
    sandbox.add_vendre_order(order_doc(7001))
    vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client()
    import_orders(vendre_client, bex_client, lookups, state)
    sandbox.add_vendre_order(order_doc(7001, status=3))
    again = import_orders(vendre_client, bex_client, lookups, state, overlap=LONG_AGO)
    assert outcomes(again) == [
        ("7001", "skip", "skipped", "already in Bex; changed in Vendre since")
    ]
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["7001"]


def test_a_gift_card_bex_does_not_hold_quarantines_the_created_order(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """The order is created, but its reservation is missing in Bex: quarantined for a person."""
    sandbox.add_vendre_order(EXAMPLE)
    report = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["100234"]
    reason = "in Bex; its gift card was not redeemed"
    assert outcomes(report) == [("100234", "quarantine", "quarantined", reason)]
    (record,) = state.orders("quarantined")
    assert record.order_id == 100234
    assert record.errors == (
        "$.gift_cards[0].reservation_id: Bex has no gift-card reservation "
        "'RES-20261025-0001' to redeem; the order was created in Bex",
    )


def test_retrying_quarantined_orders_dry_run_and_by_id(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """A dry run tells what would map now; order_ids limits the retry to those orders."""
    for order_id in (8001, 8002):
        bad = order_doc(order_id)
        bad["payment"]["payment_method"] = "PAYPAL"
        sandbox.add_vendre_order(bad)
    bex_client = sandbox.bex_client()
    import_orders(sandbox.vendre_client(), bex_client, lookups, state)

    still = retry_quarantined(bex_client, lookups, state, dry_run=True)
    assert [(o.entity, o.result, o.reason) for o in still.outcomes] == [
        ("8001", "quarantined", "still does not map"),
        ("8002", "quarantined", "still does not map"),
    ]
    assert still.outcomes[0].errors[0].startswith("$.payment.payment_method: unknown code")

    fixed = with_paypal(lookups)
    plan = retry_quarantined(bex_client, fixed, state, order_ids=[8002], dry_run=True)
    assert outcomes(plan) == [("8002", "create", "planned", "maps now")]
    assert sandbox.bex_orders() == []

    done = retry_quarantined(bex_client, fixed, state, order_ids=[8002])
    assert done.count("done") == 1
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["8002"]
    assert [r.order_id for r in state.orders("quarantined")] == [8001]


# --- products -------------------------------------------------------------------------------


def test_products_go_in_chunks_and_unmapped_articles_are_reported(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """chunk_size=1 sends each product alone; an unknown category is quarantined, not sent."""
    sandbox.add_bex_article(bex_article_doc("1001"))
    sandbox.add_bex_article(bex_article_doc("1002"))
    sandbox.add_bex_article(bex_article_doc("1003", **{"Extern referens": "KLOCKOR"}))
    report = push_products(
        sandbox.bex_client(), sandbox.vendre_client(), lookups, state, chunk_size=1
    )
    assert [(o.entity, o.result) for o in report.outcomes] == [
        ("1001", "done"),
        ("1002", "done"),
        ("1003", "quarantined"),
    ]
    assert (
        report.outcomes[2]
        .errors[0]
        .startswith("$['Extern referens']: unknown code 'KLOCKOR' in table 'categories'")
    )
    puts = [c for c in sandbox.calls("vendre") if c.method == "PUT"]
    assert len(puts) == 2
    assert sorted(p["article_number"] for p in sandbox.vendre_products()) == ["1001", "1002"]


# --- stock ----------------------------------------------------------------------------------


def test_stock_that_cannot_be_mapped_is_taken_off_the_queue_and_unreadable_stock_stays(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """A bad product identifier is quarantined and confirmed (it would block the queue for
    good); a failed stock look-up is failed and stays queued for the next run."""
    sandbox.set_bex_stock("1001__42", 3)
    unreadable = sandbox.set_bex_stock("GIFTBOX", 5)
    sandbox.inject("bex", method="GET", path="WarehouseManagement/GetStockinformation", status=500)
    report = push_stock(sandbox.bex_client(), sandbox.vendre_client(), lookups, state)
    assert [(o.entity, o.action, o.result) for o in report.outcomes] == [
        ("1001__42", "quarantine", "quarantined"),
        ("1001__42", "confirm", "skipped"),
        ("GIFTBOX", "update", "failed"),
    ]
    assert report.outcomes[0].reason == "does not map"
    assert report.outcomes[1].reason == "quarantined; taken off the queue"
    assert report.outcomes[2].reason == "stock information not read"
    assert "HTTP 500" in report.outcomes[2].errors[0]
    assert [e["id"] for e in sandbox.bex_queued_stock_changes()] == [unreadable]
    assert sandbox.vendre_stock() == []


def test_a_fractional_available_quantity_is_quarantined(
    httpserver: HTTPServer, state: SqliteState, lookups: Lookups
) -> None:
    """Vendre stock is whole units: 2.5 available can never be sent; it is reported and its
    entry confirmed, so that the queue moves on."""
    httpserver.expect_request("/api/WarehouseManagement/GetQueuedStockChanges").respond_with_json(
        {"hasMore": False, "stockChangeEntries": [{"id": 1, "productIdentifier": "ROPE"}]}
    )
    httpserver.expect_request("/api/WarehouseManagement/GetStockinformation").respond_with_data(
        '{"productIdentifier": "ROPE", "physicalQuantity": 3, "availableQuantity": 2.5}',
        content_type="application/json",
    )
    httpserver.expect_request(
        "/api/WarehouseManagement/ConfirmStockChange", method="PUT", json={"entryId": 1}
    ).respond_with_data("")
    no_wait = RetryPolicy(total=0)
    with (
        BexClient(httpserver.url_for("/api/"), "key-1", "s3cret", retries=no_wait) as bex_client,
        VendreClient("http://127.0.0.1:9/API/1", "k3y", retries=no_wait) as vendre_client,
    ):
        report = push_stock(bex_client, vendre_client, lookups, state)
    outcome, confirmed = report.outcomes
    assert (outcome.entity, outcome.result) == ("ROPE", "quarantined")
    assert outcome.errors == (
        "$.availableQuantity: the available quantity 2.5 is not a whole number",
    )
    assert (confirmed.entity, confirmed.action, confirmed.result) == ("ROPE", "confirm", "skipped")
    # The queue is read again after the pass: entry 1 is back (this server never drops it),
    # handled already, so the run ends.
    assert [r.method for r, _ in httpserver.log] == ["GET", "GET", "PUT", "GET"]


def test_an_unconfirmed_entry_is_failed_and_stays_queued(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Vendre took the update but Bex refused the confirmation: failed, left in the queue."""
    entry = sandbox.set_bex_stock("1001_SKO_42", 4)
    sandbox.inject("bex", method="PUT", path="WarehouseManagement/ConfirmStockChange", status=500)
    report = push_stock(sandbox.bex_client(), sandbox.vendre_client(), lookups, state)
    assert [(o.entity, o.action, o.result, o.reason) for o in report.outcomes] == [
        ("1001_SKO_42", "confirm", "failed", "queue entry not confirmed")
    ]
    assert [s["quantity"] for s in sandbox.vendre_stock()] == [4]
    assert [e["id"] for e in sandbox.bex_queued_stock_changes()] == [entry]


# --- statuses -------------------------------------------------------------------------------


def test_a_status_vendre_refuses_holds_the_cursor(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """A status update Vendre fails on is reported failed; the cursor does not move."""
    sandbox.add_vendre_order(order_doc(9001))
    sandbox.set_bex_order_status("9001", "SKICKAD")
    sandbox.inject("vendre", method="PUT", path="orders/", status=500)
    report = push_statuses(sandbox.bex_client(), sandbox.vendre_client(), lookups, state)
    assert [(o.entity, o.result, o.reason) for o in report.outcomes] == [
        ("9001", "failed", "Vendre did not take it")
    ]
    assert not report.ok
    assert state.get_cursor("statuses") is None
    again = push_statuses(sandbox.bex_client(), sandbox.vendre_client(), lookups, state)
    assert [(o.entity, o.result) for o in again.outcomes] == [("9001", "done")]
    assert sandbox.vendre_order_statuses() == [{"id": 9001, "status": 3}]


# --- gift-card checkouts --------------------------------------------------------------------


def test_releasing_a_checkout_interrupted_while_reserving(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Crashed before the reservation id was kept: it is found by reference, then released."""
    sandbox.add_bex_gift_card(
        {"Nummer": "PK-1", "Saldo": "500.00", "Valuta": "SEK", "Status": "Aktiv"}
    )
    bex_client = sandbox.bex_client()
    made = bex_client.reserve_gift_card("PK-1", Decimal("100.00"), "checkout-1")
    state.put_checkout(
        Checkout(reference="checkout-1", card_number="PK-1", amount="100.00", state="reserving")
    )
    checkout = GiftCardCheckout(bex_client, state, lookups)
    assert checkout.release("checkout-1") is True
    assert [r["Status"] for r in sandbox.reservations()] == ["Släppt"]
    assert state.get_checkout("checkout-1") == Checkout(
        reference="checkout-1",
        card_number="PK-1",
        amount="100.00",
        state="released",
        reservation_id=made.reservation_id,
    )


def test_releasing_a_checkout_that_never_reached_bex(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Crashed before Bex was asked: nothing to release in Bex; the checkout is closed."""
    state.put_checkout(
        Checkout(reference="checkout-2", card_number="PK-1", amount="50.00", state="reserving")
    )
    checkout = GiftCardCheckout(sandbox.bex_client(), state, lookups)
    assert checkout.release("checkout-2") is False
    released = state.get_checkout("checkout-2")
    assert released is not None
    assert (released.state, released.reservation_id) == ("released", None)
    assert [c.method for c in sandbox.calls("bex")] == ["GET"]


# --- the state file and the audit log -------------------------------------------------------


def test_a_newer_state_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    """A state file written by a newer version is refused; the failed open changes nothing."""
    path = tmp_path / "state.sqlite3"
    with SqliteState(path):
        pass
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    db.close()
    with pytest.raises(RuntimeError, match="has state schema 2; this version"):
        SqliteState(path)
    with sqlite3.connect(path, timeout=0.2) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchall() == [("2",)]
        db.execute("BEGIN IMMEDIATE")  # the refused open holds no write lock
        db.rollback()
    db.close()


def test_a_record_the_schema_refuses_is_not_half_written(state: SqliteState) -> None:
    """A write that fails inside its transaction is rolled back, and the store stays usable."""
    record = OrderRecord(
        order_id=1,
        content_hash="h",
        state="shipped",  # type: ignore[arg-type] - a state the schema's CHECK refuses
        payload="{}",
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(sqlite3.IntegrityError):
        state.put_order(record)
    assert state.orders() == []
    state.set_cursor("orders", datetime(2026, 1, 1, tzinfo=UTC))
    assert state.get_cursor("orders") == datetime(2026, 1, 1, tzinfo=UTC)


def test_the_state_shows_its_file(tmp_path: Path) -> None:
    """repr names the state file."""
    path = tmp_path / "state.sqlite3"
    with SqliteState(path) as store:
        assert repr(store) == f"SqliteState({str(path)!r})"


def test_closing_the_state_releases_a_held_lock(tmp_path: Path) -> None:
    """close() inside lock() releases the lock at once, and leaving lock() is then quiet."""
    path = tmp_path / "state.sqlite3"
    store = SqliteState(path, lock_timeout=0.2)
    with store.lock():
        store.close()
        with SqliteState(path, lock_timeout=0.2) as other, other.lock():
            pass


def test_an_audit_log_on_an_open_file_leaves_it_open() -> None:
    """Given a file object, the log writes JSON lines to it and does not close it."""
    target = io.StringIO()
    outcome = Outcome(
        flow="stock", entity="GIFTBOX", action="update", result="failed", errors=("a", "b")
    )
    with AuditLog(target) as audit:
        audit.write(outcome)
    assert not target.closed
    (line,) = target.getvalue().splitlines()
    written = json.loads(line)
    del written["time"]
    assert written == {
        "flow": "stock",
        "entity": "GIFTBOX",
        "action": "update",
        "outcome": "failed",
        "reason": "",
        "error": "a; b",
    }
