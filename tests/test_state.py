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


def test_workers_starting_together_on_a_new_state_file_all_open_it(tmp_path: Path) -> None:
    """Regression: SQLite refuses a new file's switch to write-ahead logging at once
    ("database is locked", no busy wait) while another connection sets the same file up,
    so one of several workers started together failed to open the state. The race is
    rare per round: many rounds, each on a new file."""
    for round_number in range(60):
        path = tmp_path / f"state-{round_number}.sqlite3"
        CHECKS["first_opens"](lambda path=path: SqliteState(path, lock_timeout=5))


def test_the_roles_make_up_the_store() -> None:
    """StateStore is the union of the role protocols, and SqliteState plays every role."""
    for role in (OrderStore, PushStore, CheckoutStore, LockStore, QuarantineStore):
        assert role in StateStore.__mro__
    with SqliteState(":memory:") as sqlite:  # closed: Python 3.13 warns of one left open
        store: StateStore = sqlite
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


def _config(folder: Path, state: str, extra: str = "") -> Path:
    path = folder / "bexvendre.toml"
    (folder / "lookups.toml").write_text(
        (Path(__file__).parent.parent / "examples" / "lookups.toml").read_text("utf-8"), "utf-8"
    )
    path.write_text(
        f'lookups = "lookups.toml"\nstate = "{state}"\n{extra}'
        '[vendre]\nurl = "http://127.0.0.1:9/"\napi_key = "k"\n'
        '[bex]\napi_key = "k"\nsecret = "s"\n',
        "utf-8",
    )
    return path


def test_the_configuration_names_a_file_or_a_postgresql_database(tmp_path: Path) -> None:
    from bexvendre_mapping.sync import SyncConfig  # noqa: PLC0415

    file_config = SyncConfig.from_toml(_config(tmp_path, "state.sqlite3"), environ={})
    assert (file_config.state_url, file_config.shop) == (None, "default")
    assert file_config.state_path == tmp_path / "state.sqlite3"
    for scheme in ("postgresql", "postgres"):
        url = f"{scheme}://bexvendre:hunter2@db.internal/bexvendre"
        config = SyncConfig.from_toml(_config(tmp_path, url, 'shop = "north"\n'), environ={})
        assert (config.state_url, config.shop) == (url, "north")
        assert "hunter2" not in repr(config)


def test_an_unreachable_database_is_a_state_problem_without_its_password(
    tmp_path: Path,
) -> None:
    pytest.importorskip("psycopg")
    from bexvendre_mapping import LookupsError  # noqa: PLC0415
    from bexvendre_mapping.sync import SyncConfig, open_state  # noqa: PLC0415

    url = f"postgresql://someone:hunter2@/nowhere?host={tmp_path}&connect_timeout=1"
    config = SyncConfig.from_toml(_config(tmp_path, url), environ={})
    with pytest.raises(LookupsError) as caught:
        open_state(config)
    (problem,) = caught.value.problems
    assert problem.path == "$.state"
    assert "cannot open the state database" in problem.message
    assert "hunter2" not in str(caught.value)


def test_a_postgresql_state_without_the_extra_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bexvendre_mapping import LookupsError  # noqa: PLC0415
    from bexvendre_mapping.sync import PostgresState, SyncConfig, open_state  # noqa: PLC0415

    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg raises ImportError
    config = SyncConfig.from_toml(_config(tmp_path, "postgresql://db/x"), environ={})
    with pytest.raises(LookupsError, match=r'pip install "bexvendre-mapping\[postgres\]"'):
        open_state(config)
    with pytest.raises(ImportError, match="PostgresState needs psycopg 3"):
        PostgresState("postgresql://db/x")
