"""Sync flows with durable state: orders Vendre → Bex; products, stock, statuses Bex → Vendre.

Needs the ``http`` extra. Each flow takes the two clients, the lookups and a state store and
returns a :class:`Report`; ``dry_run=True`` returns the plan and writes nothing.

Guarantees:

- an order is created in Bex at most once, whatever the network does: the intent is recorded
  first, a lost answer is looked up before any retry, and a second run skips what is done;
- an order that does not map is quarantined with its problems and payload; the others go on;
- the order cursor never passes an order that neither succeeded nor was quarantined;
- a stock-change entry is confirmed in Bex only once Vendre accepted its update;
- an order a webhook names (:func:`webhook_app`) is recorded before the answer and imported
  through the same path; polling takes up what the webhook could not;
- going live, no order placed before ``since`` is imported, an order whose status is not in
  ``import_statuses`` waits in the state (read again each run) until it is, and the orders
  a baseline recorded (``import_orders(..., baseline=True)``) are never imported.

:func:`load_config` reads ``bexvendre.toml`` into a :class:`SyncConfig`.
"""

from __future__ import annotations

from bexvendre_mapping.sync._config import SyncConfig, load_config
from bexvendre_mapping.sync._flows import (
    DEFAULT_OVERLAP,
    DEFAULT_WAIT_LIMIT,
    content_hash,
    import_hinted_orders,
    import_orders,
    push_products,
    push_statuses,
    push_stock,
    retry_quarantined,
)
from bexvendre_mapping.sync._giftcards import GiftCardCheckout
from bexvendre_mapping.sync._report import AuditLog, Outcome, Report
from bexvendre_mapping.sync._state import (
    Checkout,
    HeldOrder,
    HeldReason,
    Hint,
    LockedError,
    OrderRecord,
    SqliteState,
    StateStore,
)
from bexvendre_mapping.sync._webhook import WebhookApp, webhook_app

__all__ = [
    "AuditLog",
    "Checkout",
    "DEFAULT_OVERLAP",
    "DEFAULT_WAIT_LIMIT",
    "GiftCardCheckout",
    "HeldOrder",
    "HeldReason",
    "Hint",
    "LockedError",
    "OrderRecord",
    "Outcome",
    "Report",
    "SqliteState",
    "StateStore",
    "SyncConfig",
    "WebhookApp",
    "content_hash",
    "import_hinted_orders",
    "import_orders",
    "load_config",
    "push_products",
    "push_statuses",
    "push_stock",
    "retry_quarantined",
    "webhook_app",
]
