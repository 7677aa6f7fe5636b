"""Two `bexvendre run` daemons on one PostgreSQL state: one flow of one shop at a time.

Both daemons run the orders flow every second against the sandbox, whose Bex takes 0.1 s
per order; the audit logs say when each run handled each record. The runs of the two never
overlap, every order is in Bex once, and each daemon ran the flow (its output says so).
"""

from __future__ import annotations

import itertools
import json
import signal
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from tests.postgres_support import as_url
from tests.sync_support import order_doc
from tests.test_daemon import configure, killed, start, stop, wait_for

from bexvendre_mapping.sync import PostgresState
from bexvendre_mapping.testing.sandbox import Sandbox

__all__ = ["killed"]  # the fixture, used by name below

pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")


def _intervals(audit: Path) -> list[tuple[datetime, datetime]]:
    """Each orders run's first and last record time, from an audit log."""
    times: dict[str, list[datetime]] = {}
    for line in audit.read_text("utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("flow") == "orders":
            times.setdefault(entry["run_id"], []).append(datetime.fromisoformat(entry["time"]))
    return [(min(t), max(t)) for t in times.values()]


def test_two_daemons_on_one_postgres_state_never_run_a_flow_at_once(
    sandbox: Sandbox, tmp_path: Path, postgres_dsn: str, killed: list
) -> None:
    sandbox.inject("bex", method="POST", path="Orders", delay=0.1, times=20)
    folders = [tmp_path / "a", tmp_path / "b"]
    processes = []
    for folder in folders:
        folder.mkdir()
        config, env = configure(sandbox, folder, 'orders = "1s"\n')
        text = Path(config).read_text("utf-8")
        text = text.replace('state = "state.sqlite3"', f'state = "{as_url(postgres_dsn)}"')
        Path(config).write_text(text.replace('lock_timeout = "10s"', 'lock_timeout = "1s"'))
        process = start(config, env)
        killed.append(process)
        processes.append(process)
    for batch in range(5):  # orders keep coming: each daemon gets some runs with work
        for order_id in range(8001 + 4 * batch, 8005 + 4 * batch):
            placed = int(time.time()) - 1  # just placed: inside the next run's window
            sandbox.add_vendre_order(order_doc(order_id, date_added=placed))
        time.sleep(1.2)
    wait_for(lambda: len(sandbox.bex_orders()) == 20, timeout=60)
    time.sleep(2)  # a few more ticks of each
    outputs = []
    for process in processes:
        _, out, err = stop(process, signal.SIGTERM)
        assert process.returncode == 0, err
        outputs.append(out)
    assert all("orders:" in out for out in outputs), outputs  # both ran the flow

    counts = Counter(o["Ordernr"] for o in sandbox.bex_orders())
    assert len(counts) == 20
    assert set(counts.values()) == {1}
    intervals = sorted(
        (first, last, name)
        for name, folder in zip("ab", folders, strict=True)
        for first, last in _intervals(folder / "audit.jsonl")
    )
    assert {name for _, _, name in intervals} == {"a", "b"}
    for (_, end, _), (begin, _, _) in itertools.pairwise(intervals):
        assert end <= begin, intervals  # never two orders runs at once
    with PostgresState(postgres_dsn) as state:
        assert len(state.orders("created")) == 20
        assert state.runs()["orders"].result in {"ok", "locked"}
