"""Streaming JSON Lines: record by record, bad records reported with their line's path."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bexvendre_mapping import (
    Lookups,
    MappingError,
    bex,
    convert,
    vendre,
)
from bexvendre_mapping import testing as strategies
from bexvendre_mapping.stream import _FUSED, KIND_NAMES, convert_lines

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


# --- the fused stock route against the usual one --------------------------------------------

LOOKUPS_BY_POLICY = {
    policy: Lookups.from_dict({"settings": {"stock_status": policy}})
    for policy in ("hide_when_zero", "always_show")
}
odd_values = st.sampled_from(
    [None, "", " 1", "1_2", "x\x00", "42", "-3", "1.5", 1.5, True, [], {}, -(2**70), "٣"]
)


@st.composite
def stock_lines(draw: st.DrawFn) -> bytes | str:
    """A Bex stock row as a JSON line: valid, or with one key dropped, added or garbled."""
    document: dict[str, object] = bex.dump_stock(draw(strategies.bex_stock()))
    action = draw(st.sampled_from(["keep", "keep", "replace", "drop", "add", "alias", "text"]))
    key = draw(st.sampled_from(["Artikelnr", "Storleksgrupp", "Storlek", "Lagerantal"]))
    if action == "replace":
        document[key] = draw(odd_values)
    elif action == "drop":
        document.pop(key, None)
    elif action == "add":
        document[draw(st.sampled_from(["extra", key + " "]))] = 1
    text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    if action == "text":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["", "x", "}", ",", "\ud800", "NaN"])) + text[at:]
    return text.encode(errors="surrogatepass") if draw(st.booleans()) else text


def _usual(line: bytes | str, lookups: Lookups, strict: bool) -> tuple[str, object]:
    try:
        stock = bex.load_stock(line, strict=strict)
        return ("ok", vendre.dumps_stock_update(convert.stock_to_vendre(stock, lookups)) + b"\n")
    except MappingError as exc:
        return ("error", [(f"$[0]{p.path[1:]}", p.message) for p in exc.problems])


@given(stock_lines(), st.sampled_from(sorted(LOOKUPS_BY_POLICY)), st.booleans())
def test_the_stock_shortcut_agrees_with_the_usual_route(
    line: bytes | str, policy: str, strict: bool
) -> None:
    lookups = LOOKUPS_BY_POLICY[policy]
    errors: list = []
    out = list(
        convert_lines([line], "stock", source="bex", lookups=lookups, strict=strict, errors=errors)
    )
    found = ("ok", out[0]) if out else ("error", [(p.path, p.message) for p in errors])
    usual = _usual(line, lookups, strict)
    assert found == usual
    # The shortcut itself: it takes every valid line, and no broken one.
    shortcut = _FUSED[bex.load_stock](lookups, lookups.settings.time_zone, strict)
    try:
        taken = ("ok", shortcut(line))
    except Exception:  # noqa: BLE001 - only whether it refused is compared
        taken = ("refused", None)
    assert taken == usual if usual[0] == "ok" else taken[0] == "refused"


@pytest.mark.parametrize("as_text", [False, True])
def test_only_json_white_space_makes_a_line_blank(lookups: Lookups, as_text: bool) -> None:
    """Bytes and str lines alike: a form feed, U+001C or a no-break space is not blank."""
    rows = [" \t\r\n", "\x0c\n", "\x1c\n", "\xa0\n", ROWS[0].decode()]
    lines = rows if as_text else [row.encode() for row in rows]
    errors: list[Any] = []
    out = list(convert_lines(lines, "stock", source="bex", lookups=lookups, errors=errors))
    assert len(out) == 1
    assert [problem.path for problem in errors] == ["$[1]", "$[2]", "$[3]"]


# --- Lone surrogates in a feed --------------------------------------------------------------------


LONE = "\ud800"


def test_lone_surrogates_in_a_feed_skip_that_record(lookups: Lookups) -> None:
    """From the input (refused at load) or from code tables built by hand (at dump)."""
    lines = [
        b'{"Ordernr": "100234", "Status": "\\ud800"}\n',
        b'{"Ordernr": "100234", "Status": "SKICKAD"}\n',
    ]
    errors: list[Any] = []
    out = list(convert_lines(lines, "status", source="bex", lookups=lookups, errors=errors))
    assert [json.loads(line) for line in out] == [{"id": 100234, "status": 3}]
    assert [(p.path, p.message) for p in errors] == [
        ("$[0].Status", "text with a lone surrogate (\\ud800)")
    ]
    odd = Lookups.from_dict({"order_statuses": {"SKICKAD" + LONE: 3}})  # Python allows it
    errors = []
    vendre_lines = [b'{"id": 100234, "status": 3}\n']
    assert (
        list(convert_lines(vendre_lines, "status", source="vendre", lookups=odd, errors=errors))
        == []
    )
    assert [(p.path, p.message) for p in errors] == [
        ("$[0].Status", "text with a lone surrogate (\\ud800)")
    ]
