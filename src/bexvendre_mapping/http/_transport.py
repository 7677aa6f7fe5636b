"""The transport both clients share: a requests session with timeouts, retries and redaction.

Requests that are safe to repeat (GET, PUT, DELETE) are retried by urllib3's ``Retry``,
mounted through ``requests.adapters.HTTPAdapter``: on connection errors, read errors and
timeouts, and on the statuses of :attr:`RetryPolicy.statuses`, with exponential backoff and
jitter, honouring ``Retry-After`` (one that cannot be read counts as absent). A POST is
never repeated here; the clients decide, per create, how to repeat it safely (see
:meth:`RetryPolicy.delay` and the clients' creates).
"""

from __future__ import annotations

import base64
import itertools
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Self, TypeVar
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

import attrs
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from bexvendre_mapping._dates import format_datetime, time_zone
from bexvendre_mapping._errors import MappingError, Problem
from bexvendre_mapping._text import show
from bexvendre_mapping._wire import child_path, parse_document
from bexvendre_mapping.http._errors import (
    EXCERPT_LENGTH,
    AuthError,
    HttpError,
    NotFound,
    RateLimited,
    RequestRejected,
    ResponseError,
    ServerError,
    TransportError,
)

__all__ = [
    "BaseClient",
    "DEFAULT_TIMEOUT",
    "Reply",
    "RetryPolicy",
    "Timeout",
    "Transport",
    "basic_credentials",
    "chunks",
    "json_array",
    "path_part",
    "rebase",
    "user_agent",
    "wall_clock",
]

T = TypeVar("T")

logger = logging.getLogger("bexvendre_mapping.http")

#: A timeout: one number for both phases, or ``(connect, read)`` in seconds.
Timeout = float | tuple[float, float]

#: Seconds to wait for a connection and, separately, between bytes of the response.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)

_REDACTED = "***"
_MIN_SECRET = 4

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
        retry_after_max: the longest ``Retry-After`` honoured, in whole seconds; a longer one
            is cut to this.
        statuses: the statuses that are retried.
        methods: the methods urllib3 may repeat. A POST is never among them: the clients'
            creates repeat it themselves, after looking up whether the first attempt was
            committed.

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
        """
        return _LenientRetry(
            total=self.total,
            connect=self.total,
            read=self.total,
            status=self.total,
            # TLS failures and other errors are not transient; redirects are not followed.
            other=0,
            redirect=0,
            allowed_methods=self.methods,
            status_forcelist=self.statuses,
            backoff_factor=self.backoff_factor,
            backoff_max=self.backoff_max,
            backoff_jitter=self.jitter,
            respect_retry_after_header=True,
            retry_after_max=self.retry_after_max,
            # The last response is returned and becomes the client's own error.
            raise_on_status=False,
            raise_on_redirect=False,
        )

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


class _LenientRetry(Retry):
    """urllib3's ``Retry``, reading a ``Retry-After`` it cannot parse as absent.

    urllib3 raises ``InvalidHeader`` while it sleeps before a retry when the header is,
    say, ``1.5`` or ``soon``; the request then fails at once, without a status. A server
    that sends such a header still meant "try again", so the backoff is used instead.
    """

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None


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
    read here, where requests builds the response, and handed back as :class:`_Redirected`.
    """

    def build_response(
        self, req: requests.PreparedRequest, resp: BaseHTTPResponse
    ) -> requests.Response:
        response = super().build_response(req, resp)
        if response.is_redirect:
            # Read it now, so that a broken body fails as any other (a TransportError).
            _ = response.content
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
    ) -> None:
        self.base_url = _normalise_base(base_url)
        self.timeout = _check_timeout(timeout)
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
        # Longest first, so that a secret containing another is redacted whole. A credential
        # shorter than 4 characters protects nothing, and redacting it would garble text.
        self._secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)
        self._retry = retries.urllib3_retry()
        self._adapter = _Adapter(max_retries=self._retry)
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            session.trust_env = trust_env
            session.mount("https://", self._adapter)
            session.mount("http://", self._adapter)
        else:
            # A session of the caller's keeps its other adapters; ours serves our API only.
            session.mount(self.base_url, self._adapter)
        self._session = session

    # --- public helpers for the clients ----------------------------------------------------

    def url(self, path: str) -> str:
        """The absolute URL of ``path``, relative to the base URL."""
        return self.base_url + path.lstrip("/")

    def redact(self, text: str) -> str:
        """``text`` with every credential replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text

    def close(self) -> None:
        """Close the connections (and the session, unless it was the caller's)."""
        self._adapter.close()
        if self._owns_session:
            self._session.close()

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
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        started = time.monotonic()
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
            )
        except _Redirected as redirected:
            # Not followed; it becomes a ResponseError below, like any other 3xx.
            response = redirected.response
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
            logger.debug("%s %s failed after %.3fs: %s", method, full_url, _since(started), exc)
            raise TransportError(
                self.redact(_transport_message(exc)),
                method=method,
                url=full_url,
                connected=not _never_connected(exc),
            ) from exc
        with response:
            content = response.content
        full_url = self.redact(_display_url(response.url or url))
        logger.debug(
            "%s %s -> %s (%d bytes, %.3fs)",
            method,
            full_url,
            response.status_code,
            len(content),
            _since(started),
        )
        reply = Reply(method, full_url, response.status_code, content, response.headers, self)
        if 200 <= response.status_code < 300:
            return reply
        raise self.status_error(reply)

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
        return cls(message, **common)

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


def _check_timeout(timeout: Timeout) -> Timeout:
    values: Sequence[float] = timeout if isinstance(timeout, tuple) else (timeout,)
    if len(values) not in (1, 2) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in values
    ):
        msg = f"timeout must be seconds > 0 or a (connect, read) pair of them, got {timeout!r}"
        raise ValueError(msg)
    return timeout


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

    def close(self) -> None:
        """Close the client's connections (and its session, unless it was passed in)."""
        self._transport.close()

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
