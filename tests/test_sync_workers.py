"""Several workers on one state: per-order claims, on both stores, against the sandbox.

Each order is claimed before it is created in Bex: workers running ``import_orders`` at
once create each order exactly once; an order a live worker holds is skipped (and keeps the
cursor before it); a claim whose worker died is taken over once it expired, looking the order
up in Bex first.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.sync_support import EXAMPLE, order_doc

from bexvendre_mapping import Lookups, bex
from bexvendre_mapping.http import BexClient
from bexvendre_mapping.sync import (
    DEFAULT_CLAIM_TTL,
    OrderRecord,
    PostgresState,
    SqliteState,
    StateStore,
    import_orders,
)
from bexvendre_mapping.testing.sandbox import Sandbox

Opener = Callable[[], StateStore]


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a new handle on one fresh state, of each store."""
    opened: list[Any] = []

    if request.param == "sqlite":

        def opener() -> StateStore:
            store = SqliteState(tmp_path / "state.sqlite3", lock_timeout=60)
            opened.append(store)
            return store

    else:
        dsn: str = request.getfixturevalue("postgres_dsn")

        def opener() -> StateStore:
            store = PostgresState(dsn, shop="workers", lock_timeout=60)
            opened.append(store)
            return store

    yield opener
    for store in opened:
        with contextlib.suppress(sqlite3.ProgrammingError):  # closed in its thread already
            store.close()


