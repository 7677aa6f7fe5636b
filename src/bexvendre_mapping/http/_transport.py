"""The transport both clients share: a requests session with timeouts, retries and redaction.

Requests that are safe to repeat (GET, PUT, DELETE) are retried by urllib3's ``Retry``,
mounted through ``requests.adapters.HTTPAdapter``: on connection errors, read errors and
timeouts, and on the statuses of :attr:`RetryPolicy.statuses`, with exponential backoff and
jitter, honouring ``Retry-After`` (one that cannot be read counts as absent). A POST is
never repeated here; the clients decide, per create, how to repeat it safely (see
:meth:`RetryPolicy.delay` and the clients' creates).

Three bounds keep a hostile or broken server from holding a client for ever: a body is read
as it arrives and given up past ``max_response_bytes`` decoded bytes (a ``ResponseError``);
each attempt of a request must be over within ``deadline`` seconds, headers and body
together (a watchdog shuts its socket down; a ``TransportError``); and the waits before
retries, urllib3's and the creates' alike, add up to at most :attr:`RetryPolicy.wait_budget`
seconds between two calls of ``reset_wait_budget()`` (a ``RetryBudgetExhausted``).

A server that announces its rate limit is obeyed before it has to refuse: after an answer
with ``RateLimit-Remaining: 0`` and ``RateLimit-Reset: <seconds>``, the next request waits
that long (at most ``retry_after_max`` seconds, charged to the same wait budget) instead of
running into a 429.

A client may be used from several threads at once (the sync flows' ``max_in_flight``):
each thread sends through a ``requests.Session`` of its own (a session passed in is shared),
while the wait budget, the pause a server asks for and the request rate are the client's,
shared by all its threads. :meth:`BaseClient.limit_rate` caps the requests a second with a
token bucket that every attempt takes a token from, retries included; a 429's
``Retry-After`` (or ``RateLimit-Reset``) and an answer with ``RateLimit-Remaining: 0`` pause
every thread of the client, not only the one that got it.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import heapq
import itertools
import logging
import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

import attrs
import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import ConnectionPool, HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.poolmanager import PoolManager
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from bexvendre_mapping._dates import format_datetime, time_zone
from bexvendre_mapping._errors import MappingError, Problem
from bexvendre_mapping._text import show
from bexvendre_mapping._wire import child_path, parse_document
from bexvendre_mapping.http._errors import (
    EXCERPT_LENGTH,
    ApiError,
    AuthError,
    HttpError,
    NotFound,
    RateLimited,
    RequestRejected,
    ResponseError,
    RetryBudgetExhausted,
    ServerError,
    TransportError,
)

__all__ = [
    "BaseClient",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "Reply",
    "RetryPolicy",
    "Timeout",
    "Transport",
    "basic_credentials",
    "chunks",
    "json_array",
    "path_part",
    "rate_limit_wait",
    "rebase",
    "user_agent",
    "wall_clock",
    "wall_clock_from",
]

T = TypeVar("T")

logger = logging.getLogger("bexvendre_mapping.http")

#: A timeout: one number for both phases, or ``(connect, read)`` in seconds.
Timeout = float | tuple[float, float]

#: Seconds to wait for a connection and, separately, between bytes of the response.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)

#: The most seconds one attempt of a request may take, from sending to the body's last byte.
DEFAULT_DEADLINE = 120.0

#: The largest response body read, in bytes after decoding (gzip and the like): 64 MiB.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

_REDACTED = "***"
# A secret shorter than this is redacted only where it stands as a whole token (not inside
# a longer word or number): redacting "k3" inside every word would garble the text.
_MIN_SECRET = 4

# The body is read in pieces of this many (decoded) bytes, counted as they arrive.
_READ_CHUNK = 64 * 1024

# A Retry-After of more digits than this is longer than any cap (and int() may refuse it).
_LONGEST_SECONDS = 15

# How much of the underlying exception's text a TransportError's message shows.
_DETAIL_LENGTH = 300

# Only this much of a body is decoded to make an excerpt; the excerpt keeps 500 characters.
_EXCERPT_BYTES = 4 * EXCERPT_LENGTH + 64 * 1024


def user_agent() -> str:
    """The ``User-Agent`` of every request: ``bexvendre-mapping/<version>``."""
    from bexvendre_mapping import __version__  # noqa: PLC0415 - the root imports lazily

    return f"bexvendre-mapping/{__version__}"


def basic_credentials(user: str, password: str) -> str:
    """The token an HTTP Basic header carries for ``user`` and ``password`` (for redaction)."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def path_part(value: object) -> str:
    """``value`` quoted to be one segment of a URL path (a ``/`` in it is escaped too)."""
    return quote(str(value), safe="")


# Seconds as RateLimit-Reset gives them: digits, maybe with a fraction.
_SECONDS = re.compile(r"(\d+)(?:\.\d{1,9})?", re.ASCII)
# RateLimit-Remaining: a whole number (a negative one is read as none left).
_COUNT = re.compile(r"-?\d{1,18}", re.ASCII)


def rate_limit_wait(headers: Mapping[str, str], longest: float) -> float | None:
    """Seconds to wait before the next request, from a server's ``RateLimit-*`` headers.

    A wait only when ``RateLimit-Remaining`` is 0 (or less) and ``RateLimit-Reset`` says in
    how many seconds the limit resets (whole seconds, or with a fraction); the wait is at
    most ``longest``. ``None`` when the headers are absent, say requests remain, or cannot
    be read.

    >>> rate_limit_wait({"RateLimit-Remaining": "0", "RateLimit-Reset": "3"}, 120)
    3.0
    >>> rate_limit_wait({"RateLimit-Remaining": "4", "RateLimit-Reset": "3"}, 120) is None
    True
    """
    remaining = headers.get("RateLimit-Remaining")
    reset = headers.get("RateLimit-Reset")
    if remaining is None or reset is None:
        return None
    remaining = remaining.strip()
    if not _COUNT.fullmatch(remaining) or int(remaining) > 0:
        return None
    reset = reset.strip()
    match = _SECONDS.fullmatch(reset)
    if match is None:
        return None
    cap = float(max(longest, 0))
    if len(match.group(1).lstrip("0")) > _LONGEST_SECONDS:
        return cap
    return min(float(reset), cap)


