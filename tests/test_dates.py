"""Dates and times on the wire: shop-local wall clock, DST kept as written (SPEC §3)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.http_support import gift_card_doc
from tests.support import problems_of, run_main

from bexvendre_mapping import (
    Lookups,
    LookupsError,
    MappingError,
    Settings,
    _dates,
    bex,
    vendre,
)
from bexvendre_mapping._dates import format_datetime, time_zone, zone_name
from bexvendre_mapping.stream import convert_lines

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def payment_doc(when: str) -> dict[str, object]:
    return {
        "Externt dokumentnr": "X",
        "Transnr": "T",
        "Datum": when,
        "Kod": "KORT",
        "Belopp": "1.00",
    }


def load_payment_date(when: str, **kwargs: str) -> datetime:
    card = vendre.load_payment(
        {"external_id": "e", "transaction_id": "t", "date_added": when, "payment_method": "KORT"},
        **kwargs,  # type: ignore[arg-type]
    )
    return card.date_added


@pytest.mark.parametrize(
    "wall_clock",
    [
        "2026-03-29 02:30:00",  # in the spring-forward gap
        "2026-10-25 02:30:00",  # in the autumn overlap
        "2026-06-01 12:00:00",
        "2026-12-31 23:59:59",
    ],
)
def test_wall_clock_times_dump_back_unchanged(wall_clock: str) -> None:
    """Gap and overlap times are kept as written and never shift by an hour."""
    loaded = load_payment_date(wall_clock)
    assert loaded.tzinfo is STOCKHOLM
    assert loaded.fold == 0
    dumped = vendre.dump_payment(
        vendre.Payment(
            external_id="e", transaction_id="t", date_added=loaded, payment_method="KORT"
        )
    )
    assert dumped["date_added"] == wall_clock


def test_iso_with_offset_is_converted_to_the_shop_zone() -> None:
    """ISO 8601 with an offset becomes the same instant in the shop's time zone."""
    loaded = load_payment_date("2026-07-01T10:00:00+00:00")
    assert loaded == datetime(2026, 7, 1, 10, tzinfo=UTC)
    assert loaded.tzinfo is STOCKHOLM
    assert (loaded.hour, loaded.minute) == (12, 0)


def test_the_time_zone_is_a_setting() -> None:
    """Loaders take the shop's zone; offsets convert to it."""
    loaded = load_payment_date("2026-01-01T12:00:00Z", time_zone="Europe/Helsinki")
    assert loaded.hour == 14


def test_iso_overlap_instant_keeps_its_fold() -> None:
    """The second 02:30 of the autumn night, given in UTC, is fold=1 in Stockholm."""
    loaded = load_payment_date("2026-10-25T01:30:00+00:00")
    assert (loaded.hour, loaded.minute, loaded.fold) == (2, 30, 1)


def test_aware_datetimes_in_other_zones_dump_as_shop_wall_clock() -> None:
    """A model datetime in UTC dumps as the shop's wall clock."""
    payment = vendre.Payment(
        external_id="e",
        transaction_id="t",
        date_added=datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
        payment_method="KORT",
    )
    assert vendre.dump_payment(payment)["date_added"] == "2026-01-15 10:00:00"


@pytest.mark.parametrize(
    "bad", ["2026-02-30 10:00:00", "2026-01-01", "yesterday", "2026-01-01 25:00:00", 20260101]
)
def test_bad_date_times_are_errors_with_their_path(bad: object) -> None:
    """Impossible or malformed date-times are reported at their path."""
    with pytest.raises(MappingError) as info:
        bex.load_payment(payment_doc(bad))
    assert info.value.paths == ("$.Datum",)


def test_gift_card_dates() -> None:
    """Dates are YYYY-MM-DD both ways; null is no expiry."""
    doc = {
        "Nummer": "1",
        "Saldo": "5.00",
        "Valuta": "SEK",
        "Giltig till": "2027-02-28",
        "Status": "Aktiv",
    }
    card = bex.load_gift_card(doc)
    assert bex.dump_gift_card(card)["Giltig till"] == "2027-02-28"
    with pytest.raises(MappingError) as info:
        bex.load_gift_card(doc | {"Giltig till": "2027-02-29"})
    assert info.value.paths == ("$['Giltig till']",)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
