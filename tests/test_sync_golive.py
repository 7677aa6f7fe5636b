"""Going live: ``since``, ``import_statuses`` and ``sync orders --baseline``, over loopback HTTP.

The sandbox is seeded with an order placed before ``since``, one in an unpaid status and a
paid one; ``bexvendre sync orders`` (in-process, through ``cli.main``) must import only the
paid recent one, the unpaid one once its status turns paid, and after ``--baseline`` nothing
that existed before.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import attrs
import pytest
from tests.support import run_main
from tests.sync_support import ROOT, order_doc

from bexvendre_mapping import LookupsError
from bexvendre_mapping._lookups import Lookups
from bexvendre_mapping.sync import (
    SqliteState,
    SyncConfig,
    import_hinted_orders,
    import_orders,
    load_config,
    webhook_app,
)
from bexvendre_mapping.sync._stop import STOP
from bexvendre_mapping.testing.sandbox import Sandbox

PAID, UNPAID = 2, 1
OLD, WAITING, PAID_RECENT, NEW = 1001, 1002, 1003, 1004


def placed(days_ago: float) -> int:
    """Epoch seconds of a moment ``days_ago`` before now (Vendre sends dates so)."""
    return int((datetime.now(UTC) - timedelta(days=days_ago)).timestamp())


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Sandbox, Path]]:
    """A sandbox with an old paid order, a recent unpaid one and a recent paid one."""
    with Sandbox() as sandbox:
        sandbox.add_vendre_order(order_doc(OLD, date_added=placed(2500), status=PAID))
        sandbox.add_vendre_order(order_doc(WAITING, date_added=placed(2), status=UNPAID))
        sandbox.add_vendre_order(order_doc(PAID_RECENT, date_added=placed(1), status=PAID))
        (tmp_path / "lookups.toml").write_text(
            (ROOT / "examples" / "lookups.toml").read_text("utf-8"), "utf-8"
        )
        monkeypatch.setenv("BEXVENDRE_VENDRE_API_KEY", sandbox.vendre_api_key)
        monkeypatch.setenv("BEXVENDRE_BEX_API_KEY", sandbox.bex_api_key)
        monkeypatch.setenv("BEXVENDRE_BEX_SECRET", sandbox.bex_secret)
        yield sandbox, tmp_path


def write_config(sandbox: Sandbox, folder: Path, settings: str = "") -> str:
    path = folder / "bexvendre.toml"
    path.write_text(
        f'lookups = "lookups.toml"\nstate = "state.sqlite3"\n{settings}\n'
        f'[vendre]\nurl = "{sandbox.vendre_url}"\n\n[bex]\nurl = "{sandbox.bex_url}"\n',
        "utf-8",
    )
    return str(path)


def bex_numbers(sandbox: Sandbox) -> list[str]:
    return sorted(o["Ordernr"] for o in sandbox.bex_orders())


def test_since_and_import_statuses_import_only_the_paid_recent_order(
    shop: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The old order never goes; the unpaid one waits, and goes once its status is paid."""
    sandbox, folder = shop
    since = (datetime.now(UTC) - timedelta(days=30)).date()
    config = write_config(sandbox, folder, f"since = {since}\nimport_statuses = [{PAID}]\n")

    status, out, err = run_main(capsys, "sync", "orders", "--config", config)
    assert status == 0, err
    assert "orders: 1 done, 1 skipped" in out  # the old one is not even listed
    assert bex_numbers(sandbox) == [str(PAID_RECENT)]
    with SqliteState(folder / "state.sqlite3") as state:
        waiting = state.held_orders("waiting")
        assert [(h.order_id, h.status) for h in waiting] == [(WAITING, UNPAID)]
        cursor = state.get_cursor("orders")
    # The cursor went past the waiting order: only reading it again by id finds it.
    assert cursor is not None
    assert cursor - timedelta(minutes=10) > datetime.fromtimestamp(placed(2), UTC)

    status, out, _ = run_main(capsys, "sync", "orders", "--config", config)
    assert status == 0
    assert bex_numbers(sandbox) == [str(PAID_RECENT)]  # still unpaid: still waiting
    assert "orders: 1 skipped" in out

    sandbox.add_vendre_order(order_doc(WAITING, date_added=placed(2), status=PAID))
    status, out, err = run_main(capsys, "sync", "orders", "--config", config)
    assert status == 0, err
    assert "orders: 1 done" in out
    assert bex_numbers(sandbox) == [str(WAITING), str(PAID_RECENT)]
    with SqliteState(folder / "state.sqlite3") as state:
        assert state.held_orders() == []
        assert sorted(r.order_id for r in state.orders("created")) == [WAITING, PAID_RECENT]
    assert str(OLD) not in bex_numbers(sandbox)

    status, out, _ = run_main(capsys, "sync", "orders", "--config", config)
    assert (status, out.strip()) == (0, "orders: nothing to do")


