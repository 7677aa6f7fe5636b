"""Vendre's order webhooks as a plain WSGI application: :func:`webhook_app`.

Vendre POSTs ``new_order`` and ``updated_order`` with the order as ``GET orders/{id}``
returns it. The application takes that body as a hint only: it checks the secret in the
URL (``?key=...``), records the order id in the state (committed before it answers), answers
``202 Accepted``, and one background thread then fetches the order by id and imports it
through the same exactly-once path as :func:`~bexvendre_mapping.sync.import_orders`. A hint
that was recorded but not imported (Bex down, a crash, the process stopped) is imported by
the next webhook's pass, a retry every ``retry_every`` seconds, or the next polling run,
which takes the pending hints up first.

No web framework is needed: mount the application in any WSGI server (gunicorn, waitress,
uWSGI, mod_wsgi) or run ``bexvendre serve``.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import date, datetime
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING

from bexvendre_mapping._errors import MappingError
from bexvendre_mapping._lookups import Lookups
from bexvendre_mapping._plan import load_int
from bexvendre_mapping._wire import parse_document
from bexvendre_mapping.http import BexClient, HttpError, VendreClient
from bexvendre_mapping.sync._flows import import_hinted_orders
from bexvendre_mapping.sync._postgres import PostgresState
from bexvendre_mapping.sync._report import AuditLog, Report
from bexvendre_mapping.sync._state import LockedError, SqliteState, StateStore

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = [
    "MAX_BODY",
    "ORDER_EVENTS",
    "WebhookApp",
    "webhook_app",
]

logger = logging.getLogger("bexvendre_mapping.sync.webhook")

#: The events whose body is an order: they record a hint and import the order.
ORDER_EVENTS = frozenset({"new_order", "updated_order"})

#: The event a hint is recorded under when the webhook does not name one.
UNNAMED_EVENT = "order"

#: The headers an event name is read from when the URL has no ``event=`` (WSGI names).
_EVENT_HEADERS = ("HTTP_X_VENDRE_EVENT", "HTTP_X_WEBHOOK_EVENT", "HTTP_X_EVENT")

#: The largest body read (bytes); a larger one is answered 413.
MAX_BODY = 4 * 1024 * 1024

# The largest key SQLite's INTEGER, and so the state, can hold.
_KEY_MAX = 2**63 - 1

# How long a request's own state connection waits for SQLite's write lock (seconds) at least.
_BUSY_TIMEOUT = 10.0


def webhook_app(
    vendre_client: VendreClient,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    *,
    secret: str,
    path: str = "/",
    audit: AuditLog | None = None,
    on_report: Callable[[Report], None] | None = None,
    retry_every: float = 60.0,
    answer_within: float = 5.0,
    since: date | datetime | None = None,
    import_statuses: Collection[int] | None = None,
) -> WebhookApp:
    """A WSGI application that takes Vendre's order webhooks and imports each order once.

    Answers (JSON bodies):

    - ``202``: a ``new_order`` or ``updated_order`` (or an unnamed event) whose body has a
      positive integer ``id``; the hint is committed to the state, then the background
      thread imports it: the answer waits for that pass up to ``answer_within`` seconds
      (so a quick import is done when the sender hears back), and no longer;
    - ``200``: another event (``?event=new_customer``, say), with the right key: ignored;
    - ``400``: the body is not JSON, not an object, or has no positive integer ``id``;
    - ``403``: the ``key`` in the query is missing or wrong (nothing is read or recorded);
    - ``404``: another path; ``405``: another method than POST; ``413``: a body over
      :data:`MAX_BODY`; ``503``: the state could not record the hint (the sender should
      send it again).

    Args:
        vendre_client: fetches each order by id (``GET orders/{id}``).
        bex_client: creates the orders in Bex.
        lookups: the code tables.
        state: the state store. A :class:`SqliteState` is opened again on its file for each
            request and for the background thread (SQLite connections belong to one
            thread); another store is used by one thread at a time, under a lock (a
            request then waits for a pass in progress).
        secret: the ``key`` the URL must carry (compared in constant time).
        path: the path the application answers at (``PATH_INFO``, after any mount point).
        audit: an audit log for the imports.
        on_report: called (in the background thread) with the report of each pass that
            handled an order.
        retry_every: seconds between passes while hints are left that could not be
            imported (Bex or Vendre down, the state held by a sync run).
        answer_within: seconds a ``202`` answer waits at most for the import it asked
            for (``0``: answer as soon as the hint is recorded). Keep it well below the
            sender's timeout; the import goes on in the background either way.
        since: no order placed before it is imported (see :func:`import_orders`).
        import_statuses: the Vendre status ids whose orders are imported; an order in
            another status waits (see :func:`import_orders`).

    Raises:
        ValueError: the secret is empty, ``retry_every`` is not above 0, or
            ``answer_within`` is negative.
    """
    return WebhookApp(
        vendre_client,
        bex_client,
        lookups,
        state,
        secret=secret,
        path=path,
        audit=audit,
        on_report=on_report,
        retry_every=retry_every,
        answer_within=answer_within,
        since=since,
        import_statuses=import_statuses,
    )


class WebhookApp:
    """The WSGI application :func:`webhook_app` returns.

    Call :meth:`start` to take up hints left from before at once (else the first webhook
    does), :meth:`wait_idle` to wait for the imports asked for so far, and :meth:`close`
    (or use it as a context manager) to stop the background thread.
    """

    def __init__(
        self,
        vendre_client: VendreClient,
        bex_client: BexClient,
        lookups: Lookups,
        state: StateStore,
        *,
        secret: str,
        path: str = "/",
        audit: AuditLog | None = None,
        on_report: Callable[[Report], None] | None = None,
        retry_every: float = 60.0,
        answer_within: float = 5.0,
        since: date | datetime | None = None,
        import_statuses: Collection[int] | None = None,
    ) -> None:
        if not secret:
            msg = "the webhook secret must not be empty"
            raise ValueError(msg)
        if not retry_every > 0:
            msg = f"retry_every must be seconds above 0, got {retry_every!r}"
            raise ValueError(msg)
        if not answer_within >= 0:
            msg = f"answer_within must be seconds from 0 up, got {answer_within!r}"
            raise ValueError(msg)
        self.answer_within = answer_within
        self.vendre_client = vendre_client
        self.bex_client = bex_client
        self.lookups = lookups
        self.state = state
        self.path = _normal_path(path)
        self.audit = audit
        self.on_report = on_report
        self.retry_every = retry_every
        self.since = since
        self.import_statuses = import_statuses
        self._secret = secret.encode("utf-8")
        self._state_lock = threading.RLock()  # for a store that is not a SqliteState
        self._cond = threading.Condition()
        self._asked = 0  # passes asked for
        self._done = 0  # the passes asked for that a finished pass covered
        self._left = False  # the last pass left hints it could not import
        self._closed = False
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"WebhookApp(path={self.path!r}, state={self.state!r})"

    # --- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer one request (see :func:`webhook_app`)."""
        status, body, headers = self._handle(environ)
        data = json.dumps(body).encode("utf-8")
        start_response(
            f"{status.value} {status.phrase}",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(data))),
                ("Cache-Control", "no-store"),
                *headers,
            ],
        )
        return [data]

    def _handle(  # noqa: PLR0911 - one return per answer
        self, environ: WSGIEnvironment
    ) -> tuple[HTTPStatus, Mapping[str, object], list[tuple[str, str]]]:
        if _normal_path(environ.get("PATH_INFO") or "/") != self.path:
            return HTTPStatus.NOT_FOUND, {"error": "not found"}, []
        if environ.get("REQUEST_METHOD", "GET").upper() != "POST":
            return HTTPStatus.METHOD_NOT_ALLOWED, {"error": "POST only"}, [("Allow", "POST")]
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        keys = query.get("key", [])
        given = keys[0].encode("utf-8") if len(keys) == 1 else b""
        if not hmac.compare_digest(given, self._secret):
            return HTTPStatus.FORBIDDEN, {"error": "missing or wrong key"}, []
        event = _event(query, environ)
        if event is not None and event not in ORDER_EVENTS:
            return HTTPStatus.OK, {"status": "ignored", "event": event[:64]}, []
        body = _body(environ)
        if isinstance(body, HTTPStatus):
            return body, {"error": "the body is too large"}, []
        order_id, problem = _order_id(body)
        if order_id is None:
            return HTTPStatus.BAD_REQUEST, {"error": problem}, []
        try:
            with self._store(request=True) as store:
                hint = store.add_hint(order_id, event or UNNAMED_EVENT)
        except (sqlite3.Error, OSError) as exc:
            logger.error("could not record the webhook for order %d: %s", order_id, exc)
            failure = {"error": "the hint could not be recorded; send it again"}
            return HTTPStatus.SERVICE_UNAVAILABLE, failure, [("Retry-After", "60")]
        asked = self._kick()
        if self.answer_within > 0 and asked is not None:
            with self._cond:  # wait for the pass that covers this hint, a while at most
                self._cond.wait_for(lambda: self._done >= asked, self.answer_within)
        answer = {"status": "accepted", "order_id": order_id, "event": hint.event}
        return HTTPStatus.ACCEPTED, answer, []

    # --- the background thread ------------------------------------------------------------

    def start(self) -> None:
        """Start the background thread and take up the hints the state holds now."""
        self._kick()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every import asked for so far has been tried; ``False`` on timeout.

        A hint that could not be imported stays in the state (see ``retry_every``).
        """
        with self._cond:
            return self._cond.wait_for(lambda: self._done >= self._asked, timeout)

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop the background thread, after the pass it is in (waiting ``timeout`` at most).

        A pass cut short leaves its hints, or an order's intent, for the next run. Hints
        that arrive after this are still recorded, and imported by the next run.
        """
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def __enter__(self) -> WebhookApp:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _kick(self) -> int | None:
        """Ask the background thread for a pass (starting it when it is not running).

        Returns the number of the pass asked for (``None`` once closed).
        """
        with self._cond:
            if self._closed:
                return None
            self._asked += 1
            if self._thread is None or not self._thread.is_alive():
                # Started here, not in __init__: a server that forks workers after loading
                # the application (gunicorn --preload) gets a thread in each worker.
                self._thread = threading.Thread(
                    target=self._work, name="bexvendre-webhook", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()
            return self._asked

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._closed or self._asked > self._done,
                    self.retry_every if self._left else None,
                )
                if self._closed:
                    return
                target = self._asked
            left = True
            try:
                left = self._pass()
            finally:
                with self._cond:
                    self._done = max(self._done, target)
                    self._left = left
                    self._cond.notify_all()

    def _pass(self) -> bool:
        """Import the pending hints once; whether some are left."""
        try:
            with self._store(request=False) as store:
                try:
                    report = import_hinted_orders(
                        self.vendre_client,
                        self.bex_client,
                        self.lookups,
                        store,
                        audit=self.audit,
                        since=self.since,
                        import_statuses=self.import_statuses,
                    )
                except (LockedError, HttpError, MappingError) as exc:
                    # A sync run holds the lock; or (a safety net: the flows report requests
                    # and documents per record) the pass stopped. The hints wait either way.
                    level = logging.INFO if isinstance(exc, LockedError) else logging.ERROR
                    name = type(exc).__name__
                    logger.log(level, "%s: %s; the webhook hints wait for the next pass", name, exc)
                    return True
                left = bool(store.pending_hints())
        except (sqlite3.Error, OSError) as exc:
            logger.error("the webhook pass could not use the state: %s", exc)
            return True
        for outcome in report.outcomes:
            level = logging.INFO if outcome.result in ("done", "skipped") else logging.WARNING
            errors = "".join(f"; {error}" for error in outcome.errors)
            logger.log(
                level,
                "order %s: %s %s: %s%s",
                outcome.entity,
                outcome.action,
                outcome.result,
                outcome.reason,
                errors,
            )
        if report.outcomes and self.on_report is not None:
            self.on_report(report)
        return left

    @contextlib.contextmanager
    def _store(self, *, request: bool) -> Iterator[StateStore]:
        """The state for this thread: a connection of its own, or the store under a lock."""
        state = self.state
        if isinstance(state, SqliteState):
            # A sqlite3 connection belongs to the thread that made it: open one here. A
            # request only writes its hint: it waits for SQLite's write lock, never for a run.
            wait = max(state.lock_timeout, _BUSY_TIMEOUT) if request else state.lock_timeout
            with SqliteState(state.path, lock_timeout=wait) as own:
                yield own
        elif isinstance(state, PostgresState):
            # A connection of its own, so that a request never waits for a run's queries.
            with PostgresState(state.dsn, shop=state.shop, lock_timeout=state.lock_timeout) as own:
                yield own
        else:
            with self._state_lock:
                yield state


