"""The command line at its edges: bad input, JSON Lines, terminals, pipes, sync options."""

from __future__ import annotations

import io
import json
import os
import selectors
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bexvendre_mapping.cli import main
from bexvendre_mapping.sync import SqliteState
from bexvendre_mapping.testing.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
LOOKUPS = str(ROOT / "examples" / "lookups.toml")


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as a user's console does."""

    def isatty(self) -> bool:
        return True


def stock_line(index: int, quantity: int = 1) -> bytes:
    row = {"Artikelnr": f"A{index}", "Lagerantal": quantity}
    return json.dumps(row).encode() + b"\n"


def converted(index: int, quantity: int = 1) -> dict[str, Any]:
    return {"article_number": f"A{index}", "quantity": quantity, "status": 1 if quantity else 0}


def records(text: str) -> list[Any]:
    """The JSON Lines records of ``text`` (blank lines skipped, as JSON Lines readers do)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write(path: Path, text: str) -> str:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def run(*args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run the command line in a fresh interpreter, as a user would."""
    settings: dict[str, Any] = {"capture_output": True, **options}
    return subprocess.run(  # noqa: S603 - this interpreter, our own command
        [sys.executable, *args], text=True, check=False, cwd=ROOT, timeout=60, **settings
    )


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The message of a usage error (exit status 2) of ``bexvendre argv``."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    return capsys.readouterr().err


# --- convert and validate -------------------------------------------------------------------


def test_input_that_is_not_json_is_bad_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """convert and validate report JSON syntax errors with the line and column; exit 1."""
    bad = write(tmp_path / "bad.json", '{"Artikelnr": ')
    expected = "$: invalid JSON at line 1 column 15: Expecting value\n"
    assert main(["convert", "stock", "--from", "bex", "--lookups", LOOKUPS, bad]) == 1
    assert capsys.readouterr() == ("", expected)
    assert main(["validate", "stock", "--from", "bex", bad]) == 1
    assert capsys.readouterr() == ("", expected)


def test_indent_pretty_prints_the_same_document(capsys: pytest.CaptureFixture[str]) -> None:
    """--indent writes the same JSON as the compact form, indented, non-ASCII kept."""
    order = str(ROOT / "examples" / "vendre-order.json")
    assert main(["convert", "order", "--from", "vendre", "--lookups", LOOKUPS, order]) == 0
    compact = capsys.readouterr().out
    argv = ["convert", "order", "--from", "vendre", "--lookups", LOOKUPS, "--indent", "2", order]
    assert main(argv) == 0
    pretty = capsys.readouterr().out
    assert json.loads(pretty) == json.loads(compact)
    assert pretty == json.dumps(json.loads(compact), ensure_ascii=False, indent=2) + "\n"
    assert "Beställare" in pretty


# --- JSON Lines -----------------------------------------------------------------------------


def test_json_lines_from_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--jsonl with no INPUT reads stdin, skips and reports bad records, leaves stdin open."""
    stdin = io.TextIOWrapper(io.BytesIO(stock_line(0) + b'{"Artikelnr": "B"}\n' + stock_line(2)))
    monkeypatch.setattr(sys, "stdin", stdin)
    argv = ["convert", "stock", "--from", "bex", "--lookups", LOOKUPS, "--jsonl"]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert records(out) == [converted(0), converted(2)]
    assert err == "$[1].Lagerantal: required field is missing\n"
    assert not stdin.closed


def test_json_lines_from_an_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--jsonl with INPUT that cannot be opened is a usage error."""
    argv = ["convert", "stock", "--from", "bex", "--lookups", LOOKUPS, "--jsonl", str(tmp_path)]
    assert f"cannot read {str(tmp_path)!r}: Is a directory" in usage_error(argv, capsys)


@pytest.fixture
def big_feed(tmp_path: Path) -> str:
    """10,000 stock rows, one a line: enough for the progress count to advance."""
    path = tmp_path / "stock.jsonl"
    path.write_bytes(b"".join(stock_line(i, i % 3) for i in range(10_000)))
    return str(path)