def test_since_holds_on_every_run_not_only_the_first(shop: tuple[Sandbox, Path]) -> None:
    """An order before ``since`` that the window lists anyway (a long overlap) is skipped."""
    sandbox, folder = shop
    lookups = Lookups.from_toml(folder / "lookups.toml")
    since = datetime.now(UTC) - timedelta(days=3)
    with (
        SqliteState(folder / "state.sqlite3") as state,
        sandbox.vendre_client() as vendre_client,
        sandbox.bex_client() as bex_client,
    ):
        state.set_cursor("orders", datetime.now(UTC) - timedelta(days=1))
        report = import_orders(
            vendre_client,
            bex_client,
            lookups,
            state,
            overlap=timedelta(days=3650),
            since=since,
        )
    assert bex_numbers(sandbox) == [str(WAITING), str(PAID_RECENT)]
    # The listing started at `since`, not at cursor - overlap: the old order was not fetched.
    assert sorted(o.entity for o in report.outcomes) == [str(WAITING), str(PAID_RECENT)]
    assert report.count("done") == 2


def test_an_order_before_since_is_skipped_when_listed(shop: tuple[Sandbox, Path]) -> None:
    """The shop's since filter is not trusted alone: each order's date is checked."""
    sandbox, folder = shop
    lookups = Lookups.from_toml(folder / "lookups.toml")
    with (
        SqliteState(folder / "state.sqlite3") as state,
        sandbox.vendre_client() as vendre_client,
        sandbox.bex_client() as bex_client,
    ):
        state.add_hint(OLD, "new_order")  # a webhook names the old order: fetched by id
        report = import_hinted_orders(
            vendre_client, bex_client, lookups, state, since=date.today() - timedelta(days=30)
        )
        assert state.pending_hints() == []
    [outcome] = report.outcomes
    assert (outcome.entity, outcome.action, outcome.result) == (str(OLD), "skip", "skipped")
    assert outcome.reason.startswith("placed before since")
    assert sandbox.bex_orders() == []


def test_a_webhook_for_an_unpaid_order_waits_then_the_paid_update_imports_it(
    shop: tuple[Sandbox, Path],
) -> None:
    """A hinted unpaid order is held as waiting; the updated_order webhook brings it in."""
    sandbox, folder = shop
    lookups = Lookups.from_toml(folder / "lookups.toml")
    with (
        SqliteState(folder / "state.sqlite3") as state,
        sandbox.vendre_client() as vendre_client,
        sandbox.bex_client() as bex_client,
    ):
        state.add_hint(WAITING, "new_order")
        report = import_hinted_orders(
            vendre_client, bex_client, lookups, state, import_statuses=[PAID]
        )
        assert [o.reason for o in report.outcomes] == [f"waiting: status {UNPAID} is not imported"]
        assert [h.order_id for h in state.held_orders("waiting")] == [WAITING]
        assert sandbox.bex_orders() == []
        sandbox.add_vendre_order(order_doc(WAITING, date_added=placed(2), status=PAID))
        state.add_hint(WAITING, "updated_order")
        import_hinted_orders(vendre_client, bex_client, lookups, state, import_statuses=[PAID])
        assert state.held_orders() == []
    assert bex_numbers(sandbox) == [str(WAITING)]


