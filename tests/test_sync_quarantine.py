"""Quarantine for every flow, exit codes, readable reports, logging and the observer hook.

Against the sandbox on loopback, with real SQLite state files; the commands go through
``bexvendre_mapping.cli.main`` as the console script does.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.http_support import bex_article_doc
from tests.sync_support import EXAMPLE, add_vendre_products, order_doc, vendre_quantities

from bexvendre_mapping import Lookups
from bexvendre_mapping.cli import main
from bexvendre_mapping.sync import (
    Outcome,
    Report,
    SqliteState,
    import_orders,
    push_products,
    push_statuses,
    push_stock,
    retry_quarantined,
    retry_quarantined_records,
)
from bexvendre_mapping.sync._cli import exit_code
from bexvendre_mapping.sync._stop import STOP
from bexvendre_mapping.testing.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Sandbox, Path]]:
    """A sandbox with one bad record per flow (and a good one), and a bexvendre.toml for it.

    Bad: order 100299 (payment PAYPAL), article 1003 (category KLOCKOR), stock 1001__42 (not a
    model code), status of order 100299 (Bex status OKAND). Good: order 100234, article 1001,
    stock of 1001_SKO_42, status SKICKAD of 100234.
    """
    with Sandbox() as sandbox:
        sandbox.add_vendre_order(order_doc(100234))
        sandbox.add_vendre_order(
            order_doc(100299, payment={**EXAMPLE["payment"], "payment_method": "PAYPAL"})
        )
        sandbox.add_bex_article(bex_article_doc("1001"))
        sandbox.add_bex_article(bex_article_doc("1003", **{"Extern referens": "KLOCKOR"}))
        add_vendre_products(sandbox, "1001_SKO_42")
        sandbox.set_bex_stock("1001_SKO_42", 4)
        sandbox.set_bex_stock("1001__42", 3)
        sandbox.set_bex_order_status("100234", "SKICKAD")
        sandbox.set_bex_order_status("100299", "OKAND")
        (tmp_path / "lookups.toml").write_text(
            (ROOT / "examples" / "lookups.toml").read_text("utf-8"), "utf-8"
        )
        (tmp_path / "bexvendre.toml").write_text(
            f'lookups = "lookups.toml"\nstate = "state.sqlite3"\naudit = "audit.jsonl"\n\n'
            f'[vendre]\nurl = "{sandbox.vendre_url}"\n\n[bex]\nurl = "{sandbox.bex_url}"\n',
            "utf-8",
        )
        monkeypatch.setenv("BEXVENDRE_VENDRE_API_KEY", sandbox.vendre_api_key)
        monkeypatch.setenv("BEXVENDRE_BEX_API_KEY", sandbox.bex_api_key)
        monkeypatch.setenv("BEXVENDRE_BEX_SECRET", sandbox.bex_secret)
        yield sandbox, tmp_path / "bexvendre.toml"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``bexvendre ARGS``: its exit status, standard output and error."""
    try:
        status = main(list(args))
    except SystemExit as exc:  # argparse's usage errors
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def listed(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> list[str]:
    status, out, _ = cli(
        capsys, "quarantine", "list", "--config", str(config), "--output", "json", *args
    )
    assert status == 0
    return [entry["id"] for entry in json.loads(out)]


def add_table_rows(config: Path, table: str, row: str) -> None:
    lookups = config.parent / "lookups.toml"
    text = lookups.read_text("utf-8")
    lookups.write_text(text.replace(f"[{table}]", f"[{table}]\n{row}", 1), "utf-8")


# --- exit codes -----------------------------------------------------------------------------


def _report(*results: str) -> Report:
    report = Report(flow="orders")
    report.outcomes += [
        Outcome(flow="orders", entity=str(i), action="create", result=r)  # type: ignore[arg-type]
        for i, r in enumerate(results)
    ]
    return report


def test_the_exit_code_rule() -> None:
    """1 when anything failed (a retry may fix it), else 3 when quarantined, else 0."""
    assert exit_code([]) == 0
    assert exit_code([_report("done", "skipped", "planned")]) == 0
    assert exit_code([_report("done"), _report("quarantined")]) == 3
    assert exit_code([_report("quarantined"), _report("failed")]) == 1
    assert exit_code([_report("failed", "done")]) == 1


def test_sync_exits_3_when_it_quarantined_a_record_of_every_flow(
    shop: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Each flow keeps its bad record in the state, one outcome per record; exit 3."""
    sandbox, config = shop
    status, out, err = cli(capsys, "sync", "all", "--config", str(config), "--output", "json")
    assert status == 3, err
    reports = {r["flow"]: r for r in json.loads(out)}
    assert reports["orders"]["counts"] == {"done": 1, "quarantined": 1}
    assert reports["products"]["counts"] == {"done": 1, "quarantined": 1}
    # Two queue entries: one sent, one quarantined; no third outcome for the confirmation.
    assert reports["stock"]["counts"] == {"done": 1, "quarantined": 1}
    assert reports["statuses"]["counts"] == {"done": 1, "quarantined": 1}
    assert sandbox.bex_queued_stock_changes() == []  # the bad entry does not block the queue
    assert vendre_quantities(sandbox)["1001_SKO_42"] == 4
    assert listed(capsys, config) == [
        "orders:100299",
        "products:1003",
        "statuses:100299",
        "stock:1001__42",
    ]
    assert listed(capsys, config, "--flow", "stock") == ["stock:1001__42"]
    # A run with nothing new to do: nothing quarantined in it, nothing failed.
    again, out, _ = cli(capsys, "sync", "all", "--config", str(config))
    assert again == 0, out


def test_show_gives_the_payload_and_problems_and_unknown_ids_are_usage_errors(
    shop: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = shop
    assert cli(capsys, "sync", "all", "--config", str(config))[0] == 3
    status, out, _ = cli(capsys, "quarantine", "show", "products:1003", "--config", str(config))
    assert status == 0
    shown = json.loads(out)
    assert shown["payload"]["Artikel"] == "1003"
    assert shown["reason"] == "does not map"
    assert any("KLOCKOR" in e for e in shown["errors"])
    status, out, _ = cli(capsys, "quarantine", "show", "100299", "--config", str(config))
    assert (status, json.loads(out)["payload"]["id"]) == (0, 100299)
    stock = json.loads(
        cli(capsys, "quarantine", "show", "stock:1001__42", "--config", str(config))[1]
    )
    assert stock["payload"]["product_identifier"] == "1001__42"
    assert len(stock["payload"]["entry_ids"]) == 1

    for argv in (
        ["quarantine", "retry", "12345"],
        ["quarantine", "drop", "orders:100234"],  # created, not quarantined
        ["quarantine", "show", "products:1001"],
        ["quarantine", "drop", "nonsense"],
        ["quarantine", "drop"],
    ):
        status, out, err = cli(capsys, *argv, "--config", str(config))
        assert status == 2, (argv, out, err)
        assert "Traceback" not in err
    status, _, err = cli(capsys, "quarantine", "retry", "12345", "--config", str(config))
    assert "not in quarantine: orders:12345" in err
    # Nothing was touched by the refused commands.
    assert len(listed(capsys, config)) == 4


def test_retry_and_drop_for_every_flow(
    shop: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str], lookups: Lookups
) -> None:
    sandbox, config = shop
    assert cli(capsys, "sync", "all", "--config", str(config))[0] == 3
    # Still bad: retrying everything quarantines the four again (exit 3), nothing is lost.
    status, out, _ = cli(capsys, "quarantine", "retry", "--config", str(config))
    assert status == 3, out
    assert len(listed(capsys, config)) == 4

    add_table_rows(config, "categories", "KLOCKOR = 40")
    add_table_rows(config, "order_statuses", "OKAND = 6")
    status, out, _ = cli(
        capsys, "quarantine", "retry", "products:1003", "statuses:100299", "--config", str(config)
    )
    assert status == 0, out
    assert "1003" in {p["article_number"] for p in sandbox.vendre_products()}
    assert {s["id"]: s["status"] for s in sandbox.vendre_order_statuses()}[100299] == 6
    assert listed(capsys, config) == ["orders:100299", "stock:1001__42"]

    # A person handled these by hand: dropped, and the order is never imported.
    status, out, _ = cli(
        capsys, "quarantine", "drop", "100299", "stock:1001__42", "--config", str(config)
    )
    assert status == 0
    assert out.splitlines() == ["dropped orders:100299", "dropped stock:1001__42"]
    assert listed(capsys, config) == []
    audit = [json.loads(line) for line in (config.parent / "audit.jsonl").read_text().splitlines()]
    assert [(a["entity"], a["action"]) for a in audit if a["action"] == "drop"] == [
        ("100299", "drop"),
        ("1001__42", "drop"),
    ]
    with SqliteState(config.parent / "state.sqlite3") as state:
        record = state.get_order(100299)
        assert record is not None
        assert record.state == "dropped"
        state.add_hint(100299, "updated_order")  # a webhook names it again
        report = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert [(o.entity, o.result, o.reason) for o in report.outcomes] == [
        ("100299", "skipped", "dropped from quarantine by a person")
    ]
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == ["100234"]
    # Nothing left: retry has nothing to do.
    status, out, _ = cli(capsys, "quarantine", "retry", "--config", str(config))
    assert (status, out) == (0, "nothing in quarantine\n")


def test_drop_while_another_run_holds_the_lock_exits_1_and_drops_nothing(
    shop: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = shop
    assert cli(capsys, "sync", "products", "--config", str(config))[0] == 3
    config.write_text(
        config.read_text("utf-8").replace("lookups =", 'lock_timeout = "1s"\nlookups =')
    )
    with SqliteState(config.parent / "state.sqlite3") as holder, holder.lock("products"):
        status, _, err = cli(capsys, "quarantine", "drop", "products:1003", "--config", str(config))
    assert status == 1
    assert "another products run holds" in err
    assert listed(capsys, config) == ["products:1003"]


def test_a_record_that_goes_through_later_leaves_the_quarantine(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Fixed at the source (Bex), the next run sends it and forgets its quarantine."""
    sandbox.add_bex_article(bex_article_doc("1003", **{"Extern referens": "KLOCKOR"}))
    push_products(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert [r.entity for r in state.quarantined("products")] == ["1003"]
    sandbox.add_bex_article(bex_article_doc("1003", **{"Extern referens": "SKOR"}))
    report = push_products(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert report.count("quarantined") == 0
    assert ("1003", "done") in [(o.entity, o.result) for o in report.outcomes]
    assert state.quarantined() == []


def test_a_stock_retry_reads_the_stock_again_and_confirms_nothing(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    add_vendre_products(sandbox, "1001_SKO_42")
    sandbox.set_bex_stock("1001_SKO_42", 5)
    sandbox.inject("bex", method="GET", path="WarehouseManagement/GetStockinformation", status=404)
    first = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert [(o.result, o.reason) for o in first.outcomes] == [
        ("quarantined", "Bex has no stock for it")
    ]
    assert sandbox.bex_queued_stock_changes() == []
    confirms = [c for c in sandbox.calls("bex") if c.method == "PUT"]
    report = retry_quarantined_records(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, state, flow="stock"
    )
    assert [(o.entity, o.action, o.result) for o in report.outcomes] == [
        ("1001_SKO_42", "update", "done")
    ]
    assert vendre_quantities(sandbox) == {"1001_SKO_42": 5}
    assert [c for c in sandbox.calls("bex") if c.method == "PUT"] == confirms
    assert state.quarantined() == []


# --- readable reports -----------------------------------------------------------------------


def test_dry_run_json_lists_each_record_with_its_diff(
    shop: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox, config = shop
    status, out, err = cli(
        capsys, "sync", "all", "--config", str(config), "--dry-run", "--output", "json"
    )
    assert status == 3, err  # the plan quarantines (in memory only)
    reports = {r["flow"]: r for r in json.loads(out)}
    for report in reports.values():
        assert re.fullmatch("[0-9a-f]{32}", report["run_id"])
        assert report["dry_run"] is True
        assert isinstance(report["duration"], float)
    planned = {
        flow: [(o["entity"], o["action"], o["result"]) for o in r["outcomes"]]
        for flow, r in reports.items()
    }
    assert ("100234", "create", "planned") in planned["orders"]
    assert ("1001_SKO_42", "update", "planned") in planned["stock"]  # not "confirm"
    stock = next(o for o in reports["stock"]["outcomes"] if o["entity"] == "1001_SKO_42")
    assert stock["diff"] == {"quantity": [0, 4]}
    status_update = next(o for o in reports["statuses"]["outcomes"] if o["entity"] == "100234")
    assert status_update["diff"] == {"status": [None, "SKICKAD"]}
    family = next(o for o in reports["products"]["outcomes"] if o["action"] == "update")
    assert family["entity"] == "1001"
    assert family["diff"]["article_number"] == [None, "1001"]  # a create: every field is new
    assert family["diff"]["1001_SKO_43.price"][0] is None
    assert family["diff"]["1001_SKO_42.price"][0] == "100"  # the shop has this size already
    assert sandbox.bex_orders() == []
    with SqliteState(config.parent / "state.sqlite3") as state:
        assert state.quarantined() == []
        assert state.orders() == []


def test_a_text_dry_run_lists_each_planned_record_and_its_diff(
    shop: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = shop
    status, out, _ = cli(capsys, "sync", "stock", "--config", str(config), "--dry-run")
    assert status == 3
    assert (
        "  planned: stock 1001_SKO_42: update, quantity 4, status 1\n      quantity: 0 → 4\n" in out
    )
    assert "  quarantined: stock 1001__42: does not map\n" in out


def test_a_dry_run_after_a_change_shows_the_changed_fields(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    sandbox.add_bex_article(bex_article_doc("1001"))
    push_products(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    sandbox.set_bex_order_status("100234", "BEHANDLAS")
    push_statuses(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    old = bex_article_doc("1001")
    sandbox.add_bex_article({**old, "Beskrivning": old["Beskrivning"] + " (ny)"})
    sandbox.set_bex_order_status("100234", "SKICKAD")
    products = push_products(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, state, dry_run=True
    )
    (family,) = [o for o in products.outcomes if o.entity == "1001"]
    assert family.action == "update"
    assert set(family.diff) == {"name", "1001_SKO_42.name", "1001_SKO_43.name"}
    before, after = family.diff["name"]
    assert before != after
    statuses = push_statuses(
        sandbox.vendre_client(), sandbox.bex_client(), lookups, state, dry_run=True
    )
    assert [(o.entity, o.diff) for o in statuses.outcomes] == [
        ("100234", {"status": ("BEHANDLAS", "SKICKAD")})
    ]


def test_report_to_dict_has_run_id_times_counts_and_outcomes(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    sandbox.add_vendre_order(order_doc(5001))
    report = import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["run_id"] == report.run_id
    assert data["counts"] == {"done": 1}
    assert report.finished is not None
    assert report.duration is not None
    assert 0 <= data["duration"] < 30
    assert data["outcomes"][0]["entity"] == "5001"


# --- logging and the observer ---------------------------------------------------------------


def test_flows_log_each_outcome_and_call_the_observer(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.add_vendre_order(order_doc(5001))
    sandbox.add_vendre_order(
        order_doc(5002, payment={**EXAMPLE["payment"], "payment_method": "PAYPAL"})
    )
    seen: list[Outcome] = []
    with caplog.at_level(logging.DEBUG, logger="bexvendre_mapping.sync"):
        report = import_orders(
            sandbox.vendre_client(), sandbox.bex_client(), lookups, state, observer=seen.append
        )
    assert seen == report.outcomes
    records = [r for r in caplog.records if r.name == "bexvendre_mapping.sync"]
    got: list[tuple[Any, ...]] = [
        (r.flow, r.entity, r.run_id, r.result, r.levelname)  # type: ignore[attr-defined]
        for r in records
    ]
    assert got == [
        ("orders", "5001", report.run_id, "done", "INFO"),
        ("orders", "5002", report.run_id, "quarantined", "WARNING"),
    ]
    text = caplog.text
    for secret in (sandbox.vendre_api_key, sandbox.bex_api_key, sandbox.bex_secret):
        assert secret not in text


def test_every_flow_takes_an_observer(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    seen: list[str] = []
    sandbox.add_bex_article(bex_article_doc("1001"))
    sandbox.set_bex_order_status("100234", "SKICKAD")
    bex_client, vendre_client = sandbox.bex_client(), sandbox.vendre_client()
    reports = [
        push_products(
            vendre_client, bex_client, lookups, state, observer=lambda o: seen.append(o.flow)
        ),
        push_stock(
            vendre_client, bex_client, lookups, state, observer=lambda o: seen.append(o.flow)
        ),
        push_statuses(
            vendre_client, bex_client, lookups, state, observer=lambda o: seen.append(o.flow)
        ),
    ]
    assert seen == [o.flow for r in reports for o in r.outcomes]
    assert "products" in seen
    assert "statuses" in seen


# --- the state file -------------------------------------------------------------------------


def test_a_state_file_from_before_keeps_its_orders_and_can_drop_one(tmp_path: Path) -> None:
    """A file made by the previous version: its orders table is widened for ``dropped``."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE orders (
            order_id INTEGER PRIMARY KEY,
            content_hash TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('intent', 'created', 'quarantined')),
            payload TEXT NOT NULL,
            errors TEXT NOT NULL DEFAULT '[]',
            updated_at TEXT NOT NULL
        );
        INSERT INTO orders VALUES (7, 'h', 'quarantined', '{}', '["$.x: bad"]',
                                   '2026-01-01T00:00:00+00:00');
        """
    )
    db.commit()
    db.close()
    with SqliteState(path) as state:
        (record,) = state.orders("quarantined")
        assert record.errors == ("$.x: bad",)
        state.put_order(attrs.evolve(record, state="dropped"))
        assert [r.state for r in state.orders()] == ["dropped"]


def test_a_records_retry_of_a_flow_without_a_quarantine_is_refused(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    with pytest.raises(ValueError, match="no quarantine of flow 'orders'"):
        retry_quarantined_records(
            sandbox.vendre_client(), sandbox.bex_client(), lookups, state, flow="orders"
        )


def quarantine_two_stock_records(sandbox: Sandbox, state: SqliteState, lookups: Lookups) -> None:
    """Two stock records quarantined: Bex had no stock for them (now it has)."""
    add_vendre_products(sandbox, "GIFTBOX", "GIFTBAG")
    sandbox.set_bex_stock("GIFTBOX", 2)
    sandbox.set_bex_stock("GIFTBAG", 4)
    path = "WarehouseManagement/GetStockinformation"
    sandbox.inject("bex", method="GET", path=path, status=404, times=2)
    first = push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert first.counts == {"quarantined": 2}


def test_a_stock_retry_without_a_product_index_keeps_the_quarantine(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """The shop's products cannot be listed: nothing is retried, both stay quarantined."""
    quarantine_two_stock_records(sandbox, state, lookups)
    state.mark_product_index_stale()
    sandbox.inject("vendre", method="GET", path="products", status=500)
    report = retry_quarantined_records(
        sandbox.vendre_client(retries=0), sandbox.bex_client(), lookups, state, flow="stock"
    )
    assert [(o.entity, o.result, o.reason) for o in report.outcomes] == [
        ("Vendre products", "failed", "the product index was not built")
    ]
    assert len(state.quarantined("stock")) == 2
    assert vendre_quantities(sandbox) == {"GIFTBOX": 0, "GIFTBAG": 0}


def test_a_stop_asked_mid_retry_leaves_the_rest_in_quarantine(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Records and orders alike: the record in hand is retried, the others wait."""
    quarantine_two_stock_records(sandbox, state, lookups)
    for order_id in (5101, 5102):
        sandbox.add_vendre_order(
            order_doc(order_id, payment={**EXAMPLE["payment"], "payment_method": "PAYPAL"})
        )
    assert import_orders(sandbox.vendre_client(), sandbox.bex_client(), lookups, state).counts == {
        "quarantined": 2
    }
    before = {r.order_id: r.updated_at for r in state.orders("quarantined")}
    stop = threading.Event()
    token = STOP.set(stop)
    try:
        stock = retry_quarantined_records(
            sandbox.vendre_client(),
            sandbox.bex_client(),
            lookups,
            state,
            flow="stock",
            observer=lambda _outcome: stop.set(),
        )
        stop.clear()
        orders = retry_quarantined(
            sandbox.vendre_client(),
            sandbox.bex_client(),
            lookups,
            state,
            observer=lambda _outcome: stop.set(),
        )
    finally:
        STOP.reset(token)
    assert [(o.entity, o.result) for o in stock.outcomes] == [("GIFTBAG", "done")]
    assert [r.entity for r in state.quarantined("stock")] == ["GIFTBOX"]
    (retried,) = orders.outcomes  # still PAYPAL: quarantined again; the other not looked at
    after = {r.order_id: r.updated_at for r in state.orders("quarantined")}
    untouched = [order_id for order_id in before if after[order_id] == before[order_id]]
    assert untouched == [order_id for order_id in before if str(order_id) != retried.entity]
    assert len(untouched) == 1


# --- products: the index and the saves ------------------------------------------------------


def pushed_then_changed(sandbox: Sandbox, state: SqliteState, lookups: Lookups) -> None:
    """Article 1001 pushed once, then its description changed in Bex."""
    sandbox.add_bex_article(bex_article_doc("1001"))
    first = push_products(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert first.counts == {"done": 1}
    old = bex_article_doc("1001")
    sandbox.add_bex_article({**old, "Beskrivning": old["Beskrivning"] + " (ny)"})


def test_a_dry_run_leaves_a_product_it_cannot_read_out_of_the_diff(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    pushed_then_changed(sandbox, state, lookups)
    unreadable = state.get_product_id("1001_SKO_42")
    sandbox.inject("vendre", method="GET", path=f"products/{unreadable}", status=500)
    products = push_products(
        sandbox.vendre_client(retries=0), sandbox.bex_client(), lookups, state, dry_run=True
    )
    (family,) = products.outcomes
    assert set(family.diff) == {"name", "1001_SKO_43.name"}


def test_an_update_vendre_answers_404_to_rebuilds_the_index_next_run(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    pushed_then_changed(sandbox, state, lookups)
    sandbox.inject("vendre", method="PUT", path="products/", status=404)
    report = push_products(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert [(o.entity, o.action, o.result, o.reason) for o in report.outcomes] == [
        ("1001", "update", "failed", "Vendre no longer has it; the index is rebuilt")
    ]
    assert state.product_index_refreshed() is None
    again = push_products(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert again.counts == {"done": 1}
    assert state.product_index_refreshed() is not None


def test_a_failed_update_of_a_known_product_keeps_the_index(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """Only a create whose answer was lost can have made a product the index lacks."""
    pushed_then_changed(sandbox, state, lookups)
    refreshed = state.product_index_refreshed()
    sandbox.inject("vendre", method="PUT", path="products/", status=500)
    report = push_products(sandbox.vendre_client(retries=0), sandbox.bex_client(), lookups, state)
    assert [(o.entity, o.action, o.result, o.reason) for o in report.outcomes] == [
        ("1001", "update", "failed", "Vendre did not take it")
    ]
    assert refreshed is not None
    assert state.product_index_refreshed() == refreshed


def test_the_index_keeps_only_products_with_an_id_and_an_article_number(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    """A listing's odd records (not an object, an id that is text, no article number) are
    left out; the first of two products with one article number wins."""
    page = {
        "list": [
            "junk",
            {"id": "8", "article_number": "TEXTID"},
            {"id": 9, "article_number": ""},
            {"id": 10, "article_number": "GIFTBOX"},
            {"id": 11, "article_number": "GIFTBOX"},
        ],
        "remaining": 0,
    }
    sandbox.inject("vendre", method="GET", path="products", body=json.dumps(page).encode())
    push_stock(sandbox.vendre_client(), sandbox.bex_client(), lookups, state)
    assert state.product_index_refreshed() is not None
    assert state.get_product_id("TEXTID") is None
    assert state.get_product_id("") is None
    assert state.get_product_id("GIFTBOX") == 10


# --- quarantine show, drop and retry at their edges --------------------------------------------


def test_show_takes_one_id_and_an_order_id_must_be_one_sqlite_can_hold(
    shop: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = shop
    assert cli(capsys, "sync", "orders", "--config", str(config))[0] == 3
    for ids in ([], ["100299", "orders:100299"]):
        status, _, err = cli(capsys, "quarantine", "show", *ids, "--config", str(config))
        assert (status, "quarantine show takes one ID" in err) == (2, True)
    for key in ("orders:abc", "orders:99999999999999999999"):
        status, _, err = cli(capsys, "quarantine", "show", key, "--config", str(config))
        assert status == 2
        assert f"not in quarantine: {key}" in err
        assert "Traceback" not in err


def test_drop_and_retry_without_an_audit_log(
    shop: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = shop
    assert cli(capsys, "sync", "all", "--config", str(config))[0] == 3
    audit = config.parent / "audit.jsonl"
    before = audit.read_text("utf-8")
    config.write_text(config.read_text("utf-8").replace('audit = "audit.jsonl"\n', ""), "utf-8")
    status, out, _ = cli(
        capsys, "quarantine", "retry", "products:1003", "--config", str(config), "--output", "json"
    )
    assert status == 3, out
    (report,) = json.loads(out)
    assert (report["flow"], report["counts"]) == ("products", {"quarantined": 1})
    status, out, _ = cli(
        capsys, "quarantine", "drop", "100299", "stock:1001__42", "--config", str(config)
    )
    assert (status, out.splitlines()) == (0, ["dropped orders:100299", "dropped stock:1001__42"])
    assert audit.read_text("utf-8") == before
    assert listed(capsys, config) == ["products:1003", "statuses:100299"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_drop_whose_audit_line_cannot_be_written_exits_1_and_is_not_made(
    shop: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = shop
    assert cli(capsys, "sync", "products", "--config", str(config))[0] == 3
    config.write_text(
        config.read_text("utf-8").replace('audit = "audit.jsonl"', 'audit = "/dev/full"'), "utf-8"
    )
    status, out, err = cli(capsys, "quarantine", "drop", "products:1003", "--config", str(config))
    assert (status, out) == (1, "")
    assert "bexvendre: cannot write the audit log: " in err
    assert "No space left on device" in err
    assert "Traceback" not in err
    # The line comes first: a drop the audit log cannot tell of is not made.
    assert listed(capsys, config) == ["products:1003"]


def test_drop_of_an_order_dropped_while_it_waited_for_the_lock_does_nothing(
    shop: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Two people drop the same order at once: the second, waiting for the lock, finds it
    dropped already and neither writes it again nor audits a second drop."""
    import io  # noqa: PLC0415
    import threading  # noqa: PLC0415
    import time  # noqa: PLC0415

    from bexvendre_mapping.sync._cli import quarantine  # noqa: PLC0415

    _, config = shop
    assert cli(capsys, "sync", "orders", "--config", str(config))[0] == 3
    audit = config.parent / "audit.jsonl"
    before = audit.read_text("utf-8")
    out, err = io.StringIO(), io.StringIO()
    status: list[int] = []
    with SqliteState(config.parent / "state.sqlite3") as holder:
        with holder.lock("orders"):
            second = threading.Thread(
                target=lambda: status.append(
                    quarantine("drop", str(config), ["100299"], out=out, err=err)
                )
            )
            second.start()
            time.sleep(0.3)  # it found the order in quarantine and waits for the lock
            record = holder.get_order(100299)
            assert record is not None
            holder.put_order(attrs.evolve(record, state="dropped"))
        second.join(20)
    assert status == [0], err.getvalue()
    assert out.getvalue() == ""
    assert audit.read_text("utf-8") == before
