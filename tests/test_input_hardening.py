"""Hostile input gets the library's documented errors, never a crash from below.

Numbers whose exponent Decimal cannot hold, mappings with keys that are not strings, lone
surrogates in texts, time-zone names that are file paths or empty, malformed documents for
``lookups check`` and an absurd ``--indent``: each is a ``MappingError`` (or a usage error on
the command line) with its JSON path, the same under both JSON engines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import pytest

from bexvendre_mapping import (
    Lookups,
    LookupsError,
    MappingError,
    ModelCode,
    ModelCodeError,
    _dates,
    _wire,
    bex,
    convert,
    json_engine,
    vendre,
)
from bexvendre_mapping._dates import time_zone, zone_name
from bexvendre_mapping._fastpath import fast_loader
from bexvendre_mapping._wire import Codec, _Setting, child_path, parse_document, structure_hook
from bexvendre_mapping.cli import MAX_INDENT, main
from bexvendre_mapping.stream import convert_lines

ROOT = Path(__file__).resolve().parent.parent
LOOKUPS = str(ROOT / "examples" / "lookups.toml")
ORDER = ROOT / "examples" / "vendre-order.json"
ENGINES = ["json", "msgspec"]
HUGE = ["1e999999999999999999999", "-1E+999999999999999999999", "1e-999999999999999999999"]
LONE = "\ud800"


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Parse and dump with each JSON engine in turn (msgspec only when installed)."""
    name: str = request.param
    if name == "msgspec":
        pytest.importorskip("msgspec")
    saved = _wire._engine_in_use
    _wire._choose_engine(name)
    assert _wire.json_engine() == name
    try:
        yield name
    finally:
        _wire._engine_in_use = saved


