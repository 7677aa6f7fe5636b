"""What a flow did (or, in a dry run, would do), record by record, and the audit trail."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

import attrs

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_QUARANTINED",
    "EXIT_USAGE",
    "Action",
    "AuditLog",
    "Outcome",
    "Report",
    "Result",
    "exit_code",
]

Action = Literal[
    "create", "update", "skip", "quarantine", "confirm", "redeem", "release", "fetch", "drop"
]
Result = Literal["done", "planned", "skipped", "quarantined", "failed"]


@attrs.frozen(kw_only=True)
class Outcome:
    """One record handled by a flow.

    Attributes:
        flow: ``orders``, ``products``, ``stock`` or ``statuses``; ``giftcards`` for the
            sweep of expired gift-card reservations.
        entity: the record's id (Vendre order id, article number, model code, ...).
        action: what the flow did or would do.
        result: ``done``; ``planned`` in a dry run; ``skipped`` (nothing to do);
            ``quarantined``; or ``failed`` (to be tried again on the next run).
        reason: why, in a few words.
        errors: the problems, for quarantined and failed records (``path: message``).
        diff: for an update, what changes: field name -> ``(old, new)`` (``old`` is
            ``None`` when not known); empty when there is nothing to compare.
        details: a few more facts about the record (never its payload nor a secret), such
            as the queue entries a stock record came from.
    """

    flow: str
    entity: str
    action: Action
    result: Result
    reason: str = ""
    errors: tuple[str, ...] = ()
    diff: dict[str, tuple[Any, Any]] = attrs.field(factory=dict, hash=False)
    details: dict[str, Any] = attrs.field(factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """The outcome as JSON-ready data (a diff's pairs as two-item lists)."""
        return {
            "flow": self.flow,
            "entity": self.entity,
            "action": self.action,
            "result": self.result,
            "reason": self.reason,
            "errors": list(self.errors),
            "diff": {k: [_plain(old), _plain(new)] for k, (old, new) in self.diff.items()},
            "details": {k: _plain(v) for k, v in self.details.items()},
        }


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it: decimals and dates as text, containers walked."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


@attrs.define
class Report:
    """The outcome of one run of one flow.

    Attributes:
        flow: the flow's name.
        dry_run: whether this is a plan (nothing was written).
        outcomes: every record handled, in order.
        started: when the run started (UTC).
        run_id: the run's id (a random UUID as 32 hex digits); the audit log and the log
            records carry it.
        finished: when the run ended (UTC); ``None`` while it goes on.
    """

    flow: str
    dry_run: bool = False
    outcomes: list[Outcome] = attrs.Factory(list)
    started: datetime = attrs.Factory(lambda: datetime.now(UTC))
    run_id: str = attrs.Factory(lambda: uuid.uuid4().hex)
    finished: datetime | None = None

    @property
    def duration(self) -> float | None:
        """How long the run took, in seconds; ``None`` while it goes on."""
        if self.finished is None:
            return None
        return (self.finished - self.started).total_seconds()

    def finish(self) -> Report:
        """Mark the run ended now (once: a second call keeps the first time); ``self``."""
        if self.finished is None:
            self.finished = datetime.now(UTC)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data.

        Its run id, flow, dry run, start, end and duration (seconds), counts per result and
        every outcome (:meth:`Outcome.to_dict`).
        """
        return {
            "run_id": self.run_id,
            "flow": self.flow,
            "dry_run": self.dry_run,
            "started": self.started.isoformat(),
            "finished": None if self.finished is None else self.finished.isoformat(),
            "duration": self.duration,
            "counts": self.counts,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }

    def count(self, result: Result) -> int:
        """How many records ended with ``result``."""
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def counts(self) -> dict[str, int]:
        """Records per result."""
        return dict(Counter(o.result for o in self.outcomes))

    @property
    def ok(self) -> bool:
        """Whether nothing failed (quarantined records are handled, not failures)."""
        return self.count("failed") == 0

    def summary(self) -> str:
        """One line: the flow and its counts."""
        parts = ", ".join(f"{n} {r}" for r, n in sorted(self.counts.items())) or "nothing to do"
        return f"{self.flow}{' (dry run)' if self.dry_run else ''}: {parts}"


#: The exit statuses of every command: all done; something failed and is tried again (a
#: held lock, the network); a usage or configuration error; something needs a person.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_QUARANTINED = 0, 1, 2, 3


def exit_code(reports: Iterable[Report]) -> int:
    """The exit status of a run, the same for every command.

    1 when a record failed (a later run may fix it), else 3 when one was quarantined (a
    person must look), else 0.
    """
    reports = list(reports)
    if any(r.count("failed") for r in reports):
        return EXIT_FAILED
    if any(r.count("quarantined") for r in reports):
        return EXIT_QUARANTINED
    return EXIT_OK


class AuditLog:
    """One JSON line per record handled: time, run id, flow, entity, action, outcome, error.

    Args:
        target: a path (appended to, created when missing) or an open text file.

    Raises:
        OSError: the path cannot be opened for appending (it is a directory, its folder does
            not exist, no permission); its ``filename`` is the path.
    """

    def __init__(self, target: str | Path | IO[str]) -> None:
        if isinstance(target, str | Path):
            self._file: IO[str] = open(target, "a", encoding="utf-8")  # noqa: SIM115
            self._owned = True
        else:
            self._file = target
            self._owned = False

    def write(self, outcome: Outcome, *, run_id: str | None = None) -> None:
        """Append one outcome, flushed at once so that a crash loses nothing written.

        ``run_id`` is the :attr:`Report.run_id` of the run it belongs to (the flows pass it).
        """
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "run_id": run_id,
            "flow": outcome.flow,
            "entity": outcome.entity,
            "action": outcome.action,
            "outcome": outcome.result,
            "reason": outcome.reason,
            "error": "; ".join(outcome.errors) or None,
        }
        text = json.dumps(line, ensure_ascii=False)
        try:
            text.encode()
        except UnicodeEncodeError:  # a lone surrogate from a fetched record: escape it
            text = json.dumps(line)
        self._file.write(text + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file if this log opened it."""
        if self._owned:
            self._file.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
