"""``bexvendre sync``, ``bexvendre quarantine``, ``bexvendre serve`` and ``bexvendre demo``."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import socketserver
import tempfile
import threading
import wsgiref.simple_server
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal, overload

from bexvendre_mapping._errors import LookupsError, MappingError, Problem
from bexvendre_mapping._examples import examples_dir
from bexvendre_mapping._lookups import Lookups
from bexvendre_mapping.http import BexClient, HttpError, VendreClient
from bexvendre_mapping.sync._config import (
    SyncConfig,
    make_clients,
    order_options,
    parse_duration,
    push_options,
    with_worker,
)
from bexvendre_mapping.sync._flows import (
    _Run,
    import_orders,
    push_products,
    push_statuses,
    push_stock,
    retry_quarantined,
    retry_quarantined_records,
)
from bexvendre_mapping.sync._giftcards import GiftCardCheckout
from bexvendre_mapping.sync._postgres import PostgresState
from bexvendre_mapping.sync._report import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_QUARANTINED,
    EXIT_USAGE,
    AuditLog,
    Outcome,
    Report,
    exit_code,
)
from bexvendre_mapping.sync._state import LockedError, OrderRecord, SqliteState, StateStore
from bexvendre_mapping.sync._stop import STOP, stop_on_signals
from bexvendre_mapping.sync._stores import open_state
from bexvendre_mapping.sync._webhook import WebhookApp, webhook_app

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_QUARANTINED",
    "EXIT_USAGE",
    "FLOWS",
    "demo",
    "exit_code",
    "quarantine",
    "serve",
    "sweep_gift_cards",
    "sweep_reservations",
    "sync",
]

FLOWS = ("orders", "products", "stock", "statuses")


def run_flows(
    names: Sequence[str],
    vendre_client: VendreClient,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    *,
    dry_run: bool = False,
    audit: AuditLog | None = None,
    overlap: Any = None,
    observer: Callable[[Outcome], None] | None = None,
    order_options: Mapping[str, Any] | None = None,
    push_options: Mapping[str, Any] | None = None,
) -> list[Report]:
    """Run the named flows once, in the order of :data:`FLOWS`.

    One flow's failure never keeps the next from running: a request or a document that
    escapes a flow (the flows report those per record; this is the safety net) becomes that
    flow's one ``failed`` outcome, and the next flow runs. Only :class:`LockedError` ends
    the whole run, since every flow would wait for the same lock. ``order_options`` are
    more keyword arguments of :func:`import_orders` (the go-live controls), ``push_options``
    of the pushes (``max_in_flight``).
    """
    extra: dict[str, Any] = {"dry_run": dry_run, "audit": audit, "observer": observer}
    timed = {**extra, **({"overlap": overlap} if overlap is not None else {})}
    pushes = dict(push_options or {})
    runners: dict[str, Callable[[], Report]] = {
        "orders": lambda: import_orders(
            vendre_client, bex_client, lookups, state, **timed, **(order_options or {})
        ),
        "products": lambda: push_products(
            vendre_client, bex_client, lookups, state, **timed, **pushes
        ),
        "stock": lambda: push_stock(vendre_client, bex_client, lookups, state, **extra, **pushes),
        "statuses": lambda: push_statuses(
            vendre_client, bex_client, lookups, state, **timed, **pushes
        ),
    }
    return [_isolated(name, runners[name], dry_run) for name in FLOWS if name in names]


def _isolated(name: str, runner: Callable[[], Report], dry_run: bool) -> Report:
    try:
        return runner()
    except (HttpError, MappingError) as exc:
        report = Report(flow=name, dry_run=dry_run)
        report.outcomes.append(
            Outcome(
                flow=name,
                entity=name,
                action="fetch",
                result="failed",
                reason="the flow stopped; tried again next run",
                errors=(f"{type(exc).__name__}: {exc}",),
            )
        )
        return report.finish()


def print_reports(reports: Sequence[Report], out: IO[str], *, details: bool = True) -> None:
    """A table of what each flow did, then the records that need attention."""
    table = _table(reports)
    if table is not None and out.isatty():
        from rich.console import Console  # noqa: PLC0415

        Console(file=out).print(table)
    else:
        for report in reports:
            out.write(report.summary() + "\n")
    if not details:
        return
    for report in reports:
        for outcome in report.outcomes:
            if outcome.result == "planned":
                # A dry run lists every record it would touch, with what would change.
                what = f"{outcome.action}" + (f", {outcome.reason}" if outcome.reason else "")
                out.write(f"  planned: {report.flow} {outcome.entity}: {what}\n")
                for field, (old, new) in outcome.diff.items():
                    out.write(f"      {field}: {_shown(old)} → {_shown(new)}\n")
            if outcome.result in ("quarantined", "failed"):
                out.write(f"  {outcome.result}: {report.flow} {outcome.entity}: {outcome.reason}\n")
                for error in outcome.errors:
                    out.write(f"      {error}\n")


def _shown(value: Any) -> str:
    """A diff's value on one line: JSON for containers and text, ``-`` for nothing."""
    if value is None:
        return "-"
    if isinstance(value, dict | list | tuple | str):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _table(reports: Sequence[Report]) -> Any:
    try:
        from rich.table import Table  # noqa: PLC0415
    except ImportError:
        return None
    results = ("done", "planned", "skipped", "quarantined", "failed")
    table = Table(title="bexvendre sync")
    table.add_column("flow")
    for result in results:
        table.add_column(result, justify="right")
    for report in reports:
        table.add_row(report.flow, *(str(report.count(r)) for r in results))  # type: ignore[arg-type]
    return table