def _upper_set(methods: Iterable[str]) -> frozenset[str]:
    return frozenset(m.upper() for m in methods)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How requests are repeated after transient failures.

    Safe requests (:attr:`methods`) are repeated by urllib3 after connection errors, timeouts
    and the :attr:`statuses`; before the ``n``-th repetition the client waits the server's
    ``Retry-After`` (at most :attr:`retry_after_max` seconds) or else
    ``backoff_factor * 2 ** (n - 1)`` seconds plus a random jitter of up to :attr:`jitter`
    seconds, at most :attr:`backoff_max`. urllib3 repeats the first failure at once.

    Attributes:
        total: how many times a request may be repeated after its first attempt; 0 turns
            retries off.
        backoff_factor: the base of the exponential backoff, in seconds (0 for tests).
        backoff_max: the longest backoff, in seconds.
        jitter: up to this many seconds are added at random to each backoff, so that many
            clients do not retry in step.
        retry_after_max: the longest ``Retry-After`` (or ``RateLimit-Reset``) honoured, in
            whole seconds; a longer one is cut to this.
        statuses: the statuses that are retried.
        methods: the methods urllib3 may repeat. A POST is never among them: the clients'
            creates repeat it themselves, after looking up whether the first attempt was
            committed.
        wait_budget: the most seconds a client spends waiting before retries (the
            ``Retry-After`` waits and the backoffs, of every request together) between two
            calls of its ``reset_wait_budget()``; a wait that would go past it is not
            waited, and the request fails with :class:`RetryBudgetExhausted`. ``None``:
            no bound. The sync flows reset it at the start of each flow.

    >>> RetryPolicy(total=2, backoff_factor=0.5, jitter=0).delay(3)
    2.0
    """

    total: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    backoff_factor: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    backoff_max: float = attrs.field(default=30.0, validator=attrs.validators.ge(0))
    jitter: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    retry_after_max: int = attrs.field(default=120, validator=attrs.validators.ge(0))
    statuses: frozenset[int] = attrs.field(
        default=frozenset({429, 502, 503, 504}), converter=frozenset
    )
    methods: frozenset[str] = attrs.field(
        default=frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PUT"}),
        converter=_upper_set,
    )
    wait_budget: float | None = attrs.field(default=300.0)

    @wait_budget.validator
    def _budget_not_negative(self, _attribute: object, value: float | None) -> None:
        if value is not None and not value >= 0:
            msg = f"wait_budget must be seconds >= 0 or None, got {value!r}"
            raise ValueError(msg)

    @methods.validator
    def _no_post(self, _attribute: object, value: frozenset[str]) -> None:
        if "POST" in value or "PATCH" in value:
            msg = "POST and PATCH are not safe to repeat blindly; the clients' creates handle them"
            raise ValueError(msg)

    @classmethod
    def coerce(cls, retries: int | RetryPolicy | None) -> RetryPolicy:
        """A policy from a client's ``retries`` argument: a policy, a count, or ``None``.

        Raises:
            TypeError: ``retries`` is of another type.
        """
        if retries is None:
            return cls()
        if isinstance(retries, RetryPolicy):
            return retries
        if isinstance(retries, int) and not isinstance(retries, bool):
            return cls(total=retries)
        msg = f"retries must be an int or a RetryPolicy, got {type(retries).__name__}"
        raise TypeError(msg)

    def urllib3_retry(self) -> Retry:
        """The equivalent urllib3 ``Retry``, for ``HTTPAdapter(max_retries=...)``.

        A ``Retry-After`` that is neither whole seconds nor an HTTP date counts as absent:
        the request is retried after the usual backoff (urllib3 itself would give up at once).
        Whole seconds of any length are read (a longer wait than :attr:`retry_after_max` is
        cut to it). :attr:`wait_budget` is the clients' own: this ``Retry`` has none.
        """
        return _LenientRetry.from_policy(self, _WaitBudget(None))

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before the ``attempt``-th repetition (1 for the first) of a create.

        Args:
            attempt: which repetition comes next, from 1.
            retry_after: the server's ``Retry-After`` in seconds, if it sent one.
        """
        if retry_after is not None:
            return float(min(max(retry_after, 0.0), self.retry_after_max))
        backoff = self.backoff_factor * 2 ** (attempt - 1)
        if self.jitter:
            backoff += random.random() * self.jitter  # noqa: S311 - jitter, not a secret
        return float(min(backoff, self.backoff_max))


class _Pacer:
    """When a client may send its next attempt: a token bucket and the server's pause.

    One per client, shared by its threads. The bucket holds at most ``burst`` tokens and
    gains ``rate`` a second; each attempt takes one when it is there (never reserving one
    ahead), so that in any span of ``t`` seconds at most ``burst + rate * t`` attempts go,
    even after the process stalled. The pause (:meth:`pause`) holds every attempt back
    until the server's limit resets; :attr:`charged_until` says how much of it was already
    charged to the wait budget, so that the threads waiting out one pause charge it once.
    """

    def __init__(self) -> None:
        self.rate: float | None = None
        self.burst = 1
        self.resume_at = 0.0
        self.charged_until = 0.0
        self._tokens = 0.0
        self._stamp = 0.0
        self._lock = threading.Lock()

    def limit(self, rate: float | None, burst: int) -> None:
        """Allow ``rate`` attempts a second (``None``: no limit), ``burst`` at once."""
        with self._lock:
            self.rate = rate
            self.burst = burst
            self._tokens = float(burst)
            self._stamp = time.monotonic()

    def pause(self, until: float, *, charged: bool) -> None:
        """Hold every attempt back until ``until`` (``time.monotonic()``)."""
        with self._lock:
            self.resume_at = max(self.resume_at, until)
            if charged:
                self.charged_until = max(self.charged_until, until)

    def charge_pause(self, budget: _WaitBudget) -> float:
        """Seconds until the pause ends, its part not charged yet charged to ``budget``.

        Raises:
            _WaitRefused: the budget does not have it; nothing was charged.
        """
        with self._lock:
            now = time.monotonic()
            wait = self.resume_at - now
            uncharged = self.resume_at - max(now, self.charged_until)
            if uncharged > 0:
                budget.spend(uncharged)
                self.charged_until = self.resume_at
            return wait

    def take(self) -> None:
        """Wait for the pause to end and for a token of the bucket, and take it."""
        while True:
            with self._lock:
                now = time.monotonic()
                wait = self.resume_at - now
                if wait <= 0:
                    if self.rate is None:
                        return
                    self._tokens = min(
                        float(self.burst), self._tokens + (now - self._stamp) * self.rate
                    )
                    self._stamp = now
                    if self._tokens >= 1:
                        self._tokens -= 1
                        return
                    wait = (1 - self._tokens) / self.rate
            time.sleep(wait)