def test_a_waiting_order_is_let_go_after_wait_limit(shop: tuple[Sandbox, Path]) -> None:
    """An order that waited longer than ``wait_limit`` is no longer read again."""
    sandbox, folder = shop
    lookups = Lookups.from_toml(folder / "lookups.toml")
    with (
        SqliteState(folder / "state.sqlite3") as state,
        sandbox.vendre_client() as vendre_client,
        sandbox.bex_client() as bex_client,
    ):
        import_orders(vendre_client, bex_client, lookups, state, import_statuses=[PAID])
        assert [h.order_id for h in state.held_orders("waiting")] == [WAITING]
        report = import_orders(
            vendre_client,
            bex_client,
            lookups,
            state,
            import_statuses=[PAID],
            wait_limit=timedelta(days=1),
        )
        assert state.held_orders() == []
    let_go = [o for o in report.outcomes if o.entity == str(WAITING)]
    assert [o.reason for o in let_go] == ["waited longer than 1d for an imported status; let go"]


def test_baseline_then_a_run_imports_nothing_that_existed(
    shop: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """``--baseline`` touches no Bex; then only an order placed after it is imported."""
    sandbox, folder = shop
    # A long overlap, so that the next run lists the pre-existing orders again.
    config = write_config(sandbox, folder, 'overlap = "365d"\n')

    status, out, err = run_main(
        capsys, "sync", "orders", "--config", config, "--baseline", "--dry-run"
    )
    assert status == 0, err
    assert "orders (dry run): 3 skipped" in out
    assert not (folder / "state.sqlite3").exists()

    status, out, err = run_main(capsys, "sync", "orders", "--config", config, "--baseline")
    assert status == 0, err
    assert "orders: 3 skipped" in out
    assert sandbox.calls("bex") == []
    with SqliteState(folder / "state.sqlite3") as state:
        held = state.held_orders("baseline")
        assert [h.order_id for h in held] == [OLD, WAITING, PAID_RECENT]
        assert state.get_cursor("orders") is not None
        assert state.orders() == []

    sandbox.add_vendre_order(order_doc(WAITING, date_added=placed(2), status=PAID + 1))
    sandbox.add_vendre_order(order_doc(NEW, date_added=placed(1 / 86400), status=PAID))
    status, out, err = run_main(capsys, "sync", "orders", "--config", config)
    assert status == 0, err
    assert bex_numbers(sandbox) == [str(NEW)]
    assert "orders: 1 done, 2 skipped" in out  # the 2 recent ones listed again, held back


def test_baseline_reports_each_order_through_the_api(shop: tuple[Sandbox, Path]) -> None:
    """Each order gets one outcome: skip, reason ``baseline``; known ones are left alone."""
    sandbox, folder = shop
    lookups = Lookups.from_toml(folder / "lookups.toml")
    with (
        SqliteState(folder / "state.sqlite3") as state,
        sandbox.vendre_client() as vendre_client,
        sandbox.bex_client() as bex_client,
    ):
        import_orders(
            vendre_client, bex_client, lookups, state, since=datetime.now(UTC) - timedelta(days=1.5)
        )
        report = import_orders(vendre_client, bex_client, lookups, state, baseline=True)
        hinted = state.add_hint(WAITING, "updated_order")
        again = import_hinted_orders(vendre_client, bex_client, lookups, state)
        assert state.pending_hints() == []
    rows = sorted((o.entity, o.action, o.result, o.reason) for o in report.outcomes)
    assert rows == [
        (str(OLD), "skip", "skipped", "baseline"),
        (str(WAITING), "skip", "skipped", "baseline"),
        (str(PAID_RECENT), "skip", "skipped", "baseline: already created"),
    ]
    assert hinted.order_id == WAITING
    assert [(o.entity, o.reason) for o in again.outcomes] == [(str(WAITING), "baseline")]
    assert bex_numbers(sandbox) == [str(PAID_RECENT)]


def test_baseline_goes_with_sync_orders_alone(
    shop: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox, folder = shop
    config = write_config(sandbox, folder)
    for argv in (("sync", "all"), ("sync", "stock"), ("sync", "orders", "--every", "1m")):
        status, _, err = run_main(capsys, *argv, "--config", config, "--baseline")
        assert status == 2
        assert "--baseline goes with `bexvendre sync orders` alone" in err
    assert sandbox.calls() == []


# --- the configuration -----------------------------------------------------------------------


def config_file(tmp_path: Path, settings: str) -> Path:
    (tmp_path / "lookups.toml").write_text(
        (ROOT / "examples" / "lookups.toml").read_text("utf-8"), "utf-8"
    )
    path = tmp_path / "bexvendre.toml"
    path.write_text(
        f'lookups = "lookups.toml"\n{settings}\n'
        '[vendre]\nurl = "https://shop.example.se/API/1/"\napi_key = "k"\n'
        '[bex]\napi_key = "k"\nsecret = "s"\n',
        "utf-8",
    )
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(LookupsError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-01-01", date(2026, 1, 1)),
        ('"2026-01-01"', date(2026, 1, 1)),
        ("2026-01-01T08:00:00+01:00", datetime.fromisoformat("2026-01-01T08:00:00+01:00")),
        ('"2026-01-01T08:00:00"', datetime(2026, 1, 1, 8)),
    ],
)
def test_since_loads_as_a_date_or_datetime(
    tmp_path: Path, written: str, expected: date | datetime
) -> None:
    config = load_config(config_file(tmp_path, f"since = {written}\n"))
    assert config.since == expected
    assert type(config.since) is type(expected)


def test_go_live_settings_and_schedule_load(tmp_path: Path) -> None:
    config = load_config(
        config_file(
            tmp_path,
            'import_statuses = [2, 3]\nwait_limit = "7d"\n\n'
            '[schedule]\norders = "1m"\nstock = "30s"\nproducts = "2h"\n',
        ),
        environ={},
    )
    assert isinstance(config, SyncConfig)
    assert config.import_statuses == (2, 3)
    assert config.wait_limit == timedelta(days=7)
    assert dict(config.schedule) == {"orders": 60.0, "stock": 30.0, "products": 7200.0}
    assert config.since is None
    bare = load_config(config_file(tmp_path, ""), environ={})
    assert (bare.since, bare.import_statuses, dict(bare.schedule)) == (None, None, {})
    assert bare.wait_limit == timedelta(days=30)


def test_go_live_settings_problems_are_named(tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        'sinse = 2026-01-01\nsince = "last week"\nimport_statuses = [2, "paid", true]\n'
        'wait_limit = "soon"\n\n[schedule]\norder = "1m"\nstock = "0s"\nstatuses = 5\n'
        'products = "1x"\n',
    )
    assert problems(path) == [
        "$.sinse: unknown setting 'sinse'; did you mean 'since'?",
        "$.wait_limit: expected a duration like '30s', '5m' or '1h', got 'soon'",
        "$.since: expected a date or date-time such as 2026-01-01 or "
        "2026-01-01T00:00:00+01:00, got 'last week'",
        "$.import_statuses[1]: expected a status id (0 or more), got 'paid'",
        "$.import_statuses[2]: expected a status id (0 or more), got true",
        "$.schedule.order: unknown setting 'order'; did you mean 'orders'?",
        "$.schedule.products: expected a duration like '30s', '5m' or '1h', got '1x'",
        "$.schedule.stock: expected between 1s and 365d, got '0s'",
        "$.schedule.statuses: expected a duration like '30s', '5m' or '1h', got 5",
    ]


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ("import_statuses = []", "$.import_statuses: expected a non-empty list of status ids"),
        ("import_statuses = 2", "$.import_statuses: expected a non-empty list of status ids"),
        ("since = 08:00:00", "$.since: expected a date or date-time"),
        ('schedule = "1m"', "$.schedule: expected a table, got '1m'"),
    ],
)
def test_wrong_shapes_of_go_live_settings(tmp_path: Path, settings: str, problem: str) -> None:
    [found] = problems(config_file(tmp_path, settings))
    assert found.startswith(problem)


