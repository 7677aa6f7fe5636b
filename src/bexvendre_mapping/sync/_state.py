"""Durable state of the sync flows, in one SQLite file.

What the flows remember between runs: the order cursor, every Vendre order seen (intent,
created, quarantined, dropped), the records of the other flows that are quarantined (with
their payload and problems), the hash of what was last pushed to Vendre per product and variant,
Vendre's product ids by article number (the index the pushes save by), gift-card
checkouts, the orders webhooks named that are not handled yet, and the last run of each flow
(the daemon's heartbeat). The standard library's ``sqlite3`` in WAL mode; the schema carries
a version; a run of a flow holds that flow's exclusive lock so that two runs of one flow never
interleave (the second waits, then refuses), while different flows run side by side.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import attrs

__all__ = [
    "Checkout",
    "CheckoutState",
    "CheckoutStore",
    "HeldOrder",
    "HeldReason",
    "Hint",
    "LockStore",
    "LockedError",
    "OrderRecord",
    "OrderState",
    "OrderStore",
    "PushStore",
    "QuarantineRecord",
    "QuarantineStore",
    "RunRecord",
    "SCHEMA_VERSION",
    "SqliteState",
    "StateStore",
]

SCHEMA_VERSION = 1

OrderState = Literal["intent", "created", "quarantined", "dropped"]
CheckoutState = Literal["reserving", "reserved", "released", "redeemed", "expired"]
#: Why an order is held back from import: its status is not imported yet (``waiting``), or
#: it existed when ``bexvendre sync orders --baseline`` ran (``baseline``: never imported).
HeldReason = Literal["waiting", "baseline"]


class LockedError(RuntimeError):
    """Another run holds the flow's lock (a run of that flow is already going on)."""


@attrs.frozen(kw_only=True)
class OrderRecord:
    """What the state knows of one Vendre order.

    Attributes:
        order_id: the Vendre order id (Bex ``Ordernr``).
        content_hash: a hash of the Vendre order as fetched.
        state: ``intent`` (about to be created in Bex), ``created``, ``quarantined``, or
            ``dropped`` (taken out of quarantine by a person, ``bexvendre quarantine drop``:
            never imported; looked at again only if it changes in Vendre).
        payload: the Vendre order document, as fetched.
        errors: for a quarantined order, its problems (``path: message`` lines).
        updated_at: when the record last changed (UTC).
    """

    order_id: int
    content_hash: str
    state: OrderState
    payload: str
    errors: tuple[str, ...] = ()
    updated_at: datetime


@attrs.frozen(kw_only=True)
class QuarantineRecord:
    """A product, stock or status record that a person must look at.

    Orders are quarantined in their :class:`OrderRecord` (state ``quarantined``); the
    records of the other flows are kept here, keyed by flow and entity.

    Attributes:
        flow: ``products``, ``stock`` or ``statuses``.
        entity: the record's id as the flow's report names it (article number, product
            identifier, Bex order number, or ``sha256:...`` for a record without a usable id).
        payload: the record as fetched, JSON text (a stock record: the queue entry's product
            identifier and entry ids, and the stock information when it was read).
        errors: its problems (``path: message`` lines).
        reason: why, in a few words.
        updated_at: when it was (last) quarantined (UTC).
    """

    flow: str
    entity: str
    payload: str
    errors: tuple[str, ...] = ()
    reason: str = ""
    updated_at: datetime


@attrs.frozen(kw_only=True)
class HeldOrder:
    """A Vendre order the go-live controls hold back from import.

    Attributes:
        order_id: the Vendre order id (or the negative key of an order without a usable id).
        reason: ``waiting`` (its status is not among ``import_statuses``: it is read again
            on every run until its status is imported), or ``baseline`` (it existed when
            the baseline was taken: it is never imported).
        content_hash: a hash of the order as last fetched.
        status: its Vendre status id when last fetched, if known.
        placed_at: when it was placed (UTC), if known.
        updated_at: when the record last changed (UTC).
    """

    order_id: int
    reason: HeldReason
    content_hash: str
    status: int | None = None
    placed_at: datetime | None = None
    updated_at: datetime


@attrs.frozen(kw_only=True)
class Hint:
    """An order a webhook named that the flows have not finished with yet.

    Attributes:
        order_id: the Vendre order id the webhook's body carried.
        event: the event it came with (``new_order``, ``updated_order``).
        received_at: when the last webhook naming it arrived (UTC).
        seen: how many webhooks named it since it was recorded (a webhook that arrives
            while the order is being imported raises it, so the hint stays for one more look).
    """

    order_id: int
    event: str
    received_at: datetime
    seen: int = 1


