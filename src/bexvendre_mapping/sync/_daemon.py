"""``bexvendre run`` (every flow on its own schedule) and ``bexvendre status`` (its heartbeat).

Each scheduled flow runs in a thread of its own, with its own state connection and API
clients, and waits for its own lock only (``<state>.<flow>.lock``): a long products run never
holds up stock. A tick whose lock another run holds is skipped (logged; the flow tries again
at its next tick). SIGTERM or SIGINT sets a stop event: each flow finishes the record in hand,
keeps its cursor or queue entries for the rest, and the process exits 0. After every run the
flow's heartbeat (the state's ``runs`` table) is written; ``bexvendre status`` reads it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs

from bexvendre_mapping._errors import MappingError
from bexvendre_mapping.http import BexClient, HttpError, VendreClient
from bexvendre_mapping.sync._cli import _audit, print_reports, run_flows, sweep_reservations
from bexvendre_mapping.sync._config import (
    SCHEDULED_JOBS,
    SyncConfig,
    make_clients,
    order_options,
    parse_duration,
    push_options,
    with_worker,
)
from bexvendre_mapping.sync._postgres import PostgresState
from bexvendre_mapping.sync._report import AuditLog, Outcome, Report
from bexvendre_mapping.sync._state import LockedError, RunRecord, SqliteState, StateStore
from bexvendre_mapping.sync._stop import STOP, stop_on_signals
from bexvendre_mapping.sync._stores import open_state, open_store

if TYPE_CHECKING:  # without importing prometheus-client
    from bexvendre_mapping.sync._metrics import Metrics

__all__ = [
    "DEFAULT_SCHEDULE",
    "LOCK_WAIT",
    "exit_code",
    "run",
    "status",
]

logger = logging.getLogger("bexvendre_mapping.sync.daemon")

#: How often each flow runs when the configuration has no ``[schedule]`` table (seconds).
DEFAULT_SCHEDULE: Mapping[str, float] = {
    "orders": 60.0,
    "products": 3600.0,
    "stock": 60.0,
    "statuses": 300.0,
    "giftcards": 300.0,
}
#: How long a tick waits for its flow's lock before it leaves the run to the next tick (s).
LOCK_WAIT = 1.0
#: The shortest interval of a flow.
MIN_INTERVAL = 1.0


def exit_code(reports: Sequence[Report], *, locked: bool = False) -> int:
    """The shared exit-code rule.

    1 when anything failed (tried again next run; a held lock counts), else 3 when anything
    was quarantined (a person must look), else 0.
    """
    if locked or any(not r.ok for r in reports):
        return 1
    if any(r.count("quarantined") for r in reports):
        return 3
    return 0


def _result(report: Report | None) -> str:
    if report is None:
        return "locked"
    if not report.ok:
        return "failed"
    return "quarantined" if report.count("quarantined") else "ok"


# --- the configuration's [schedule] ------------------------------------------------------------


def schedule_of(config: SyncConfig, config_path: str | Path) -> dict[str, float]:
    """Each flow to run and its interval in seconds, from the ``[schedule]`` table.

    Without the table, every flow runs at :data:`DEFAULT_SCHEDULE`; with it, only the flows
    it names.

    Raises:
        LookupsError: the table names an unknown flow, or an interval is not a duration of
            at least ``1s``.
    """
    del config_path  # the schedule is the configuration's (SyncConfig.schedule)
    schedule = {flow: float(seconds) for flow, seconds in config.schedule.items()}
    return schedule or dict(DEFAULT_SCHEDULE)


# --- one run of one flow -----------------------------------------------------------------------


class _Runner:
    """Runs the flows of one configuration and writes their heartbeats."""

    def __init__(
        self,
        config: SyncConfig,
        *,
        stop: threading.Event,
        metrics: Metrics | None,
        on_run: Callable[[Report, RunRecord], None],
    ) -> None:
        self.config = config
        self.stop = stop
        self.metrics = metrics
        self.on_run = on_run
        self.broken = False  # a flow's thread could not run at all

    @contextlib.contextmanager
    def resources(
        self,
    ) -> Iterator[tuple[VendreClient, BexClient, SqliteState | PostgresState, AuditLog | None]]:
        """The clients, a state connection and the audit log of one thread."""
        vendre_client, bex_client = make_clients(self.config)
        with (
            vendre_client,
            bex_client,
            open_store(self.config) as state,
            contextlib.ExitStack() as stack,
        ):
            # Writes wait up to lock_timeout for SQLite; a tick waits LOCK_WAIT for its flow's
            # lock, so that a stop is never held up by a run of another process.
            state.lock_timeout = min(LOCK_WAIT, state.lock_timeout)
            audit = None
            if self.config.audit_path is not None:
                audit = stack.enter_context(AuditLog(self.config.audit_path))
            yield vendre_client, bex_client, state, audit

    def tick(
        self,
        flow: str,
        vendre_client: VendreClient,
        bex_client: BexClient,
        state: StateStore,
        audit: AuditLog | None,
    ) -> tuple[Report | None, RunRecord]:
        """Run ``flow`` once; its report (``None`` when its lock was held) and heartbeat."""
        token = STOP.set(self.stop)
        run_id = uuid.uuid4().hex
        started = datetime.now(UTC)
        report: Report | None = None
        try:
            if flow == "giftcards":
                with state.lock(flow):
                    report = sweep_reservations(
                        vendre_client,
                        bex_client,
                        self.config.lookups,
                        state,
                        reservation_ttl=self.config.reservation_ttl,
                        audit=audit,
                    )
            else:
                (report,) = run_flows(
                    (flow,),
                    vendre_client,
                    bex_client,
                    self.config.lookups,
                    state,
                    audit=audit,
                    overlap=self.config.overlap,
                    order_options=order_options(self.config),
                    push_options=push_options(self.config),
                )
        except LockedError as exc:
            logger.warning("%s: %s; tried again at the next tick", flow, exc, extra={"flow": flow})
        except (HttpError, MappingError, OSError, sqlite3.Error) as exc:  # the next tick retries
            logger.exception("%s: the run stopped: %s", flow, exc, extra={"flow": flow})
            report = Report(flow=flow, started=started)
            report.outcomes.append(
                Outcome(
                    flow=flow,
                    entity=flow,
                    action="fetch",
                    result="failed",
                    reason="the run stopped; tried again at the next tick",
                    errors=(f"{type(exc).__name__}: {exc}",),
                )
            )
        finally:
            STOP.reset(token)
        finished = datetime.now(UTC)
        run_id = run_id if report is None else report.run_id
        record = RunRecord(
            flow=flow,
            run_id=run_id,
            started=started,
            finished=finished,
            result=_result(report),
            summary=f"{flow}: lock held by another run" if report is None else report.summary(),
            counts={} if report is None else report.counts,
        )
        record = self.heartbeat(state, record)
        if self.metrics is not None:
            self.metrics.observe(
                flow,
                result=record.result,
                counts=record.counts,
                duration=(finished - started).total_seconds(),
                finished=finished.timestamp(),
                lag=record.lag,
                quarantined=len(state.orders("quarantined")) if flow == "orders" else None,
            )
        if report is not None:
            self.on_run(report, record)
        return report, record

    def heartbeat(self, state: StateStore, record: RunRecord) -> RunRecord:
        """Record the run, with its last success and lag, in the state; the record stored."""
        try:
            if record.result in ("ok", "quarantined"):
                record = attrs.evolve(record, last_success=record.finished)
            else:
                before = state.runs().get(record.flow)
                success = None if before is None else before.last_success
                record = attrs.evolve(record, last_success=success)
            return state.record_run(_with_lag(state, record, record.finished))
        except (sqlite3.Error, OSError) as exc:  # a heartbeat lost is logged, not fatal
            logger.exception("%s: the heartbeat was not written: %s", record.flow, exc)
            return record


def _with_lag(state: StateStore, record: RunRecord, now: datetime) -> RunRecord:
    """The record with its lag as of ``now``: orders from the cursor, others from success."""
    lag: float | None = None
    if record.flow == "orders":
        cursor = state.get_cursor("orders")
        if cursor is not None:
            lag = max(0.0, (now - cursor).total_seconds())
    elif record.last_success is not None:
        lag = max(0.0, (now - record.last_success).total_seconds())
    return attrs.evolve(record, lag=lag)


# --- bexvendre run -----------------------------------------------------------------------------


def run(
    config_path: str,
    *,
    once: bool,
    metrics_port: int | None,
    metrics_host: str,
    output: str,
    out: IO[str],
    err: IO[str],
    worker: str | None = None,
) -> int:
    """``bexvendre run``: every scheduled flow, until SIGTERM or SIGINT (then 0).

    ``worker`` (``--worker``) wins over the configuration's ``worker``: the orders flow
    claims each order and runs beside the other workers' (see ``import_orders``).

    With ``once``, each flow runs once, one after the other, and the status is the shared
    exit-code rule over their reports.

    Raises:
        LookupsError: the configuration is wrong.
        ImportError: ``metrics_port`` without the ``metrics`` extra.
    """
    config = with_worker(SyncConfig.from_toml(config_path), worker)
    schedule = schedule_of(config, config_path)
    metrics: Metrics | None = None
    if metrics_port is not None:
        from bexvendre_mapping.sync._metrics import Metrics  # noqa: PLC0415 - an extra

        metrics = Metrics()
    _check_state(config)
    _log_to(err)
    stop = threading.Event()
    printing = threading.Lock()

    def on_run(report: Report, record: RunRecord) -> None:
        with printing:
            if output == "json":
                out.write(json.dumps(_run_dict(report, record), ensure_ascii=False) + "\n")
            else:
                print_reports([report], out)
            out.flush()

    runner = _Runner(config, stop=stop, metrics=metrics, on_run=on_run)
    with stop_on_signals(stop), contextlib.ExitStack() as stack:
        if metrics is not None:
            try:
                port = metrics.serve(metrics_port or 0, metrics_host)
            except OSError as exc:
                where = f"{metrics_host}:{metrics_port}"
                err.write(f"bexvendre: cannot listen on {where}: {exc.strerror or exc}\n")
                return 1
            stack.callback(metrics.close)
            shown = f"[{metrics_host}]" if ":" in metrics_host else metrics_host
            err.write(f"bexvendre run: metrics on http://{shown}:{port}/metrics\n")
        if once:
            return _once(runner, schedule)
        plan = ", ".join(f"{flow} every {_duration(schedule[flow])}" for flow in _ordered(schedule))
        err.write(f"bexvendre run: {plan} (SIGTERM or Ctrl-C stops)\n")
        err.flush()
        threads = [
            threading.Thread(
                target=_loop, args=(runner, flow, schedule[flow]), name=f"bexvendre-{flow}"
            )
            for flow in _ordered(schedule)
        ]
        for thread in threads:
            thread.start()
        # A thread ends only once stop is set: by the signal handler, or by a thread that
        # could not run (see _loop). Waking twice a second lets the signal handler run.
        while not stop.wait(0.5):
            pass
        for thread in threads:
            thread.join()
        err.write("bexvendre run: stopped\n")
        err.flush()
    return 1 if runner.broken else 0


def _once(runner: _Runner, schedule: Mapping[str, float]) -> int:
    reports: list[Report] = []
    locked = False
    with runner.resources() as (vendre_client, bex_client, state, audit):
        for flow in _ordered(schedule):
            if runner.stop.is_set():
                break
            report, _ = runner.tick(flow, vendre_client, bex_client, state, audit)
            if report is None:
                locked = True
            else:
                reports.append(report)
    return exit_code(reports, locked=locked)


def _loop(runner: _Runner, flow: str, interval: float) -> None:
    """One flow's thread: a run at each tick until the stop event is set."""
    stopped_cleanly = False
    try:
        with runner.resources() as (vendre_client, bex_client, state, audit):
            while not runner.stop.is_set():
                begun = time.monotonic()
                runner.tick(flow, vendre_client, bex_client, state, audit)
                runner.stop.wait(max(0.0, interval - (time.monotonic() - begun)))
        stopped_cleanly = True
    finally:
        if not stopped_cleanly:  # the error goes on to the thread's excepthook, logged there
            logger.error("%s: cannot run; stopping every flow", flow, extra={"flow": flow})
            runner.broken = True
            runner.stop.set()