def test_a_bad_go_live_setting_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_file(tmp_path, "import_statuses = [-1]\n")
    status, _, err = run_main(capsys, "sync", "orders", "--config", str(path), "--baseline")
    assert status == 2
    assert "$.import_statuses[0]: expected a status id (0 or more), got -1" in err


def test_import_statuses_must_be_integers(shop: tuple[Sandbox, Path]) -> None:
    sandbox, folder = shop
    lookups = Lookups.from_toml(folder / "lookups.toml")
    with SqliteState(folder / "state.sqlite3") as state, pytest.raises(TypeError):
        import_orders(
            sandbox.vendre_client(),
            sandbox.bex_client(),
            lookups,
            state,
            import_statuses="2",  # type: ignore[arg-type]
        )
    assert sandbox.calls() == []


def test_the_webhook_follows_the_go_live_controls(shop: tuple[Sandbox, Path]) -> None:
    """``webhook_app(since=..., import_statuses=...)`` over loopback HTTP holds back as polling."""
    sandbox, folder = shop
    lookups = Lookups.from_toml(folder / "lookups.toml")
    secret = "a-webhook-secret-of-some-length"  # noqa: S105 - a test secret
    with SqliteState(folder / "state.sqlite3", lock_timeout=10) as state:
        app = webhook_app(
            sandbox.vendre_client(),
            sandbox.bex_client(),
            lookups,
            state,
            secret=secret,
            retry_every=3600,
            answer_within=10,
            since=datetime.now(UTC) - timedelta(days=30),
            import_statuses=[PAID],
        )
        server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()

        def post(order_id: int, event: str) -> int:
            connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=20)
            try:
                body = json.dumps({"id": order_id})
                connection.request("POST", f"/?key={secret}&event={event}", body=body)
                return connection.getresponse().status
            finally:
                connection.close()

        try:
            assert post(OLD, "new_order") == 202
            assert post(WAITING, "new_order") == 202
            assert app.wait_idle(10)
            assert sandbox.bex_orders() == []
            assert [h.order_id for h in state.held_orders("waiting")] == [WAITING]
            sandbox.add_vendre_order(order_doc(WAITING, date_added=placed(2), status=PAID))
            assert post(WAITING, "updated_order") == 202
            assert app.wait_idle(10)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)
            app.close()
        assert state.pending_hints() == []
        assert state.held_orders() == []
    assert bex_numbers(sandbox) == [str(WAITING)]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


