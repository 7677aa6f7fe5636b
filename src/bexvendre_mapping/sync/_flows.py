"""The sync flows: orders Vendre → Bex; products, stock and statuses Bex → Vendre.

Each flow takes the two clients, the lookups and a state store, and returns a
:class:`~bexvendre_mapping.sync.Report`. With ``dry_run=True`` it returns its plan and writes
nothing: not to either system, not to the state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar, overload
from zoneinfo import ZoneInfo

import attrs

from bexvendre_mapping import bex, convert, vendre
from bexvendre_mapping._errors import MappingError
from bexvendre_mapping._lookups import Lookups
from bexvendre_mapping._modelcode import ModelCode
from bexvendre_mapping._plan import load_int as _int
from bexvendre_mapping._text import has_control_character
from bexvendre_mapping.http import (
    BexClient,
    HttpError,
    NotFound,
    RequestRejected,
    RetryBudgetExhausted,
    StockInformation,
    VendreClient,
)
from bexvendre_mapping.http._transport import check_max_rate
from bexvendre_mapping.sync._report import Action, AuditLog, Outcome, Report, Result
from bexvendre_mapping.sync._state import (
    HeldOrder,
    Hint,
    OrderRecord,
    QuarantineRecord,
    StateStore,
)
from bexvendre_mapping.sync._stop import STOP
from bexvendre_mapping.sync._workers import Pool

__all__ = [
    "DEFAULT_INDEX_MAX_AGE",
    "DEFAULT_OVERLAP",
    "DEFAULT_WAIT_LIMIT",
    "import_hinted_orders",
    "import_orders",
    "push_products",
    "push_statuses",
    "push_stock",
    "retry_quarantined",
    "retry_quarantined_records",
]

#: The logger of the flows: one record per outcome, with ``flow``, ``entity``, ``run_id``,
#: ``action`` and ``result`` as extra fields.
logger = logging.getLogger("bexvendre_mapping.sync")
logger.addHandler(logging.NullHandler())  # a library: the application configures logging

#: What an ``observer`` is: called with each outcome as the flow records it.
Observer = Callable[[Outcome], None]

_LEVELS: dict[str, int] = {
    "done": logging.INFO,
    "planned": logging.INFO,
    "skipped": logging.DEBUG,
    "quarantined": logging.WARNING,
    "failed": logging.ERROR,
}

#: How far back each run looks again before the stored cursor, for records that arrive late.
DEFAULT_OVERLAP = timedelta(minutes=10)

#: How old the state's index of Vendre product ids may get before a run lists the shop's
#: products again (it is also rebuilt after a create whose answer was lost).
DEFAULT_INDEX_MAX_AGE = timedelta(hours=24)

#: How long an order whose status is not imported yet is read again on each run, counted
#: from when it was placed; after that it is no longer looked at (a webhook naming it still
#: brings it in).
DEFAULT_WAIT_LIMIT = timedelta(days=30)

#: How long a worker's claim on an order lasts: past it, another worker takes the order over
#: (looking it up in Bex first), taking the first worker to be dead.
DEFAULT_CLAIM_TTL = timedelta(minutes=10)

T = TypeVar("T")

# The largest key SQLite's INTEGER, and so the state, can hold.
_KEY_MAX = 2**63 - 1


def content_hash(document: Any) -> str:
    r"""A stable hash of a JSON-like document (key order and number types do not matter).

    A string with a lone surrogate (``"Astrid \ud83d"`` in JSON, that a shop can send)
    is hashed too, through its surrogate code unit, so that such a record can be
    quarantined instead of stopping the flow.
    """
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _payload(document: Any) -> str:
    r"""A fetched document as JSON text for the state, readable back with ``json.loads``.

    Written as UTF-8 text, or with ``\uXXXX`` escapes where a lone surrogate in it has no
    UTF-8 form (SQLite could not store it otherwise).
    """
    text = json.dumps(document, ensure_ascii=False, default=str)
    return text if _utf8(text) else json.dumps(document, default=str)


def _problems(error: MappingError) -> tuple[str, ...]:
    return tuple(str(p) for p in error.problems)


class _Run:
    """Bookkeeping shared by the flows: the report, the audit trail."""

    def __init__(
        self, flow: str, dry_run: bool, audit: AuditLog | None, observer: Observer | None = None
    ) -> None:
        self.report = Report(flow=flow, dry_run=dry_run)
        self.dry_run = dry_run
        self.audit = audit
        self.observer = observer
        self.listing_failed = False
        # Who claims the orders this run creates, and for how long (see import_orders).
        self.worker: str | None = None
        self.claim_ttl = DEFAULT_CLAIM_TTL.total_seconds()
        # Set when a client spent its wait budget: the flow handles no further record, keeps
        # its cursor (or queue entries) and leaves the rest to the next run.
        self._stopped = False
        # Set when `bexvendre run` is asked to stop (SIGTERM): the same, once it is set.
        self._stop = STOP.get()
        # Per thread: where a record's outcomes wait to be reported in order (see _workers).
        self._held = threading.local()

    @property
    def stopped(self) -> bool:
        """Whether the flow handles no further record (budget spent, or asked to stop)."""
        return self._stopped or (self._stop is not None and self._stop.is_set())

    @stopped.setter
    def stopped(self, value: bool) -> None:
        self._stopped = value

    def failed(self, entity: object, action: Action, reason: str, exc: HttpError) -> None:
        """Record a request that failed; a spent wait budget stops the flow."""
        if isinstance(exc, RetryBudgetExhausted):
            self.stopped = True
            reason += "; the wait budget is spent: the flow stops, the rest waits for next run"
        self.record(entity, action, "failed", reason, (str(exc),))

    def listed(self, items: Iterable[T], what: str) -> Iterator[T]:
        """The records of a listing; a request that fails ends it, recorded as failed.

        The records fetched before the failure are handled as usual; the flow then keeps its
        cursor (or its queue entries), so the next run fetches the rest.
        """
        try:
            for item in items:
                if self.stopped:
                    return
                yield item
        except HttpError as exc:
            self.listing_failed = True
            self.failed(what, "fetch", "listing stopped; tried again next run", exc)

    def record(
        self,
        entity: object,
        action: Action,
        result: Result,
        reason: str = "",
        errors: tuple[str, ...] = (),
        *,
        diff: dict[str, tuple[Any, Any]] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        if self.dry_run and result == "done":
            result = "planned"
        outcome = Outcome(
            flow=self.report.flow,
            entity=str(entity),
            action=action,
            result=result,
            reason=reason,
            errors=errors,
            diff=diff or {},
            details=details or {},
        )
        held: list[Outcome] | None = getattr(self._held, "outcomes", None)
        if held is not None:
            held.append(outcome)
        else:
            self.emit(outcome)

    def hold(self, outcomes: list[Any] | None) -> None:
        """Hold this thread's outcomes in ``outcomes``; ``None``: report them at once."""
        self._held.outcomes = outcomes

    def emit(self, outcome: Outcome) -> None:
        """Report ``outcome``: the report, the audit trail, the log, the observer."""
        self.report.outcomes.append(outcome)
        if self.audit is not None and not self.dry_run:
            self.audit.write(outcome, run_id=self.report.run_id)
        logger.log(
            _LEVELS[outcome.result],
            "%s %s: %s %s%s",
            outcome.flow,
            outcome.entity,
            outcome.action,
            outcome.result,
            f" ({outcome.reason})" if outcome.reason else "",
            extra={
                "flow": outcome.flow,
                "entity": outcome.entity,
                "run_id": self.report.run_id,
                "action": outcome.action,
                "result": outcome.result,
                "dry_run": self.dry_run,
            },
        )
        if self.observer is not None:
            self.observer(outcome)

    def finish(self) -> Report:
        return self.report.finish()

    def quarantine(
        self,
        state: StateStore,
        entity: str,
        document: Any,
        reason: str,
        errors: tuple[str, ...],
        *,
        details: dict[str, Any] | None = None,
        again: bool = False,
    ) -> None:
        """Keep a product, stock or status record in the state's quarantine, and report it.

        A record listed again unchanged (the same document, the same problems) while it is in
        quarantine is reported as skipped, as an unchanged quarantined order is; a retry
        (``again``) reports it as quarantined.
        """
        known = state.get_quarantined(self.report.flow, entity)
        if (
            not again
            and known is not None
            and known.payload == _payload(document)
            and known.errors == errors
        ):
            self.record(entity, "skip", "skipped", "quarantined; unchanged since")
            return
        if not self.dry_run:
            state.put_quarantined(
                QuarantineRecord(
                    flow=self.report.flow,
                    entity=entity,
                    payload=_payload(document),
                    errors=errors,
                    reason=reason,
                    updated_at=datetime.now(UTC),
                )
            )
        self.record(entity, "quarantine", "quarantined", reason, errors, details=details)

    def lift(self, state: StateStore, entity: str) -> None:
        """A record went through: it is no longer quarantined (if it was)."""
        if not self.dry_run and state.get_quarantined(self.report.flow, entity) is not None:
            state.drop_quarantined(self.report.flow, entity)


