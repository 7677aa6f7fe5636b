"""``bexvendre run`` (the daemon), ``bexvendre status`` and per-flow locks, over real HTTP."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.support import run_main, usage_error
from tests.sync_support import add_vendre_products, order_doc, vendre_quantities

from bexvendre_mapping import Lookups
from bexvendre_mapping.sync import LockedError, SqliteState, import_orders, push_stock
from bexvendre_mapping.sync._stop import stop_on_signals
from bexvendre_mapping.testing.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")


def configure(
    sandbox: Sandbox, folder: Path, schedule: str | None = 'orders = "1s"\nstock = "1s"\n'
) -> tuple[str, dict[str, str]]:
    """A bexvendre.toml for the sandbox (secrets in the environment) and that environment."""
    (folder / "lookups.toml").write_text(
        (ROOT / "examples" / "lookups.toml").read_text("utf-8"), "utf-8"
    )
    text = (
        'lookups = "lookups.toml"\nstate = "state.sqlite3"\naudit = "audit.jsonl"\n'
        f'lock_timeout = "10s"\n\n[vendre]\nurl = "{sandbox.vendre_url}"\n\n'
        f'[bex]\nurl = "{sandbox.bex_url}"\n'
    )
    if schedule is not None:
        text += f"\n[schedule]\n{schedule}"
    (folder / "bexvendre.toml").write_text(text, "utf-8")
    env = {
        "BEXVENDRE_VENDRE_API_KEY": sandbox.vendre_api_key,
        "BEXVENDRE_BEX_API_KEY": sandbox.bex_api_key,
        "BEXVENDRE_BEX_SECRET": sandbox.bex_secret,
    }
    return str(folder / "bexvendre.toml"), env


@pytest.fixture
def secrets_set(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, str]], None]:
    def apply(env: dict[str, str]) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)

    return apply


def start(config: str, env: dict[str, str], *options: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - this interpreter, our own command
        [sys.executable, "-m", "bexvendre_mapping.cli", "run", "--config", config, *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
    )


def wait_for(condition: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def runs(folder: Path) -> dict[str, str]:
    """Each flow's last result, as the heartbeat says."""
    path = folder / "state.sqlite3"
    if not path.exists():
        return {}
    with SqliteState(path) as state:
        return {flow: record.result for flow, record in state.runs().items()}


def stop(process: subprocess.Popen[bytes], sig: signal.Signals) -> tuple[float, str, str]:
    """Send ``sig``; how long the process took to exit, and its output."""
    sent = time.monotonic()
    process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return time.monotonic() - sent, out.decode(), err.decode()


@pytest.fixture
def killed() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes to kill if a test fails before stopping them."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate()


# --- per-flow locks ----------------------------------------------------------------------------


def test_a_held_orders_lock_does_not_block_stock(
    sandbox: Sandbox, lookups: Lookups, tmp_path: Path
) -> None:
    """Each flow has its own lock file: stock runs while an orders run holds its lock, and a
    second orders run still waits, then refuses."""
    add_vendre_products(sandbox, "GIFTBOX")
    sandbox.set_bex_stock("GIFTBOX", 4)
    sandbox.add_vendre_order(order_doc(6001))
    path = tmp_path / "state.sqlite3"
    with SqliteState(path) as holder, holder.lock("orders"):
        assert holder.lock_path("orders") == tmp_path / "state.sqlite3.orders.lock"
        with SqliteState(path, lock_timeout=0.2) as state:
            report = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
            assert report.counts == {"done": 1}
            with pytest.raises(LockedError, match=r"another orders run holds .*\.orders\.lock"):
                import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert vendre_quantities(sandbox) == {"GIFTBOX": 4}
    assert sandbox.bex_orders() == []


def test_a_flow_name_must_be_plain(tmp_path: Path) -> None:
    """A flow's name becomes part of a file name: no path in it."""
    with (
        SqliteState(tmp_path / "state.sqlite3") as state,
        pytest.raises(ValueError, match="a flow's name"),
        state.lock("../orders"),
    ):
        pass


# --- bexvendre run --once and bexvendre status ---------------------------------------------------