class _LenientRetry(Retry):
    """urllib3's ``Retry``, reading a ``Retry-After`` it cannot parse as absent.

    urllib3 raises ``InvalidHeader`` while it sleeps before a retry when the header is,
    say, ``1.5`` or ``soon``; the request then fails at once, without a status. A server
    that sends such a header still meant "try again", so the backoff is used instead.

    Its waits are charged to a :class:`_WaitBudget` that every copy shares (urllib3 makes a
    new ``Retry`` at each retry, through :meth:`new`), and each retry starts the attempt's
    deadline (:class:`_Deadline`) again once the wait is over.
    """

    def __init__(
        self, *args: Any, budget: _WaitBudget, pacer: _Pacer | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.budget = budget
        self.pacer = pacer

    @classmethod
    def from_policy(
        cls, policy: RetryPolicy, budget: _WaitBudget, pacer: _Pacer | None = None
    ) -> _LenientRetry:
        """The ``Retry`` of ``policy``, charging its waits to ``budget``, paced by ``pacer``."""
        return cls(
            budget=budget,
            pacer=pacer,
            total=policy.total,
            connect=policy.total,
            read=policy.total,
            status=policy.total,
            # TLS failures and other errors are not transient; redirects are not followed.
            other=0,
            redirect=0,
            allowed_methods=policy.methods,
            status_forcelist=policy.statuses,
            backoff_factor=policy.backoff_factor,
            backoff_max=policy.backoff_max,
            backoff_jitter=policy.jitter,
            respect_retry_after_header=True,
            retry_after_max=policy.retry_after_max,
            # The last response is returned and becomes the client's own error.
            raise_on_status=False,
            raise_on_redirect=False,
        )

    def new(self, **kw: Any) -> Self:
        kw.setdefault("budget", self.budget)
        kw.setdefault("pacer", self.pacer)
        return super().new(**kw)

    def parse_retry_after(self, retry_after: str) -> float:
        """Seconds to wait, at most ``retry_after_max``; ``InvalidHeader`` when unreadable.

        urllib3 lets ``ValueError`` out for whole seconds past ``int``'s digit limit and for
        a date whose year is out of range.
        """
        digits = retry_after.strip()
        if digits.isascii() and digits.isdigit():
            significant = digits.lstrip("0")
            if len(significant) > _LONGEST_SECONDS:
                return float(self.retry_after_max)
            return super().parse_retry_after(significant or "0")
        try:
            return super().parse_retry_after(retry_after)
        except (ValueError, OverflowError):
            msg = f"Invalid Retry-After header: {show(retry_after)}"
            raise InvalidHeader(msg) from None

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        new = super().increment(method, url, response, error, _pool, _stacktrace)
        if response is not None:
            # urllib3 reads a retried response's body to the end before the retry, however
            # long it runs; closing the connection instead leaves nothing to read.
            response.close()
        return new

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        """Wait as urllib3 would (``Retry-After``, else the backoff), within the budget.

        Raises:
            _WaitRefused: the wait would go past the budget; nothing was waited.
        """
        retry_after = None
        if self.respect_retry_after_header and response is not None:
            retry_after = self.get_retry_after(response)
            if retry_after is None:
                # A 429 that says when the limit resets, but not Retry-After.
                retry_after = rate_limit_wait(response.headers, self.retry_after_max)
        wait = retry_after or self.get_backoff_time()
        self.budget.spend(wait, status=None if response is None else response.status)
        if self.pacer is not None and response is not None and response.status == 429:
            # Every thread of the client waits this 429 out, not only this one.
            self.pacer.pause(time.monotonic() + wait, charged=True)
        deadline = _DEADLINE.get()
        if deadline is not None:
            deadline.stop()
        if wait > 0:
            time.sleep(wait)
        if self.pacer is not None:
            # A retry is a request too: it takes its token (and waits out a pause).
            self.pacer.take()
        if deadline is not None:
            deadline.start()


class _WaitRefused(Exception):
    """A wait that would pass the budget; :class:`Transport` makes it a RetryBudgetExhausted."""

    def __init__(self, wait: float, spent: float, budget: float, status: int | None) -> None:
        self.wait = wait
        self.spent = spent
        self.budget = budget
        self.status = status
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return (
            f"gave up retrying: waiting {self.wait:.1f}s more would pass the retry wait "
            f"budget of {self.budget:g}s ({self.spent:.1f}s waited since it was last reset)"
        )


class _WaitBudget:
    """The seconds of retry waits a client may still spend; one per client, thread-safe."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.spent = 0.0
        self._lock = threading.Lock()

    def spend(self, wait: float, *, status: int | None = None) -> None:
        """Charge ``wait`` seconds, or raise :class:`_WaitRefused` (charging nothing)."""
        if self.seconds is None or wait <= 0:
            return
        with self._lock:
            if self.spent + wait > self.seconds:
                raise _WaitRefused(wait, self.spent, self.seconds, status)
            self.spent += wait

    def reset(self) -> None:
        with self._lock:
            self.spent = 0.0


class _Watchdog:
    """One thread that ends, for every client of the process, the attempts past their time.

    A deadline is a ticket in a heap ordered by when it is due; stopping a deadline makes its
    ticket stale, and a stale ticket is dropped when it comes up. One thread for the whole
    process, started at the first deadline and waiting on a condition between them: a
    thread a request would cost time and, with requests in several threads, memory
    (threads that come and go keep the C allocator's pools growing). After a ``fork`` the
    child starts a thread of its own at its first deadline.
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._tickets = itertools.count(1)
        self._thread: threading.Thread | None = None

    def schedule(self, deadline: _Deadline, seconds: float) -> int:
        """Have ``deadline`` expire in ``seconds`` unless its ticket is stale by then."""
        with self._condition:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="bexvendre-deadlines", daemon=True
                )
                self._thread.start()
            ticket = next(self._tickets)
            heapq.heappush(self._heap, (time.monotonic() + seconds, ticket, deadline))
            if self._heap[0][1] == ticket:  # due before the one the thread waits for
                self._condition.notify()
            return ticket

    def _run(self) -> None:
        condition, heap = self._condition, self._heap
        while True:
            with condition:
                while True:
                    if not heap:
                        condition.wait()
                        continue
                    due, ticket, deadline = heap[0]
                    if deadline.ticket != ticket:  # stopped or started again
                        heapq.heappop(heap)
                        continue
                    left = due - time.monotonic()
                    if left > 0:
                        condition.wait(left)
                        continue
                    heapq.heappop(heap)
                    break
            deadline.expire(ticket)


class _Deadline:
    """The watchdog of one request: it ends an attempt that runs longer than ``seconds``.

    A read timeout bounds each wait for the next bytes, not the whole answer: a server that
    sends a byte every second never trips it. When an attempt's time is up, the watchdog
    shuts the attempt's socket down, which wakes a blocked read at once; the read then fails
    as a lost connection would, and :attr:`expired` tells the two apart. The attempt's
    connection registers its socket as soon as it is connected (see
    :class:`_WatchedHTTPConnection`) through the context variable :data:`_DEADLINE`, which
    :meth:`Transport.request` sets, so a TLS handshake or a proxy's tunnel that trickles is
    watched too. The watchdog keeps a duplicate of the socket: TLS detaches the socket it
    wraps, and a connection hands its socket over to a response that reads until the
    connection closes, and forgets it. The clocks of every request run on one thread
    (:class:`_Watchdog`).
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.expired = False
        #: The attempt's ticket with the watchdog; ``None`` while no clock runs.
        self.ticket: int | None = None
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None

    def start(self) -> None:
        """Start the clock of an attempt (again, after a retry's wait)."""
        with self._lock:
            self.expired = False
            self.ticket = None
            if self.seconds is not None:
                self.ticket = _WATCHDOG.schedule(self, self.seconds)

    def stop(self) -> None:
        """Stop the clock and forget the socket (its connection may go back to the pool)."""
        with self._lock:
            self.ticket = None
            self._replace(None)

    def watch(self, sock: socket.socket) -> None:
        """Watch ``sock``, the attempt's; shut it down at once if time is up."""
        try:
            twin = socket.fromfd(sock.fileno(), sock.family, sock.type)
        except OSError:  # pragma: no cover - closed meanwhile: nothing left to watch
            return
        with self._lock:
            self._replace(twin)
            if self.expired:  # pragma: no cover - only when connecting outlasts the deadline
                _shut_down(twin)

    def _replace(self, sock: socket.socket | None) -> None:
        if self._socket is not None:
            self._socket.close()
        self._socket = sock

    def expire(self, ticket: int) -> None:
        """Time is up for the attempt of ``ticket`` (the watchdog's call)."""
        with self._lock:
            if self.ticket != ticket:  # pragma: no cover - a race: the attempt just ended
                return
            self.expired = True
            if self._socket is not None:
                _shut_down(self._socket)


_WATCHDOG = _Watchdog()


def _shut_down(sock: socket.socket) -> None:
    # A duplicate, never TLS: shutting it down ends the connection it shares with the
    # reader, whose blocked read returns at once. OSError: closed meanwhile.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


#: The deadline of the request this thread (or task) is sending, if any.
_DEADLINE: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar(
    "bexvendre_mapping_http_deadline", default=None
)


def _watch(sock: socket.socket | None) -> None:
    deadline = _DEADLINE.get()
    if deadline is not None and sock is not None:
        deadline.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    """urllib3's connection, watched by the deadline of the request it serves.

    A new connection is watched once its TCP connection is made (``_new_conn``), one taken
    from the pool when a request is sent on it.
    """

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """urllib3's TLS connection, watched as :class:`_WatchedHTTPConnection` is."""


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_PLAIN_POOLS = {"http": HTTPConnectionPool, "https": HTTPSConnectionPool}
_WATCHED_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": _WatchedHTTPPool,
    "https": _WatchedHTTPSPool,
}


class _Redirected(Exception):
    """A redirect answer, handed from :class:`_Adapter` to :meth:`Transport.request`."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class _Adapter(HTTPAdapter):
    """requests' adapter, which stops a redirect before requests looks at its ``Location``.

    The client follows no redirect, yet ``Session.send`` parses a redirect's ``Location``
    even with ``allow_redirects=False`` (to offer ``Response.next``), and a ``Location`` it
    cannot parse (a port out of range, a broken IPv6 address, bytes that are not UTF-8)
    raises ``ValueError`` or ``UnicodeDecodeError`` out of the request. So the redirect is
    read here, where requests builds the response, and handed back as :class:`_Redirected`
    (its body unread: :meth:`Transport.request` reads it as any other, within the bounds).

    Its connections are watched by the request's deadline (:class:`_Deadline`), also through
    an HTTP proxy; through a SOCKS proxy only the timeouts apply.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, PoolManager) and manager.pool_classes_by_scheme == _PLAIN_POOLS:
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager

    def build_response(
        self, req: requests.PreparedRequest, resp: BaseHTTPResponse
    ) -> requests.Response:
        response = super().build_response(req, resp)
        if response.is_redirect:
            raise _Redirected(response)
        return response


