"""The errors the HTTP adapters raise.

Every failure of a request is an :class:`HttpError`; what the server sent that cannot be used
is a :class:`ResponseError`, which carries the library's :class:`~bexvendre_mapping.MappingError`
when a document failed to load::

    Exception
    └── HttpError                 a request failed: method, url, status, body_excerpt
        ├── AuthError             401 or 403: wrong or missing credentials
        ├── NotFound              404
        ├── RequestRejected       any other 4xx, e.g. 400 with validation problems, 409;
        │                         the server's ``{"errors": [...]}`` as ``errors``
        ├── RateLimited           429, still after the retries (retry_after)
        ├── ServerError           5xx, still after the retries (retry_after)
        ├── TransportError        no response: connection refused or lost, timeout, TLS,
        │                         the total deadline of an attempt passed
        ├── ResponseError         a response that cannot be used: not JSON, a document that
        │                         fails to load (``mapping_error``), an unexpected redirect,
        │                         a body over the size limit
        └── RetryBudgetExhausted  a retry would wait past the client's wait budget

``HttpError`` is deliberately not a ``MappingError``: bad data and a failed request call for
different handling (fix the data, or try again later). Messages, URLs and body excerpts never
show credentials: the clients redact their API keys and secrets from everything they put in
an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from bexvendre_mapping._errors import MappingError

__all__ = [
    "ApiError",
    "AuthError",
    "EXCERPT_LENGTH",
    "HttpError",
    "NotFound",
    "RateLimited",
    "RequestRejected",
    "ResponseError",
    "RetryBudgetExhausted",
    "ServerError",
    "TransportError",
]

#: The longest body excerpt an error carries, in characters.
EXCERPT_LENGTH = 500

# How much of the excerpt the message itself shows; the attribute holds the rest.
_MESSAGE_EXCERPT = 200

# How many of the server's errors a message shows; the attribute holds them all.
_MESSAGE_ERRORS = 3


class HttpError(Exception):
    """A request to Vendre or Bex failed.

    Attributes:
        method: the HTTP method, e.g. ``"GET"``.
        url: the URL requested (never with credentials in it).
        status: the HTTP status of the last response, ``None`` when there was none.
        body_excerpt: the start of the response body (at most 500 characters, credentials
            redacted), ``None`` when there was no response.

    >>> err = NotFound("no such order", method="GET", url="https://shop.example/API/1/orders",
    ...                status=404, body_excerpt='{"error": "not found"}')
    >>> str(err)
    'no such order: GET https://shop.example/API/1/orders -> HTTP 404; body: {"error": "not found"}'
    """

    method: str
    url: str
    status: int | None
    body_excerpt: str | None

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status: int | None = None,
        body_excerpt: str | None = None,
    ) -> None:
        self.message = message
        self.method = method
        self.url = url
        self.status = status
        self.body_excerpt = None if body_excerpt is None else body_excerpt[:EXCERPT_LENGTH]
        super().__init__(self._render())

    def _render(self) -> str:
        text = f"{self.message}: {self.method} {self.url}"
        if self.status is not None:
            text += f" -> HTTP {self.status}"
        text += self._details()
        if self.body_excerpt:
            shown = self.body_excerpt[:_MESSAGE_EXCERPT]
            ellipsis = "..." if len(self.body_excerpt) > _MESSAGE_EXCERPT else ""
            text += f"; body: {shown}{ellipsis}"
        return text

    def _details(self) -> str:
        """What a subclass adds to the message before the body excerpt."""
        return ""

    def __str__(self) -> str:
        return self._render()

    def _state(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "body_excerpt": self.body_excerpt,
        }

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self._state()))


def _rebuild(cls: type[HttpError], message: str, state: dict[str, Any]) -> HttpError:
    return cls(message, **state)


class AuthError(HttpError):
    """The server refused the credentials (401) or the access (403)."""


class NotFound(HttpError):
    """The resource does not exist (404)."""


def _optional_text(value: object) -> str | None:
    """A field of an error object as text: strings as they are, numbers written out."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


@attrs.frozen(kw_only=True)
class ApiError:
    """One entry of a server's ``{"errors": [...]}`` answer (Vendre's error objects).

    Every field is optional: a server sends what it sends, and a field that is missing or
    of an unexpected type is ``None``. A status or code sent as a number is kept as its text.

    Attributes:
        status: the entry's HTTP status, as text (``"400"``).
        code: the server's error code (``"invalid_value"``).
        title: a short summary.
        detail: what is wrong in this case.
        parameter: the request parameter or field at fault (``source.parameter``).

    >>> str(ApiError(status="400", code="invalid", title="Invalid value",
    ...              detail="price must be a number", parameter="price"))
    'price: Invalid value: price must be a number (invalid)'
    """

    status: str | None = None
    code: str | None = None
    title: str | None = None
    detail: str | None = None
    parameter: str | None = None

    @classmethod
    def from_document(cls, document: object) -> tuple[ApiError, ...]:
        """The entries of an ``{"errors": [...]}`` document; ``()`` for any other shape.

        Entries that are not objects are left out; so is an entry with none of the fields.
        """
        if not isinstance(document, Mapping):
            return ()
        entries = document.get("errors")
        if not isinstance(entries, list):
            return ()
        found = []
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            source = entry.get("source")
            error = cls(
                status=_optional_text(entry.get("status")),
                code=_optional_text(entry.get("code")),
                title=_optional_text(entry.get("title")),
                detail=_optional_text(entry.get("detail")),
                parameter=(
                    _optional_text(source.get("parameter")) if isinstance(source, Mapping) else None
                ),
            )
            if error != cls():
                found.append(error)
        return tuple(found)

    def __str__(self) -> str:
        text = ": ".join(part for part in (self.parameter, self.title, self.detail) if part)
        if self.code:
            text = f"{text} ({self.code})" if text else self.code
        return text or (self.status or "")


