"""The command line of the sync flows: sync, quarantine, demo."""

from __future__ import annotations

import io
import json
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.support import run, usage_error
from tests.sync_support import order_doc

from bexvendre_mapping import LookupsError
from bexvendre_mapping.cli import main
from bexvendre_mapping.sync import AuditLog, SqliteState
from bexvendre_mapping.sync._config import SyncConfig, order_options, parse_duration
from bexvendre_mapping.testing.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent


def bexvendre(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """Run the command line as a user would."""
    return subprocess.run(  # noqa: S603 - our own command with fixed arguments
        [sys.executable, "-m", "bexvendre_mapping.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[Sandbox, Path]]:
    """A seeded sandbox and a bexvendre.toml pointing at it (secrets in the environment)."""
    with Sandbox(seed_examples=True) as sandbox:
        bad = json.loads((ROOT / "examples" / "vendre-order.json").read_bytes())
        bad.update(id=100299, gift_cards=[])
        bad["totals"] = [t for t in bad["totals"] if t["class"] != "ot_giftcard"]
        bad["totals"][-1]["value"] = "4183.0000"
        bad["payment"]["payment_method"] = "PAYPAL"
        sandbox.add_vendre_order_document(bad, order_id=100299, date_added=sandbox_time())
        (tmp_path / "lookups.toml").write_text(
            (ROOT / "examples" / "lookups.toml").read_text("utf-8"), "utf-8"
        )
        (tmp_path / "bexvendre.toml").write_text(
            f'lookups = "lookups.toml"\nstate = "state.sqlite3"\naudit = "audit.jsonl"\n\n'
            f'[vendre]\nurl = "{sandbox.vendre_url}"\n\n[bex]\nurl = "{sandbox.bex_url}"\n',
            "utf-8",
        )
        yield sandbox, tmp_path


def sandbox_time() -> datetime:
    return datetime(2026, 10, 25, 1, tzinfo=UTC)


def secrets(sandbox: Sandbox) -> dict[str, str]:
    return {
        "BEXVENDRE_VENDRE_API_KEY": sandbox.vendre_api_key,
        "BEXVENDRE_BEX_API_KEY": sandbox.bex_api_key,
        "BEXVENDRE_BEX_SECRET": sandbox.bex_secret,
    }


def test_sync_all_then_nothing_to_do(shop: tuple[Sandbox, Path]) -> None:
    """`sync all` moves everything, reports the quarantined order and exits 3 (a person must
    look); a rerun is a no-op and exits 0."""
    sandbox, folder = shop
    config = str(folder / "bexvendre.toml")
    result = bexvendre("sync", "all", "--config", config, env=secrets(sandbox))
    assert result.returncode == 3, result.stderr
    assert result.stderr == ""
    assert "orders: 1 done, 1 quarantined" in result.stdout
    assert "$.payment.payment_method: unknown code 'PAYPAL'" in result.stdout
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["100234"]
    assert (folder / "audit.jsonl").read_text().count("\n") >= 4
    again = bexvendre("sync", "orders", "--config", config, env=secrets(sandbox))
    assert again.returncode == 0
    assert len(sandbox.bex_orders()) == 1


def test_dry_run_writes_nothing(shop: tuple[Sandbox, Path]) -> None:
    """`--dry-run` prints the plan; the state and both systems stay as they were."""
    sandbox, folder = shop
    result = bexvendre(
        "sync", "all", "--config", str(folder / "bexvendre.toml"), "--dry-run", env=secrets(sandbox)
    )
    assert result.returncode == 3, result.stderr  # the plan quarantines an order
    assert "orders (dry run): 1 planned, 1 quarantined" in result.stdout
    assert sandbox.bex_orders() == []
    assert sandbox.vendre_products() == []
    assert all(c.method == "GET" for c in sandbox.calls())
    assert not (folder / "audit.jsonl").exists()
    with SqliteState(folder / "state.sqlite3") as state:
        assert state.orders() == []
        assert state.get_cursor("orders") is None
        assert state.product_index_refreshed() is None


def test_quarantine_list_and_retry(shop: tuple[Sandbox, Path]) -> None:
    """The quarantine can be listed, and retried once the tables know the code."""
    sandbox, folder = shop
    config = str(folder / "bexvendre.toml")
    bexvendre("sync", "orders", "--config", config, env=secrets(sandbox))
    listed = bexvendre("quarantine", "list", "--config", config, env=secrets(sandbox))
    assert listed.returncode == 0
    assert listed.stdout.startswith("orders:100299  ")
    assert "1 quarantined order(s)" in listed.stdout
    still = bexvendre("quarantine", "retry", "--config", config, env=secrets(sandbox))
    assert still.returncode == 3  # as sync exits on the same state
    lookups = folder / "lookups.toml"
    lookups.write_text(
        lookups.read_text("utf-8").replace('SWISH = "SWISH"', 'SWISH = "SWISH"\nPAYPAL = "PAYPAL"'),
        "utf-8",
    )
    fixed = bexvendre("quarantine", "retry", "--config", config, env=secrets(sandbox))
    assert fixed.returncode == 0, fixed.stdout
    assert sorted(o["Ordernr"] for o in sandbox.bex_orders()) == ["100234", "100299"]


def test_missing_secrets_are_a_usage_error(shop: tuple[Sandbox, Path]) -> None:
    """Without the API keys (file or environment) the command says which are missing: exit 2."""
    _, folder = shop
    env = dict.fromkeys(
        ("BEXVENDRE_VENDRE_API_KEY", "BEXVENDRE_BEX_API_KEY", "BEXVENDRE_BEX_SECRET"), ""
    )
    result = bexvendre("sync", "orders", "--config", str(folder / "bexvendre.toml"), env=env)
    assert result.returncode == 2
    assert "$.vendre.api_key: required (or set BEXVENDRE_VENDRE_API_KEY)" in result.stderr


def test_wrong_credentials_fail_cleanly(shop: tuple[Sandbox, Path]) -> None:
    """A 401 is reported as an error naming the request, never the secret."""
    sandbox, folder = shop
    env = {**secrets(sandbox), "BEXVENDRE_VENDRE_API_KEY": "wrong-key-123"}
    result = bexvendre("sync", "orders", "--config", str(folder / "bexvendre.toml"), env=env)
    assert result.returncode == 1
    assert "failed: orders orders: listing stopped; tried again next run" in result.stdout
    assert "HTTP 401" in result.stdout
    assert "Traceback" not in result.stderr
    assert "wrong-key-123" not in result.stderr + result.stdout


def test_demo() -> None:
    """`bexvendre demo` runs every flow with faults and shows what moved, on any machine."""
    result = bexvendre("demo")
    assert result.returncode == 0, result.stderr
    assert "Bex orders: 100234, 100235 (2 in all, none twice)" in result.stdout
    assert "quarantined orders: 100236" in result.stdout
    assert "gift-card reservations redeemed: RES-20261025-0001" in result.stdout


def test_an_unreadable_retry_after_fails_one_flow_and_the_others_run(
    shop: tuple[Sandbox, Path],
) -> None:
    """A 5,000-digit Retry-After on the orders listing: orders fail (exit 1), the rest runs.

    Reading the header once raised ValueError (Python's limit on integer digits) out of
    `sync all`, which then exited 2 as for a usage error, and no other flow ran.
    """
    sandbox, folder = shop
    sandbox.inject(
        "vendre", method="GET", path="orders", status=401, headers={"Retry-After": "9" * 5000}
    )
    result = bexvendre(
        "sync", "all", "--config", str(folder / "bexvendre.toml"), env=secrets(sandbox)
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "failed: orders orders: listing stopped; tried again next run" in result.stdout
    assert "products: 1 done" in result.stdout
    # The three sizes of 1001 reach the shop; JKT_001_KL_M and GIFTBOX are not products there.
    assert "stock: 3 done, 2 skipped" in result.stdout
    assert sandbox.bex_orders() == []
    assert len(sandbox.vendre_products()) == 6  # 1001 and its five sizes


def test_an_order_with_a_lone_surrogate_stops_no_flow(shop: tuple[Sandbox, Path]) -> None:
    """`sync all` quarantines such an order and goes on with every flow."""
    sandbox, folder = shop
    bad = json.loads((ROOT / "examples" / "vendre-order.json").read_bytes())
    bad.update(id=100300, gift_cards=[])
    bad["totals"] = [t for t in bad["totals"] if t["class"] != "ot_giftcard"]
    bad["totals"][-1]["value"] = "4183.0000"
    bad["customer_address"]["name"] = "Astrid \ud83d"
    sandbox.add_vendre_order_document(bad, order_id=100300, date_added=sandbox_time())
    config = str(folder / "bexvendre.toml")
    result = bexvendre("sync", "all", "--config", config, env=secrets(sandbox))
    assert "Traceback" not in result.stderr
    assert result.returncode == 3, result.stderr
    assert "orders: 1 done, 2 quarantined" in result.stdout
    assert "$.customer_address.name: text with a lone surrogate (\\ud83d)" in result.stdout
    assert "stock: 3 done, 2 skipped" in result.stdout
    listed = bexvendre("quarantine", "list", "--config", config, env=secrets(sandbox))
    assert listed.returncode == 0, listed.stderr
    assert "2 quarantined order(s)" in listed.stdout


def test_quarantine_retry_while_another_run_holds_the_lock(shop: tuple[Sandbox, Path]) -> None:
    """No traceback: the same message and exit status 1 as `sync` in that case."""
    sandbox, folder = shop
    config = folder / "bexvendre.toml"
    config.write_text('lock_timeout = "1s"\n' + config.read_text("utf-8"), "utf-8")
    bexvendre("sync", "orders", "--config", str(config), env=secrets(sandbox))
    with SqliteState(folder / "state.sqlite3") as state, state.lock("orders"):
        held = bexvendre("quarantine", "retry", "--config", str(config), env=secrets(sandbox))
        synced = bexvendre("sync", "orders", "--config", str(config), env=secrets(sandbox))
    assert held.returncode == synced.returncode == 1
    assert "Traceback" not in held.stderr
    assert held.stderr.startswith("bexvendre: ")
    assert held.stderr == synced.stderr


# --- sync: configuration and options --------------------------------------------------------------


LOOKUPS = str(ROOT / "examples" / "lookups.toml")


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as a user's console does."""

    def isatty(self) -> bool:
        return True


def write(path: Path, text: str) -> str:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


@pytest.fixture
def no_secret_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "BEXVENDRE_VENDRE_API_KEY",
        "BEXVENDRE_BEX_API_KEY",
        "BEXVENDRE_BEX_SECRET",
        "BEXVENDRE_WORKER",
    ):
        monkeypatch.delenv(name, raising=False)


def config_text(vendre_url: str, bex_url: str, **top: str) -> str:
    settings = "".join(f'{key} = "{value}"\n' for key, value in top.items())
    return (
        f"{settings}"
        f'[vendre]\nurl = "{vendre_url}"\napi_key = "vendre-key"\n'
        f'[bex]\nurl = "{bex_url}"\napi_key = "bex-key"\nsecret = "bex-secret"\n'
    )


@pytest.mark.usefixtures("no_secret_variables")
def test_configuration_problems_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unreadable, not TOML, or with bad settings and tables: every problem, exit status 2."""
    unreadable = usage_error(["sync", "stock", "--config", str(tmp_path)], capsys)
    assert unreadable.endswith(f"$: cannot read {str(tmp_path)!r}: Is a directory\n")

    not_toml = write(tmp_path / "not.toml", "lookups = \n")
    assert "is not valid TOML" in usage_error(["sync", "stock", "--config", not_toml], capsys)

    no_lookups = write(
        tmp_path / "a.toml",
        config_text("http://127.0.0.1:9/", "http://127.0.0.1:9/", overlap="a while"),
    )
    message = usage_error(["sync", "stock", "--config", no_lookups], capsys)
    assert message.splitlines()[1:] == [
        "2 problems:",
        "  $.lookups: required",
        "  $.overlap: expected a duration like '30s', '5m' or '1h', got 'a while'",
    ]

    write(tmp_path / "lookups.toml", '[countries]\n"203" = "Sverige"\n')
    bad_lookups = write(
        tmp_path / "b.toml",
        config_text("http://127.0.0.1:9/", "http://127.0.0.1:9/", lookups="lookups.toml"),
    )
    message = usage_error(["sync", "stock", "--config", bad_lookups], capsys)
    assert message.splitlines()[-1] == (
        "$.lookups: $.countries['203']: expected an ISO 3166-1 alpha-2 country code like 'SE', "
        "got 'Sverige'"
    )


@pytest.fixture
def configured_shop(tmp_path: Path) -> Iterator[tuple[Sandbox, str]]:
    """A running sandbox and a bexvendre.toml for it."""
    (tmp_path / "lookups.toml").write_text(Path(LOOKUPS).read_text("utf-8"), "utf-8")
    with Sandbox() as sandbox:
        config = config_text(
            sandbox.vendre_url, sandbox.bex_url, lookups="lookups.toml", state="state.sqlite3"
        )
        config = config.replace('"vendre-key"', f'"{sandbox.vendre_api_key}"')
        config = config.replace('"bex-key"', f'"{sandbox.bex_api_key}"')
        config = config.replace('"bex-secret"', f'"{sandbox.bex_secret}"')
        path = tmp_path / "bexvendre.toml"
        path.write_text(config, encoding="utf-8")
        yield sandbox, str(path)


def _set(config: str, setting: str) -> None:
    """Add a top-level setting to the configuration file (before its tables)."""
    path = Path(config)
    path.write_text(f"{setting}\n{path.read_text('utf-8')}", "utf-8")


@pytest.mark.usefixtures("no_secret_variables")
def test_a_bad_lock_timeout_is_a_usage_error(
    configured_shop: tuple[Sandbox, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox, config = configured_shop
    _set(config, 'lock_timeout = "a minute"')
    message = usage_error(["sync", "stock", "--config", config], capsys)
    assert message.splitlines()[-1] == (
        "$.lock_timeout: expected a duration like '30s', '5m' or '1h', got 'a minute'"
    )
    assert sandbox.calls() == []


@pytest.mark.usefixtures("no_secret_variables")
def test_sync_waits_lock_timeout_for_a_running_sync_then_exits_1(
    configured_shop: tuple[Sandbox, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Another process holds the state's lock: after lock_timeout, exit 1 naming the file."""
    sandbox, config = configured_shop
    _set(config, 'lock_timeout = "1s"')
    state = Path(config).parent / "state.sqlite3"
    with SqliteState(state) as running, running.lock("stock"):
        assert main(["sync", "stock", "--config", config]) == 1
    err = capsys.readouterr().err
    assert err.endswith(f"bexvendre: another stock run holds {state}.stock.lock (waited 1 s)\n")
    assert sandbox.calls() == []
    assert main(["sync", "stock", "--config", config]) == 0  # released: the next run goes


@pytest.mark.usefixtures("no_secret_variables")
def test_a_bad_interval_is_a_usage_error(
    configured_shop: tuple[Sandbox, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--every takes 30s, 5m, 1h or 1d; anything else is refused before a request."""
    sandbox, config = configured_shop
    message = usage_error(["sync", "stock", "--config", config, "--every", "soon"], capsys)
    assert message == (
        "bexvendre: error: expected a duration like '30s', '5m' or '1h', got 'soon'\n"
    )
    assert sandbox.calls() == []


@pytest.mark.usefixtures("no_secret_variables")
def test_sync_on_a_terminal_shows_a_table(
    configured_shop: tuple[Sandbox, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal, the counts are a rich table; the spinner goes to stderr."""
    sandbox, config = configured_shop
    sandbox.add_vendre_product(
        {"article_number": "GIFTBOX", "name": {"sv": "Presentask"}, "price": 49, "tax_class_id": 2}
    )
    sandbox.set_bex_stock("GIFTBOX", 4)
    out, err = Terminal(), Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["sync", "stock", "--config", config]) == 0
    table = out.getvalue()
    assert "bexvendre sync" in table
    assert all(word in table for word in ("flow", "done", "quarantined", "stock"))
    assert [(p["article_number"], p["quantity"]) for p in sandbox.vendre_products()] == [
        ("GIFTBOX", 4)
    ]


@pytest.mark.usefixtures("no_secret_variables")
def test_sync_on_a_terminal_without_rich(
    configured_shop: tuple[Sandbox, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the cli extra: a plain summary line, and the status message as a line."""
    _, config = configured_shop
    out, err = Terminal(), Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setitem(sys.modules, "rich.console", None)  # the cli extra is not installed
    monkeypatch.setitem(sys.modules, "rich.table", None)
    assert main(["sync", "stock", "--config", config]) == 0
    assert out.getvalue() == "stock: nothing to do\n"
    assert err.getvalue() == "syncing stock\n"


def _read_lines(process: subprocess.Popen[bytes], count: int, timeout: float) -> list[bytes]:
    """The first ``count`` lines the process writes to stdout, waiting at most ``timeout``."""
    assert process.stdout is not None
    received = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while received.count(b"\n") < count and time.monotonic() < deadline:
            if selector.select(timeout=deadline - time.monotonic()):
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    break
                received += chunk
    return received.splitlines()[:count]


@pytest.mark.usefixtures("no_secret_variables")
@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_sync_every_runs_again_until_interrupted(configured_shop: tuple[Sandbox, str]) -> None:
    """--every 1s runs the flows, waits, runs them again, and so on until Ctrl-C: then exit 0,
    no traceback."""
    sandbox, config = configured_shop
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own command
        [
            sys.executable,
            "-m",
            "bexvendre_mapping.cli",
            *("sync", "stock", "--config", config),
            *("--every", "1s"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = _read_lines(process, 2, timeout=15)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert lines == [b"stock: nothing to do", b"stock: nothing to do"]
    assert process.returncode == 0, err
    assert b"Traceback" not in err
    queue_reads = [c for c in sandbox.calls("bex") if c.path.endswith("GetQueuedStockChanges")]
    assert len(queue_reads) >= 2


def test_sync_without_the_http_extra_is_a_usage_error(tmp_path: Path) -> None:
    """Without requests, `bexvendre sync` exits 2 naming the install command."""
    code = """
        import sys
        sys.modules["requests"] = None  # requests is not installed
        from bexvendre_mapping.cli import main
        sys.exit(main(["sync", "all", "--config", "bexvendre.toml"]))
    """
    result = run("-c", textwrap.dedent(code), env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 2
    assert 'pip install "bexvendre-mapping[http]"' in result.stderr
    assert result.stderr.startswith("bexvendre: error: ")


# --- bexvendre.toml, --every, the state and the audit log: every bad value ------------------------


NOWHERE = "http://127.0.0.1:9/API/1/"  # nothing listens: no test here reaches an API


BASE = (
    'lookups = "lookups.toml"\n{top}\n'
    '[vendre]\nurl = "http://127.0.0.1:9/API/1/"\napi_key = "k"\n{vendre}\n'
    '[bex]\nurl = "http://127.0.0.1:9/api/"\napi_key = "k"\nsecret = "s"\n{bex}\n'
)


def config(folder: Path, top: str = "", vendre: str = "", bex: str = "") -> Path:
    """A bexvendre.toml (with empty code tables) in ``folder``."""
    (folder / "lookups.toml").write_text("", "utf-8")
    path = folder / "bexvendre.toml"
    path.write_text(BASE.format(top=top, vendre=vendre, bex=bex), "utf-8")
    return path


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(LookupsError) as caught:
        SyncConfig.from_toml(path, environ={} if environ is None else environ)
    return [str(p) for p in caught.value.problems]


def usage_error_without_traceback(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The stderr of ``bexvendre argv``, which must exit 2 without a traceback."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.usefixtures("no_secret_variables")
@pytest.mark.parametrize("text", ["999999999999d", "9" * 5000 + "s"])
def test_parse_duration_too_long_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="is too long"):
        parse_duration(text)


@pytest.mark.usefixtures("no_secret_variables")
def test_durations_out_of_bounds_name_their_key(tmp_path: Path) -> None:
    path = config(tmp_path, 'overlap = "999999999999d"\nlock_timeout = "99999999d"')
    assert problems(path) == [
        "$.overlap: the duration '999999999999d' is too long",
        "$.lock_timeout: at most 24d, got '99999999d'",
    ]
    path = config(tmp_path, 'overlap = "366d"\nlock_timeout = "999999999999d"')
    assert problems(path) == [
        "$.overlap: at most 365d, got '366d'",
        "$.lock_timeout: the duration '999999999999d' is too long",
    ]


@pytest.mark.usefixtures("no_secret_variables")
def test_a_duration_that_is_not_a_string(tmp_path: Path) -> None:
    path = config(tmp_path, "overlap = 5")
    assert problems(path) == ["$.overlap: expected a duration like '30s', '5m' or '1h', got 5"]


@pytest.mark.usefixtures("no_secret_variables")
def test_durations_at_their_bounds_load(tmp_path: Path) -> None:
    path = config(tmp_path, 'overlap = "365d"\nlock_timeout = "24d"')
    loaded = SyncConfig.from_toml(path, environ={})
    assert loaded.overlap.days == 365
    assert loaded.lock_timeout.days == 24


@pytest.mark.usefixtures("no_secret_variables")
@pytest.mark.parametrize(
    ("every", "message"),
    [
        ("0s", "--every must be between 1s and 365d, got '0s'"),
        ("366d", "--every must be between 1s and 365d, got '366d'"),
        ("99999999d", "--every must be between 1s and 365d, got '99999999d'"),
        ("999999999999d", "the duration '999999999999d' is too long"),
        ("", "expected a duration like '30s', '5m' or '1h', got ''"),
    ],
)
def test_every_out_of_bounds_or_empty_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], every: str, message: str
) -> None:
    path = str(config(tmp_path))
    err = usage_error_without_traceback(
        ["sync", "stock", "--config", path, "--every", every], capsys
    )
    assert err == f"bexvendre: error: {message}\n"
    assert not (tmp_path / "bexvendre-state.sqlite3").exists()


@pytest.mark.usefixtures("no_secret_variables")
def test_sections_that_are_not_tables(tmp_path: Path) -> None:
    path = tmp_path / "bexvendre.toml"
    (tmp_path / "lookups.toml").write_text("", "utf-8")
    path.write_text('lookups = "lookups.toml"\nvendre = "x"\nbex = 5\n', "utf-8")
    assert problems(path) == [
        "$.vendre: expected a table, got 'x'",
        "$.bex: expected a table, got 5",
        "$.vendre.url: required",
        "$.vendre.api_key: required (or set BEXVENDRE_VENDRE_API_KEY)",
        "$.bex.api_key: required (or set BEXVENDRE_BEX_API_KEY)",
        "$.bex.secret: required (or set BEXVENDRE_BEX_SECRET)",
    ]


@pytest.mark.usefixtures("no_secret_variables")
def test_wrong_types_are_reported_not_converted(tmp_path: Path) -> None:
    top = 'state = {a = 1}\naudit = ["a.jsonl"]'
    path = config(tmp_path, top, vendre="auth = 1", bex="location = {a = 1}")
    path.write_text(path.read_text("utf-8").replace('"http://127.0.0.1:9/api/"', "5"), "utf-8")
    path.write_text(path.read_text("utf-8").replace('"lookups.toml"', "5"), "utf-8")
    assert problems(path) == [
        "$.vendre.auth: expected a string, got 1",
        "$.bex.url: expected a string, got 5",
        "$.bex.location: expected a string, got {'a': 1}",
        "$.lookups: expected a string, got 5",
        "$.state: expected a string, got {'a': 1}",
        "$.audit: expected a string, got ['a.jsonl']",
    ]


@pytest.mark.usefixtures("no_secret_variables")
def test_empty_names_and_an_unknown_auth(tmp_path: Path) -> None:
    path = config(tmp_path, 'state = ""\naudit = ""', vendre='auth = "basic"', bex='location = ""')
    assert problems(path) == [
        "$.vendre.auth: expected 'x-authorization' or 'bearer', got 'basic'",
        "$.bex.location: expected a non-empty string, got ''",
        "$.state: expected a non-empty string, got ''",
        "$.audit: expected a non-empty string, got ''",
    ]


@pytest.mark.usefixtures("no_secret_variables")
def test_unknown_keys_are_reported_with_suggestions(tmp_path: Path) -> None:
    path = config(tmp_path, 'overlpa = "5m"\nstat = "s.sqlite3"\nzzzz = 1', bex='locaton = "X"')
    assert problems(path) == [
        "$.overlpa: unknown setting 'overlpa'; did you mean 'overlap'?",
        "$.stat: unknown setting 'stat'; did you mean 'state'?",
        "$.zzzz: unknown setting 'zzzz'",
        "$.bex.locaton: unknown setting 'locaton'; did you mean 'location'?",
    ]


@pytest.mark.usefixtures("no_secret_variables")
def test_a_well_formed_file_loads(tmp_path: Path) -> None:
    path = config(tmp_path, 'audit = "a.jsonl"', vendre='auth = "bearer"', bex='location = "X"')
    path.write_text(path.read_text("utf-8").replace('url = "http://127.0.0.1:9/api/"\n', ""))
    loaded = SyncConfig.from_toml(path, environ={"BEXVENDRE_BEX_SECRET": "from-env"})
    assert loaded.vendre_auth == "bearer"
    assert loaded.bex_url == "https://api.bexonline.com/api/"
    assert loaded.bex_location == "X"
    assert loaded.bex_secret == "from-env"  # noqa: S105 - a test value
    assert loaded.audit_path == tmp_path / "a.jsonl"
    assert loaded.state_path == tmp_path / "bexvendre-state.sqlite3"


@pytest.mark.usefixtures("no_secret_variables")
def test_a_secret_with_a_line_break_is_reported_without_quoting_it(tmp_path: Path) -> None:
    path = config(tmp_path)
    environ = {"BEXVENDRE_BEX_SECRET": "top-secret\n"}
    assert problems(path, environ) == [
        "$.bex.secret (from BEXVENDRE_BEX_SECRET): holds a line break or another control character"
    ]


@pytest.mark.usefixtures("no_secret_variables")
def test_not_utf8_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bexvendre.toml"
    path.write_bytes(b'x = "\xff"\n')
    assert problems(path) == [f"$: {str(path)!r} is not UTF-8 text: byte 0xff at 5"]
    err = usage_error_without_traceback(["quarantine", "list", "--config", str(path)], capsys)
    assert str(path) in err


@pytest.mark.usefixtures("no_secret_variables")
@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "127.0.0.1:9/API",
            "expected an http(s) URL with a host, like 'https://host/API/1/', "
            "got '127.0.0.1:9/API'",
        ),
        (
            "ftp://user:pw@shop/",
            "expected an http(s) URL with a host, like 'https://host/API/1/', got 'ftp://shop/'",
        ),
        (
            "http://127.0.0.1:99999/",
            "cannot be parsed (Port out of range 0-65535): 'http://127.0.0.1:99999/'",
        ),
        ("http://[::1/", "cannot be parsed (Invalid IPv6 URL): 'http://[::1/'"),
    ],
)
def test_urls_are_checked_at_load(tmp_path: Path, url: str, message: str) -> None:
    path = config(tmp_path)
    text = path.read_text("utf-8")
    path.write_text(text.replace(NOWHERE, url).replace("9/api/", "99999/api/"), "utf-8")
    assert problems(path) == [
        f"$.vendre.url: {message}",
        "$.bex.url: cannot be parsed (Port out of range 0-65535): 'http://127.0.0.1:99999/api/'",
    ]


@pytest.mark.usefixtures("no_secret_variables")
def test_a_bad_url_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path)
    path.write_text(path.read_text("utf-8").replace(NOWHERE, "ftp://x/"), "utf-8")
    err = usage_error_without_traceback(
        ["sync", "orders", "--config", str(path), "--dry-run"], capsys
    )
    assert "$.vendre.url: expected an http(s) URL" in err


@pytest.mark.usefixtures("no_secret_variables")
@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (".", "it is a directory"),
        ("missing/state.sqlite3", "its folder '{folder}/missing' does not exist"),
    ],
)
@pytest.mark.parametrize(
    "argv", [["sync", "orders", "--dry-run"], ["sync", "orders"], ["quarantine", "list"]]
)
def test_a_state_file_that_cannot_be_opened_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], state: str, reason: str, argv: list[str]
) -> None:
    path = config(tmp_path, f'state = "{state}"')
    err = usage_error_without_traceback([*argv, "--config", str(path)], capsys)
    file = str(tmp_path / state)
    expected = f"$.state: cannot open the state file {file!r}: {reason.format(folder=tmp_path)}"
    assert err.endswith(expected + "\n")


@pytest.mark.usefixtures("no_secret_variables")
def test_a_state_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"not a database, but long enough to look like a header" * 20)
    with pytest.raises(OSError, match="file is not a database") as caught:
        SqliteState(path)
    assert str(path) in str(caught.value)


@pytest.mark.usefixtures("no_secret_variables")
def test_a_state_file_of_a_newer_schema_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, 'state = "state.sqlite3"')
    SqliteState(tmp_path / "state.sqlite3").close()
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    db.close()
    err = usage_error_without_traceback(["quarantine", "list", "--config", str(path)], capsys)
    assert "$.state: " in err
    assert "has state schema 99" in err


@pytest.mark.usefixtures("no_secret_variables")
def test_a_dry_run_and_a_listing_create_no_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(config(tmp_path, 'state = "state.sqlite3"\naudit = "audit.jsonl"'))
    assert main(["sync", "orders", "--config", path, "--dry-run"]) == 1  # nothing listens
    assert main(["quarantine", "list", "--config", path]) == 0
    assert capsys.readouterr().out.endswith("0 quarantined order(s)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bexvendre.toml", "lookups.toml"]


@pytest.mark.usefixtures("no_secret_variables")
def test_without_create_an_existing_state_is_read(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with SqliteState(path) as state:
        state.set_pushed("product", "A", "hash")
    with SqliteState(path, create=False) as state:
        assert state.get_pushed("product", "A") == "hash"
    with SqliteState(tmp_path / "other.sqlite3", create=False) as state:
        assert state.get_pushed("product", "A") is None
    assert not (tmp_path / "other.sqlite3").exists()


@pytest.mark.usefixtures("no_secret_variables")
@pytest.mark.parametrize(
    ("audit", "reason"),
    [(".", "Is a directory"), ("missing/audit.jsonl", "No such file or directory")],
)
@pytest.mark.parametrize("dry_run", [True, False])
def test_an_audit_log_that_cannot_be_opened_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], audit: str, reason: str, dry_run: bool
) -> None:
    path = config(tmp_path, f'state = "state.sqlite3"\naudit = "{audit}"')
    argv = ["sync", "orders", "--config", str(path), *(["--dry-run"] if dry_run else [])]
    err = usage_error_without_traceback(argv, capsys)
    assert err.endswith(f"$.audit: cannot open {str(tmp_path / audit)!r}: {reason}\n")


@pytest.mark.usefixtures("no_secret_variables")
def test_audit_log_raises_os_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError) as caught:
        AuditLog(tmp_path)
    assert caught.value.filename == str(tmp_path)


def test_an_error_escaping_one_flow_never_stops_the_next(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The safety net of `sync all`: a flow that raises is its one failed record.

    The flows report failures per record, so none escapes today; this stands in for a
    future bug by making the orders flow raise, and checks the other flows still run.
    """
    from bexvendre_mapping import Lookups  # noqa: PLC0415
    from bexvendre_mapping.http import ServerError  # noqa: PLC0415
    from bexvendre_mapping.sync import _cli  # noqa: PLC0415

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ServerError("the server failed", method="GET", url="http://127.0.0.1/", status=503)

    monkeypatch.setattr(_cli, "import_orders", broken)
    lookups = Lookups.from_toml(ROOT / "examples" / "lookups.toml")
    with (
        Sandbox(seed_examples=True) as sandbox,
        SqliteState(tmp_path / "state.sqlite3") as state,
    ):
        reports = _cli.run_flows(
            _cli.FLOWS, sandbox.vendre_client(), sandbox.bex_client(), lookups, state
        )
    assert [r.flow for r in reports] == ["orders", "products", "stock", "statuses"]
    (failed,) = reports[0].outcomes
    assert (failed.result, failed.reason) == ("failed", "the flow stopped; tried again next run")
    assert failed.errors == ("ServerError: the server failed: GET http://127.0.0.1/ -> HTTP 503",)
    assert [r.count("done") for r in reports[1:]] == [1, 3, 1]  # stock: 1001's three sizes


@pytest.mark.parametrize(
    "argv",
    [
        ["reconcile", "--config", "bexvendre.toml", "--since", "2026-01-01"],
        ["run", "--once", "--config", "bexvendre.toml"],
        ["status", "--config", "bexvendre.toml"],
    ],
)
def test_reconcile_run_and_status_without_the_http_extra_are_usage_errors(
    argv: list[str],
) -> None:
    code = f"""
        import sys
        sys.modules["requests"] = None  # requests is not installed
        from bexvendre_mapping.cli import main
        sys.exit(main({argv!r}))
    """
    result = run("-c", textwrap.dedent(code), env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 2
    assert 'pip install "bexvendre-mapping[http]"' in result.stderr
    assert result.stderr.startswith("bexvendre: error: ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("port", ["x", "-1", "65536", "99999999999999999999"])
def test_a_port_out_of_range_is_a_usage_error(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support import usage_error  # noqa: PLC0415

    message = usage_error(["serve", "--config", "bexvendre.toml", "--port", port], capsys)
    assert "argument --port: " in message
    assert ("invalid int value" if port == "x" else "expected a port from 0 to 65535") in message


@pytest.mark.usefixtures("no_secret_variables")
def test_sync_pushes_with_the_configured_limits(configured_shop: tuple[Sandbox, str]) -> None:
    """``max_in_flight`` and each API's ``max_rate`` from the file reach the pushes."""
    sandbox, config = configured_shop
    _set(config, "max_in_flight = 4")
    path = Path(config)
    text = path.read_text("utf-8")
    text = text.replace("[vendre]\n", "[vendre]\nmax_rate = 50\n", 1)
    path.write_text(text.replace("[bex]\n", "[bex]\nmax_rate = 40.5\n", 1), "utf-8")
    loaded = SyncConfig.from_toml(path, environ={})
    assert (loaded.max_in_flight, loaded.vendre_max_rate, loaded.bex_max_rate) == (4, 50.0, 40.5)
    sandbox.add_vendre_product(
        {"article_number": "GIFTBOX", "name": {"sv": "G"}, "price": 1, "tax_class_id": 2}
    )
    for _ in range(3):
        sandbox.set_bex_stock("GIFTBOX", 5)
    assert main(["sync", "stock", "--config", config]) == 0
    assert sandbox.bex_queued_stock_changes() == []


@pytest.mark.parametrize(
    ("setting", "table", "message"),
    [
        ("max_in_flight = 0", "", "$.max_in_flight: expected a whole number from 1 to 64, got 0"),
        ("max_in_flight = 2.5", "", "$.max_in_flight: expected a whole number from 1 to 64"),
        ("", "vendre", "$.vendre.max_rate: expected requests a second above 0, got 0"),
        ("", "bex", "$.bex.max_rate: expected requests a second above 0, got 0"),
    ],
)
def test_bad_limits_are_named(tmp_path: Path, setting: str, table: str, message: str) -> None:
    (tmp_path / "lookups.toml").write_text(Path(LOOKUPS).read_text("utf-8"), "utf-8")
    text = config_text("https://shop.example/API/1/", "https://bex.example/api/")
    text = f"lookups = 'lookups.toml'\n{setting}\n{text}"
    if table:
        text = text.replace(f"[{table}]\n", f"[{table}]\nmax_rate = 0\n", 1)
    path = tmp_path / "bexvendre.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(LookupsError) as caught:
        SyncConfig.from_toml(path, environ={})
    assert any(str(p).startswith(message) for p in caught.value.problems)


# --- several workers: worker, claim_ttl, --worker ---------------------------------------------


def test_the_worker_and_its_claim_ttl_reach_import_orders(tmp_path: Path) -> None:
    """``worker`` and ``claim_ttl`` from the file, ``BEXVENDRE_WORKER`` winning over the
    file (several workers share one file); without a worker, nothing is claimed."""
    path = config(tmp_path, top='worker = "north-1"\nclaim_ttl = "2m"')
    loaded = SyncConfig.from_toml(path, environ={})
    assert (loaded.worker, loaded.claim_ttl) == ("north-1", timedelta(minutes=2))
    assert order_options(loaded)["worker"] == "north-1"
    assert order_options(loaded)["claim_ttl"] == timedelta(minutes=2)
    from_env = SyncConfig.from_toml(path, environ={"BEXVENDRE_WORKER": "pod-7"})
    assert from_env.worker == "pod-7"
    alone = SyncConfig.from_toml(config(tmp_path), environ={})
    assert (alone.worker, alone.claim_ttl) == (None, timedelta(minutes=10))
    assert "worker" not in order_options(alone)
    assert "claim_ttl" not in order_options(alone)


@pytest.mark.parametrize(
    ("top", "environ", "message"),
    [
        ('claim_ttl = "0s"', {}, "$.claim_ttl: at least 1s, got '0s'"),
        ('claim_ttl = "2d"', {}, "$.claim_ttl: at most 1d, got '2d'"),
        ("claim_ttl = 600", {}, "$.claim_ttl: expected a duration like '30s'"),
        ('worker = ""', {}, "$.worker: expected a non-empty string, got ''"),
        ("worker = 7", {}, "$.worker: expected a string, got 7"),
        (
            "",
            {"BEXVENDRE_WORKER": "a\nb"},
            "$.worker (from BEXVENDRE_WORKER): holds a line break or another control character",
        ),
    ],
)
def test_a_bad_worker_or_claim_ttl_is_named(
    tmp_path: Path, top: str, environ: dict[str, str], message: str
) -> None:
    found = problems(config(tmp_path, top=top), environ)
    assert any(p.startswith(message) for p in found), found


def _claimed_elsewhere(sandbox: Sandbox, folder: Path, order_id: int) -> None:
    """An order in the shop that a live worker elsewhere has claimed for an hour."""
    sandbox.add_vendre_order(order_doc(order_id))
    with SqliteState(folder / "state.sqlite3") as state:
        assert state.claim_order(order_id, "elsewhere", 3600)


@pytest.mark.usefixtures("no_secret_variables")
def test_sync_orders_with_a_worker_claims_each_order(
    configured_shop: tuple[Sandbox, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """With ``--worker`` the run claims each order: one another live worker holds is left to
    it (and looked at next run); without, the run holds the lock alone and claims nothing."""
    sandbox, config_path = configured_shop
    _claimed_elsewhere(sandbox, Path(config_path).parent, 4501)
    assert main(["sync", "orders", "--config", config_path, "--worker", "north-1"]) == 0
    assert "orders: 1 skipped" in capsys.readouterr().out
    assert sandbox.bex_orders() == []
    assert main(["sync", "orders", "--config", config_path]) == 0
    assert "orders: 1 done" in capsys.readouterr().out
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["4501"]


@pytest.mark.usefixtures("no_secret_variables")
def test_the_command_line_worker_wins_over_the_file(
    configured_shop: tuple[Sandbox, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sandbox, config_path = configured_shop
    _claimed_elsewhere(sandbox, Path(config_path).parent, 4601)
    _set(config_path, 'worker = "north-1"')
    monkeypatch.setenv("BEXVENDRE_WORKER", "north-2")
    # The claim's own worker renews it and goes on: the name that counts is --worker's.
    assert main(["sync", "orders", "--config", config_path, "--worker", "elsewhere"]) == 0
    assert "orders: 1 done" in capsys.readouterr().out
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["4601"]


@pytest.mark.parametrize("name", ["", "  ", "a\tb"])
def test_a_bad_worker_name_is_a_usage_error(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("sync", "run"):
        argv = [command, *(["orders"] if command == "sync" else [])]
        message = usage_error([*argv, "--config", "x.toml", "--worker", name], capsys)
        assert "argument --worker: expected a worker name without control characters" in message