def _ordered(schedule: Mapping[str, float]) -> list[str]:
    return [flow for flow in SCHEDULED_JOBS if flow in schedule]


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _check_state(config: SyncConfig) -> None:
    """Open the state and the audit log once in the main thread: a bad file is a usage error.

    Raises:
        LookupsError: a file cannot be opened (``$.state``, ``$.audit``).
    """
    open_state(config).close()
    if config.audit_path is not None:
        _audit(config.audit_path, dry_run=False).close()


def _log_to(err: IO[str]) -> None:
    """Log the library's records to ``err`` (once), unless the user configured logging."""
    root = logging.getLogger("bexvendre_mapping")
    if root.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _run_dict(report: Report, record: RunRecord) -> dict[str, Any]:
    """One run as JSON: its heartbeat and, where the report has them, its outcomes."""
    data: dict[str, Any] = dict(report.to_dict())
    data.update(_record_dict(record))
    return data


def _record_dict(record: RunRecord) -> dict[str, Any]:
    return {
        "flow": record.flow,
        "run_id": record.run_id,
        "started": record.started.isoformat(),
        "finished": record.finished.isoformat(),
        "duration": (record.finished - record.started).total_seconds(),
        "result": record.result,
        "summary": record.summary,
        "counts": dict(record.counts),
        "lag": record.lag,
        "last_success": None if record.last_success is None else record.last_success.isoformat(),
    }


