"""Streaming JSON Lines: record by record, bad records reported with their line's path."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bexvendre_mapping import Lookups, MappingError
from bexvendre_mapping.stream import KIND_NAMES, convert_lines

ROOT = Path(__file__).resolve().parent.parent
LOOKUPS = str(ROOT / "examples" / "lookups.toml")

ROWS = [
    b'{"Artikelnr": "1001", "Storleksgrupp": "SKO", "Storlek": "42", "Lagerantal": 7}\n',
    b"\n",
    b'{"Artikelnr": "GIFTBOX", "Lagerantal": -4}\n',
]


def test_converts_line_by_line(lookups: Lookups) -> None:
    """Each input line gives one output line; blank lines are skipped."""
    out = list(convert_lines(ROWS, "stock", source="bex", lookups=lookups))
    assert [json.loads(line) for line in out] == [
        {"article_number": "1001_SKO_42", "quantity": 7, "status": 1},
        {"article_number": "GIFTBOX", "quantity": 0, "status": 0},
    ]
    assert all(line.endswith(b"\n") for line in out)


def test_is_lazy(lookups: Lookups) -> None:
    """Records are read only as output is asked for: an endless feed can be streamed."""

    def endless() -> Iterator[bytes]:
        while True:
            yield ROWS[0]

    stream = convert_lines(endless(), "stock", source="bex", lookups=lookups)
    assert [json.loads(next(stream))["quantity"] for _ in range(3)] == [7, 7, 7]


def test_bad_record_raises_with_its_line_path(lookups: Lookups) -> None:
    """Without an errors list, the first bad record raises; its path starts at $[line index]."""
    rows = [ROWS[0], b'{"Artikelnr": "A", "Lagerantal": "x"}']
    with pytest.raises(MappingError) as info:
        list(convert_lines(rows, "stock", source="bex", lookups=lookups))
    assert info.value.paths == ("$[1].Lagerantal",)


def test_bad_records_are_collected_and_skipped(lookups: Lookups) -> None:
    """With an errors list, bad records are reported there and the feed goes on."""
    rows = [b"not json", ROWS[0], b'{"Artikelnr": "A__B", "Lagerantal": 1}', ROWS[2]]
    errors: list = []
    out = list(convert_lines(rows, "stock", source="bex", lookups=lookups, errors=errors))
    assert len(out) == 2
    assert [p.path for p in errors] == ["$[0]", "$[2].Artikelnr"]


def test_every_kind_streams(lookups: Lookups) -> None:
    """Every kind of the command line streams from both sides."""
    assert set(KIND_NAMES) == {
        "article",
        "bonus",
        "gift-card",
        "order",
        "product",
        "status",
        "stock",
    }
    order = (ROOT / "examples" / "vendre-order.json").read_bytes().replace(b"\n", b"")
    (line,) = convert_lines([order], "order", source="vendre", lookups=lookups)
    assert json.loads(line)["Ordernr"] == "100234"


def test_cli_jsonl(tmp_path: Path) -> None:
    """`convert --jsonl` streams a feed, reports bad lines on stderr and exits 1 if any."""
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"".join(ROWS) + b'{"Artikelnr": "A", "Lagerantal": "x"}\n')
    result = subprocess.run(  # noqa: S603 - our own command
        [
            sys.executable,
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
        ],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 2
    assert result.stderr.decode().startswith("$[3].Lagerantal: expected an integer")