def test_json_lines_on_a_terminal_with_rich(
    big_feed: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With stderr on a terminal, a rich progress display runs; every record still arrives."""
    monkeypatch.setattr(sys, "stderr", Terminal())
    argv = ["convert", "stock", "--from", "bex", "--lookups", LOOKUPS, "--jsonl", big_feed]
    assert main(argv) == 0
    converted_records = records(capsys.readouterr().out)
    assert len(converted_records) == 10_000
    assert converted_records[0] == converted(0, 0)
    assert converted_records[-1] == converted(9_999, 0)


def test_json_lines_on_a_terminal_without_rich(
    big_feed: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the cli extra, a plain count of records goes to the terminal."""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setitem(sys.modules, "rich.progress", None)  # the cli extra is not installed
    argv = ["convert", "stock", "--from", "bex", "--lookups", LOOKUPS, "--jsonl", big_feed]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 10_000
    assert len(records(out)) == 10_000
    assert terminal.getvalue() == "\r10,000 records\n"


def test_a_reader_that_goes_away_stops_quietly(tmp_path: Path) -> None:
    """Output to a closed pipe (`| head`) ends with exit status 1 and no traceback."""
    feed = tmp_path / "stock.jsonl"
    feed.write_bytes(b"".join(stock_line(i) for i in range(10)))
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written
    try:
        result = run(
            "-m",
            "bexvendre_mapping.cli",
            "convert",
            "stock",
            "--from",
            "bex",
            "--lookups",
            LOOKUPS,
            "--jsonl",
            str(feed),
            capture_output=False,
            stdout=write_end,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (1, "")


# --- lookups check --------------------------------------------------------------------------


def test_lookups_check_recognises_every_kind_of_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bex orders, products and status updates are checked too; partial documents are fine.

    What is no document of a known kind is a problem (issue 16), listed before the codes.
    """
    documents = [
        5,  # not a document
        {  # a Vendre order without payment method, shipping method or countries
            "products": [],
            "totals": [],
            "payment": {},
            "shipping": {},
            "billing_address": {"city": "Åre"},
        },
        {  # a Bex order
            "Artiklar": [],
            "Butik & webbetalningar": [{"Kod": "PAYPAL"}, {"Kod": "PRESENTKORT"}, "cash"],
            "FraktID": "PNMC",
            "Faktureras": {"Land": "XX"},
            "Leveransadress": {"Landskod": "SE"},
        },
        {"article_number": "1001", "variants": [], "category_id": "99"},  # a Vendre product
        {"id": 1, "status": "3"},  # a Vendre status update, id as digits
        {"id": 2, "status": 4},
        {"Artiklar": [], "Faktureras": {"Ort": "Åre"}},  # a Bex order without any code
        {"comment": "not a document the check knows"},
    ]
    path = tmp_path / "documents.json"
    path.write_text(json.dumps(documents), encoding="utf-8")
    assert main(["lookups", "check", "--lookups", LOOKUPS, str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == "7 codes checked, 4 without a mapping\n"
    assert [line.split(": ", 2)[1] for line in err.splitlines()] == [
        "$[0]",
        "$[7]",
        "$[2]['Butik & webbetalningar'][0].Kod",
        "$[2].Faktureras.Land",
        "$[3].category_id",
        "$[5].status",
    ]
    assert "unknown code 99 in the reverse of table 'categories'" in err


def test_lookups_check_reports_unreadable_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A document that is not JSON is named with its problem; the others are still checked."""
    broken = write(tmp_path / "broken.json", "{")
    good = str(ROOT / "examples" / "bex-order-statuses.json")
    assert main(["lookups", "check", "--lookups", LOOKUPS, broken, good]) == 1
    out, err = capsys.readouterr()
    assert out == "3 codes checked, 0 without a mapping\n"
    assert err.startswith(f"{broken}: $: invalid JSON at line 1 column 2")


# --- sync: configuration and options --------------------------------------------------------


@pytest.fixture
def no_secret_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BEXVENDRE_VENDRE_API_KEY", "BEXVENDRE_BEX_API_KEY", "BEXVENDRE_BEX_SECRET"):
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
def shop(tmp_path: Path) -> Iterator[tuple[Sandbox, str]]:
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
    shop: tuple[Sandbox, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox, config = shop
    _set(config, 'lock_timeout = "a minute"')
    message = usage_error(["sync", "stock", "--config", config], capsys)
    assert message.splitlines()[-1] == (
        "$.lock_timeout: expected a duration like '30s', '5m' or '1h', got 'a minute'"
    )
    assert sandbox.calls() == []


@pytest.mark.usefixtures("no_secret_variables")
def test_sync_waits_lock_timeout_for_a_running_sync_then_exits_1(
    shop: tuple[Sandbox, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Another process holds the state's lock: after lock_timeout, exit 1 naming the file."""
    sandbox, config = shop
    _set(config, 'lock_timeout = "1s"')
    state = Path(config).parent / "state.sqlite3"
    with SqliteState(state) as running, running.lock():
        assert main(["sync", "stock", "--config", config]) == 1
    err = capsys.readouterr().err
    assert err.endswith(f"bexvendre: another sync run holds {state}.lock (waited 1 s)\n")
    assert sandbox.calls() == []
    assert main(["sync", "stock", "--config", config]) == 0  # released: the next run goes


@pytest.mark.usefixtures("no_secret_variables")
def test_a_bad_interval_is_a_usage_error(
    shop: tuple[Sandbox, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--every takes 30s, 5m, 1h or 1d; anything else is refused before a request."""
    sandbox, config = shop
    message = usage_error(["sync", "stock", "--config", config, "--every", "soon"], capsys)
    assert message == (
        "bexvendre: error: expected a duration like '30s', '5m' or '1h', got 'soon'\n"
    )
    assert sandbox.calls() == []


@pytest.mark.usefixtures("no_secret_variables")
def test_sync_on_a_terminal_shows_a_table(
    shop: tuple[Sandbox, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal, the counts are a rich table; the spinner goes to stderr."""
    sandbox, config = shop
    sandbox.set_bex_stock("GIFTBOX", 4)
    out, err = Terminal(), Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["sync", "stock", "--config", config]) == 0
    table = out.getvalue()
    assert "bexvendre sync" in table
    assert all(word in table for word in ("flow", "done", "quarantined", "stock"))
    assert [s["article_number"] for s in sandbox.vendre_stock()] == ["GIFTBOX"]


@pytest.mark.usefixtures("no_secret_variables")
def test_sync_on_a_terminal_without_rich(
    shop: tuple[Sandbox, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the cli extra: a plain summary line, and the status message as a line."""
    _, config = shop
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
def test_sync_every_runs_again_until_interrupted(shop: tuple[Sandbox, str]) -> None:
    """--every 1s runs the flows, waits, runs them again, and so on until Ctrl-C."""
    sandbox, config = shop
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
    assert process.returncode != 0
    assert b"KeyboardInterrupt" in err
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
