"""What a flow did (or, in a dry run, would do), record by record, and the audit trail."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

import attrs

__all__ = [
    "Action",
    "AuditLog",
    "Outcome",
    "Report",
    "Result",
]

Action = Literal["create", "update", "skip", "quarantine", "confirm", "redeem", "fetch"]
Result = Literal["done", "planned", "skipped", "quarantined", "failed"]


@attrs.frozen(kw_only=True)
class Outcome:
    """One record handled by a flow.

    Attributes:
        flow: ``orders``, ``products``, ``stock`` or ``statuses``.
        entity: the record's id (Vendre order id, article number, model code, ...).
        action: what the flow did or would do.
        result: ``done``; ``planned`` in a dry run; ``skipped`` (nothing to do);
            ``quarantined``; or ``failed`` (to be tried again on the next run).
        reason: why, in a few words.
        errors: the problems, for quarantined and failed records (``path: message``).
    """

    flow: str
    entity: str
    action: Action
    result: Result
    reason: str = ""
    errors: tuple[str, ...] = ()


@attrs.define
class Report:
    """The outcome of one run of one flow.

    Attributes:
        flow: the flow's name.
        dry_run: whether this is a plan (nothing was written).
        outcomes: every record handled, in order.
        started: when the run started (UTC).
    """

    flow: str
    dry_run: bool = False
    outcomes: list[Outcome] = attrs.Factory(list)
    started: datetime = attrs.Factory(lambda: datetime.now(UTC))

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


class AuditLog:
    """One JSON line per record handled: time, flow, entity, action, outcome, error.

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

    def write(self, outcome: Outcome) -> None:
        """Append one outcome, flushed at once so that a crash loses nothing written."""
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
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
