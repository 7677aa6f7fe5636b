"""Sync flows against the sandbox: nothing lost, nothing doubled, whatever the network does."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from pytest_httpserver import HTTPServer
from tests.http_support import bex_article_doc
from tests.sync_support import EXAMPLE, add_vendre_products, order_doc, vendre_quantities

from bexvendre_mapping import Lookups, bex, convert, vendre
from bexvendre_mapping.http import BexClient, HttpError, RetryPolicy, VendreClient
from bexvendre_mapping.http._transport import wall_clock_from
from bexvendre_mapping.sync import (
    AuditLog,
    Checkout,
    GiftCardCheckout,
    LockedError,
    OrderRecord,
    Outcome,
    Report,
    SqliteState,
    import_orders,
    push_products,
    push_statuses,
    push_stock,
    retry_quarantined,
)
from bexvendre_mapping.sync._cli import FLOWS, run_flows
from bexvendre_mapping.sync._stop import STOP
from bexvendre_mapping.testing.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent


def ordernrs(sandbox: Sandbox) -> list[str]:
    return sorted(o["Ordernr"] for o in sandbox.bex_orders())


def test_import_twice_with_faults_creates_each_order_once(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """503s, a 429 and a lost response: each valid order once, the bad one quarantined."""
    for order_id in (1001, 1002, 1003):
        sandbox.add_vendre_order(order_doc(order_id))
    bad = order_doc(1004)
    bad["payment"]["payment_method"] = "PAYPAL"
    bad["products"][1]["model"] = "1001__43"
    sandbox.add_vendre_order_document(
        bad, order_id=1004, date_added=datetime(2026, 10, 25, tzinfo=UTC)
    )
    sandbox.inject("vendre", method="GET", path="orders", status=429, retry_after=1)
    sandbox.inject("bex", method="POST", path="Orders", status=503, times=2)
    sandbox.inject("bex", method="POST", path="Orders", drop_after_commit=True)

    vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client()
    first = import_orders(vendre_client, bex_client, lookups, state)
    assert ordernrs(sandbox) == ["1001", "1002", "1003"]
    assert first.count("done") == 3
    (quarantined,) = state.orders("quarantined")
    assert quarantined.order_id == 1004
    assert any(e.startswith("$.products[1].model:") for e in quarantined.errors)
    assert json.loads(quarantined.payload)["id"] == 1004

    second = import_orders(vendre_client, bex_client, lookups, state, overlap=timedelta(days=3650))
    assert ordernrs(sandbox) == ["1001", "1002", "1003"]
    assert second.count("done") == 0
    assert second.count("skipped") == 4
    posts = [c for c in sandbox.calls("bex") if c.method == "POST"]
    assert len(posts) == 5  # 2 × 503, 1 lost after commit, 2 more; none after


def test_gift_cards_are_redeemed_for_the_order(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """The reservation made at checkout is redeemed when the order reaches Bex."""
    sandbox.seed_examples()
    import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    (reservation,) = sandbox.reservations()
    assert reservation["Status"] == "Inlöst"
    assert sandbox.bex_gift_cards()[0]["Saldo"] == "500.00"


class CrashingBex(BexClient):
    """A Bex client whose process 'dies' (raises) after a number of calls of one method."""

    crash_on = "redeem_gift_card"

    def redeem_gift_card(self, reservation_id: str) -> Any:
        if self.crash_on == "redeem_gift_card":
            raise KeyboardInterrupt  # not an HttpError: nothing in the flow may catch it
        return super().redeem_gift_card(reservation_id)


def test_crash_between_create_and_redeem_then_rerun(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """A crash after Bex created the order: the rerun finds it, redeems, creates nothing."""
    sandbox.seed_examples()
    crashing = CrashingBex(sandbox.bex_url, sandbox.bex_api_key, sandbox.bex_secret, retries=0)
    with pytest.raises(KeyboardInterrupt):
        import_orders(sandbox.vendre_client(), crashing, lookups, state)
    crashing.close()
    assert ordernrs(sandbox) == ["100234"]
    assert state.get_order(100234).state == "intent"  # type: ignore[union-attr]

    report = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert ordernrs(sandbox) == ["100234"]
    assert report.outcomes[0].reason.startswith("found in Bex after an interrupted run")
    assert sandbox.reservations()[0]["Status"] == "Inlöst"
    assert state.get_order(100234).state == "created"  # type: ignore[union-attr]


def test_a_failing_order_holds_the_cursor(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """When Bex keeps failing, the order is not lost: the next run's window still holds it."""
    sandbox.add_vendre_order(order_doc(2001, date_added="2026-11-20 10:00:00"))
    sandbox.inject("bex", method="POST", path="Orders", status=500, times=10)
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    report = import_orders(
        sandbox.vendre_client(), sandbox.bex_client(retries=0), lookups, state, now=now
    )
    assert report.count("failed") == 1
    cursor = state.get_cursor("orders")
    assert cursor is not None
    assert cursor < datetime(2026, 11, 20, 9, tzinfo=UTC)
    sandbox.clear_faults()
    later = import_orders(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, state, now=now + timedelta(hours=1)
    )
    assert later.count("done") == 1
    assert ordernrs(sandbox) == ["2001"]