def _locked(
    state: StateStore, dry_run: bool, flow: str, *, shared: bool = False
) -> contextlib.AbstractContextManager[None]:
    # A dry run only reads: it needs no lock and takes none. A run waits for its own flow's
    # lock only ("orders" for every way orders come in: polling, hints, retries, webhooks).
    if dry_run:
        return contextlib.nullcontext()
    return state.lock(flow, shared=True) if shared else state.lock(flow)


def _fresh_budget(*clients: VendreClient | BexClient) -> None:
    """Give each client its whole wait budget again: the budget is per run."""
    for client in clients:
        client.reset_wait_budget()


def _check_worker(worker: str | None, claim_ttl: timedelta) -> None:
    """Raise ``ValueError`` for a worker name or claim time to live a run cannot use."""
    if worker is not None and (
        not isinstance(worker, str) or not worker.strip() or has_control_character(worker)
    ):
        msg = f"worker must be a name without control characters, got {worker!r}"
        raise ValueError(msg)
    if claim_ttl <= timedelta(0):
        msg = f"claim_ttl must be positive, got {claim_ttl!r}"
        raise ValueError(msg)


def _check_limits(max_in_flight: int, max_rate: float | None) -> None:
    """Refuse limits that cannot be kept.

    Raises:
        ValueError: ``max_in_flight`` is not a whole number >= 1, or ``max_rate`` is not a
            number of requests a second above 0.
    """
    if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or max_in_flight < 1:
        msg = f"max_in_flight must be a whole number >= 1, got {max_in_flight!r}"
        raise ValueError(msg)
    check_max_rate(max_rate)


@contextlib.contextmanager
def _paced(max_rate: float | None, *clients: VendreClient | BexClient) -> Iterator[None]:
    """Each client sends at most ``max_rate`` requests a second while inside (if given)."""
    if max_rate is None:
        yield
        return
    before = [(client.max_rate, client.burst) for client in clients]
    for client in clients:
        client.limit_rate(max_rate)
    try:
        yield
    finally:
        for client, (rate, burst) in zip(clients, before, strict=True):
            client.limit_rate(rate, burst=burst)


def _each(
    run: _Run,
    state: StateStore,
    items: Iterable[T],
    handle: Callable[[T, StateStore], bool],
    max_in_flight: int,
) -> bool:
    """Handle each item (``handle(item, state)``) until the run stops; whether all went.

    With ``max_in_flight`` above 1 the items are handled on that many threads (see
    :mod:`._workers`): the same effects per record, the outcomes in the items' order.
    """
    if max_in_flight > 1:
        return Pool(run, state, max_in_flight).each(items, handle)
    handled = True
    for item in items:
        if run.stopped:
            break
        handled = handle(item, state) and handled
    return handled


def _clients(first: Any, second: Any, flow: str) -> tuple[Any, Any]:
    """``(vendre_client, bex_client)`` of a flow's call; the old ``(bex, vendre)`` order warns.

    Told apart by the clients' types; kept for one release.
    """
    if isinstance(first, BexClient) and isinstance(second, VendreClient):
        _deprecated_order(flow, "bex_client, vendre_client, lookups, state")
        return second, first
    return first, second


def _deprecated_order(name: str, old: str, stacklevel: int = 4) -> None:
    msg = (
        f"{name}({old}) is deprecated; pass (vendre_client, bex_client, lookups, state, ...) "
        "in that order (the old order is accepted until the next release)"
    )
    warnings.warn(msg, DeprecationWarning, stacklevel=stacklevel)


# --- orders, Vendre → Bex ----------------------------------------------------------------------


@attrs.frozen
class _Gate:
    """The go-live controls: which listed or hinted orders may be imported at all."""

    since: datetime | None = None
    statuses: frozenset[int] | None = None


