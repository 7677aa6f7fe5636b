"""The sync configuration file (``bexvendre.toml``): where the APIs, tables and state are.

```toml
lookups = "lookups.toml"                # code tables, relative to this file
state = "bexvendre-state.sqlite3"       # the SQLite state file
audit = "bexvendre-audit.jsonl"         # optional: one JSON line per record handled
overlap = "10m"                         # optional: how far back each run looks again
lock_timeout = "30s"                    # optional: how long to wait for a running sync

[vendre]
url = "https://shop.example.se/API/1/"
api_key = "..."                         # or the BEXVENDRE_VENDRE_API_KEY variable
auth = "x-authorization"                # or "bearer"

[bex]
url = "https://api.bexonline.com/api/"  # optional, this is the default
api_key = "..."                         # or BEXVENDRE_BEX_API_KEY
secret = "..."                          # or BEXVENDRE_BEX_SECRET
location = "HUVUDLAGER"                 # optional
```

Secrets may stay out of the file: an environment variable wins over the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs

from bexvendre_mapping._errors import LookupsError, Problem
from bexvendre_mapping._lookups import Lookups
from bexvendre_mapping.http import BEX_BASE_URL, BexClient, VendreClient

__all__ = [
    "SyncConfig",
    "parse_duration",
]

_DURATION = re.compile(r"\s*(\d+)\s*(s|m|h|d)\s*")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """``"30s"``, ``"5m"``, ``"1h"`` or ``"1d"`` as a timedelta.

    Raises:
        ValueError: not such a duration.

    >>> parse_duration("5m")
    datetime.timedelta(seconds=300)
    """
    match = _DURATION.fullmatch(text)
    if match is None:
        msg = f"expected a duration like '30s', '5m' or '1h', got {text!r}"
        raise ValueError(msg)
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


@attrs.frozen(kw_only=True)
class SyncConfig:
    """Everything a sync run needs, read from ``bexvendre.toml``."""

    vendre_url: str
    vendre_api_key: str = attrs.field(repr=False)
    vendre_auth: str = "x-authorization"
    bex_url: str = BEX_BASE_URL
    bex_api_key: str = attrs.field(repr=False)
    bex_secret: str = attrs.field(repr=False)
    bex_location: str | None = None
    lookups: Lookups
    state_path: Path
    audit_path: Path | None = None
    overlap: timedelta = timedelta(minutes=10)
    lock_timeout: timedelta = timedelta(seconds=30)

    @classmethod
    def from_toml(cls, path: str | Path, environ: Mapping[str, str] | None = None) -> SyncConfig:
        """Read the configuration; secrets from the environment win over the file.

        Raises:
            LookupsError: the file, its code tables or a setting is missing or wrong; every
                problem at once, with its path.
        """
        environ = os.environ if environ is None else environ
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise LookupsError(f"cannot read {str(path)!r}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise LookupsError(f"{str(path)!r} is not valid TOML: {exc}") from None
        return _read(data, path.parent, environ)


def _read(data: dict[str, Any], base: Path, environ: Mapping[str, str]) -> SyncConfig:
    problems: list[Problem] = []

    def need(section: str, key: str, variable: str | None = None) -> str:
        value = environ.get(variable) if variable else None
        if value is None:
            value = data.get(section, {}).get(key) if section else data.get(key)
        if not isinstance(value, str) or not value:
            where = f"$.{section}.{key}" if section else f"$.{key}"
            hint = f" (or set {variable})" if variable else ""
            problems.append(Problem(where, f"required{hint}"))
            return ""
        return value

    vendre_url = need("vendre", "url")
    vendre_key = need("vendre", "api_key", "BEXVENDRE_VENDRE_API_KEY")
    bex_key = need("bex", "api_key", "BEXVENDRE_BEX_API_KEY")
    bex_secret = need("bex", "secret", "BEXVENDRE_BEX_SECRET")
    lookups_file = need("", "lookups")
    state_file = data.get("state", "bexvendre-state.sqlite3")
    durations: dict[str, timedelta] = {}
    for key, default in (("overlap", "10m"), ("lock_timeout", "30s")):
        try:
            durations[key] = parse_duration(str(data.get(key, default)))
        except ValueError as exc:
            problems.append(Problem(f"$.{key}", str(exc)))
    lookups = Lookups()
    if lookups_file:
        try:
            lookups = Lookups.from_toml(base / lookups_file)
        except LookupsError as exc:
            problems += [Problem(f"$.lookups: {p.path}", p.message) for p in exc.problems]
    if problems:
        raise LookupsError(problems)
    audit = data.get("audit")
    return SyncConfig(
        vendre_url=vendre_url,
        vendre_api_key=vendre_key,
        vendre_auth=str(data.get("vendre", {}).get("auth", "x-authorization")),
        bex_url=str(data.get("bex", {}).get("url", BEX_BASE_URL)),
        bex_api_key=bex_key,
        bex_secret=bex_secret,
        bex_location=data.get("bex", {}).get("location"),
        lookups=lookups,
        state_path=base / str(state_file),
        audit_path=None if audit is None else base / str(audit),
        overlap=durations["overlap"],
        lock_timeout=durations["lock_timeout"],
    )


def make_clients(config: SyncConfig) -> tuple[VendreClient, BexClient]:
    """The two API clients of a configuration."""
    zone = config.lookups.settings.time_zone
    vendre_client = VendreClient(
        config.vendre_url,
        config.vendre_api_key,
        auth=config.vendre_auth,  # type: ignore[arg-type]
        time_zone=zone,
    )
    bex_client = BexClient(
        config.bex_url,
        config.bex_api_key,
        config.bex_secret,
        location=config.bex_location,
        time_zone=zone,
    )
    return vendre_client, bex_client