def problems(error: MappingError) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in error.problems]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The command line in-process: exit status, standard output and standard error."""
    try:
        status = main(list(argv))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


# --- 1. numbers whose exponent Decimal cannot hold ------------------------------------------


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("number", HUGE)
@pytest.mark.parametrize("form", ["bytes", "str", "bytearray"])
def test_a_huge_exponent_is_invalid_json_at_the_root(number: str, form: str) -> None:
    """Every loader: a MappingError at $ quoting the number, not decimal.InvalidOperation."""
    text = f'{{"id": 1, "status": {number}}}'
    data: Any = {"bytes": text.encode(), "str": text, "bytearray": bytearray(text.encode())}[form]
    expected = [("$", f"invalid JSON: the number {number!r} is out of range")]
    for load in (vendre.load_order_status_update, bex.load_stock, vendre.load_order):
        with pytest.raises(MappingError) as caught:
            load(data)
        assert problems(caught.value) == expected
    with pytest.raises(MappingError) as caught:
        parse_document(data)
    assert problems(caught.value) == expected


def test_both_engines_say_the_same_of_a_huge_exponent() -> None:
    pytest.importorskip("msgspec")
    saved = _wire._engine_in_use
    messages = []
    try:
        for name in ENGINES:
            _wire._choose_engine(name)
            with pytest.raises(MappingError) as caught:
                parse_document(b'[1.5, {"a": [2e-999999999999999999999]}]')
            messages.append(str(caught.value))
    finally:
        _wire._engine_in_use = saved
    assert messages[0] == messages[1]
    assert "'2e-999999999999999999999' is out of range" in messages[0]


@pytest.mark.usefixtures("engine")
def test_exponents_decimal_holds_still_load_as_numbers() -> None:
    """Up to Decimal's limits a number is read, and the field's own check refuses it."""
    found = parse_document(b"[1e999999999999999999, 1.50]")
    assert found == [Decimal("1E+999999999999999999"), Decimal("1.50")]
    with pytest.raises(MappingError) as caught:
        vendre.load_order_status_update(b'{"id": 1, "status": 1e999999999999999999}')
    assert caught.value.paths == ("$.status",)


@pytest.mark.usefixtures("engine")
def test_a_huge_exponent_in_a_feed_skips_that_record(lookups: Lookups) -> None:
    lines = [
        b'{"Artikelnr": "1", "Lagerantal": 1e999999999999999999999}\n',
        b'{"Artikelnr": "2", "Lagerantal": 3}\n',
    ]
    errors: list[Any] = []
    out = list(convert_lines(lines, "stock", source="bex", lookups=lookups, errors=errors))
    assert [json.loads(line)["article_number"] for line in out] == ["2"]
    assert [(p.path, p.message) for p in errors] == [
        ("$[0]", "invalid JSON: the number '1e999999999999999999999' is out of range")
    ]
    with pytest.raises(MappingError) as caught:
        list(convert_lines(lines[::-1], "stock", source="bex", lookups=lookups))
    assert caught.value.paths == ("$[1]",)


@pytest.mark.usefixtures("engine")
def test_the_command_line_reports_a_huge_exponent(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """validate, convert (--jsonl too) and lookups check: exit 1, the problem on stderr."""
    document = tmp_path / "x.json"
    document.write_text('{"id": 1, "status": 1e999999999999999999999}\n')
    message = "invalid JSON: the number '1e999999999999999999999' is out of range"
    name = str(document)
    for argv in (
        ["validate", "status", "--from", "vendre", name],
        ["convert", "status", "--from", "vendre", "--lookups", LOOKUPS, name],
    ):
        assert run(capsys, *argv) == (1, "", f"$: {message}\n")
    jsonl = ["convert", "status", "--from", "vendre", "--lookups", LOOKUPS, "--jsonl", name]
    assert run(capsys, *jsonl) == (1, "", f"$[0]: {message}\n")
    status, out, err = run(capsys, "lookups", "check", "--lookups", LOOKUPS, name)
    assert (status, err) == (1, f"{name}: $: {message}\n")
    assert out == "0 codes checked, 0 without a mapping\n"


# --- 2. keys that are not strings -----------------------------------------------------------

STOCK = {"article_number": "A", "quantity": 1, "status": 1}


def test_strict_names_keys_that_are_not_strings() -> None:
    """Unknown keys: the strings sorted first, then the others, each quoted as it is."""
    with pytest.raises(MappingError) as caught:
        vendre.load_stock_update({**STOCK, 1: 0, "x": 0, None: 0, (2, 3): 0}, strict=True)
    assert problems(caught.value) == [
        ("$.x", "unknown field 'x'"),
        ("$['(2, 3)']", "unknown field (2, 3): keys must be strings"),
        ("$['1']", "unknown field 1: keys must be strings"),
        ("$.None", "unknown field None: keys must be strings"),
    ]


def test_a_key_that_is_not_a_string_in_a_nested_mapping() -> None:
    order = json.loads(ORDER.read_bytes())
    order["billing_address"] = {**order["billing_address"], 7: "x"}
    with pytest.raises(MappingError) as caught:
        vendre.load_order(order, strict=True)
    assert problems(caught.value) == [
        ("$.billing_address['7']", "unknown field 7: keys must be strings")
    ]
    assert vendre.load_order(order).billing_address.name == "Astrid Öberg"


def both_routes(cls: type, document: Any, strict: bool) -> tuple[Any, Any]:
    """What the fast and the detailed route make of ``document``: a model, or "failed"."""
    results: list[Any] = []
    for route in (
        fast_loader(cls, "Europe/Stockholm", strict),
        structure_hook(cls, _Setting("Europe/Stockholm", strict, True)),
    ):
        try:
            results.append(route(document))
        except Exception:  # noqa: BLE001 - only whether it failed is compared
            results.append("failed")
    return results[0], results[1]


@pytest.mark.parametrize("key", [1, None, 2.5, (1,), b"x", True])
@pytest.mark.parametrize("strict", [False, True])
def test_both_routes_agree_on_keys_that_are_not_strings(key: Any, strict: bool) -> None:
    document = {**STOCK, key: 0}
    fast, detailed = both_routes(vendre.StockUpdate, document, strict)
    assert fast == detailed
    assert (fast == "failed") == strict
    if not strict:
        assert vendre.load_stock_update(document) == vendre.load_stock_update(STOCK)


# --- 3. lone surrogates ---------------------------------------------------------------------


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("escape", ["\\ud800", "\\uDFFF", "x\\udc00y", "\\ude00\\ud83d"])
@pytest.mark.parametrize("form", ["bytes", "str"])
def test_a_lone_surrogate_in_json_is_refused_at_load(escape: str, form: str) -> None:
    text = f'{{"Ordernr": "1", "Status": "{escape}"}}'
    with pytest.raises(MappingError) as caught:
        bex.load_order_status(text.encode() if form == "bytes" else text)
    [(path, message)] = problems(caught.value)
    assert path == "$.Status"
    assert message.startswith("text with a lone surrogate (\\ud")
    assert message.endswith(")")


@pytest.mark.usefixtures("engine")
def test_the_message_names_the_surrogate() -> None:
    with pytest.raises(MappingError) as caught:
        bex.load_order_status(b'{"Ordernr": "1", "Status": "\\ud800"}')
    assert str(caught.value) == "$.Status: text with a lone surrogate (\\ud800)"


@pytest.mark.usefixtures("engine")
def test_a_surrogate_pair_is_a_character_and_loads() -> None:
    loaded = bex.load_order_status(b'{"Ordernr": "1", "Status": "\\ud83d\\ude00 \\u00c5\\n"}')
    assert loaded.status == "\U0001f600 Å\n"
    assert bex.load_order_status(bex.dumps_order_status(loaded)) == loaded


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize(
    "text", [LONE, "Å" + LONE, "a\udfffb", "\ud83d\ude00", "Åsa\n", "\x85x", "Öberg", "plain"]
)
def test_both_routes_agree_on_texts(text: str, strict: bool) -> None:
    """In a mapping given as such: the fast route refuses exactly what the detailed one does."""
    document = {"Ordernr": "1", "Status": text}
    fast, detailed = both_routes(bex.OrderStatus, document, strict)
    assert fast == detailed
    has_surrogate = any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    assert (fast == "failed") == has_surrogate


def test_a_lone_surrogate_in_a_mapping_at_any_depth() -> None:
    order = json.loads(ORDER.read_bytes())
    order["billing_address"]["name"] = "Astrid" + LONE
    order["products"][1]["name"] = LONE
    with pytest.raises(MappingError) as caught:
        vendre.load_order(order)
    assert problems(caught.value) == [
        ("$.billing_address.name", "text with a lone surrogate (\\ud800)"),
        ("$.products[1].name", "text with a lone surrogate (\\ud800)"),
    ]


def test_a_lone_surrogate_in_a_text_object_key_or_value(lookups: Lookups) -> None:
    product = json.loads(vendre.dumps_product(_a_product()))
    with pytest.raises(MappingError) as caught:
        vendre.load_product({**product, "name": {"sv": "Sko", "e" + LONE: "Shoe"}})
    assert problems(caught.value) == [
        ("$.name['e\\ud800']", "a key with a lone surrogate (\\ud800)")
    ]
    with pytest.raises(MappingError) as caught:
        vendre.load_product({**product, "name": {"sv": LONE}})
    assert problems(caught.value) == [("$.name.sv", "text with a lone surrogate (\\ud800)")]


def test_a_model_code_keeps_its_own_message() -> None:
    with pytest.raises(MappingError) as caught:
        vendre.load_stock_update({**STOCK, "article_number": "A" + LONE})
    assert problems(caught.value) == [
        (
            "$.article_number",
            "invalid model code 'A\\ud800': the article number 'A\\ud800' contains a control "
            "character",
        )
    ]
    with pytest.raises(ModelCodeError):
        ModelCode.parse("A" + LONE)


def test_strict_quotes_an_unknown_key_with_a_surrogate() -> None:
    with pytest.raises(MappingError) as caught:
        vendre.load_stock_update({**STOCK, "k" + LONE: 1}, strict=True)
    assert problems(caught.value) == [("$['k\\ud800']", "unknown field 'k\\ud800'")]
    assert str(caught.value).encode()  # printable and writable as UTF-8


def test_child_path_escapes_a_lone_surrogate() -> None:
    assert child_path("$", "a" + LONE) == "$['a\\ud800']"
    assert child_path("$", "Belopp inkl.moms") == "$['Belopp inkl.moms']"
    assert child_path("$", "Å ä") == "$['Å ä']"


@pytest.mark.usefixtures("engine")
def test_a_model_built_by_hand_with_a_surrogate_does_not_dump_to_json() -> None:
    """dumps_* raise a MappingError naming every such text; dump_* still give the mapping."""
    status = bex.OrderStatus(order_number="1" + LONE, status="x\udfff")
    assert bex.dump_order_status(status) == {"Ordernr": "1" + LONE, "Status": "x\udfff"}
    with pytest.raises(MappingError) as caught:
        bex.dumps_order_status(status)
    assert problems(caught.value) == [
        ("$.Ordernr", "text with a lone surrogate (\\ud800)"),
        ("$.Status", "text with a lone surrogate (\\udfff)"),
    ]


@pytest.mark.usefixtures("engine")
def test_surrogates_in_nested_models_lists_and_keys_are_found() -> None:
    order = vendre.load_order(ORDER.read_bytes())
    address = attrs.evolve(order.billing_address, name=LONE)
    row = attrs.evolve(order.products[1], name="Sko" + LONE)
    broken = attrs.evolve(
        order, billing_address=address, products=(order.products[0], row, *order.products[2:])
    )
    with pytest.raises(MappingError) as caught:
        vendre.dumps_order(broken)
    assert problems(caught.value) == [
        ("$.billing_address.name", "text with a lone surrogate (\\ud800)"),
        ("$.products[1].name", "text with a lone surrogate (\\ud800)"),
    ]
    product = attrs.evolve(_a_product(), name={"sv": "Sko", LONE: "x", 3: "\udc00"})
    with pytest.raises(MappingError) as caught:
        vendre.dumps_product(product)
    assert problems(caught.value) == [
        ("$.name['\\ud800']", "a key with a lone surrogate (\\ud800)"),
        ("$.name['3']", "text with a lone surrogate (\\udc00)"),
    ]


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


def test_the_command_line_reports_a_lone_surrogate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    document = tmp_path / "s.json"
    document.write_text('{"Ordernr": "100234", "Status": "\\ud800"}')
    message = "Status: text with a lone surrogate (\\ud800)\n"
    for argv in (
        ["validate", "status", "--from", "bex", str(document)],
        ["convert", "status", "--from", "bex", "--lookups", LOOKUPS, str(document)],
    ):
        assert run(capsys, *argv) == (1, "", f"$.{message}")
    jsonl = ["convert", "status", "--from", "bex", "--lookups", LOOKUPS, "--jsonl", str(document)]
    assert run(capsys, *jsonl) == (1, "", f"$[0].{message}")


@pytest.mark.usefixtures("engine")
def test_a_clean_document_takes_the_loader_without_the_text_test() -> None:
    """From bytes without a \\u escape (or from msgspec), texts need no test: same models."""
    codec = Codec(bex.OrderStatus)
    raw = b'{"Ordernr": "1", "Status": "\\u00c5sa"}'
    plain = b'{"Ordernr": "1", "Status": "\xc3\x85sa"}'
    assert codec.load(raw) == codec.load(plain) == codec.load(raw.decode())
    assert codec.load(json.loads(raw)) == codec.load(plain)
    if json_engine() == "msgspec":  # JSON text goes through msgspec's typed decoder
        assert codec._typed["Europe/Stockholm", False] is not None
        assert ("Europe/Stockholm", False, True) not in codec._fast
    else:
        assert ("Europe/Stockholm", False, True) in codec._fast
    assert ("Europe/Stockholm", False, False) in codec._fast


def _a_product() -> vendre.Product:
    article = json.loads((ROOT / "examples" / "bex-article.json").read_bytes())
    from bexvendre_mapping import convert  # noqa: PLC0415

    return convert.article_to_vendre(bex.load_article(article), _lookups())


def _lookups() -> Lookups:
    return Lookups.from_toml(LOOKUPS)


# --- 4. time zones --------------------------------------------------------------------------

NOT_ZONES = [
    "",
    "/etc/passwd",
    "/etc/localtime",
    ":/etc/localtime",
    "../../etc/passwd",
    "x" * 300,
    "Europe",
    "zone.tab",
    "a\x00b",
    "Nowhere/Land",
]


@pytest.mark.parametrize("name", NOT_ZONES, ids=range(len(NOT_ZONES)))
def test_a_name_that_is_no_zone_is_a_lookups_problem(name: str) -> None:
    with pytest.raises(LookupsError) as caught:
        Lookups.from_dict({"settings": {"time_zone": name}})
    [(path, message)] = problems(caught.value)
    assert path == "$.settings.time_zone"
    assert message.startswith("unknown time zone ")


@pytest.mark.parametrize("name", NOT_ZONES, ids=range(len(NOT_ZONES)))
def test_a_name_that_is_no_zone_is_a_mapping_error_for_loaders_and_dumpers(name: str) -> None:
    payment = {
        "external_id": "a",
        "transaction_id": "b",
        "date_added": "2026-10-25 02:30:00",
        "payment_method": "X",
    }
    with pytest.raises(MappingError, match="unknown time zone"):
        vendre.load_payment(payment, time_zone=name)
    with pytest.raises(MappingError, match="unknown time zone"):
        vendre.dumps_payment(vendre.load_payment(payment), time_zone=name)


def test_a_time_zone_must_be_a_string() -> None:
    with pytest.raises(MappingError, match="expected a time zone name, got None"):
        time_zone(None)  # type: ignore[arg-type]


def test_an_empty_time_zone_in_the_lookups_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    tables = tmp_path / "lookups.toml"
    tables.write_text('[settings]\ntime_zone = ""\n')
    status, out, err = run(
        capsys, "convert", "order", "--from", "vendre", "--lookups", str(tables), str(ORDER)
    )
    assert (status, out) == (2, "")
    assert err == (
        "bexvendre: error: bad lookups file:\n$.settings.time_zone: unknown time zone ''\n"
    )


def test_a_posix_rule_also_dumps_nested_models() -> None:
    """The zone's own name, not its repr, is what nested dumpers are built for."""
    rule = "CET-1CEST,M3.5.0,M10.5.0/3"
    order = vendre.load_order(ORDER.read_bytes(), time_zone=rule)
    assert zone_name(order.date_added.tzinfo) == rule  # type: ignore[arg-type]
    again = vendre.load_order(vendre.dumps_order(order, time_zone=rule), time_zone=rule)
    assert again == order
    assert zone_name(time_zone("Europe/Stockholm")) == "Europe/Stockholm"