def test_four_workers_at_once_create_each_order_exactly_once(
    sandbox: Sandbox, lookups: Lookups, open_store: Opener
) -> None:
    orders = range(2001, 2061)
    for order_id in orders:
        sandbox.add_vendre_order(order_doc(order_id))
    errors: list[BaseException] = []
    barrier = threading.Barrier(4, timeout=60)

    def worker(name: str) -> None:
        try:
            state = open_store()
            with sandbox.vendre_client() as vendre_client, sandbox.bex_client() as bex_client:
                barrier.wait()
                import_orders(vendre_client, bex_client, lookups, state, worker=name)
            getattr(state, "close", lambda: None)()  # in its own thread (sqlite3 wants it)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            barrier.abort()  # the others stop waiting for this one

    threads = [threading.Thread(target=worker, args=(f"worker-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Whatever a worker skipped because another held it, one more run takes up.
    import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, open_store())
    counts = Counter(o["Ordernr"] for o in sandbox.bex_orders())
    assert sorted(counts) == sorted(str(n) for n in orders)
    assert set(counts.values()) == {1}
    state = open_store()
    assert len(state.orders("created")) == len(orders)


class DyingBex(BexClient):
    """A Bex client whose process dies right after Bex took the order (before the answer)."""

    def create_order(self, order: bex.Order) -> Any:
        super().create_order(order)
        raise KeyboardInterrupt  # not an HttpError: nothing in the flow may catch it


def test_a_live_claim_is_skipped_and_a_dead_one_taken_over(
    sandbox: Sandbox, lookups: Lookups, open_store: Opener
) -> None:
    sandbox.add_vendre_order(order_doc(3001))
    state = open_store()
    with (
        DyingBex(sandbox.bex_url, sandbox.bex_api_key, sandbox.bex_secret, retries=0) as dying,
        pytest.raises(KeyboardInterrupt),
    ):
        import_orders(sandbox.vendre_client(), dying, lookups, state, worker="dead")
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["3001"]
    (intent,) = state.orders("intent")
    # The killed worker's claim is still there (a SIGKILL runs no finally).
    assert state.claim_order(3001, "dead", 0.3)

    other = open_store()
    report = import_orders(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, other, worker="w2"
    )
    (outcome,) = report.outcomes
    assert (outcome.result, outcome.reason) == (
        "skipped",
        "another worker is on it; looked at next run",
    )
    assert other.get_cursor("orders") is not None
    assert other.get_order(3001) == intent  # untouched

    time.sleep(0.4)  # the dead worker's claim expires
    report = import_orders(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, other, worker="w2"
    )
    (outcome,) = report.outcomes
    assert (outcome.result, outcome.reason) == ("done", "found in Bex after an interrupted run")
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["3001"]
    created = other.get_order(3001)
    assert created is not None
    assert created.state == "created"
    assert other.claim_order(3001, "anyone", 1)  # released once settled


def test_a_run_holding_the_lock_alone_ignores_what_a_dead_worker_claimed(
    sandbox: Sandbox, lookups: Lookups, open_store: Opener
) -> None:
    """Without a worker name a run holds the lock alone: every claim is a dead worker's."""
    sandbox.add_vendre_order(order_doc(3101))
    state = open_store()
    with (
        DyingBex(sandbox.bex_url, sandbox.bex_api_key, sandbox.bex_secret, retries=0) as dying,
        pytest.raises(KeyboardInterrupt),
    ):
        import_orders(sandbox.vendre_client(), dying, lookups, state, worker="dead")
    assert state.claim_order(3101, "dead", DEFAULT_CLAIM_TTL.total_seconds())
    report = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, open_store())
    assert [o.reason for o in report.outcomes] == ["found in Bex after an interrupted run"]
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["3101"]


def test_an_order_another_worker_settled_meanwhile_is_skipped_under_the_claim(
    sandbox: Sandbox, lookups: Lookups, open_store: Opener
) -> None:
    """The record is read again once claimed: a worker that finished first is not doubled."""
    sandbox.add_vendre_order(order_doc(3201))
    state = open_store()

    original = state.claim_order

    def claim_after_another(order_id: int, worker: str, ttl: float) -> bool:
        # Another worker settles the order between this worker's read and its claim.
        open_store().put_order(
            OrderRecord(
                order_id=order_id,
                content_hash="theirs",
                state="created",
                payload="{}",
                updated_at=datetime.now(UTC),
            )
        )
        return original(order_id, worker, ttl)

    state.claim_order = claim_after_another  # type: ignore[method-assign]
    report = import_orders(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, state, worker="slow"
    )
    assert [o.reason for o in report.outcomes] == ["already in Bex; changed in Vendre since"]
    assert sandbox.bex_orders() == []


def add_order_with_cards(sandbox: Sandbox, order_id: int) -> None:
    """The example Vendre order (500 kr paid by gift card) paid with two cards, 300 and 200,
    each reserved in Bex."""
    document: dict[str, Any] = json.loads(json.dumps(EXAMPLE))
    cards = []
    for index, amount in enumerate((300, 200), 1):
        number, reservation = f"PK-{order_id}-{index}", f"RES-{order_id}-{index}"
        sandbox.add_bex_gift_card(
            {"Nummer": number, "Saldo": "1000.00", "Valuta": "SEK",
             "Giltig till": "2099-12-31", "Status": "Aktiv"}
        )  # fmt: skip
        sandbox.add_bex_gift_card_reservation(
            {"ReservationsID": reservation, "Nummer": number, "Belopp": f"{amount}.00",
             "Referens": str(order_id), "Status": "Reserverad"}
        )  # fmt: skip
        cards.append({"code": number, "amount": amount, "reservation_id": reservation})
    document.update(id=order_id, gift_cards=cards)
    sandbox.add_vendre_order(document)


def redeemed(sandbox: Sandbox) -> tuple[int, dict[str, str], dict[str, str]]:
    """The redeem requests Bex answered, each reservation's status, each card's balance."""
    requests = sum(
        1 for c in sandbox.calls("bex") if c.path.endswith("Redeem") and 200 <= c.status < 300
    )
    statuses = {r["ReservationsID"]: r["Status"] for r in sandbox.reservations()}
    return requests, statuses, {c["Nummer"]: c["Saldo"] for c in sandbox.bex_gift_cards()}


def once(order_id: int) -> tuple[int, dict[str, str], dict[str, str]]:
    """What :func:`redeemed` is once each card of the order was redeemed exactly once."""
    statuses = {f"RES-{order_id}-1": "Inlöst", f"RES-{order_id}-2": "Inlöst"}
    return 2, statuses, {f"PK-{order_id}-1": "700.00", f"PK-{order_id}-2": "800.00"}


class SlowBex(BexClient):
    """A Bex client whose every order request takes ``pause`` seconds more, and which has
    another worker (``rival``, on its own handle of the state) try to take the order at the
    start of its last redeem."""

    pause = 0.0
    rival: StateStore
    rival_took: list[bool]

    def create_order(self, order: bex.Order) -> Any:
        time.sleep(self.pause)
        return super().create_order(order)

    def redeem_gift_card(self, reservation_id: str) -> Any:
        time.sleep(self.pause)
        if reservation_id.endswith("-2"):
            self.rival_took.append(self.rival.claim_order(3301, "rival", 60))
        return super().redeem_gift_card(reservation_id)


def test_the_claim_is_renewed_while_one_order_outlasts_its_time_to_live(
    sandbox: Sandbox, lookups: Lookups, open_store: Opener
) -> None:
    """An order whose requests together take longer than ``claim_ttl`` keeps its claim: it
    is renewed before each request, so no other worker takes a live worker's order."""
    add_order_with_cards(sandbox, 3301)
    state = open_store()
    with SlowBex(sandbox.bex_url, sandbox.bex_api_key, sandbox.bex_secret) as slow:
        slow.pause, slow.rival, slow.rival_took = 0.6, open_store(), []
        report = import_orders(
            sandbox.vendre_client(),
            slow,
            lookups,
            state,
            worker="slow",
            claim_ttl=timedelta(seconds=1),
        )
    # Claimed at 0 s and 1.8 s in: without renewals the claim ran out at 1 s.
    assert slow.rival_took == [False]
    assert [(o.result, o.reason) for o in report.outcomes] == [
        ("done", "created; 2 gift card(s) redeemed")
    ]
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["3301"]
    assert redeemed(sandbox) == once(3301)


class OvertakenBex(BexClient):
    """A Bex client so slow to create the order that its worker's claim runs out, and
    another worker (``rival``) takes the order over meanwhile."""

    rival: StateStore

    def create_order(self, order: bex.Order) -> Any:
        created = super().create_order(order)
        time.sleep(0.4)  # past the claim's time to live
        assert self.rival.claim_order(int(order.number), "rival", 60)
        return created


def test_a_worker_whose_claim_was_taken_over_leaves_the_order_to_the_new_holder(
    sandbox: Sandbox, lookups: Lookups, open_store: Opener
) -> None:
    """The renewal before the next request fails: the slow worker stops there (its cards
    unredeemed, the intent left), and the worker that took the order over finishes it,
    finding it in Bex, redeeming each card once."""
    add_order_with_cards(sandbox, 3401)
    state = open_store()
    with OvertakenBex(sandbox.bex_url, sandbox.bex_api_key, sandbox.bex_secret) as slow:
        slow.rival = open_store()
        report = import_orders(
            sandbox.vendre_client(), slow, lookups, state, worker="slow",
            claim_ttl=timedelta(seconds=0.3),
        )  # fmt: skip
    assert [(o.result, o.reason) for o in report.outcomes] == [
        (
            "skipped",
            "another worker took the order over (this worker's claim ran out); it finishes it",
        )
    ]
    assert redeemed(sandbox)[0] == 0
    record = state.get_order(3401)
    assert record is not None
    assert record.state == "intent"
    cursor = state.get_cursor("orders")  # it stays before the order
    assert cursor is not None
    assert cursor <= datetime.fromtimestamp(EXAMPLE["date_added"], UTC)

    report = import_orders(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, open_store(), worker="rival"
    )
    assert [(o.result, o.reason) for o in report.outcomes] == [
        ("done", "found in Bex after an interrupted run; 2 gift card(s) redeemed")
    ]
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["3401"]
    assert redeemed(sandbox) == once(3401)
