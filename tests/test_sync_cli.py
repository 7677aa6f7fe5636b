"""The command line of the sync flows: sync, quarantine, demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bexvendre_mapping.sync import SqliteState
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
    """`sync all` moves everything, reports the quarantined order and exits 0; rerun is a no-op."""
    sandbox, folder = shop
    config = str(folder / "bexvendre.toml")
    result = bexvendre("sync", "all", "--config", config, env=secrets(sandbox))
    assert result.returncode == 0, result.stderr
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
    assert result.returncode == 0, result.stderr
    assert "orders (dry run): 1 planned, 1 quarantined" in result.stdout
    assert sandbox.bex_orders() == []
    assert sandbox.vendre_stock() == []
    assert not (folder / "audit.jsonl").exists()
    with SqliteState(folder / "state.sqlite3") as state:
        assert state.orders() == []
        assert state.get_cursor("orders") is None


def test_quarantine_list_and_retry(shop: tuple[Sandbox, Path]) -> None:
    """The quarantine can be listed, and retried once the tables know the code."""
    sandbox, folder = shop
    config = str(folder / "bexvendre.toml")
    bexvendre("sync", "orders", "--config", config, env=secrets(sandbox))
    listed = bexvendre("quarantine", "list", "--config", config, env=secrets(sandbox))
    assert listed.returncode == 0
    assert listed.stdout.startswith("100299  ")
    assert "1 quarantined order(s)" in listed.stdout
    still = bexvendre("quarantine", "retry", "--config", config, env=secrets(sandbox))
    assert still.returncode == 1
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
    assert "stock: 5 done" in result.stdout
    assert sandbox.bex_orders() == []
    assert len(sandbox.vendre_products()) == 1


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
    assert result.returncode == 0, result.stderr
    assert "orders: 1 done, 2 quarantined" in result.stdout
    assert "$.customer_address.name: text with a lone surrogate (\\ud83d)" in result.stdout
    assert "stock: 5 done" in result.stdout
    listed = bexvendre("quarantine", "list", "--config", config, env=secrets(sandbox))
    assert listed.returncode == 0, listed.stderr
    assert "2 quarantined order(s)" in listed.stdout


def test_quarantine_retry_while_another_run_holds_the_lock(shop: tuple[Sandbox, Path]) -> None:
    """No traceback: the same message and exit status 1 as `sync` in that case."""
    sandbox, folder = shop
    config = folder / "bexvendre.toml"
    config.write_text('lock_timeout = "1s"\n' + config.read_text("utf-8"), "utf-8")
    bexvendre("sync", "orders", "--config", str(config), env=secrets(sandbox))
    with SqliteState(folder / "state.sqlite3") as state, state.lock():
        held = bexvendre("quarantine", "retry", "--config", str(config), env=secrets(sandbox))
        synced = bexvendre("sync", "orders", "--config", str(config), env=secrets(sandbox))
    assert held.returncode == synced.returncode == 1
    assert "Traceback" not in held.stderr
    assert held.stderr.startswith("bexvendre: ")
    assert held.stderr == synced.stderr
