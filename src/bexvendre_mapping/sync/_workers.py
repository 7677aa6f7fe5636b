"""Several records of a push in flight at once: a thread pool, the state on the flow's thread.

A flow's records are handled by up to ``max_in_flight`` worker threads; each record is
handled whole by one worker, its effects in the usual order (a stock entry is confirmed
after Vendre took its update). What a worker asks of the state store runs on the flow's own
thread (a SQLite connection belongs to the thread that opened it), which serves these calls
while it waits; the outcomes a record reports are held back and reported in the order the
records were listed, whatever order they finish in. The flow stops handing out records once
it is stopped (wait budget spent, STOP set); the records in flight finish.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class _Abandoned(Exception):
    """A worker's state call that the flow's thread will not serve: the flow is failing."""


class Outcomes(Protocol):
    """What the pool needs of a flow's run: whether it stopped, and where outcomes go."""

    @property
    def stopped(self) -> bool:
        """Whether no further record is to start."""
        ...

    def hold(self, outcomes: list[Any] | None) -> None:
        """Hold this thread's outcomes in ``outcomes`` (``None``: report them at once)."""
        ...

    def emit(self, outcome: Any) -> None:
        """Report an outcome held back."""
        ...


class _Call:
    """A state call a worker asks the flow's thread to make."""

    def __init__(self, function: Callable[..., Any], args: Any, kwargs: Any) -> None:
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.value: Any = None
        self.made = False
        self.done = threading.Event()

    def make(self) -> None:
        try:
            self.value = self.function(*self.args, **self.kwargs)
            self.made = True
        finally:
            self.done.set()


class _Slot:
    """One record's place in the report: its outcomes, and whether it finished."""

    def __init__(self, future: Future[bool] | None = None) -> None:
        self.outcomes: list[Any] = []
        self.future = future
        self.finished = future is None


class _OnFlowThread:
    """A state store whose methods run on the flow's thread, whichever thread calls them."""

    def __init__(self, state: Any, pool: Pool) -> None:
        self._state = state
        self._pool = pool

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._state, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._pool.call(attribute, args, kwargs)

        return call


class Pool:
    """Runs a flow's records on up to ``max_in_flight`` threads (see the module)."""

    def __init__(self, run: Outcomes, state: Any, max_in_flight: int) -> None:
        self.run = run
        self.max_in_flight = max_in_flight
        #: The state store to hand to the records: its calls are made on the flow's thread.
        self.state: Any = _OnFlowThread(state, self)
        self._owner = threading.current_thread()
        self._messages: queue.SimpleQueue[_Call | _Slot] = queue.SimpleQueue()
        self._slots: deque[_Slot] = deque()
        self._closed = False
        self._lock = threading.Lock()

    def call(self, function: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        """``function(*args, **kwargs)`` made on the flow's thread.

        Raises:
            _Abandoned: the flow is failing and serves no more calls.
        """
        if threading.current_thread() is self._owner:
            return function(*args, **kwargs)
        request = _Call(function, args, kwargs)
        with self._lock:
            if self._closed:  # pragma: no cover - a race with the flow failing
                raise _Abandoned
            self._messages.put(request)
        request.done.wait()
        if not request.made:
            raise _Abandoned
        return request.value

    def each(self, items: Iterable[T], handle: Callable[[T, Any], bool]) -> bool:
        """Handle every item (``handle(item, state)``); whether every one was handled.

        Outcomes reported on the flow's thread meanwhile (a listing that failed) take their
        place after the records handed out before them.
        """
        iterator = iter(items)
        in_flight = 0
        exhausted = False
        handled = True
        executor = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="bexvendre-push")
        try:
            while True:
                while not exhausted and in_flight < self.max_in_flight and not self.run.stopped:
                    gap = _Slot()
                    self.run.hold(gap.outcomes)
                    try:
                        item = next(iterator)
                    except StopIteration:
                        exhausted = True
                    finally:
                        self.run.hold(None)
                    self._slots.append(gap)
                    if exhausted:
                        break
                    slot = _Slot()
                    slot.finished = False
                    self._slots.append(slot)
                    slot.future = executor.submit(self._work, slot, handle, item)
                    in_flight += 1
                if in_flight == 0:
                    break
                message = self._messages.get()
                if isinstance(message, _Call):
                    message.make()
                else:
                    in_flight -= 1
                handled = self._report() and handled
            return self._report() and handled
        finally:
            self._close()
            executor.shutdown(wait=True)

    def _work(self, slot: _Slot, handle: Callable[[T, Any], bool], item: T) -> bool:
        self.run.hold(slot.outcomes)
        try:
            return handle(item, self.state)
        finally:
            self.run.hold(None)
            slot.finished = True
            self._messages.put(slot)

    def _report(self) -> bool:
        """Report the outcomes of the records finished at the head, in order."""
        handled = True
        while self._slots and self._slots[0].finished:
            slot = self._slots.popleft()
            if slot.future is not None:
                handled = slot.future.result() and handled
            for outcome in slot.outcomes:
                self.run.emit(outcome)
        return handled

    def _close(self) -> None:
        """Serve no more calls; a worker waiting for one is let go (it fails)."""
        with self._lock:
            self._closed = True
        while True:
            try:
                message = self._messages.get_nowait()
            except queue.Empty:
                return
            if isinstance(message, _Call):
                message.done.set()