def test_run_once_then_status(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    secrets_set: Callable[[dict[str, str]], None],
) -> None:
    """`run --once` runs each scheduled flow once: exit 0 when all is done, 3 once something
    is quarantined; `status` prints each flow's last run, result and lag, and exits likewise."""
    sandbox.add_vendre_order(order_doc(6001))
    add_vendre_products(sandbox, "GIFTBOX")
    sandbox.set_bex_stock("GIFTBOX", 4)
    config, env = configure(sandbox, tmp_path)
    secrets_set(env)
    status, out, err = run_main(capsys, "status", "--config", config)
    assert status == 0, err
    assert re.search(r"^orders +never", out, re.MULTILINE)
    assert not (tmp_path / "state.sqlite3").exists()  # status writes nothing

    status, out, err = run_main(capsys, "run", "--once", "--config", config)
    assert status == 0, err
    assert out.splitlines() == ["orders: 1 done", "stock: 1 done"]
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["6001"]

    bad = order_doc(6002)
    bad["payment"]["payment_method"] = "PAYPAL"
    sandbox.add_vendre_order_document(bad, order_id=6002, date_added=datetime.now(UTC))
    status, out, err = run_main(capsys, "run", "--once", "--config", config, "--output", "json")
    assert status == 3, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(r["flow"], r["result"], r["counts"]) for r in lines] == [
        ("orders", "quarantined", {"quarantined": 1}),
        ("stock", "ok", {}),
    ]
    assert re.fullmatch(r"[0-9a-f]{32}", lines[0]["run_id"])
    assert {o["entity"]: o["result"] for o in lines[0]["outcomes"]} == {"6002": "quarantined"}

    status, out, err = run_main(capsys, "status", "--config", config, "--output", "json")
    assert status == 3, err
    shown = json.loads(out)
    assert shown["quarantined_orders"] == 1
    orders, stock = shown["flows"]["orders"], shown["flows"]["stock"]
    assert (orders["result"], stock["result"]) == ("quarantined", "ok")
    assert orders["run_id"] == lines[0]["run_id"]
    assert 0 <= orders["lag"] < 60  # now minus the order cursor
    assert 0 <= stock["lag"] < 60  # since the last run without a failure
    assert set(shown["flows"]) == {"orders", "stock"}  # the scheduled flows

    status, out, err = run_main(capsys, "status", "--config", config)
    assert status == 3
    assert re.search(r"^orders +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +quarantined +\d+s", out, re.M)
    assert out.endswith("1 quarantined order(s)\n")
    assert run_main(capsys, "status", "--config", config, "--stale-after", "1h")[0] == 3
    time.sleep(1.1)
    status, out, _ = run_main(capsys, "status", "--config", config, "--stale-after", "1s")
    assert status == 1  # the daemon has not run for longer than that: a supervisor acts
    assert out.endswith("stale: orders, stock (no run ended in the last 1s)\n")
    assert "--stale-after: expected a duration" in usage_error(
        ["status", "--config", config, "--stale-after", "soon"], capsys
    )


def test_status_reports_a_failed_run_and_the_lag_grows(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    secrets_set: Callable[[dict[str, str]], None],
) -> None:
    """A run that failed is exit 1 for `run --once` and for `status`; a flow's lag is the time
    since its last run without a failure."""
    config, env = configure(sandbox, tmp_path, 'statuses = "1m"\n')
    secrets_set(env)
    assert run_main(capsys, "run", "--once", "--config", config)[0] == 0
    sandbox.inject("bex", status=400, times=5)
    with SqliteState(tmp_path / "state.sqlite3") as state:
        before = state.runs()["statuses"]
        assert before.result == "ok"
        assert before.last_success == before.finished
    status, _, _ = run_main(capsys, "run", "--once", "--config", config)
    assert status == 1
    with SqliteState(tmp_path / "state.sqlite3") as state:
        after = state.runs()["statuses"]
    assert after.result == "failed"
    assert after.last_success == before.finished  # kept from the run that went through
    assert after.lag is not None
    assert after.lag >= (after.finished - before.finished).total_seconds() - 0.001
    status, out, _ = run_main(capsys, "status", "--config", config, "--output", "json")
    assert status == 1
    row = json.loads(out)["flows"]["statuses"]
    expected = (datetime.now(UTC) - before.finished).total_seconds()
    assert row["result"] == "failed"
    assert expected - 5 < row["lag"] <= expected + 1


