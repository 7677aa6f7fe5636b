"""Vendre's order webhooks (``webhook_app``, ``bexvendre serve``) over real loopback HTTP."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import re
import selectors
import signal
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from tests.sync_support import order_doc

from bexvendre_mapping import Lookups
from bexvendre_mapping._wire import dumps_json
from bexvendre_mapping.sync import (
    Report,
    SqliteState,
    WebhookApp,
    import_hinted_orders,
    import_orders,
    webhook_app,
)
from bexvendre_mapping.testing.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
SECRET = "k3y-" + "x" * 28  # what the tests' Vendre admin put in the URL
PLACED = datetime(2026, 10, 25, tzinfo=UTC)


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteState]:
    """A state file whose lock a second holder waits 10 s for (threads take turns)."""
    with SqliteState(tmp_path / "state.sqlite3", lock_timeout=10) as state:
        yield state


def serve_in_thread(app: WebhookApp) -> tuple[WSGIServer, threading.Thread]:
    """``app`` behind the standard library's threaded WSGI server, on a free loopback port."""
    server = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def post(
    port: int,
    body: bytes | dict[str, Any],
    *,
    query: str = f"key={SECRET}&event=new_order",
    path: str = "/",
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """Send one request to the loopback port; its status and JSON answer."""
    data = body if isinstance(body, bytes) else dumps_json(body)
    target = path + ("?" + query if query else "")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request(method, target, body=data, headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


class Hook:
    """A running webhook application and what it reported."""

    def __init__(self, app: WebhookApp, port: int) -> None:
        self.app = app
        self.port = port
        self.reports: list[Report] = []

    def post(self, body: bytes | dict[str, Any], **options: Any) -> tuple[int, Any]:
        return post(self.port, body, **options)


@pytest.fixture
def hook(sandbox: Sandbox, store: SqliteState, lookups: Lookups) -> Iterator[Hook]:
    """The webhook application over the sandbox, served on loopback; retries once an hour."""
    reports: list[Report] = []
    app = webhook_app(
        sandbox.vendre_client(),
        sandbox.bex_client(),
        lookups,
        store,
        secret=SECRET,
        on_report=reports.append,
        retry_every=3600,
    )
    server, thread = serve_in_thread(app)
    running = Hook(app, server.server_port)
    running.reports = reports
    try:
        yield running
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        app.close()


def ordernrs(sandbox: Sandbox) -> list[str]:
    return sorted(o["Ordernr"] for o in sandbox.bex_orders())


def bex_posts(sandbox: Sandbox) -> list[str]:
    return [c.path for c in sandbox.calls("bex") if c.method == "POST" and c.path == "Orders"]


# --- what is answered, what is recorded --------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "event=new_order",  # no key
        "key=&event=new_order",
        f"key={SECRET[:-1]}&event=new_order",  # one character short
        f"key={SECRET[:-1]}Y&event=new_order",  # the last character wrong
        f"key={SECRET}x",
        f"key={SECRET}&key={SECRET}",  # two keys: which one? neither
        f"KEY={SECRET}",
    ],
)
def test_a_missing_or_wrong_key_is_403_and_nothing_is_recorded(
    hook: Hook, sandbox: Sandbox, store: SqliteState, query: str
) -> None:
    sandbox.add_vendre_order(order_doc(6001))
    status, answer = hook.post({"id": 6001}, query=query)
    assert status == 403
    assert answer == {"error": "missing or wrong key"}
    assert store.pending_hints() == []
    assert hook.app.wait_idle(10)
    assert sandbox.calls("vendre") == []  # the order was not even fetched
    assert sandbox.bex_orders() == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "the body is empty"),
        (b"not json", "the body is not JSON"),
        (b'{"id": 6001', "the body is not JSON"),
        (b"\xff\xfe", "the body is not JSON"),
        (b"[6001]", "not a JSON object"),
        (b"{}", "no order id"),
        (b'{"order_id": 6001}', "no order id"),
        (b'{"id": null}', "no order id"),
        (b'{"id": true}', "no order id"),
        (b'{"id": 6001.5}', "no order id"),
        (b'{"id": "60o1"}', "no order id"),
        (b'{"id": 0}', "from 1 to"),
        (b'{"id": -6001}', "from 1 to"),
        (b'{"id": 9223372036854775808}', "from 1 to"),
    ],
)
def test_a_body_without_a_positive_order_id_is_400(
    hook: Hook, store: SqliteState, body: bytes, problem: str
) -> None:
    status, answer = hook.post(body)
    assert status == 400
    assert problem in answer["error"]
    assert store.pending_hints() == []


