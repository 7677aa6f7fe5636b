"""Pushes with several records in flight and a rate limit, over loopback HTTP to the sandbox.

The assertions are bounds (at most so many at once, at most so many a second, at least so
long), never speeds, so that a loaded machine makes them slower, not flaky.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.http_support import bex_article_doc
from tests.sync_support import add_vendre_products, vendre_quantities

from bexvendre_mapping import Lookups
from bexvendre_mapping.sync import (
    Outcome,
    Report,
    SqliteState,
    push_products,
    push_statuses,
    push_stock,
)
from bexvendre_mapping.sync._stop import STOP
from bexvendre_mapping.testing.sandbox import Call, Sandbox

SIZES = [{"Storlek": str(size), "Streckkod": None} for size in range(38, 43)]
CONFIRM = "WarehouseManagement/ConfirmStockChange"


def seed_articles(sandbox: Sandbox, count: int) -> None:
    for number in range(count):
        sandbox.add_bex_article(bex_article_doc(f"{2000 + number}", Storlekar=SIZES))


def seed_stock(sandbox: Sandbox, count: int) -> list[str]:
    numbers = [f"{3000 + n}_SKO_42" for n in range(count)]
    add_vendre_products(sandbox, *numbers)
    for n, number in enumerate(numbers):
        sandbox.set_bex_stock(number, n + 1)
    return numbers


def shape(report: Report) -> list[tuple[str, str, str]]:
    return [(o.entity, o.action, o.result) for o in report.outcomes]


def most_in_one_second(calls: list[Call]) -> int:
    """The most calls that arrived within any one second."""
    times = sorted(c.received_at for c in calls)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


@pytest.fixture
def other(tmp_path: Path) -> Iterator[tuple[Sandbox, SqliteState]]:
    """A second sandbox and state, for the run with one record in flight."""
    with Sandbox() as sandbox, SqliteState(tmp_path / "one.sqlite3") as state:
        yield sandbox, state


def test_eight_in_flight_reach_the_same_end_as_one(
    sandbox: Sandbox,
    state: SqliteState,
    lookups: Lookups,
    other: tuple[Sandbox, SqliteState],
) -> None:
    """Every product created once, every stock entry confirmed once, the same report; the
    sandbox sees between 2 and 8 requests at once."""
    one_sandbox, one_state = other
    reports: list[list[Report]] = []
    for box, store, in_flight in ((one_sandbox, one_state, 1), (sandbox, state, 8)):
        seed_articles(box, 12)
        numbers = seed_stock(box, 40)
        box.set_latency(None, 0.02)
        vendre_client, bex_client = box.vendre_client(), box.bex_client()
        run = [
            push_products(vendre_client, bex_client, lookups, store, max_in_flight=in_flight),
            push_stock(vendre_client, bex_client, lookups, store, max_in_flight=in_flight),
        ]
        reports.append(run)
        created = [p for p in box.vendre_products() if p["article_number"] not in numbers]
        posts = [c for c in box.calls("vendre") if c.method == "POST"]
        assert len(created) == len(posts) == 12 * 6
        assert [c for c in box.calls("vendre") if c.method == "PUT" and c.status != 200] == []
        assert box.bex_queued_stock_changes() == []
        confirms = [c for c in box.calls("bex") if c.path == CONFIRM]
        assert len(confirms) == 40
        assert vendre_quantities(box)["3039_SKO_42"] == 40
        peak = max(box.peak_in_flight("vendre"), box.peak_in_flight("bex"))
        assert peak <= in_flight
        if in_flight > 1:
            assert peak >= 2
    sequential, concurrent = reports
    assert [shape(r) for r in concurrent] == [shape(r) for r in sequential]
    assert concurrent[0].counts == {"done": 12}
    assert concurrent[1].counts == {"done": 40}


def test_a_rate_limit_is_kept_by_all_threads_together(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """At most max_rate + burst requests a second reach each API (one more for a request
    that arrives late), and the push takes at least as long as the rate demands."""
    seed_stock(sandbox, 12)
    vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client()
    bex_client.limit_rate(100.0, burst=3)
    report = push_stock(vendre_client, bex_client, lookups, state, max_in_flight=8, max_rate=10)
    assert report.counts == {"done": 12}
    # the flow's limit was for the flow only: the client's own is back
    assert (bex_client.max_rate, bex_client.burst) == (100.0, 3)
    assert (vendre_client.max_rate, vendre_client.burst) == (None, 1)
    for system in ("vendre", "bex"):
        calls = sandbox.calls(system)
        assert most_in_one_second(calls) <= 10 + 1 + 1
    bex_calls = sorted(c.received_at for c in sandbox.calls("bex"))
    # 12 look-ups, 12 confirms and 2 listings: one token each, one a tenth of a second
    assert len(bex_calls) == 26
    assert bex_calls[-1] - bex_calls[0] >= (26 - 1 - 1) / 10 - 0.2


def test_a_429_pauses_every_thread_of_the_client(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """After one thread's 429 with Retry-After: 1, no thread sends Vendre anything until the
    second is over; the request is repeated and nothing is lost."""
    seed_stock(sandbox, 40)
    sandbox.set_latency(None, 0.02)
    fault = sandbox.inject("vendre", method="PUT", status=429, retry_after=1)
    report = push_stock(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, state, max_in_flight=8
    )
    assert fault.hits == 1
    assert report.counts == {"done": 40}
    calls = sandbox.calls("vendre")
    refused = next(c for c in calls if c.status == 429)
    during = [
        c for c in calls if refused.received_at + 0.3 <= c.received_at <= refused.received_at + 0.9
    ]
    assert during == []
    assert sandbox.bex_queued_stock_changes() == []


def test_a_failed_record_loses_no_other(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """One product's saves fail: it stays queued, the others go, the report keeps the order."""
    ids = add_vendre_products(sandbox, *[f"4{n:03}_SKO_42" for n in range(20)])
    for n in range(20):
        sandbox.set_bex_stock(f"4{n:03}_SKO_42", n + 1)
    failing = ids["4007_SKO_42"]
    sandbox.inject("vendre", method="PUT", path=f"products/{failing}", status=503, times=4)
    vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client()
    report = push_stock(vendre_client, bex_client, lookups, state, max_in_flight=8)
    assert [o.entity for o in report.outcomes] == [f"4{n:03}_SKO_42" for n in range(20)]
    assert report.counts == {"done": 19, "failed": 1}
    assert report.outcomes[7].result == "failed"
    queued = [e["productIdentifier"] for e in sandbox.bex_queued_stock_changes()]
    assert queued == ["4007_SKO_42"]
    again = push_stock(vendre_client, bex_client, lookups, state, max_in_flight=8)
    assert again.counts == {"done": 1}
    assert sandbox.bex_queued_stock_changes() == []