def test_wall_clock_text_is_each_field_zero_padded(value: datetime) -> None:
    """Years below 1000 keep four digits; microseconds appear only when there are any."""
    expected = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond:
        expected += f".{value.microsecond:06d}"
    assert format_datetime(value, STOCKHOLM) == expected
    assert format_datetime(value.replace(tzinfo=STOCKHOLM), STOCKHOLM) == expected


def test_a_datetime_written_again_in_another_zone_is_written_anew() -> None:
    """The memo of the last datetime written holds the datetime and the zone together."""
    value = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    new_york = ZoneInfo("America/New_York")
    assert format_datetime(value, STOCKHOLM) == "2026-10-25 02:30:00"
    assert format_datetime(value, STOCKHOLM) == "2026-10-25 02:30:00"
    assert format_datetime(value, new_york) == "2026-10-24 20:30:00"
    assert format_datetime(value, STOCKHOLM) == "2026-10-25 02:30:00"


def test_equal_datetimes_are_each_written_from_their_own_fields() -> None:
    """Equal on the wall clock (one zone, the other fold) but another instant: its own text."""
    first = datetime(2026, 10, 25, 2, 30, tzinfo=STOCKHOLM)
    second = first.replace(fold=1)
    assert first == second
    assert format_datetime(first, UTC) == "2026-10-25 00:30:00"
    assert format_datetime(second, UTC) == "2026-10-25 01:30:00"


def test_a_datetime_subclass_is_written_from_its_fields_every_time() -> None:
    """Only exact datetimes are remembered: a subclass may compute its fields."""

    class Counted(datetime):
        calls = 0

        def time(self) -> time:
            Counted.calls += 1
            return super().time()

    value = Counted(2026, 10, 25, 2, 30, tzinfo=STOCKHOLM)
    assert format_datetime(value, STOCKHOLM) == "2026-10-25 02:30:00"
    assert format_datetime(value, STOCKHOLM) == "2026-10-25 02:30:00"
    assert Counted.calls == 2


# --- issue 16: whatever the zone's name, a MappingError or a result ----------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _example(name: str) -> Any:
    document = json.loads((EXAMPLES / name).read_bytes())
    return document[0] if isinstance(document, list) else document


# (load, dump, the example it loads): every kind of Bex document, and a Vendre order.
ROUTES: list[tuple[Callable[..., Any], Callable[..., Any], str]] = [
    (vendre.load_order, vendre.dumps_order, "vendre-order.json"),
    (bex.load_article, bex.dumps_article, "bex-article.json"),
    (bex.load_stock, bex.dumps_stock, "bex-stock.json"),
    (bex.load_order_status, bex.dumps_order_status, "bex-order-statuses.json"),
    (bex.load_gift_card, bex.dumps_gift_card, "bex-gift-card.json"),
    (
        bex.load_gift_card_reservation,
        bex.dumps_gift_card_reservation,
        "bex-gift-card-reservation.json",
    ),
]


def _mapping_error_or_result(call: Callable[[], Any]) -> None:
    with contextlib.suppress(MappingError):
        call()


@pytest.mark.parametrize(
    "zone",
    ["\x00", "UTC\x00", "a\ud800", "EST5EDT,M13.1.0,M10.5.0", "EST-99EDT", ":/etc/localtime", ""],
)
@pytest.mark.parametrize(("load", "dumps", "example"), ROUTES)
def test_junk_zone_names_give_mapping_errors(
    zone: str, load: Callable[..., Any], dumps: Callable[..., Any], example: str
) -> None:
    """A NUL in the name, a lone surrogate, a POSIX rule dateutil reads but cannot apply:
    loaders and dumpers of every kind raise a MappingError or do their job (a model without
    date-times needs no zone to load), never ValueError."""
    document = _example(example)
    model = load(document)
    for data in (document, json.dumps(document), json.dumps(document).encode()):
        _mapping_error_or_result(lambda data=data: load(data, time_zone=zone))
    with pytest.raises(MappingError):
        dumps(model, time_zone=zone)