def test_other_methods_and_paths(hook: Hook, store: SqliteState) -> None:
    """405 with Allow: POST for another method; 404 for another path; nothing recorded."""
    for method in ("GET", "PUT", "DELETE"):
        assert hook.post({"id": 6001}, method=method) == (405, {"error": "POST only"})
    assert hook.post({"id": 6001}, path="/elsewhere")[0] == 404
    connection = http.client.HTTPConnection("127.0.0.1", hook.port, timeout=10)
    connection.request("GET", f"/?key={SECRET}")
    assert connection.getresponse().getheader("Allow") == "POST"
    connection.close()
    assert store.pending_hints() == []


def test_events_other_than_orders_are_answered_200_and_ignored(
    hook: Hook, sandbox: Sandbox, store: SqliteState
) -> None:
    """new_customer and the like: 200 with a valid key, nothing recorded, nothing fetched."""
    sandbox.add_vendre_order(order_doc(6001))
    customer = {"id": 6001, "email": "astrid@example.se"}  # a customer id like an order id
    status, answer = hook.post(customer, query=f"key={SECRET}&event=new_customer")
    assert (status, answer) == (200, {"status": "ignored", "event": "new_customer"})
    status, _ = hook.post(customer, query=f"key={SECRET}", headers={"X-Vendre-Event": "cart"})
    assert status == 200
    assert store.pending_hints() == []
    assert hook.app.wait_idle(10)
    assert sandbox.calls("vendre") == []
    # A wrong key is still a 403, whatever the event.
    assert hook.post(customer, query="key=nope&event=new_customer")[0] == 403


def test_the_event_may_come_from_a_header_or_not_at_all(
    hook: Hook, sandbox: Sandbox, store: SqliteState
) -> None:
    for order_id in (6001, 6002):
        sandbox.add_vendre_order(order_doc(order_id))
    status, answer = hook.post(
        {"id": 6001}, query=f"key={SECRET}", headers={"X-Vendre-Event": "updated_order"}
    )
    assert (status, answer["event"]) == (202, "updated_order")
    status, answer = hook.post({"id": "6002"}, query=f"key={SECRET}")  # ids as strings too
    assert (status, answer) == (202, {"status": "accepted", "order_id": 6002, "event": "order"})
    assert hook.app.wait_idle(20)
    assert ordernrs(sandbox) == ["6001", "6002"]
    assert store.pending_hints() == []


def test_the_hint_is_committed_before_the_answer(
    sandbox: Sandbox, store: SqliteState, lookups: Lookups
) -> None:
    """The answer comes after the hint is in the file: a second connection reads it then."""
    sandbox.add_vendre_order(order_doc(6001))
    # The background pass cannot take the lock: the hint stays as recorded.
    app = webhook_app(
        sandbox.vendre_client(),
        sandbox.bex_client(),
        lookups,
        store,
        secret=SECRET,
        answer_within=0,
    )
    server, thread = serve_in_thread(app)
    try:
        with store.lock("orders"):
            hook = Hook(app, server.server_port)
            status, _ = hook.post({"id": 6001, "anything": ["else", {"is": "tolerated"}]})
            assert status == 202
            with SqliteState(store.path) as reader:
                (hint,) = reader.pending_hints()
            assert (hint.order_id, hint.event, hint.seen) == (6001, "new_order", 1)
            assert timedelta(0) <= datetime.now(UTC) - hint.received_at < timedelta(minutes=1)
            assert sandbox.bex_orders() == []
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        app.close()


# --- exactly once ------------------------------------------------------------------------------


def test_the_body_is_only_a_hint_the_order_is_fetched_by_id(
    hook: Hook, sandbox: Sandbox, store: SqliteState
) -> None:
    """What Bex gets is Vendre's order, read at GET orders/{id}, not the webhook's body."""
    sandbox.add_vendre_order(order_doc(6001))
    forged = order_doc(6001)
    forged["billing_address"]["name"] = "Mallory"
    assert hook.post(forged)[0] == 202
    assert hook.app.wait_idle(20)
    (order,) = sandbox.bex_orders()
    assert "Mallory" not in json.dumps(order, default=str)
    assert [c.path for c in sandbox.calls("vendre")] == ["orders/6001"]
    assert store.get_order(6001).state == "created"  # type: ignore[union-attr]
    assert store.pending_hints() == []
    assert [r.summary() for r in hook.reports] == ["orders: 1 done"]


def test_a_quick_import_is_done_when_the_answer_comes(hook: Hook, sandbox: Sandbox) -> None:
    """The 202 waits for the pass it asked for (up to answer_within): no wait_idle needed."""
    sandbox.add_vendre_order(order_doc(6001))
    assert hook.post({"id": 6001})[0] == 202
    assert ordernrs(sandbox) == ["6001"]
    assert [r.summary() for r in hook.reports] == ["orders: 1 done"]


