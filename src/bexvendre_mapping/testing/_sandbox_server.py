"""The sandbox's machinery: loopback werkzeug servers, faults, and the base of both APIs.

Each API is a WSGI application served by ``werkzeug.serving.make_server(..., threaded=True)``
in a background thread. werkzeug parses HTTP and routes; the applications only hold data
(under one lock shared by both APIs) and decide answers.
"""

from __future__ import annotations

import abc
import hmac
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from bexvendre_mapping._dates import parse_datetime, time_zone
from bexvendre_mapping._errors import MappingError, Problem
from bexvendre_mapping._wire import dumps_json

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = [
    "Api",
    "ApiError",
    "Call",
    "Fault",
    "LoopbackServer",
    "RateLimit",
    "SYSTEMS",
    "json_response",
    "same_secret",
]

logger = logging.getLogger("bexvendre_mapping.testing.sandbox")

#: The systems a sandbox serves.
SYSTEMS = ("vendre", "bex")

# How often a server's loop looks for a shutdown request; stopping waits up to this long.
_POLL_INTERVAL = 0.02
# Seconds a connection may sit idle before the server closes it.
_IDLE_TIMEOUT = 5.0


@attrs.define(kw_only=True)
class Fault:
    """A fault injected into a sandbox API (see :meth:`Sandbox.inject`).

    Attributes:
        system: ``"vendre"`` or ``"bex"``.
        method: the HTTP method it applies to, or ``None`` for any.
        path: the path prefix (relative to the API's base) it applies to, or ``None``.
        status: answer with this status instead of doing the work.
        retry_after: the ``Retry-After`` header sent with ``status``, in seconds.
        headers: more headers sent with ``status`` or ``body`` (they win over
            ``retry_after``), e.g. a ``Retry-After`` no client can read.
        delay: seconds to wait before answering.
        body: answer with these bytes (status ``status``, default 200) instead of doing the
            work.
        drop_after_commit: do the work, then close the connection without an answer.
        times: how many requests it applies to in all.
        hits: how many requests it has applied to so far.
    """

    system: str
    method: str | None = None
    path: str | None = None
    status: int | None = None
    retry_after: int | None = None
    headers: dict[str, str] = attrs.field(factory=dict)
    delay: float | None = None
    body: bytes | None = None
    drop_after_commit: bool = False
    times: int = 1
    hits: int = 0

    @property
    def remaining(self) -> int:
        """How many more requests it applies to."""
        return self.times - self.hits

    def matches(self, system: str, method: str, path: str) -> bool:
        """Whether the fault applies to a request (and has applications left)."""
        return (
            self.remaining > 0
            and system == self.system
            and (self.method is None or self.method.upper() == method.upper())
            and (self.path is None or path.startswith(self.path.lstrip("/")))
        )


@attrs.define(kw_only=True)
class RateLimit:
    """A rate limit on a sandbox API (see :meth:`Sandbox.rate_limit`).

    At most :attr:`limit` requests in each window of :attr:`per` seconds; a window starts
    with the first request after the one before ended. Every answer carries
    ``RateLimit-Limit``, ``RateLimit-Remaining`` (what the window has left) and
    ``RateLimit-Reset`` (whole seconds until it ends, rounded up); a request past the limit
    is answered 429 with ``Retry-After`` (the same seconds), without doing the work.

    Attributes:
        system: ``"vendre"`` or ``"bex"``.
        limit: requests per window, at least 1.
        per: the window's length in seconds, above 0.
        requests: how many requests it has counted (refused ones too).
        refused: how many it has answered 429.
    """

    system: str
    limit: int
    per: float
    requests: int = 0
    refused: int = 0
    window_start: float | None = attrs.field(default=None, repr=False, eq=False)
    used: int = attrs.field(default=0, repr=False, eq=False)

    def take(self, now: float) -> tuple[bool, dict[str, str]]:
        """Count a request at ``now`` (monotonic seconds): whether it may go, and headers."""
        if self.window_start is None or now >= self.window_start + self.per:
            self.window_start, self.used = now, 0
        reset = str(max(1, math.ceil(self.window_start + self.per - now)))
        self.requests += 1
        allowed = self.used < self.limit
        if allowed:
            self.used += 1
        else:
            self.refused += 1
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.limit - self.used),
            "RateLimit-Reset": reset,
        }
        if not allowed:
            headers["Retry-After"] = reset
        return allowed, headers


