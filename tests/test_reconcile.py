"""Reconciliation (`bexvendre reconcile`, `sync.reconcile`) and the flows' argument order."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.http_support import bex_order_doc
from tests.support import run, usage_error
from tests.sync_support import ROOT, order_doc

from bexvendre_mapping import Lookups
from bexvendre_mapping.cli import main
from bexvendre_mapping.http import BexEndpoints
from bexvendre_mapping.sync import (
    GiftCardCheckout,
    ReconcileReport,
    SqliteState,
    import_orders,
    push_statuses,
    push_stock,
    reconcile,
    retry_quarantined,
)
from bexvendre_mapping.sync._reconcile import print_report
from bexvendre_mapping.testing.sandbox import Sandbox

BEX_ORDER = bex_order_doc()


def placed(day: int) -> int:
    """Unix epoch seconds of noon UTC on a day of October 2026."""
    return int(datetime(2026, 10, day, 12, tzinfo=UTC).timestamp())


@pytest.fixture
def shop(sandbox: Sandbox, tmp_path: Path) -> Path:
    """Three orders (1, 2 and 3 October 2026) and a bexvendre.toml; returns its path."""
    for order_id, day in ((7001, 1), (7002, 2), (7003, 3)):
        sandbox.add_vendre_order(order_doc(order_id, date_added=placed(day)))
    (tmp_path / "lookups.toml").write_text(
        (ROOT / "examples" / "lookups.toml").read_text("utf-8"), "utf-8"
    )
    config = tmp_path / "bexvendre.toml"
    config.write_text(
        'lookups = "lookups.toml"\nstate = "state.sqlite3"\n\n'
        f'[vendre]\nurl = "{sandbox.vendre_url}"\napi_key = "{sandbox.vendre_api_key}"\n\n'
        f'[bex]\nurl = "{sandbox.bex_url}"\napi_key = "{sandbox.bex_api_key}"\n'
        f'secret = "{sandbox.bex_secret}"\n',
        "utf-8",
    )
    return config


@pytest.fixture
def imported(shop: Path, sandbox: Sandbox, lookups: Lookups) -> Iterator[SqliteState]:
    """The three orders imported by the orders flow; the state it wrote."""
    with SqliteState(shop.parent / "state.sqlite3") as state:
        report = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
        assert report.summary() == "orders: 3 done"
        yield state


def reconcile_json(
    config: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, Any]]:
    status = main(
        ["reconcile", "--config", str(config), "--since", "2026-10-01", *extra, "--output", "json"]
    )
    return status, json.loads(capsys.readouterr().out)


def findings(data: dict[str, Any]) -> dict[str, str]:
    return {entry["order_id"]: entry["finding"] for entry in data["orders"]}


def test_clean_window_exits_0(
    shop: Path, imported: SqliteState, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every order created once and unchanged: exit 0, the summary counts them as ok."""
    status = main(["reconcile", "--config", str(shop), "--since", "2026-10-01"])
    out = capsys.readouterr().out
    assert status == 0
    assert out.splitlines()[-1] == "reconcile: 3 order(s) checked: 3 ok"
    assert "finding" not in out  # no table: nothing to show


