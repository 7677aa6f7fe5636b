"""A stop the flows heed between records (``bexvendre run`` on SIGTERM or SIGINT).

A thread that runs flows sets :data:`STOP` to an event; once the event is set, a flow
finishes the record in hand, keeps its cursor (or its queue entries) for the rest, and
returns, as when its wait budget is spent.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar

__all__ = ["STOP"]

#: The event that asks the flows run in this context to stop; ``None``: no one will ask.
STOP: ContextVar[threading.Event | None] = ContextVar("bexvendre_stop", default=None)