@attrs.frozen(kw_only=True)
class RunRecord:
    """The last run of one flow, as ``bexvendre run`` records it (its heartbeat).

    Attributes:
        flow: ``orders``, ``products``, ``stock`` or ``statuses``.
        run_id: the run's id (hex).
        started: when the run started (UTC).
        finished: when it ended (UTC).
        result: ``ok`` (every record handled), ``quarantined`` (some need a person),
            ``failed`` (some are tried again next run) or ``locked`` (another run of the
            flow held its lock: nothing was done).
        summary: the run's one-line summary.
        counts: records per result (``done``, ``skipped``, ...).
        lag: how far behind the flow was at the end, in seconds (orders: the run's end minus
            the cursor); ``None`` when unknown.
        last_success: when a run of the flow last ended without a failure (UTC), if ever.
    """

    flow: str
    run_id: str
    started: datetime
    finished: datetime
    result: str
    summary: str = ""
    counts: Mapping[str, int] = attrs.Factory(dict)
    lag: float | None = None
    last_success: datetime | None = None


@attrs.frozen(kw_only=True)
class Checkout:
    """A gift card used at a checkout, keyed by the checkout's reference."""

    reference: str
    card_number: str
    amount: str
    state: CheckoutState
    reservation_id: str | None = None
    reserved_at: datetime | None = None
    """When the reservation was asked for (UTC), for the reservation's time to live."""
    bex_reference: str | None = None
    """The reference the reservation has in Bex, when it is not ``reference`` (after the
    checkout changed its amount or card: Bex keeps one reservation per reference)."""


class OrderStore(Protocol):
    """The orders role: order records, held orders, webhook hints and per-order claims.

    What :func:`~bexvendre_mapping.sync.import_orders`, :func:`import_hinted_orders
    <bexvendre_mapping.sync.import_hinted_orders>`, the webhook and ``bexvendre quarantine``
    need. Every write is committed before it returns.
    """

    def get_order(self, order_id: int) -> OrderRecord | None:
        """The record of a Vendre order, if the flows have seen it."""

    def put_order(self, record: OrderRecord) -> None:
        """Insert or replace an order's record (committed before it returns)."""

    def orders(self, state: OrderState | None = None) -> list[OrderRecord]:
        """Every order record, or those in one state, by order id."""

    def get_held(self, order_id: int) -> HeldOrder | None:
        """The hold on an order (waiting or baseline), if any."""

    def held_orders(self, reason: HeldReason | None = None) -> list[HeldOrder]:
        """Every held order, or those held for one reason, by order id."""

    def put_held(self, records: Iterable[HeldOrder]) -> None:
        """Insert or replace holds, all in one transaction (committed before it returns)."""

    def release_held(self, order_id: int) -> bool:
        """Forget an order's hold; whether there was one."""

    def add_hint(self, order_id: int, event: str, received_at: datetime | None = None) -> Hint:
        """Record that a webhook named an order, committed before it returns.

        One hint per order: a repeat raises its ``seen`` count.
        """

    def pending_hints(self) -> list[Hint]:
        """The orders webhooks named that are not yet handled, oldest first."""

    def clear_hint(self, order_id: int, *, seen: int | None = None) -> bool:
        """Forget an order's hint; whether it was cleared.

        Unless more than ``seen`` webhooks named it: then one arrived while it was handled.
        """

    def claim_order(self, order_id: int, worker: str, ttl: float) -> bool:
        """Claim an order for ``worker`` for ``ttl`` seconds; whether ``worker`` holds it now.

        ``True`` when nobody held it, when ``worker`` held it already (the claim is renewed),
        or when another worker's claim is older than its time to live (taken over: that
        worker is taken to be dead). ``False`` while another worker's claim is live. Atomic
        across processes and machines sharing the store, committed before it returns.
        """

    def release_order(self, order_id: int, worker: str) -> bool:
        """Give up ``worker``'s claim on an order; whether it held one."""