@contextlib.contextmanager
def _status(message: str, err: IO[str]) -> Iterator[None]:
    if not err.isatty():
        yield
        return
    try:
        from rich.console import Console  # noqa: PLC0415
    except ImportError:
        err.write(message + "\n")
        yield
        return
    with Console(file=err).status(message):
        yield


#: The shortest and the longest ``--every``.
MIN_EVERY = timedelta(seconds=1)
MAX_EVERY = timedelta(days=365)


class UsageError(ValueError):
    """A command-line argument of these commands is wrong (exit status 2)."""


def _interval(every: str) -> float:
    """``--every`` in seconds; at least 1 s, at most 365 days.

    Raises:
        UsageError: not a duration, or out of those bounds.
    """
    try:
        value = parse_duration(every)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not MIN_EVERY <= value <= MAX_EVERY:
        msg = f"--every must be between 1s and 365d, got {every!r}"
        raise UsageError(msg)
    return value.total_seconds()


def _state(config: SyncConfig, *, create: bool = True) -> SqliteState | PostgresState:
    """The state of the configuration: its file or its PostgreSQL database.

    Raises:
        LookupsError: it cannot be opened (``$.state``, naming the file or database).
    """
    return open_state(config, create=create)


@overload
def _audit(path: Path, *, dry_run: Literal[False]) -> AuditLog: ...
@overload
def _audit(path: Path, *, dry_run: bool) -> AuditLog | None: ...
def _audit(path: Path, *, dry_run: bool) -> AuditLog | None:
    """The audit log, or in a dry run ``None`` once it is clear that it could be opened.

    Raises:
        LookupsError: it cannot be opened (``$.audit``, naming the file).
    """
    if dry_run:
        # Write nothing, but say now what the real run would trip over.
        reason = None
        if path.is_dir():
            reason = "Is a directory"
        elif not path.parent.is_dir():
            reason = "No such file or directory"
        if reason is not None:
            raise LookupsError([Problem("$.audit", f"cannot open {str(path)!r}: {reason}")])
        return None
    try:
        return AuditLog(path)
    except OSError as exc:
        msg = f"cannot open {str(path)!r}: {exc.strerror}"
        raise LookupsError([Problem("$.audit", msg)]) from None