def test_a_slow_import_does_not_hold_the_answer_past_answer_within(
    sandbox: Sandbox, store: SqliteState, lookups: Lookups
) -> None:
    """Bex answers after 3 s; the answer comes after about 0.5 s, the import follows."""
    sandbox.add_vendre_order(order_doc(6001))
    sandbox.inject("bex", method="POST", path="Orders", delay=3.0)
    with webhook_app(
        sandbox.vendre_client(),
        sandbox.bex_client(),
        lookups,
        store,
        secret=SECRET,
        answer_within=0.5,
    ) as app:
        server, thread = serve_in_thread(app)
        try:
            started = time.monotonic()
            assert post(server.server_port, {"id": 6001})[0] == 202
            assert time.monotonic() - started < 2.5
            assert ordernrs(sandbox) == []
            assert app.wait_idle(30)
            assert ordernrs(sandbox) == ["6001"]
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)


def test_answer_within_must_not_be_negative(
    sandbox: Sandbox, store: SqliteState, lookups: Lookups
) -> None:
    with pytest.raises(ValueError, match="answer_within"):
        webhook_app(
            sandbox.vendre_client(),
            sandbox.bex_client(),
            lookups,
            store,
            secret=SECRET,
            answer_within=-1,
        )


def test_the_same_order_by_webhook_twice_and_polling_once_with_a_fault_between(
    hook: Hook, sandbox: Sandbox, store: SqliteState, lookups: Lookups
) -> None:
    """Bex commits the first create but its answer is lost, and the look-up fails too: the
    next webhook finds the order in Bex, and polling skips it. One POST, one order."""
    sandbox.add_vendre_order(order_doc(6001))
    sandbox.inject("bex", method="POST", path="Orders", drop_after_commit=True)
    sandbox.inject("bex", method="GET", path="Orders/6001", status=503, times=50)
    assert hook.post({"id": 6001})[0] == 202
    assert hook.app.wait_idle(30)
    assert ordernrs(sandbox) == ["6001"]  # committed, but the flow could not tell
    assert store.get_order(6001).state == "intent"  # type: ignore[union-attr]
    (hint,) = store.pending_hints()
    assert hint.order_id == 6001
    assert hook.reports[-1].count("failed") == 1

    sandbox.clear_faults()
    status, answer = hook.post({"id": 6001}, query=f"key={SECRET}&event=updated_order")
    assert (status, answer["event"]) == (202, "updated_order")
    assert hook.app.wait_idle(30)
    assert hook.reports[-1].outcomes[0].reason == "found in Bex after an interrupted run"
    assert store.pending_hints() == []

    polled = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, store)
    assert polled.count("done") == 0
    assert polled.count("skipped") == 1
    assert ordernrs(sandbox) == ["6001"]
    assert len(bex_posts(sandbox)) == 1  # never sent twice
    assert store.get_order(6001).state == "created"  # type: ignore[union-attr]


def test_a_hint_recorded_while_bex_is_down_is_imported_by_the_next_polling_run(
    hook: Hook, sandbox: Sandbox, store: SqliteState, lookups: Lookups
) -> None:
    sandbox.add_vendre_order(order_doc(6001))
    sandbox.inject("bex", method="POST", path="Orders", status=503, times=50)
    sandbox.inject("bex", method="GET", path="Orders", status=503, times=50)
    assert hook.post({"id": 6001})[0] == 202
    assert hook.app.wait_idle(30)
    hook.app.close()  # the server goes away; the hint stays in the state
    assert sandbox.bex_orders() == []
    assert [h.order_id for h in store.pending_hints()] == [6001]

    sandbox.clear_faults()
    # The cursor stands past the order: the listing will not bring it, the hint must.
    store.set_cursor("orders", datetime(2100, 1, 1, tzinfo=UTC))
    report = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, store)
    assert report.count("done") == 1
    assert ordernrs(sandbox) == ["6001"]
    assert store.pending_hints() == []


def test_a_hint_whose_fetch_failed_is_imported_by_the_next_polling_run(
    hook: Hook, sandbox: Sandbox, store: SqliteState, lookups: Lookups
) -> None:
    """Vendre down at GET orders/{id}: no intent is recorded, only the hint keeps the order."""
    sandbox.add_vendre_order(order_doc(6001))
    sandbox.inject("vendre", method="GET", path="orders/6001", status=503, times=50)
    assert hook.post({"id": 6001})[0] == 202
    assert hook.app.wait_idle(30)
    assert hook.reports[-1].outcomes[0].action == "fetch"
    assert store.get_order(6001) is None
    hook.app.close()

    sandbox.clear_faults()
    store.set_cursor("orders", datetime(2100, 1, 1, tzinfo=UTC))
    report = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, store)
    assert [(o.entity, o.result) for o in report.outcomes] == [("6001", "done")]
    assert ordernrs(sandbox) == ["6001"]
    assert store.pending_hints() == []
    # A dry run plans from the hints too, and clears none.
    store.add_hint(6001, "updated_order")
    plan = import_orders(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, store, dry_run=True
    )
    assert plan.outcomes[0].reason == "already in Bex (updated_order webhook)"
    assert [h.order_id for h in store.pending_hints()] == [6001]