# --- bexvendre status --------------------------------------------------------------------------


def status(config_path: str, *, output: str, out: IO[str], stale_after: str | None = None) -> int:
    """``bexvendre status``: each flow's last run, result and lag, from the state.

    The status is the shared rule over the last runs: 1 when a flow's last run failed (or
    found its lock held), else 3 when one quarantined something, else 0. With
    ``stale_after`` (a duration such as ``"10m"``), a scheduled flow that has not ended a run
    within it (the daemon is down or stuck) is stale, and makes the status 1 as well.

    Raises:
        LookupsError: the configuration or the state file is wrong.
        ValueError: ``stale_after`` is not a duration.
    """
    limit = None if stale_after is None else parse_duration(stale_after).total_seconds()
    config = SyncConfig.from_toml(config_path)
    schedule = schedule_of(config, config_path)
    # Reads only: a state file that is not there yet is an empty one.
    state = open_state(config, create=False)
    now = datetime.now(UTC)
    with state:
        runs = state.runs()
        flows = [f for f in SCHEDULED_JOBS if f in schedule or f in runs]
        rows: dict[str, dict[str, Any] | None] = {}
        for flow in flows:
            record = runs.get(flow)
            rows[flow] = None if record is None else _record_dict(_with_lag(state, record, now))
        quarantined = len(state.orders("quarantined"))
    stale = [
        flow
        for flow, row in rows.items()
        if limit is not None
        and flow in schedule
        and (row is None or (now - datetime.fromisoformat(row["finished"])).total_seconds() > limit)
    ]
    results = [row["result"] for row in rows.values() if row is not None]
    code = 0
    if stale or any(r in ("failed", "locked") for r in results):
        code = 1
    elif "quarantined" in results:
        code = 3
    if output == "json":
        data = {
            "now": now.isoformat(),
            "flows": rows,
            "quarantined_orders": quarantined,
            "stale": stale,
        }
        out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return code
    out.write(f"{'flow':<10} {'last run':<21} {'result':<12} {'lag':>8}  summary\n")
    for flow, row in rows.items():
        if row is None:
            out.write(f"{flow:<10} {'never':<21} {'-':<12} {'-':>8}\n")
            continue
        finished = datetime.fromisoformat(row["finished"]).strftime("%Y-%m-%d %H:%M:%SZ")
        lag = "-" if row["lag"] is None else _duration(round(row["lag"]))
        out.write(f"{flow:<10} {finished:<21} {row['result']:<12} {lag:>8}  {row['summary']}\n")
    out.write(f"{quarantined} quarantined order(s)\n")
    if stale:
        shown = _duration(limit or 0)
        out.write(f"stale: {', '.join(stale)} (no run ended in the last {shown})\n")
    return code