def test_overlapping_windows_over_a_dst_night(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Runs every 20 minutes through the autumn night: each order once, none skipped."""
    times = [
        "2026-10-25 01:50:00",
        "2026-10-25 02:10:00",
        "2026-10-25 02:40:00",
        "2026-10-25 03:05:00",
    ]
    for index, placed in enumerate(times):
        sandbox.add_vendre_order(order_doc(3000 + index, date_added=placed))
    vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client()
    run_at = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)  # 01:00 CEST
    for _ in range(12):
        import_orders(
            vendre_client, bex_client, lookups, state, now=run_at, since=run_at - timedelta(hours=1)
        )
        run_at += timedelta(minutes=20)
    assert ordernrs(sandbox) == ["3000", "3001", "3002", "3003"]


# Both daylight-saving nights of 2026 in Stockholm: clocks go forward at 01:00 UTC on 29 March
# (02:00 CET becomes 03:00 CEST) and back at 01:00 UTC on 25 October (03:00 CEST becomes 02:00
# CET, so every wall-clock time from 02:00 to 03:00 happens twice).
DST_NIGHTS = {
    "spring": datetime(2026, 3, 29, 0, 0, tzinfo=UTC),
    "autumn": datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
}
DST_MINUTES = 120  # one order (or status) a minute, from an hour before the change


def _wall_text(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%d %H:%M:%S")


# Every cadence runs in the README's test command; the sessions on every Python (noxfile.py,
# `-m "not slow"`) run the cadences the attack found losses at, and the extremes.
CADENCES = [
    pytest.param(cadence, marks=() if cadence in (1, 7, 15, 30) else pytest.mark.slow)
    for cadence in range(1, 31)
]


def _run_times(start: datetime, cadence: int) -> Iterator[datetime]:
    """A run every ``cadence`` minutes until one has run after the last record was placed."""
    minute = 0
    while minute < DST_MINUTES + cadence:
        minute += cadence
        yield start + timedelta(minutes=minute)


@pytest.mark.parametrize("cadence", CADENCES)
@pytest.mark.parametrize("night", sorted(DST_NIGHTS))
def test_orders_across_dst_nights_every_cadence(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups, night: str, cadence: int
) -> None:
    """One order a minute, a run every ``cadence`` minutes: none lost, none doubled.

    Vendre filters by wall-clock time; in the repeated hour a bound of the first 02:40 would
    leave out the orders of the second 02:00 to 02:40, for good.
    """
    start = DST_NIGHTS[night]
    vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client()
    placed = 0
    for now in _run_times(start, cadence):
        while placed < DST_MINUTES and start + timedelta(minutes=placed) <= now:
            moment = start + timedelta(minutes=placed)
            sandbox.add_vendre_order(order_doc(10_000 + placed, date_added=_wall_text(moment)))
            placed += 1
        report = import_orders(vendre_client, bex_client, lookups, state, now=now)
        assert report.count("failed") == report.count("quarantined") == 0
    numbers = [o["Ordernr"] for o in sandbox.bex_orders()]
    assert len(numbers) == len(set(numbers)), "an order was created twice"
    assert sorted(numbers) == sorted(str(10_000 + m) for m in range(DST_MINUTES))


@pytest.mark.parametrize("cadence", CADENCES)
@pytest.mark.parametrize("night", sorted(DST_NIGHTS))
def test_statuses_across_dst_nights_every_cadence(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups, night: str, cadence: int
) -> None:
    """One Bex status change a minute, a run every ``cadence`` minutes: each reaches Vendre once."""
    start = DST_NIGHTS[night]
    for minute in range(DST_MINUTES):
        sandbox.add_vendre_order(order_doc(20_000 + minute))
    vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client()
    changed = 0
    for now in _run_times(start, cadence):
        while changed < DST_MINUTES and start + timedelta(minutes=changed) <= now:
            moment = start + timedelta(minutes=changed)
            sandbox.set_bex_order_status(str(20_000 + changed), "SKICKAD", changed_at=moment)
            changed += 1
        report = push_statuses(vendre_client, bex_client, lookups, state, now=now)
        assert report.count("failed") == report.count("quarantined") == 0
    sent = [update["id"] for update in sandbox.vendre_order_statuses()]
    assert len(sent) == len(set(sent)), "a status was sent twice"
    assert sorted(sent) == [20_000 + m for m in range(DST_MINUTES)]


def test_the_wall_clock_bound_covers_the_repeated_hour() -> None:
    """Inside the first reading of the repeated hour the filter moves back by the shift."""
    zone = "Europe/Stockholm"
    first_0240 = datetime(2026, 10, 25, 0, 40, tzinfo=UTC)
    assert wall_clock_from(first_0240, zone) == "2026-10-25 01:40:00"
    assert wall_clock_from(first_0240 + timedelta(hours=1), zone) == "2026-10-25 02:40:00"
    assert wall_clock_from(datetime(2026, 3, 29, 0, 59, 59, 999, tzinfo=UTC), zone) == (
        "2026-03-29 01:59:59"
    )
    assert wall_clock_from(datetime(2026, 3, 29, 1, tzinfo=UTC), zone) == "2026-03-29 03:00:00"
    # Every instant after the bound's moment reads as a wall clock at or after the bound.
    moment = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    while moment < datetime(2026, 10, 25, 3, tzinfo=UTC):
        bound = wall_clock_from(moment, zone)
        later = [moment + timedelta(minutes=m) for m in range(0, 240, 7)]
        assert all(_wall_text(t) >= bound for t in later), moment
        moment += timedelta(minutes=5)


def test_orders_placed_after_the_run_started_wait(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """The window ends at the run's start: a later order is for the next run."""
    sandbox.add_vendre_order(order_doc(4001, date_added="2026-11-28 13:30:00"))
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # 13:00 in Stockholm
    report = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state, now=now)
    assert report.outcomes[0].reason.startswith("placed after this run started")
    assert ordernrs(sandbox) == []
    import_orders(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, state, now=now + timedelta(hours=1)
    )
    assert ordernrs(sandbox) == ["4001"]


def test_dry_run_writes_nothing(sandbox: Sandbox, tmp_path: Path, lookups: Lookups) -> None:
    """--dry-run plans every flow and writes neither to the state nor to either system."""
    sandbox.seed_examples()
    sandbox.add_vendre_order(order_doc(5001))
    path = tmp_path / "state.sqlite3"
    with SqliteState(path) as store:
        vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client()
        reports = [
            import_orders(vendre_client, bex_client, lookups, store, dry_run=True),
            push_products(vendre_client, bex_client, lookups, store, dry_run=True),
            push_stock(vendre_client, bex_client, lookups, store, dry_run=True),
            push_statuses(vendre_client, bex_client, lookups, store, dry_run=True),
        ]
        assert store.orders() == []
        assert store.get_cursor("orders") is None
        assert store.get_pushed("product", "1001") is None
        assert store.product_index_refreshed() is None
        assert store.get_product_id("1001") is None
    # products: the family's update and a create for 1001 and each of its five sizes; stock:
    # the shop has none of the sizes yet (a dry run creates no product), so nothing to send
    assert [r.count("planned") for r in reports] == [2, 7, 0, 3]
    assert reports[2].counts == {"skipped": 5}
    assert sandbox.bex_orders() == []
    assert sandbox.vendre_products() == sandbox.vendre_order_statuses() == []
    assert len(sandbox.bex_queued_stock_changes()) == 5
    assert all(c.method == "GET" for c in sandbox.calls())


