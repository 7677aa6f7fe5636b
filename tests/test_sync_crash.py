"""``import_orders`` killed at random moments, and run by several processes at once.

Each run is a real process (``python -m tests.sync_worker``; the runs to kill are forked
from one such process, which imported everything once) configured by a ``bexvendre.toml``
that points at a sandbox this test process serves on loopback, with faults. The
sandbox's Bex takes an ``Ordernr`` twice if sent twice (``bex_unique_order_numbers=False``),
so an order created twice is seen as two orders, not saved by a 409.

The state store is a fixture (:func:`state_setting`, the configuration's ``state``), so the
same tests run against every store the command line can open.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import random
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.sync_support import EXAMPLE, order_doc

from bexvendre_mapping.sync import StateStore, load_config
from bexvendre_mapping.sync._cli import _state
from bexvendre_mapping.testing.sandbox import Fault, Sandbox

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGKILL")

#: The stores the tests run against: the configuration's ``state`` for a fresh one of each.
STORES = ["sqlite", "postgres"]

#: Each gift card's balance; an order's cards reserve 500 of it in all.
CARD_BALANCE = Decimal("1000.00")


@pytest.fixture(params=STORES)
def state_setting(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The ``state`` setting of a ``bexvendre.toml`` naming a fresh, empty store."""
    kind = request.param
    if kind == "sqlite":
        return str(tmp_path / "state.sqlite3")
    from tests import postgres_support  # noqa: PLC0415 - only with PostgreSQL

    return postgres_support.as_url(request.getfixturevalue("postgres_dsn"))


@attrs.frozen
class Worker:
    """A worker process, the file of its reports and the file of its standard error."""

    process: subprocess.Popen[str]
    reports: Path
    log: Path

    def wait_ready(self, timeout: float = 30) -> None:
        """Wait for its ``ready`` line."""
        stdout = self.process.stdout
        assert stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            assert selector.select(timeout), "the worker did not start"
        line = stdout.readline()
        assert line == "ready\n", f"the worker ended before it was ready: {self.errors()}"

    def finish(self, timeout: float = 60) -> int:
        """Wait for it to end by itself (killed if it does not); its exit status."""
        try:
            status = self.process.wait(timeout)
        finally:
            self.kill()
        return status

    def kill(self) -> None:
        """SIGKILL it if it still runs, and wait for it (its exit status is then set)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def errors(self) -> str:
        """What it wrote to standard error."""
        return self.log.read_text("utf-8")

    def runs(self) -> list[dict[str, Any]]:
        """Its reports, one per run: ``{"counts": ..., "done": [order ids], ...}``."""
        return [json.loads(line) for line in self.reports.read_text("utf-8").splitlines()]


class ForkServer:
    """A worker in ``--fork`` mode: each :meth:`start` forks a worker, for many short runs
    without the cost of starting Python each time."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.worker.process.stdout is not None
        for line in self.worker.process.stdout:
            self._lines.put(line)
        self._lines.put("")

    def _line(self, prefix: str, timeout: float = 60) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no {prefix!r} line from the fork server: {self.worker.errors()}")
        assert line.startswith(prefix + " "), f"{line!r}: {self.worker.errors()}"
        return line.removeprefix(prefix + " ").strip()

    def start(self) -> int:
        """Fork a worker and wait until it is ready; its pid."""
        assert self.worker.process.stdin is not None
        self.worker.process.stdin.write("run\n")
        self.worker.process.stdin.flush()
        return int(self._line("ready"))

    def status(self) -> int:
        """The exit status of the worker started last (-9 when SIGKILL ended it)."""
        return int(self._line("exit"))

    def close(self) -> None:
        """End the server."""
        assert self.worker.process.stdin is not None
        self.worker.process.stdin.close()
        try:
            assert self.worker.process.wait(30) == 0, self.worker.errors()
        finally:
            self.worker.kill()
            self._reader.join(10)