def _aware(value: date | datetime | None, zone: str) -> datetime | None:
    """``since`` as an aware datetime: a date is its midnight, a naive time the shop's."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value


def _gate(
    since: date | datetime | None, import_statuses: Collection[int] | None, zone: str
) -> _Gate:
    if import_statuses is not None and (
        isinstance(import_statuses, str | bytes) or not all(type(s) is int for s in import_statuses)
    ):
        msg = f"import_statuses must be Vendre status ids (integers), got {import_statuses!r}"
        raise TypeError(msg)
    statuses = None if import_statuses is None else frozenset(import_statuses)
    return _Gate(since=_aware(since, zone), statuses=statuses)


def import_orders(
    vendre_client: VendreClient,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
    since: date | datetime | None = None,
    import_statuses: Collection[int] | None = None,
    wait_limit: timedelta = DEFAULT_WAIT_LIMIT,
    baseline: bool = False,
    now: datetime | None = None,
    dry_run: bool = False,
    audit: AuditLog | None = None,
    observer: Observer | None = None,
    worker: str | None = None,
    claim_ttl: timedelta = DEFAULT_CLAIM_TTL,
) -> Report:
    """Fetch new Vendre orders and create each in Bex exactly once.

    The window runs from the stored cursor minus ``overlap`` (or ``since`` on the first run;
    everything when both are absent) up to the run's start, never before ``since``.

    The go-live controls (see "Going live" in the docs):

    - ``since`` (a date, the shop's midnight; or a datetime, naive meaning the shop's time
      zone): no order placed before it is imported, first run included (reported as
      skipped). Intents already recorded are taken up whatever their date.
    - ``import_statuses``: the Vendre status ids whose orders are imported (``None``: all).
      An order in another status *waits*: it is held in the state (``waiting``) and read
      again by id on every run, whether or not it is still in the window, until its status
      is one of these (then it is imported as any other), it is placed before ``since``, or
      it was placed more than ``wait_limit`` before the run (then it is let go, reported
      as skipped). So the cursor moves on past waiting orders.
    - ``baseline=True``: touches nothing in Bex. Every order listed (from ``since``, or all)
      that the state does not know yet is recorded as ``baseline`` (reported as skipped
      with the reason ``baseline``) and is never imported; the cursor moves to the run's
      start. Run it once when going live on a shop with a history.

    For each order:

    - already created with the same content: skipped; created but changed since: reported
      and skipped (Bex holds the order; changes are for the shop to handle);
    - fails to load or convert: quarantined with its problems and payload, the others go on;
    - otherwise the intent is recorded, then the order is created in Bex (an order whose
      intent survived a crash is looked up in Bex first), the gift cards reserved at checkout
      are redeemed, and the order is recorded as created.

    Before the window, the run takes up the recorded intents, then the orders a webhook
    named that are not handled yet (:func:`import_hinted_orders`), whatever their date.

    An order that Bex refuses as it is (a 4xx answer such as 400, or a 409 to redeeming a
    released gift-card reservation) is quarantined too, with Bex's answer as its problem.

    Several workers (``worker``, a name unique to each): each order is *claimed* in the
    state (:meth:`~bexvendre_mapping.sync.OrderStore.claim_order`, for ``claim_ttl``)
    before its intent is recorded and released once it is settled; the record is read again
    under the claim, so an order another worker finished meanwhile is skipped, and an intent
    another worker left (its claim expired: it died) is looked up in Bex first. An order
    whose claim a live worker holds is skipped this run and keeps the cursor before it.
    The claim is renewed before each request to Bex, so an order may take longer than
    ``claim_ttl`` as long as no one request does; a worker that finds its claim taken over
    (it was slower than ``claim_ttl``) stops there, reports the order skipped and leaves it
    to the new holder. With ``worker`` the run takes the orders lock *shared*
    (``lock("orders", shared=True)``): on :class:`~bexvendre_mapping.sync.PostgresState`
    workers run side by side, and no exclusive run (``bexvendre run`` or ``bexvendre sync``
    without ``--worker``) overlaps them; on
    :class:`~bexvendre_mapping.sync.SqliteState` the lock is exclusive all the same (the
    workers take turns). Without ``worker`` the run holds the lock alone: no worker can be
    live beside it, so it claims nothing and takes up whatever intents dead workers left.

    The cursor moves to the run's start, or, when an order failed (a network or server
    problem), to just before the earliest failed one: it never passes an order that neither
    succeeded nor was quarantined. When the listing itself fails, the orders fetched until
    then are handled and the cursor stays where it was.

    Raises:
        LockedError: another run holds the state.
        TypeError: ``import_statuses`` is not a collection of integers.
        ValueError: ``worker`` is empty or holds a control character, or ``claim_ttl`` is
            not positive.
    """
    _check_worker(worker, claim_ttl)
    start = (now or datetime.now(UTC)).astimezone(UTC)
    zone = lookups.settings.time_zone
    gate = _gate(since, import_statuses, zone)
    run = _Run("orders", dry_run, audit, observer)
    run.worker = worker
    run.claim_ttl = claim_ttl.total_seconds()
    _fresh_budget(vendre_client, bex_client)
    if baseline:
        with _locked(state, dry_run, "orders"):
            _baseline(vendre_client, start, gate, state, run)
        return run.finish()
    with _locked(state, dry_run, "orders", shared=worker is not None):
        # First the queue of intents: orders whose create was begun but never confirmed (a
        # crash, a failure, an interrupted `quarantine retry`), whatever their date.
        handled = _resume_intents(start, bex_client, lookups, state, run)
        # Then the orders webhooks named and that are not handled yet (see webhook_app).
        _import_hints(vendre_client, start, bex_client, lookups, state, run, handled, gate)
        cursor = state.get_cursor("orders")
        window_start = cursor - overlap if cursor is not None else gate.since
        if window_start is not None and gate.since is not None:
            window_start = max(window_start, gate.since)
        earliest_failure: datetime | None = None
        documents = vendre_client.iter_order_documents(since=window_start)
        for document in run.listed(documents, "orders"):
            key = _order_key(document, content_hash(document))
            if key in handled:
                continue  # handled from the queue in this run: one outcome per order
            handled.add(key)
            failed_at = _import_one(
                document, start, zone, bex_client, lookups, state, run, gate=gate
            )
            if failed_at is not None and (earliest_failure is None or failed_at < earliest_failure):
                earliest_failure = failed_at
        # Then the orders that wait for an imported status, read again by id.
        _recheck_waiting(
            vendre_client, start, bex_client, lookups, state, run, handled, gate, wait_limit
        )
        if not dry_run and not run.listing_failed and not run.stopped:
            # Never past an order that failed: the next run's window starts before it.
            state.set_cursor(
                "orders",
                start if earliest_failure is None else earliest_failure - timedelta(seconds=1),
            )
    return run.finish()


def import_hinted_orders(
    vendre_client: VendreClient,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    *,
    since: date | datetime | None = None,
    import_statuses: Collection[int] | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    audit: AuditLog | None = None,
    observer: Observer | None = None,
) -> Report:
    """Import the orders webhooks named (the state's pending hints), each exactly once.

    Each order is fetched by id (``GET orders/{id}``: a webhook's body is only a hint) and
    handled as :func:`import_orders` handles a listed order, whatever its date, under the
    same lock. Its hint is cleared once the order is created, known or quarantined. One that
    fails (Vendre or Bex down) keeps its hint for the next call or the next
    :func:`import_orders`, which takes the pending hints up first. An order Vendre does not
    have (404) is reported as skipped and its hint cleared: polling imports it if it turns up.
    The order cursor is neither read nor moved. The go-live controls ``since`` and
    ``import_statuses`` and the baseline apply as in :func:`import_orders`: an order a
    webhook names in a status that is not imported waits (and a later ``updated_order``
    webhook, or the next :func:`import_orders`, brings it in once its status is).

    Raises:
        LockedError: another run holds the state.
        TypeError: ``import_statuses`` is not a collection of integers.
    """
    start = (now or datetime.now(UTC)).astimezone(UTC)
    gate = _gate(since, import_statuses, lookups.settings.time_zone)
    run = _Run("orders", dry_run, audit, observer)
    _fresh_budget(vendre_client, bex_client)
    with _locked(state, dry_run, "orders"):
        _import_hints(vendre_client, start, bex_client, lookups, state, run, set(), gate)
    return run.finish()


def _baseline(
    vendre_client: VendreClient, start: datetime, gate: _Gate, state: StateStore, run: _Run
) -> None:
    """Hold every listed order the state does not know as ``baseline``; the cursor to start."""
    holds: list[HeldOrder] = []
    documents = vendre_client.iter_order_documents(since=gate.since)
    for document in run.listed(documents, "orders"):
        digest = content_hash(document)
        key = _order_key(document, digest)
        entity = key if key >= 0 else f"sha256:{digest[:12]}"
        record = state.get_order(key)
        if record is not None:
            run.record(entity, "skip", "skipped", f"baseline: already {record.state}")
            continue
        status = document.get("status") if isinstance(document, dict) else None
        holds.append(
            HeldOrder(
                order_id=key,
                reason="baseline",
                content_hash=digest,
                status=status if type(status) is int else None,
                updated_at=datetime.now(UTC),
            )
        )
        run.record(entity, "skip", "skipped", "baseline")
    if run.dry_run:
        return
    state.put_held(holds)  # what was listed, even when the listing broke off
    if not run.listing_failed and not run.stopped:
        state.set_cursor("orders", start)


def _recheck_waiting(  # noqa: PLR0917
    vendre_client: VendreClient,
    start: datetime,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    run: _Run,
    handled: set[int],
    gate: _Gate,
    wait_limit: timedelta,
) -> None:
    """Read each waiting order not handled in this run again by id, and import it if it may."""
    zone = lookups.settings.time_zone
    for held in state.held_orders("waiting"):
        if run.stopped:
            return
        order_id = held.order_id
        if order_id in handled:
            continue
        handled.add(order_id)
        if held.placed_at is not None and start - held.placed_at > wait_limit:
            if not run.dry_run:
                state.release_held(order_id)
            reason = f"waited longer than {_span(wait_limit)} for an imported status; let go"
            run.record(order_id, "skip", "skipped", reason)
            continue
        try:
            document = vendre_client.get_order_document(order_id)
        except NotFound:
            if not run.dry_run:
                state.release_held(order_id)
            run.record(order_id, "skip", "skipped", "was waiting; Vendre no longer has it")
            continue
        except HttpError as exc:
            run.failed(order_id, "fetch", "waiting for its status; read again next run", exc)
            continue
        if _order_key(document, content_hash(document)) != order_id:
            run.record(order_id, "fetch", "failed", "Vendre answered with another order")
            continue
        # An intent is recorded before any create: a failure here is taken up next run.
        _import_one(document, start, zone, bex_client, lookups, state, run, gate=gate)
        if not run.dry_run and state.get_order(order_id) is not None:
            state.release_held(order_id)  # created, quarantined or an intent: no longer waits


def _span(value: timedelta) -> str:
    """A timedelta as the config writes it, when it is whole days, hours or minutes."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _import_hints(  # noqa: PLR0917
    vendre_client: VendreClient,
    start: datetime,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    run: _Run,
    handled: set[int],
    gate: _Gate,
) -> None:
    """Take up the pending webhook hints; adds the orders handled to ``handled``.

    A hint is cleared once its order is created, known or quarantined, unless another
    webhook named the order meanwhile (its ``seen`` count rose): then it stays for one more
    look.
    """
    for hint in state.pending_hints():
        if run.stopped:
            break
        order_id = hint.order_id
        known = state.get_order(order_id)
        if order_id in handled:
            pass  # taken up from the intents in this run
        elif known is not None and known.state == "created":
            # Bex has it: an updated_order changes nothing there (see import_orders).
            handled.add(order_id)
            run.record(order_id, "skip", "skipped", f"already in Bex ({hint.event} webhook)")
        else:
            fetched = _import_hinted(
                vendre_client, hint, start, bex_client, lookups, state, run, gate
            )
            if fetched == "missing" and not run.dry_run:  # nothing to wait for
                state.clear_hint(order_id, seen=hint.seen)
            if fetched != "imported":
                continue  # a failed fetch keeps the hint; the listing may still bring it
            handled.add(order_id)
        record = state.get_order(order_id)
        # No record: the go-live controls held it back (a waiting order is read again on
        # each import_orders run, and a later webhook names it again).
        if not run.dry_run and (record is None or record.state != "intent"):
            state.clear_hint(order_id, seen=hint.seen)


def _import_hinted(  # noqa: PLR0917
    vendre_client: VendreClient,
    hint: Hint,
    start: datetime,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    run: _Run,
    gate: _Gate,
) -> Literal["imported", "missing", "failed"]:
    """Fetch a hinted order by id and import it (or quarantine it).

    ``missing``: Vendre has no such order (404); ``failed``: it could not be fetched.
    """
    order_id = hint.order_id
    try:
        document = vendre_client.get_order_document(order_id)
    except NotFound:
        reason = f"a webhook named it ({hint.event}), but Vendre has no order {order_id}"
        run.record(order_id, "skip", "skipped", reason)
        return "missing"
    except HttpError as exc:
        run.failed(order_id, "fetch", "named by a webhook; tried again next run", exc)
        return "failed"
    digest = content_hash(document)
    if _order_key(document, digest) != order_id:
        problem = MappingError(
            f"Vendre answered GET orders/{order_id} with another order", path="$.id"
        )
        _quarantine(
            order_id, order_id, digest, document, problem, state, run, "Vendre sent another order"
        )
    else:
        zone = lookups.settings.time_zone
        _import_one(document, start, zone, bex_client, lookups, state, run, True, gate)
    return "imported"


def _resume_intents(
    start: datetime, bex_client: BexClient, lookups: Lookups, state: StateStore, run: _Run
) -> set[int]:
    """Take up every recorded intent from its stored document; returns their order ids.

    Each is looked up in Bex before anything is sent again. One that fails stays an intent,
    and so in the queue of the next run, however old it is.
    """
    handled: set[int] = set()
    for record in state.orders("intent"):
        if run.stopped:
            break
        handled.add(record.order_id)
        document = json.loads(record.payload, parse_float=Decimal)
        _import_one(
            document, start, lookups.settings.time_zone, bex_client, lookups, state, run, True
        )
    return handled


def _known(record: OrderRecord, digest: str, entity: object, run: _Run) -> bool:
    """Whether the state's record of an order settles it (reported as skipped)."""
    if record.state == "created":
        changed = "" if record.content_hash == digest else "; changed in Vendre since"
        run.record(entity, "skip", "skipped", "already in Bex" + changed)
        return True
    if record.state == "quarantined" and record.content_hash == digest:
        run.record(entity, "skip", "skipped", "quarantined; unchanged since")
        return True
    if record.state == "dropped":
        run.record(entity, "skip", "skipped", "dropped from quarantine by a person")
        return True
    return False


def _import_one(  # noqa: PLR0911, PLR0917
    document: Any,
    start: datetime,
    zone: str,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    run: _Run,
    queued: bool = False,
    gate: _Gate | None = None,
) -> datetime | None:
    """Handle one fetched order; returns its date when it failed (for the cursor).

    A ``queued`` order (an intent taken up again) is created whatever its date. With a
    ``gate`` (listed and hinted orders; not intents or retries), the go-live controls apply.
    """
    digest = content_hash(document)
    order_id = _order_key(document, digest)
    entity = order_id if order_id >= 0 else f"sha256:{digest[:12]}"
    record = state.get_order(order_id)
    if record is not None and _known(record, digest, entity, run):
        return None
    held = state.get_held(order_id) if gate is not None and record is None else None
    if held is not None and held.reason == "baseline":
        run.record(entity, "skip", "skipped", "baseline")
        return None

    try:
        order = vendre.load_order(document, time_zone=zone)
    except MappingError as exc:
        _quarantine(entity, order_id, digest, document, exc, state, run)
        return None
    if order.id != order_id:  # an id beyond what the state can key
        problem = MappingError(
            f"the order id is larger than the state can keep (at most {_KEY_MAX})", path="$.id"
        )
        _quarantine(entity, order_id, digest, document, problem, state, run)
        return None
    if gate is not None and _held_back(order, entity, digest, held, gate, state, run):
        return None
    if order.date_added > start and not queued:
        run.record(entity, "skip", "skipped", "placed after this run started; next run")
        return None
    if held is not None and not run.dry_run:
        state.release_held(order_id)  # its status is imported now: it gets a record below
    try:
        bex_order = convert.order_to_bex(order, lookups)
    except MappingError as exc:
        _quarantine(entity, order_id, digest, document, exc, state, run)
        return None

    if run.dry_run:
        reason = "resume: look up in Bex, then create" if record else "new order"
        run.record(entity, "create", "done", reason)
        return None
    return _create(entity, order, bex_order, document, digest, record, bex_client, state, run)


def _held_back(  # noqa: PLR0917
    order: vendre.Order,
    entity: object,
    digest: str,
    held: HeldOrder | None,
    gate: _Gate,
    state: StateStore,
    run: _Run,
) -> bool:
    """Whether the go-live controls keep the order out of Bex (recorded and reported)."""
    if gate.since is not None and order.date_added < gate.since:
        if held is not None and not run.dry_run:
            state.release_held(order.id)
        run.record(entity, "skip", "skipped", f"placed before since ({gate.since.isoformat()})")
        return True
    if gate.statuses is None or order.status in gate.statuses:
        return False
    if not run.dry_run and (held is None or held.content_hash != digest):
        state.put_held(
            [
                HeldOrder(
                    order_id=order.id,
                    reason="waiting",
                    content_hash=digest,
                    status=order.status,
                    placed_at=order.date_added.astimezone(UTC),
                    updated_at=datetime.now(UTC),
                )
            ]
        )
    run.record(entity, "skip", "skipped", f"waiting: status {order.status} is not imported")
    return True


def _order_key(document: Any, digest: str) -> int:
    """The key of a fetched order in the state: its id as the loader reads it.

    A document without a usable id (it cannot load, or its id is too large for the state: it
    will be quarantined) is kept under a negative key made from its content hash, so that it
    is listed and never lost.
    """
    raw = document.get("id") if isinstance(document, dict) else None
    try:
        key = _int(raw)
    except MappingError:
        key = None
    if key is None or not -_KEY_MAX <= key <= _KEY_MAX:
        return -int(digest[:15], 16) - 1
    return key


def _create(  # noqa: PLR0917
    entity: object,
    order: vendre.Order,
    bex_order: bex.Order,
    document: Any,
    digest: str,
    record: OrderRecord | None,
    bex_client: BexClient,
    state: StateStore,
    run: _Run,
) -> datetime | None:
    """Claim the order, then record the intent, create it, redeem its cards; release it.

    A run without a worker name holds the orders lock alone and claims nothing. Under the
    claim the record is read again: another worker may have settled the order, or
    left its intent (then the order is looked up in Bex first, as after a crash). The claim
    is renewed before each request to Bex, so that it lasts as long as the order takes
    however many requests that is; a claim found taken over meanwhile (this worker was too
    slow, and another took it for dead) ends the order's handling here: the other worker
    finishes it, looking it up in Bex first.
    """
    worker = run.worker
    if worker is None:  # the run holds the orders lock alone: nobody to claim against
        return _create_claimed(
            entity, order, bex_order, document, digest, record, bex_client, state, run
        )
    if not state.claim_order(order.id, worker, run.claim_ttl):
        run.record(entity, "skip", "skipped", "another worker is on it; looked at next run")
        return order.date_added.astimezone(UTC)  # the cursor stays before it

    def renew() -> None:
        if not state.claim_order(order.id, worker, run.claim_ttl):
            raise _ClaimLost

    try:
        record = state.get_order(order.id)
        if record is not None and _known(record, digest, entity, run):
            return None
        return _create_claimed(
            entity, order, bex_order, document, digest, record, bex_client, state, run, renew
        )
    except _ClaimLost:
        reason = "another worker took the order over (this worker's claim ran out); it finishes it"
        run.record(entity, "skip", "skipped", reason)
        return order.date_added.astimezone(UTC)  # the cursor stays before it
    finally:
        state.release_order(order.id, worker)


class _ClaimLost(Exception):
    """The worker's claim on the order it is handling was taken over by another worker."""


def _unclaimed() -> None:
    """The claim renewal of a run that claims nothing (it holds the orders lock alone)."""


def _create_claimed(  # noqa: PLR0917
    entity: object,
    order: vendre.Order,
    bex_order: bex.Order,
    document: Any,
    digest: str,
    record: OrderRecord | None,
    bex_client: BexClient,
    state: StateStore,
    run: _Run,
    renew: Callable[[], None] = _unclaimed,
) -> datetime | None:
    """The body of :func:`_create`, under the order's claim (``renew`` renews it).

    Raises:
        _ClaimLost: another worker took the order over.
    """
    payload = _payload(document)
    resumed = record is not None and record.state == "intent"
    state.put_order(
        OrderRecord(
            order_id=order.id,
            content_hash=digest,
            state="intent",
            payload=payload,
            updated_at=datetime.now(UTC),
        )
    )
    try:
        renew()
        existing = bex_client.find_order(bex_order.number) if resumed else None
        if existing is None:
            renew()
            try:
                bex_client.create_order(bex_order)
            except RequestRejected as exc:
                # Permanent: Bex refuses the order as it is; a person must look at it.
                problem = MappingError(f"Bex refused the order: {exc}")
                _quarantine(
                    entity, order.id, digest, document, problem, state, run, "Bex refused it"
                )
                return None
        for index, card in enumerate(order.gift_cards):
            renew()
            try:
                bex_client.redeem_gift_card(card.reservation_id)
            except (NotFound, RequestRejected) as exc:
                # Permanent: the order is in Bex, but its card needs a person's attention.
                if isinstance(exc, NotFound):
                    why = f"Bex has no gift-card reservation {card.reservation_id!r} to redeem"
                else:
                    why = f"Bex refused to redeem gift-card reservation {card.reservation_id!r}"
                    why += f" ({exc})"
                problem = MappingError(
                    f"{why}; the order was created in Bex",
                    path=f"$.gift_cards[{index}].reservation_id",
                )
                reason = "in Bex; its gift card was not redeemed"
                _quarantine(entity, order.id, digest, document, problem, state, run, reason)
                return None
    except HttpError as exc:
        run.failed(entity, "create", "Bex did not take it; tried again next run", exc)
        return order.date_added.astimezone(UTC)
    state.put_order(
        OrderRecord(
            order_id=order.id,
            content_hash=digest,
            state="created",
            payload=payload,
            updated_at=datetime.now(UTC),
        )
    )
    reason = "found in Bex after an interrupted run" if resumed and existing else "created"
    if order.gift_cards:
        reason += f"; {len(order.gift_cards)} gift card(s) redeemed"
    run.record(entity, "create", "done", reason)
    return None


def _quarantine(  # noqa: PLR0917
    entity: object,
    order_id: int,
    digest: str,
    document: Any,
    error: MappingError,
    state: StateStore,
    run: _Run,
    reason: str = "does not map",
) -> None:
    if not run.dry_run:
        state.put_order(
            OrderRecord(
                order_id=order_id,
                content_hash=digest,
                state="quarantined",
                payload=_payload(document),
                errors=_problems(error),
                updated_at=datetime.now(UTC),
            )
        )
    run.record(entity, "quarantine", "quarantined", reason, _problems(error))


def _retry_arguments(
    first: object, second: object, third: object, fourth: object
) -> tuple[VendreClient | None, BexClient, Lookups, StateStore]:
    """The arguments of :func:`retry_quarantined`; the old ``(bex, lookups, state)`` warns."""
    if fourth is None:  # three arguments: the old order
        _deprecated_order("retry_quarantined", "bex_client, lookups, state", stacklevel=4)
        first, second, third, fourth = None, first, second, third
    return first, second, third, fourth  # type: ignore[return-value]


@overload
def retry_quarantined(
    vendre_client: VendreClient | None,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    *,
    order_ids: list[int] | None = None,
    dry_run: bool = False,
    audit: AuditLog | None = None,
    observer: Observer | None = None,
) -> Report: ...


@overload
def retry_quarantined(  # deprecated: the old order (bex_client, lookups, state)
    vendre_client: BexClient,
    bex_client: Lookups,
    lookups: StateStore,
    *,
    order_ids: list[int] | None = None,
    dry_run: bool = False,
    audit: AuditLog | None = None,
    observer: Observer | None = None,
) -> Report: ...


def retry_quarantined(
    vendre_client: VendreClient | BexClient | None,
    bex_client: BexClient | Lookups,
    lookups: Lookups | StateStore,
    state: StateStore | None = None,
    *,
    order_ids: list[int] | None = None,
    dry_run: bool = False,
    audit: AuditLog | None = None,
    observer: Observer | None = None,
) -> Report:
    """Convert quarantined orders again (after the lookups were fixed) and create them.

    The stored payload (the order as fetched) is used; an order that still fails stays
    quarantined with its new problems. An order whose create fails (Bex down) or is
    interrupted stays recorded as an intent: every later run of :func:`import_orders` takes
    it up (looking it up in Bex first), however old it is.

    ``vendre_client`` is not used (the stored payload is retried; ``None`` will do): it is
    there so that every flow takes ``(vendre_client, bex_client, lookups, state)``. The old
    order ``(bex_client, lookups, state)`` still works, with a ``DeprecationWarning``, until
    the next release.
    """
    vendre_client, bex_client, lookups, state = _retry_arguments(
        vendre_client, bex_client, lookups, state
    )
    run = _Run("orders", dry_run, audit, observer)
    _fresh_budget(bex_client)
    with _locked(state, dry_run, "orders"):
        for record in state.orders("quarantined"):
            if order_ids is not None and record.order_id not in order_ids:
                continue
            if run.stopped:
                break
            document = json.loads(record.payload, parse_float=Decimal)
            forced = OrderRecord(
                order_id=record.order_id,
                content_hash="retry",
                state="intent",
                payload=record.payload,
                updated_at=record.updated_at,
            )
            _retry_one(document, forced, record, bex_client, lookups, state, run)
    return run.finish()


def _retry_one(  # noqa: PLR0917
    document: Any,
    forced: OrderRecord,
    record: OrderRecord,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    run: _Run,
) -> None:
    if run.dry_run:
        try:
            convert.order_to_bex(
                vendre.load_order(document, time_zone=lookups.settings.time_zone), lookups
            )
        except MappingError as exc:
            run.record(
                record.order_id, "quarantine", "quarantined", "still does not map", _problems(exc)
            )
            return
        run.record(record.order_id, "create", "done", "maps now")
        return
    state.put_order(forced)
    _import_one(
        document,
        datetime.now(UTC),
        lookups.settings.time_zone,
        bex_client,
        lookups,
        state,
        run,
        queued=True,
    )


def retry_quarantined_records(
    vendre_client: VendreClient,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    *,
    flow: Literal["products", "stock", "statuses"],
    entities: Iterable[str] | None = None,
    index_max_age: timedelta = DEFAULT_INDEX_MAX_AGE,
    now: datetime | None = None,
    dry_run: bool = False,
    audit: AuditLog | None = None,
    observer: Observer | None = None,
) -> Report:
    """Handle a flow's quarantined records again (after the tables or the data were fixed).

    For orders, see :func:`retry_quarantined`. A quarantined article or status is converted
    again from its stored document and sent; a stock record's stock is read from Bex again
    (stock moves: the stored reading is only evidence) and sent. A record that goes through
    leaves the quarantine; one that still fails stays, with its new problems. Quarantined
    stock records were confirmed off Bex's queue when they were quarantined: a retry
    confirms nothing.

    ``flow`` is ``products``, ``stock`` or ``statuses``; ``entities``, when given, limits the
    retry to those records (as :meth:`StateStore.quarantined` names them; names not in
    quarantine are ignored). The other arguments are as for the flow itself.

    Raises:
        ValueError: ``flow`` is not one of those three.
        LockedError: another run holds the state.
    """
    if flow not in {"products", "stock", "statuses"}:
        msg = f"retry_quarantined_records: no quarantine of flow {flow!r}"
        raise ValueError(msg)
    start = (now or datetime.now(UTC)).astimezone(UTC)
    run = _Run(flow, dry_run, audit, observer)
    _fresh_budget(vendre_client, bex_client)
    wanted = None if entities is None else set(entities)
    with _locked(state, dry_run, flow):
        records = [r for r in state.quarantined(flow) if wanted is None or r.entity in wanted]
        index = _Index(state, dry_run)
        if (
            records
            and flow != "statuses"
            and not index.refresh(vendre_client, run, start, index_max_age)
        ):
            return run.finish()
        zone = lookups.settings.time_zone
        for record in records:
            if run.stopped:
                break
            if flow == "stock":
                _stock_one(
                    record.entity,
                    [],
                    bex_client,
                    vendre_client,
                    lookups,
                    state,
                    index,
                    run,
                    retried=True,
                )
                continue
            document = json.loads(record.payload, parse_float=Decimal)
            if flow == "products":
                _push_article(
                    document, zone, vendre_client, lookups, state, index, run, retried=True
                )
            else:
                _push_status(document, zone, vendre_client, lookups, state, run, retried=True)
    return run.finish()


# --- products, Bex → Vendre --------------------------------------------------------------------


def push_products(
    vendre_client: VendreClient,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
    index_max_age: timedelta = DEFAULT_INDEX_MAX_AGE,
    now: datetime | None = None,
    dry_run: bool = False,
    audit: AuditLog | None = None,
    observer: Observer | None = None,
    max_in_flight: int = 1,
    max_rate: float | None = None,
) -> Report:
    """Send changed Bex articles to Vendre: a parent product and one child product per size.

    Articles changed since the cursor (minus ``overlap``; all on the first run) are
    converted to product families; a family whose content equals what was last pushed is
    skipped. Each product is saved at ``products/{id}``, its id taken from the state's
    index of Vendre's ``article_number → id``; one the index lacks is created (the parent
    first, then each size with ``parent`` set to the parent's id), and its id remembered at
    once. The index is built by listing the shop's products once, and again when it is
    older than ``index_max_age`` (default a day) or after a create whose answer was lost, so
    a product is never created twice. A family is remembered as pushed only when all its
    products were saved. An article that does not load or map is reported
    (``quarantined``) and the others go on. The cursor moves only when every family and the
    listing went through.

    ``max_in_flight`` records are handled at once, each on a thread of its own (its
    requests in their usual order); ``max_rate`` caps the requests a second sent to each
    API, all threads together, for the length of the flow (see
    :meth:`~bexvendre_mapping.http.VendreClient.limit_rate`). The report lists the outcomes
    in the order the records were listed, whatever order they finish in.

    The old order ``(bex_client, vendre_client, lookups, state)`` still works, with a
    ``DeprecationWarning``, until the next release.

    Raises:
        ValueError: ``max_in_flight`` or ``max_rate`` is out of range.
    """
    _check_limits(max_in_flight, max_rate)
    vendre_client, bex_client = _clients(vendre_client, bex_client, "push_products")
    start = (now or datetime.now(UTC)).astimezone(UTC)
    run = _Run("products", dry_run, audit, observer)
    _fresh_budget(vendre_client, bex_client)
    with _locked(state, dry_run, "products"), _paced(max_rate, vendre_client, bex_client):
        cursor = state.get_cursor("products")
        changed_since = cursor - overlap if cursor is not None else None
        index = _Index(state, dry_run)
        failed = not index.refresh(vendre_client, run, start, index_max_age)
        documents = bex_client.iter_article_documents(changed_since=changed_since)
        zone = lookups.settings.time_zone

        def push(document: Any, on: StateStore) -> bool:
            return _push_article(document, zone, vendre_client, lookups, on, index.on(on), run)

        listed = run.listed(documents if not failed else (), "articles")
        if not _each(run, state, listed, push, max_in_flight):
            failed = True
        if not dry_run and not failed and not run.listing_failed and not run.stopped:
            state.set_cursor("products", start)
    return run.finish()


def _push_article(  # noqa: PLR0917
    document: Any,
    zone: str,
    vendre_client: VendreClient,
    lookups: Lookups,
    state: StateStore,
    index: _Index,
    run: _Run,
    *,
    retried: bool = False,
) -> bool:
    """Convert and push one Bex article; whether it was handled (not failed).

    One that does not map is quarantined (kept in the state with its document); one that
    goes through leaves the quarantine if it was there.
    """
    entity = _entity(document, "Artikel")
    try:
        family = convert.article_to_vendre(bex.load_article(document, time_zone=zone), lookups)
    except MappingError as exc:
        reason = "still does not map" if retried else "does not map"
        run.quarantine(state, entity, document, reason, _problems(exc), again=retried)
        return True
    key = family.parent.article_number
    digest = content_hash([vendre.dump_product(p) for p in (family.parent, *family.children)])
    if state.get_pushed("product", key) == digest and not retried:
        run.lift(state, entity)
        run.record(key, "skip", "skipped", "unchanged")
        return True
    diff = _family_diff(family, vendre_client, index) if run.dry_run else {}
    if not _push_family(family, vendre_client, index, run):
        return False
    if not run.dry_run:
        state.set_pushed("product", key, digest)
    run.lift(state, entity)
    sizes = len(family.children)
    reason = f"{sizes} size(s)" if sizes else "unsized"
    if retried:
        reason = f"maps now; {reason}"
    run.record(key, "update", "done", reason, diff=diff)
    return True


def _family_diff(
    family: vendre.ProductFamily, vendre_client: VendreClient, index: _Index
) -> dict[str, tuple[Any, Any]]:
    """What a push of ``family`` would change in the shop, field by field (a dry run's plan).

    Each product the shop has is read (``GET products/{id}``) and compared on the fields the
    push sends; a size's fields are named ``article_number.field``. A product the shop lacks
    shows every field sent as new (old ``None``); one that cannot be read is left out.
    """
    diff: dict[str, tuple[Any, Any]] = {}
    for product in (family.parent, *family.children):
        prefix = "" if product is family.parent else f"{product.article_number}."
        new = _sent_fields(product)
        known = index.get(product.article_number)
        old: dict[str, Any] = {}
        if known is not None:
            try:
                old = _sent_fields(vendre_client.get_product(known))
            except HttpError:
                continue
        for field, value in new.items():
            if old.get(field) != value:
                diff[prefix + field] = (old.get(field), value)
    return diff


def _sent_fields(product: vendre.Product) -> dict[str, Any]:
    """The wire fields of ``product`` that a save sends (those that are not ``None``).

    Left out: the shop's own, its dates and the ids that link a family (not part of a plan).
    """
    dumped = vendre.dump_product(product)
    return {key: value for key, value in dumped.items() if value is not None and key not in _OWN}


_OWN = frozenset({"date_added", "date_modified", "id", "parent", "child_product_ids"})


class _Index:
    """Vendre's ``article_number → id``: the state's index, read through.

    A dry run keeps what it lists in memory: it writes nothing to the state.
    """

    def __init__(self, state: StateStore, dry_run: bool) -> None:
        self.state = state
        self.dry_run = dry_run
        self.listed: dict[str, int] | None = None

    def on(self, state: StateStore) -> _Index:
        """The same index, reading and writing through ``state`` (a worker's view of it)."""
        if state is self.state:
            return self
        view = _Index(state, self.dry_run)
        view.listed = self.listed
        return view

    def get(self, number: str) -> int | None:
        if self.listed is not None:
            return self.listed.get(number)
        return self.state.get_product_id(number)

    # Only a save calls these, and a dry run saves nothing.
    def remember(self, number: str, product_id: int) -> None:
        self.state.set_product_ids({number: product_id})

    def stale(self) -> None:
        self.state.mark_product_index_stale()

    def refresh(
        self, vendre_client: VendreClient, run: _Run, now: datetime, max_age: timedelta
    ) -> bool:
        """List the shop's products into the index when it is missing or too old.

        Only ``id`` and ``article_number`` are read from each record, so that a product the
        library cannot otherwise load still has its id known (and is never created again).
        Returns whether the index is usable.
        """
        refreshed = self.state.product_index_refreshed()
        if refreshed is not None and now - refreshed <= max_age:
            return True
        ids: dict[str, int] = {}
        try:
            for document in vendre_client.iter_product_documents():
                if not isinstance(document, dict):
                    continue
                product_id, number = document.get("id"), document.get("article_number")
                if type(product_id) is int and isinstance(number, str) and number:
                    ids.setdefault(number, product_id)
        except HttpError as exc:
            run.listing_failed = True
            run.failed("Vendre products", "fetch", "the product index was not built", exc)
            return False
        if self.dry_run:
            self.listed = ids
        else:
            self.state.set_product_ids(ids, complete=True)
        return True


def _push_family(
    family: vendre.ProductFamily, vendre_client: VendreClient, index: _Index, run: _Run
) -> bool:
    """Save the parent, then each size under it; whether every save went through."""
    parent_id = _save(family.parent, vendre_client, index, run)
    if parent_id is None:
        return False
    done = True
    for child in family.children:
        saved = _save(attrs.evolve(child, parent=parent_id), vendre_client, index, run)
        done = done and saved is not None
    return done


def _save(
    product: vendre.Product, vendre_client: VendreClient, index: _Index, run: _Run
) -> int | None:
    """Save or create one product; its Vendre id (0 in a dry run's plan), ``None`` on failure."""
    number = product.article_number
    known = index.get(number)
    if run.dry_run:
        if known is None:
            run.record(number, "create", "done", "not in Vendre yet")
        return known or 0
    try:
        saved = vendre_client.save_product(attrs.evolve(product, id=known))
    except NotFound:
        # Deleted in Vendre since the index was built: list again before creating it anew.
        index.stale()
        run.record(number, "update", "failed", "Vendre no longer has it; the index is rebuilt")
        return None
    except HttpError as exc:
        if known is None:  # a create whose answer was lost may have created it
            index.stale()
        run.failed(number, "create" if known is None else "update", "Vendre did not take it", exc)
        return None
    new_id: int | None = saved.id  # never None: the client raises ResponseError first
    if new_id is not None and new_id != known:
        index.remember(number, new_id)
    return new_id


def _entity(document: Any, key: str) -> str:
    """How a fetched record is named in a report: its key field, else its content hash."""
    value = document.get(key) if isinstance(document, dict) else None
    if isinstance(value, str) and value.strip() and value.isprintable() and _utf8(value):
        return value
    return f"sha256:{content_hash(document)[:12]}"


def _utf8(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (it holds no lone surrogate)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


# --- stock, Bex → Vendre -----------------------------------------------------------------------


def push_stock(
    vendre_client: VendreClient,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    *,
    index_max_age: timedelta = DEFAULT_INDEX_MAX_AGE,
    now: datetime | None = None,
    dry_run: bool = False,
    audit: AuditLog | None = None,
    observer: Observer | None = None,
    max_in_flight: int = 1,
    max_rate: float | None = None,
) -> Report:
    """Drain Bex's stock-change queue into Vendre: each size's product gets its quantity.

    For each queued product the stock information is read and converted (negative stock as
    0, the status by the ``stock_status`` setting; the available quantity is what the shop
    may sell) and saved on the Vendre product with that article number (Vendre keeps stock
    on products: ``quantity``, and the warehouse's quantity when the ``warehouses`` table
    maps the Bex client's location). The product's id comes from the state's index (see
    :func:`push_products`). Updates equal to the last pushed value are skipped. Queue
    entries are confirmed only after Vendre took their update (or when there was nothing to
    send); entries whose update failed, or whose stock could not be read, stay queued for
    the next run. An entry that can never be sent (its product is not a model code, its
    stock does not map, or Bex has no stock information for it) is reported as quarantined
    and confirmed, so that it does not hold up the queue; so is one whose article the shop
    does not have (reported as skipped: push the products first).

    Bex shows the queue a page at a time, and a page moves on only as entries are
    confirmed: the flow reads and handles the queue in passes until a pass brings no entry
    it has not handled yet (in a dry run, which confirms nothing, there is one pass).

    ``max_in_flight`` products' records are handled at once, each on a thread of its own (its
    requests in their usual order); ``max_rate`` caps the requests a second sent to each
    API, all threads together, for the length of the flow (see
    :meth:`~bexvendre_mapping.http.VendreClient.limit_rate`). The report lists the outcomes
    in the order the records were listed, whatever order they finish in.

    The old order ``(bex_client, vendre_client, lookups, state)`` still works, with a
    ``DeprecationWarning``, until the next release.

    Raises:
        ValueError: ``max_in_flight`` or ``max_rate`` is out of range.
    """
    _check_limits(max_in_flight, max_rate)
    vendre_client, bex_client = _clients(vendre_client, bex_client, "push_stock")
    start = (now or datetime.now(UTC)).astimezone(UTC)
    run = _Run("stock", dry_run, audit, observer)
    _fresh_budget(vendre_client, bex_client)
    with _locked(state, dry_run, "stock"), _paced(max_rate, vendre_client, bex_client):
        handled: set[int | str] = set()
        index = _Index(state, dry_run)
        usable = index.refresh(vendre_client, run, start, index_max_age)
        while usable and not run.listing_failed and not run.stopped:
            by_product: dict[str, list[int | str]] = {}
            entries = bex_client.iter_queued_stock_changes()
            for entry in run.listed(entries, "stock-change queue"):
                if entry.id not in handled:
                    handled.add(entry.id)
                    by_product.setdefault(entry.product_identifier, []).append(entry.id)
            if not by_product:
                break
            _stock_pass(
                by_product, bex_client, vendre_client, lookups, state, index, run, max_in_flight
            )
            if dry_run:
                break
    return run.finish()


def _stock_pass(  # noqa: PLR0917
    by_product: dict[str, list[int | str]],
    bex_client: BexClient,
    vendre_client: VendreClient,
    lookups: Lookups,
    state: StateStore,
    index: _Index,
    run: _Run,
    max_in_flight: int = 1,
) -> None:
    """Read, convert, send and confirm the queue entries of one pass, product by product.

    Once the run stops, the entries not handled stay queued for the next run.
    """

    def one(record: tuple[str, list[int | str]], on: StateStore) -> bool:
        identifier, entry_ids = record
        _stock_one(identifier, entry_ids, bex_client, vendre_client, lookups, on, index.on(on), run)
        return True

    _each(run, state, by_product.items(), one, max_in_flight)


def _warehouse(bex_client: BexClient, lookups: Lookups) -> str | None:
    location = bex_client.location
    if location is not None and location in lookups.warehouses:
        return lookups.warehouses.get(location)
    return None


def _stock_one(  # noqa: PLR0911, PLR0912, PLR0917
    identifier: str,
    entry_ids: list[int | str],
    bex_client: BexClient,
    vendre_client: VendreClient,
    lookups: Lookups,
    state: StateStore,
    index: _Index,
    run: _Run,
    *,
    retried: bool = False,
) -> None:
    """One stock record (a product's queue entries, or a quarantined one retried): one outcome.

    A record that can never be sent is kept in the state's quarantine (with the stock
    information read, if any) before its queue entries are confirmed, so the queue moves on
    and nothing is forgotten. A retried record has no queue entries left to confirm.
    """
    details: dict[str, Any] = {"entries": list(entry_ids)} if entry_ids else {}
    payload: dict[str, Any] = {"product_identifier": identifier, "entry_ids": list(entry_ids)}
    reason = "still does not map" if retried else "does not map"
    try:
        code = ModelCode.parse(identifier)
    except MappingError as exc:
        _stock_quarantine(
            identifier, entry_ids, payload, reason, _problems(exc), bex_client, state, run, details
        )
        return
    try:
        information = bex_client.get_stock_information(identifier)
    except NotFound as exc:
        _stock_quarantine(
            identifier,
            entry_ids,
            payload,
            "Bex has no stock for it",
            (str(exc),),
            bex_client,
            state,
            run,
            details,
        )
        return
    except HttpError as exc:
        run.failed(identifier, "update", "stock information not read", exc)
        return
    payload["stock_information"] = attrs.asdict(information)
    try:
        update = _stock_update(code, information, lookups)
    except MappingError as exc:
        _stock_quarantine(
            identifier, entry_ids, payload, reason, _problems(exc), bex_client, state, run, details
        )
        return
    update = attrs.evolve(update, warehouse=_warehouse(bex_client, lookups))
    digest = content_hash(vendre.dump_stock_update(update))
    if state.get_pushed("stock", identifier) == digest:
        if _confirmed(bex_client, identifier, entry_ids, run):
            run.lift(state, identifier)
            run.record(identifier, "skip", "skipped", "unchanged", details=details)
        return
    product_id = index.get(str(update.article_number))
    if product_id is None:
        if _confirmed(bex_client, identifier, entry_ids, run):
            reason = "not in the shop; taken off the queue"
            run.record(identifier, "skip", "skipped", reason, details=details)
        return
    reason = f"quantity {update.quantity}, status {update.status}"
    if run.dry_run:
        diff = _stock_diff(vendre_client, product_id, update)
        run.record(identifier, "update", "done", reason, diff=diff, details=details)
        return
    try:
        vendre_client.save_stock(product_id, update)
    except NotFound:
        index.stale()
        run.record(identifier, "update", "failed", "Vendre no longer has the product")
        return
    except HttpError as exc:
        run.failed(identifier, "update", "Vendre did not take it; left queued", exc)
        return
    state.set_pushed("stock", identifier, digest)
    if _confirmed(bex_client, identifier, entry_ids, run):
        run.lift(state, identifier)
        if retried:
            reason = f"maps now; {reason}"
        run.record(identifier, "update", "done", reason, details=details)


def _stock_quarantine(  # noqa: PLR0917
    identifier: str,
    entry_ids: list[int | str],
    payload: dict[str, Any],
    reason: str,
    errors: tuple[str, ...],
    bex_client: BexClient,
    state: StateStore,
    run: _Run,
    details: dict[str, Any],
) -> None:
    """Keep the record in quarantine first, then take its entries off Bex's queue."""
    if not run.dry_run:
        state.put_quarantined(
            QuarantineRecord(
                flow="stock",
                entity=identifier,
                payload=_payload(payload),
                errors=errors,
                reason=reason,
                updated_at=datetime.now(UTC),
            )
        )
    if _confirmed(bex_client, identifier, entry_ids, run, errors):
        run.record(identifier, "quarantine", "quarantined", reason, errors, details=details)


def _stock_diff(
    vendre_client: VendreClient, product_id: int, update: vendre.StockUpdate
) -> dict[str, tuple[Any, Any]]:
    """A dry run's diff of a stock update: the shop's quantity and status against the new."""
    try:
        product = vendre_client.get_product(product_id)
    except HttpError:
        return {"quantity": (None, update.quantity), "status": (None, update.status)}
    old_status = None if product.status is None else int(product.status)
    diff: dict[str, tuple[Any, Any]] = {}
    if product.quantity != update.quantity:
        diff["quantity"] = (product.quantity, update.quantity)
    if old_status != update.status:
        diff["status"] = (old_status, update.status)
    return diff


def _stock_update(
    code: ModelCode, information: StockInformation, lookups: Lookups
) -> vendre.StockUpdate:
    quantity = information.available_quantity
    if quantity != quantity.to_integral_value():
        raise MappingError(
            f"the available quantity {quantity} is not a whole number", path="$.availableQuantity"
        )
    stock = bex.Stock(
        article=code.article, size_group=code.size_group, size=code.size, quantity=int(quantity)
    )
    return convert.stock_to_vendre(stock, lookups)


def _confirmed(
    bex_client: BexClient,
    identifier: str,
    entry_ids: list[int | str],
    run: _Run,
    errors: tuple[str, ...] = (),
) -> bool:
    """Confirm a record's queue entries (not in a dry run); on failure, its one outcome.

    A record whose entries are not confirmed is reported as failed: it stays queued and the
    next run handles it again.
    """
    if run.dry_run or not entry_ids:
        return True
    try:
        for entry_id in entry_ids:
            bex_client.confirm_stock_change(entry_id)
    except HttpError as exc:
        reason = "queue entry not confirmed"
        if errors:
            reason = "kept in quarantine, but its queue entry was not confirmed"
        run.failed(identifier, "confirm", reason, exc)
        return False
    return True


# --- order statuses, Bex → Vendre --------------------------------------------------------------


def _push_status(  # noqa: PLR0917
    document: Any,
    zone: str,
    vendre_client: VendreClient,
    lookups: Lookups,
    state: StateStore,
    run: _Run,
    *,
    retried: bool = False,
) -> bool:
    """Convert and send one Bex order status; whether it was handled (not failed)."""
    entity = _entity(document, "Ordernr")
    try:
        status = bex.load_order_status(document, time_zone=zone)
        update = convert.status_to_vendre(status, lookups)
    except MappingError as exc:
        reason = "still does not map" if retried else "does not map"
        run.quarantine(state, entity, document, reason, _problems(exc), again=retried)
        return True
    key = status.order_number
    sent = state.get_pushed("status", key)
    if sent == status.status:
        run.lift(state, entity)
        run.record(key, "skip", "skipped", f"{status.status} already sent")
        return True
    diff: dict[str, tuple[Any, Any]] = {"status": (sent, status.status)}
    if not run.dry_run:
        try:
            vendre_client.update_order_status(update)
        except NotFound:
            # Orders from the shop's tills are in Bex only: nothing to tell Vendre.
            state.set_pushed("status", key, status.status)
            run.lift(state, entity)
            run.record(key, "skip", "skipped", "not a Vendre order")
            return True
        except HttpError as exc:
            run.failed(key, "update", "Vendre did not take it", exc)
            return False
        state.set_pushed("status", key, status.status)
    run.lift(state, entity)
    reason = f"{status.status} → {update.status}"
    run.record(
        key,
        "update",
        "done",
        f"maps now; {reason}" if retried else reason,
        diff=diff,
        details={"vendre_status": update.status},
    )
    return True


def push_statuses(
    vendre_client: VendreClient,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
    now: datetime | None = None,
    dry_run: bool = False,
    audit: AuditLog | None = None,
    observer: Observer | None = None,
    max_in_flight: int = 1,
    max_rate: float | None = None,
) -> Report:
    """Send Bex order statuses changed since the cursor to Vendre, each once.

    A status already sent for an order is skipped; one that does not load or map (an unknown
    Bex status) is reported as quarantined and the others go on; the cursor moves only when
    every status and the listing went through.

    ``max_in_flight`` statuses are handled at once, each on a thread of its own (its
    requests in their usual order); ``max_rate`` caps the requests a second sent to each
    API, all threads together, for the length of the flow (see
    :meth:`~bexvendre_mapping.http.VendreClient.limit_rate`). The report lists the outcomes
    in the order the records were listed, whatever order they finish in.

    The old order ``(bex_client, vendre_client, lookups, state)`` still works, with a
    ``DeprecationWarning``, until the next release.

    Raises:
        ValueError: ``max_in_flight`` or ``max_rate`` is out of range.
    """
    _check_limits(max_in_flight, max_rate)
    vendre_client, bex_client = _clients(vendre_client, bex_client, "push_statuses")
    start = (now or datetime.now(UTC)).astimezone(UTC)
    run = _Run("statuses", dry_run, audit, observer)
    _fresh_budget(vendre_client, bex_client)
    with _locked(state, dry_run, "statuses"), _paced(max_rate, vendre_client, bex_client):
        cursor = state.get_cursor("statuses")
        documents = bex_client.iter_order_status_documents(
            since=cursor - overlap if cursor else None
        )
        zone = lookups.settings.time_zone

        def push(document: Any, on: StateStore) -> bool:
            return _push_status(document, zone, vendre_client, lookups, on, run)

        listed = run.listed(documents, "order statuses")
        failed = not _each(run, state, listed, push, max_in_flight)
        if not dry_run and not failed and not run.listing_failed and not run.stopped:
            state.set_cursor("statuses", start)
    return run.finish()