def test_zone_name_of_a_zone_from_elsewhere() -> None:
    assert zone_name(ZoneInfo("Asia/Tokyo")) == "Asia/Tokyo"
    assert zone_name(UTC) == "UTC"


class _NoDatabase:
    """ZoneInfo on a system without a zone database: no key is found."""

    def __init__(self, key: str) -> None:
        raise ZoneInfoNotFoundError(key)


def test_without_a_zone_database_dateutil_still_gives_iana_zones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fallback's reason: IANA names work, paths and the local zone still do not."""
    monkeypatch.setattr(_dates, "ZoneInfo", _NoDatabase)
    find = time_zone.__wrapped__  # not cached: the real cache keeps ZoneInfo's zones
    zone = find("America/Sao_Paulo")
    assert not isinstance(zone, ZoneInfo)
    assert zone.utcoffset(datetime(2026, 1, 1, 12)) == timedelta(hours=-3)
    assert zone_name(zone) == "America/Sao_Paulo"
    for name in (":/etc/localtime", ":Europe/Stockholm", "Nowhere/Land"):
        with pytest.raises(MappingError, match="unknown time zone"):
            find(name)


def test_dateutil_failing_or_giving_the_local_zone_is_no_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dateutil import tz  # noqa: PLC0415

    monkeypatch.setattr(_dates, "ZoneInfo", _NoDatabase)

    def broken(name: str) -> Any:
        raise OSError(name)

    monkeypatch.setattr(tz, "gettz", broken)
    with pytest.raises(MappingError, match="unknown time zone 'Europe/Stockholm'"):
        time_zone.__wrapped__("Europe/Stockholm")
    monkeypatch.setattr(tz, "gettz", lambda name: tz.tzlocal())
    with pytest.raises(MappingError, match="unknown time zone 'CEST'"):
        time_zone.__wrapped__("CEST")