@attrs.frozen(kw_only=True)
class Call:
    """A request a sandbox API received.

    Attributes:
        system: ``"vendre"`` or ``"bex"``.
        method: the HTTP method.
        path: the path relative to the API's base, e.g. ``Orders/100234``.
        query: the query string, decoded (empty when there is none).
        status: the status answered, or ``None`` when the connection was dropped.
        fault: whether an injected fault applied to it.
        received_at: when it arrived, in ``time.monotonic()`` seconds (before the latency);
            not compared.
        in_flight: how many requests the API was serving when it arrived, itself included;
            not compared.
    """

    system: str
    method: str
    path: str
    query: str
    status: int | None
    fault: bool
    received_at: float = attrs.field(default=0.0, eq=False)
    in_flight: int = attrs.field(default=1, eq=False)


class ApiError(Exception):
    """An error answer of a sandbox API: a status, a message and maybe problems.

    ``parameter`` names the query parameter or field at fault, for APIs whose error bodies
    say so (Vendre's ``source.parameter``).
    """

    def __init__(
        self,
        status: int,
        message: str,
        problems: Iterable[Problem] = (),
        *,
        parameter: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = tuple(problems)
        self.parameter = parameter

    @classmethod
    def invalid(cls, error: MappingError, prefix: str = "$") -> ApiError:
        """A 400 listing a loader's problems (paths rebased under ``prefix``)."""
        problems = [Problem(prefix + p.path[1:], p.message) for p in error.problems]
        return cls(400, "the document does not load", problems)

    def response(self) -> Response:
        """The JSON answer."""
        body: dict[str, Any] = {"error": self.message}
        if self.problems:
            body["problems"] = [{"path": p.path, "message": p.message} for p in self.problems]
        return json_response(body, self.status)


class _DropConnection(ConnectionAbortedError):
    """Raised by an application to close the connection without an answer."""


def json_response(
    document: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    r"""A JSON answer of a wire document: ``Decimal`` amounts are written as JSON numbers.

    A string holding a lone surrogate (``"Astrid \ud83d"``, which a real shop's API can send)
    has no UTF-8 form: the document is then written with ``\uXXXX`` escapes, as such an
    API would write it, instead of failing with a 500.
    """
    try:
        data = dumps_json(document)
    except UnicodeEncodeError:
        data = _ascii_json(document).encode("ascii")
    return Response(data, status=status, headers=dict(headers or {}), mimetype="application/json")


def _ascii_json(value: Any) -> str:
    r"""JSON text of a wire document in ASCII (``\uXXXX`` escapes), amounts as numbers."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(k))}:{_ascii_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_ascii_json(item) for item in value) + "]"
    return json.dumps(value)


def same_secret(given: str | None, expected: str) -> bool:
    """Whether ``given`` is ``expected``, compared in constant time."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class Api(abc.ABC):
    """The base of both sandbox APIs: faults, credentials, routing, errors, the call log.

    Subclasses give :attr:`system`, :meth:`rules` (endpoints are method names) and
    :meth:`authorized`. Handlers run under the sandbox's lock.
    """

    system: ClassVar[str]
    #: Headers sent with a 401.
    challenge: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        *,
        base_path: str,
        lock: threading.RLock,
        faults: list[Fault],
        calls: list[Call],
        stopping: threading.Event,
        zone_name: str,
    ) -> None:
        self.base_path = "/" + base_path.strip("/") + "/"
        self.lock = lock
        self.faults = faults
        self.calls = calls
        self.stopping = stopping
        self.zone_name = zone_name
        self.rate_limit: RateLimit | None = None
        #: Seconds every request waits before it is answered (see ``Sandbox.set_latency``).
        self.latency = 0.0
        #: How many requests are being served now, and the most served at once.
        self.in_flight = 0
        self.peak_in_flight = 0
        self.url_map = Map(
            [
                Rule(self.base_path + path.lstrip("/"), endpoint=endpoint, methods=[method])
                for method, path, endpoint in self.rules()
            ],
            strict_slashes=False,
            merge_slashes=False,
        )

    @abc.abstractmethod
    def rules(self) -> list[tuple[str, str, str]]:
        """``(method, path relative to the base, handler method name)`` of every route."""

    @abc.abstractmethod
    def authorized(self, request: Request) -> bool:
        """Whether the request carries this API's credentials."""

    def error_response(self, error: ApiError, headers: Mapping[str, str] | None = None) -> Response:
        """The answer for ``error``: ``{"error": message, "problems": [...]}`` by default."""
        response = error.response()
        response.headers.update(dict(headers or {}))
        return response

    # --- the WSGI application -------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        received_at = time.monotonic()
        with self.lock:
            self.in_flight += 1
            in_flight = self.in_flight
            self.peak_in_flight = max(self.peak_in_flight, in_flight)
            latency = self.latency
        try:
            if latency > 0:
                # Outside the lock: the requests in flight wait side by side.
                self.stopping.wait(latency)
            return self._serve(environ, start_response, received_at, in_flight)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _serve(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        received_at: float,
        in_flight: int,
    ) -> Iterable[bytes]:
        request = Request(environ)
        relative = (
            request.path[len(self.base_path) :]
            if request.path.startswith(self.base_path)
            else request.path.lstrip("/")
        )
        fault = self._take_fault(request.method, relative)
        limited, limit_headers = (False, {}) if fault is not None else self._take_rate_limit()
        if limited:
            error = ApiError(429, "too many requests")
            response = self.error_response(error, limit_headers)
        else:
            response = self._answer(request, fault)
            response.headers.update(limit_headers)
        dropped = fault is not None and fault.drop_after_commit
        with self.lock:
            self.calls.append(
                Call(
                    system=self.system,
                    method=request.method,
                    path=relative,
                    query=request.query_string.decode("utf-8", "replace"),
                    status=None if dropped else response.status_code,
                    fault=fault is not None,
                    received_at=received_at,
                    in_flight=in_flight,
                )
            )
        if dropped:
            # The work is done; the handler closes the connection without an answer.
            raise _DropConnection
        return response(environ, start_response)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(self.system, method, path):
                    fault.hits += 1
                    return fault
        return None

    def _take_rate_limit(self) -> tuple[bool, dict[str, str]]:
        """Whether the rate limit refuses this request, and the headers to send."""
        with self.lock:
            if self.rate_limit is None:
                return False, {}
            allowed, headers = self.rate_limit.take(time.monotonic())
        return not allowed, headers

    def _fault_answer(self, fault: Fault) -> Response | None:
        if fault.delay:
            # Cut short when the sandbox stops, so that stopping never waits on it.
            self.stopping.wait(fault.delay)
        if fault.body is not None:
            return Response(fault.body, status=fault.status or 200, headers=fault.headers)
        if fault.status is not None:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            headers.update(fault.headers)
            return self.error_response(ApiError(fault.status, "injected fault"), headers)
        return None

    def _answer(self, request: Request, fault: Fault | None) -> Response:
        faulty = None if fault is None else self._fault_answer(fault)
        if faulty is not None:
            return faulty
        if not request.path.startswith(self.base_path):
            return self.error_response(ApiError(404, f"no API at {request.path}"))
        if not self.authorized(request):
            return self.error_response(
                ApiError(401, "wrong or missing credentials"), self.challenge
            )
        try:
            endpoint, arguments = self.url_map.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            return self.error_response(ApiError(exc.code or 500, exc.description or exc.name))
        try:
            with self.lock:
                answer: Response = getattr(self, str(endpoint))(request, **arguments)
        except ApiError as exc:
            return self.error_response(exc)
        return answer

    # --- helpers for handlers -------------------------------------------------------------

    def int_param(self, request: Request, name: str, default: int, *, minimum: int = 0) -> int:
        """A query parameter that must be an integer of at least ``minimum``.

        Raises:
            ApiError: 400 when it is not.
        """
        text = request.args.get(name)
        if text is None:
            return default
        if not text.strip().lstrip("-").isdigit() or int(text) < minimum:
            raise ApiError(
                400, f"{name} must be an integer >= {minimum}, got {text!r}", parameter=name
            )
        return int(text)

    def datetime_param(self, request: Request, name: str) -> datetime | None:
        """A wall-clock date-time query parameter, as the shop's naive wall clock.

        The real APIs filter by local time (a database column without a zone), so the
        sandbox compares wall clocks too, with :meth:`wall`: within the hour that repeats
        when clocks go back, the second ``02:10`` counts as before the first ``02:40``,
        as it would there. A client must widen such a bound itself.

        Raises:
            ApiError: 400 when it is not one.
        """
        text = request.args.get(name)
        if text is None:
            return None
        try:
            return self.wall(parse_datetime(text, time_zone(self.zone_name)))
        except MappingError as exc:
            raise ApiError(400, f"{name}: {exc}", parameter=name) from None

    def wall(self, moment: datetime) -> datetime:
        """``moment`` as the shop's naive wall clock (a naive one is taken as that already)."""
        if moment.tzinfo is None:
            return moment
        return moment.astimezone(time_zone(self.zone_name)).replace(tzinfo=None)

    def now(self) -> datetime:
        """The current moment in the shop's time zone."""
        return datetime.now(time_zone(self.zone_name))


# --- the servers ----------------------------------------------------------------------------


class _Handler(WSGIRequestHandler):
    """werkzeug's handler, quieter, and able to drop a connection without an answer."""

    # Seconds a connection may sit idle; a client that connects and sends nothing cannot
    # hold its handler (and so the sandbox's stop) for longer.
    timeout = _IDLE_TIMEOUT

    def connection_dropped(
        self, error: BaseException, environ: WSGIEnvironment | None = None
    ) -> None:
        """Close the connection, which is what a dropped answer is for.

        Left open, the handler would wait for another request on a connection whose client
        is still waiting for an answer.
        """
        self.close_connection = True

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's name
        """One debug line per request, in the library's logger, not werkzeug's on stderr."""
        logger.debug("%s: " + message.rstrip("\n"), type, *args)


class LoopbackServer:
    """One WSGI application served on 127.0.0.1 at a free port, in a background thread."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, name: str, host: str) -> None:
        try:
            server = make_server(host, 0, app, threaded=True, request_handler=_Handler)
        except SystemExit:  # werkzeug exits the process when it cannot bind
            msg = f"the sandbox cannot listen on {host!r}"
            raise OSError(msg) from None
        if not isinstance(server, ThreadedWSGIServer):  # pragma: no cover - threaded=True
            msg = f"expected a threaded server, got {type(server).__name__}"
            raise TypeError(msg)
        # werkzeug's request threads are daemons nobody joins. ThreadingMixIn's documented
        # switches make closing the server wait for the requests in flight instead.
        server.daemon_threads = False
        server.block_on_close = True
        self._server = server
        self.host = host
        self.port: int = self._server.port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"bexvendre-sandbox-{name}",
            daemon=True,
        )
        self._thread.start()

    def url(self, path: str) -> str:
        """The URL of ``path`` on this server."""
        return f"http://{self.host}:{self.port}/{path.lstrip('/')}"

    def stop(self) -> None:
        """Stop accepting, let the requests in flight finish, close the socket, join threads."""
        self._server.shutdown()
        # werkzeug's serve_forever closes the server as it ends, joining the request threads.
        self._thread.join()
        self._server.server_close()