class PushStore(Protocol):
    """The pushes role: what was last pushed to Vendre, and Vendre's product index."""

    def get_pushed(self, kind: str, key: str) -> str | None:
        """The hash of what was last pushed for ``key`` (a product or variant)."""

    def set_pushed(self, kind: str, key: str, content_hash: str) -> None:
        """Remember what was pushed for ``key``."""

    def get_product_id(self, article_number: str) -> int | None:
        """Vendre's product id for an article number (an article or a size's model code)."""

    def set_product_ids(self, ids: Mapping[str, int], *, complete: bool = False) -> None:
        """Remember Vendre product ids by article number.

        With ``complete``, ``ids`` is a whole listing of the shop: it replaces the index and
        marks it refreshed now.
        """

    def product_index_refreshed(self) -> datetime | None:
        """When the product index was last built from a whole listing.

        ``None``: never, or marked stale since.
        """

    def mark_product_index_stale(self) -> None:
        """Have the next run list the shop's products again before it creates any."""


class CheckoutStore(Protocol):
    """The checkouts role: gift cards reserved at Vendre's checkout, by reference."""

    def get_checkout(self, reference: str) -> Checkout | None:
        """A gift-card checkout by its reference."""

    def put_checkout(self, checkout: Checkout) -> None:
        """Insert or replace a gift-card checkout."""

    def checkouts(self, state: CheckoutState) -> list[Checkout]:
        """The gift-card checkouts in ``state``, by reference."""


class LockStore(Protocol):
    """The locks role: per-flow run locks, the flows' cursors and their last runs."""

    def lock(
        self, flow: str = "sync", *, shared: bool = False
    ) -> contextlib.AbstractContextManager[None]:
        """Hold the flow's lock for one run; another holder waits, then gets LockedError.

        The flows pass their name (``orders``, ``products``, ``stock``, ``statuses``): a
        run waits for another run of its own flow only. The lock is held once at a time,
        by one run of one process, and is released when that process dies. A ``shared``
        lock (orders workers, each order protected by its claim) may be held by several
        shared holders at once, never beside an exclusive one; a store may serialise
        shared holders as well (SQLite does).
        """

    def get_cursor(self, flow: str) -> datetime | None:
        """The flow's cursor (an aware datetime), or ``None`` before the first run."""

    def set_cursor(self, flow: str, value: datetime) -> None:
        """Move the flow's cursor."""

    def record_run(self, run: RunRecord) -> RunRecord:
        """Record a flow's last run (replacing the one before); the record as stored.

        ``last_success`` is kept from the run before unless this run ended without a failure
        (``ok`` or ``quarantined``): then it is this run's end.
        """

    def runs(self) -> dict[str, RunRecord]:
        """The last recorded run of each flow, by flow name."""


class QuarantineStore(Protocol):
    """The quarantine role: records of the products, stock and statuses flows a person checks."""

    def put_quarantined(self, record: QuarantineRecord) -> None:
        """Insert or replace a quarantined record of the products, stock or statuses flow."""

    def get_quarantined(self, flow: str, entity: str) -> QuarantineRecord | None:
        """A quarantined record by flow and entity."""

    def quarantined(self, flow: str | None = None) -> list[QuarantineRecord]:
        """The quarantined records (of one flow), by flow and entity."""

    def drop_quarantined(self, flow: str, entity: str) -> bool:
        """Forget a quarantined record; whether there was one."""


class StateStore(OrderStore, PushStore, CheckoutStore, LockStore, QuarantineStore, Protocol):
    """What the sync flows need from a state store: every role (plug in your own).

    :class:`SqliteState` (one shop, one machine) and :class:`PostgresState
    <bexvendre_mapping.sync.PostgresState>` (many workers, many shops) are the library's.
    A store of your own implements the roles and checks itself with
    :mod:`bexvendre_mapping.testing.state_conformance`.
    """


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (flow TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    order_id INTEGER PRIMARY KEY,
    content_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('intent', 'created', 'quarantined', 'dropped')),
    payload TEXT NOT NULL,
    errors TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_state ON orders (state);