def test_concurrent_webhooks_and_a_polling_run_create_the_order_once(
    sandbox: Sandbox, store: SqliteState, lookups: Lookups
) -> None:
    """Twelve POSTs of one order at once to a threaded server, and a polling run in
    another thread meanwhile: every POST is recorded, the order is sent to Bex once."""
    sandbox.add_vendre_order(order_doc(6001))
    sandbox.inject("bex", method="POST", path="Orders", delay=0.5)  # a slow create
    app = webhook_app(sandbox.vendre_client(), sandbox.bex_client(), lookups, store, secret=SECRET)
    server, thread = serve_in_thread(app)
    hook = Hook(app, server.server_port)
    senders = 12
    barrier = threading.Barrier(senders + 1, timeout=60)
    answers: list[int] = []
    polled: list[Report] = []

    def send() -> None:
        barrier.wait()
        answers.append(hook.post({"id": 6001})[0])

    def poll() -> None:
        barrier.wait()
        with SqliteState(store.path, lock_timeout=30) as own:
            polled.append(
                import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, own)
            )

    threads = [threading.Thread(target=send) for _ in range(senders)]
    threads.append(threading.Thread(target=poll))
    try:
        for each in threads:
            each.start()
        for each in threads:
            each.join(60)
        assert app.wait_idle(60)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        app.close()
    assert answers == [202] * senders
    assert len(polled) == 1
    assert ordernrs(sandbox) == ["6001"]
    assert len(bex_posts(sandbox)) == 1
    assert store.pending_hints() == []
    assert store.get_order(6001).state == "created"  # type: ignore[union-attr]


# --- what a pass does with each hint -----------------------------------------------------------


def test_an_order_vendre_does_not_have_is_skipped_and_its_hint_cleared(
    hook: Hook, sandbox: Sandbox, store: SqliteState
) -> None:
    assert hook.post({"id": 6999})[0] == 202
    assert hook.app.wait_idle(20)
    (outcome,) = hook.reports[-1].outcomes
    assert (outcome.result, outcome.reason) == (
        "skipped",
        "a webhook named it (new_order), but Vendre has no order 6999",
    )
    assert store.pending_hints() == []
    assert sandbox.calls("bex") == []


def test_an_order_that_does_not_map_is_quarantined_and_its_hint_cleared(
    hook: Hook, sandbox: Sandbox, store: SqliteState
) -> None:
    bad = order_doc(6001)
    bad["payment"]["payment_method"] = "PAYPAL"
    sandbox.add_vendre_order_document(bad, order_id=6001, date_added=PLACED)
    assert hook.post({"id": 6001})[0] == 202
    assert hook.app.wait_idle(20)
    record = store.get_order(6001)
    assert record is not None
    assert record.state == "quarantined"
    assert any("PAYPAL" in e for e in record.errors)
    assert store.pending_hints() == []
    assert sandbox.bex_orders() == []


def test_vendre_answering_another_order_is_quarantined(
    hook: Hook, sandbox: Sandbox, store: SqliteState
) -> None:
    other = order_doc(6002)
    sandbox.add_vendre_order_document(other, order_id=6001, date_added=PLACED)
    assert hook.post({"id": 6001})[0] == 202
    assert hook.app.wait_idle(20)
    record = store.get_order(6001)
    assert record is not None
    assert record.state == "quarantined"
    assert record.errors == ("$.id: Vendre answered GET orders/6001 with another order",)
    assert sandbox.bex_orders() == []
    assert store.pending_hints() == []


def test_hints_left_from_before_are_imported_when_the_app_starts(
    sandbox: Sandbox, store: SqliteState, lookups: Lookups
) -> None:
    sandbox.add_vendre_order(order_doc(6001))
    store.add_hint(6001, "new_order")  # recorded by a server that then crashed
    with webhook_app(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, store, secret=SECRET
    ) as app:
        app.start()
        assert app.wait_idle(20)
    assert ordernrs(sandbox) == ["6001"]
    assert store.pending_hints() == []