def test_stock_entries_confirmed_only_when_vendre_accepted(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Vendre fails one product's save: its entry stays queued, the others are confirmed."""
    numbers = [f"1001_SKO_{size}" for size in range(36, 42)]
    add_vendre_products(sandbox, *numbers)
    for size in range(36, 42):
        sandbox.set_bex_stock(f"1001_SKO_{size}", size)
    sandbox.inject("vendre", method="PUT", path="products/", status=503, times=4)  # > 3 retries
    vendre_client = sandbox.vendre_client()
    report = push_stock(vendre_client, sandbox.bex_client(), lookups, state)
    assert report.count("failed") == 1
    pushed = {n for n, quantity in vendre_quantities(sandbox).items() if quantity}
    queued = {e["productIdentifier"] for e in sandbox.bex_queued_stock_changes()}
    assert len(pushed) == 5
    assert queued == set(numbers) - pushed
    again = push_stock(vendre_client, sandbox.bex_client(), lookups, state)
    assert again.count("failed") == 0
    assert sandbox.bex_queued_stock_changes() == []
    assert vendre_quantities(sandbox) == {f"1001_SKO_{size}": size for size in range(36, 42)}


def test_unchanged_stock_is_not_sent_again(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """A stock change to the value Vendre already has is confirmed without a new update."""
    add_vendre_products(sandbox, "GIFTBOX")
    sandbox.set_bex_stock("GIFTBOX", 5)
    push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    puts = len([c for c in sandbox.calls("vendre") if c.method == "PUT"])
    assert puts == 1
    assert vendre_quantities(sandbox) == {"GIFTBOX": 5}
    sandbox.set_bex_stock("GIFTBOX", 5)
    report = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert [o.reason for o in report.outcomes] == ["unchanged"]
    assert len([c for c in sandbox.calls("vendre") if c.method == "PUT"]) == puts
    assert sandbox.bex_queued_stock_changes() == []


def test_products_skip_unchanged(sandbox: Sandbox, state: SqliteState, lookups: Lookups) -> None:
    """Articles go to Vendre once; an unchanged article is skipped by its content hash."""
    sandbox.seed_examples()
    first = push_products(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert first.count("done") == 1
    parent, *children = sandbox.vendre_products()
    assert len(parent["child_product_ids"]) == len(children) == 5
    saves = len([c for c in sandbox.calls("vendre") if c.method in {"POST", "PUT"}])
    assert saves == 6
    second = push_products(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, state, overlap=timedelta(days=99999)
    )
    assert second.count("skipped") == 1
    assert len([c for c in sandbox.calls("vendre") if c.method in {"POST", "PUT"}]) == saves


def test_statuses_sent_once(sandbox: Sandbox, state: SqliteState, lookups: Lookups) -> None:
    """Each Bex status reaches Vendre once, mapped through order_statuses; unknown ones reported."""
    sandbox.add_vendre_order(order_doc(100234))
    sandbox.set_bex_order_status("100234", "SKICKAD")
    sandbox.set_bex_order_status("100235", "OKÄND")
    report = push_statuses(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert sandbox.vendre_order_statuses() == [{"id": 100234, "status": 3}]
    assert report.count("quarantined") == 1
    again = push_statuses(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, state, overlap=timedelta(days=9999)
    )
    assert len(sandbox.vendre_order_statuses()) == 1
    assert again.count("done") == 0


def test_quarantined_orders_retry_after_the_tables_are_fixed(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Fixing the code table and retrying creates the quarantined order, once."""
    bad = order_doc(6001)
    bad["payment"]["payment_method"] = "PAYPAL"
    sandbox.add_vendre_order(bad)
    import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert [r.order_id for r in state.orders("quarantined")] == [6001]
    still = retry_quarantined(None, sandbox.bex_client(), lookups, state)
    assert still.count("quarantined") == 1
    fixed = Lookups.from_dict(
        {
            **lookups.to_dict(),
            "payment_methods": {**dict(lookups.payment_methods.items()), "PAYPAL": "PAYPAL"},
        }
    )
    report = retry_quarantined(None, sandbox.bex_client(), fixed, state)
    assert report.count("done") == 1
    assert ordernrs(sandbox) == ["6001"]
    assert state.orders("quarantined") == []


def _with_paypal(lookups: Lookups) -> Lookups:
    return Lookups.from_dict(
        {
            **lookups.to_dict(),
            "payment_methods": {**dict(lookups.payment_methods.items()), "PAYPAL": "PAYPAL"},
        }
    )


def test_a_retry_that_bex_fails_is_taken_up_by_every_later_run(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """A quarantined order retried while Bex answers 503 is neither lost nor created twice.

    The order is older than the cursor, so no window will fetch it again: the recorded intent
    is a queue that every later run takes up, whatever the order's date.
    """
    old = order_doc(6101, date_added="2026-09-01 10:00:00")
    old["payment"]["payment_method"] = "PAYPAL"
    sandbox.add_vendre_order(old)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client(retries=0)
    import_orders(vendre_client, bex_client, lookups, state, now=now)
    assert [r.order_id for r in state.orders("quarantined")] == [6101]

    fixed = _with_paypal(lookups)
    sandbox.inject("bex", method="POST", path="Orders", status=503, times=2)
    retried = retry_quarantined(None, bex_client, fixed, state)
    assert [(o.entity, o.result) for o in retried.outcomes] == [("6101", "failed")]
    assert ordernrs(sandbox) == []

    later = now + timedelta(days=1)
    report = import_orders(vendre_client, bex_client, fixed, state, now=later)
    assert [(o.entity, o.result) for o in report.outcomes] == [("6101", "failed")]  # still 503
    report = import_orders(vendre_client, bex_client, fixed, state, now=later)
    assert [(o.entity, o.result) for o in report.outcomes] == [("6101", "done")]
    assert ordernrs(sandbox) == ["6101"]
    assert state.orders("intent") == []
    assert state.orders("quarantined") == []
    again = import_orders(vendre_client, bex_client, fixed, state, now=later)
    assert again.count("done") == 0
    assert ordernrs(sandbox) == ["6101"]


@pytest.mark.parametrize("committed", [False, True])
def test_a_retry_interrupted_at_its_look_up_is_finished_by_the_next_run(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups, committed: bool
) -> None:
    """The retry's look-up fails (as when it is killed there): the next run finishes it.

    Whether or not the order reached Bex before, it is there exactly once afterwards.
    """
    old = order_doc(6201, date_added="2026-09-01 10:00:00")
    old["payment"]["payment_method"] = "PAYPAL"
    sandbox.add_vendre_order(old)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client(retries=0)
    import_orders(vendre_client, bex_client, lookups, state, now=now)
    fixed = _with_paypal(lookups)
    sandbox.inject("bex", method="GET", path="Orders", status=503)
    retried = retry_quarantined(None, bex_client, fixed, state)
    assert [(o.entity, o.result) for o in retried.outcomes] == [("6201", "failed")]
    (intent,) = state.orders("intent")
    assert intent.order_id == 6201
    if committed:  # an earlier attempt had reached Bex, its answer lost
        sandbox.add_bex_order(convert.order_to_bex(vendre.load_order(old), fixed))

    report = import_orders(vendre_client, bex_client, fixed, state, now=now + timedelta(days=1))
    reason = "found in Bex after an interrupted run" if committed else "created"
    assert [(o.entity, o.result, o.reason) for o in report.outcomes] == [("6201", "done", reason)]
    assert ordernrs(sandbox) == ["6201"]
    assert [r.state for r in state.orders()] == ["created"]


def test_an_order_with_a_lone_surrogate_is_quarantined_and_the_others_go_on(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups, tmp_path: Path
) -> None:
    """A lone surrogate in a fetched order stops nothing: that order is quarantined."""
    bad = order_doc(6301)
    bad["billing_address"]["name"] = "Astrid \ud83d"
    sandbox.add_vendre_order_document(
        bad, order_id=6301, date_added=datetime(2026, 10, 25, tzinfo=UTC)
    )
    sandbox.add_vendre_order(order_doc(6302))
    with AuditLog(tmp_path / "audit.jsonl") as audit:
        report = import_orders(
            sandbox.vendre_client(), sandbox.bex_client(), lookups, state, audit=audit
        )
    assert [(o.entity, o.result) for o in report.outcomes] == [
        ("6301", "quarantined"),
        ("6302", "done"),
    ]
    assert ordernrs(sandbox) == ["6302"]
    (record,) = state.orders("quarantined")
    assert record.errors == ("$.billing_address.name: text with a lone surrogate (\\ud83d)",)
    assert json.loads(record.payload)["billing_address"]["name"] == "Astrid \ud83d"
    assert len((tmp_path / "audit.jsonl").read_text("utf-8").splitlines()) == 2
    again = import_orders(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, state, overlap=timedelta(days=3650)
    )
    assert [(o.entity, o.reason) for o in again.outcomes] == [
        ("6301", "quarantined; unchanged since"),
        ("6302", "already in Bex"),
    ]


def test_an_article_with_a_lone_surrogate_is_reported_under_its_hash(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """A name that cannot be printed is not used as the record's name in the report."""
    article = bex.load_article((ROOT / "examples" / "bex-article.json").read_bytes())
    sandbox.add_bex_article(article)
    sandbox.add_bex_article(attrs.evolve(article, article="JKT\ud83d"))
    vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client()
    report = push_products(vendre_client, bex_client, lookups, state)
    results = sorted((o.entity[:7], o.result) for o in report.outcomes)
    assert results == [(article.article, "done"), ("sha256:", "quarantined")]


def test_a_spent_wait_budget_stops_the_flow_and_keeps_the_cursor(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Bex answering 503 with a long Retry-After to everything: the run stops, nothing lost."""
    for order_id in (6401, 6402, 6403):
        sandbox.add_vendre_order(order_doc(order_id))
    sandbox.inject("bex", method="POST", path="Orders", status=503, retry_after=1, times=100)
    bex_client = sandbox.bex_client(retries=RetryPolicy(total=5, wait_budget=1.5, jitter=0))
    vendre_client = sandbox.vendre_client()
    now = datetime(2026, 11, 1, tzinfo=UTC)
    report = import_orders(vendre_client, bex_client, lookups, state, now=now)
    assert report.count("failed") == 1
    assert report.count("done") == 0
    assert "wait budget" in report.outcomes[-1].reason
    assert state.get_cursor("orders") is None  # the next run fetches them all again
    sandbox.clear_faults()
    report = import_orders(vendre_client, bex_client, lookups, state, now=now)
    assert report.count("done") == 3
    assert ordernrs(sandbox) == ["6401", "6402", "6403"]


def test_two_processes_never_interleave(tmp_path: Path) -> None:
    """While one run holds the state, a second one waits, then refuses."""
    path = tmp_path / "state.sqlite3"
    held = threading.Event()
    release = threading.Event()

    def first() -> None:
        with SqliteState(path) as store, store.lock():
            held.set()
            release.wait(5)

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(5)
    try:
        with SqliteState(path, lock_timeout=0.2) as other, pytest.raises(LockedError), other.lock():
            pass
    finally:
        release.set()
        thread.join()
    with SqliteState(path, lock_timeout=0.2) as other, other.lock():
        pass


def test_audit_trail(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups, tmp_path: Path
) -> None:
    """One JSON line per record: time, run id, flow, entity, action, outcome, error."""
    sandbox.add_vendre_order(order_doc(7001))
    bad = order_doc(7002)
    bad["shipping"]["method_id"] = "99"
    sandbox.add_vendre_order(bad)
    with AuditLog(tmp_path / "audit.jsonl") as audit:
        report = import_orders(
            sandbox.vendre_client(), sandbox.bex_client(), lookups, state, audit=audit
        )
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(r["entity"], r["action"], r["outcome"]) for r in lines] == [
        ("7001", "create", "done"),
        ("7002", "quarantine", "quarantined"),
    ]
    assert lines[1]["error"].startswith("$.shipping.method_id: unknown code '99'")
    assert set(lines[0]) == {
        "time",
        "run_id",
        "flow",
        "entity",
        "action",
        "outcome",
        "reason",
        "error",
    }
    assert {line["run_id"] for line in lines} == {report.run_id}


def test_gift_card_checkout_reserves_once(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Reserving twice under one reference, or after a lost answer, gives one reservation."""
    sandbox.add_bex_gift_card(
        {"Nummer": "PK-1", "Saldo": "300.00", "Valuta": "SEK", "Status": "Aktiv"}
    )
    checkout = GiftCardCheckout(None, sandbox.bex_client(), lookups, state)
    assert checkout.lookup("PK-1").usable
    sandbox.inject("bex", method="POST", path="GiftCardReservations", drop_after_commit=True)
    use = checkout.reserve("PK-1", Decimal("120.00"), "cart-9")
    again = checkout.reserve("PK-1", Decimal("120.00"), "cart-9")
    assert use == again
    assert len(sandbox.reservations()) == 1
    changed = checkout.reserve("PK-1", Decimal("50.00"), "cart-9")  # replaces the first
    assert [(r["Belopp"], r["Status"]) for r in sandbox.reservations()] == [
        ("120.00", "Släppt"),
        ("50.00", "Reserverad"),
    ]
    assert checkout.release("cart-9")
    assert [r["Status"] for r in sandbox.reservations()] == ["Släppt", "Släppt"]
    assert changed.reservation_id == sandbox.reservations()[1]["ReservationsID"]
    assert not checkout.release("cart-9")


def test_gift_card_checkout_resumes_after_a_crash(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """A crash after Bex reserved but before the state knew: the retry finds the reservation."""
    sandbox.add_bex_gift_card(
        {"Nummer": "PK-2", "Saldo": "300.00", "Valuta": "SEK", "Status": "Aktiv"}
    )
    bex_client = sandbox.bex_client()
    checkout = GiftCardCheckout(None, bex_client, lookups, state)

    class Crash(Exception):
        pass

    original = state.put_checkout
    calls = []

    def put_then_crash(checkout_state: Any) -> None:
        calls.append(checkout_state.state)
        if checkout_state.state == "reserved" and len(calls) == 2:
            raise Crash
        original(checkout_state)

    state.put_checkout = put_then_crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        checkout.reserve("PK-2", Decimal("100.00"), "cart-1")
    state.put_checkout = original  # type: ignore[method-assign]
    use = checkout.reserve("PK-2", Decimal("100.00"), "cart-1")
    assert len(sandbox.reservations()) == 1
    assert use.reservation_id == sandbox.reservations()[0]["ReservationsID"]


def test_http_errors_are_reported_not_raised(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """A refused product create is a failed outcome; the cursor stays for the next run."""
    sandbox.seed_examples()
    sandbox.inject("vendre", method="POST", path="products", status=400)
    report = push_products(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert report.count("failed") == 1
    assert isinstance(report.outcomes[0].errors[0], str)
    assert state.get_cursor("products") is None
    assert sandbox.vendre_products() == []  # the sizes wait for their parent
    assert not report.ok
    assert issubclass(HttpError, Exception)


# --- Orders changed after creation, gift cards Bex does not hold, retrying quarantined orders -----


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

    still = retry_quarantined(None, bex_client, lookups, state, dry_run=True)
    assert [(o.entity, o.result, o.reason) for o in still.outcomes] == [
        ("8001", "quarantined", "still does not map"),
        ("8002", "quarantined", "still does not map"),
    ]
    assert still.outcomes[0].errors[0].startswith("$.payment.payment_method: unknown code")

    fixed = with_paypal(lookups)
    plan = retry_quarantined(None, bex_client, fixed, state, order_ids=[8002], dry_run=True)
    assert outcomes(plan) == [("8002", "create", "planned", "maps now")]
    assert sandbox.bex_orders() == []

    done = retry_quarantined(None, bex_client, fixed, state, order_ids=[8002])
    assert done.count("done") == 1
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["8002"]
    assert [r.order_id for r in state.orders("quarantined")] == [8001]


def test_each_product_is_saved_alone_and_unmapped_articles_are_reported(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """One create per product (parent, then each size); an unknown category is quarantined,
    not sent."""
    sandbox.add_bex_article(bex_article_doc("1001"))
    sandbox.add_bex_article(bex_article_doc("1002"))
    sandbox.add_bex_article(bex_article_doc("1003", **{"Extern referens": "KLOCKOR"}))
    report = push_products(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
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
    products = sandbox.vendre_products()
    posts = [c for c in sandbox.calls("vendre") if c.method == "POST"]
    assert len(posts) == len(products)
    assert [c for c in sandbox.calls("vendre") if c.method == "PUT"] == []
    parents = {p["id"]: p["article_number"] for p in products if p["parent"] == 0}
    assert sorted(parents.values()) == ["1001", "1002"]
    for product in products:
        if product["parent"]:
            assert product["article_number"].startswith(parents[product["parent"]] + "_")


def test_stock_that_cannot_be_mapped_is_taken_off_the_queue_and_unreadable_stock_stays(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """A bad product identifier is quarantined and confirmed (it would block the queue for
    good); a failed stock look-up is failed and stays queued for the next run."""
    add_vendre_products(sandbox, "GIFTBOX")
    sandbox.set_bex_stock("1001__42", 3)
    unreadable = sandbox.set_bex_stock("GIFTBOX", 5)
    sandbox.inject("bex", method="GET", path="WarehouseManagement/GetStockinformation", status=500)
    report = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert [(o.entity, o.action, o.result) for o in report.outcomes] == [
        ("1001__42", "quarantine", "quarantined"),
        ("GIFTBOX", "update", "failed"),
    ]
    assert report.outcomes[0].reason == "does not map"
    assert report.outcomes[1].reason == "stock information not read"
    assert "HTTP 500" in report.outcomes[1].errors[0]
    assert [r.entity for r in state.quarantined("stock")] == ["1001__42"]
    assert [e["id"] for e in sandbox.bex_queued_stock_changes()] == [unreadable]
    assert vendre_quantities(sandbox) == {"GIFTBOX": 0}
    assert [c.method for c in sandbox.calls("vendre")] == ["GET"]  # the product index


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
    httpserver.expect_request("/API/1/products").respond_with_json({"list": [], "remaining": 0})
    no_wait = RetryPolicy(total=0)
    with (
        BexClient(httpserver.url_for("/api/"), "key-1", "s3cret", retries=no_wait) as bex_client,
        VendreClient(httpserver.url_for("/API/1"), "k3y", retries=no_wait) as vendre_client,
    ):
        report = push_stock(vendre_client, bex_client, lookups, state)
    (outcome,) = report.outcomes
    assert (outcome.entity, outcome.result) == ("ROPE", "quarantined")
    assert outcome.errors == (
        "$.availableQuantity: the available quantity 2.5 is not a whole number",
    )
    (kept,) = state.quarantined("stock")
    assert json.loads(kept.payload)["stock_information"]["available_quantity"] == "2.5"
    # Vendre's products are listed for the index; the queue is read again after the pass:
    # entry 1 is back (this server never drops it), handled already, so the run ends.
    assert [(r.method, r.path) for r, _ in httpserver.log] == [
        ("GET", "/API/1/products"),
        ("GET", "/api/WarehouseManagement/GetQueuedStockChanges"),
        ("GET", "/api/WarehouseManagement/GetStockinformation"),
        ("PUT", "/api/WarehouseManagement/ConfirmStockChange"),
        ("GET", "/api/WarehouseManagement/GetQueuedStockChanges"),
    ]


def test_an_unconfirmed_entry_is_failed_and_stays_queued(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Vendre took the update but Bex refused the confirmation: failed, left in the queue."""
    add_vendre_products(sandbox, "1001_SKO_42")
    entry = sandbox.set_bex_stock("1001_SKO_42", 4)
    sandbox.inject("bex", method="PUT", path="WarehouseManagement/ConfirmStockChange", status=500)
    report = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert [(o.entity, o.action, o.result, o.reason) for o in report.outcomes] == [
        ("1001_SKO_42", "confirm", "failed", "queue entry not confirmed")
    ]
    assert vendre_quantities(sandbox) == {"1001_SKO_42": 4}
    assert [e["id"] for e in sandbox.bex_queued_stock_changes()] == [entry]


def test_a_status_vendre_refuses_holds_the_cursor(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """A status update Vendre fails on is reported failed; the cursor does not move."""
    sandbox.add_vendre_order(order_doc(9001))
    sandbox.set_bex_order_status("9001", "SKICKAD")
    sandbox.inject("vendre", method="PUT", path="orders/", status=500)
    report = push_statuses(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert [(o.entity, o.result, o.reason) for o in report.outcomes] == [
        ("9001", "failed", "Vendre did not take it")
    ]
    assert not report.ok
    assert state.get_cursor("statuses") is None
    again = push_statuses(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert [(o.entity, o.result) for o in again.outcomes] == [("9001", "done")]
    assert sandbox.vendre_order_statuses() == [{"id": 9001, "status": 3}]


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
    checkout = GiftCardCheckout(None, bex_client, lookups, state)
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
    checkout = GiftCardCheckout(None, sandbox.bex_client(), lookups, state)
    assert checkout.release("checkout-2") is False
    released = state.get_checkout("checkout-2")
    assert released is not None
    assert (released.state, released.reservation_id) == ("released", None)
    assert [c.method for c in sandbox.calls("bex")] == ["GET"]


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
        "run_id": None,
        "flow": "stock",
        "entity": "GIFTBOX",
        "action": "update",
        "outcome": "failed",
        "reason": "",
        "error": "a; b",
    }


# --- A failing listing, a bad record, what Bex refuses for good, a long queue ---------------------


ARTICLE = json.loads((ROOT / "examples" / "bex-article.json").read_bytes())


PLACED = datetime(2026, 10, 25, 8, tzinfo=UTC)


LATER = datetime(2026, 10, 26, 12, tzinfo=UTC)


def results(report: Any) -> list[tuple[str, str, str]]:
    return [(o.entity, o.action, o.result) for o in report.outcomes]


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
    add_vendre_products(sandbox, "1001_SKO_42")
    sandbox.set_bex_stock("1001_SKO_42", 7)
    sandbox.inject("vendre", method="GET", path="orders", status=503, times=100)
    reports = run_flows(FLOWS, sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    by_flow = {report.flow: report for report in reports}
    assert list(by_flow) == ["orders", "products", "stock", "statuses"]
    assert not by_flow["orders"].ok
    assert by_flow["stock"].ok
    assert vendre_quantities(sandbox) == {"1001_SKO_42": 7}


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
    report = run(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    ((_, action, result),) = results(report)
    assert (action, result) == ("fetch", "failed")
    assert "HTTP 500" in report.outcomes[0].errors[0]
    assert state.get_cursor(flow) is None


def test_a_bad_article_is_quarantined_and_the_others_are_pushed(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    bad = {**ARTICLE, "Artikel": "2002", "Pris": "gratis"}
    body = json.dumps({"hasMore": False, "items": [ARTICLE, bad]}).encode()
    sandbox.inject("bex", method="GET", path="Articles", body=body)
    report = push_products(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert results(report) == [  # in the listing's order: each article is sent on its own
        (ARTICLE["Artikel"], "update", "done"),
        ("2002", "quarantine", "quarantined"),
    ]
    assert report.outcomes[1].errors == ("$.Pris: expected a decimal number, got 'gratis'",)
    parents = [p for p in sandbox.vendre_products() if p["parent"] == 0]
    assert [p["article_number"] for p in parents] == [ARTICLE["Artikel"]]
    assert len(sandbox.vendre_products()) == 1 + len(parents[0]["child_product_ids"])
    assert state.get_cursor("products") is not None  # a bad record is handled, not failed


def test_a_bad_status_is_quarantined_and_the_others_are_sent(
    state: SqliteState, lookups: Lookups
) -> None:
    items = [{"Ordernr": "X1"}, {"Ordernr": "100234", "Status": "SKICKAD"}]
    with Sandbox(seed_examples=True) as sandbox:
        body = json.dumps({"hasMore": False, "items": items}).encode()
        sandbox.inject("bex", method="GET", path="OrderStatuses", body=body)
        report = push_statuses(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
        assert results(report) == [
            ("X1", "quarantine", "quarantined"),
            ("100234", "update", "done"),
        ]
        assert report.outcomes[0].errors == ("$.Status: required field is missing",)
        assert [s["id"] for s in sandbox.vendre_order_statuses()] == [100234]


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
    retried = retry_quarantined(None, bex_client, lookups, state)
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
    retried = retry_quarantined(None, sandbox.bex_client(), lookups, state)
    assert results(retried) == [("5101", "create", "done")]
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["5101"]


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


def test_a_released_checkout_cannot_be_reserved_again_under_its_reference(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    sandbox.add_bex_gift_card(
        {"Nummer": "PK-1", "Saldo": "500.00", "Valuta": "SEK", "Status": "Aktiv"}
    )
    checkout = GiftCardCheckout(None, sandbox.bex_client(), lookups, state)
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
        checkout = GiftCardCheckout(None, sandbox.bex_client(), lookups, first)
        checkout.reserve("PK-1", Decimal("120.00"), "cart-1")
        checkout.release("cart-1")
    with SqliteState(tmp_path / "second.sqlite3") as second:
        checkout = GiftCardCheckout(None, sandbox.bex_client(), lookups, second)
        with pytest.raises(ValueError, match=r"as Släppt; reserve under a new reference"):
            checkout.reserve("PK-1", Decimal("120.00"), "cart-1")
        stored = second.get_checkout("cart-1")
        assert stored is not None
        assert stored.state == "reserving"


def test_one_run_drains_a_queue_longer_than_a_page(state: SqliteState, lookups: Lookups) -> None:
    with Sandbox(bex_queue_page_size=2) as sandbox:
        add_vendre_products(sandbox, *(f"1001_SKO_{size}" for size in (42, 43, 44, 45, 46)))
        for size in (42, 43, 44, 45, 46):
            sandbox.set_bex_stock(f"1001_SKO_{size}", size)
        report = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
        assert report.ok
        assert sandbox.bex_queued_stock_changes() == []
        assert sorted(vendre_quantities(sandbox).values()) == [42, 43, 44, 45, 46]


def test_entries_that_can_never_be_sent_do_not_block_the_queue(
    state: SqliteState, lookups: Lookups
) -> None:
    """A page full of unmappable entries used to hold every later change back for good."""
    with Sandbox(bex_queue_page_size=2) as sandbox:
        add_vendre_products(sandbox, "1001_SKO_42")
        sandbox.set_bex_stock("BAD__CODE", 3)
        sandbox.set_bex_stock("ALSO__BAD", 4)
        sandbox.set_bex_stock("1001_SKO_42", 7)
        report = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
        assert results(report) == [
            ("BAD__CODE", "quarantine", "quarantined"),
            ("ALSO__BAD", "quarantine", "quarantined"),
            ("1001_SKO_42", "update", "done"),
        ]
        assert sandbox.bex_queued_stock_changes() == []
        assert vendre_quantities(sandbox) == {"1001_SKO_42": 7}


def test_stock_bex_does_not_know_is_taken_off_the_queue(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    sandbox.set_bex_stock("1001_SKO_42", 7)
    sandbox.inject("bex", method="GET", path="WarehouseManagement/GetStockinformation", status=404)
    report = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert results(report) == [
        ("1001_SKO_42", "quarantine", "quarantined"),
    ]
    assert report.outcomes[0].reason == "Bex has no stock for it"
    assert sandbox.bex_queued_stock_changes() == []


def test_a_dry_run_reads_the_queue_once(state: SqliteState, lookups: Lookups) -> None:
    with Sandbox(bex_queue_page_size=2) as sandbox:
        for size in (42, 43, 44):
            sandbox.set_bex_stock(f"1001_SKO_{size}", size)
        report = push_stock(
            sandbox.vendre_client(), sandbox.bex_client(), lookups, state, dry_run=True
        )
        assert [e for e, _, _ in results(report)] == [
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


# --- Products saved by id, stock saved on products -----------------------------------------------


def saves(sandbox: Sandbox) -> list[tuple[str, str]]:
    """The product creates and saves Vendre received, in order."""
    return [
        (c.method, c.path)
        for c in sandbox.calls("vendre")
        if c.method in {"POST", "PUT"} and c.path.startswith("products")
    ]


def test_products_are_created_once_then_saved_by_id(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """The parent, then each size under it; a changed price is saved at products/{id}."""
    sandbox.add_bex_article(ARTICLE)
    first = push_products(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert results(first) == [("1001", "update", "done")]
    parent, *children = sandbox.vendre_products()
    assert parent["article_number"] == "1001"
    assert parent["is_parent"] is True
    assert [c["article_number"] for c in children] == [f"1001_SKO_{s}" for s in range(40, 45)]
    assert {c["parent"] for c in children} == {parent["id"]}
    assert sorted(parent["child_product_ids"]) == [c["id"] for c in children]
    assert saves(sandbox) == [("POST", "products")] * 6
    ids = {p["article_number"]: p["id"] for p in sandbox.vendre_products()}
    assert all(state.get_product_id(number) == i for number, i in ids.items())

    sandbox.add_bex_article({**ARTICLE, "Pris": "1249.00"})
    second = push_products(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, state, overlap=LONG_AGO
    )
    assert results(second) == [("1001", "update", "done")]
    after = sandbox.vendre_products()
    assert {p["article_number"]: p["id"] for p in after} == ids  # nothing new
    assert saves(sandbox)[6:] == [("PUT", f"products/{i}") for i in ids.values()]
    expected = convert.article_to_vendre(
        bex.load_article({**ARTICLE, "Pris": "1249.00"}), lookups
    ).parent.price
    assert after[0]["price"] == expected != parent["price"]
    assert {p["parent"] for p in after[1:]} == {parent["id"]}


def test_a_create_whose_answer_was_lost_is_not_created_again(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Vendre created the parent but the answer never came: the next run lists the shop's
    products again, finds it and saves it by id; no product is there twice."""
    sandbox.add_bex_article(ARTICLE)
    sandbox.inject("vendre", method="POST", path="products", drop_after_commit=True)
    first = push_products(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert results(first) == [("1001", "create", "failed")]
    assert [p["article_number"] for p in sandbox.vendre_products()] == ["1001"]
    assert state.get_cursor("products") is None
    assert state.product_index_refreshed() is None  # stale: listed again before any create

    second = push_products(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert results(second) == [("1001", "update", "done")]
    numbers = [p["article_number"] for p in sandbox.vendre_products()]
    assert len(numbers) == len(set(numbers)) == 6
    parent_id = sandbox.vendre_products()[0]["id"]
    assert ("PUT", f"products/{parent_id}") in saves(sandbox)
    assert saves(sandbox).count(("POST", "products")) == 6  # the lost one and five sizes


def test_stock_sets_the_sizes_quantity_status_and_mapped_warehouse(
    state: SqliteState, lookups: Lookups
) -> None:
    """Each size's product gets its quantity and status; the warehouse the Bex client's
    location maps to (LAGER → main) gets the quantity too."""
    with Sandbox(bex_location="LAGER") as sandbox:
        sandbox.add_bex_article(ARTICLE)
        push_products(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
        sandbox.set_bex_stock("1001_SKO_42", 7)
        sandbox.set_bex_stock("1001_SKO_43", -2)  # hide_when_zero: 0 and hidden
        report = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
        assert results(report) == [
            ("1001_SKO_42", "update", "done"),
            ("1001_SKO_43", "update", "done"),
        ]
        by_number = {p["article_number"]: p for p in sandbox.vendre_products()}
        sized = {n: (p["quantity"], p["status"]) for n, p in by_number.items() if p["parent"]}
        assert sized == {
            "1001_SKO_40": (0, True),
            "1001_SKO_41": (0, True),
            "1001_SKO_42": (7, True),
            "1001_SKO_43": (0, False),
            "1001_SKO_44": (0, True),
        }
        stores = {
            n: [(w["external_id"], w["quantity"]) for w in by_number[n]["warehouses"]]
            for n in ("1001_SKO_42", "1001_SKO_43")
        }
        assert stores == {"1001_SKO_42": [("main", 7)], "1001_SKO_43": [("main", 0)]}
        assert sandbox.bex_queued_stock_changes() == []


def test_stock_of_an_unmapped_location_leaves_the_warehouses_alone(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """The sandbox's HUVUDLAGER is not in the warehouses table: only ``quantity`` is sent."""
    add_vendre_products(sandbox, "1001_SKO_42")
    sandbox.set_bex_stock("1001_SKO_42", 5)
    push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    (product,) = sandbox.vendre_products()
    assert (product["quantity"], product["status"], product["warehouses"]) == (5, True, [])


def test_stock_for_an_article_the_shop_lacks_is_confirmed_and_skipped(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Nothing to save it on: reported skipped, taken off the queue; sent once the product
    is in the shop."""
    sandbox.set_bex_stock("JKT_001_KL_M", 3)
    report = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert outcomes(report) == [
        ("JKT_001_KL_M", "skip", "skipped", "not in the shop; taken off the queue")
    ]
    assert report.ok
    assert sandbox.bex_queued_stock_changes() == []
    assert saves(sandbox) == []
    assert state.get_pushed("stock", "JKT_001_KL_M") is None

    (product_id,) = add_vendre_products(sandbox, "JKT_001_KL_M").values()
    state.mark_product_index_stale()  # the index is a day old, say
    sandbox.set_bex_stock("JKT_001_KL_M", 3)
    again = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert results(again) == [("JKT_001_KL_M", "update", "done")]
    assert saves(sandbox) == [("PUT", f"products/{product_id}")]
    assert vendre_quantities(sandbox) == {"JKT_001_KL_M": 3}


def test_dry_runs_write_neither_the_product_index_nor_vendre(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """With the products in the shop, the plan finds them by the listing it keeps in memory;
    the state (index, pushed hashes, cursors) and Vendre stay as they were."""
    ids = add_vendre_products(sandbox, "1001", "1001_SKO_42")
    sandbox.add_bex_article(ARTICLE)
    sandbox.set_bex_stock("1001_SKO_42", 7)
    before = sandbox.vendre_products()
    products = push_products(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, state, dry_run=True
    )
    stock = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state, dry_run=True)
    created = [o.entity for o in products.outcomes if o.action == "create"]
    assert created == ["1001_SKO_40", "1001_SKO_41", "1001_SKO_43", "1001_SKO_44"]
    assert outcomes(stock) == [("1001_SKO_42", "update", "planned", "quantity 7, status 1")]
    assert stock.outcomes[0].diff == {"quantity": (0, 7)}  # the shop shows it already
    assert sandbox.vendre_products() == before
    assert all(c.method == "GET" for c in sandbox.calls())
    assert state.product_index_refreshed() is None
    assert all(state.get_product_id(n) is None for n in ids)
    assert state.get_pushed("product", "1001") is None
    assert state.get_pushed("stock", "1001_SKO_42") is None
    assert state.get_cursor("products") is None
    assert len(sandbox.bex_queued_stock_changes()) == 1


# --- stock: failures around the save and the confirm ---------------------------------------

CONFIRM = "WarehouseManagement/ConfirmStockChange"


def test_stock_whose_queue_entry_is_not_confirmed_is_failed_and_stays_queued(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Unchanged, not in the shop or quarantined: each is confirmed, and a confirm that
    fails makes it failed (the quarantine kept), so that the next run sees it again."""
    add_vendre_products(sandbox, "GIFTBOX")
    sandbox.set_bex_stock("GIFTBOX", 5)
    push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    sandbox.set_bex_stock("GIFTBOX", 5)
    sandbox.set_bex_stock("JKT_001_KL_M", 3)
    sandbox.set_bex_stock("1001__42", 3)
    sandbox.inject("bex", method="PUT", path=CONFIRM, status=500, times=3)
    report = push_stock(sandbox.vendre_client(), sandbox.bex_client(retries=0), lookups, state)
    assert [(o.entity, o.action, o.result, o.reason) for o in report.outcomes] == [
        ("GIFTBOX", "confirm", "failed", "queue entry not confirmed"),
        ("JKT_001_KL_M", "confirm", "failed", "queue entry not confirmed"),
        (
            "1001__42",
            "confirm",
            "failed",
            "kept in quarantine, but its queue entry was not confirmed",
        ),
    ]
    assert [r.entity for r in state.quarantined("stock")] == ["1001__42"]
    queued = sorted(e["productIdentifier"] for e in sandbox.bex_queued_stock_changes())
    assert queued == ["1001__42", "GIFTBOX", "JKT_001_KL_M"]

    again = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert again.counts == {"skipped": 2, "quarantined": 1}
    assert sandbox.bex_queued_stock_changes() == []


def test_stock_for_a_product_vendre_no_longer_has_marks_the_index_stale(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """404 to the save: failed, left queued, and the index is listed again next run."""
    add_vendre_products(sandbox, "GIFTBOX")
    sandbox.set_bex_stock("GIFTBOX", 5)
    sandbox.inject("vendre", method="PUT", path="products/", status=404)
    report = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert outcomes(report) == [("GIFTBOX", "update", "failed", "Vendre no longer has the product")]
    assert state.product_index_refreshed() is None
    assert len(sandbox.bex_queued_stock_changes()) == 1
    again = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert again.counts == {"done": 1}
    assert vendre_quantities(sandbox) == {"GIFTBOX": 5}


def test_stock_without_a_product_index_confirms_nothing(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """The shop's products cannot be listed: no entry is read, sent or confirmed."""
    add_vendre_products(sandbox, "GIFTBOX")
    sandbox.set_bex_stock("GIFTBOX", 5)
    sandbox.inject("vendre", method="GET", path="products", status=500)
    report = push_stock(sandbox.vendre_client(retries=0), sandbox.bex_client(), lookups, state)
    assert [(o.entity, o.action, o.result, o.reason) for o in report.outcomes] == [
        ("Vendre products", "fetch", "failed", "the product index was not built")
    ]
    assert len(sandbox.bex_queued_stock_changes()) == 1
    assert not [c for c in sandbox.calls("bex") if c.path.startswith("WarehouseManagement")]


def test_a_dry_run_of_stock_shows_only_what_changes(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """The plan's diff holds the fields that differ; an unreadable product shows both as new."""
    add_vendre_products(sandbox, "GIFTBOX", "GIFTBAG")
    sandbox.set_bex_stock("GIFTBOX", 0)
    sandbox.set_bex_stock("GIFTBAG", 4)
    report = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state, dry_run=True)
    # none in stock: the status turns to 0; the quantity, already 0, is left out
    diffs = {o.entity: o.diff for o in report.outcomes}
    assert diffs == {"GIFTBOX": {"status": (1, 0)}, "GIFTBAG": {"quantity": (0, 4)}}

    sandbox.inject("vendre", method="GET", path="products/", status=500, times=2)
    report = push_stock(
        sandbox.vendre_client(retries=0), sandbox.bex_client(), lookups, state, dry_run=True
    )
    assert {o.entity: o.diff for o in report.outcomes} == {
        "GIFTBOX": {"quantity": (None, 0), "status": (None, 0)},
        "GIFTBAG": {"quantity": (None, 4), "status": (None, 1)},
    }
    assert len(sandbox.bex_queued_stock_changes()) == 2


def test_a_stop_asked_mid_pass_leaves_the_other_stock_queued(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Asked to stop after the first record: that one is sent, the next stays queued."""
    add_vendre_products(sandbox, "GIFTBOX", "GIFTBAG")
    sandbox.set_bex_stock("GIFTBOX", 2)
    sandbox.set_bex_stock("GIFTBAG", 4)
    stop = threading.Event()
    token = STOP.set(stop)
    try:
        report = push_stock(
            sandbox.vendre_client(),
            sandbox.bex_client(),
            lookups,
            state,
            observer=lambda _outcome: stop.set(),
        )
    finally:
        STOP.reset(token)
    assert [(o.entity, o.result) for o in report.outcomes] == [("GIFTBOX", "done")]
    assert [e["productIdentifier"] for e in sandbox.bex_queued_stock_changes()] == ["GIFTBAG"]
    assert vendre_quantities(sandbox) == {"GIFTBOX": 2, "GIFTBAG": 0}


# --- the report, the audit trail, the lock -------------------------------------------------


def test_a_report_has_a_duration_once_finished_and_keeps_its_first_finish() -> None:
    report = Report(flow="orders", started=datetime(2026, 10, 1, 12, tzinfo=UTC))
    assert report.duration is None
    assert report.to_dict()["finished"] is None
    first = report.finish().finished
    assert first is not None
    assert report.finish().finished == first
    assert report.duration == (first - report.started).total_seconds()


def test_an_outcome_as_json_writes_dates_as_iso_and_other_values_as_text() -> None:
    moment = datetime(2026, 10, 1, 12, 30, tzinfo=UTC)
    outcome = Outcome(
        flow="products",
        entity="1001",
        action="update",
        result="done",
        diff={"price": (Decimal("1.50"), None)},
        details={"at": moment, "entries": (1, "a"), "by": {2: True}},
    )
    assert outcome.to_dict()["diff"] == {"price": ["1.50", None]}
    assert outcome.to_dict()["details"] == {
        "at": "2026-10-01T12:30:00+00:00",
        "entries": [1, "a"],
        "by": {"2": True},
    }


def test_the_audit_trail_escapes_a_lone_surrogate(tmp_path: Path) -> None:
    """A fetched id with a lone surrogate has no UTF-8 form: the line escapes it, and the
    file stays UTF-8 that reads back to the same text."""
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as audit:
        audit.write(Outcome(flow="orders", entity="A\ud800", action="skip", result="skipped"))
        audit.write(Outcome(flow="orders", entity="Åb", action="skip", result="skipped"))
    first, second = path.read_text("utf-8").splitlines()
    assert "\\ud800" in first
    assert json.loads(first)["entity"] == "A\ud800"
    assert "Åb" in second  # other text as it is


@pytest.mark.parametrize("unusable", ["folder", "proc file"])
def test_a_lock_file_that_cannot_be_opened_is_not_reported_as_held(
    tmp_path: Path, unusable: str
) -> None:
    """Only "locked" means another run: any other SQLite error comes through as it is,
    whether opening the lock file fails or taking its lock does."""
    proc = Path("/proc/self/status")
    if unusable == "proc file" and not proc.exists():
        pytest.skip("no /proc")
    with SqliteState(tmp_path / "state.sqlite3") as state:
        if unusable == "folder":
            state.lock_path("orders").mkdir()  # where the lock file goes: fails to open
        else:
            state.lock_path("orders").symlink_to(proc)  # opens; cannot be locked
        with pytest.raises(sqlite3.OperationalError) as raised, state.lock("orders"):
            pass
    assert not isinstance(raised.value, LockedError)
    assert "locked" not in str(raised.value)
