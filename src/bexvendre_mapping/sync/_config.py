"""The sync configuration file (``bexvendre.toml``): where the APIs, tables and state are.

```toml
lookups = "lookups.toml"                # code tables, relative to this file
state = "bexvendre-state.sqlite3"       # the SQLite state file, or "postgresql://..."
shop = "default"                        # optional: this shop's rows in a shared PostgreSQL
audit = "bexvendre-audit.jsonl"         # optional: one JSON line per record handled
overlap = "10m"                         # optional: how far back each run looks again
lock_timeout = "30s"                    # optional: how long to wait for a running sync
since = 2026-01-01                      # optional: no order placed before is imported
import_statuses = [2, 3]                # optional: the Vendre status ids imported
wait_limit = "30d"                      # optional: how long an order in another status waits
reservation_ttl = "2h"                  # optional: how long a gift-card reservation is held
max_in_flight = 8                       # optional: records pushed at once (default 1)
worker = "host-1"                       # optional: import orders beside other workers
claim_ttl = "10m"                       # optional: how long a worker's claim on an order lasts

[vendre]
url = "https://shop.example.se/API/1/"
api_key = "..."                         # or the BEXVENDRE_VENDRE_API_KEY variable
auth = "x-authorization"                # or "bearer"
max_rate = 10                           # optional: at most 10 requests a second to Vendre

[bex]
url = "https://api.bexonline.com/api/"  # optional, this is the default
api_key = "..."                         # or BEXVENDRE_BEX_API_KEY
secret = "..."                          # or BEXVENDRE_BEX_SECRET
location = "HUVUDLAGER"                 # optional
max_rate = 20                           # optional: at most 20 requests a second to Bex

[webhook]                               # optional: for `bexvendre serve`
secret = "..."                          # or BEXVENDRE_WEBHOOK_SECRET; 16 characters or more
path = "/webhook"                       # optional, this is the default

[schedule]                              # optional: for `bexvendre run`, per flow
orders = "1m"
stock = "30s"
giftcards = "5m"                        # the sweep of expired gift-card reservations
```

Secrets may stay out of the file: an environment variable wins over the file. So does
``BEXVENDRE_WORKER`` over ``worker``, so that several workers share one file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from bexvendre_mapping._errors import LookupsError, Problem
from bexvendre_mapping._lookups import Lookups
from bexvendre_mapping._text import closest, has_control_character, show
from bexvendre_mapping._wire import child_path
from bexvendre_mapping.http import BEX_BASE_URL, BexClient, VendreClient
from bexvendre_mapping.http._transport import base_url_problem

__all__ = [
    "FLOW_NAMES",
    "SCHEDULED_JOBS",
    "MAX_LOCK_TIMEOUT",
    "MAX_OVERLAP",
    "MAX_SCHEDULE",
    "MIN_SCHEDULE",
    "SyncConfig",
    "load_config",
    "make_clients",
    "order_options",
    "parse_duration",
    "push_options",
    "with_worker",
]

_DURATION = re.compile(r"\s*(\d+)\s*(s|m|h|d)\s*")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

#: The longest ``overlap``: a year back is already a full look again.
MAX_OVERLAP = timedelta(days=365)
#: The longest ``lock_timeout``: SQLite counts its busy timeout in milliseconds in 32 bits.
MAX_LOCK_TIMEOUT = timedelta(days=24)
#: The shortest and the longest interval of a flow in ``[schedule]``.
MIN_SCHEDULE = timedelta(seconds=1)
MAX_SCHEDULE = timedelta(days=365)
#: The longest ``wait_limit``.
MAX_WAIT_LIMIT = timedelta(days=3650)
#: The longest ``reservation_ttl``.
MAX_RESERVATION_TTL = timedelta(days=365)
#: The shortest and the longest ``claim_ttl``.
MIN_CLAIM_TTL = timedelta(seconds=1)
MAX_CLAIM_TTL = timedelta(days=1)
#: The flows, as ``[schedule]`` and ``bexvendre sync`` name them.
FLOW_NAMES = ("orders", "products", "stock", "statuses")
#: What ``[schedule]`` may name: the flows, and ``giftcards`` (the sweep of reservations
#: older than ``reservation_ttl``, as ``bexvendre giftcards sweep`` does it).
SCHEDULED_JOBS = (*FLOW_NAMES, "giftcards")

#: The URL schemes of a PostgreSQL state (``state = "postgresql://..."``).
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")

_TOP_LEVEL = (
    "lookups",
    "state",
    "shop",
    "audit",
    "overlap",
    "lock_timeout",
    "since",
    "import_statuses",
    "wait_limit",
    "reservation_ttl",
    "max_in_flight",
    "worker",
    "claim_ttl",
    "vendre",
    "bex",
    "webhook",
    "schedule",
)
_SECTIONS = {
    "vendre": ("url", "api_key", "auth", "max_rate"),
    "bex": ("url", "api_key", "secret", "location", "max_rate"),
    "webhook": ("secret", "path"),
}
#: The most records a push may keep in flight at once (``max_in_flight``).
MAX_IN_FLIGHT = 64
#: The shortest webhook secret: it is all that stands between the URL and the state.
MIN_WEBHOOK_SECRET = 16
_AUTH = ("x-authorization", "bearer")


def parse_duration(text: str) -> timedelta:
    """``"30s"``, ``"5m"``, ``"1h"`` or ``"1d"`` as a timedelta.

    Raises:
        ValueError: not such a duration, or longer than a timedelta holds (999999999 days).

    >>> parse_duration("5m")
    datetime.timedelta(seconds=300)
    """
    match = _DURATION.fullmatch(text)
    if match is None:
        msg = f"expected a duration like '30s', '5m' or '1h', got {text!r}"
        raise ValueError(msg)
    try:
        return timedelta(**{_UNITS[match[2]]: int(match[1])})
    except (OverflowError, ValueError):  # ValueError: more digits than int() reads
        msg = f"the duration {show(text.strip())} is too long"
        raise ValueError(msg) from None


@attrs.frozen(kw_only=True)
class SyncConfig:
    """Everything a sync run needs, read from ``bexvendre.toml`` by :func:`load_config`.

    Attributes:
        vendre_url: the Vendre API's base URL (``[vendre] url``).
        vendre_api_key: its key (``[vendre] api_key`` or ``BEXVENDRE_VENDRE_API_KEY``).
        vendre_auth: how the key is sent: ``x-authorization`` or ``bearer``.
        bex_url: the Bex API's base URL (``[bex] url``; Bex's own by default).
        bex_api_key: its key (``[bex] api_key`` or ``BEXVENDRE_BEX_API_KEY``).
        bex_secret: its secret (``[bex] secret`` or ``BEXVENDRE_BEX_SECRET``).
        bex_location: the Bex stock location (``[bex] location``), if set.
        lookups: the code tables (``lookups``, a file relative to the config).
        state_path: the SQLite state file (``state``; ``bexvendre-state.sqlite3`` by default).
        state_url: the PostgreSQL database, when ``state`` is a ``postgresql://`` or
            ``postgres://`` URL (``state_path`` is then unused); ``None`` for a file.
        shop: the shop's key in a PostgreSQL state that several shops share (``shop``,
            ``default`` by default).
        audit_path: the audit log (``audit``), if set.
        overlap: how far back each run looks again before its cursor (``overlap``).
        lock_timeout: how long a run waits for another one (``lock_timeout``).
        since: no order placed before it is imported, first run included (``since``: a TOML
            date or date-time, or ISO text; a date is the shop's midnight, a time without
            an offset the shop's time zone). ``None``: no such limit.
        import_statuses: the Vendre status ids whose orders are imported
            (``import_statuses``); orders in other statuses wait. ``None``: every status.
        wait_limit: how long after it was placed an order in another status is still read
            again (``wait_limit``, 30 days by default).
        webhook_secret: the webhook's secret (``[webhook] secret`` or
            ``BEXVENDRE_WEBHOOK_SECRET``), if set.
        webhook_path: the webhook's URL path (``[webhook] path``).
        reservation_ttl: how long a gift-card checkout's reservation waits for its order
            before ``GiftCardCheckout.sweep`` (``bexvendre giftcards sweep``) releases it
            (``reservation_ttl``, 2 hours by default).
        schedule: how often ``bexvendre run`` runs each flow, in seconds, by flow name
            (``[schedule]``: ``orders = "1m"``; ``giftcards`` is the sweep of expired
            gift-card reservations); only the flows named there.
        max_in_flight: how many records the pushes (products, stock, statuses) handle at
            once (``max_in_flight``, 1 to 64; 1 by default).
        vendre_max_rate: the most requests a second sent to Vendre (``[vendre] max_rate``),
            all threads together; ``None``: no limit.
        bex_max_rate: the same for Bex (``[bex] max_rate``).
        worker: this worker's name when several import orders side by side (``worker``, or
            ``BEXVENDRE_WORKER``, which wins): ``import_orders(worker=...)`` claims each
            order before it creates it. ``None``: the orders flow runs alone.
        claim_ttl: how long a worker's claim on an order lasts unrenewed (``claim_ttl``, 10
            minutes by default; see ``import_orders``).
    """

    vendre_url: str
    vendre_api_key: str = attrs.field(repr=False)
    vendre_auth: str = "x-authorization"
    bex_url: str = BEX_BASE_URL
    bex_api_key: str = attrs.field(repr=False)
    bex_secret: str = attrs.field(repr=False)
    bex_location: str | None = None
    lookups: Lookups
    state_path: Path
    state_url: str | None = attrs.field(default=None, repr=False)
    shop: str = "default"
    audit_path: Path | None = None
    overlap: timedelta = timedelta(minutes=10)
    lock_timeout: timedelta = timedelta(seconds=30)
    since: date | datetime | None = None
    import_statuses: tuple[int, ...] | None = None
    wait_limit: timedelta = timedelta(days=30)
    reservation_ttl: timedelta = timedelta(hours=2)
    webhook_secret: str | None = attrs.field(default=None, repr=False)
    webhook_path: str = "/webhook"
    schedule: Mapping[str, float] = attrs.field(factory=dict)
    max_in_flight: int = 1
    vendre_max_rate: float | None = None
    bex_max_rate: float | None = None
    worker: str | None = None
    claim_ttl: timedelta = timedelta(minutes=10)

    @classmethod
    def from_toml(cls, path: str | Path, environ: Mapping[str, str] | None = None) -> SyncConfig:
        """Read the configuration; secrets from the environment win over the file.

        Raises:
            LookupsError: the file cannot be read (missing, not UTF-8, not TOML), or a setting
                or the code tables are missing or wrong; every problem at once, each with its
                key path (``$.vendre.url``).
        """
        environ = os.environ if environ is None else environ
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise LookupsError(f"cannot read {str(path)!r}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            msg = (
                f"{str(path)!r} is not UTF-8 text: byte {exc.object[exc.start]:#04x} at {exc.start}"
            )
            raise LookupsError(msg) from None
        except tomllib.TOMLDecodeError as exc:
            raise LookupsError(f"{str(path)!r} is not valid TOML: {exc}") from None
        return _Reader(data, environ).read(path.parent)


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> SyncConfig:
    """Read ``bexvendre.toml``: the APIs, code tables, state, go-live controls and schedule.

    Secrets set in the environment (``BEXVENDRE_VENDRE_API_KEY``, ``BEXVENDRE_BEX_API_KEY``,
    ``BEXVENDRE_BEX_SECRET``, ``BEXVENDRE_WEBHOOK_SECRET``) win over the file; ``environ``
    replaces ``os.environ`` for that.

    Raises:
        LookupsError: the file cannot be read (missing, not UTF-8, not TOML), or a setting
            or the code tables are missing or wrong (an unknown setting is named with the
            closest known one); every problem at once, each with its key path
            (``$.vendre.url``).
    """
    return SyncConfig.from_toml(path, environ)


class _Reader:
    """Reads the parsed TOML, noting every problem with its key path."""

    def __init__(self, data: dict[str, Any], environ: Mapping[str, str]) -> None:
        self.data = data
        self.environ = environ
        self.problems: list[Problem] = []
        self.sections: dict[str, Mapping[str, Any]] = {}

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def unknown(self, keys: Mapping[str, Any], known: tuple[str, ...], base: str) -> None:
        for key in keys:
            if key not in known:
                near = closest(str(key), known)
                hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
                self.problem(child_path(base, str(key)), f"unknown setting {key!r}{hint}")

    def text(
        self, section: str, key: str, *, variable: str | None = None, required: bool = True
    ) -> str | None:
        """A string setting: ``None`` when absent (a problem if required) or wrong."""
        where = f"$.{section}.{key}" if section else f"$.{key}"
        hint = f" (or set {variable})" if variable else ""
        if variable is not None and variable in self.environ:
            value: object = self.environ[variable]
            where_shown = f"{where} (from {variable})"
        else:
            value = (self.sections[section] if section else self.data).get(key)
            where_shown = where
        if value is None or value == "":
            if required:
                self.problem(where, f"required{hint}")
            elif value == "":
                self.problem(where, "expected a non-empty string, got ''")
            return None
        if not isinstance(value, str):
            self.problem(where, f"expected a string, got {show(value)}")
            return None
        if variable is not None and has_control_character(value):
            # Never quote a secret: only say what is wrong with it.
            self.problem(where_shown, "holds a line break or another control character")
            return None
        return value

    def url(self, section: str, default: str | None = None) -> str | None:
        if default is not None and "url" not in self.sections[section]:
            return default
        value = self.text(section, "url")
        if value is None:
            return None
        problem = base_url_problem(value)
        if problem is not None:
            self.problem(f"$.{section}.url", problem)
            return None
        return value

    def duration(self, key: str, default: timedelta, maximum: timedelta) -> timedelta:
        raw = self.data.get(key)
        if raw is None:
            return default
        where = f"$.{key}"
        if not isinstance(raw, str):
            self.problem(where, f"expected a duration like '30s', '5m' or '1h', got {show(raw)}")
            return default
        try:
            value = parse_duration(raw)
        except ValueError as exc:
            self.problem(where, str(exc))
            return default
        if value > maximum:
            self.problem(where, f"at most {maximum.days}d, got {raw!r}")
        return value

    def read(self, base: Path) -> SyncConfig:
        data = self.data
        self.unknown(data, _TOP_LEVEL, "$")
        for name, keys in _SECTIONS.items():
            raw = data.get(name, {})
            if not isinstance(raw, Mapping):
                self.problem(f"$.{name}", f"expected a table, got {show(raw)}")
                raw = {}
            self.unknown(raw, keys, f"$.{name}")
            self.sections[name] = raw
        vendre_url = self.url("vendre")
        vendre_key = self.text("vendre", "api_key", variable="BEXVENDRE_VENDRE_API_KEY")
        auth = self.text("vendre", "auth", required=False) or "x-authorization"
        if auth not in _AUTH:
            self.problem("$.vendre.auth", f"expected 'x-authorization' or 'bearer', got {auth!r}")
        bex_url = self.url("bex", BEX_BASE_URL)
        bex_key = self.text("bex", "api_key", variable="BEXVENDRE_BEX_API_KEY")
        bex_secret = self.text("bex", "secret", variable="BEXVENDRE_BEX_SECRET")
        location = self.text("bex", "location", required=False)
        webhook_secret, webhook_path = self.webhook()
        lookups_file = self.text("", "lookups")
        state_file = self.text("", "state", required=False)
        state_url = None
        if state_file is not None and state_file.startswith(_POSTGRES_SCHEMES):
            state_url, state_file = state_file, None
        shop = self.text("", "shop", required=False) or "default"
        audit_file = self.text("", "audit", required=False)
        overlap = self.duration("overlap", timedelta(minutes=10), MAX_OVERLAP)
        lock_timeout = self.duration("lock_timeout", timedelta(seconds=30), MAX_LOCK_TIMEOUT)
        wait_limit = self.duration("wait_limit", timedelta(days=30), MAX_WAIT_LIMIT)
        reservation_ttl = self.duration("reservation_ttl", timedelta(hours=2), MAX_RESERVATION_TTL)
        worker = self.text("", "worker", variable="BEXVENDRE_WORKER", required=False)
        claim_ttl = self.duration("claim_ttl", timedelta(minutes=10), MAX_CLAIM_TTL)
        if claim_ttl < MIN_CLAIM_TTL:
            self.problem("$.claim_ttl", f"at least 1s, got {self.data['claim_ttl']!r}")
        since = self.since()
        import_statuses = self.statuses()
        schedule = self.schedule()
        max_in_flight = self.in_flight()
        vendre_rate, bex_rate = self.rate("vendre"), self.rate("bex")
        lookups = Lookups()
        if lookups_file is not None:
            try:
                lookups = Lookups.from_toml(base / lookups_file)
            except LookupsError as exc:
                self.problems += [Problem(f"$.lookups: {p.path}", p.message) for p in exc.problems]
        if self.problems:
            raise LookupsError(self.problems)
        # Every one is set when there is no problem; `or ""` only tells mypy so.
        return SyncConfig(
            vendre_url=vendre_url or "",
            vendre_api_key=vendre_key or "",
            vendre_auth=auth,
            bex_url=bex_url or "",
            bex_api_key=bex_key or "",
            bex_secret=bex_secret or "",
            bex_location=location,
            lookups=lookups,
            state_path=base / (state_file or "bexvendre-state.sqlite3"),
            state_url=state_url,
            shop=shop,
            audit_path=None if audit_file is None else base / audit_file,
            overlap=overlap,
            lock_timeout=lock_timeout,
            since=since,
            import_statuses=import_statuses,
            wait_limit=wait_limit,
            reservation_ttl=reservation_ttl,
            webhook_secret=webhook_secret,
            webhook_path=webhook_path,
            schedule=schedule,
            max_in_flight=max_in_flight,
            vendre_max_rate=vendre_rate,
            bex_max_rate=bex_rate,
            worker=worker,
            claim_ttl=claim_ttl,
        )

    def in_flight(self) -> int:
        """``max_in_flight``: a whole number from 1 to :data:`MAX_IN_FLIGHT`."""
        raw = self.data.get("max_in_flight", 1)
        if type(raw) is not int or not 1 <= raw <= MAX_IN_FLIGHT:
            self.problem(
                "$.max_in_flight",
                f"expected a whole number from 1 to {MAX_IN_FLIGHT}, got {show(raw)}",
            )
            return 1
        return raw

    def rate(self, section: str) -> float | None:
        """``[vendre] max_rate`` or ``[bex] max_rate``: requests a second, above 0."""
        raw = self.sections[section].get("max_rate")
        if raw is None:
            return None
        if type(raw) not in (int, float) or not 0 < raw < float("inf"):
            self.problem(
                f"$.{section}.max_rate", f"expected requests a second above 0, got {show(raw)}"
            )
            return None
        return float(raw)

    def since(self) -> date | datetime | None:
        """``since``: a TOML date or date-time, or the same as ISO 8601 text."""
        raw = self.data.get("since")
        if raw is None:
            return None
        value: object = raw
        if isinstance(raw, str):
            try:
                value = (
                    date.fromisoformat(raw.strip())
                    if len(raw.strip()) == 10
                    else datetime.fromisoformat(raw.strip())
                )
            except ValueError:
                value = None
        if isinstance(value, date):
            return value
        self.problem(
            "$.since",
            f"expected a date or date-time such as 2026-01-01 or 2026-01-01T00:00:00+01:00, "
            f"got {show(raw)}",
        )
        return None

    def statuses(self) -> tuple[int, ...] | None:
        """``import_statuses``: a non-empty list of Vendre status ids."""
        raw = self.data.get("import_statuses")
        if raw is None:
            return None
        where = "$.import_statuses"
        if not isinstance(raw, list) or not raw:
            self.problem(where, f"expected a non-empty list of status ids, got {show(raw)}")
            return None
        good = True
        for index, item in enumerate(raw):
            if type(item) is not int or item < 0:
                self.problem(
                    f"{where}[{index}]", f"expected a status id (0 or more), got {show(item)}"
                )
                good = False
        return tuple(raw) if good else None

    def schedule(self) -> dict[str, float]:
        """``[schedule]``: each flow's interval in seconds."""
        raw = self.data.get("schedule", {})
        if not isinstance(raw, Mapping):
            self.problem("$.schedule", f"expected a table, got {show(raw)}")
            return {}
        if "schedule" in self.data and not raw:
            self.problem("$.schedule", "names no flow; leave the table out to run them all")
            return {}
        self.unknown(raw, SCHEDULED_JOBS, "$.schedule")
        schedule: dict[str, float] = {}
        for flow in SCHEDULED_JOBS:
            if flow not in raw:
                continue
            value = raw[flow]
            where = f"$.schedule.{flow}"
            if not isinstance(value, str):
                self.problem(
                    where, f"expected a duration like '30s', '5m' or '1h', got {show(value)}"
                )
                continue
            try:
                interval = parse_duration(value)
            except ValueError as exc:
                self.problem(where, str(exc))
                continue
            if not MIN_SCHEDULE <= interval <= MAX_SCHEDULE:
                self.problem(where, f"expected between 1s and 365d, got {value!r}")
                continue
            schedule[flow] = interval.total_seconds()
        return schedule

    def webhook(self) -> tuple[str | None, str]:
        """The ``[webhook]`` secret (``None`` when unset) and path."""
        secret = self.text("webhook", "secret", variable="BEXVENDRE_WEBHOOK_SECRET", required=False)
        if secret is not None and len(secret) < MIN_WEBHOOK_SECRET:
            where = "$.webhook.secret"
            if "BEXVENDRE_WEBHOOK_SECRET" in self.environ:
                where += " (from BEXVENDRE_WEBHOOK_SECRET)"
            self.problem(
                where,
                f"at least {MIN_WEBHOOK_SECRET} characters, got {len(secret)}; make one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
            )
            secret = None
        path = self.text("webhook", "path", required=False) or "/webhook"
        if not path.startswith("/") or any(c in path for c in "?# ") or has_control_character(path):
            self.problem(
                "$.webhook.path", f"expected a URL path such as '/webhook', got {show(path)}"
            )
        return secret, path


def order_options(config: SyncConfig) -> dict[str, Any]:
    """The go-live controls and worker of a configuration, as ``import_orders`` arguments."""
    options: dict[str, Any] = {
        "since": config.since,
        "import_statuses": config.import_statuses,
        "wait_limit": config.wait_limit,
    }
    if config.worker is not None:
        options.update(worker=config.worker, claim_ttl=config.claim_ttl)
    return options


def with_worker(config: SyncConfig, worker: str | None) -> SyncConfig:
    """The configuration with ``worker`` (``--worker``) as its worker, when one is given."""
    return config if worker is None else attrs.evolve(config, worker=worker)


def push_options(config: SyncConfig) -> dict[str, Any]:
    """The limits of a configuration, as keyword arguments of the pushes."""
    return {"max_in_flight": config.max_in_flight}


def make_clients(config: SyncConfig) -> tuple[VendreClient, BexClient]:
    """The two API clients of a configuration, each within its ``max_rate``."""
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
    vendre_client.limit_rate(config.vendre_max_rate)
    bex_client.limit_rate(config.bex_max_rate)
    return vendre_client, bex_client