# --- the configuration's [schedule] --------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ('order = "1m"\n', "$.schedule.order: unknown setting 'order'; did you mean 'orders'?"),
        ('stock = "0s"\n', "$.schedule.stock: expected between 1s and 365d, got '0s'"),
        ('stock = "soon"\n', "$.schedule.stock: expected a duration like '30s'"),
        ("stock = 30\n", "$.schedule.stock: expected a duration like '30s', '5m' or '1h', got 30"),
        ("", "$.schedule: names no flow"),
    ],
)
def test_a_wrong_schedule_is_a_usage_error(  # noqa: PLR0917
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    secrets_set: Callable[[dict[str, str]], None],
    schedule: str,
    message: str,
) -> None:
    config, env = configure(sandbox, tmp_path, schedule)
    secrets_set(env)
    assert message in usage_error(["run", "--once", "--config", config], capsys)
    assert sandbox.calls() == []


def test_metrics_need_the_extra(sandbox: Sandbox, tmp_path: Path) -> None:
    """Without prometheus-client, --metrics-port is a usage error that says what to install."""
    config, env = configure(sandbox, tmp_path)
    code = (
        "import sys; sys.modules['prometheus_client'] = None\n"
        "from bexvendre_mapping.cli import main\n"
        f"sys.exit(main(['run', '--config', {config!r}, '--metrics-port', '0']))\n"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=60,
    )
    assert result.returncode == 2
    assert 'pip install "bexvendre-mapping[metrics]"' in result.stderr
    assert "Traceback" not in result.stderr
    assert sandbox.calls() == []


# --- bexvendre run, the daemon -------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_stops_cleanly_after_the_record_in_hand(
    sandbox: Sandbox,
    tmp_path: Path,
    killed: list[subprocess.Popen[bytes]],
    sig: signal.Signals,
) -> None:
    """Stopped in the middle of a slow import, `bexvendre run` finishes the order in hand and
    exits 0 within 5 s, without a traceback; every order the state holds is created in Bex
    once, none is left half-done, and the cursor has not passed the orders not imported."""
    for order_id in range(7001, 7031):
        sandbox.add_vendre_order(order_doc(order_id))
    sandbox.inject("bex", method="POST", path="Orders", delay=0.3, times=30)
    config, env = configure(sandbox, tmp_path, 'orders = "1m"\n')
    process = start(config, env)
    killed.append(process)
    wait_for(lambda: len(sandbox.bex_orders()) >= 2)
    took, out, err = stop(process, sig)
    assert process.returncode == 0, err
    assert took < 5
    assert "Traceback" not in err
    assert err.rstrip().endswith("bexvendre run: stopped")
    created = [o["Ordernr"] for o in sandbox.bex_orders()]
    assert 2 <= len(created) < 30
    assert len(created) == len(set(created))
    with SqliteState(tmp_path / "state.sqlite3") as state:
        assert sorted(str(r.order_id) for r in state.orders("created")) == sorted(created)
        assert state.orders("intent") == []
        assert state.get_cursor("orders") is None  # the rest is taken up by the next run
        assert state.runs()["orders"].result == "ok"
    assert out.startswith(f"orders: {len(created)} done")