def test_a_failed_pass_is_retried_after_retry_every(
    sandbox: Sandbox, store: SqliteState, lookups: Lookups
) -> None:
    sandbox.add_vendre_order(order_doc(6001))
    sandbox.inject("vendre", method="GET", path="orders/6001", status=503, times=4)
    store.add_hint(6001, "new_order")
    with webhook_app(
        sandbox.vendre_client(),
        sandbox.bex_client(),
        lookups,
        store,
        secret=SECRET,
        retry_every=0.2,
    ) as app:
        app.start()
        deadline = time.monotonic() + 20
        while not sandbox.bex_orders() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert ordernrs(sandbox) == ["6001"]


def test_a_webhook_during_the_import_keeps_the_hint_for_one_more_look(
    store: SqliteState,
) -> None:
    first = store.add_hint(6001, "new_order")
    again = store.add_hint(6001, "updated_order")
    assert (first.seen, again.seen, again.event) == (1, 2, "updated_order")
    assert not store.clear_hint(6001, seen=first.seen)  # a pass that began before the 2nd
    assert [h.seen for h in store.pending_hints()] == [2]
    assert store.clear_hint(6001, seen=again.seen)
    assert store.pending_hints() == []
    assert not store.clear_hint(6001)


def test_import_hinted_orders_holds_the_lock(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups, tmp_path: Path
) -> None:
    """The webhook pass takes the same lock as a sync run: it waits, then refuses."""
    from bexvendre_mapping.sync import LockedError  # noqa: PLC0415

    state.add_hint(6001, "new_order")
    with (
        SqliteState(state.path, lock_timeout=0.2) as other,
        other.lock("orders"),
        pytest.raises(LockedError),
    ):
        import_hinted_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert sandbox.calls() == []


def test_the_app_refuses_an_empty_secret(
    sandbox: Sandbox, store: SqliteState, lookups: Lookups
) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        webhook_app(sandbox.vendre_client(), sandbox.bex_client(), lookups, store, secret="")


def test_a_state_that_cannot_record_answers_503(
    sandbox: Sandbox, tmp_path: Path, lookups: Lookups
) -> None:
    """The state file went away (its folder removed): 503, so that the sender tries again."""
    folder = tmp_path / "gone"
    folder.mkdir()
    with SqliteState(folder / "state.sqlite3") as state:
        app = webhook_app(
            sandbox.vendre_client(), sandbox.bex_client(), lookups, state, secret=SECRET
        )
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()
        server, thread = serve_in_thread(app)
        try:
            status, answer = Hook(app, server.server_port).post({"id": 6001})
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)
            app.close()
    assert status == 503
    assert "send it again" in answer["error"]


def test_retry_every_must_be_above_0_and_the_repr_names_path_and_state(
    sandbox: Sandbox, store: SqliteState, lookups: Lookups
) -> None:
    for retry_every in (0, -1, float("nan")):
        with pytest.raises(ValueError, match="retry_every must be seconds above 0"):
            webhook_app(
                sandbox.vendre_client(),
                sandbox.bex_client(),
                lookups,
                store,
                secret=SECRET,
                retry_every=retry_every,
            )
    app = webhook_app(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, store, secret=SECRET, path="hook/"
    )
    assert repr(app) == f"WebhookApp(path='/hook', state={store!r})"


def _call(app: WebhookApp, environ: dict[str, Any]) -> tuple[str, Any]:
    """One request straight through the WSGI interface, as any WSGI server makes it."""
    from wsgiref.util import setup_testing_defaults  # noqa: PLC0415

    environ = {"REQUEST_METHOD": "POST", "QUERY_STRING": f"key={SECRET}", **environ}
    setup_testing_defaults(environ)
    started: list[str] = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: started.append(status)))  # type: ignore[arg-type,misc]
    return started[0], json.loads(body)