def base_url_problem(url: str) -> str | None:
    """What keeps ``url`` from being an API's base URL (quoted without credentials), or None."""
    shown = show(_strip_userinfo(url))
    try:
        parts = urlsplit(url)
        _ = parts.port  # not a number, or out of range: requests would fail on each request
    except ValueError as exc:  # that, or a broken IPv6 address
        return f"cannot be parsed ({exc}): {shown}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"expected an http(s) URL with a host, like 'https://host/API/1/', got {shown}"
    if "@" in parts.netloc:
        # It would show in the client's repr and base_url, and requests would send it as
        # Basic credentials of its own.
        return (
            "holds a user name or password (user:password@); put credentials in the "
            f"client's api_key (and Bex's secret), never in the URL: {shown}"
        )
    return None


def _normalise_base(base_url: str) -> str:
    problem = base_url_problem(base_url)
    if problem is not None:
        msg = f"base_url {problem}"
        raise ValueError(msg)
    parts = urlsplit(base_url)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit(SplitResult(parts.scheme, parts.netloc, path, "", ""))


def _describe_location(location: str | None, redact: Callable[[str], str]) -> str:
    """A redirect's ``Location`` for a message: without credentials, or saying what is wrong.

    A ``Location`` that cannot be read is quoted (shortened, any ``user:password@`` cut
    out) with the reason, so that the message still says where the server pointed.
    """
    if location is None:
        return "nowhere (no Location)"
    try:
        # http.client decodes a header as Latin-1; its bytes are meant as UTF-8.
        text = location.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raw = redact(_strip_userinfo(location)).encode("latin-1", errors="replace")
        return f"a Location that is not UTF-8: {show(raw)}"
    try:
        _ = urlsplit(text).port
        return redact(_display_url(text))
    except ValueError as exc:
        shown = show(redact(_strip_userinfo(text)))
        return f"a Location that cannot be parsed ({exc}): {shown}"