class RequestRejected(HttpError):
    """The server refused the request as it was (a 4xx other than 401, 403, 404 and 429).

    A 400 usually carries the server's validation problems: when the body is Vendre's
    ``{"errors": [{"status", "code", "title", "detail", "source": {"parameter"}}]}``, they are
    in :attr:`errors` (and the message shows the first three); any other body is in
    :attr:`body_excerpt` only. A 409 means the request conflicts with what the server holds
    (a reservation already redeemed).

    Attributes:
        errors: the server's error objects, in its order; ``()`` when the body was not of
            that shape.

    >>> err = RequestRejected("the server rejected the request", method="PUT",
    ...     url="https://shop.example/API/1/products/7", status=400,
    ...     errors=[ApiError(title="Invalid value", parameter="price")])
    >>> str(err)
    'the server rejected the request: PUT https://shop.example/API/1/products/7 -> HTTP 400; errors: price: Invalid value'
    """  # noqa: E501

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status: int | None = None,
        body_excerpt: str | None = None,
        errors: Iterable[ApiError] = (),
    ) -> None:
        self.errors = tuple(errors)
        super().__init__(message, method=method, url=url, status=status, body_excerpt=body_excerpt)

    def _details(self) -> str:
        if not self.errors:
            return ""
        shown = "; ".join(str(e) for e in self.errors[:_MESSAGE_ERRORS])
        more = len(self.errors) - _MESSAGE_ERRORS
        if more > 0:
            shown += f"; and {more} more"
        return f"; errors: {shown}"

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "errors": self.errors}


class RateLimited(HttpError):
    """The server still answered 429 Too Many Requests when the retries were used up.

    Attributes:
        retry_after: the server's ``Retry-After`` in seconds, ``None`` when it sent none or
            one that cannot be read.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status: int | None = None,
        body_excerpt: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, method=method, url=url, status=status, body_excerpt=body_excerpt)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "retry_after": self.retry_after}


class ServerError(HttpError):
    """The server failed (5xx), still after the retries for a request that is safe to repeat.

    Attributes:
        retry_after: the server's ``Retry-After`` in seconds (a 503 may send one), ``None``
            when it sent none or one that cannot be read.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status: int | None = None,
        body_excerpt: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, method=method, url=url, status=status, body_excerpt=body_excerpt)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "retry_after": self.retry_after}


class TransportError(HttpError):
    """No response arrived: the connection was refused, lost or timed out, or TLS failed.

    ``status`` and ``body_excerpt`` are ``None``.

    Attributes:
        connected: whether a connection was made. When it was not (refused, connect
            timeout, TLS handshake failed), the server never saw the request. When it was,
            a request that changes data may or may not have been carried out; the clients'
            creates look it up before repeating it.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status: int | None = None,
        body_excerpt: str | None = None,
        connected: bool = True,
    ) -> None:
        self.connected = connected
        super().__init__(message, method=method, url=url, status=status, body_excerpt=body_excerpt)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "connected": self.connected}


class ResponseError(HttpError):
    """The server answered, but with something the client cannot use.

    Attributes:
        mapping_error: the library's error when a document in the response failed to load,
            with every problem and its JSON path in the response body; ``None`` when the
            body was not a usable JSON document at all.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status: int | None = None,
        body_excerpt: str | None = None,
        mapping_error: MappingError | None = None,
    ) -> None:
        self.mapping_error = mapping_error
        super().__init__(message, method=method, url=url, status=status, body_excerpt=body_excerpt)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "mapping_error": self.mapping_error}


class RetryBudgetExhausted(HttpError):
    """A retry would have waited past the client's wait budget, so the request was given up.

    The client waits before repeating a failed request (the server's ``Retry-After``, or a
    backoff), but never more in all than its policy's ``wait_budget`` seconds between two
    calls of its ``reset_wait_budget()``: a server that keeps asking for patience stops the
    work instead of holding it for ever. Try again later (the next run). Nothing was waited
    for the retry that was refused.

    ``status`` is the last response's status (``None`` when the last attempt got no
    response), ``body_excerpt`` its body's start when the client read it.
    """