def wait_then(
    sandbox: Sandbox, folder: Path, **options: Any
) -> tuple[list[tuple[str, str, str, str]], list[int]]:
    """Hold WAITING (an import with only PAID imported), then run again with ``options``.

    Returns the second run's outcomes for WAITING and the orders still waiting after it.
    """
    lookups = Lookups.from_toml(folder / "lookups.toml")
    with (
        SqliteState(folder / "state.sqlite3") as state,
        sandbox.vendre_client(retries=0) as vendre_client,
        sandbox.bex_client() as bex_client,
    ):
        import_orders(vendre_client, bex_client, lookups, state, import_statuses=[PAID])
        assert [h.order_id for h in state.held_orders("waiting")] == [WAITING]
        options.setdefault("import_statuses", [PAID])
        report = import_orders(vendre_client, bex_client, lookups, state, **options)
        waiting = [h.order_id for h in state.held_orders("waiting")]
    rows = [
        (o.entity, o.action, o.result, o.reason)
        for o in report.outcomes
        if o.entity == str(WAITING)
    ]
    return rows, waiting


@pytest.mark.parametrize(
    ("limit", "text"),
    [(timedelta(hours=36), "36h"), (timedelta(minutes=90), "90m"), (timedelta(seconds=90), "90s")],
)
def test_the_wait_limit_is_reported_as_the_config_writes_it(
    shop: tuple[Sandbox, Path], limit: timedelta, text: str
) -> None:
    sandbox, folder = shop
    rows, waiting = wait_then(sandbox, folder, wait_limit=limit)
    reason = f"waited longer than {text} for an imported status; let go"
    assert rows == [(str(WAITING), "skip", "skipped", reason)]
    assert waiting == []


def test_a_dry_run_reports_the_let_go_but_keeps_the_order_waiting(
    shop: tuple[Sandbox, Path],
) -> None:
    sandbox, folder = shop
    rows, waiting = wait_then(sandbox, folder, wait_limit=timedelta(days=1), dry_run=True)
    assert [r[3] for r in rows] == ["waited longer than 1d for an imported status; let go"]
    assert waiting == [WAITING]


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_waiting_order_vendre_no_longer_has_is_let_go(
    shop: tuple[Sandbox, Path], dry_run: bool
) -> None:
    """Let go (a dry run only says so)."""
    sandbox, folder = shop
    sandbox.inject("vendre", method="GET", path=f"orders/{WAITING}", status=404)
    rows, waiting = wait_then(sandbox, folder, dry_run=dry_run)
    assert rows == [(str(WAITING), "skip", "skipped", "was waiting; Vendre no longer has it")]
    assert waiting == ([WAITING] if dry_run else [])