@given(zone=st.text(max_size=40))
def test_any_zone_name_gives_a_mapping_error_or_a_result(zone: str) -> None:
    """Any text as the zone: loading, dumping, streaming and the settings."""
    order = _example("vendre-order.json")
    _mapping_error_or_result(lambda: vendre.load_order(order, time_zone=zone))
    _mapping_error_or_result(lambda: vendre.dumps_order(vendre.load_order(order), time_zone=zone))
    _mapping_error_or_result(lambda: bex.load_stock(_example("bex-stock.json"), time_zone=zone))
    lookups = Lookups(settings=Settings(time_zone=zone))
    line = json.dumps(_example("bex-stock.json")).encode()
    _mapping_error_or_result(
        lambda: list(convert_lines([line], "stock", source="bex", lookups=lookups))
    )
    with contextlib.suppress(LookupsError):
        Lookups.from_dict({"settings": {"time_zone": zone}})


@pytest.mark.parametrize("zone", ["EST5EDT,M13.1.0,M10.5.0", "EST-99EDT"])
def test_a_posix_rule_that_cannot_be_applied_is_an_unknown_zone(zone: str) -> None:
    """dateutil reads these rules, and fails on the first offset asked of them: refused at
    once, in the settings as in a dumper."""
    with pytest.raises(LookupsError) as info:
        Lookups.from_dict({"settings": {"time_zone": zone}})
    assert str(info.value) == f"$.settings.time_zone: unknown time zone {zone!r}"
    order = vendre.load_order(_example("vendre-order.json"))
    with pytest.raises(MappingError, match="unknown time zone"):
        vendre.dump_order(order, time_zone=zone)


# --- Dates: POSIX rules, datetime objects, offsets, microseconds ----------------------------------


def payment(when: object) -> dict[str, object]:
    return {
        "external_id": "e",
        "transaction_id": "t",
        "date_added": when,
        "payment_method": "KORT",
    }


def test_a_posix_rule_is_a_usable_shop_time_zone() -> None:
    """A POSIX TZ rule (not an IANA name) is accepted through dateutil and converts offsets."""
    rule = "CET-1CEST,M3.5.0,M10.5.0/3"
    lookups = Lookups.from_dict({"settings": {"time_zone": rule}})
    assert lookups.settings.time_zone == rule
    loaded = vendre.load_payment(payment("2026-07-01T10:00:00+00:00"), time_zone=rule)
    assert (loaded.date_added.hour, loaded.date_added.minute) == (12, 0)
    assert loaded.date_added == datetime(2026, 7, 1, 10, tzinfo=UTC)


def test_an_unknown_time_zone_is_a_lookups_problem() -> None:
    """A time zone no database knows is reported at $.settings.time_zone."""
    with pytest.raises(LookupsError) as caught:
        Lookups.from_dict({"settings": {"time_zone": "Nowhere/Atlantis"}})
    assert problems_of(caught.value) == [
        ("$.settings.time_zone", "unknown time zone 'Nowhere/Atlantis'")
    ]


def test_datetime_objects_in_a_mapping_are_taken_as_they_are() -> None:
    """An already-parsed naive datetime is the shop's wall clock; an aware one is converted."""
    naive = vendre.load_payment(payment(datetime(2026, 1, 2, 3, 4, 5)))
    assert naive.date_added == datetime(2026, 1, 2, 3, 4, 5, tzinfo=STOCKHOLM)
    assert naive.date_added.tzinfo is STOCKHOLM
    aware = vendre.load_payment(payment(datetime(2026, 7, 1, 10, tzinfo=UTC)))
    assert aware.date_added.tzinfo is STOCKHOLM
    assert (aware.date_added.hour, aware.date_added.minute) == (12, 0)


def test_an_offset_that_leaves_the_calendar_is_out_of_range() -> None:
    """Year 1 with a positive offset cannot be shown in the shop's zone: a MappingError."""
    with pytest.raises(MappingError) as caught:
        vendre.load_payment(payment("0001-01-01T00:00:00+01:00"))
    assert problems_of(caught.value) == [
        ("$.date_added", "date-time '0001-01-01T00:00:00+01:00' is out of range")
    ]


def test_microseconds_survive_a_dump_and_a_load() -> None:
    """A datetime with microseconds dumps them as a fraction and loads back equal."""
    when = datetime(2026, 6, 1, 12, 0, 0, 500, tzinfo=STOCKHOLM)
    model = vendre.Payment(
        external_id="e", transaction_id="t", date_added=when, payment_method="KORT"
    )
    dumped = vendre.dump_payment(model)
    assert dumped["date_added"] == "2026-06-01 12:00:00.000500"
    assert vendre.load_payment(dumped) == model