CREATE TABLE IF NOT EXISTS order_claims (
    order_id INTEGER PRIMARY KEY,
    worker TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS held_orders (
    order_id INTEGER PRIMARY KEY,
    reason TEXT NOT NULL CHECK (reason IN ('waiting', 'baseline')),
    content_hash TEXT NOT NULL,
    status INTEGER,
    placed_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pushed (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS vendre_products (
    article_number TEXT PRIMARY KEY,
    product_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_hints (
    order_id INTEGER PRIMARY KEY,
    event TEXT NOT NULL,
    received_at TEXT NOT NULL,
    seen INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS quarantine (
    flow TEXT NOT NULL,
    entity TEXT NOT NULL,
    payload TEXT NOT NULL,
    errors TEXT NOT NULL DEFAULT '[]',
    reason TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (flow, entity)
);
CREATE TABLE IF NOT EXISTS checkouts (
    reference TEXT PRIMARY KEY,
    card_number TEXT NOT NULL,
    amount TEXT NOT NULL,
    state TEXT NOT NULL,
    reservation_id TEXT,
    reserved_at TEXT,
    bex_reference TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    flow TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    result TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    counts TEXT NOT NULL DEFAULT '{}',
    lag REAL,
    last_success TEXT
);
"""


class SqliteState:
    """The state in one SQLite file (WAL), safe for two processes at once.

    Args:
        path: the database file; created with its schema when missing.
        lock_timeout: how long :meth:`lock` waits for another run of the flow before
            refusing (read at each :meth:`lock`), and how long a write waits for SQLite.
        create: whether to create a missing file. With ``False`` (as ``bexvendre sync
            --dry-run`` does) a missing file is read as an empty state held in memory, and
            nothing is written to disk; an existing file is opened as usual.

    Raises:
        OSError: the file cannot be opened or created (it is a directory, its folder does
            not exist, it is not a SQLite database, ...); the message names the file.
        RuntimeError: the file has a newer schema than this version of the library knows.
    """

    def __init__(
        self, path: str | Path, *, lock_timeout: float = 30.0, create: bool = True
    ) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        in_memory = not create and not self.path.exists()
        try:
            if in_memory and not self.path.parent.is_dir():
                # Nothing to read, but a real run could not create the file either: say so now.
                raise sqlite3.OperationalError("unable to open database file")
            newer = self._open(":memory:" if in_memory else self.path)
        except sqlite3.Error as exc:
            if self.path.is_dir():
                reason = "it is a directory"
            elif not self.path.parent.is_dir():
                reason = f"its folder {str(self.path.parent)!r} does not exist"
            else:
                reason = str(exc)
            msg = f"cannot open the state file {str(self.path)!r}: {reason}"
            raise OSError(msg) from None
        if newer is not None:
            self._db.close()
            msg = (
                f"{self.path} has state schema {newer}; this version of bexvendre-mapping "
                f"knows up to {SCHEMA_VERSION}"
            )
            raise RuntimeError(msg)
        self._lock_dbs: dict[str, sqlite3.Connection] = {}

    def _open(self, target: str | Path) -> str | None:
        """Connect and create the schema; the newer schema version found, if any."""
        self._db = sqlite3.connect(target, timeout=self.lock_timeout, isolation_level=None)
        try:
            self._use_write_ahead_log()
            self._db.execute("PRAGMA synchronous=FULL")
            newer = None
            with self._transaction():
                # executescript() would commit on its own; one statement at a time stays atomic.
                for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                    self._db.execute(statement)
                self._widen_order_states()
                self._widen_checkouts()
                row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if row is None:
                    self._db.execute(
                        "INSERT INTO meta (key, value) VALUES ('schema', ?)",
                        (str(SCHEMA_VERSION),),
                    )
                elif int(row[0]) > SCHEMA_VERSION:
                    newer = row[0]
        except sqlite3.Error:
            self._db.close()
            raise
        return newer

    def _use_write_ahead_log(self) -> None:
        """Switch the file to write-ahead logging (it stays so: later opens find it done).

        While another connection sets up the same new file, SQLite refuses the switch at
        once ("database is locked") rather than waiting its busy timeout, so several workers
        started together on a new state would fail to open it. The switch is tried again,
        with short pauses, for up to ``lock_timeout``.
        """
        deadline = time.monotonic() + self.lock_timeout
        pause = 0.005
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:
                busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
                if not busy or time.monotonic() + pause > deadline:
                    raise
            else:
                return
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def _widen_order_states(self) -> None:
        """Let a file made before the ``dropped`` state hold it (rebuilds ``orders`` once)."""
        row = self._db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'orders'"
        ).fetchone()
        if row is None or "'dropped'" in row[0]:
            return
        self._db.execute("DROP INDEX IF EXISTS orders_state")
        self._db.execute("ALTER TABLE orders RENAME TO orders_before_dropped")
        for statement in _SCHEMA.split(";"):
            if "TABLE IF NOT EXISTS orders " in statement or "orders_state" in statement:
                self._db.execute(statement)
        self._db.execute("INSERT INTO orders SELECT * FROM orders_before_dropped")
        self._db.execute("DROP TABLE orders_before_dropped")

    def _widen_checkouts(self) -> None:
        """Give a file made before reservations expired the ``checkouts`` columns they need."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(checkouts)")}
        for column in ("reserved_at", "bex_reference"):
            if column not in columns:
                self._db.execute(f"ALTER TABLE checkouts ADD COLUMN {column} TEXT")

    def close(self) -> None:
        """Close the database (and release the locks held)."""
        for connection in self._lock_dbs.values():
            connection.close()
        self._lock_dbs.clear()
        self._db.close()

    def __enter__(self) -> SqliteState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteState({str(self.path)!r})"

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def lock_path(self, flow: str = "sync") -> Path:
        """The companion file whose write lock is the flow's run lock: ``<state>.<flow>.lock``."""
        return self.path.with_name(f"{self.path.name}.{flow}.lock")

    @contextlib.contextmanager
    def lock(self, flow: str = "sync", *, shared: bool = False) -> Iterator[None]:
        """Hold the flow's run lock: a write lock on a companion file, released if the process dies.

        Each flow has its own file (:meth:`lock_path`), so a run of one flow never waits for
        a run of another. One flow's lock is held once per store at a time. ``shared`` is
        taken as exclusive: on one SQLite file, workers of one flow take turns.

        Raises:
            LockedError: another run of the flow held it for longer than ``lock_timeout``.
            ValueError: ``flow`` is not a plain name (letters, digits, ``_`` and ``-``).
        """
        if not flow or not all(c.isascii() and (c.isalnum() or c in "_-") for c in flow):
            msg = f"a flow's name is letters, digits, '_' and '-', got {flow!r}"
            raise ValueError(msg)
        lock_path = self.lock_path(flow)
        connection = sqlite3.connect(lock_path, timeout=self.lock_timeout, isolation_level=None)
        try:
            try:
                connection.execute("BEGIN EXCLUSIVE")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                msg = f"another {flow} run holds {lock_path} (waited {self.lock_timeout:g} s)"
                raise LockedError(msg) from exc
            self._lock_dbs[flow] = connection
            try:
                yield
            finally:
                if self._lock_dbs.get(flow) is connection:  # close() inside released it
                    del self._lock_dbs[flow]
                    connection.execute("ROLLBACK")
        finally:
            connection.close()

    # --- the daemon's heartbeat -----------------------------------------------------------

    def record_run(self, run: RunRecord) -> RunRecord:
        """Record a flow's last run (replacing the one before); the record as stored.

        ``last_success`` is kept from the run before unless this run ended without a failure
        (``ok`` or ``quarantined``): then it is this run's end.
        """
        last_success = run.last_success
        if run.result in ("ok", "quarantined"):
            last_success = run.finished
        with self._transaction():
            if last_success is None:
                row = self._db.execute(
                    "SELECT last_success FROM runs WHERE flow = ?", (run.flow,)
                ).fetchone()
                if row is not None and row[0] is not None:
                    last_success = datetime.fromisoformat(row[0])
            self._db.execute(
                "INSERT INTO runs (flow, run_id, started, finished, result, summary, counts, "
                "lag, last_success) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (flow) DO UPDATE SET run_id = excluded.run_id, "
                "started = excluded.started, finished = excluded.finished, "
                "result = excluded.result, summary = excluded.summary, "
                "counts = excluded.counts, lag = excluded.lag, "
                "last_success = excluded.last_success",
                (
                    run.flow,
                    run.run_id,
                    run.started.astimezone(UTC).isoformat(),
                    run.finished.astimezone(UTC).isoformat(),
                    run.result,
                    run.summary,
                    json.dumps(dict(run.counts), sort_keys=True),
                    run.lag,
                    None if last_success is None else last_success.astimezone(UTC).isoformat(),
                ),
            )
        return attrs.evolve(run, last_success=last_success)

    def runs(self) -> dict[str, RunRecord]:
        """The last recorded run of each flow, by flow name."""
        rows = self._db.execute(
            "SELECT flow, run_id, started, finished, result, summary, counts, lag, last_success "
            "FROM runs ORDER BY flow"
        )
        return {
            row[0]: RunRecord(
                flow=row[0],
                run_id=row[1],
                started=datetime.fromisoformat(row[2]),
                finished=datetime.fromisoformat(row[3]),
                result=row[4],
                summary=row[5],
                counts=json.loads(row[6]),
                lag=row[7],
                last_success=None if row[8] is None else datetime.fromisoformat(row[8]),
            )
            for row in rows
        }

    # --- cursors --------------------------------------------------------------------------

    def get_cursor(self, flow: str) -> datetime | None:
        """The flow's cursor (UTC), or ``None`` before the first run."""
        row = self._db.execute("SELECT value FROM cursors WHERE flow = ?", (flow,)).fetchone()
        return None if row is None else datetime.fromisoformat(row[0])

    def set_cursor(self, flow: str, value: datetime) -> None:
        """Move the flow's cursor (stored in UTC)."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO cursors (flow, value) VALUES (?, ?) "
                "ON CONFLICT (flow) DO UPDATE SET value = excluded.value",
                (flow, value.astimezone(UTC).isoformat()),
            )

    # --- orders ---------------------------------------------------------------------------

    def get_order(self, order_id: int) -> OrderRecord | None:
        """The record of a Vendre order, if seen."""
        row = self._db.execute(
            "SELECT order_id, content_hash, state, payload, errors, updated_at "
            "FROM orders WHERE order_id = ?",
            (order_id,),
        ).fetchone()
        return None if row is None else _order(row)

    def put_order(self, record: OrderRecord) -> None:
        """Insert or replace an order's record, committed before returning."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO orders (order_id, content_hash, state, payload, errors, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO UPDATE SET "
                "content_hash = excluded.content_hash, state = excluded.state, "
                "payload = excluded.payload, errors = excluded.errors, "
                "updated_at = excluded.updated_at",
                (
                    record.order_id,
                    record.content_hash,
                    record.state,
                    record.payload,
                    json.dumps(list(record.errors), ensure_ascii=False),
                    record.updated_at.astimezone(UTC).isoformat(),
                ),
            )

    def orders(self, state: OrderState | None = None) -> list[OrderRecord]:
        """Every order record, or those in one state, by order id."""
        query = "SELECT order_id, content_hash, state, payload, errors, updated_at FROM orders"
        args: tuple[Any, ...] = ()
        if state is not None:
            query += " WHERE state = ?"
            args = (state,)
        return [_order(row) for row in self._db.execute(query + " ORDER BY order_id", args)]

    # --- per-order claims -----------------------------------------------------------------

    def claim_order(self, order_id: int, worker: str, ttl: float) -> bool:
        """Claim an order for ``worker`` for ``ttl`` seconds; whether ``worker`` holds it now.

        Taken when free, renewed when ``worker`` holds it, taken over when another worker's
        claim expired; refused while another worker's claim is live.
        """
        now = time.time()
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO order_claims (order_id, worker, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (order_id) DO UPDATE SET worker = excluded.worker, "
                "expires_at = excluded.expires_at "
                "WHERE order_claims.worker = excluded.worker OR order_claims.expires_at < ?",
                (order_id, worker, now + ttl, now),
            )
        return cursor.rowcount > 0

    def release_order(self, order_id: int, worker: str) -> bool:
        """Give up ``worker``'s claim on an order; whether it held one."""
        with self._transaction():
            cursor = self._db.execute(
                "DELETE FROM order_claims WHERE order_id = ? AND worker = ?", (order_id, worker)
            )
        return cursor.rowcount > 0

    # --- orders held back by the go-live controls -----------------------------------------

    def get_held(self, order_id: int) -> HeldOrder | None:
        """The hold on an order, if any."""
        row = self._db.execute(
            "SELECT order_id, reason, content_hash, status, placed_at, updated_at "
            "FROM held_orders WHERE order_id = ?",
            (order_id,),
        ).fetchone()
        return None if row is None else _held(row)

    def held_orders(self, reason: HeldReason | None = None) -> list[HeldOrder]:
        """Every held order, or those held for one reason, by order id."""
        query = (
            "SELECT order_id, reason, content_hash, status, placed_at, updated_at FROM held_orders"
        )
        args: tuple[Any, ...] = ()
        if reason is not None:
            query += " WHERE reason = ?"
            args = (reason,)
        return [_held(row) for row in self._db.execute(query + " ORDER BY order_id", args)]

    def put_held(self, records: Iterable[HeldOrder]) -> None:
        """Insert or replace holds in one transaction."""
        rows = [
            (
                r.order_id,
                r.reason,
                r.content_hash,
                r.status,
                None if r.placed_at is None else r.placed_at.astimezone(UTC).isoformat(),
                r.updated_at.astimezone(UTC).isoformat(),
            )
            for r in records
        ]
        with self._transaction():
            self._db.executemany(
                "INSERT INTO held_orders "
                "(order_id, reason, content_hash, status, placed_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (order_id) DO UPDATE SET reason = excluded.reason, "
                "content_hash = excluded.content_hash, status = excluded.status, "
                "placed_at = excluded.placed_at, updated_at = excluded.updated_at",
                rows,
            )

    def release_held(self, order_id: int) -> bool:
        """Forget an order's hold; whether there was one."""
        with self._transaction():
            cursor = self._db.execute("DELETE FROM held_orders WHERE order_id = ?", (order_id,))
        return cursor.rowcount > 0

    # --- what was pushed ------------------------------------------------------------------

    def get_pushed(self, kind: str, key: str) -> str | None:
        """The hash last pushed for ``key``."""
        row = self._db.execute(
            "SELECT content_hash FROM pushed WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        return None if row is None else str(row[0])

    def set_pushed(self, kind: str, key: str, content_hash: str) -> None:
        """Remember the hash pushed for ``key``."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO pushed (kind, key, content_hash) VALUES (?, ?, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET content_hash = excluded.content_hash",
                (kind, key, content_hash),
            )

    # --- Vendre's product ids -------------------------------------------------------------

    def get_product_id(self, article_number: str) -> int | None:
        """Vendre's product id for an article number, if the index has it."""
        row = self._db.execute(
            "SELECT product_id FROM vendre_products WHERE article_number = ?", (article_number,)
        ).fetchone()
        return None if row is None else int(row[0])

    def set_product_ids(self, ids: Mapping[str, int], *, complete: bool = False) -> None:
        """Remember product ids; with ``complete``, replace the whole index (refreshed now)."""
        with self._transaction():
            if complete:
                self._db.execute("DELETE FROM vendre_products")
            self._db.executemany(
                "INSERT INTO vendre_products (article_number, product_id) VALUES (?, ?) "
                "ON CONFLICT (article_number) DO UPDATE SET product_id = excluded.product_id",
                list(ids.items()),
            )
            if complete:
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('product_index', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (datetime.now(UTC).isoformat(),),
                )

    def product_index_refreshed(self) -> datetime | None:
        """When the index was last built from a whole listing."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'product_index'").fetchone()
        return None if row is None else datetime.fromisoformat(row[0])

    def mark_product_index_stale(self) -> None:
        """The next run lists the shop's products again before it creates any."""
        with self._transaction():
            self._db.execute("DELETE FROM meta WHERE key = 'product_index'")

    # --- gift-card checkouts --------------------------------------------------------------

    _CHECKOUT_COLUMNS = (
        "reference, card_number, amount, state, reservation_id, reserved_at, bex_reference"
    )

    def get_checkout(self, reference: str) -> Checkout | None:
        """A gift-card checkout by reference."""
        row = self._db.execute(
            f"SELECT {self._CHECKOUT_COLUMNS} FROM checkouts WHERE reference = ?",  # noqa: S608
            (reference,),
        ).fetchone()
        return None if row is None else _checkout(row)

    def checkouts(self, state: CheckoutState) -> list[Checkout]:
        """The gift-card checkouts in ``state``, by reference."""
        rows = self._db.execute(
            f"SELECT {self._CHECKOUT_COLUMNS} FROM checkouts WHERE state = ? "  # noqa: S608
            "ORDER BY reference",
            (state,),
        ).fetchall()
        return [_checkout(row) for row in rows]

    def put_checkout(self, checkout: Checkout) -> None:
        """Insert or replace a gift-card checkout."""
        with self._transaction():
            self._db.execute(
                f"INSERT INTO checkouts ({self._CHECKOUT_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (reference) DO UPDATE SET "
                "card_number = excluded.card_number, amount = excluded.amount, "
                "state = excluded.state, reservation_id = excluded.reservation_id, "
                "reserved_at = excluded.reserved_at, bex_reference = excluded.bex_reference",
                (
                    checkout.reference,
                    checkout.card_number,
                    checkout.amount,
                    checkout.state,
                    checkout.reservation_id,
                    None if checkout.reserved_at is None else checkout.reserved_at.isoformat(),
                    checkout.bex_reference,
                ),
            )

    # --- webhook hints --------------------------------------------------------------------

    def add_hint(self, order_id: int, event: str, received_at: datetime | None = None) -> Hint:
        """Record that a webhook named an order, committed before returning."""
        when = (received_at or datetime.now(UTC)).astimezone(UTC)
        with self._transaction():
            self._db.execute(
                "INSERT INTO webhook_hints (order_id, event, received_at, seen) "
                "VALUES (?, ?, ?, 1) ON CONFLICT (order_id) DO UPDATE SET "
                "event = excluded.event, received_at = excluded.received_at, seen = seen + 1",
                (order_id, event, when.isoformat()),
            )
            row = self._db.execute(
                "SELECT order_id, event, received_at, seen FROM webhook_hints WHERE order_id = ?",
                (order_id,),
            ).fetchone()
        return _hint(row)

    def pending_hints(self) -> list[Hint]:
        """The hints not yet cleared, oldest first."""
        rows = self._db.execute(
            "SELECT order_id, event, received_at, seen FROM webhook_hints "
            "ORDER BY received_at, order_id"
        )
        return [_hint(row) for row in rows]

    def clear_hint(self, order_id: int, *, seen: int | None = None) -> bool:
        """Forget an order's hint unless more than ``seen`` webhooks named it."""
        with self._transaction():
            cursor = self._db.execute(
                "DELETE FROM webhook_hints WHERE order_id = ? AND (? IS NULL OR seen <= ?)",
                (order_id, seen, seen),
            )
        return cursor.rowcount > 0

    # --- quarantined records of the other flows ---------------------------------------------

    def put_quarantined(self, record: QuarantineRecord) -> None:
        """Insert or replace a quarantined record, committed before returning."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO quarantine (flow, entity, payload, errors, reason, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (flow, entity) DO UPDATE SET "
                "payload = excluded.payload, errors = excluded.errors, "
                "reason = excluded.reason, updated_at = excluded.updated_at",
                (
                    record.flow,
                    record.entity,
                    record.payload,
                    json.dumps(list(record.errors), ensure_ascii=False),
                    record.reason,
                    record.updated_at.astimezone(UTC).isoformat(),
                ),
            )

    def get_quarantined(self, flow: str, entity: str) -> QuarantineRecord | None:
        """A quarantined record by flow and entity."""
        row = self._db.execute(
            "SELECT flow, entity, payload, errors, reason, updated_at FROM quarantine "
            "WHERE flow = ? AND entity = ?",
            (flow, entity),
        ).fetchone()
        return None if row is None else _quarantined(row)

    def quarantined(self, flow: str | None = None) -> list[QuarantineRecord]:
        """The quarantined records (of one flow), by flow and entity."""
        query = "SELECT flow, entity, payload, errors, reason, updated_at FROM quarantine"
        args: tuple[Any, ...] = ()
        if flow is not None:
            query += " WHERE flow = ?"
            args = (flow,)
        rows = self._db.execute(query + " ORDER BY flow, entity", args)
        return [_quarantined(row) for row in rows]

    def drop_quarantined(self, flow: str, entity: str) -> bool:
        """Forget a quarantined record; whether there was one."""
        with self._transaction():
            cursor = self._db.execute(
                "DELETE FROM quarantine WHERE flow = ? AND entity = ?", (flow, entity)
            )
        return cursor.rowcount > 0


def _quarantined(row: tuple[Any, ...]) -> QuarantineRecord:
    return QuarantineRecord(
        flow=row[0],
        entity=row[1],
        payload=row[2],
        errors=tuple(json.loads(row[3])),
        reason=row[4],
        updated_at=datetime.fromisoformat(row[5]),
    )


def _held(row: tuple[Any, ...]) -> HeldOrder:
    return HeldOrder(
        order_id=row[0],
        reason=row[1],
        content_hash=row[2],
        status=row[3],
        placed_at=None if row[4] is None else datetime.fromisoformat(row[4]),
        updated_at=datetime.fromisoformat(row[5]),
    )


def _hint(row: tuple[Any, ...]) -> Hint:
    return Hint(
        order_id=row[0], event=row[1], received_at=datetime.fromisoformat(row[2]), seen=row[3]
    )


def _order(row: tuple[Any, ...]) -> OrderRecord:
    return OrderRecord(
        order_id=row[0],
        content_hash=row[1],
        state=row[2],
        payload=row[3],
        errors=tuple(json.loads(row[4])),
        updated_at=datetime.fromisoformat(row[5]),
    )


def _checkout(row: tuple[Any, ...]) -> Checkout:
    return Checkout(
        reference=row[0],
        card_number=row[1],
        amount=row[2],
        state=row[3],
        reservation_id=row[4],
        reserved_at=None if row[5] is None else datetime.fromisoformat(row[5]),
        bex_reference=row[6],
    )
