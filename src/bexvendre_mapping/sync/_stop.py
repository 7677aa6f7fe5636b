"""A stop the flows heed between records (``bexvendre run`` on SIGTERM or SIGINT).

A thread that runs flows sets :data:`STOP` to an event; once the event is set, a flow
finishes the record in hand, keeps its cursor (or its queue entries) for the rest, and
returns, as when its wait budget is spent.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["STOP", "stop_on_signals"]

#: The event that asks the flows run in this context to stop; ``None``: no one will ask.
STOP: ContextVar[threading.Event | None] = ContextVar("bexvendre_stop", default=None)

logger = logging.getLogger("bexvendre_mapping.sync")


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` (no KeyboardInterrupt, no traceback) while inside.

    Outside the main thread (signals reach it only) nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        logger.info("%s: stopping after the records in hand", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)