def test_a_body_over_max_body_is_413_and_not_read(
    sandbox: Sandbox, store: SqliteState, lookups: Lookups
) -> None:
    """A declared length over MAX_BODY is refused before a byte is read; a chunked body
    (``wsgi.input_terminated``, as gunicorn gives it) is read to the end within the bound."""
    import io  # noqa: PLC0415

    from bexvendre_mapping.sync._webhook import MAX_BODY  # noqa: PLC0415

    sandbox.add_vendre_order(order_doc(6001))
    with webhook_app(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, store, secret=SECRET
    ) as app:
        stream = io.BytesIO(b'{"id": 6001}')
        status, answer = _call(app, {"wsgi.input": stream, "CONTENT_LENGTH": str(MAX_BODY + 1)})
        # The reason phrase is Python's: "Request Entity Too Large", from 3.13 "Content Too Large".
        assert status.startswith("413 ")
        assert answer == {"error": "the body is too large"}
        assert stream.tell() == 0
        big = io.BytesIO(b'{"id": 6001, "pad": "' + b"x" * MAX_BODY + b'"}')
        chunked = {"wsgi.input": big, "CONTENT_LENGTH": "", "wsgi.input_terminated": True}
        assert _call(app, chunked)[0].startswith("413")
        assert big.tell() == MAX_BODY + 1  # no more than the bound was read
        # Without a length and not chunked, or with a length that is not a number: no body.
        for environ in (
            {"wsgi.input": io.BytesIO(b'{"id": 6001}'), "CONTENT_LENGTH": ""},
            {"wsgi.input": io.BytesIO(b'{"id": 6001}'), "CONTENT_LENGTH": "twelve"},
        ):
            status, answer = _call(app, environ)
            assert status.startswith("400")
            assert "the body is empty" in answer["error"]
        no_input = {"QUERY_STRING": f"key={SECRET}"}
        status, _ = _call(app, no_input | {"wsgi.input": None})
        assert status.startswith("400")
        assert store.pending_hints() == []
        chunked = {
            "wsgi.input": io.BytesIO(b'{"id": 6001}'),
            "CONTENT_LENGTH": "",
            "wsgi.input_terminated": True,
        }
        status, answer = _call(app, chunked)
        assert (status, answer["order_id"]) == ("202 Accepted", 6001)
        assert app.wait_idle(20)
    assert ordernrs(sandbox) == ["6001"]


def test_a_webhook_after_close_is_recorded_for_the_next_run(
    sandbox: Sandbox, store: SqliteState, lookups: Lookups
) -> None:
    """Once closed, the app still records a hint and answers 202 at once; nothing is fetched
    until a polling run takes the hint up."""
    sandbox.add_vendre_order(order_doc(6001))
    app = webhook_app(sandbox.vendre_client(), sandbox.bex_client(), lookups, store, secret=SECRET)
    app.close()
    server, thread = serve_in_thread(app)
    try:
        began = time.monotonic()
        status, answer = Hook(app, server.server_port).post({"id": 6001})
        assert time.monotonic() - began < 4  # not the 5 s of answer_within
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert (status, answer["order_id"]) == (202, 6001)
    assert [h.order_id for h in store.pending_hints()] == [6001]
    assert sandbox.calls("vendre") == []
    import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, store)
    assert ordernrs(sandbox) == ["6001"]
    assert store.pending_hints() == []


def test_a_pass_that_finds_the_lock_held_leaves_the_hints_for_the_next(
    sandbox: Sandbox, tmp_path: Path, lookups: Lookups, caplog: pytest.LogCaptureFixture
) -> None:
    """A sync run holds the orders lock: the pass gives up after lock_timeout, the hint
    stays, and the next pass (the next webhook) imports it."""
    caplog.set_level(logging.INFO, logger="bexvendre_mapping")
    sandbox.add_vendre_order(order_doc(6001))
    with SqliteState(tmp_path / "state.sqlite3", lock_timeout=0.2) as state:
        state.add_hint(6001, "new_order")
        with webhook_app(
            sandbox.vendre_client(), sandbox.bex_client(), lookups, state, secret=SECRET
        ) as app:
            with SqliteState(state.path) as other, other.lock("orders"):
                app.start()
                assert app.wait_idle(20)
            (waited,) = [r for r in caplog.records if "wait for the next pass" in r.message]
            assert waited.levelno == logging.INFO  # a sync run holding the lock is no error
            assert waited.message.startswith("LockedError: another orders run holds")
            assert sandbox.calls("vendre") == []
            assert [h.order_id for h in state.pending_hints()] == [6001]
            app.start()
            assert app.wait_idle(20)
        assert ordernrs(sandbox) == ["6001"]
        assert state.pending_hints() == []