class Shop:
    """The sandbox, a configuration for it, and the orders added to its Vendre shop."""

    def __init__(self, sandbox: Sandbox, folder: Path, state_setting: str) -> None:
        self.sandbox = sandbox
        self.folder = folder
        (folder / "lookups.toml").write_text(
            (ROOT / "examples" / "lookups.toml").read_text("utf-8"), "utf-8"
        )
        self.config = folder / "bexvendre.toml"
        self.config.write_text(
            f'lookups = "lookups.toml"\nstate = {json.dumps(state_setting)}\n'
            'lock_timeout = "1s"\n\n'
            f'[vendre]\nurl = "{sandbox.vendre_url}"\n\n[bex]\nurl = "{sandbox.bex_url}"\n',
            "utf-8",
        )
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "BEXVENDRE_VENDRE_API_KEY": sandbox.vendre_api_key,
            "BEXVENDRE_BEX_API_KEY": sandbox.bex_api_key,
            "BEXVENDRE_BEX_SECRET": sandbox.bex_secret,
        }
        self.order_ids: list[int] = []
        self.reservations: dict[str, Decimal] = {}  # reservation id -> amount
        self._workers = 0

    def add_orders(self, count: int) -> None:
        """Add ``count`` orders placed now; two in three paid partly with gift cards.

        Of those, every other one with two cards (300 + 200), the others with one (500);
        each card is a card of its own in Bex with its reservation for the order.
        """
        placed = int(time.time()) - 1
        for _ in range(count):
            order_id = 50001 + len(self.order_ids)
            self.order_ids.append(order_id)
            kind = order_id % 3
            if kind == 0:
                self.sandbox.add_vendre_order(order_doc(order_id, date_added=placed))
                continue
            amounts = [Decimal(500)] if kind == 1 else [Decimal(300), Decimal(200)]
            cards = []
            for index, amount in enumerate(amounts, 1):
                number, reservation = f"PK-{order_id}-{index}", f"RES-{order_id}-{index}"
                self.sandbox.add_bex_gift_card(
                    {"Nummer": number, "Saldo": str(CARD_BALANCE), "Valuta": "SEK",
                     "Giltig till": "2099-12-31", "Status": "Aktiv"}
                )  # fmt: skip
                self.sandbox.add_bex_gift_card_reservation(
                    {"ReservationsID": reservation, "Nummer": number, "Belopp": f"{amount}.00",
                     "Referens": str(order_id), "Status": "Reserverad"}
                )  # fmt: skip
                cards.append({"code": number, "amount": int(amount), "reservation_id": reservation})
                self.reservations[reservation] = amount
            document: dict[str, Any] = json.loads(json.dumps(EXAMPLE))
            document.update(id=order_id, date_added=placed, gift_cards=cards)
            self.sandbox.add_vendre_order(document)

    def start(self, *options: str) -> Worker:
        """A worker process (``tests/sync_worker.py``) with ``options``; with ``--fork``
        it waits for commands on its standard input."""
        self._workers += 1
        reports = self.folder / f"reports-{self._workers}.jsonl"
        log = self.folder / f"worker-{self._workers}.log"
        with log.open("w") as err:
            process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
                [sys.executable, "-m", "tests.sync_worker", str(self.config), "--reports",
                 str(reports), *options],
                stdin=subprocess.PIPE if "--fork" in options else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                cwd=ROOT,
                env=self.env,
            )  # fmt: skip
        return Worker(process, reports, log)

    @contextlib.contextmanager
    def fork_server(self) -> Iterator[ForkServer]:
        """A worker in ``--fork`` mode, ended after the block."""
        server = ForkServer(self.start("--fork"))
        try:
            yield server
        finally:
            server.close()

    @contextlib.contextmanager
    def state(self) -> Iterator[StateStore]:
        """The store, opened as the workers open it."""
        with _state(load_config(self.config, self.env)) as store:
            yield store

    def check_every_order_once(self) -> None:
        """Every order in Bex exactly once, created in the state; every reservation
        redeemed, each card drawn once."""
        in_bex = Counter(o["Ordernr"] for o in self.sandbox.bex_orders())
        doubled = {number: n for number, n in in_bex.items() if n > 1}
        lost = [i for i in self.order_ids if str(i) not in in_bex]
        assert (doubled, lost) == ({}, [])
        assert sorted(in_bex) == sorted(str(i) for i in self.order_ids)
        with self.state() as state:
            records = state.orders()
        assert [(r.order_id, r.state) for r in records] == [(i, "created") for i in self.order_ids]
        reservations = {r["ReservationsID"]: r for r in self.sandbox.reservations()}
        assert {k: r["Status"] for k, r in reservations.items()} == dict.fromkeys(
            self.reservations, "Inlöst"
        )
        balances = {c["Nummer"]: Decimal(c["Saldo"]) for c in self.sandbox.bex_gift_cards()}
        assert balances == {
            reservations[k]["Nummer"]: CARD_BALANCE - amount
            for k, amount in self.reservations.items()
        }


#: Faults the workers meet: errors, answers lost after the work was done, on every request
#: ``import_orders`` makes. Each applies to the next matching request.
FAULTS: list[dict[str, Any]] = [
    {"system": "bex", "method": "POST", "path": "Orders", "status": 503},
    {"system": "bex", "method": "POST", "path": "Orders", "status": 500},
    {"system": "bex", "method": "POST", "path": "Orders", "drop_after_commit": True},
    {"system": "bex", "method": "GET", "path": "Orders/", "status": 502},
    {"system": "bex", "method": "PUT", "path": "GiftCardReservations", "status": 503},
    {"system": "bex", "method": "PUT", "path": "GiftCardReservations", "drop_after_commit": True},
    {"system": "vendre", "method": "GET", "path": "orders", "status": 503},
    {"system": "vendre", "method": "GET", "path": "orders", "drop_after_commit": True},
]


