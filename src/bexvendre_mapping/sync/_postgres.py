"""Durable state of the sync flows in PostgreSQL: many workers, many shops, one database.

The same promises as :class:`~bexvendre_mapping.sync.SqliteState`, plus what a shared server
allows: every row carries a ``shop`` key, so that several shops share one database; a flow's
run lock is a session-level advisory lock keyed by shop and flow (released by the server
when the process holding it dies); and orders are claimed one by one (a row in
``bexvendre_order_claims`` with its time to live, taken with ``INSERT ... ON CONFLICT``), so
that several workers import the orders of one shop side by side without doubling any.

Needs the ``postgres`` extra (psycopg 3): ``pip install "bexvendre-mapping[postgres]"``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from bexvendre_mapping.sync._state import (
    Checkout,
    CheckoutState,
    HeldOrder,
    HeldReason,
    Hint,
    LockedError,
    OrderRecord,
    OrderState,
    QuarantineRecord,
    RunRecord,
)

if TYPE_CHECKING:
    import psycopg

__all__ = ["POSTGRES_SCHEMA_VERSION", "PostgresState"]

#: The tables' version in a database; :class:`PostgresState` migrates older ones on open.
POSTGRES_SCHEMA_VERSION = 2

# Each version's statements, applied in order to a database at the version before.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE bexvendre_cursors (shop TEXT NOT NULL, flow TEXT NOT NULL, "
        "value TIMESTAMPTZ NOT NULL, PRIMARY KEY (shop, flow))",
        "CREATE TABLE bexvendre_orders (shop TEXT NOT NULL, order_id BIGINT NOT NULL, "
        "content_hash TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN "
        "('intent', 'created', 'quarantined', 'dropped')), payload TEXT NOT NULL, "
        "errors TEXT NOT NULL DEFAULT '[]', updated_at TIMESTAMPTZ NOT NULL, "
        "PRIMARY KEY (shop, order_id))",
        "CREATE INDEX bexvendre_orders_state ON bexvendre_orders (shop, state)",
        "CREATE TABLE bexvendre_held_orders (shop TEXT NOT NULL, order_id BIGINT NOT NULL, "
        "reason TEXT NOT NULL CHECK (reason IN ('waiting', 'baseline')), "
        "content_hash TEXT NOT NULL, status BIGINT, placed_at TIMESTAMPTZ, "
        "updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (shop, order_id))",
        "CREATE TABLE bexvendre_pushed (shop TEXT NOT NULL, kind TEXT NOT NULL, "
        "key TEXT NOT NULL, content_hash TEXT NOT NULL, PRIMARY KEY (shop, kind, key))",
        "CREATE TABLE bexvendre_products (shop TEXT NOT NULL, article_number TEXT NOT NULL, "
        "product_id BIGINT NOT NULL, PRIMARY KEY (shop, article_number))",
        "CREATE TABLE bexvendre_hints (shop TEXT NOT NULL, order_id BIGINT NOT NULL, "
        "event TEXT NOT NULL, received_at TIMESTAMPTZ NOT NULL, "
        "seen INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (shop, order_id))",
        "CREATE TABLE bexvendre_quarantine (shop TEXT NOT NULL, flow TEXT NOT NULL, "
        "entity TEXT NOT NULL, payload TEXT NOT NULL, errors TEXT NOT NULL DEFAULT '[]', "
        "reason TEXT NOT NULL DEFAULT '', updated_at TIMESTAMPTZ NOT NULL, "
        "PRIMARY KEY (shop, flow, entity))",
        "CREATE TABLE bexvendre_checkouts (shop TEXT NOT NULL, reference TEXT NOT NULL, "
        "card_number TEXT NOT NULL, amount TEXT NOT NULL, state TEXT NOT NULL, "
        "reservation_id TEXT, reserved_at TIMESTAMPTZ, bex_reference TEXT, "
        "PRIMARY KEY (shop, reference))",
        "CREATE TABLE bexvendre_runs (shop TEXT NOT NULL, flow TEXT NOT NULL, "
        "run_id TEXT NOT NULL, started TIMESTAMPTZ NOT NULL, finished TIMESTAMPTZ NOT NULL, "
        "result TEXT NOT NULL, summary TEXT NOT NULL DEFAULT '', "
        "counts TEXT NOT NULL DEFAULT '{}', lag DOUBLE PRECISION, last_success TIMESTAMPTZ, "
        "PRIMARY KEY (shop, flow))",
        "CREATE TABLE bexvendre_shop_meta (shop TEXT NOT NULL, key TEXT NOT NULL, "
        "value TEXT NOT NULL, PRIMARY KEY (shop, key))",
    ),
    (
        "CREATE TABLE bexvendre_order_claims (shop TEXT NOT NULL, order_id BIGINT NOT NULL, "
        "worker TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (shop, order_id))",
    ),
)

# The advisory lock that serialises migrations of one database (any 64-bit number of ours).
_MIGRATION_LOCK = 0x6265_7876_656E_6472  # "bexvendr"
_FLOW_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@|(password\s*=\s*)\S+", re.IGNORECASE)


def _redacted(dsn: str) -> str:
    """The connection string without its password, for messages."""
    return _PASSWORD.sub(
        lambda m: f"{m.group(1) or m.group(2)}***" + ("@" if m.group(1) else ""), dsn
    )


def _lock_key(shop: str, flow: str) -> int:
    """The advisory lock's key of a shop's flow: a signed 64-bit number."""
    digest = hashlib.blake2b(f"bexvendre\0{shop}\0{flow}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _psycopg() -> Any:
    """The psycopg module, or an ImportError that names the extra."""
    try:
        import psycopg  # noqa: PLC0415 - the extra is optional
    except ImportError as exc:
        msg = 'PostgresState needs psycopg 3: pip install "bexvendre-mapping[postgres]"'
        raise ImportError(msg) from exc
    return psycopg


class PostgresState:
    """The state of one shop in a PostgreSQL database, shared by many workers and shops.

    Args:
        dsn: a libpq connection string or URL (``postgresql://user@host/db``).
        shop: the shop whose rows this store reads and writes; several shops share one
            database, none sees another's rows (nor waits for another's locks).
        lock_timeout: how long :meth:`lock` waits for another run of the flow before
            refusing (read at each :meth:`lock`).
        connect_timeout: how long connecting may take, in seconds.

    The tables (``bexvendre_*``) are created on first open and migrated from an older
    version (``bexvendre_meta`` holds it), one migration at a time however many processes
    open the database at once. One store is one connection, which its methods share under a
    lock, so a store may be used from several threads (one at a time); each run lock is a
    connection of its own.

    Raises:
        ImportError: psycopg is not installed (the ``postgres`` extra).
        OSError: the server cannot be reached or refuses the connection (the message names
            the database, never its password).
        RuntimeError: the database has a newer schema than this version of the library knows.
    """

    def __init__(
        self,
        dsn: str,
        *,
        shop: str = "default",
        lock_timeout: float = 30.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self._psycopg = _psycopg()
        self.dsn = dsn
        self.shop = shop
        self.lock_timeout = lock_timeout
        self.connect_timeout = connect_timeout
        self._mutex = threading.RLock()
        self._lock_connections: dict[str, psycopg.Connection[Any]] = {}
        self._db = self._connect()
        try:
            newer = self._migrate(POSTGRES_SCHEMA_VERSION)
        except self._psycopg.Error as exc:
            self._db.close()
            msg = f"cannot open the state database {_redacted(dsn)!r}: {exc}"
            raise OSError(msg) from None
        if newer is not None:
            self._db.close()
            msg = (
                f"the state database {_redacted(dsn)!r} has state schema {newer}; this "
                f"version of bexvendre-mapping knows up to {POSTGRES_SCHEMA_VERSION}"
            )
            raise RuntimeError(msg)

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            connection: psycopg.Connection[Any] = self._psycopg.connect(
                self.dsn, autocommit=True, connect_timeout=max(1, round(self.connect_timeout))
            )
        except self._psycopg.Error as exc:
            msg = f"cannot open the state database {_redacted(self.dsn)!r}: {exc}".strip()
            raise OSError(msg) from None
        connection.execute("SET TIME ZONE 'UTC'")
        return connection

    def _migrate(self, target: int) -> int | None:
        """Bring the tables to version ``target``; the newer version found, if any."""
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS bexvendre_meta (key TEXT PRIMARY KEY, "
                "value TEXT NOT NULL)"
            )
            row = self._db.execute(
                "SELECT value FROM bexvendre_meta WHERE key = 'schema'"
            ).fetchone()
            version = 0 if row is None else int(row[0])
            if version > POSTGRES_SCHEMA_VERSION:
                return version
            for statements in _MIGRATIONS[version:target]:
                for statement in statements:
                    self._db.execute(statement)
            if version < target:
                self._db.execute(
                    "INSERT INTO bexvendre_meta (key, value) VALUES ('schema', %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(target),),
                )
        return None

    def schema_version(self) -> int:
        """The version of the database's tables (:data:`POSTGRES_SCHEMA_VERSION` once open)."""
        row = self._one("SELECT value FROM bexvendre_meta WHERE key = 'schema'")
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        """Close the connections (and release the locks held)."""
        with self._mutex:
            for connection in self._lock_connections.values():
                connection.close()
            self._lock_connections.clear()
            self._db.close()

    def __enter__(self) -> PostgresState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresState({_redacted(self.dsn)!r}, shop={self.shop!r})"

    # --- plumbing ---------------------------------------------------------------------------

    def _one(self, query: str, args: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        with self._mutex:
            row: tuple[Any, ...] | None = self._db.execute(query, args).fetchone()
        return row

    def _all(self, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._mutex:
            rows: list[tuple[Any, ...]] = self._db.execute(query, args).fetchall()
        return rows

    def _write(self, query: str, args: tuple[Any, ...] = ()) -> int:
        """Run one statement in its own transaction; the rows it touched."""
        with self._mutex, self._db.transaction():
            return int(self._db.execute(query, args).rowcount)

    # --- locks ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, flow: str = "sync", *, shared: bool = False) -> Iterator[None]:
        """Hold the shop's flow lock: a session-level advisory lock on a connection of its own.

        Keyed by shop and flow: two runs of one flow of one shop never overlap, whatever
        process or machine they run on; other flows and other shops do not wait. The
        server releases the lock when the connection holding it drops (the process died).
        With ``shared``, the lock is shared with other shared holders (workers importing
        orders side by side, each order protected by its claim) and excludes every
        exclusive holder (a ``bexvendre run`` daemon).

        Raises:
            LockedError: another run of the flow held it for longer than ``lock_timeout``.
            ValueError: ``flow`` is not a plain name (letters, digits, ``_`` and ``-``).
            OSError: the server cannot be reached.
        """
        if not _FLOW_NAME.match(flow) or not flow.isascii():
            msg = f"a flow's name is letters, digits, '_' and '-', got {flow!r}"
            raise ValueError(msg)
        key = _lock_key(self.shop, flow)
        try_lock = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        unlock = "pg_advisory_unlock_shared" if shared else "pg_advisory_unlock"
        connection = self._connect()
        try:
            deadline = time.monotonic() + self.lock_timeout
            pause = 0.02
            while not _fetch_bool(connection, f"SELECT {try_lock}(%s)", key):
                if time.monotonic() >= deadline:
                    msg = (
                        f"another {flow} run of shop {self.shop!r} holds its lock "
                        f"(waited {self.lock_timeout:g} s)"
                    )
                    raise LockedError(msg)
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 2, 0.25)
            slot = f"{flow}:{id(connection)}"
            self._lock_connections[slot] = connection
            try:
                yield
            finally:
                if self._lock_connections.pop(slot, None) is connection:
                    connection.execute(f"SELECT {unlock}(%s)", (key,))
        finally:
            connection.close()

    # --- cursors and runs -------------------------------------------------------------------

    def get_cursor(self, flow: str) -> datetime | None:
        """The flow's cursor (UTC), or ``None`` before the first run."""
        row = self._one(
            "SELECT value FROM bexvendre_cursors WHERE shop = %s AND flow = %s", (self.shop, flow)
        )
        return None if row is None else _utc(row[0])

    def set_cursor(self, flow: str, value: datetime) -> None:
        """Move the flow's cursor (stored in UTC)."""
        self._write(
            "INSERT INTO bexvendre_cursors (shop, flow, value) VALUES (%s, %s, %s) "
            "ON CONFLICT (shop, flow) DO UPDATE SET value = excluded.value",
            (self.shop, flow, value.astimezone(UTC)),
        )

    def record_run(self, run: RunRecord) -> RunRecord:
        """Record a flow's last run (replacing the one before); the record as stored.

        ``last_success`` is kept from the run before unless this run ended without a failure
        (``ok`` or ``quarantined``): then it is this run's end.
        """
        last_success = run.last_success
        if run.result in ("ok", "quarantined"):
            last_success = run.finished
        with self._mutex, self._db.transaction():
            if last_success is None:
                row = self._db.execute(
                    "SELECT last_success FROM bexvendre_runs WHERE shop = %s AND flow = %s "
                    "FOR UPDATE",
                    (self.shop, run.flow),
                ).fetchone()
                if row is not None and row[0] is not None:
                    last_success = _utc(row[0])
            self._db.execute(
                "INSERT INTO bexvendre_runs (shop, flow, run_id, started, finished, result, "
                "summary, counts, lag, last_success) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (shop, flow) DO UPDATE SET run_id = excluded.run_id, "
                "started = excluded.started, finished = excluded.finished, "
                "result = excluded.result, summary = excluded.summary, "
                "counts = excluded.counts, lag = excluded.lag, "
                "last_success = excluded.last_success",
                (
                    self.shop,
                    run.flow,
                    run.run_id,
                    run.started.astimezone(UTC),
                    run.finished.astimezone(UTC),
                    run.result,
                    run.summary,
                    json.dumps(dict(run.counts), sort_keys=True),
                    run.lag,
                    None if last_success is None else last_success.astimezone(UTC),
                ),
            )
        return attrs.evolve(run, last_success=last_success)

    def runs(self) -> dict[str, RunRecord]:
        """The last recorded run of each flow, by flow name."""
        rows = self._all(
            "SELECT flow, run_id, started, finished, result, summary, counts, lag, last_success "
            "FROM bexvendre_runs WHERE shop = %s ORDER BY flow",
            (self.shop,),
        )
        return {
            row[0]: RunRecord(
                flow=row[0],
                run_id=row[1],
                started=_utc(row[2]),
                finished=_utc(row[3]),
                result=row[4],
                summary=row[5],
                counts=json.loads(row[6]),
                lag=row[7],
                last_success=None if row[8] is None else _utc(row[8]),
            )
            for row in rows
        }

    # --- orders -----------------------------------------------------------------------------

    _ORDER_COLUMNS = "order_id, content_hash, state, payload, errors, updated_at"

    def get_order(self, order_id: int) -> OrderRecord | None:
        """The record of a Vendre order, if seen."""
        row = self._one(
            f"SELECT {self._ORDER_COLUMNS} FROM bexvendre_orders "  # noqa: S608
            "WHERE shop = %s AND order_id = %s",
            (self.shop, order_id),
        )
        return None if row is None else _order(row)

    def put_order(self, record: OrderRecord) -> None:
        """Insert or replace an order's record, committed before returning."""
        self._write(
            f"INSERT INTO bexvendre_orders (shop, {self._ORDER_COLUMNS}) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (shop, order_id) DO UPDATE SET "
            "content_hash = excluded.content_hash, state = excluded.state, "
            "payload = excluded.payload, errors = excluded.errors, "
            "updated_at = excluded.updated_at",
            (
                self.shop,
                record.order_id,
                record.content_hash,
                record.state,
                record.payload,
                json.dumps(list(record.errors), ensure_ascii=False),
                record.updated_at.astimezone(UTC),
            ),
        )

    def orders(self, state: OrderState | None = None) -> list[OrderRecord]:
        """Every order record, or those in one state, by order id."""
        query = f"SELECT {self._ORDER_COLUMNS} FROM bexvendre_orders WHERE shop = %s"  # noqa: S608
        args: tuple[Any, ...] = (self.shop,)
        if state is not None:
            query += " AND state = %s"
            args = (self.shop, state)
        return [_order(row) for row in self._all(query + " ORDER BY order_id", args)]

    def claim_order(self, order_id: int, worker: str, ttl: float) -> bool:
        """Claim an order for ``worker`` for ``ttl`` seconds; whether ``worker`` holds it now.

        One ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` on the server's clock: taken when
        free, renewed when ``worker`` holds it, taken over when another worker's claim
        expired; refused while another worker's claim is live.
        """
        return (
            self._write(
                "INSERT INTO bexvendre_order_claims (shop, order_id, worker, expires_at) "
                "VALUES (%s, %s, %s, clock_timestamp() + make_interval(secs => %s)) "
                "ON CONFLICT (shop, order_id) DO UPDATE SET worker = excluded.worker, "
                "expires_at = excluded.expires_at "
                "WHERE bexvendre_order_claims.worker = excluded.worker "
                "OR bexvendre_order_claims.expires_at < clock_timestamp()",
                (self.shop, order_id, worker, float(ttl)),
            )
            > 0
        )

    def release_order(self, order_id: int, worker: str) -> bool:
        """Give up ``worker``'s claim on an order; whether it held one."""
        return (
            self._write(
                "DELETE FROM bexvendre_order_claims "
                "WHERE shop = %s AND order_id = %s AND worker = %s",
                (self.shop, order_id, worker),
            )
            > 0
        )

    # --- orders held back by the go-live controls -------------------------------------------

    _HELD_COLUMNS = "order_id, reason, content_hash, status, placed_at, updated_at"

    def get_held(self, order_id: int) -> HeldOrder | None:
        """The hold on an order, if any."""
        row = self._one(
            f"SELECT {self._HELD_COLUMNS} FROM bexvendre_held_orders "  # noqa: S608
            "WHERE shop = %s AND order_id = %s",
            (self.shop, order_id),
        )
        return None if row is None else _held(row)

    def held_orders(self, reason: HeldReason | None = None) -> list[HeldOrder]:
        """Every held order, or those held for one reason, by order id."""
        query = f"SELECT {self._HELD_COLUMNS} FROM bexvendre_held_orders WHERE shop = %s"  # noqa: S608
        args: tuple[Any, ...] = (self.shop,)
        if reason is not None:
            query += " AND reason = %s"
            args = (self.shop, reason)
        return [_held(row) for row in self._all(query + " ORDER BY order_id", args)]

    def put_held(self, records: Iterable[HeldOrder]) -> None:
        """Insert or replace holds in one transaction."""
        rows = [
            (
                self.shop,
                r.order_id,
                r.reason,
                r.content_hash,
                r.status,
                None if r.placed_at is None else r.placed_at.astimezone(UTC),
                r.updated_at.astimezone(UTC),
            )
            for r in records
        ]
        with self._mutex, self._db.transaction(), self._db.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO bexvendre_held_orders (shop, {self._HELD_COLUMNS}) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (shop, order_id) DO UPDATE SET reason = excluded.reason, "
                "content_hash = excluded.content_hash, status = excluded.status, "
                "placed_at = excluded.placed_at, updated_at = excluded.updated_at",
                rows,
            )

    def release_held(self, order_id: int) -> bool:
        """Forget an order's hold; whether there was one."""
        return (
            self._write(
                "DELETE FROM bexvendre_held_orders WHERE shop = %s AND order_id = %s",
                (self.shop, order_id),
            )
            > 0
        )

    # --- what was pushed --------------------------------------------------------------------

    def get_pushed(self, kind: str, key: str) -> str | None:
        """The hash last pushed for ``key``."""
        row = self._one(
            "SELECT content_hash FROM bexvendre_pushed WHERE shop = %s AND kind = %s AND key = %s",
            (self.shop, kind, key),
        )
        return None if row is None else str(row[0])

    def set_pushed(self, kind: str, key: str, content_hash: str) -> None:
        """Remember the hash pushed for ``key``."""
        self._write(
            "INSERT INTO bexvendre_pushed (shop, kind, key, content_hash) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (shop, kind, key) DO UPDATE SET content_hash = excluded.content_hash",
            (self.shop, kind, key, content_hash),
        )

    # --- Vendre's product ids ---------------------------------------------------------------

    def get_product_id(self, article_number: str) -> int | None:
        """Vendre's product id for an article number, if the index has it."""
        row = self._one(
            "SELECT product_id FROM bexvendre_products WHERE shop = %s AND article_number = %s",
            (self.shop, article_number),
        )
        return None if row is None else int(row[0])

    def set_product_ids(self, ids: Mapping[str, int], *, complete: bool = False) -> None:
        """Remember product ids; with ``complete``, replace the whole index (refreshed now)."""
        with self._mutex, self._db.transaction(), self._db.cursor() as cursor:
            if complete:
                cursor.execute("DELETE FROM bexvendre_products WHERE shop = %s", (self.shop,))
            cursor.executemany(
                "INSERT INTO bexvendre_products (shop, article_number, product_id) "
                "VALUES (%s, %s, %s) ON CONFLICT (shop, article_number) "
                "DO UPDATE SET product_id = excluded.product_id",
                [(self.shop, number, product_id) for number, product_id in ids.items()],
            )
            if complete:
                cursor.execute(
                    "INSERT INTO bexvendre_shop_meta (shop, key, value) "
                    "VALUES (%s, 'product_index', %s) "
                    "ON CONFLICT (shop, key) DO UPDATE SET value = excluded.value",
                    (self.shop, datetime.now(UTC).isoformat()),
                )

    def product_index_refreshed(self) -> datetime | None:
        """When the index was last built from a whole listing."""
        row = self._one(
            "SELECT value FROM bexvendre_shop_meta WHERE shop = %s AND key = 'product_index'",
            (self.shop,),
        )
        return None if row is None else datetime.fromisoformat(row[0])

    def mark_product_index_stale(self) -> None:
        """The next run lists the shop's products again before it creates any."""
        self._write(
            "DELETE FROM bexvendre_shop_meta WHERE shop = %s AND key = 'product_index'",
            (self.shop,),
        )

    # --- gift-card checkouts ----------------------------------------------------------------

    _CHECKOUT_COLUMNS = (
        "reference, card_number, amount, state, reservation_id, reserved_at, bex_reference"
    )

    def get_checkout(self, reference: str) -> Checkout | None:
        """A gift-card checkout by reference."""
        row = self._one(
            f"SELECT {self._CHECKOUT_COLUMNS} FROM bexvendre_checkouts "  # noqa: S608
            "WHERE shop = %s AND reference = %s",
            (self.shop, reference),
        )
        return None if row is None else _checkout(row)

    def checkouts(self, state: CheckoutState) -> list[Checkout]:
        """The gift-card checkouts in ``state``, by reference."""
        rows = self._all(
            f"SELECT {self._CHECKOUT_COLUMNS} FROM bexvendre_checkouts "  # noqa: S608
            "WHERE shop = %s AND state = %s ORDER BY reference",
            (self.shop, state),
        )
        return [_checkout(row) for row in rows]

    def put_checkout(self, checkout: Checkout) -> None:
        """Insert or replace a gift-card checkout."""
        self._write(
            f"INSERT INTO bexvendre_checkouts (shop, {self._CHECKOUT_COLUMNS}) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (shop, reference) DO UPDATE SET "
            "card_number = excluded.card_number, amount = excluded.amount, "
            "state = excluded.state, reservation_id = excluded.reservation_id, "
            "reserved_at = excluded.reserved_at, bex_reference = excluded.bex_reference",
            (
                self.shop,
                checkout.reference,
                checkout.card_number,
                checkout.amount,
                checkout.state,
                checkout.reservation_id,
                checkout.reserved_at,
                checkout.bex_reference,
            ),
        )

    # --- webhook hints ----------------------------------------------------------------------

    def add_hint(self, order_id: int, event: str, received_at: datetime | None = None) -> Hint:
        """Record that a webhook named an order, committed before returning."""
        when = (received_at or datetime.now(UTC)).astimezone(UTC)
        with self._mutex, self._db.transaction():
            row = self._db.execute(
                "INSERT INTO bexvendre_hints (shop, order_id, event, received_at, seen) "
                "VALUES (%s, %s, %s, %s, 1) ON CONFLICT (shop, order_id) DO UPDATE SET "
                "event = excluded.event, received_at = excluded.received_at, "
                "seen = bexvendre_hints.seen + 1 "
                "RETURNING order_id, event, received_at, seen",
                (self.shop, order_id, event, when),
            ).fetchone()
        assert row is not None  # noqa: S101 - RETURNING always returns the row
        return _hint(row)

    def pending_hints(self) -> list[Hint]:
        """The hints not yet cleared, oldest first."""
        rows = self._all(
            "SELECT order_id, event, received_at, seen FROM bexvendre_hints WHERE shop = %s "
            "ORDER BY received_at, order_id",
            (self.shop,),
        )
        return [_hint(row) for row in rows]

    def clear_hint(self, order_id: int, *, seen: int | None = None) -> bool:
        """Forget an order's hint unless more than ``seen`` webhooks named it."""
        return (
            self._write(
                "DELETE FROM bexvendre_hints WHERE shop = %s AND order_id = %s "
                "AND (%s::integer IS NULL OR seen <= %s::integer)",
                (self.shop, order_id, seen, seen),
            )
            > 0
        )

    # --- quarantined records of the other flows -----------------------------------------------

    _QUARANTINE_COLUMNS = "flow, entity, payload, errors, reason, updated_at"

    def put_quarantined(self, record: QuarantineRecord) -> None:
        """Insert or replace a quarantined record, committed before returning."""
        self._write(
            f"INSERT INTO bexvendre_quarantine (shop, {self._QUARANTINE_COLUMNS}) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (shop, flow, entity) DO UPDATE SET "
            "payload = excluded.payload, errors = excluded.errors, "
            "reason = excluded.reason, updated_at = excluded.updated_at",
            (
                self.shop,
                record.flow,
                record.entity,
                record.payload,
                json.dumps(list(record.errors), ensure_ascii=False),
                record.reason,
                record.updated_at.astimezone(UTC),
            ),
        )

    def get_quarantined(self, flow: str, entity: str) -> QuarantineRecord | None:
        """A quarantined record by flow and entity."""
        row = self._one(
            f"SELECT {self._QUARANTINE_COLUMNS} FROM bexvendre_quarantine "  # noqa: S608
            "WHERE shop = %s AND flow = %s AND entity = %s",
            (self.shop, flow, entity),
        )
        return None if row is None else _quarantined(row)

    def quarantined(self, flow: str | None = None) -> list[QuarantineRecord]:
        """The quarantined records (of one flow), by flow and entity."""
        query = f"SELECT {self._QUARANTINE_COLUMNS} FROM bexvendre_quarantine WHERE shop = %s"  # noqa: S608
        args: tuple[Any, ...] = (self.shop,)
        if flow is not None:
            query += " AND flow = %s"
            args = (self.shop, flow)
        return [_quarantined(row) for row in self._all(query + " ORDER BY flow, entity", args)]

    def drop_quarantined(self, flow: str, entity: str) -> bool:
        """Forget a quarantined record; whether there was one."""
        return (
            self._write(
                "DELETE FROM bexvendre_quarantine WHERE shop = %s AND flow = %s AND entity = %s",
                (self.shop, flow, entity),
            )
            > 0
        )