def sync(
    flows: Sequence[str],
    config_path: str,
    *,
    dry_run: bool,
    every: str | None,
    out: IO[str],
    err: IO[str],
    output: str = "text",
    baseline: bool = False,
    worker: str | None = None,
) -> int:
    """``bexvendre sync``: the :func:`exit_code` of its reports (1 when the lock is held).

    With ``output="json"`` each run prints one line: a JSON array of the reports'
    :meth:`Report.to_dict`. With ``every``, a run whose lock another run holds is left to
    the next tick, and SIGTERM or SIGINT ends the loop after the records in hand: exit 0.
    With ``baseline`` (``sync orders --baseline``): record the orders existing now as never
    to be imported, touching nothing in Bex. ``worker`` (``--worker``) wins over the
    configuration's ``worker``: the orders flow claims each order, beside other workers.
    """
    if baseline and (tuple(flows) != ("orders",) or every is not None):
        raise UsageError("--baseline goes with `bexvendre sync orders` alone (no --every)")
    config = with_worker(SyncConfig.from_toml(config_path), worker)
    interval = None if every is None else _interval(every)
    options = {**order_options(config), **({"baseline": True} if baseline else {})}
    vendre_client, bex_client = make_clients(config)
    stop = threading.Event()
    with (
        vendre_client,
        bex_client,
        _state(config, create=not dry_run) as state,
        contextlib.ExitStack() as stack,
    ):
        audit = None
        if config.audit_path is not None:
            audit = _audit(config.audit_path, dry_run=dry_run)
            if audit is not None:
                stack.enter_context(audit)
        # SIGTERM or Ctrl-C: the flows finish the record in hand, keep the rest for the next
        # run (the cursor does not pass it), and the command ends without a traceback.
        stack.enter_context(stop_on_signals(stop))
        stack.callback(STOP.reset, STOP.set(stop))
        while True:
            try:
                with _status(f"syncing {', '.join(flows)}", err):
                    reports = run_flows(
                        flows,
                        vendre_client,
                        bex_client,
                        config.lookups,
                        state,
                        dry_run=dry_run,
                        audit=audit,
                        overlap=config.overlap,
                        order_options=options,
                        push_options=push_options(config),
                    )
            except LockedError as exc:
                err.write(f"bexvendre: {exc}\n")
                if interval is None:
                    return EXIT_FAILED
                err.write(f"bexvendre: tried again in {every}\n")
                err.flush()
            else:
                if output == "json":
                    text = json.dumps([r.to_dict() for r in reports], ensure_ascii=False)
                    out.write(text + "\n")
                    out.flush()
                else:
                    print_reports(reports, out)
                status = exit_code(reports)
                if interval is None:
                    return status
            if stop.wait(interval):
                return EXIT_OK


def quarantine_id(text: str) -> tuple[str, str]:
    """A quarantine id as ``(flow, entity)``: ``FLOW:ENTITY``, or a bare order id.

    Raises:
        UsageError: neither.
    """
    flow, colon, entity = text.partition(":")
    if colon and flow in FLOWS and entity:
        return flow, entity
    if re.fullmatch(r"-?[0-9]+", text):
        return "orders", str(int(text))
    msg = (
        f"bad quarantine id {text[:60]!r}: use FLOW:ENTITY (FLOW one of {', '.join(FLOWS)}), "
        "or an order id"
    )
    raise UsageError(msg)


def _entries(state: StateStore, flow: str | None) -> list[dict[str, Any]]:
    """The quarantined records (of one flow) as JSON-ready data, payload left out."""
    entries: list[dict[str, Any]] = []
    if flow in (None, "orders"):
        entries += [
            {
                "id": f"orders:{r.order_id}",
                "flow": "orders",
                "entity": str(r.order_id),
                "reason": "",
                "errors": list(r.errors),
                "updated_at": r.updated_at.isoformat(),
            }
            for r in state.orders("quarantined")
        ]
    for record in state.quarantined(flow) if flow != "orders" else []:
        entries.append(
            {
                "id": f"{record.flow}:{record.entity}",
                "flow": record.flow,
                "entity": record.entity,
                "reason": record.reason,
                "errors": list(record.errors),
                "updated_at": record.updated_at.isoformat(),
            }
        )
    return entries


