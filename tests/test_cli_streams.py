"""The command line when its streams fail it, and quarantine IDs wherever they are given."""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.support import run, usage_error

from bexvendre_mapping import cli
from bexvendre_mapping.cli import main

ROOT = Path(__file__).resolve().parent.parent
LOOKUPS = str(ROOT / "examples" / "lookups.toml")
ORDER = str(ROOT / "examples" / "vendre-order.json")
COMMAND = f"{shlex.quote(sys.executable)} -m bexvendre_mapping.cli"


def shell(line: str) -> subprocess.CompletedProcess[str]:
    """Run the command line through the shell, for redirections Python cannot set up."""
    return subprocess.run(  # noqa: S603 - our own command with fixed arguments
        ["/bin/sh", "-c", line], capture_output=True, text=True, check=False, cwd=ROOT
    )


needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")


@needs_dev_full
@pytest.mark.parametrize(
    "arguments",
    [f"convert order --from vendre --lookups {LOOKUPS} {ORDER}", "mapping"],
)
def test_a_full_disk_is_reported_not_a_traceback(arguments: str) -> None:
    result = shell(f"{COMMAND} {arguments} > /dev/full")
    assert result.returncode == 1
    assert result.stderr == "bexvendre: error: cannot write the output: No space left on device\n"


def test_a_closed_standard_output_is_a_usage_error() -> None:
    result = shell(f"{COMMAND} convert order --from vendre --lookups {LOOKUPS} {ORDER} >&-")
    assert result.returncode == 2
    assert result.stderr == "bexvendre: error: standard output is closed\n"


@pytest.mark.parametrize(
    "arguments",
    [
        f"convert order --from vendre --lookups {LOOKUPS} -",
        f"convert stock --from bex --jsonl --lookups {LOOKUPS} -",
        "validate order --from vendre -",
    ],
)
def test_a_closed_standard_input_is_a_usage_error(arguments: str) -> None:
    result = shell(f"{COMMAND} {arguments} <&-")
    assert result.returncode == 2
    assert result.stderr.endswith("bexvendre: error: standard input is closed\n")
    assert "Traceback" not in result.stderr


def test_quarantine_ids_may_follow_the_options() -> None:
    parser = cli._parser()
    for argv in (
        ["quarantine", "retry", "--config", "b.toml", "5", "-7"],
        ["quarantine", "retry", "5", "-7", "--config", "b.toml"],
        ["quarantine", "retry", "5", "--config", "b.toml", "-7"],
    ):
        assert cli._parse(parser, argv).ids == ["5", "-7"]


def test_quarantine_ids_are_optional_and_go_with_retry_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = cli._parser()
    assert cli._parse(parser, ["quarantine", "retry", "--config", "b.toml"]).ids == []
    with pytest.raises(SystemExit) as exited:
        cli._parse(parser, ["quarantine", "list", "--config", "b.toml", "5"])
    assert exited.value.code == 2
    assert "quarantine list takes no ID" in capsys.readouterr().err
    # An ID is FLOW:ENTITY or an order id; a malformed one is refused when the command runs.
    assert cli._parse(parser, ["quarantine", "retry", "--config", "b.toml", "five"]).ids == ["five"]
    from bexvendre_mapping.sync import _cli  # noqa: PLC0415 - the http extra

    assert _cli.quarantine_id("-7") == ("orders", "-7")
    assert _cli.quarantine_id("stock:1001__42") == ("stock", "1001__42")
    assert _cli.quarantine_id("products:sha256:ab12") == ("products", "sha256:ab12")
    for bad in ("five", "carts:1", "stock:"):
        with pytest.raises(_cli.UsageError, match="bad quarantine id"):
            _cli.quarantine_id(bad)
    with pytest.raises(SystemExit):
        cli._parse(parser, ["quarantine"])
    assert capsys.readouterr().err.endswith(
        "the following arguments are required: ACTION, --config\n"
    )


def test_a_file_a_command_cannot_use_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(args: object) -> int:
        raise IsADirectoryError(21, "Is a directory", "/srv/audit")

    monkeypatch.setattr(cli, "_run", run)
    assert cli.main(["mapping"]) == 1
    assert capsys.readouterr().err == "bexvendre: error: cannot use '/srv/audit': Is a directory\n"


# --- JSON Lines: standard input, terminals, readers that go away ----------------------------------


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


def test_closed_standard_output_and_error_exit_2_quietly() -> None:
    """Nowhere to write to at all: exit 2, and no attempt to write the reason."""
    result = shell(f"{COMMAND} convert order --from vendre --lookups {LOOKUPS} {ORDER} >&- 2>&-")
    assert result.returncode == 2
    assert result.stdout == result.stderr == ""