def test_date_objects_load_but_datetimes_are_not_dates() -> None:
    """A date object is a valid 'Giltig till'; a datetime is refused, not truncated."""
    card = bex.load_gift_card({**gift_card_doc(), "Giltig till": date(2026, 12, 31)})
    assert card.valid_until == date(2026, 12, 31)
    with pytest.raises(MappingError) as caught:
        bex.load_gift_card({**gift_card_doc(), "Giltig till": datetime(2026, 12, 31, 8)})
    assert caught.value.paths == ("$['Giltig till']",)


# --- Time-zone names that are no zone -------------------------------------------------------------


ROOT = Path(__file__).resolve().parent.parent


ORDER = ROOT / "examples" / "vendre-order.json"


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
    [(path, message)] = problems_of(caught.value)
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
    status, out, err = run_main(
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


# --- Vendre's epoch seconds ------------------------------------------------------------------


def _order_with(date_added: Any) -> dict[str, Any]:
    document = json.loads((EXAMPLES / "vendre-order.json").read_bytes())
    document["date_added"] = date_added
    return document


@pytest.mark.parametrize(
    ("zone", "wall"),
    [("Europe/Stockholm", "2026-05-05 17:13:04"), ("Europe/Helsinki", "2026-05-05 18:13:04")],
)
def test_vendre_dates_load_from_epoch_seconds_as_the_instant(zone: str, wall: str) -> None:
    """Vendre's API sends epoch seconds: the instant stays the instant, in the shop's zone."""
    document = _order_with(1777993984)
    for given_as in (document, json.dumps(document).encode()):
        order = vendre.load_order(given_as, time_zone=zone)
        assert order.date_added == datetime(2026, 5, 5, 15, 13, 4, tzinfo=UTC)
        assert format_datetime(order.date_added, time_zone(zone)) == wall
    payment = vendre.load_payment(
        {"external_id": "x", "transaction_id": "y", "date_added": 0, "payment_method": "K"},
        time_zone="UTC",
    )
    assert payment.date_added == datetime(1970, 1, 1, tzinfo=UTC)


def test_epoch_seconds_in_the_repeated_hour_keep_both_instants() -> None:
    """02:30 happens twice in Stockholm on 25 October 2026: 00:30 and 01:30 UTC."""
    first = int(datetime(2026, 10, 25, 0, 30, tzinfo=UTC).timestamp())
    loaded = [vendre.load_order(_order_with(first + s)).date_added for s in (0, 3600)]
    assert [d.fold for d in loaded] == [0, 1]
    assert loaded[1].astimezone(UTC) - loaded[0].astimezone(UTC) == timedelta(hours=1)
    assert [d.astimezone(UTC).hour for d in loaded] == [0, 1]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "expected epoch seconds or a date-time string, got true"),
        (1.5, "expected epoch seconds or a date-time string, got "),  # a float or a Decimal
        (None, "expected epoch seconds or a date-time string, got null"),
        (-1, "expected epoch seconds from 1970 to year 9999, got -1"),
        (253402300800, "expected epoch seconds from 1970 to year 9999, got 253402300800"),
        (253402300799, "date-time 253402300799 is out of range"),  # year 10000 in Stockholm
        ("1777993984", "expected a date-time 'YYYY-MM-DD HH:MM:SS' or ISO 8601"),
    ],
)
def test_epoch_seconds_out_of_range_or_of_another_type_are_refused(
    value: Any, message: str
) -> None:
    for given_as in (_order_with(value), json.dumps(_order_with(value)).encode()):
        with pytest.raises(MappingError) as caught:
            vendre.load_order(given_as)
        assert [p.path for p in caught.value.problems] == ["$.date_added"]
        assert message in caught.value.problems[0].message


def test_bex_dates_take_no_epoch_seconds() -> None:
    """Only Vendre's API sends epoch seconds: Bex's wire keeps its wall-clock text."""
    with pytest.raises(MappingError, match=r"\$\.Datum: expected a date-time string"):
        bex.load_payment(
            {"Externt dokumentnr": "1", "Transnr": "2", "Datum": 0, "Kod": "K", "Belopp": "1.00"}
        )