def _find(state: StateStore, flow: str, entity: str) -> dict[str, Any] | None:
    """A quarantined record with its payload, or ``None``."""
    if flow == "orders":
        try:
            order = state.get_order(int(entity))
        except (ValueError, OverflowError):
            return None
        if order is None or order.state != "quarantined":
            return None
        errors, reason, payload = order.errors, "", order.payload
        updated = order.updated_at
    else:
        record = state.get_quarantined(flow, entity)
        if record is None:
            return None
        errors, reason, payload, updated = (
            record.errors,
            record.reason,
            record.payload,
            record.updated_at,
        )
    return {
        "id": f"{flow}:{entity}",
        "flow": flow,
        "entity": entity,
        "reason": reason,
        "errors": list(errors),
        "updated_at": updated.isoformat(),
        "payload": json.loads(payload),
    }


def _known(state: StateStore, ids: Sequence[str]) -> list[tuple[str, str]]:
    """The ids as ``(flow, entity)``, each one in quarantine.

    Raises:
        UsageError: an id is malformed or not in quarantine.
    """
    keys = [quarantine_id(text) for text in ids]
    missing = [f"{f}:{e}" for f, e in keys if _find(state, f, e) is None]
    if missing:
        msg = f"not in quarantine: {', '.join(missing)} (bexvendre quarantine list shows what is)"
        raise UsageError(msg)
    return list(dict.fromkeys(keys))


def quarantine(
    action: str,
    config_path: str,
    ids: Sequence[str],
    *,
    out: IO[str],
    err: IO[str],
    flow: str | None = None,
    output: str = "text",
) -> int:
    """``bexvendre quarantine list|show|retry|drop``.

    Raises:
        UsageError: an unknown or malformed id, ``show`` without exactly one id, ``drop``
            without an id (exit status 2).
    """
    config = SyncConfig.from_toml(config_path)
    writes = action in ("retry", "drop")
    # Listing writes nothing: a state file that is not there yet is an empty one.
    with _state(config, create=writes) as state:
        if action == "list":
            return _list(state, flow, output, out)
        if action == "show":
            if len(ids) != 1:
                raise UsageError("quarantine show takes one ID")
            (key,) = _known(state, ids)
            found = _find(state, *key)
            out.write(json.dumps(found, ensure_ascii=False, indent=2) + "\n")
            return EXIT_OK
        keys = _known(state, ids)
        if action == "drop":
            if not keys:
                raise UsageError("quarantine drop takes one or more IDs")
            return _drop(config, state, keys, out, err)
        return _retry(config, state, keys, flow, output, out, err)


def _list(state: StateStore, flow: str | None, output: str, out: IO[str]) -> int:
    entries = _entries(state, flow)
    if output == "json":
        out.write(json.dumps(entries, ensure_ascii=False) + "\n")
        return EXIT_OK
    for entry in entries:
        when = datetime.fromisoformat(entry["updated_at"]).astimezone(UTC)
        reason = f"  {entry['reason']}" if entry["reason"] else ""
        out.write(f"{entry['id']}  {when:%Y-%m-%d %H:%M:%S}Z{reason}\n")
        for error in entry["errors"]:
            out.write(f"    {error}\n")
    orders = sum(1 for e in entries if e["flow"] == "orders")
    out.write(f"{len(entries)} quarantined record(s), {orders} quarantined order(s)\n")
    return EXIT_OK


