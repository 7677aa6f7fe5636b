"""Sync flows with durable state: orders Vendre → Bex; products, stock, statuses Bex → Vendre.

Needs the ``http`` extra. Every flow (and :class:`GiftCardCheckout`) takes
``(vendre_client, bex_client, lookups, state, ...)`` in that order and returns a
:class:`Report`; ``dry_run=True`` returns the plan and writes nothing. :func:`reconcile`
checks a window of Vendre orders against Bex and the state (:class:`ReconcileReport`).
The state is any :class:`StateStore`: the union of its roles :class:`OrderStore`,
:class:`PushStore`, :class:`CheckoutStore`, :class:`LockStore` and :class:`QuarantineStore`.
The library's are :class:`SqliteState` (one shop, one machine) and :class:`PostgresState`
(many workers or shops, the ``postgres`` extra); :func:`open_state` opens the one a
configuration names, and :mod:`bexvendre_mapping.testing.state_conformance` checks a store
of your own against the same promises. Its order
records are :class:`OrderRecord` in an :data:`OrderState`, its gift-card checkouts
:class:`Checkout` in a :data:`CheckoutState`.

Guarantees:

- an order is created in Bex at most once, whatever the network does: the intent is recorded
  first, a lost answer is looked up before any retry, and a second run skips what is done;
- a record of any flow that does not map is quarantined in the state with its problems and
  payload (:meth:`SqliteState.quarantined`; orders in their :class:`OrderRecord`); the others
  go on;
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
    DEFAULT_CLAIM_TTL,
    DEFAULT_OVERLAP,
    DEFAULT_WAIT_LIMIT,
    content_hash,
    import_hinted_orders,
    import_orders,
    push_products,
    push_statuses,
    push_stock,
    retry_quarantined,
    retry_quarantined_records,
)
from bexvendre_mapping.sync._giftcards import (
    CardBlocked,
    CardExpired,
    CurrencyMismatch,
    GiftCardCheckout,
    GiftCardError,
    InsufficientBalance,
    InvalidAmount,
    ReservationExpired,
    UnknownCard,
)
from bexvendre_mapping.sync._postgres import POSTGRES_SCHEMA_VERSION, PostgresState
from bexvendre_mapping.sync._reconcile import ReconcileEntry, ReconcileReport, reconcile
from bexvendre_mapping.sync._report import AuditLog, Outcome, Report, exit_code
from bexvendre_mapping.sync._state import (
    Checkout,
    CheckoutState,
    CheckoutStore,
    HeldOrder,
    HeldReason,
    Hint,
    LockedError,
    LockStore,
    OrderRecord,
    OrderState,
    OrderStore,
    PushStore,
    QuarantineRecord,
    QuarantineStore,
    RunRecord,
    SqliteState,
    StateStore,
)
from bexvendre_mapping.sync._stores import open_state
from bexvendre_mapping.sync._webhook import WebhookApp, webhook_app

__all__ = [
    "AuditLog",
    "CardBlocked",
    "CardExpired",
    "Checkout",
    "CheckoutState",
    "CheckoutStore",
    "CurrencyMismatch",
    "DEFAULT_CLAIM_TTL",
    "DEFAULT_OVERLAP",
    "DEFAULT_WAIT_LIMIT",
    "GiftCardCheckout",
    "GiftCardError",
    "HeldOrder",
    "HeldReason",
    "Hint",
    "InsufficientBalance",
    "InvalidAmount",
    "LockStore",
    "LockedError",
    "OrderRecord",
    "OrderState",
    "OrderStore",
    "Outcome",
    "POSTGRES_SCHEMA_VERSION",
    "PostgresState",
    "PushStore",
    "QuarantineRecord",
    "QuarantineStore",
    "ReconcileEntry",
    "ReconcileReport",
    "Report",
    "ReservationExpired",
    "RunRecord",
    "SqliteState",
    "StateStore",
    "SyncConfig",
    "UnknownCard",
    "WebhookApp",
    "content_hash",
    "exit_code",
    "import_hinted_orders",
    "import_orders",
    "load_config",
    "open_state",
    "push_products",
    "push_statuses",
    "push_stock",
    "reconcile",
    "retry_quarantined",
    "retry_quarantined_records",
    "webhook_app",
]