_USERINFO = re.compile(r"(//)[^/?#@]*@")


def _strip_userinfo(url: str) -> str:
    """``url`` without its ``user:password@``, for one that does not parse."""
    return _USERINFO.sub(r"\1", url, count=1)


def _display_url(url: str) -> str:
    """``url`` without user name or password in it."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@attrs.frozen
class Reply:
    """A successful response, read completely."""

    method: str
    url: str
    status: int
    content: bytes
    headers: Mapping[str, str]
    transport: Transport

    def document(self) -> Any:
        """The body as JSON, numbers with a fraction as Decimal.

        Raises:
            ResponseError: the body is not UTF-8 JSON.
        """
        try:
            return parse_document(self.content)
        except MappingError as exc:
            raise self.transport.response_error(
                "the response is not a JSON document", self, exc
            ) from None

    def load(self, loader: Any, document: Any, path: str = "$") -> Any:
        """Load ``document`` (found at ``path`` in the body) with a library loader.

        Raises:
            ResponseError: the document fails to load; it carries the MappingError, with
                the problems' paths rebased to where they are in the body.
        """
        try:
            return loader(
                document, strict=self.transport.strict, time_zone=self.transport.time_zone
            )
        except MappingError as exc:
            raise self.transport.response_error(
                "a document in the response does not load", self, rebase(exc, path)
            ) from None

    def field(self, document: Any, key: str, kind: type | tuple[type, ...]) -> Any:
        """``document[key]``, checked to be of ``kind``.

        Raises:
            ResponseError: ``document`` is not an object, or the key is missing or of
                another type.
        """
        if not isinstance(document, Mapping):
            problem = Problem("$", f"expected an object, got {type(document).__name__}")
        elif key not in document:
            problem = Problem(child_path("$", key), "required field is missing")
        else:
            value = document[key]
            if isinstance(value, kind) and not (isinstance(value, bool) and kind is int):
                return value
            problem = Problem(child_path("$", key), f"unexpected value {show(value)}")
        raise self.transport.response_error(
            "the response does not have the expected shape", self, MappingError([problem])
        )


def rebase(error: MappingError, path: str) -> MappingError:
    """``error`` with its problems' paths placed below ``path`` (``$`` → ``$.list[3]``)."""
    if path == "$":
        return error
    return MappingError([Problem(path + p.path[1:], p.message) for p in error.problems])