def _drop(
    config: SyncConfig,
    state: StateStore,
    keys: list[tuple[str, str]],
    out: IO[str],
    err: IO[str],
) -> int:
    """Take records out of quarantine: a person handled them (an order is never imported)."""
    try:
        with contextlib.ExitStack() as stack:
            for flow in sorted({flow for flow, _ in keys}):
                stack.enter_context(state.lock(flow))  # each flow's own lock, in one order
            audit = None
            if config.audit_path is not None:
                audit = stack.enter_context(AuditLog(config.audit_path))
            for flow, entity in keys:
                order = state.get_order(int(entity)) if flow == "orders" else None
                if _find(state, flow, entity) is None:
                    continue  # dropped meanwhile, by another person
                if audit is not None:  # first: a drop the audit log cannot tell of is not made
                    audit.write(
                        Outcome(
                            flow=flow,
                            entity=entity,
                            action="drop",
                            result="done",
                            reason="dropped from quarantine by a person",
                        )
                    )
                if order is not None:
                    state.put_order(
                        OrderRecord(
                            order_id=order.order_id,
                            content_hash=order.content_hash,
                            state="dropped",
                            payload=order.payload,
                            errors=order.errors,
                            updated_at=datetime.now(UTC),
                        )
                    )
                else:
                    state.drop_quarantined(flow, entity)
                out.write(f"dropped {flow}:{entity}\n")
    except LockedError as exc:
        err.write(f"bexvendre: {exc}\n")
        return EXIT_FAILED
    except OSError as exc:
        err.write(f"bexvendre: cannot write the audit log: {exc}\n")
        return EXIT_FAILED
    return EXIT_OK


def _chosen(
    state: StateStore, keys: list[tuple[str, str]], flow: str | None
) -> dict[str, list[str] | None]:
    """The records to retry by flow: those named, else all (``None``) of each flow that has any."""
    if not keys:
        with_records = {e["flow"] for e in _entries(state, flow)}
        return {name: None for name in FLOWS if name in with_records}
    chosen: dict[str, list[str] | None] = {}
    for key_flow, entity in keys:
        chosen.setdefault(key_flow, []).append(entity)  # type: ignore[union-attr]
    return chosen


def _retry(  # noqa: PLR0917
    config: SyncConfig,
    state: StateStore,
    keys: list[tuple[str, str]],
    flow: str | None,
    output: str,
    out: IO[str],
    err: IO[str],
) -> int:
    """Retry the named records, or every quarantined one (of ``flow``); one report per flow."""
    chosen = _chosen(state, keys, flow)
    vendre_client, bex_client = make_clients(config)
    reports: list[Report] = []
    with vendre_client, bex_client, contextlib.ExitStack() as stack:
        audit = None
        if config.audit_path is not None:
            audit = stack.enter_context(_audit(config.audit_path, dry_run=False))
        try:
            for name in FLOWS:
                if name not in chosen:
                    continue
                entities = chosen[name]
                if name == "orders":
                    order_ids = None if entities is None else [int(e) for e in entities]
                    report = retry_quarantined(
                        vendre_client,
                        bex_client,
                        config.lookups,
                        state,
                        order_ids=order_ids,
                        audit=audit,
                    )
                else:
                    report = retry_quarantined_records(
                        vendre_client,
                        bex_client,
                        config.lookups,
                        state,
                        flow=name,  # type: ignore[arg-type]
                        entities=entities,
                        audit=audit,
                    )
                reports.append(report)
        except LockedError as exc:
            err.write(f"bexvendre: {exc}\n")
            return EXIT_FAILED
    if output == "json":
        out.write(json.dumps([r.to_dict() for r in reports], ensure_ascii=False) + "\n")
    elif reports:
        print_reports(reports, out)
    else:
        out.write("nothing in quarantine\n")
    return exit_code(reports)


