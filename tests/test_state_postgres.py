"""PostgresState against a real server: the conformance suite, shops, migrations, claims.

The server is ``$BEXVENDRE_TEST_POSTGRES_DSN`` (``.ci/run`` starts one) or a throwaway one
these tests start (see postgres_support.py); each test has a schema of its own.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bexvendre_mapping.sync import (
    POSTGRES_SCHEMA_VERSION,
    LockedError,
    OrderRecord,
    PostgresState,
    SyncConfig,
    open_state,
)
from bexvendre_mapping.sync._postgres import _MIGRATIONS, _redacted
from bexvendre_mapping.testing.state_conformance import StateFactory, StateStoreConformance

psycopg = pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")


class TestPostgresState(StateStoreConformance):
    """Every check of the conformance suite on a PostgreSQL database."""

    @pytest.fixture
    def state_factory(self, postgres_dsn: str) -> StateFactory:
        return lambda: PostgresState(postgres_dsn, shop="conformance", lock_timeout=0.5)


def _order(order_id: int) -> OrderRecord:
    return OrderRecord(
        order_id=order_id,
        content_hash="h",
        state="created",
        payload="{}",
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_shops_share_a_database_and_never_see_each_other(postgres_dsn: str) -> None:
    with (
        PostgresState(postgres_dsn, shop="north", lock_timeout=0.3) as north,
        PostgresState(postgres_dsn, shop="south", lock_timeout=0.3) as south,
    ):
        north.put_order(_order(1))
        north.set_cursor("orders", datetime(2026, 1, 1, tzinfo=UTC))
        north.add_hint(1, "new_order")
        north.set_product_ids({"A1": 1}, complete=True)
        assert north.get_order(1) == _order(1)
        assert south.get_order(1) is None
        assert south.orders() == []
        assert south.get_cursor("orders") is None
        assert south.pending_hints() == []
        assert south.get_product_id("A1") is None
        assert south.product_index_refreshed() is None
        # Claims and locks are per shop too.
        assert north.claim_order(1, "w1", 60)
        assert south.claim_order(1, "w2", 60)
        with north.lock("orders"), south.lock("orders"):
            pass


def test_a_database_of_an_older_version_is_migrated_on_open(postgres_dsn: str) -> None:
    """A database at version 1 (before claims) gets the claims table, its rows kept."""
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute("CREATE TABLE bexvendre_meta (key TEXT PRIMARY KEY, value TEXT)")
        for statement in _MIGRATIONS[0]:
            connection.execute(statement)
        connection.execute("INSERT INTO bexvendre_meta VALUES ('schema', '1')")
        connection.execute(
            "INSERT INTO bexvendre_orders VALUES ('default', 5, 'h', 'created', '{}', '[]', now())"
        )
    with PostgresState(postgres_dsn) as state:
        assert state.schema_version() == POSTGRES_SCHEMA_VERSION == 2
        assert state.get_order(5) is not None
        assert state.claim_order(5, "w", 60)
    with PostgresState(postgres_dsn) as again:  # opening a current database changes nothing
        assert again.schema_version() == 2
        assert not again.claim_order(5, "other", 60)


def test_many_processes_opening_a_new_database_at_once_migrate_it_once(
    postgres_dsn: str,
) -> None:
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            PostgresState(postgres_dsn).close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_newer_schema_is_refused(postgres_dsn: str) -> None:
    PostgresState(postgres_dsn).close()
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute("UPDATE bexvendre_meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(RuntimeError, match="has state schema 99; this version"):
        PostgresState(postgres_dsn)


def test_an_unreachable_server_is_an_os_error_without_the_password(tmp_path: Path) -> None:
    dsn = f"postgresql://someone:hunter2@/nowhere?host={tmp_path}"
    with pytest.raises(OSError, match="cannot open the state database") as caught:
        PostgresState(dsn, connect_timeout=1)
    assert "hunter2" not in str(caught.value)
    assert _redacted("host=x password=hunter2 user=u") == "host=x password=*** user=u"
    assert _redacted("postgres://u:p@h/db") == "postgres://u:***@h/db"


def test_a_broken_schema_is_an_os_error(postgres_dsn: str) -> None:
    """A table in the way of a migration: the open fails, naming the database."""
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute("CREATE TABLE bexvendre_cursors (x INTEGER)")
    with pytest.raises(OSError, match="already exists"):
        PostgresState(postgres_dsn)


def test_lock_names_and_shared_locks(postgres_dsn: str) -> None:
    """Shared holders share; an exclusive holder excludes them and they exclude it."""
    first = PostgresState(postgres_dsn, lock_timeout=0.2)
    second = PostgresState(postgres_dsn, lock_timeout=0.2)
    with pytest.raises(ValueError, match="a flow's name"):
        first.lock("no such/flow").__enter__()
    third = PostgresState(postgres_dsn, lock_timeout=0.2)
    with (
        first.lock("orders", shared=True),
        second.lock("orders", shared=True),
        pytest.raises(LockedError),
        third.lock("orders"),
    ):
        pass
    third.close()
    with first.lock("orders"), pytest.raises(LockedError, match="another orders run"):
        second.lock("orders", shared=True).__enter__()
    # Closing the store releases the locks it holds.
    held = first.lock("stock")
    held.__enter__()
    first.close()
    with second.lock("stock"):
        pass
    second.close()
    assert "shop='default'" in repr(second)


def test_a_lock_is_released_when_its_process_dies(postgres_dsn: str) -> None:
    """The server lets go of a killed process's advisory lock."""
    code = (
        "import sys, os, signal\n"
        "from bexvendre_mapping.sync import PostgresState\n"
        "state = PostgresState(sys.argv[1])\n"
        "state.lock('orders').__enter__()\n"
        "print('held', flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run(  # noqa: S603 - this Python
        [sys.executable, "-c", code, postgres_dsn], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "held"
    with PostgresState(postgres_dsn, lock_timeout=5) as state, state.lock("orders"):
        pass


def test_claims_from_threads_and_connections(postgres_dsn: str) -> None:
    """Four workers, each with its own connection, claim 50 orders: each once."""
    claimed: dict[str, list[int]] = {}

    def worker(name: str) -> None:
        with PostgresState(postgres_dsn) as state:
            claimed[name] = [n for n in range(50) if state.claim_order(n, name, 60)]

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = sorted(n for numbers in claimed.values() for n in numbers)
    assert every == list(range(50))


def test_open_state_follows_the_configuration(postgres_dsn: str, tmp_path: Path) -> None:
    from bexvendre_mapping import Lookups  # noqa: PLC0415

    config = SyncConfig(
        vendre_url="http://v",
        vendre_api_key="k",
        bex_api_key="k",
        bex_secret="s",  # noqa: S106 - not a secret
        lookups=Lookups(),
        state_path=tmp_path / "unused.sqlite3",
        state_url=postgres_dsn,
        shop="west",
    )
    with open_state(config) as state:
        assert isinstance(state, PostgresState)
        assert state.shop == "west"
    assert not (tmp_path / "unused.sqlite3").exists()