def _fetch_bool(connection: psycopg.Connection[Any], query: str, key: int) -> bool:
    row = connection.execute(query, (key,)).fetchone()
    return bool(row is not None and row[0])


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _order(row: tuple[Any, ...]) -> OrderRecord:
    return OrderRecord(
        order_id=row[0],
        content_hash=row[1],
        state=row[2],
        payload=row[3],
        errors=tuple(json.loads(row[4])),
        updated_at=_utc(row[5]),
    )


def _held(row: tuple[Any, ...]) -> HeldOrder:
    return HeldOrder(
        order_id=row[0],
        reason=row[1],
        content_hash=row[2],
        status=row[3],
        placed_at=None if row[4] is None else _utc(row[4]),
        updated_at=_utc(row[5]),
    )


def _hint(row: tuple[Any, ...]) -> Hint:
    return Hint(order_id=row[0], event=row[1], received_at=_utc(row[2]), seen=row[3])


def _checkout(row: tuple[Any, ...]) -> Checkout:
    return Checkout(
        reference=row[0],
        card_number=row[1],
        amount=row[2],
        state=row[3],
        reservation_id=row[4],
        reserved_at=None if row[5] is None else _utc(row[5]),
        bex_reference=row[6],
    )


def _quarantined(row: tuple[Any, ...]) -> QuarantineRecord:
    return QuarantineRecord(
        flow=row[0],
        entity=row[1],
        payload=row[2],
        errors=tuple(json.loads(row[3])),
        reason=row[4],
        updated_at=_utc(row[5]),
    )