# --- 5. lookups check on malformed documents ------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"products": [], "totals": 5}, "$.totals: expected a list, got 5"),
        ({"products": [], "totals": {}}, "$.totals: expected a list, got {}"),
        (
            {"products": [], "totals": [{"class": ["x"]}]},
            "$.totals[0].class: expected a string, got ['x']",
        ),
        (
            {"Artiklar": [], "Butik & webbetalningar": 7},
            "$['Butik & webbetalningar']: expected a list, got 7",
        ),
        (
            [{"Artiklar": [], "Butik & webbetalningar": "KORT"}],
            "$[0]['Butik & webbetalningar']: expected a list, got 'KORT'",
        ),
    ],
)
def test_lookups_check_reports_malformed_documents(
    document: Any, expected: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document))
    status, out, err = run(capsys, "lookups", "check", "--lookups", LOOKUPS, str(path))
    assert (status, out, err) == (
        1,
        "0 codes checked, 0 without a mapping\n",
        f"{path}: {expected}\n",
    )


def test_lookups_check_still_checks_the_rest_of_a_malformed_document(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "doc.json"
    document = {
        "products": [],
        "payment": {"payment_method": "KLARN"},
        "totals": [{"class": 5}, {"class": "ot_total"}, "x", {"class": "ot_handling"}],
    }
    path.write_text(json.dumps(document))
    status, out, err = run(capsys, "lookups", "check", "--lookups", LOOKUPS, str(path))
    assert status == 1
    assert out == "2 codes checked, 1 without a mapping\n"
    assert err.splitlines() == [
        f"{path}: $.totals[0].class: expected a string, got 5",
        f"{path}: $.payment.payment_method: unknown code 'KLARN' in table 'payment_methods'; "
        "closest known: 'KLARNA'",
    ]


# --- 6. --indent ----------------------------------------------------------------------------


@pytest.mark.parametrize("indent", ["99999999999999999999", "-1", str(MAX_INDENT + 1), "x", "1e3"])
def test_an_indent_out_of_range_is_a_usage_error(
    indent: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["convert", "order", "--from", "vendre", "--lookups", LOOKUPS, "--indent", indent]
    status, out, err = run(capsys, *argv, str(ORDER))
    assert (status, out) == (2, "")
    assert "argument --indent:" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("indent", [0, MAX_INDENT])
def test_an_indent_in_range_pretty_prints(indent: int, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["convert", "order", "--from", "vendre", "--lookups", LOOKUPS, "--indent", str(indent)]
    status, out, err = run(capsys, *argv, str(ORDER))
    assert (status, err) == (0, "")
    assert out == json.dumps(json.loads(out), ensure_ascii=False, indent=indent) + "\n"


# --- every problem at once -------------------------------------------------------------------


def test_a_model_codes_check_runs_beside_a_bad_field() -> None:
    """The parts of a model code that loaded are checked even when another field failed."""
    with pytest.raises(MappingError) as info:
        bex.load_stock({"Artikelnr": " A", "Storleksgrupp": "X", "Lagerantal": "x"})
    assert [(p.path, p.message) for p in info.value.problems] == [
        ("$.Lagerantal", "expected an integer, got 'x'"),
        ("$.Artikelnr", "the article number ' A' has leading or trailing whitespace"),
        ("$.Storlek", "a size group without a size"),
    ]


def test_a_check_is_left_out_when_a_field_it_reads_did_not_load() -> None:
    with pytest.raises(MappingError) as info:
        bex.load_stock({"Artikelnr": 5, "Storleksgrupp": "X", "Lagerantal": "x"})
    assert info.value.paths == ("$.Artikelnr", "$.Lagerantal")


def test_an_articles_sizes_are_checked_beside_a_bad_price() -> None:
    article = json.loads((ROOT / "examples" / "bex-article.json").read_bytes())
    article["Pris"] = "gratis"
    article["Storlekar"][0]["Storlek"] = "4_2"
    with pytest.raises(MappingError) as info:
        bex.load_article(article)
    assert info.value.paths == ("$.Pris", "$.Storlekar[0].Storlek")


def test_a_key_given_twice_does_not_hide_the_other_problems() -> None:
    row = {
        "Artikelnr": "GIFTBOX",
        "Antal": 0,
        "Beskrivning": "Presentförpackning",
        "Pris": "49.00",
        "Moms": "25.00",
        "Belopp inkl.moms": "0.00",
        "Belopp inkl. moms": "0.00",
    }
    with pytest.raises(MappingError) as info:
        bex.load_row(row)
    first, *others = info.value.problems
    assert (first.path, first.message) == (
        "$['Belopp inkl. moms']",
        "given twice, as 'Belopp inkl.moms' and as 'Belopp inkl. moms'",
    )
    assert [p.path for p in others] == ["$.Antal"]


def test_a_hand_built_model_with_a_value_its_check_refuses_is_a_mapping_error() -> None:
    """A status outside the table made gift_card_to_bex raise KeyError."""
    card = vendre.GiftCard(
        code="PK-1", balance=Decimal("1.0000"), currency="SEK", usable=True, status="text"
    )
    with pytest.raises(MappingError) as info:
        convert.gift_card_to_bex(card)
    assert info.value.paths == ("$.status",)
    assert isinstance(info.value.__cause__, KeyError)