def test_a_pass_that_cannot_open_the_state_is_logged_and_retried(
    sandbox: Sandbox, tmp_path: Path, lookups: Lookups, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "gone"
    folder.mkdir()
    with SqliteState(folder / "state.sqlite3") as state:
        app = webhook_app(
            sandbox.vendre_client(), sandbox.bex_client(), lookups, state, secret=SECRET
        )
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()
        with app:
            app.start()
            assert app.wait_idle(20)
    assert "the webhook pass could not use the state" in caplog.text
    assert sandbox.calls() == []


# --- bexvendre serve ---------------------------------------------------------------------------


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> bytes:
    """The first line the process writes to stdout, waiting at most ``timeout``."""
    assert process.stdout is not None
    received = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in received and time.monotonic() < deadline:
            if selector.select(timeout=deadline - time.monotonic()):
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    break
                received += chunk
    return received.split(b"\n", 1)[0]


def _configured(sandbox: Sandbox, folder: Path) -> tuple[Path, dict[str, str]]:
    (folder / "lookups.toml").write_text(
        (ROOT / "examples" / "lookups.toml").read_text("utf-8"), "utf-8"
    )
    config = folder / "bexvendre.toml"
    config.write_text(
        f'lookups = "lookups.toml"\nstate = "state.sqlite3"\n\n'
        f'[vendre]\nurl = "{sandbox.vendre_url}"\n\n[bex]\nurl = "{sandbox.bex_url}"\n\n'
        '[webhook]\npath = "/vendre/orders"\n',
        "utf-8",
    )
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "BEXVENDRE_VENDRE_API_KEY": sandbox.vendre_api_key,
        "BEXVENDRE_BEX_API_KEY": sandbox.bex_api_key,
        "BEXVENDRE_BEX_SECRET": sandbox.bex_secret,
        "BEXVENDRE_WEBHOOK_SECRET": SECRET,
    }
    return config, env


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_answers_a_webhook_and_stops_cleanly(
    sandbox: Sandbox, tmp_path: Path, stop: signal.Signals
) -> None:
    """`bexvendre serve` on a free port: one webhook, the order in Bex; Ctrl-C (or SIGTERM)
    stops it with status 0, no traceback, and the key never in its log."""
    sandbox.add_vendre_order(order_doc(6001))
    config, env = _configured(sandbox, tmp_path)
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own command
        [
            sys.executable,
            *("-m", "bexvendre_mapping.cli", "serve"),
            *("--config", str(config), "--port", "0"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    try:
        line = _read_line(process, timeout=20).decode()
        match = re.fullmatch(
            r"bexvendre serve: listening on http://127\.0\.0\.1:(\d+)/vendre/orders\?key=\.\.\. "
            r"\(Ctrl-C stops\)",
            line,
        )
        assert match, line
        port = int(match[1])
        assert post(port, {"id": 6001}, path="/vendre/orders")[0] == 202
        assert post(port, {"id": 6001}, path="/vendre/orders", query="key=wrong")[0] == 403
        deadline = time.monotonic() + 20
        while not sandbox.bex_orders() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # the report line
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert ordernrs(sandbox) == ["6001"]
    assert process.returncode == 0, err
    assert b"Traceback" not in err
    assert SECRET.encode() not in err
    assert b"POST /vendre/orders?key=...&event=new_order" in err
    assert out.decode().splitlines()[-2:] == ["orders: 1 done", "bexvendre serve: stopped"]
    with SqliteState(tmp_path / "state.sqlite3") as state:
        assert state.get_order(6001).state == "created"  # type: ignore[union-attr]


def test_serve_needs_a_webhook_secret(sandbox: Sandbox, tmp_path: Path) -> None:
    config, env = _configured(sandbox, tmp_path)
    del env["BEXVENDRE_WEBHOOK_SECRET"]
    result = subprocess.run(  # noqa: S603 - this interpreter, our own command
        [sys.executable, "-m", "bexvendre_mapping.cli", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "$.webhook.secret: required by bexvendre serve (or set BEXVENDRE_WEBHOOK_SECRET)" in (
        result.stderr
    )

    env["BEXVENDRE_WEBHOOK_SECRET"] = "short"  # noqa: S105 - too short, on purpose
    result = subprocess.run(  # noqa: S603 - this interpreter, our own command
        [sys.executable, "-m", "bexvendre_mapping.cli", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "$.webhook.secret (from BEXVENDRE_WEBHOOK_SECRET): at least 16 characters" in (
        result.stderr
    )
    assert "'short'" not in result.stderr  # a secret is never shown


def _config_file(folder: Path, webhook: str) -> Path:
    (folder / "lookups.toml").write_text(
        (ROOT / "examples" / "lookups.toml").read_text("utf-8"), "utf-8"
    )
    path = folder / "bexvendre.toml"
    path.write_text(
        'lookups = "lookups.toml"\n[vendre]\nurl = "http://127.0.0.1:9/"\napi_key = "v"\n'
        f'[bex]\napi_key = "b"\nsecret = "s"\n{webhook}',
        "utf-8",
    )
    return path


def test_the_webhook_table_of_bexvendre_toml(tmp_path: Path) -> None:
    """[webhook] secret (the environment wins) and path; every problem with its key path."""
    from bexvendre_mapping import LookupsError  # noqa: PLC0415
    from bexvendre_mapping.sync._config import SyncConfig  # noqa: PLC0415

    none = SyncConfig.from_toml(_config_file(tmp_path, ""), environ={})
    assert (none.webhook_secret, none.webhook_path) == (None, "/webhook")
    path = _config_file(tmp_path, f'[webhook]\nsecret = "{SECRET}"\npath = "/vendre/orders"\n')
    config = SyncConfig.from_toml(path, environ={})
    assert (config.webhook_secret, config.webhook_path) == (SECRET, "/vendre/orders")
    assert SECRET not in repr(config)
    other = "z" * 20
    from_env = SyncConfig.from_toml(path, environ={"BEXVENDRE_WEBHOOK_SECRET": other})
    assert from_env.webhook_secret == other

    bad = _config_file(tmp_path, '[webhook]\nsecret = "tooshort"\npath = "webhook?x"\nkye = 1\n')
    with pytest.raises(LookupsError) as caught:
        SyncConfig.from_toml(bad, environ={})
    problems = {p.path: p.message for p in caught.value.problems}
    assert set(problems) == {"$.webhook.secret", "$.webhook.path", "$.webhook.kye"}
    assert problems["$.webhook.secret"].startswith("at least 16 characters, got 8")
    assert "tooshort" not in str(caught.value)


class PerCallStore:
    """A store of one's own (not a SqliteState): each call opens the file anew."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def lock(self, flow: str = "sync") -> Iterator[None]:
        with SqliteState(self.path, lock_timeout=10) as state, state.lock(flow):
            yield

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            with SqliteState(self.path) as state:
                return getattr(state, name)(*args, **kwargs)

        return call


def test_another_store_is_used_by_one_thread_at_a_time(
    sandbox: Sandbox, tmp_path: Path, lookups: Lookups
) -> None:
    sandbox.add_vendre_order(order_doc(6001))
    store = PerCallStore(tmp_path / "state.sqlite3")
    app = webhook_app(
        sandbox.vendre_client(),
        sandbox.bex_client(),
        lookups,
        store,  # type: ignore[arg-type]
        secret=SECRET,
    )
    server, thread = serve_in_thread(app)
    try:
        senders = [
            threading.Thread(target=post, args=(server.server_port, {"id": 6001})) for _ in range(6)
        ]
        for each in senders:
            each.start()
        for each in senders:
            each.join(30)
        assert app.wait_idle(30)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        app.close()
    assert ordernrs(sandbox) == ["6001"]
    assert store.pending_hints() == []


def test_a_postgres_store_gives_each_thread_a_connection_of_its_own(
    sandbox: Sandbox, postgres_dsn: str, lookups: Lookups
) -> None:
    """Webhooks on a PostgreSQL state: each order once, every hint cleared."""
    from bexvendre_mapping.sync import PostgresState  # noqa: PLC0415

    for order_id in (6101, 6102):
        sandbox.add_vendre_order(order_doc(order_id))
    store = PostgresState(postgres_dsn, shop="webhook", lock_timeout=10)
    app = webhook_app(sandbox.vendre_client(), sandbox.bex_client(), lookups, store, secret=SECRET)
    server, thread = serve_in_thread(app)
    try:
        senders = [
            threading.Thread(target=post, args=(server.server_port, {"id": 6101 + n % 2}))
            for n in range(6)
        ]
        for each in senders:
            each.start()
        for each in senders:
            each.join(30)
        assert app.wait_idle(30)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        app.close()
    assert ordernrs(sandbox) == ["6101", "6102"]
    assert store.pending_hints() == []
    store.close()


def test_serve_on_a_port_in_use_exits_1(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The port is taken: exit 1 with the reason, before any hint is taken up; the audit
    log it opened is closed again."""
    import socket  # noqa: PLC0415

    from tests.support import run_main  # noqa: PLC0415

    config, env = _configured(sandbox, tmp_path)
    config.write_text(
        config.read_text("utf-8").replace("lookups =", 'audit = "a.jsonl"\nlookups =')
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with SqliteState(tmp_path / "state.sqlite3") as state:
        state.add_hint(6001, "new_order")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, out, err = run_main(capsys, "serve", "--config", str(config), "--port", str(port))
    assert status == 1
    assert f"bexvendre: cannot listen on 127.0.0.1:{port}: " in err
    assert out == ""
    assert sandbox.calls() == []
    assert (tmp_path / "a.jsonl").read_text("utf-8") == ""
    with SqliteState(tmp_path / "state.sqlite3") as state:
        assert [h.order_id for h in state.pending_hints()] == [6001]


def test_sigterm_is_taken_over_in_the_main_thread_only() -> None:
    """signal.signal works in the main thread only: serve run from another thread leaves
    SIGTERM as it is instead of failing."""
    from bexvendre_mapping.sync._cli import _stopped_by_sigterm  # noqa: PLC0415

    before = signal.getsignal(signal.SIGTERM)
    seen: list[object] = []

    def in_a_thread() -> None:
        with _stopped_by_sigterm():
            seen.append(signal.getsignal(signal.SIGTERM))

    worker = threading.Thread(target=in_a_thread)
    worker.start()
    worker.join(10)
    assert seen == [before]
    with _stopped_by_sigterm():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) == before