def test_a_single_sync_interrupted_stops_after_the_record_in_hand(
    sandbox: Sandbox,
    tmp_path: Path,
    killed: list[subprocess.Popen[bytes]],
    secrets_set: Callable[[dict[str, str]], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C during `bexvendre sync orders` (no --every): the order in hand is finished,
    no traceback, exit 0; the next run takes up the rest, none twice."""
    for order_id in range(7001, 7021):
        sandbox.add_vendre_order(order_doc(order_id))
    sandbox.inject("bex", method="POST", path="Orders", delay=0.3, times=20)
    config, env = configure(sandbox, tmp_path, None)
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own command
        [sys.executable, "-m", "bexvendre_mapping.cli", "sync", "orders", "--config", config],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
    )
    killed.append(process)
    wait_for(lambda: len(sandbox.bex_orders()) >= 2)
    took, out, err = stop(process, signal.SIGINT)
    assert (process.returncode, took < 5) == (0, True), err
    assert "Traceback" not in err
    created = [o["Ordernr"] for o in sandbox.bex_orders()]
    assert 2 <= len(created) < 20
    assert out.startswith(f"orders: {len(created)} done")
    with SqliteState(tmp_path / "state.sqlite3") as state:
        assert state.orders("intent") == []
        assert state.get_cursor("orders") is None
    sandbox.clear_faults()
    secrets_set(env)
    assert run_main(capsys, "sync", "orders", "--config", config)[0] == 0
    created = [o["Ordernr"] for o in sandbox.bex_orders()]
    assert sorted(created) == [str(n) for n in range(7001, 7021)]


def test_run_waits_for_a_held_lock_at_the_next_tick_and_serves_metrics(
    sandbox: Sandbox, tmp_path: Path, killed: list[subprocess.Popen[bytes]]
) -> None:
    """A held orders lock makes the orders ticks wait (logged), never the stock ones, and
    never ends the daemon; released, the next orders tick imports. The metrics endpoint
    counts the records."""
    sandbox.add_vendre_order(order_doc(6001))
    add_vendre_products(sandbox, "GIFTBOX")
    sandbox.set_bex_stock("GIFTBOX", 4)
    config, env = configure(sandbox, tmp_path)
    holder = SqliteState(tmp_path / "state.sqlite3")
    held = holder.lock("orders")
    held.__enter__()
    try:
        process = start(config, env, "--metrics-port", "0")
        killed.append(process)
        line = _read_line(process, timeout=20)
        match = re.fullmatch(r"bexvendre run: metrics on http://127\.0\.0\.1:(\d+)/metrics", line)
        assert match, line
        url = f"http://127.0.0.1:{match[1]}/metrics"
        wait_for(lambda: runs(tmp_path).get("orders") == "locked")
        wait_for(lambda: vendre_quantities(sandbox) == {"GIFTBOX": 4})
        assert sandbox.bex_orders() == []
        assert process.poll() is None
    finally:
        held.__exit__(None, None, None)
        holder.close()
    wait_for(lambda: [o["Ordernr"] for o in sandbox.bex_orders()] == ["6001"])
    wait_for(lambda: runs(tmp_path) == {"orders": "ok", "stock": "ok"})

    def scraped() -> str:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return str(answer.read().decode())

    wait_for(lambda: 'bexvendre_records_total{flow="orders",result="done"} 1.0' in scraped())
    metrics = scraped()
    assert 'bexvendre_records_total{flow="stock",result="done"} 1.0' in metrics
    assert re.search(r'bexvendre_runs_total\{flow="orders",result="locked"\} [1-9]', metrics)
    assert re.search(r'bexvendre_lag_seconds\{flow="orders"\} \d', metrics)
    assert 'bexvendre_quarantine_size{flow="orders"} 0.0' in metrics
    assert re.search(r'bexvendre_run_duration_seconds\{flow="stock"\} \d', metrics)
    took, _, err = stop(process, signal.SIGTERM)
    assert process.returncode == 0, err
    assert took < 5
    assert "Traceback" not in err
    assert re.search(r"orders: another orders run holds .*; tried again at the next tick", err)
    assert "orders every 1s, stock every 1s" in err


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The first line the process writes to stderr, waiting at most ``timeout``."""
    assert process.stderr is not None
    received = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while b"\n" not in received and time.monotonic() < deadline:
            if selector.select(timeout=deadline - time.monotonic()):
                chunk = os.read(process.stderr.fileno(), 1)
                if not chunk:
                    break
                received += chunk
    return received.split(b"\n", 1)[0].decode()


def test_heartbeat_keeps_the_last_success(tmp_path: Path) -> None:
    """record_run keeps one row per flow; a failed run keeps the last success of before."""
    from bexvendre_mapping.sync._state import RunRecord  # noqa: PLC0415

    now = datetime.now(UTC)
    with SqliteState(tmp_path / "state.sqlite3") as state:
        ok = state.record_run(
            RunRecord(flow="stock", run_id="a", started=now, finished=now, result="ok")
        )
        assert ok.last_success == now
        later = now + timedelta(seconds=5)
        state.record_run(
            RunRecord(flow="stock", run_id="b", started=later, finished=later, result="failed")
        )
        (record,) = state.runs().values()
    assert (record.run_id, record.result, record.last_success) == ("b", "failed", now)


def test_sync_every_waits_for_a_held_lock_at_the_next_tick(
    sandbox: Sandbox, tmp_path: Path, killed: list[subprocess.Popen[bytes]]
) -> None:
    """`sync stock --every 1s` whose lock another run holds says so and tries again at the
    next tick, instead of exiting; SIGTERM then ends it with 0, no traceback."""
    add_vendre_products(sandbox, "GIFTBOX")
    sandbox.set_bex_stock("GIFTBOX", 4)
    config, env = configure(sandbox, tmp_path, None)
    Path(config).write_text(
        Path(config).read_text("utf-8").replace('lock_timeout = "10s"', 'lock_timeout = "1s"'),
        "utf-8",
    )
    holder = SqliteState(tmp_path / "state.sqlite3")
    held = holder.lock("stock")
    held.__enter__()
    try:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, our own command
            [
                *(sys.executable, "-m", "bexvendre_mapping.cli", "sync", "stock"),
                *("--config", config, "--every", "1s"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        )
        killed.append(process)
        assert _read_line(process, timeout=20).startswith("bexvendre: another stock run holds")
        assert _read_line(process, timeout=20) == "bexvendre: tried again in 1s"
        assert process.poll() is None
        assert vendre_quantities(sandbox) == {"GIFTBOX": 0}
    finally:
        held.__exit__(None, None, None)
        holder.close()
    wait_for(lambda: vendre_quantities(sandbox) == {"GIFTBOX": 4})
    took, out, err = stop(process, signal.SIGTERM)
    assert process.returncode == 0, err
    assert took < 5
    assert "Traceback" not in err
    assert out.startswith("stock: 1 done")


def test_an_audit_log_that_cannot_be_opened_is_a_usage_error(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    secrets_set: Callable[[dict[str, str]], None],
) -> None:
    """The state and the audit log are opened before any thread starts: a bad one is exit 2."""
    config, env = configure(sandbox, tmp_path)
    secrets_set(env)
    (tmp_path / "audit.jsonl").mkdir()
    message = usage_error(["run", "--config", config], capsys)
    assert "$.audit: cannot open" in message
    assert sandbox.calls() == []


def test_stop_on_signals_sets_the_event_in_the_main_thread_and_installs_nothing_elsewhere() -> None:
    """In the main thread SIGTERM sets the event and the handlers come back after; in
    another thread (where signal.signal raises) nothing is installed, and nothing fails."""
    before = signal.getsignal(signal.SIGTERM)
    stop = threading.Event()
    with stop_on_signals(stop):
        assert signal.getsignal(signal.SIGTERM) is not before
        signal.raise_signal(signal.SIGTERM)
    assert stop.is_set()
    assert signal.getsignal(signal.SIGTERM) is before

    seen: list[object] = []

    def elsewhere() -> None:
        other = threading.Event()
        with stop_on_signals(other):
            seen.append(signal.getsignal(signal.SIGTERM))
        seen.append(other.is_set())

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join(5)
    assert seen == [before, False]


# --- what stops a run, and what is left of it -----------------------------------------------------


def _without_audit(config: str) -> None:
    path = Path(config)
    path.write_text(path.read_text("utf-8").replace('audit = "audit.jsonl"\n', ""), "utf-8")


def test_run_once_with_a_held_lock_is_1_and_status_says_locked(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    secrets_set: Callable[[dict[str, str]], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A flow whose lock another run holds is left for the next run: the other flows run,
    the status is 1 and the heartbeat says ``locked``. Without ``audit``, no audit log."""
    sandbox.add_vendre_order(order_doc(6001))
    add_vendre_products(sandbox, "GIFTBOX")
    sandbox.set_bex_stock("GIFTBOX", 4)
    config, env = configure(sandbox, tmp_path)
    _without_audit(config)
    secrets_set(env)
    with SqliteState(tmp_path / "state.sqlite3") as other, other.lock("orders"):
        status, out, err = run_main(capsys, "run", "--once", "--config", config)
    assert status == 1, err
    assert out.splitlines() == ["stock: 1 done"]
    assert "orders: another orders run holds" in caplog.text
    assert "tried again at the next tick" in caplog.text
    assert sandbox.bex_orders() == []
    assert vendre_quantities(sandbox) == {"GIFTBOX": 4}
    assert not (tmp_path / "audit.jsonl").exists()
    status, out, _ = run_main(capsys, "status", "--config", config, "--output", "json")
    assert status == 1
    orders = json.loads(out)["flows"]["orders"]
    assert (orders["result"], orders["summary"]) == ("locked", "orders: lock held by another run")


def test_a_state_sqlite_cannot_write_fails_the_run_and_loses_only_the_heartbeat(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    secrets_set: Callable[[dict[str, str]], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Another connection takes SQLite's write lock while the order listing is on its way:
    the run fails (exit 1) with the reason, and the heartbeat that cannot be written is
    logged, not fatal; the next run imports the order, once."""
    import sqlite3  # noqa: PLC0415
    import threading  # noqa: PLC0415

    sandbox.add_vendre_order(order_doc(6001))
    sandbox.inject("vendre", method="GET", path="orders", delay=2.0, times=1)
    config, env = configure(sandbox, tmp_path, 'orders = "1m"\n')
    Path(config).write_text(
        Path(config).read_text("utf-8").replace('lock_timeout = "10s"', 'lock_timeout = "1s"'),
        "utf-8",
    )
    secrets_set(env)
    taken, done = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        time.sleep(0.7)  # the daemon has opened the state and waits for the listing
        writer = sqlite3.connect(tmp_path / "state.sqlite3", isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            taken.set()
            done.wait(30)
        finally:
            writer.close()

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    try:
        status, out, err = run_main(capsys, "run", "--once", "--config", config, "--output", "json")
    finally:
        done.set()
        holder.join(30)
    assert taken.is_set()
    assert status == 1, err
    (line,) = [json.loads(line) for line in out.splitlines()]
    assert line["result"] == "failed"
    (outcome,) = line["outcomes"]
    assert outcome["reason"] == "the run stopped; tried again at the next tick"
    assert outcome["errors"] == ["OperationalError: database is locked"]
    assert "orders: the run stopped: database is locked" in caplog.text
    assert "orders: the heartbeat was not written: database is locked" in caplog.text
    assert sandbox.bex_orders() == []
    with SqliteState(tmp_path / "state.sqlite3") as state:
        assert state.runs() == {}
    assert run_main(capsys, "run", "--once", "--config", config)[0] == 0
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["6001"]


def test_a_flow_that_never_succeeded_has_no_lag(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    secrets_set: Callable[[dict[str, str]], None],
) -> None:
    config, env = configure(sandbox, tmp_path, 'statuses = "1m"\n')
    secrets_set(env)
    sandbox.inject("bex", status=400, times=5)
    assert run_main(capsys, "run", "--once", "--config", config)[0] == 1
    status, out, _ = run_main(capsys, "status", "--config", config, "--output", "json")
    assert status == 1
    row = json.loads(out)["flows"]["statuses"]
    assert (row["result"], row["lag"], row["last_success"]) == ("failed", None, None)
    status, out, _ = run_main(capsys, "status", "--config", config)
    assert re.search(r"^statuses +\S+ \S+ +failed +- ", out, re.MULTILINE), out


def test_a_metrics_port_in_use_is_exit_1_before_any_run(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    secrets_set: Callable[[dict[str, str]], None],
) -> None:
    import socket  # noqa: PLC0415

    pytest.importorskip("prometheus_client")
    config, env = configure(sandbox, tmp_path)
    secrets_set(env)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, out, err = run_main(
            capsys, "run", "--once", "--config", config, "--metrics-port", str(port)
        )
    assert status == 1
    assert f"bexvendre: cannot listen on 127.0.0.1:{port}: " in err
    assert out == ""
    assert sandbox.calls() == []


def test_a_state_that_cannot_be_opened_is_a_usage_error(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    secrets_set: Callable[[dict[str, str]], None],
) -> None:
    config, env = configure(sandbox, tmp_path)
    secrets_set(env)
    (tmp_path / "state.sqlite3").mkdir()
    for command in (["run", "--once"], ["status"]):
        message = usage_error([*command, "--config", config], capsys)
        assert "$.state: cannot open the state file" in message
        assert "it is a directory" in message
    assert sandbox.calls() == []


def test_a_flow_thread_that_cannot_run_stops_every_flow(
    sandbox: Sandbox,
    tmp_path: Path,
    secrets_set: Callable[[dict[str, str]], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A thread whose state cannot be opened (removed after the start) marks the run broken
    (exit 1) and sets the stop event for the other flows; the error goes on to the thread."""
    import threading  # noqa: PLC0415

    from bexvendre_mapping.sync._config import SyncConfig  # noqa: PLC0415
    from bexvendre_mapping.sync._daemon import _loop, _Runner  # noqa: PLC0415

    config, env = configure(sandbox, tmp_path)
    secrets_set(env)
    (tmp_path / "gone").mkdir()
    Path(config).write_text(
        Path(config).read_text("utf-8").replace('"state.sqlite3"', '"gone/state.sqlite3"'), "utf-8"
    )
    loaded = SyncConfig.from_toml(config)
    (tmp_path / "gone").rmdir()
    runner = _Runner(loaded, stop=threading.Event(), metrics=None, on_run=lambda *_: None)
    with pytest.raises(OSError, match="does not exist"):
        _loop(runner, "stock", 60)
    assert runner.broken
    assert runner.stop.is_set()
    assert "stock: cannot run; stopping every flow" in caplog.text
    assert sandbox.calls() == []


def test_run_once_interrupted_leaves_the_next_flows_for_the_next_run(
    sandbox: Sandbox, tmp_path: Path, killed: list[subprocess.Popen[bytes]]
) -> None:
    """SIGINT during `run --once`: the order in hand is finished, the flows after it do not
    start, exit 0 and no traceback."""
    for order_id in range(7001, 7011):
        sandbox.add_vendre_order(order_doc(order_id))
    add_vendre_products(sandbox, "GIFTBOX")
    sandbox.set_bex_stock("GIFTBOX", 4)
    sandbox.inject("bex", method="POST", path="Orders", delay=0.3, times=10)
    config, env = configure(sandbox, tmp_path)
    process = start(config, env, "--once")
    killed.append(process)
    wait_for(lambda: len(sandbox.bex_orders()) >= 1)
    took, out, err = stop(process, signal.SIGINT)
    assert (process.returncode, took < 5) == (0, True), err
    assert "Traceback" not in err
    assert out.startswith("orders: ")
    assert "stock:" not in out
    assert 1 <= len(sandbox.bex_orders()) < 10
    assert vendre_quantities(sandbox) == {"GIFTBOX": 0}


def test_metrics_are_served_until_closed_and_closing_twice_is_harmless() -> None:
    pytest.importorskip("prometheus_client")
    from bexvendre_mapping.sync._metrics import Metrics  # noqa: PLC0415

    metrics = Metrics()
    metrics.close()  # not serving yet: nothing to stop
    port = metrics.serve(0)
    metrics.observe("stock", result="ok", counts={"done": 2}, duration=0.5, finished=1.0, lag=None)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        assert 'flow="stock"' in answer.read().decode()
    metrics.close()
    metrics.close()
    with pytest.raises(OSError, match="refused"):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_run_with_a_worker_claims_each_order(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    secrets_set: Callable[[dict[str, str]], None],
) -> None:
    """`run --worker NAME` runs the orders flow as a worker beside others: an order another
    live worker claimed is left to it; the worker that holds the claim creates it."""
    sandbox.add_vendre_order(order_doc(6101))
    config, env = configure(sandbox, tmp_path, schedule='orders = "1m"\n')
    secrets_set(env)
    with SqliteState(tmp_path / "state.sqlite3") as state:
        assert state.claim_order(6101, "pod-a", 3600)
    status, out, err = run_main(capsys, "run", "--once", "--config", config, "--worker", "pod-b")
    assert (status, out.splitlines()) == (0, ["orders: 1 skipped"]), err
    assert sandbox.bex_orders() == []
    status, out, err = run_main(capsys, "run", "--once", "--config", config, "--worker", "pod-a")
    assert (status, out.splitlines()) == (0, ["orders: 1 done"]), err
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["6101"]