def demo(out: IO[str], err: IO[str]) -> int:
    """``bexvendre demo``: every flow once against the sandbox, with faults injected."""
    from bexvendre_mapping.testing.sandbox import Sandbox  # noqa: PLC0415

    folder = examples_dir()
    lookups = Lookups.from_toml(folder / "lookups.toml")
    order = json.loads((folder / "vendre-order.json").read_bytes(), parse_float=Decimal)
    with tempfile.TemporaryDirectory() as workdir, Sandbox(seed_examples=True) as sandbox:
        out.write(f"Sandbox: Vendre at {sandbox.vendre_url}, Bex at {sandbox.bex_url}\n")
        # A second good order, and one with a payment method the code tables do not know.
        second = {**order, "id": order["id"] + 1, "gift_cards": []}
        second["totals"] = [t for t in order["totals"] if t["class"] != "ot_giftcard"]
        second["totals"][-1] = {**second["totals"][-1], "value": "4183.0000"}
        sandbox.add_vendre_order(second)
        unknown = {**second, "id": order["id"] + 2}
        unknown["payment"] = {**second["payment"], "payment_method": "PAYPAL"}
        sandbox.add_vendre_order(unknown)
        # Faults: the first order POST gets a 503, the next one's answer is lost after Bex
        # committed it, and one stock update to Vendre gets a 503.
        sandbox.inject("bex", method="POST", path="Orders", status=503)
        sandbox.inject("bex", method="POST", path="Orders", drop_after_commit=True)
        sandbox.inject("vendre", method="PUT", path="products/", status=503)
        out.write(
            "Faults injected: a Bex 503 and a lost response on order creation; "
            "a Vendre 503 on the first stock save.\n\n"
        )

        state_path = Path(workdir) / "state.sqlite3"
        with SqliteState(state_path) as state, AuditLog(Path(workdir) / "audit.jsonl") as audit:
            vendre_client, bex_client = sandbox.vendre_client(), sandbox.bex_client()
            with _status("running every flow", err):
                reports = run_flows(FLOWS, vendre_client, bex_client, lookups, state, audit=audit)
            print_reports(reports, out)
            out.write("\nWhat arrived:\n")
            orders = sandbox.bex_orders()
            numbers = ", ".join(o["Ordernr"] for o in orders)
            out.write(f"  Bex orders: {numbers} ({len(orders)} in all, none twice)\n")
            redeemed = [
                r["ReservationsID"] for r in sandbox.reservations() if r["Status"] == "Inlöst"
            ]
            out.write(f"  gift-card reservations redeemed: {', '.join(redeemed) or 'none'}\n")
            out.write(f"  Vendre products: {len(sandbox.vendre_products())}\n")
            out.write(f"  Vendre products with stock saved: {len(sandbox.vendre_stock())}\n")
            out.write(f"  Vendre order statuses: {len(sandbox.vendre_order_statuses())}\n")
            quarantined = state.orders("quarantined")
            out.write(f"  quarantined orders: {', '.join(str(r.order_id) for r in quarantined)}\n")
            out.write("\nA second run right after:\n")
            again = run_flows(FLOWS, vendre_client, bex_client, lookups, state)
            print_reports(again, out, details=False)
            if len(sandbox.bex_orders()) != len(orders):
                err.write("bexvendre demo: the second run created orders again\n")
                return 1
    return 0


# --- bexvendre serve ---------------------------------------------------------------------------


def serve(config_path: str, *, host: str, port: int, out: IO[str], err: IO[str]) -> int:
    """``bexvendre serve``: take Vendre's order webhooks until Ctrl-C (or SIGTERM); 0 then.

    The standard library's WSGI server, a thread per request, runs
    :func:`~bexvendre_mapping.sync.webhook_app` at the configuration's ``[webhook] path``.

    Raises:
        LookupsError: the configuration is wrong, or has no webhook secret.
    """
    config = SyncConfig.from_toml(config_path)
    if config.webhook_secret is None:
        problem = "required by bexvendre serve (or set BEXVENDRE_WEBHOOK_SECRET)"
        raise LookupsError([Problem("$.webhook.secret", problem)])
    vendre_client, bex_client = make_clients(config)
    with vendre_client, bex_client, _state(config) as state, contextlib.ExitStack() as stack:
        audit = None
        if config.audit_path is not None:
            audit = stack.enter_context(_audit(config.audit_path, dry_run=False))

        def report(report: Report) -> None:
            print_reports([report], out)
            out.flush()

        app = webhook_app(
            vendre_client,
            bex_client,
            config.lookups,
            state,
            secret=config.webhook_secret,
            path=config.webhook_path,
            audit=audit,
            on_report=report,
            since=config.since,
            import_statuses=config.import_statuses,
        )
        try:
            server = _server(host, port, app, err)
        except OSError as exc:
            err.write(f"bexvendre: cannot listen on {host}:{port}: {exc.strerror or exc}\n")
            return 1
        stack.enter_context(app)  # closed (its pass finished) before the clients and state
        # Ctrl-C (or SIGTERM) ends serve_forever; the requests in hand are answered first.
        with contextlib.suppress(KeyboardInterrupt), _stopped_by_sigterm(), server:
            app.start()  # hints left from before
            shown = f"[{host}]" if ":" in host else host
            out.write(
                f"bexvendre serve: listening on http://{shown}:{server.server_port}"
                f"{config.webhook_path}?key=... (Ctrl-C stops)\n"
            )
            out.flush()
            server.serve_forever()
        out.write("bexvendre serve: stopped\n")
        out.flush()
    return 0