def inject_faults(sandbox: Sandbox, rng: random.Random, count: int) -> None:
    """Replace the sandbox's faults: ``count`` picked at random, then latency on everything.

    The latency is short, well under the workers' timeouts: an answer never comes after
    the worker gave up on it (which no client can tell from an order never created).
    """
    sandbox.clear_faults()
    for _ in range(count):
        sandbox.inject(**rng.choice(FAULTS))
    forever = 10**9
    sandbox.inject("bex", method="POST", delay=0.02, times=forever)
    sandbox.inject("bex", method="PUT", delay=0.02, times=forever)
    sandbox.inject("bex", delay=0.005, times=forever)
    sandbox.inject("vendre", delay=0.005, times=forever)


@contextlib.contextmanager
def chaos(sandbox: Sandbox, rng: random.Random) -> Iterator[list[Fault]]:
    """While in the block, a fault picked at random every 10 ms while fewer than two wait
    for their request; the faults injected."""
    injected: list[Fault] = []
    done = threading.Event()

    def inject() -> None:
        while not done.wait(0.01):
            if sum(fault.remaining > 0 for fault in injected) < 2:
                injected.append(sandbox.inject(**rng.choice(FAULTS)))

    thread = threading.Thread(target=inject, daemon=True)
    thread.start()
    try:
        yield injected
    finally:
        done.set()
        thread.join()


# --- (a) killed at random moments ---------------------------------------------------------------

KILLED_RUNS = 30
#: Each run is killed this many seconds at most after it is ready (a run's work takes
#: about as long; some end before their kill).
KILL_WITHIN = 0.4


def test_runs_killed_at_random_moments_leave_every_order_once(
    state_setting: str, tmp_path: Path
) -> None:
    """30 runs, each SIGKILLed at a random moment of its work, against faults (errors, lost
    answers, latency); one order more arrives before each. A last run to completion then
    leaves every order in Bex exactly once and every gift-card reservation redeemed once."""
    rng = random.Random(20)
    with Sandbox(bex_unique_order_numbers=False) as sandbox:
        shop = Shop(sandbox, tmp_path, state_setting)
        shop.add_orders(10)
        killed = intents_after_kills = 0
        with shop.fork_server() as workers:
            for _ in range(KILLED_RUNS):
                shop.add_orders(1)
                inject_faults(sandbox, rng, rng.randint(0, 4))
                pid = workers.start()
                time.sleep(rng.uniform(0, KILL_WITHIN))
                with contextlib.suppress(ProcessLookupError):  # it may have ended already
                    os.kill(pid, signal.SIGKILL)
                status = workers.status()
                assert status in {0, -signal.SIGKILL}, workers.worker.errors()
                if status:
                    killed += 1
                    with shop.state() as state:
                        intents_after_kills += len(state.orders("intent"))

            sandbox.clear_faults()
            workers.start()
            assert workers.status() == 0, workers.worker.errors()
        assert len(shop.order_ids) == 40
        shop.check_every_order_once()
        # The kills fell within the runs' work, often between an order's intent and its end.
        assert killed >= KILLED_RUNS // 3, killed
        assert intents_after_kills >= 3, intents_after_kills


# --- (b) four workers at once -------------------------------------------------------------------


def test_four_workers_at_once_create_each_order_once(state_setting: str, tmp_path: Path) -> None:
    """Four worker processes run ``import_orders`` on one state and one sandbox at once, while
    200 orders arrive (half before they start, the rest in batches) and requests fail: each
    order is created in Bex exactly once, reported done by exactly one run of one worker.
    Each worker claims the orders it imports (``worker=``): on PostgreSQL they run side by
    side; SQLite serialises the runs through its lock (a worker that finds it held tries
    again)."""
    rng = random.Random(2020)
    with Sandbox(bex_unique_order_numbers=False) as sandbox:
        shop = Shop(sandbox, tmp_path, state_setting)
        shop.add_orders(100)
        until = tmp_path / "all-added"
        workers = [
            shop.start("--until", str(until), "--max-runs", "1000", "--worker", f"w{n}")
            for n in range(4)
        ]
        try:
            for worker in workers:
                worker.wait_ready()
            with chaos(sandbox, rng):
                for _ in range(5):
                    time.sleep(0.2)
                    shop.add_orders(20)
                until.touch()
                statuses = [worker.finish() for worker in workers]
        finally:
            for worker in workers:
                worker.kill()
        assert statuses == [0, 0, 0, 0], [worker.errors() for worker in workers]
        assert len(shop.order_ids) == 200
        shop.check_every_order_once()
        done = Counter(order for w in workers for run in w.runs() for order in run.get("done", []))
        assert done == Counter(str(i) for i in shop.order_ids)
        # Every worker ran: it ended with a run begun after the last order was added.
        assert all(worker.runs() for worker in workers)
