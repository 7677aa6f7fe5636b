"""Reconciliation: did every Vendre order of a window reach Bex, once, as the state says?

:func:`reconcile` lists the Vendre orders placed in a window and checks each against Bex
(every order Bex holds with its number) and the state (what the orders flow recorded). It
reads only: nothing is written to either system or to the state, and no lock is taken, so
it can run beside the flows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any, Literal

import attrs

from bexvendre_mapping import vendre
from bexvendre_mapping._dates import time_zone as zone_info
from bexvendre_mapping._errors import MappingError
from bexvendre_mapping.http import BexClient, HttpError, NotFound, VendreClient
from bexvendre_mapping.sync._cli import UsageError, _state
from bexvendre_mapping.sync._config import SyncConfig, make_clients
from bexvendre_mapping.sync._flows import _order_key, content_hash
from bexvendre_mapping.sync._state import StateStore

__all__ = [
    "DISCREPANCIES",
    "Finding",
    "ReconcileEntry",
    "ReconcileReport",
    "reconcile",
]

Finding = Literal[
    "ok",
    "missing",
    "duplicate",
    "unknown",
    "changed",
    "quarantined",
    "pending",
    "new",
    "not_imported",
    "failed",
]

#: The findings that need a person (``bexvendre reconcile`` exits 3 on any).
DISCREPANCIES: frozenset[Finding] = frozenset(
    {"missing", "duplicate", "unknown", "changed", "quarantined"}
)


@attrs.frozen(kw_only=True)
class ReconcileEntry:
    """What reconciliation found for one Vendre order.

    Attributes:
        order_id: the Vendre order id (Bex's ``Ordernr``), or ``sha256:...`` for an order
            without a usable id.
        placed: when it was placed (UTC), ``None`` when the order does not load.
        state: what the state records for it (``created``, ``quarantined``, ``intent``, ...),
            ``None`` when the state does not know it.
        in_bex: how many orders Bex holds with its number; ``None`` when not looked up.
        finding: one of

            - ``ok``: created once in Bex, unchanged in Vendre since;
            - ``missing``: the state says created but Bex lacks it, or it was never
              imported though the orders flow's cursor is past it;
            - ``duplicate``: Bex holds it more than once;
            - ``unknown``: in Bex, but the state does not know it;
            - ``changed``: changed in Vendre after it was imported (its content hash
              differs from the imported one);
            - ``quarantined``: waiting in quarantine for a person;
            - ``pending``: its create was begun and not confirmed; the next orders run
              looks it up in Bex and finishes it;
            - ``new``: placed after the orders flow's cursor; the next run takes it;
            - ``not_imported``: recorded as not to be imported (state shown in ``state``);
            - ``failed``: Bex could not be asked (tried again on the next reconcile).
        detail: why, in a few words.
    """

    order_id: str
    placed: datetime | None
    state: str | None
    in_bex: int | None
    finding: Finding
    detail: str

    @property
    def discrepancy(self) -> bool:
        """Whether a person should look at this order (see :data:`DISCREPANCIES`)."""
        return self.finding in DISCREPANCIES

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready data."""
        return {
            "order_id": self.order_id,
            "placed": None if self.placed is None else self.placed.isoformat(),
            "state": self.state,
            "in_bex": self.in_bex,
            "finding": self.finding,
            "discrepancy": self.discrepancy,
            "detail": self.detail,
        }


@attrs.define(kw_only=True)
class ReconcileReport:
    """What :func:`reconcile` found, order by order.

    Attributes:
        since: the window's start (UTC), included.
        until: the window's end (UTC), excluded; ``None``: up to now.
        started: when the check started (UTC).
        entries: one per Vendre order of the window, in the shop's order.
        errors: requests that failed and stopped the listing of the window (the entries
            before the failure are kept).
        notes: what limited the check without failing it (a Bex that does not list its
            orders by number: each was looked up on its own, and copies cannot be seen).
    """

    since: datetime
    until: datetime | None
    started: datetime
    entries: list[ReconcileEntry] = attrs.Factory(list)
    errors: list[str] = attrs.Factory(list)
    notes: list[str] = attrs.Factory(list)

    @property
    def discrepancies(self) -> list[ReconcileEntry]:
        """The entries a person should look at."""
        return [entry for entry in self.entries if entry.discrepancy]

    @property
    def failed(self) -> bool:
        """Whether a request failed: the check is incomplete (run it again)."""
        return bool(self.errors) or any(e.finding == "failed" for e in self.entries)

    @property
    def counts(self) -> dict[str, int]:
        """Entries per finding."""
        return dict(Counter(entry.finding for entry in self.entries))

    @property
    def exit_code(self) -> int:
        """1 when a request failed, else 3 when there is a discrepancy, else 0."""
        if self.failed:
            return 1
        return 3 if self.discrepancies else 0

    def summary(self) -> str:
        """One line: how many orders were checked and what was found."""
        parts = ", ".join(f"{n} {f}" for f, n in sorted(self.counts.items()))
        text = f"reconcile: {len(self.entries)} order(s) checked"
        text += f": {parts}" if parts else ""
        if self.errors:
            text += f"; {len(self.errors)} request(s) failed, the check is incomplete"
        return text

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready data: the window, counts, discrepancy count, errors and entries."""
        return {
            "since": self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
            "started": self.started.isoformat(),
            "checked": len(self.entries),
            "counts": self.counts,
            "discrepancies": len(self.discrepancies),
            "errors": list(self.errors),
            "notes": list(self.notes),
            "exit_code": self.exit_code,
            "orders": [entry.to_dict() for entry in self.entries],
        }


def window_bound(value: datetime | date, zone: str, *, end: bool = False) -> datetime:
    """A window bound as an aware UTC datetime.

    A naive datetime is the shop's wall clock; a date is its midnight in the shop's time
    zone (with ``end``, the next midnight: the whole day is in the window).

    Raises:
        MappingError: ``zone`` is not a time zone.
    """
    if not isinstance(value, datetime):
        day = value + timedelta(days=1) if end else value
        value = datetime.combine(day, time(0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone_info(zone))
    return value.astimezone(UTC)


def reconcile(
    vendre_client: VendreClient,
    bex_client: BexClient,
    state: StateStore,
    *,
    since: datetime | date,
    until: datetime | date | None = None,
    now: datetime | None = None,
) -> ReconcileReport:
    """Check every Vendre order placed in ``[since, until)`` against Bex and the state.

    Each order is looked up in Bex by its number (the Vendre order id,
    :meth:`BexClient.find_order_documents`) and in the state; the findings are listed in
    :class:`ReconcileEntry`. Reads only; takes no lock.

    Args:
        vendre_client: the shop.
        bex_client: Bex.
        state: the state the orders flow writes.
        since: the window's start, included. A date is its midnight in the shop's time
            zone (the Vendre client's ``time_zone``), a naive datetime the shop's wall clock.
        until: the window's end, excluded (a date: the whole day is included); default now.
        now: the moment of the check (default: now).

    Returns:
        The report; its :attr:`~ReconcileReport.exit_code` follows the command line's rule.

    Raises:
        ValueError: ``until`` is not after ``since``.
        MappingError: the Vendre client's time zone is not one.
    """
    zone = vendre_client.time_zone
    start = window_bound(since, zone)
    end = None if until is None else window_bound(until, zone, end=True)
    if end is not None and end <= start:
        msg = f"until ({end.isoformat()}) must be after since ({start.isoformat()})"
        raise ValueError(msg)
    report = ReconcileReport(
        since=start, until=end, started=(now or datetime.now(UTC)).astimezone(UTC)
    )
    vendre_client.reset_wait_budget()
    bex_client.reset_wait_budget()
    cursor = state.get_cursor("orders")
    try:
        for document in vendre_client.iter_order_documents(since=start):
            placed = _placed(document, zone)
            if placed is not None and (placed < start or (end is not None and placed >= end)):
                continue
            report.entries.append(
                _check(document, placed, cursor, bex_client, state, report=report)
            )
    except HttpError as exc:
        report.errors.append(f"listing the Vendre orders: {type(exc).__name__}: {exc}")
    return report


def _placed(document: Any, zone: str) -> datetime | None:
    try:
        return vendre.load_order(document, time_zone=zone).date_added.astimezone(UTC)
    except MappingError:
        return None


# What the flows themselves write to a Vendre order (push_statuses): not a change to report.
_WRITTEN_BY_US = frozenset({"status"})


def _changed(payload: str, document: dict[str, Any]) -> bool:
    """Whether the order differs from what was imported in more than the status we push.

    ``document`` is an object: only an object has an order id, and so a state record.
    """
    try:
        imported = json.loads(payload)
    except ValueError:
        return True
    if not isinstance(imported, dict):
        return True

    def ours_left_out(doc: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if k not in _WRITTEN_BY_US}

    return content_hash(ours_left_out(imported)) != content_hash(ours_left_out(document))


def _check(  # noqa: PLR0911, PLR0912 - one return per finding
    document: Any,
    placed: datetime | None,
    cursor: datetime | None,
    bex_client: BexClient,
    state: StateStore,
    *,
    report: ReconcileReport,
) -> ReconcileEntry:
    """The finding for one listed order."""
    digest = content_hash(document)
    key = _order_key(document, digest)
    order_id = str(key) if key >= 0 else f"sha256:{digest[:12]}"
    record = state.get_order(key)
    known = None if record is None else str(record.state)

    def entry(finding: Finding, detail: str, in_bex: int | None = None) -> ReconcileEntry:
        return ReconcileEntry(
            order_id=order_id,
            placed=placed,
            state=known,
            in_bex=in_bex,
            finding=finding,
            detail=detail,
        )

    if record is not None and record.state == "quarantined":
        problem = record.errors[0] if record.errors else "see bexvendre quarantine list"
        return entry("quarantined", f"in quarantine: {problem}")
    if key < 0:  # no usable id: the orders flow quarantines it when it sees it
        if cursor is not None and (placed is None or placed <= cursor):
            return entry("missing", "has no usable order id and was never quarantined")
        return entry("new", "has no usable order id; the next orders run quarantines it")
    try:
        count = _count_in_bex(bex_client, order_id, report)
    except HttpError as exc:
        return entry("failed", f"Bex could not be asked: {type(exc).__name__}: {exc}")
    if count > 1:
        detail = f"Bex holds {count} orders {order_id}"
        if record is None:
            detail += "; the state does not know it"
        return entry("duplicate", detail, count)
    if record is None:
        if count == 1:
            return entry("unknown", "in Bex, but the state does not know it", count)
        if cursor is None or placed is None or placed > cursor:
            return entry("new", "not imported yet; the next orders run takes it", count)
        return entry("missing", "never imported, though the orders cursor is past it", count)
    if record.state == "created":
        if count == 0:
            return entry("missing", "the state says created, but Bex does not have it", count)
        if record.content_hash != digest and _changed(record.payload, document):
            return entry("changed", "changed in Vendre after it was imported", count)
        return entry("ok", "in Bex once", count)
    if record.state == "intent":
        return entry(
            "pending",
            "the create was begun and not confirmed; the next orders run finishes it",
            count,
        )
    where = "in Bex, not imported by the sync" if count else "not to be imported"
    return entry("not_imported", f"{where} ({record.state})", count)


_NO_LISTING = (
    "Bex does not list orders by number (404): each order was looked up on its own, so an "
    "order created twice cannot be seen"
)


def _count_in_bex(bex_client: BexClient, number: str, report: ReconcileReport) -> int:
    """How many orders Bex holds with ``Ordernr`` ``number``.

    A Bex that answers 404 to the listing by number is asked for the one order instead
    (what :meth:`BexClient.create_order`'s retry path asks), which cannot count copies.
    """
    if _NO_LISTING not in report.notes:
        try:
            return len(bex_client.find_order_documents(number))
        except NotFound:
            report.notes.append(_NO_LISTING)
    return 0 if bex_client.find_order(number) is None else 1


# --- bexvendre reconcile -----------------------------------------------------------------------

_COLUMNS = ("order", "placed", "state", "in Bex", "finding", "detail")


def print_report(report: ReconcileReport, out: IO[str], *, output: str = "text") -> None:
    """The report as JSON (``output="json"``), or a table of the orders that are not ok."""
    if output == "json":
        json.dump(report.to_dict(), out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    window = f"{report.since:%Y-%m-%d %H:%M}Z to "
    window += "now" if report.until is None else f"{report.until:%Y-%m-%d %H:%M}Z"
    out.write(f"Vendre orders placed from {window}\n")
    rows = [_row(entry) for entry in report.entries if entry.finding != "ok"]
    if rows:
        widths = [max(len(row[i]) for row in (_COLUMNS, *rows)) for i in range(len(_COLUMNS))]
        for row in (_COLUMNS, *rows):
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
            out.write("  ".join(cells).rstrip() + "\n")
    for error in report.errors:
        out.write(f"failed: {error}\n")
    for note in report.notes:
        out.write(f"note: {note}\n")
    out.write(report.summary() + "\n")


def _row(entry: ReconcileEntry) -> Sequence[str]:
    return (
        entry.order_id,
        "-" if entry.placed is None else f"{entry.placed:%Y-%m-%d %H:%M}Z",
        entry.state or "-",
        "?" if entry.in_bex is None else str(entry.in_bex),
        entry.finding,
        entry.detail,
    )


def reconcile_command(
    config_path: str,
    *,
    since: datetime | date,
    until: datetime | date | None,
    output: str,
    out: IO[str],
) -> int:
    """``bexvendre reconcile``: 0 clean, 1 a request failed, 3 a discrepancy.

    Raises:
        LookupsError: the configuration is wrong (a usage error, exit 2).
        UsageError: ``until`` is not after ``since`` (exit 2).
    """
    config = SyncConfig.from_toml(config_path)
    zone = config.lookups.settings.time_zone
    if until is not None and window_bound(until, zone, end=True) <= window_bound(since, zone):
        msg = f"--until ({until}) must be after --since ({since})"
        raise UsageError(msg)
    vendre_client, bex_client = make_clients(config)
    # Read only: a state file that is not there yet is an empty state, and none is made.
    with vendre_client, bex_client, _state(config, create=False) as state:
        report = reconcile(vendre_client, bex_client, state, since=since, until=until)
    print_report(report, out, output=output)
    return report.exit_code