class Transport:
    """One API's base URL, credentials, session, timeouts and retries.

    Not public: :class:`~bexvendre_mapping.http.VendreClient` and
    :class:`~bexvendre_mapping.http.BexClient` each hold one.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str],
        auth: tuple[str, str] | None,
        secrets: Iterable[str],
        timeout: Timeout,
        retries: RetryPolicy,
        session: requests.Session | None,
        verify: bool | str,
        trust_env: bool,
        time_zone: str,
        strict: bool,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        deadline: float | None = DEFAULT_DEADLINE,
    ) -> None:
        self.base_url = _normalise_base(base_url)
        self.timeout = _check_timeout(timeout)
        self.max_response_bytes = _check_max_response_bytes(max_response_bytes)
        self.deadline = _check_deadline(deadline)
        self.retries = retries
        self.verify = verify
        self.time_zone = time_zone
        self.strict = strict
        self._headers = {
            "User-Agent": user_agent(),
            "Accept": "application/json",
            **headers,
        }
        self._auth = auth
        self._secrets = _secrets_pattern(secrets)
        # The request rate and the server's pauses, shared by every thread of the client.
        self._pacer = _Pacer()
        # One budget for every request of the client, shared by urllib3's copies of the Retry.
        self._retry = _LenientRetry.from_policy(
            retries, _WaitBudget(retries.wait_budget), self._pacer
        )
        self._trust_env = trust_env
        self._owns_session = session is None
        # Each thread gets a session (and connection pool) of its own, made on its first
        # request; a session of the caller's is shared by all.
        self._sessions: dict[threading.Thread, tuple[requests.Session, _Adapter]] = {}
        self._sessions_lock = threading.Lock()
        self._shared: requests.Session | None = session
        if session is not None:
            self._adapter = _Adapter(max_retries=self._retry)
            # A session of the caller's keeps its other adapters; ours serves our API only.
            session.mount(self.base_url, self._adapter)

    @property
    def _session(self) -> requests.Session:
        """The session of the calling thread (the caller's, if one was passed in)."""
        if self._shared is not None:
            return self._shared
        thread = threading.current_thread()
        with self._sessions_lock:
            known = self._sessions.get(thread)
            if known is not None:
                return known[0]
            # The sessions of threads that ended (a flow's workers) are closed here.
            for ended in [t for t in self._sessions if not t.is_alive()]:
                old_session, old_adapter = self._sessions.pop(ended)
                old_adapter.close()
                old_session.close()
            session = requests.Session()
            session.trust_env = self._trust_env
            adapter = _Adapter(max_retries=self._retry)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._sessions[thread] = (session, adapter)
            return session

    @property
    def max_rate(self) -> float | None:
        """The most requests a second this client sends (``None``: no limit)."""
        return self._pacer.rate

    @property
    def burst(self) -> int:
        """How many requests may go at once after a quiet spell, within :attr:`max_rate`."""
        return self._pacer.burst

    def limit_rate(self, max_rate: float | None, *, burst: int = 1) -> None:
        """Send at most ``max_rate`` requests a second, from all threads together.

        Raises:
            ValueError: ``max_rate`` is not a number of requests above 0, or ``burst`` is
                below 1.
        """
        check_max_rate(max_rate)
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            msg = f"burst must be a whole number of requests >= 1, got {burst!r}"
            raise ValueError(msg)
        self._pacer.limit(None if max_rate is None else float(max_rate), burst)

    # --- public helpers for the clients ----------------------------------------------------

    def url(self, path: str) -> str:
        """The absolute URL of ``path``, relative to the base URL."""
        return self.base_url + path.lstrip("/")

    def redact(self, text: str) -> str:
        """``text`` with every credential replaced by ``***``.

        A credential of 4 characters or more is replaced wherever it appears; a shorter one
        where it stands as a whole token, not next to another letter or digit (``k3`` in
        ``key=k3&`` or ``user k3:`` but not in ``k3y``).
        """
        return self._secrets.sub(_REDACTED, text)

    def reset_wait_budget(self) -> None:
        """Give the retries their whole :attr:`RetryPolicy.wait_budget` again."""
        self._retry.budget.reset()

    def wait(self, seconds: float, after: HttpError) -> None:
        """Sleep ``seconds`` before repeating what failed with ``after``, within the budget.

        Raises:
            RetryBudgetExhausted: the wait would pass the wait budget; nothing was waited.
        """
        try:
            self._retry.budget.spend(seconds, status=after.status)
        except _WaitRefused as refused:
            raise RetryBudgetExhausted(
                refused.message,
                method=after.method,
                url=after.url,
                status=after.status,
                body_excerpt=after.body_excerpt,
            ) from after
        if after.status == 429:
            # Every thread of the client waits this 429 out.
            self._pacer.pause(time.monotonic() + seconds, charged=True)
        time.sleep(seconds)

    def close(self) -> None:
        """Close the connections (and the sessions, unless it was the caller's)."""
        if self._shared is not None:
            self._adapter.close()
            return
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, {}
        for session, adapter in sessions.values():
            adapter.close()
            session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        """Send a request and return the response, or raise the matching :class:`HttpError`.

        Args:
            method: the HTTP method.
            path: the path relative to the base URL (its parts already quoted).
            params: query parameters.
            body: a JSON body, already serialised.

        Raises:
            HttpError: the request failed; see the error tree.
        """
        url = self.url(path)
        self._await_rate_limit(method, url, params)
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        started = time.monotonic()
        deadline = _Deadline(self.deadline)
        token = _DEADLINE.set(deadline)
        deadline.start()
        try:
            response, content, complete = self._exchange(method, url, params, body, headers)
        except requests.exceptions.InvalidHeader as exc:
            # A header urllib3 cannot read, e.g. a Content-Length with two different values.
            full_url = self._full_url(url, params)
            raise TransportError(
                self.redact(f"the server sent a header that cannot be read: {exc}"),
                method=method,
                url=full_url,
                connected=True,
            ) from exc
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            full_url = self._full_url(url, params)
            logger.debug(
                "%s %s failed after %.3fs: %s",
                method,
                full_url,
                _since(started),
                self.redact(str(exc)),
            )
            if deadline.expired:
                raise self._deadline_error(method, full_url) from exc
            raise TransportError(
                self.redact(_transport_message(exc)),
                method=method,
                url=full_url,
                connected=not _never_connected(exc),
            ) from exc
        except _WaitRefused as refused:
            full_url = self._full_url(url, params)
            logger.debug("%s %s: %s", method, full_url, refused.message)
            raise RetryBudgetExhausted(
                refused.message, method=method, url=full_url, status=refused.status
            ) from None
        finally:
            deadline.stop()
            _DEADLINE.reset(token)
        full_url = self.redact(_display_url(response.url or url))
        self._note_rate_limit(response.status_code, response.headers)
        if deadline.expired:
            # A body that runs until the connection closes ends without an error.
            raise self._deadline_error(method, full_url)
        logger.debug(
            "%s %s -> %s (%d bytes, %.3fs)",
            method,
            full_url,
            response.status_code,
            len(content),
            _since(started),
        )
        reply = Reply(method, full_url, response.status_code, content, response.headers, self)
        if not 200 <= response.status_code < 300:
            raise self.status_error(reply)
        if not complete:
            raise self.response_error(
                f"the response is larger than the limit of {self.max_response_bytes} bytes "
                "(max_response_bytes); the rest was not read",
                reply,
            )
        return reply

    def _note_rate_limit(self, status: int, headers: Mapping[str, str]) -> None:
        """Remember when to send the next request, if ``headers`` say none is left.

        A 429 with a ``Retry-After`` pauses the client (all its threads) that long too.
        """
        wait = rate_limit_wait(headers, self.retries.retry_after_max)
        if status == 429:
            wait = self._retry_after(headers.get("Retry-After")) or wait
        if wait is None or wait <= 0:
            return
        self._pacer.pause(time.monotonic() + wait, charged=False)

    def _await_rate_limit(
        self, method: str, url: str, params: Mapping[str, str | int] | None
    ) -> None:
        """Wait until the server's rate limit resets, then for the client's rate (a token).

        The pause the server asked for is charged to the wait budget once, however many
        threads wait it out.

        Raises:
            RetryBudgetExhausted: the wait would pass the wait budget; nothing was waited
                and nothing was sent.
        """
        try:
            wait = self._pacer.charge_pause(self._retry.budget)
        except _WaitRefused as refused:
            full_url = self._full_url(url, params)
            message = (
                f"gave up: waiting {refused.wait:.1f}s for the server's rate limit to reset "
                f"(RateLimit-Reset) would pass the retry wait budget of {refused.budget:g}s "
                f"({refused.spent:.1f}s waited since it was last reset)"
            )
            logger.debug("%s %s: %s", method, full_url, message)
            raise RetryBudgetExhausted(message, method=method, url=full_url) from None
        if wait > 0:
            logger.debug(
                "%s %s: waiting %.2fs for the server's rate limit to reset",
                method,
                self._full_url(url, params),
                wait,
            )
        self._pacer.take()

    def _exchange(
        self,
        method: str,
        url: str,
        params: Mapping[str, str | int] | None,
        body: bytes | None,
        headers: Mapping[str, str],
    ) -> tuple[requests.Response, bytes, bool]:
        """Send the request and read its answer: the response, its body, whether whole."""
        try:
            response = self._session.request(
                method,
                url,
                params=dict(params) if params else None,
                data=body,
                headers=headers,
                auth=self._auth,
                timeout=self.timeout,
                verify=self.verify,
                # A redirect could carry the X-Authorization header to another host.
                allow_redirects=False,
                # The body is read below, counted as it arrives.
                stream=True,
            )
        except _Redirected as redirected:
            # Not followed; it becomes a ResponseError, like any other 3xx.
            response = redirected.response
        with response:
            content, complete = self._read_body(response)
        return response, content, complete

    def _read_body(self, response: requests.Response) -> tuple[bytes, bool]:
        """The decoded body as far as it was read, and whether it was read whole.

        A success is read up to :attr:`max_response_bytes`, any other answer only as far as
        its error's excerpt needs; of a body cut short, only that start is kept. Leaving the
        ``with`` closes the connection on the rest.
        """
        success = 200 <= response.status_code < 300
        limit = self.max_response_bytes if success else _EXCERPT_BYTES
        pieces: list[bytes] = []
        size = 0
        for piece in response.iter_content(_READ_CHUNK):
            pieces.append(piece)
            size += len(piece)
            if size > limit:
                return _head(pieces, _EXCERPT_BYTES), False
        return b"".join(pieces), True

    def _deadline_error(self, method: str, full_url: str) -> TransportError:
        return TransportError(
            f"no complete answer within the deadline of {self.deadline:g}s per attempt "
            "(deadline); the server may be sending it very slowly",
            method=method,
            url=full_url,
            connected=True,
        )

    def status_error(self, reply: Reply) -> HttpError:
        """The error for a response that is not a success."""
        status = reply.status
        common: dict[str, Any] = {
            "method": reply.method,
            "url": reply.url,
            "status": status,
            "body_excerpt": self.excerpt(reply.content),
        }
        retry_after = self._retry_after(reply.headers.get("Retry-After"))
        if status == 429:
            return RateLimited("rate limited by the server", retry_after=retry_after, **common)
        if 300 <= status < 400:
            location = self.redact(_describe_location(reply.headers.get("Location"), self.redact))
            return ResponseError(
                f"unexpected redirect to {location} (redirects are not followed; "
                "check the base URL)",
                **common,
            )
        if 500 <= status < 600:
            return ServerError("the server failed", retry_after=retry_after, **common)
        cls, message = (
            _STATUS_ERRORS.get(status)
            or _STATUS_ERRORS.get(status // 100 * 100)
            or (ResponseError, "unexpected status")
        )
        if cls is RequestRejected:
            return RequestRejected(message, errors=self.api_errors(reply.content), **common)
        return cls(message, **common)

    def api_errors(self, content: bytes) -> tuple[ApiError, ...]:
        """The ``{"errors": [...]}`` objects of an error body, credentials redacted.

        ``()`` for a body of any other shape (not JSON, cut short, another document).
        """
        try:
            document = parse_document(content)
        except MappingError:
            return ()
        return tuple(
            ApiError(
                **{
                    name: None if value is None else self.redact(value)
                    for name, value in attrs.asdict(error).items()
                }
            )
            for error in ApiError.from_document(document)
        )

    def response_error(
        self, message: str, reply: Reply, error: MappingError | None = None
    ) -> ResponseError:
        """A :class:`ResponseError` about ``reply``'s body, carrying ``error``."""
        if error is not None:
            message = f"{message}: {self.redact(_summary(error))}"
        return ResponseError(
            message,
            method=reply.method,
            url=reply.url,
            status=reply.status,
            body_excerpt=self.excerpt(reply.content),
            mapping_error=error,
        )

    def excerpt(self, content: bytes) -> str:
        """The first 500 characters of ``content``, decoded leniently, credentials redacted."""
        text = content[:_EXCERPT_BYTES].decode("utf-8", errors="replace")
        return self.redact(text)[:EXCERPT_LENGTH]

    # --- internals ------------------------------------------------------------------------

    def _full_url(self, url: str, params: Mapping[str, str | int] | None) -> str:
        prepared = requests.Request("GET", url, params=dict(params) if params else None)
        return self.redact(_display_url(prepared.prepare().url or url))

    def _retry_after(self, value: str | None) -> float | None:
        if value is None:
            return None
        try:
            return self._retry.parse_retry_after(value)
        except InvalidHeader:
            return None


_STATUS_ERRORS: dict[int, tuple[type[HttpError], str]] = {
    401: (AuthError, "the server refused the credentials"),
    403: (AuthError, "the server refused the access"),
    404: (NotFound, "not found"),
    400: (RequestRejected, "the server rejected the request"),
}


def check_max_rate(max_rate: object) -> None:
    """Refuse a rate that is not a number of requests a second above 0 (``None``: no limit).

    Raises:
        ValueError: it is not.
    """
    if max_rate is not None and (
        isinstance(max_rate, bool)
        or not isinstance(max_rate, int | float)
        or not 0 < max_rate < float("inf")
    ):
        msg = f"max_rate must be requests a second > 0 or None, got {max_rate!r}"
        raise ValueError(msg)


def _check_timeout(timeout: Timeout) -> Timeout:
    values: Sequence[float] = timeout if isinstance(timeout, tuple) else (timeout,)
    if len(values) not in (1, 2) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in values
    ):
        msg = f"timeout must be seconds > 0 or a (connect, read) pair of them, got {timeout!r}"
        raise ValueError(msg)
    return timeout


def _head(pieces: Iterable[bytes], size: int) -> bytes:
    """The first ``size`` bytes of ``pieces`` joined."""
    head = bytearray()
    for piece in pieces:
        if len(head) >= size:
            break
        head += piece[: size - len(head)]
    return bytes(head)


def _check_max_response_bytes(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        msg = f"max_response_bytes must be a whole number of bytes >= 1, got {value!r}"
        raise ValueError(msg)
    return value


def _check_deadline(value: float | None) -> float | None:
    if value is not None and (
        not isinstance(value, int | float) or isinstance(value, bool) or not value > 0
    ):
        msg = f"deadline must be seconds > 0 or None, got {value!r}"
        raise ValueError(msg)
    return value


def _secrets_pattern(secrets: Iterable[str]) -> re.Pattern[str]:
    """One pattern finding every secret: longest first, short ones only as whole tokens."""
    # Longest first, so that a secret containing another is redacted whole.
    unique = sorted({s for s in secrets if s}, key=len, reverse=True)
    alternatives = [
        re.escape(s) if len(s) >= _MIN_SECRET else rf"(?<![^\W_]){re.escape(s)}(?![^\W_])"
        for s in unique
    ]
    return re.compile("|".join(alternatives) or "(?!)")  # (?!) never matches


def _cause(exc: requests.RequestException) -> BaseException:
    """The urllib3 error under a requests one (the reason of a ``MaxRetryError``)."""
    inner = exc.args[0] if exc.args else None
    if isinstance(inner, MaxRetryError) and inner.reason is not None:
        return inner.reason
    return inner if isinstance(inner, BaseException) else exc


def _never_connected(exc: requests.RequestException) -> bool:
    """Whether ``exc`` shows that no connection was made, so the request was not sent."""
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError):
        return True
    # urllib3's NewConnectionError (refused, unreachable) is a ConnectTimeoutError.
    return isinstance(_cause(exc), ConnectTimeoutError | SSLError)


def _since(started: float) -> float:
    return time.monotonic() - started


def _transport_message(exc: requests.RequestException) -> str:
    cause = _cause(exc)
    if isinstance(exc, requests.ReadTimeout) or isinstance(cause, ReadTimeoutError):
        what = "timed out waiting for the response"
    elif isinstance(cause, NewConnectionError):
        what = "could not connect"
    elif isinstance(exc, requests.ConnectTimeout) or isinstance(cause, ConnectTimeoutError):
        what = "timed out connecting"
    elif isinstance(exc, requests.exceptions.SSLError) or isinstance(cause, SSLError):
        what = "TLS failed"
    elif isinstance(exc, requests.ConnectionError):
        what = "connection lost before a response"
    else:
        what = "the response could not be read"
    detail = str(cause)
    if len(detail) > _DETAIL_LENGTH:
        detail = detail[:_DETAIL_LENGTH] + "..."
    return f"{what} ({detail})" if detail else what


def _summary(error: MappingError, limit: int = 3) -> str:
    shown = "; ".join(str(p) for p in error.problems[:limit])
    more = len(error.problems) - limit
    return f"{shown}; and {more} more" if more > 0 else shown


class BaseClient:
    """What both clients share: the transport, closing, and use as a context manager."""

    _transport: Transport

    @property
    def base_url(self) -> str:
        """The API's base URL, ending in ``/``."""
        return self._transport.base_url

    @property
    def time_zone(self) -> str:
        """The shop's IANA time zone, in which the client reads and writes date-times."""
        return self._transport.time_zone

    def close(self) -> None:
        """Close the client's connections (and its session, unless it was passed in)."""
        self._transport.close()

    def reset_wait_budget(self) -> None:
        """Give the retries their whole wait budget again (``RetryPolicy.wait_budget``).

        The waits before retries (``Retry-After`` and backoffs) of every request count
        against the budget until this is called; call it at the start of each run (the sync
        flows do, at the start of each flow). A wait that would go past the budget is not
        waited: the request fails with :class:`RetryBudgetExhausted`.
        """
        self._transport.reset_wait_budget()

    @property
    def max_rate(self) -> float | None:
        """The most requests a second the client sends, all threads together (or ``None``)."""
        return self._transport.max_rate

    @property
    def burst(self) -> int:
        """How many requests may go at once after a quiet spell (see :meth:`limit_rate`)."""
        return self._transport.burst

    def limit_rate(self, max_rate: float | None, *, burst: int = 1) -> None:
        """Send at most ``max_rate`` requests a second, from all threads together.

        A token bucket of ``burst`` tokens (default 1) that fills at ``max_rate`` a second:
        every attempt of a request takes a token, retries included, so in any span of ``t``
        seconds at most ``burst + max_rate * t`` requests go (``max_rate + burst`` in any
        one second). ``None`` lifts the limit (the default). The sync flows' ``max_rate``
        sets it for the length of a flow.

        Raises:
            ValueError: ``max_rate`` is not a number above 0, or ``burst`` is below 1.
        """
        self._transport.limit_rate(max_rate, burst=burst)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``, read lazily.

    Raises:
        ValueError: ``size`` is below 1.
    """
    if size < 1:
        msg = f"chunk_size must be at least 1, got {size}"
        raise ValueError(msg)
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def json_array(documents: Iterable[bytes]) -> bytes:
    """A JSON array of already serialised documents."""
    return b"[" + b",".join(documents) + b"]"


def wall_clock(value: datetime, zone_name: str) -> str:
    """``value`` as the shop's wall clock, ``YYYY-MM-DD HH:MM:SS`` (seconds floored).

    A naive datetime is taken as the shop's wall clock already.
    """
    return format_datetime(value.replace(microsecond=0), time_zone(zone_name))


def wall_clock_from(value: datetime, zone_name: str) -> str:
    """The shop's wall clock to send as an "at or after ``value``" filter, never too late.

    An API that filters by local wall-clock time cannot tell the two readings of a repeated
    hour apart: on the night clocks go back, every instant after the first ``02:40`` whose
    wall clock is the second ``02:00``–``02:40`` would fall below a bound of ``02:40``. When
    ``value`` lies in the first reading of such an hour, the bound is moved back by the
    shift (an hour), so that the repeated hour is fetched whole; the extra records are
    already known, and the flows skip them by id. Elsewhere this is :func:`wall_clock`.

    >>> from datetime import UTC, datetime
    >>> wall_clock_from(datetime(2026, 10, 25, 0, 40, tzinfo=UTC), "Europe/Stockholm")
    '2026-10-25 01:40:00'
    >>> wall_clock_from(datetime(2026, 10, 25, 1, 40, tzinfo=UTC), "Europe/Stockholm")
    '2026-10-25 02:40:00'
    """
    if value.tzinfo is None:
        return wall_clock(value, zone_name)
    local = value.replace(microsecond=0).astimezone(time_zone(zone_name))
    if local.fold == 0:
        first, second = local.utcoffset(), local.replace(fold=1).utcoffset()
        if first is not None and second is not None and first > second:
            # Wall-clock arithmetic: an aware datetime plus a timedelta keeps its zone.
            local -= first - second
    return format_datetime(local.replace(tzinfo=None), time_zone(zone_name))
