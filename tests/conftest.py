"""Shared test set-up: Hypothesis profiles and the example data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from bexvendre_mapping import Lookups

if TYPE_CHECKING:  # the testing and http extras: imported where a fixture is used
    from bexvendre_mapping.sync import SqliteState
    from bexvendre_mapping.testing.sandbox import Sandbox

# A quick profile for local runs, a thorough one for CI (HYPOTHESIS_PROFILE=ci).
settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# Type-checked by mypy, never run.
collect_ignore = ["typing"]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="session")
def examples() -> Path:
    """The folder of shipped example documents."""
    return EXAMPLES


@pytest.fixture(scope="session")
def lookups() -> Lookups:
    """The example shop's code tables."""
    return Lookups.from_toml(EXAMPLES / "lookups.toml")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """Both APIs on loopback, empty."""
    from bexvendre_mapping.testing.sandbox import Sandbox  # noqa: PLC0415 - an extra

    with Sandbox() as running:
        yield running


@pytest.fixture
def state(tmp_path: Path) -> Iterator[SqliteState]:
    """A fresh state file, whose lock another holder waits for 0.2 s at most."""
    from bexvendre_mapping.sync import SqliteState  # noqa: PLC0415 - an extra

    with SqliteState(tmp_path / "state.sqlite3", lock_timeout=0.2) as store:
        yield store


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server: ``$BEXVENDRE_TEST_POSTGRES_DSN``, or a throwaway one.

    Skips (saying why) only when psycopg or the PostgreSQL binaries are missing.
    """
    from tests import postgres_support  # noqa: PLC0415 - only the PostgreSQL tests need it

    pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
    if os.environ.get(postgres_support.ENV):
        yield os.environ[postgres_support.ENV]
        return
    try:
        dsn, stop = postgres_support.start_server()
    except FileNotFoundError as exc:
        pytest.skip(f"no PostgreSQL server: {exc}; set {postgres_support.ENV} to use one")
    try:
        yield dsn
    finally:
        stop()


@pytest.fixture
def postgres_dsn(postgres_server: str) -> str:
    """A connection string to a new empty schema of the test server (one per test)."""
    from tests import postgres_support  # noqa: PLC0415

    return postgres_support.fresh_schema(postgres_server)
