"""A real PostgreSQL server for the tests: the one CI started, or a throwaway one of our own.

``BEXVENDRE_TEST_POSTGRES_DSN`` names a server to use (``.ci/run`` starts one and sets it).
Without it, :func:`start_server` starts a server of its own in a temporary folder: ``initdb``
and ``pg_ctl`` from Debian's packages (``/usr/lib/postgresql/*/bin``) or the ``PATH``, as the
``postgres`` user when the tests run as root (the server refuses root), listening only on a
Unix socket in that folder. It is stopped when the tests end. No PostgreSQL binaries: the
tests that need a server are skipped, saying why.

Each test gets a schema of its own (:func:`fresh_schema`), so tests never see each other's
tables, and its stores a shop name of their own.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

ENV = "BEXVENDRE_TEST_POSTGRES_DSN"


def _binaries() -> Path | None:
    """The folder with initdb and pg_ctl, newest version first; ``None`` if there is none."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).parent))
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *command]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(command)]  # pragma: no cover


def start_server() -> tuple[str, Callable[[], None]]:
    """Start a throwaway server; its connection string, and what stops it (also at exit).

    Raises:
        FileNotFoundError: there are no PostgreSQL binaries here.
        subprocess.CalledProcessError: the server would not start.
    """
    binaries = _binaries()
    if binaries is None:
        msg = "no PostgreSQL binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or PATH"
        raise FileNotFoundError(msg)
    home = Path(tempfile.mkdtemp(prefix="bvpg"))  # short: a socket path is at most 107 bytes
    data = home / "data"
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    home.chmod(0o755)
    subprocess.run(  # noqa: S603 - our own command line
        _as_server_user(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=True,
    )
    options = f"-k {home} -c listen_addresses='' -c fsync=off -c max_connections=200"
    subprocess.run(  # noqa: S603
        _as_server_user(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(home / "log"),
                "-w",
                "-o",
                options,
                "start",
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=True,
    )

    def stop() -> None:
        subprocess.run(  # noqa: S603
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(home, ignore_errors=True)

    atexit.register(stop)
    return f"host={home} user=postgres dbname=postgres", stop


def fresh_schema(dsn: str) -> str:
    """A new empty schema on the server; a connection string whose tables live in it."""
    import psycopg  # noqa: PLC0415 - only the PostgreSQL tests need it

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {name}")
    return f"{dsn} options=-csearch_path={name}"


def as_url(dsn: str) -> str:
    """A ``key=value`` connection string as the ``postgresql://`` URL bexvendre.toml takes."""
    from urllib.parse import quote, urlencode  # noqa: PLC0415

    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    user = params.pop("user", "")
    dbname = params.pop("dbname", "")
    auth = f"{quote(user)}@" if user else ""
    return f"postgresql://{auth}/{quote(dbname)}?{urlencode(params)}"