def test_stop_lets_the_records_in_flight_finish_and_starts_no_other(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """STOP set at the first outcome: the records in flight finish whole, no new one starts,
    and the rest stays queued for the next run."""
    seed_stock(sandbox, 40)
    sandbox.set_latency(None, 0.02)
    stop = threading.Event()
    seen: list[Outcome] = []

    def observer(outcome: Outcome) -> None:
        seen.append(outcome)
        stop.set()

    token = STOP.set(stop)
    try:
        report = push_stock(
            sandbox.vendre_client(),
            sandbox.bex_client(),
            lookups,
            state,
            max_in_flight=4,
            observer=observer,
        )
    finally:
        STOP.reset(token)
    done = report.count("done")
    # when the first record is reported, at most 3 later ones finished before it, and at
    # most 3 more are in flight: those finish, no other starts
    assert 1 <= done <= 4 + 3
    assert report.outcomes == seen
    assert {o.result for o in report.outcomes} == {"done"}
    puts = [c for c in sandbox.calls("vendre") if c.method == "PUT"]
    confirms = [c for c in sandbox.calls("bex") if c.path == CONFIRM]
    assert len(puts) == len(confirms) == done
    assert len(sandbox.bex_queued_stock_changes()) == 40 - done


def test_statuses_and_products_in_flight_keep_the_listing_order(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Statuses pushed by 4 threads are reported in the order Bex listed them; a product
    that does not map is quarantined in its place."""
    for n in range(10):
        sandbox.add_vendre_order({"id": 500 + n} | _order_stub())
        sandbox.set_bex_order_status(f"{500 + n}", "SKICKAD")
    sandbox.add_bex_article(bex_article_doc("5001"))
    sandbox.add_bex_article(bex_article_doc("5002", **{"Extern referens": "KLOCKOR"}))
    sandbox.add_bex_article(bex_article_doc("5003"))
    sandbox.set_latency("vendre", 0.01)
    vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client()
    statuses = push_statuses(vendre_client, bex_client, lookups, state, max_in_flight=4)
    listed = [o.entity for o in statuses.outcomes]
    assert sorted(listed) == [f"{500 + n}" for n in range(10)]
    assert statuses.count("done") + statuses.count("skipped") == 10
    products = push_products(vendre_client, bex_client, lookups, state, max_in_flight=4)
    assert shape(products) == [
        ("5001", "update", "done"),
        ("5002", "quarantine", "quarantined"),
        ("5003", "update", "done"),
    ]
    dry = push_products(
        vendre_client, bex_client, lookups, state, max_in_flight=4, dry_run=True, overlap=_DAY
    )
    assert [o.result for o in dry.outcomes] == ["skipped", "skipped", "skipped"]


def test_a_failing_state_store_fails_the_flow_and_lets_the_workers_go(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """A state write that raises ends the flow with that error; the workers waiting for the
    state are let go, and the pool's threads end."""
    seed_stock(sandbox, 30)
    sandbox.set_latency(None, 0.01)

    class Broken(RuntimeError):
        pass

    writes: list[str] = []

    def set_pushed(kind: str, key: str, content_hash: str) -> None:
        writes.append(key)
        if len(writes) == 3:
            raise Broken(key)
        state.set_pushed(kind, key, content_hash)

    failing = _Wrapped(state, set_pushed=set_pushed)
    with pytest.raises(Broken):
        push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, failing, max_in_flight=8)
    assert [t for t in threading.enumerate() if t.name.startswith("bexvendre-push")] == []
    assert len(sandbox.bex_queued_stock_changes()) >= 30 - 8 - 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_in_flight": 0}, "max_in_flight must be a whole number >= 1, got 0"),
        ({"max_in_flight": True}, "max_in_flight must be a whole number >= 1, got True"),
        ({"max_rate": 0}, "max_rate must be requests a second > 0 or None, got 0"),
        ({"max_rate": float("inf")}, "max_rate must be requests a second > 0 or None, got inf"),
    ],
)
@pytest.mark.parametrize("flow", [push_products, push_stock, push_statuses])
def test_limits_out_of_range_are_refused(
    sandbox: Sandbox,
    state: SqliteState,
    lookups: Lookups,
    *,
    flow: Callable[..., Report],
    options: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        flow(sandbox.vendre_client(), sandbox.bex_client(), lookups, state, **options)
    assert sandbox.calls() == []


def test_a_clients_rate_limit_is_checked(sandbox: Sandbox) -> None:
    client = sandbox.vendre_client()
    for bad in (0, -1.0, True, "5", float("nan")):
        with pytest.raises(ValueError, match="max_rate must be requests a second"):
            client.limit_rate(bad)  # type: ignore[arg-type]
    for burst in (0, True, 1.5):
        with pytest.raises(ValueError, match="burst must be a whole number"):
            client.limit_rate(5, burst=burst)  # type: ignore[arg-type]
    client.limit_rate(5, burst=2)
    assert (client.max_rate, client.burst) == (5.0, 2)
    client.limit_rate(None)
    assert client.max_rate is None


def test_the_sandboxs_latency_and_peak_are_checked_and_reset(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="system must be"):
        sandbox.set_latency("shop", 1)
    with pytest.raises(ValueError, match="seconds must be a number >= 0"):
        sandbox.set_latency("bex", -1)
    with pytest.raises(ValueError, match="system must be"):
        sandbox.peak_in_flight("shop")
    sandbox.set_latency("bex", 0.2)
    client = sandbox.bex_client()
    threads = [
        threading.Thread(target=lambda: list(client.iter_queued_stock_changes())) for _ in "ab"
    ]
    # an empty queue: each listing is one request, and both wait side by side
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sandbox.peak_in_flight("bex") == 2
    assert sandbox.peak_in_flight("vendre") == 0
    assert {c.in_flight for c in sandbox.calls("bex")} <= {1, 2}
    sandbox.reset()
    assert sandbox.peak_in_flight("bex") == 0


_DAY = __import__("datetime").timedelta(days=1)


def _order_stub() -> dict[str, Any]:
    from tests.sync_support import order_doc  # noqa: PLC0415 - only here

    document = order_doc(0)
    del document["id"]
    return document


class _Wrapped:
    """A state store with some methods replaced."""

    def __init__(self, state: SqliteState, **replaced: Callable[..., Any]) -> None:
        self._state = state
        self._replaced = replaced

    def __getattr__(self, name: str) -> Any:
        return self._replaced.get(name) or getattr(self._state, name)


def test_the_pools_state_on_the_flows_own_thread_is_the_store(state: SqliteState) -> None:
    from bexvendre_mapping.sync._workers import Pool  # noqa: PLC0415 - internal

    pool = Pool(_NoRun(), state, 2)
    pool.state.set_pushed("stock", "A", "x")
    assert pool.state.get_pushed("stock", "A") == "x"
    assert pool.each([], lambda _item, _state: False)


class _NoRun:
    stopped = False

    def hold(self, outcomes: list[Any] | None) -> None:
        pass

    def emit(self, outcome: Any) -> None:
        raise AssertionError(outcome)
