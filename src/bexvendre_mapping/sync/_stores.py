"""Opening the state store a configuration names: a SQLite file or a PostgreSQL database."""

from __future__ import annotations

from bexvendre_mapping._errors import LookupsError, Problem
from bexvendre_mapping.sync._config import SyncConfig
from bexvendre_mapping.sync._postgres import PostgresState
from bexvendre_mapping.sync._state import SqliteState

__all__ = ["open_state", "open_store"]


def open_state(
    config: SyncConfig, *, create: bool = True, lock_timeout: float | None = None
) -> SqliteState | PostgresState:
    """Open the state of ``bexvendre.toml``: its ``state`` file, or its PostgreSQL database.

    Args:
        config: the configuration (``state``, ``shop`` and ``lock_timeout``).
        create: for a file, whether to create it when missing (see :class:`SqliteState`);
            a PostgreSQL database always gets its tables.
        lock_timeout: how long a run waits for its flow's lock, in seconds (the
            configuration's ``lock_timeout`` by default).

    Raises:
        LookupsError: the state cannot be opened (``$.state``, naming the file or database
            but never its password), has a newer schema, or names PostgreSQL while the
            ``postgres`` extra is not installed.
    """
    try:
        return open_store(config, create=create, lock_timeout=lock_timeout)
    except (OSError, RuntimeError, ImportError) as exc:
        raise LookupsError([Problem("$.state", str(exc))]) from None


def open_store(
    config: SyncConfig, *, create: bool = True, lock_timeout: float | None = None
) -> SqliteState | PostgresState:
    """:func:`open_state`, its errors as the store raises them (for a flow's thread).

    Raises:
        OSError: the file or database cannot be opened.
        RuntimeError: it has a newer schema.
        ImportError: it is PostgreSQL and psycopg is not installed.
    """
    wait = config.lock_timeout.total_seconds() if lock_timeout is None else lock_timeout
    if config.state_url is not None:
        return PostgresState(config.state_url, shop=config.shop, lock_timeout=wait)
    return SqliteState(config.state_path, lock_timeout=wait, create=create)
