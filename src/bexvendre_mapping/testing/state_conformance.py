"""The promises of a state store, checked against any store: ours or one of your own.

A store passes when every check holds. Hand the checks a *factory*: a callable that opens a
new handle on one and the same empty state at each call (a new connection to the same
database, the same file, ...) whose lock timeout is short (about half a second; at least
0.2 s). The checks open several handles at once (to see that a write is committed before it
returns, that locks and claims exclude other handles, and other threads) and close each
handle they opened that has a ``close()``.

With pytest, subclass :class:`StateStoreConformance` and give it a ``state_factory``
fixture; each check becomes a test of its own::

    class TestMyStore(StateStoreConformance):
        @pytest.fixture
        def state_factory(self, tmp_path):
            return lambda: SqliteState(tmp_path / "state.sqlite3", lock_timeout=0.5)

Without pytest, :func:`check_state_store` runs every check and raises the first
``AssertionError``. This module imports pytest only for the mixin's fixture: it needs
pytest installed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bexvendre_mapping.sync._state import (
    Checkout,
    HeldOrder,
    LockedError,
    OrderRecord,
    QuarantineRecord,
    RunRecord,
    StateStore,
)

__all__ = [
    "CHECKS",
    "StateFactory",
    "StateStoreConformance",
    "check_checkouts",
    "check_claims",
    "check_claims_race",
    "check_cursors_and_runs",
    "check_first_opens",
    "check_held_orders",
    "check_hints",
    "check_locks",
    "check_orders",
    "check_pushes",
    "check_quarantine",
    "check_state_store",
]

#: Opens a new handle on one and the same state at each call.
StateFactory = Callable[[], StateStore]

_T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@contextmanager
def _handles(factory: StateFactory) -> Iterator[Callable[[], StateStore]]:
    """Open handles through ``factory``; each is closed at the end."""
    with ExitStack() as stack:

        def open_one() -> StateStore:
            store = factory()
            close = getattr(store, "close", None)
            if callable(close):
                stack.callback(close)
            return store

        yield open_one


def _order(order_id: int, state: Any = "intent", **changes: Any) -> OrderRecord:
    values: dict[str, Any] = {
        "order_id": order_id,
        "content_hash": f"hash-{order_id}",
        "state": state,
        "payload": f'{{"id": {order_id}}}',
        "updated_at": _T0 + timedelta(seconds=order_id % 1000),
    }
    values.update(changes)
    return OrderRecord(**values)


def check_orders(factory: StateFactory) -> None:
    """Order records: read back as written, replaced by order id, listed by id and state.

    A write is committed before it returns: another handle reads it at once.
    """
    with _handles(factory) as open_one:
        store, other = open_one(), open_one()
        assert store.get_order(7) is None
        assert store.orders() == []
        first = _order(7, errors=("$.rows[0]: no such article", "å ä ö"))
        store.put_order(first)
        assert other.get_order(7) == first
        store.put_order(_order(3, "created"))
        store.put_order(_order(5, "quarantined"))
        created = _order(7, "created", content_hash="changed")
        store.put_order(created)
        assert other.get_order(7) == created
        assert [r.order_id for r in other.orders()] == [3, 5, 7]
        assert [r.order_id for r in other.orders("created")] == [3, 7]
        assert [r.order_id for r in other.orders("quarantined")] == [5]
        assert other.orders("intent") == []
        store.put_order(_order(9, "dropped"))
        assert other.orders("dropped") == [_order(9, "dropped")]
        big = _order(2**62, "created")  # order ids are 64-bit
        store.put_order(big)
        assert other.get_order(2**62) == big
        negative = _order(-(2**59), "quarantined")  # the key of an order without a usable id
        store.put_order(negative)
        assert other.get_order(-(2**59)) == negative


def check_held_orders(factory: StateFactory) -> None:
    """Holds: written together, read by id and reason, released once."""
    with _handles(factory) as open_one:
        store, other = open_one(), open_one()
        waiting = HeldOrder(
            order_id=4,
            reason="waiting",
            content_hash="h4",
            status=1,
            placed_at=_T0,
            updated_at=_T0,
        )
        baseline = HeldOrder(order_id=2, reason="baseline", content_hash="h2", updated_at=_T0)
        assert store.get_held(4) is None
        store.put_held([waiting, baseline])
        assert other.get_held(4) == waiting
        assert other.held_orders() == [baseline, waiting]
        assert other.held_orders("waiting") == [waiting]
        assert other.held_orders("baseline") == [baseline]
        moved = HeldOrder(order_id=4, reason="waiting", content_hash="h4b", updated_at=_T0)
        store.put_held([moved])
        assert other.get_held(4) == moved
        store.put_held([])
        assert store.release_held(4) is True
        assert store.release_held(4) is False
        assert other.held_orders() == [baseline]


def check_hints(factory: StateFactory) -> None:
    """Webhook hints: one per order, ``seen`` counts repeats, a later webhook keeps it."""
    with _handles(factory) as open_one:
        store, other = open_one(), open_one()
        assert store.pending_hints() == []
        first = store.add_hint(11, "new_order", _T0)
        assert (first.order_id, first.event, first.received_at, first.seen) == (
            11,
            "new_order",
            _T0,
            1,
        )
        store.add_hint(12, "new_order", _T0 + timedelta(seconds=1))
        again = store.add_hint(11, "updated_order", _T0 + timedelta(seconds=2))
        assert (again.event, again.seen) == ("updated_order", 2)
        assert [(h.order_id, h.seen) for h in other.pending_hints()] == [(12, 1), (11, 2)]
        now = store.add_hint(13, "new_order")
        assert now.received_at.tzinfo is not None
        assert store.clear_hint(11, seen=1) is False  # a webhook came while it was handled
        assert store.clear_hint(11, seen=2) is True
        assert store.clear_hint(11) is False
        assert store.clear_hint(12) is True
        assert [h.order_id for h in other.pending_hints()] == [13]


def check_claims(factory: StateFactory) -> None:
    """Claims: one live holder; renewed by it, released by it only, taken over once expired."""
    with _handles(factory) as open_one:
        store, other = open_one(), open_one()
        assert store.claim_order(21, "worker-a", 60) is True
        assert other.claim_order(21, "worker-b", 60) is False
        assert other.claim_order(21, "worker-a", 60) is True  # renewed, from any handle
        assert other.release_order(21, "worker-b") is False
        assert store.release_order(21, "worker-a") is True
        assert store.release_order(21, "worker-a") is False
        assert other.claim_order(21, "worker-b", 60) is True
        assert store.claim_order(22, "worker-a", 60) is True  # claims are per order
        # A claim past its time to live is taken over (its worker is taken to be dead).
        assert store.claim_order(23, "worker-a", 0.05) is True
        time.sleep(0.2)
        assert other.claim_order(23, "worker-b", 60) is True
        assert store.claim_order(23, "worker-a", 60) is False
        assert store.release_order(23, "worker-a") is False


def _in_threads(names: list[str], body: Callable[[str, threading.Barrier], None]) -> None:
    """Run ``body(name, barrier)`` in a thread per name, at once; raise the first error.

    A thread that fails breaks the barrier, so the others stop waiting for it (and fail
    with ``BrokenBarrierError``) instead of hanging the check.
    """
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(names), timeout=60)

    def run(name: str) -> None:
        try:
            body(name, barrier)
        except BaseException as exc:  # noqa: BLE001 - reported by the calling thread below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)] or errors
    if first:
        raise first[0]


def check_first_opens(factory: StateFactory) -> None:
    """Eight threads open the first handles on the empty state at once: each opens it.

    Several workers starting together on a state nobody has opened yet all set it up at
    the same moment (the schema, a file's journal mode): none may fail for it, and what
    each writes through its handle the others read.
    """
    names = [f"w{i}" for i in range(8)]

    def body(name: str, barrier: threading.Barrier) -> None:
        with _handles(factory) as open_one:
            barrier.wait()
            store = open_one()
            store.set_cursor(f"first-opens-{name}", _T0)
            barrier.wait()  # every handle open, every cursor written
            for other in names:
                assert store.get_cursor(f"first-opens-{other}") == _T0, other

    _in_threads(names, body)


def check_claims_race(factory: StateFactory) -> None:
    """Eight threads, each with its own handle, claim the same orders: one wins each."""
    winners: dict[int, list[str]] = {order_id: [] for order_id in range(100, 110)}
    guard = threading.Lock()

    def body(name: str, barrier: threading.Barrier) -> None:
        with _handles(factory) as open_one:
            store = open_one()
            barrier.wait()
            for order_id, names in winners.items():
                if store.claim_order(order_id, name, 60):
                    with guard:
                        names.append(name)

    _in_threads([f"w{i}" for i in range(8)], body)
    assert all(len(names) == 1 for names in winners.values()), winners


def check_pushes(factory: StateFactory) -> None:
    """What was pushed, by kind and key; Vendre's product index and its freshness."""
    with _handles(factory) as open_one:
        store, other = open_one(), open_one()
        assert store.get_pushed("product", "A1") is None
        store.set_pushed("product", "A1", "h1")
        store.set_pushed("variant", "A1", "v1")
        store.set_pushed("product", "A1", "h2")
        assert other.get_pushed("product", "A1") == "h2"
        assert other.get_pushed("variant", "A1") == "v1"
        assert store.get_product_id("A1") is None
        assert store.product_index_refreshed() is None
        store.set_product_ids({"A1": 1, "A2": 2})
        assert other.get_product_id("A2") == 2
        assert other.product_index_refreshed() is None  # a partial listing refreshes nothing
        before = datetime.now(UTC) - timedelta(seconds=5)
        store.set_product_ids({"A2": 20, "A3": 3}, complete=True)
        refreshed = other.product_index_refreshed()
        assert refreshed is not None
        assert refreshed >= before
        assert other.get_product_id("A1") is None  # a whole listing replaces the index
        assert (other.get_product_id("A2"), other.get_product_id("A3")) == (20, 3)
        store.mark_product_index_stale()
        assert other.product_index_refreshed() is None
        assert other.get_product_id("A3") == 3


def check_checkouts(factory: StateFactory) -> None:
    """Gift-card checkouts: read back as written, replaced by reference, listed by state."""
    with _handles(factory) as open_one:
        store, other = open_one(), open_one()
        assert store.get_checkout("c1") is None
        reserving = Checkout(reference="c2", card_number="6000", amount="100.00", state="reserving")
        store.put_checkout(reserving)
        reserved = Checkout(
            reference="c1",
            card_number="6001",
            amount="50.50",
            state="reserved",
            reservation_id="R1",
            reserved_at=_T0,
            bex_reference="c1-2",
        )
        store.put_checkout(reserved)
        assert other.get_checkout("c1") == reserved
        assert other.checkouts("reserving") == [reserving]
        moved = Checkout(reference="c2", card_number="6000", amount="100.00", state="reserved")
        store.put_checkout(moved)
        assert other.checkouts("reserved") == [reserved, moved]
        assert other.checkouts("redeemed") == []


def check_cursors_and_runs(factory: StateFactory) -> None:
    """Cursors are aware and per flow; the last run per flow keeps its last success."""
    with _handles(factory) as open_one:
        store, other = open_one(), open_one()
        assert store.get_cursor("orders") is None
        store.set_cursor("orders", _T0.astimezone(timezone(timedelta(hours=2))))
        assert other.get_cursor("orders") == _T0
        assert other.get_cursor("stock") is None
        assert store.runs() == {}
        ok = RunRecord(
            flow="orders",
            run_id="r1",
            started=_T0,
            finished=_T0 + timedelta(seconds=3),
            result="ok",
            summary="3 done",
            counts={"done": 3},
            lag=1.5,
        )
        stored = store.record_run(ok)
        assert stored.last_success == ok.finished
        failed = RunRecord(
            flow="orders",
            run_id="r2",
            started=_T0 + timedelta(minutes=1),
            finished=_T0 + timedelta(minutes=1, seconds=2),
            result="failed",
        )
        assert store.record_run(failed).last_success == ok.finished  # kept from before
        runs = other.runs()
        assert list(runs) == ["orders"]
        assert runs["orders"].run_id == "r2"
        assert runs["orders"].last_success == ok.finished
        assert runs["orders"].counts == {}
        store.record_run(
            RunRecord(flow="stock", run_id="r3", started=_T0, finished=_T0, result="locked")
        )
        runs = other.runs()
        assert sorted(runs) == ["orders", "stock"]
        assert runs["stock"].last_success is None
        assert runs["orders"] == RunRecord(
            flow="orders",
            run_id="r2",
            started=failed.started,
            finished=failed.finished,
            result="failed",
            last_success=ok.finished,
        )


def check_locks(factory: StateFactory) -> None:
    """A flow's lock: held by one handle at a time (the other waits, then LockedError).

    Other flows never wait; a released lock is taken at once; a holder that lets go
    within the other's timeout lets it in.
    """
    with _handles(factory) as open_one:
        store, other = open_one(), open_one()
        with store.lock("orders"):
            started = time.monotonic()
            try:
                with other.lock("orders"):
                    msg = "two handles held one flow's lock at once"
                    raise AssertionError(msg)
            except LockedError:
                pass
            assert time.monotonic() - started < 30  # it waited, within its timeout
            with other.lock("stock"):  # another flow does not wait
                pass
        with other.lock("orders"):  # released: taken at once
            pass

        held = threading.Event()
        release = threading.Event()
        errors: list[BaseException] = []

        def holder() -> None:
            try:
                with _handles(factory) as open_in_thread:
                    mine = open_in_thread()
                    with mine.lock("orders"):
                        held.set()
                        release.wait(10)
                        time.sleep(0.05)
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread below
                errors.append(exc)
                held.set()

        thread = threading.Thread(target=holder)
        thread.start()
        held.wait(10)
        release.set()
        with store.lock("orders"):  # waits for the holder to let go, within its timeout
            pass
        thread.join()
        if errors:
            raise errors[0]


def check_quarantine(factory: StateFactory) -> None:
    """Quarantined records: by flow and entity, replaced, listed in order, dropped once."""
    with _handles(factory) as open_one:
        store, other = open_one(), open_one()
        assert store.get_quarantined("stock", "A1") is None
        first = QuarantineRecord(
            flow="stock",
            entity="A1",
            payload='{"a": 1}',
            errors=("$.x: bad",),
            reason="does not map",
            updated_at=_T0,
        )
        second = QuarantineRecord(flow="products", entity="B2", payload="{}", updated_at=_T0)
        store.put_quarantined(first)
        store.put_quarantined(second)
        assert other.get_quarantined("stock", "A1") == first
        assert other.quarantined() == [second, first]
        assert other.quarantined("stock") == [first]
        again = QuarantineRecord(flow="stock", entity="A1", payload="{}", updated_at=_T0)
        store.put_quarantined(again)
        assert other.get_quarantined("stock", "A1") == again
        assert store.drop_quarantined("stock", "A1") is True
        assert store.drop_quarantined("stock", "A1") is False
        assert other.quarantined() == [second]


#: Every check, by name, in the order :func:`check_state_store` runs them.
CHECKS: dict[str, Callable[[StateFactory], None]] = {
    "orders": check_orders,
    "held_orders": check_held_orders,
    "hints": check_hints,
    "claims": check_claims,
    "claims_race": check_claims_race,
    "first_opens": check_first_opens,
    "pushes": check_pushes,
    "checkouts": check_checkouts,
    "cursors_and_runs": check_cursors_and_runs,
    "locks": check_locks,
    "quarantine": check_quarantine,
}


def check_state_store(make_factory: Callable[[], StateFactory]) -> None:
    """Run every check, each on a fresh state; raises the first ``AssertionError``.

    Args:
        make_factory: makes a new empty state and returns its factory (see the module).
    """
    for check in CHECKS.values():
        check(make_factory())


class StateStoreConformance:
    """A pytest mixin: one test per check of :data:`CHECKS` against your store.

    Subclass it as ``Test...`` and define a ``state_factory`` fixture that makes a new empty
    state for each test and returns its factory (see the module).
    """

    @pytest.fixture
    def state_factory(self) -> StateFactory:
        """Your store's factory, on a new empty state (override this fixture)."""
        raise NotImplementedError

    def test_orders(self, state_factory: StateFactory) -> None:
        """See :func:`check_orders`."""
        check_orders(state_factory)

    def test_held_orders(self, state_factory: StateFactory) -> None:
        """See :func:`check_held_orders`."""
        check_held_orders(state_factory)

    def test_hints(self, state_factory: StateFactory) -> None:
        """See :func:`check_hints`."""
        check_hints(state_factory)

    def test_claims(self, state_factory: StateFactory) -> None:
        """See :func:`check_claims`."""
        check_claims(state_factory)

    def test_claims_race(self, state_factory: StateFactory) -> None:
        """See :func:`check_claims_race`."""
        check_claims_race(state_factory)

    def test_first_opens(self, state_factory: StateFactory) -> None:
        """See :func:`check_first_opens`."""
        check_first_opens(state_factory)

    def test_pushes(self, state_factory: StateFactory) -> None:
        """See :func:`check_pushes`."""
        check_pushes(state_factory)

    def test_checkouts(self, state_factory: StateFactory) -> None:
        """See :func:`check_checkouts`."""
        check_checkouts(state_factory)

    def test_cursors_and_runs(self, state_factory: StateFactory) -> None:
        """See :func:`check_cursors_and_runs`."""
        check_cursors_and_runs(state_factory)

    def test_locks(self, state_factory: StateFactory) -> None:
        """See :func:`check_locks`."""
        check_locks(state_factory)

    def test_quarantine(self, state_factory: StateFactory) -> None:
        """See :func:`check_quarantine`."""
        check_quarantine(state_factory)