def test_a_baseline_whose_listing_breaks_off_keeps_no_cursor(shop: tuple[Sandbox, Path]) -> None:
    """The orders after the break were never recorded as baseline: the cursor stays unset,
    so that the next baseline (or run) lists them."""
    sandbox, folder = shop
    lookups = Lookups.from_toml(folder / "lookups.toml")
    sandbox.inject("vendre", method="GET", path="orders", status=500)
    with (
        SqliteState(folder / "state.sqlite3") as state,
        sandbox.vendre_client(retries=0) as vendre_client,
        sandbox.bex_client() as bex_client,
    ):
        report = import_orders(vendre_client, bex_client, lookups, state, baseline=True)
        assert state.get_cursor("orders") is None
        assert state.held_orders() == []
    assert [(o.entity, o.result) for o in report.outcomes] == [("orders", "failed")]
    assert sandbox.calls("bex") == []


def test_a_waiting_order_that_cannot_be_read_keeps_waiting(shop: tuple[Sandbox, Path]) -> None:
    sandbox, folder = shop
    sandbox.inject("vendre", method="GET", path=f"orders/{WAITING}", status=500)
    rows, waiting = wait_then(sandbox, folder)
    assert rows == [
        (str(WAITING), "fetch", "failed", "waiting for its status; read again next run")
    ]
    assert waiting == [WAITING]


def test_a_waiting_order_read_back_as_another_is_not_imported(
    shop: tuple[Sandbox, Path],
) -> None:
    """Vendre answers ``orders/1002`` with another order: nothing is imported, it waits on."""
    sandbox, folder = shop
    wait_then(sandbox, folder)  # holds WAITING, which stays unpaid
    other = order_doc(NEW, date_added=placed(2), status=PAID)
    sandbox.add_vendre_order_document(
        other, order_id=WAITING, date_added=datetime.now(UTC) - timedelta(days=2)
    )
    lookups = Lookups.from_toml(folder / "lookups.toml")
    with (
        SqliteState(folder / "state.sqlite3") as state,
        sandbox.vendre_client() as vendre_client,
        sandbox.bex_client() as bex_client,
    ):
        report = import_orders(vendre_client, bex_client, lookups, state, import_statuses=[PAID])
        assert [h.order_id for h in state.held_orders("waiting")] == [WAITING]
    assert [(o.entity, o.action, o.result, o.reason) for o in report.outcomes] == [
        (str(WAITING), "fetch", "failed", "Vendre answered with another order")
    ]
    assert bex_numbers(sandbox) == [str(OLD), str(PAID_RECENT)]  # neither 1002 nor 1004


def test_a_waiting_order_placed_before_a_later_since_is_let_go(
    shop: tuple[Sandbox, Path],
) -> None:
    """``since`` moved past a waiting order: it is skipped and no longer waits."""
    sandbox, folder = shop
    rows, waiting = wait_then(sandbox, folder, since=datetime.now(UTC) - timedelta(days=1))
    assert [r[3][:20] for r in rows] == ["placed before since "]
    assert waiting == []


def test_a_stop_asked_before_the_run_leaves_every_queue_as_it_was(
    shop: tuple[Sandbox, Path],
) -> None:
    """Stopped from the start: no intent, hint or waiting order is handled; the cursor stays."""
    sandbox, folder = shop
    lookups = Lookups.from_toml(folder / "lookups.toml")
    with (
        SqliteState(folder / "state.sqlite3") as state,
        sandbox.vendre_client() as vendre_client,
        sandbox.bex_client() as bex_client,
    ):
        import_orders(vendre_client, bex_client, lookups, state, import_statuses=[PAID])
        cursor = state.get_cursor("orders")
        created = state.get_order(PAID_RECENT)
        assert created is not None
        state.put_order(attrs.evolve(created, state="intent"))
        state.add_hint(OLD, "new_order")
        stop = threading.Event()
        stop.set()
        token = STOP.set(stop)
        try:
            report = import_orders(
                vendre_client, bex_client, lookups, state, import_statuses=[PAID]
            )
        finally:
            STOP.reset(token)
        assert report.outcomes == []
        assert [r.order_id for r in state.orders("intent")] == [PAID_RECENT]
        assert [h.order_id for h in state.pending_hints()] == [OLD]
        assert [h.order_id for h in state.held_orders("waiting")] == [WAITING]
        assert state.get_cursor("orders") == cursor