def _normal_path(path: str) -> str:
    return "/" + path.strip("/")


def _event(query: dict[str, list[str]], environ: WSGIEnvironment) -> str | None:
    """The event the webhook names: ``?event=`` or a header; ``None`` when none does."""
    names = query.get("event")
    if names:
        return names[0].strip() or None
    for header in _EVENT_HEADERS:
        value = environ.get(header)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _body(environ: WSGIEnvironment) -> bytes | HTTPStatus:
    """The request's body, or 413 when it is over :data:`MAX_BODY`."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    if length > 0:
        data: bytes = stream.read(length)
        return data
    if environ.get("wsgi.input_terminated"):  # chunked: read to the end, within the bound
        data = stream.read(MAX_BODY + 1)
        return HTTPStatus.REQUEST_ENTITY_TOO_LARGE if len(data) > MAX_BODY else data
    return b""


def _order_id(body: bytes) -> tuple[int | None, str]:
    """The positive order id of a webhook's body, or ``None`` and what is wrong."""
    if not body:
        return None, "the body is empty: expected the order as JSON"
    try:
        document = parse_document(body)
    except MappingError as exc:
        return None, f"the body is not JSON: {exc}"
    if not isinstance(document, dict):
        return None, "the body is not a JSON object: expected the order"
    raw = document.get("id")
    try:
        order_id = load_int(raw)
    except MappingError:
        return None, "the body has no order id: expected a positive integer 'id'"
    if not 0 < order_id <= _KEY_MAX:
        return None, f"the order id must be from 1 to {_KEY_MAX}, got {order_id}"
    return order_id, ""
