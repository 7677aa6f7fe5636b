"""The state stores' promises: the conformance suite on SqliteState, and what it adds."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from bexvendre_mapping.sync import (
    CheckoutStore,
    LockStore,
    OrderStore,
    PushStore,
    QuarantineStore,
    SqliteState,
    StateStore,
)
from bexvendre_mapping.testing.state_conformance import (
    CHECKS,
    StateFactory,
    StateStoreConformance,
    check_state_store,
)


class TestSqliteState(StateStoreConformance):
    """Every check of the conformance suite on a state file."""

    @pytest.fixture
    def state_factory(self, tmp_path: Path) -> StateFactory:
        return lambda: SqliteState(tmp_path / "state.sqlite3", lock_timeout=0.5)


def test_check_state_store_runs_every_check_on_a_fresh_state(tmp_path: Path) -> None:
    """The function form makes a new state per check."""
    made: list[Path] = []

    def make_factory() -> StateFactory:
        path = tmp_path / f"state-{len(made)}.sqlite3"
        made.append(path)
        return lambda: SqliteState(path, lock_timeout=0.5)

    check_state_store(make_factory)
    assert len(made) == len(CHECKS)


def test_a_store_that_breaks_a_promise_fails_its_check(tmp_path: Path) -> None:
    """A store whose hints never count repeats is caught."""

    class Forgetful(SqliteState):
        def add_hint(self, order_id, event, received_at=None):  # type: ignore[no-untyped-def]
            self.clear_hint(order_id)
            return super().add_hint(order_id, event, received_at)

    with pytest.raises(AssertionError):
        CHECKS["hints"](lambda: Forgetful(tmp_path / "state.sqlite3", lock_timeout=0.5))


def test_a_store_whose_lock_excludes_nobody_fails_its_check(tmp_path: Path) -> None:
    import contextlib  # noqa: PLC0415

    class Open(SqliteState):
        def lock(self, flow: str = "sync"):  # type: ignore[no-untyped-def, override]
            return contextlib.nullcontext()

    with pytest.raises(AssertionError, match="two handles"):
        CHECKS["locks"](lambda: Open(tmp_path / "state.sqlite3", lock_timeout=0.5))


def test_the_roles_make_up_the_store() -> None:
    """StateStore is the union of the role protocols, and SqliteState plays every role."""
    for role in (OrderStore, PushStore, CheckoutStore, LockStore, QuarantineStore):
        assert role in StateStore.__mro__
    store: StateStore = SqliteState(":memory:")
    orders: OrderStore = store
    assert orders is store


def test_the_testing_package_imports_the_suite_lazily() -> None:
    """Importing bexvendre_mapping.testing loads neither pytest nor psycopg."""
    code = (
        "import sys, bexvendre_mapping.testing, bexvendre_mapping.sync; "
        "print('pytest' in sys.modules, 'psycopg' in sys.modules)"
    )
    out = subprocess.run(  # noqa: S603 - this Python
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]
    testing = importlib.import_module("bexvendre_mapping.testing")
    assert testing.state_conformance.check_state_store is check_state_store


def test_a_claim_survives_reopening_and_is_per_order(tmp_path: Path) -> None:
    """Claims are durable: a reopened file still refuses another worker."""
    path = tmp_path / "state.sqlite3"
    with SqliteState(path) as first:
        assert first.claim_order(1, "a", 60)
    with SqliteState(path) as again:
        assert not again.claim_order(1, "b", 60)
        assert again.claim_order(2, "b", 60)