def test_a_status_the_flows_pushed_is_not_a_change(
    shop: Path,
    imported: SqliteState,
    sandbox: Sandbox,
    lookups: Lookups,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """push_statuses writes Vendre's status: reconcile does not call that a change (it did,
    found by `bexvendre sandbox` by hand); a change to anything else still is."""
    sandbox.set_bex_order_status("7001", "SKICKAD")
    pushed = push_statuses(sandbox.vendre_client(), sandbox.bex_client(), lookups, imported)
    assert pushed.count("done") == 1
    status, data = reconcile_json(shop, capsys)
    assert (status, findings(data)["7001"]) == (0, "ok")

    changed = order_doc(7001)
    changed["billing_address"]["city"] = "Luleå"
    sandbox.add_vendre_order(changed)
    status, data = reconcile_json(shop, capsys)
    assert (status, findings(data)["7001"]) == (3, "changed")


def test_an_order_deleted_from_bex_and_one_created_twice_exit_3(
    shop: Path, imported: SqliteState, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """The answer to "did we lose an order?": a deleted order is missing, a copy a duplicate."""
    assert sandbox.delete_bex_order("7001") == 1
    (second,) = [o for o in sandbox.bex_orders() if o["Ordernr"] == "7002"]
    sandbox.add_bex_order(second, duplicate=True)
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["7002", "7003", "7002"]

    status, data = reconcile_json(shop, capsys)
    assert status == 3
    assert findings(data) == {"7001": "missing", "7002": "duplicate", "7003": "ok"}
    by_id = {entry["order_id"]: entry for entry in data["orders"]}
    assert (by_id["7001"]["state"], by_id["7001"]["in_bex"]) == ("created", 0)
    assert by_id["7002"]["in_bex"] == 2
    assert (data["discrepancies"], data["exit_code"], data["errors"]) == (2, 3, [])
    assert data["counts"] == {"missing": 1, "duplicate": 1, "ok": 1}
    assert data["since"] == "2026-09-30T22:00:00+00:00"  # midnight in Stockholm

    status = main(["reconcile", "--config", str(shop), "--since", "2026-10-01"])
    table = capsys.readouterr().out.splitlines()
    assert status == 3
    assert table[1].split() == ["order", "placed", "state", "in", "Bex", "finding", "detail"]
    assert table[2].split()[:6] == ["7001", "2026-10-01", "12:00Z", "created", "0", "missing"]
    assert table[3].split()[:6] == ["7002", "2026-10-02", "12:00Z", "created", "2", "duplicate"]
    assert table[-1] == "reconcile: 3 order(s) checked: 1 duplicate, 1 missing, 1 ok"


def test_unknown_changed_quarantined_new_and_never_imported(
    shop: Path, sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Each other kind of finding, from the public API."""
    bad = order_doc(7006, date_added=placed(6))  # a payment method the tables do not know
    bad["payment"] = {**bad["payment"], "payment_method": "PAYPAL"}
    sandbox.add_vendre_order(bad)
    first = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert first.summary() == "orders: 3 done, 1 quarantined"
    # Changed in the shop after import.
    sandbox.add_vendre_order(order_doc(7003, date_added=placed(3), customer_id=4242))
    # In Bex, unknown to the state: created there by someone else.
    sandbox.add_vendre_order(order_doc(7004, date_added=placed(4)))
    sandbox.add_bex_order({**sandbox.bex_orders()[0], "Ordernr": "7004"})
    # Before the cursor, in neither Bex nor the state: lost.
    sandbox.add_vendre_order(order_doc(7005, date_added=placed(5)))
    # Placed after the last run: the next run takes it.
    future = int(datetime(2099, 1, 1, tzinfo=UTC).timestamp())
    sandbox.add_vendre_order(order_doc(7007, date_added=future))

    report = reconcile(
        sandbox.vendre_client(), sandbox.bex_client(), state, since=date(2026, 10, 1)
    )
    assert {e.order_id: e.finding for e in report.entries} == {
        "7001": "ok",
        "7002": "ok",
        "7003": "changed",
        "7004": "unknown",
        "7005": "missing",
        "7006": "quarantined",
        "7007": "new",
    }
    assert [e.order_id for e in report.discrepancies] == ["7003", "7004", "7005", "7006"]
    assert report.exit_code == 3
    (quarantined,) = [e for e in report.entries if e.finding == "quarantined"]
    assert "PAYPAL" in quarantined.detail


def test_until_ends_the_window(
    shop: Path, imported: SqliteState, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--until`` is the last day, included; orders after it are not checked."""
    sandbox.delete_bex_order("7003")
    status, data = reconcile_json(shop, capsys, "--until", "2026-10-02")
    assert (status, findings(data)) == (0, {"7001": "ok", "7002": "ok"})
    status, data = reconcile_json(shop, capsys, "--until", "2026-10-03T15:00+02:00")
    assert (status, findings(data)) == (3, {"7001": "ok", "7002": "ok", "7003": "missing"})


def test_a_failed_request_exits_1(
    shop: Path, imported: SqliteState, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bex down for the look-ups: the orders are `failed` and the exit status 1, not 0 or 3."""
    sandbox.delete_bex_order("7001")
    sandbox.inject("bex", method="GET", path="Orders", status=500, times=1)
    status, data = reconcile_json(shop, capsys)
    assert status == 1
    assert findings(data) == {"7001": "failed", "7002": "ok", "7003": "ok"}


def test_a_failed_listing_exits_1(
    shop: Path, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shop down: the check is incomplete, exit 1, the error in the JSON."""
    sandbox.inject("vendre", method="GET", path="orders", status=500, times=5)
    status, data = reconcile_json(shop, capsys)
    assert status == 1
    assert data["orders"] == []
    assert "listing the Vendre orders: ServerError" in data["errors"][0]


def test_nothing_imported_yet_is_not_a_discrepancy(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before the first orders run (no state file, which is not created) every order is new."""
    status, data = reconcile_json(shop, capsys)
    assert (status, set(findings(data).values())) == (0, {"new"})
    assert not (shop.parent / "state.sqlite3").exists()


def test_usage_errors_exit_2(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad date, --until before --since and a bad configuration are usage errors."""
    base = ["reconcile", "--config", str(shop)]
    assert "expected a date like 2024-05-01" in usage_error([*base, "--since", "1.10."], capsys)
    message = usage_error([*base, "--since", "2026-10-02", "--until", "2026-10-01"], capsys)
    assert "--until (2026-10-01) must be after --since (2026-10-02)" in message
    shop.write_text(shop.read_text("utf-8") + 'sinse = "2026-10-01"\n', "utf-8")
    assert "unknown setting 'sinse'" in usage_error([*base, "--since", "2026-10-01"], capsys)


def test_reconcile_refuses_an_empty_window(sandbox: Sandbox, state: SqliteState) -> None:
    with pytest.raises(ValueError, match="must be after since"):
        reconcile(
            sandbox.vendre_client(),
            sandbox.bex_client(),
            state,
            since=datetime(2026, 10, 2, tzinfo=UTC),
            until=datetime(2026, 10, 2, tzinfo=UTC),
        )


def test_report_to_dict_is_json(sandbox: Sandbox, state: SqliteState) -> None:
    report = reconcile(sandbox.vendre_client(), sandbox.bex_client(), state, since=date(2026, 1, 1))
    assert isinstance(report, ReconcileReport)
    assert json.loads(json.dumps(report.to_dict()))["checked"] == 0
    assert report.exit_code == 0


def test_an_order_without_an_id_is_missing_past_the_cursor_and_new_before_any_run(
    shop: Path, imported: SqliteState, sandbox: Sandbox
) -> None:
    """No usable id (so no placing date either): missing once the cursor exists, else new."""
    nameless = order_doc(7010, date_added=placed(4))
    nameless["id"] = "not a number"
    sandbox.add_vendre_order_document(
        nameless, order_id=7010, date_added=datetime(2026, 10, 4, 12, tzinfo=UTC)
    )
    vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client()

    after = reconcile(vendre_client, bex_client, imported, since=date(2026, 10, 1))
    (entry,) = [e for e in after.entries if e.order_id.startswith("sha256:")]
    assert (entry.finding, entry.placed, entry.in_bex) == ("missing", None, None)
    assert entry.detail == "has no usable order id and was never quarantined"
    assert after.exit_code == 3

    with SqliteState(shop.parent / "fresh.sqlite3") as fresh:
        before = reconcile(vendre_client, bex_client, fresh, since=date(2026, 10, 1))
    (entry,) = [e for e in before.entries if e.order_id.startswith("sha256:")]
    assert entry.finding == "new"
    assert entry.detail == "has no usable order id; the next orders run quarantines it"
    assert entry not in before.discrepancies


def test_an_intent_a_dropped_order_and_a_copy_the_state_does_not_know(
    shop: Path, imported: SqliteState, sandbox: Sandbox
) -> None:
    """An unconfirmed create is pending, a dropped order not imported (in Bex or not), and
    an order Bex holds twice that the state never saw is a duplicate saying so."""
    for order_id, state in ((7001, "intent"), (7002, "dropped"), (7003, "dropped")):
        record = imported.get_order(order_id)
        assert record is not None
        imported.put_order(attrs.evolve(record, state=state))
    sandbox.delete_bex_order("7003")
    sandbox.add_vendre_order(order_doc(7004, date_added=placed(4)))
    copy = {**sandbox.bex_orders()[0], "Ordernr": "7004"}
    sandbox.add_bex_order(copy)
    sandbox.add_bex_order(copy, duplicate=True)

    report = reconcile(
        sandbox.vendre_client(), sandbox.bex_client(), imported, since=date(2026, 10, 1)
    )
    found = {e.order_id: (e.finding, e.state, e.in_bex, e.detail) for e in report.entries}
    assert found == {
        "7001": (
            "pending",
            "intent",
            1,
            "the create was begun and not confirmed; the next orders run finishes it",
        ),
        "7002": ("not_imported", "dropped", 1, "in Bex, not imported by the sync (dropped)"),
        "7003": ("not_imported", "dropped", 0, "not to be imported (dropped)"),
        "7004": ("duplicate", None, 2, "Bex holds 2 orders 7004; the state does not know it"),
    }


@pytest.mark.parametrize("payload", ["{not json", "[]"])
def test_an_imported_payload_that_is_not_an_order_counts_as_changed(
    shop: Path, imported: SqliteState, sandbox: Sandbox, payload: str
) -> None:
    """A stored payload that cannot be compared (not JSON, not an object): changed, not ok."""
    record = imported.get_order(7001)
    assert record is not None
    imported.put_order(attrs.evolve(record, content_hash="0" * 64, payload=payload))
    report = reconcile(
        sandbox.vendre_client(), sandbox.bex_client(), imported, since=date(2026, 10, 1)
    )
    assert {e.order_id: e.finding for e in report.entries} == {
        "7001": "changed",
        "7002": "ok",
        "7003": "ok",
    }


def test_the_table_shows_failed_requests_and_notes(
    shop: Path, imported: SqliteState, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """As text, a failed listing and a note have their own lines; the summary says incomplete."""
    sandbox.inject("vendre", method="GET", path="orders", status=500, times=5)
    status = main(["reconcile", "--config", str(shop), "--since", "2026-10-01"])
    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert lines[1].startswith("failed: listing the Vendre orders: ServerError")
    assert lines[-1] == (
        "reconcile: 0 order(s) checked; 1 request(s) failed, the check is incomplete"
    )

    sandbox.clear_faults()
    bex_client = sandbox.bex_client(endpoints=BexEndpoints(orders="NoSuchListing"))
    report = reconcile(sandbox.vendre_client(), bex_client, imported, since=date(2026, 10, 1))
    out = io.StringIO()
    print_report(report, out)
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("note: Bex does not list orders by number (404)")
    assert lines[-1] == "reconcile: 3 order(s) checked: 3 ok"


# --- the flows' argument order -------------------------------------------------------------


def test_the_old_argument_order_still_works_with_a_deprecation_warning(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """``push_*(bex, vendre, ...)``, ``retry_quarantined(bex, lookups, state)`` and
    ``GiftCardCheckout(bex, state, lookups)`` warn, then do what the new order does."""
    sandbox.set_bex_stock("1001_SKO_42", 7)
    bex_client, vendre_client = sandbox.bex_client(), sandbox.vendre_client()
    with pytest.warns(DeprecationWarning, match=r"push_stock\(bex_client, vendre_client"):
        stock = push_stock(bex_client, vendre_client, lookups, state)  # type: ignore[arg-type]
    assert stock.summary() == "stock: 1 skipped"  # not in the shop; the queue confirmed
    with pytest.warns(DeprecationWarning, match=r"push_statuses\(bex_client"):
        push_statuses(bex_client, vendre_client, lookups, state)  # type: ignore[arg-type]
    with pytest.warns(DeprecationWarning, match=r"retry_quarantined\(bex_client, lookups"):
        retried = retry_quarantined(bex_client, lookups, state)
    assert retried.outcomes == []
    with pytest.warns(DeprecationWarning, match=r"GiftCardCheckout\(bex_client, state"):
        checkout = GiftCardCheckout(bex_client, state, lookups)
    assert (checkout.bex, checkout.state, checkout.lookups) == (bex_client, state, lookups)


def test_the_new_argument_order_does_not_warn(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    sandbox.set_bex_stock("1001_SKO_42", 7)
    vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert push_stock(vendre_client, bex_client, lookups, state).summary() == (
            "stock: 1 skipped"
        )
        assert retry_quarantined(vendre_client, bex_client, lookups, state).outcomes == []
        checkout = GiftCardCheckout(vendre_client, bex_client, lookups, state)
    assert (checkout.bex, checkout.state, checkout.vendre) == (bex_client, state, vendre_client)


def test_find_order_documents_lists_every_copy_across_pages(sandbox: Sandbox) -> None:
    """Bex's orders with one Ordernr, however many pages they take; none for another."""
    sandbox.add_bex_order({**BEX_ORDER, "Ordernr": "9001"})
    sandbox.add_bex_order({**BEX_ORDER, "Ordernr": "9002"})
    sandbox.add_bex_order({**BEX_ORDER, "Ordernr": "9001", "Kundnr": "77"}, duplicate=True)
    client = sandbox.bex_client(page_size=1)
    copies = client.find_order_documents("9001")
    assert [(d["Ordernr"], d.get("Kundnr")) for d in copies] == [("9001", "5512"), ("9001", "77")]
    assert client.find_order_documents("9003") == []
    assert sandbox.delete_bex_order("9001") == 2
    assert client.find_order_documents("9001") == []


def test_the_command_line_exits_3_on_a_lost_order(
    shop: Path, imported: SqliteState, sandbox: Sandbox
) -> None:
    """As cron runs it: `bexvendre reconcile` in its own process, exit status 3."""
    sandbox.delete_bex_order("7002")
    done = run(
        "-m", "bexvendre_mapping.cli", "reconcile", "--config", str(shop), "--since", "2026-10-01"
    )
    assert (done.returncode, done.stderr) == (3, "")
    assert "7002" in done.stdout
    assert "missing" in done.stdout


def test_a_bex_that_does_not_list_orders_by_number_is_asked_one_by_one(
    shop: Path, imported: SqliteState, sandbox: Sandbox
) -> None:
    """404 to the listing: each order looked up on its own; missing ones still found, noted."""
    sandbox.delete_bex_order("7001")
    bex_client = sandbox.bex_client(endpoints=BexEndpoints(orders="NoSuchListing"))
    report = reconcile(sandbox.vendre_client(), bex_client, imported, since=date(2026, 10, 1))
    assert {e.order_id: (e.finding, e.in_bex) for e in report.entries} == {
        "7001": ("missing", 0),
        "7002": ("ok", 1),
        "7003": ("ok", 1),
    }
    assert report.notes == [
        "Bex does not list orders by number (404): each order was looked up on its own, so an "
        "order created twice cannot be seen"
    ]
    listings = [c for c in sandbox.calls("bex") if c.path.startswith("NoSuchListing")]
    assert len(listings) == 1  # asked once, then not again
    assert report.exit_code == 3