class _Stop(KeyboardInterrupt):
    """SIGTERM: stop as Ctrl-C does."""


@contextlib.contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return

    def stop(_signum: int, _frame: object) -> None:
        raise _Stop

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


_KEY = re.compile(r"(?<=[?&]key=)[^&\s]*")


class _ThreadingServer(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    """The standard library's WSGI server, one thread per request (joined on close)."""

    daemon_threads = False
    block_on_close = True


def _server(host: str, port: int, app: WebhookApp, err: IO[str]) -> _ThreadingServer:
    """A threaded WSGI server for ``app``, logging requests to ``err`` with the key hidden."""

    class Handler(wsgiref.simple_server.WSGIRequestHandler):
        timeout = 30  # seconds a client may stall; bounds the wait at shutdown too

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            line = _KEY.sub("...", format % args)
            err.write(f"{self.address_string()} - [{self.log_date_time_string()}] {line}\n")

    class Server(_ThreadingServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    server = Server((host, port), Handler)
    server.set_app(app)
    return server


def sweep_reservations(
    vendre_client: VendreClient | None,
    bex_client: BexClient,
    lookups: Lookups,
    state: StateStore,
    *,
    reservation_ttl: timedelta,
    audit: AuditLog | None = None,
    now: datetime | None = None,
) -> Report:
    """Release the gift-card reservations older than ``reservation_ttl``, as a report.

    The ``giftcards`` job of ``bexvendre run`` and ``bexvendre giftcards sweep``: one
    ``release`` outcome per checkout swept; a failed request is the run's one ``failed``
    outcome (the checkouts swept before it stay swept, the next sweep takes the rest).
    """
    run = _Run("giftcards", False, audit)
    checkout = GiftCardCheckout(
        vendre_client, bex_client, lookups, state, reservation_ttl=reservation_ttl
    )
    try:
        swept = checkout.sweep(now)
    except HttpError as exc:
        run.failed("giftcards", "release", "the sweep stopped; the next sweep takes the rest", exc)
        return run.finish()
    for reference in swept:
        run.record(reference, "release", "done", "reserved longer than reservation_ttl")
    return run.finish()


def sweep_gift_cards(config_path: str, *, out: IO[str], now: datetime | None = None) -> int:
    """``bexvendre giftcards sweep``: release the checkouts' reservations past their time.

    Returns:
        0 when done, 1 when a request failed (those swept before stay swept).

    Raises:
        LookupsError: the configuration is wrong (a usage error, exit 2).
    """
    config = SyncConfig.from_toml(config_path)
    vendre_client, bex_client = make_clients(config)
    with (
        vendre_client,
        bex_client,
        _state(config) as state,
        contextlib.ExitStack() as stack,
    ):
        audit = None
        if config.audit_path is not None:
            audit = stack.enter_context(AuditLog(config.audit_path))
        report = sweep_reservations(
            vendre_client,
            bex_client,
            config.lookups,
            state,
            reservation_ttl=config.reservation_ttl,
            audit=audit,
            now=now,
        )
    if not report.ok:
        (failed,) = report.outcomes
        out.write(f"sweep stopped: {failed.errors[0]}\n")
        return EXIT_FAILED
    out.write(f"released {len(report.outcomes)} expired gift-card reservation(s)\n")
    for outcome in report.outcomes:
        out.write(f"  {outcome.entity}\n")
    return EXIT_OK
