"""HTTP adapters for the Vendre and Bex REST APIs (the ``http`` extra).

Needs ``requests``: ``pip install "bexvendre-mapping[http]"``. The rest of the library never
imports this package or ``requests``.

- :class:`VendreClient`: orders and products in (paged); products, stock and order
  statuses out (one product per request, by id).
- :class:`BexClient`: the stock-change queue, orders, articles, order statuses, gift cards
  and bonus points.

Both send a ``User-Agent`` of ``bexvendre-mapping/<version>``, verify TLS by default, put a
connect and a read timeout on every request, and retry what is safe to retry (see
:class:`RetryPolicy`). Errors form one tree under :class:`HttpError`::

    HttpError
    ├── AuthError           401, 403
    ├── NotFound            404
    ├── RequestRejected     another 4xx; .errors: the server's ApiError objects
    ├── RateLimited         429 after the retries
    ├── ServerError         5xx after the retries
    ├── TransportError      no response (refused, lost, timed out, past the deadline)
    ├── ResponseError       an unusable response (too large, say); .mapping_error when a
    │                       document fails to load
    └── RetryBudgetExhausted  a retry would wait past the wait budget

A response body is read up to a size limit (``max_response_bytes``, 64 MiB by default), and
each attempt of a request up to a total deadline (``deadline``, 120 s by default); the waits
before retries are bounded per run by :attr:`RetryPolicy.wait_budget` (300 s by default),
counted from the client's ``reset_wait_budget()``. A server that answers
``RateLimit-Remaining: 0`` with ``RateLimit-Reset: <seconds>`` is given that long before the
next request (charged to the same budget).

Credentials never appear in an error, a log line (logger ``bexvendre_mapping.http``) or a
client's ``repr``.

>>> from bexvendre_mapping.http import BexEndpoints
>>> BexEndpoints().queued_stock_changes
'WarehouseManagement/GetQueuedStockChanges'
"""

from __future__ import annotations

try:
    import requests  # noqa: F401 - fail early, with the install command
except ImportError as exc:
    msg = 'bexvendre_mapping.http needs requests: pip install "bexvendre-mapping[http]"'
    raise ImportError(msg, name="requests") from exc

from bexvendre_mapping.http._bex import (
    BEX_BASE_URL,
    BexClient,
    BexEndpoints,
    StockChangeEntry,
    StockInformation,
)
from bexvendre_mapping.http._errors import (
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
from bexvendre_mapping.http._transport import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    RetryPolicy,
    Timeout,
)
from bexvendre_mapping.http._vendre import VendreClient, VendreEndpoints

__all__ = [
    "ApiError",
    "AuthError",
    "BEX_BASE_URL",
    "BexClient",
    "BexEndpoints",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "HttpError",
    "NotFound",
    "RateLimited",
    "RequestRejected",
    "ResponseError",
    "RetryBudgetExhausted",
    "RetryPolicy",
    "ServerError",
    "StockChangeEntry",
    "StockInformation",
    "Timeout",
    "TransportError",
    "VendreClient",
    "VendreEndpoints",
]
