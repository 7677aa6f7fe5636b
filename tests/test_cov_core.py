"""Edge cases of the core: dates, errors, code tables, model codes, the wire, money."""

from __future__ import annotations

import copy
import importlib.util
import pickle
import shutil
import types
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from tests.http_support import bex_article_doc, gift_card_doc

import bexvendre_mapping._examples as examples_module
from bexvendre_mapping import (
    CodeTable,
    Lookups,
    LookupsError,
    MappingError,
    ModelCode,
    ModelCodeError,
    Problem,
    TotalsMismatchError,
    UnknownCodeError,
    bex,
    vendre,
)
from bexvendre_mapping.money import parse_decimal, quantize
from bexvendre_mapping.testing.strategies import model_codes, vendre_orders_for

STOCKHOLM = ZoneInfo("Europe/Stockholm")

PRODUCT: dict[str, Any] = {
    "article_number": "1001",
    "name": {"sv": "Löparsko Aero"},
    "manufacturer_id": "LEV-0042",
    "price": "799.2000",
    "tax_rate": "25.0000",
    "price_in": "412.5000",
    "category_id": 12,
}


def payment(when: object) -> dict[str, object]:
    return {
        "external_id": "e",
        "transaction_id": "t",
        "date_added": when,
        "payment_method": "KORT",
    }


def problems_of(error: MappingError) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in error.problems]


# --- dates ----------------------------------------------------------------------------------


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


# --- errors ---------------------------------------------------------------------------------


def test_a_mapping_error_needs_a_problem() -> None:
    """An empty list of problems is a programming error, not an empty MappingError."""
    with pytest.raises(ValueError, match="at least one problem"):
        MappingError([])


@pytest.mark.parametrize(
    "error",
    [
        MappingError([Problem("$.a", "bad"), Problem("$.b[1]", "worse")]),
        UnknownCodeError("countries", 81, ["SE"], path="$.country_id", reverse=True),
        TotalsMismatchError(Decimal("10.00"), Decimal("12.00"), path="$.totals"),
        ModelCodeError("invalid model code 'x__'"),
    ],
)
def test_errors_survive_pickling(error: MappingError) -> None:
    """Every MappingError pickles (for multiprocessing) with its class, problems and data."""
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own data
    assert type(again) is type(error)
    assert again.problems == error.problems
    assert str(again) == str(error)
    assert vars(again) == vars(error)


# --- where the examples are -----------------------------------------------------------------


def _installed_copy(root: Path) -> types.ModuleType:
    """The examples module as a copy installed under ``root`` (a wheel's layout)."""
    package = root / "site-packages" / "bexvendre_mapping"
    package.mkdir(parents=True)
    assert examples_module.__file__ is not None
    shutil.copy(examples_module.__file__, package / "_examples.py")
    spec = importlib.util.spec_from_file_location(
        "bexvendre_mapping._examples", package / "_examples.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_examples_are_found_inside_an_installed_wheel(tmp_path: Path) -> None:
    """A wheel carries the examples inside the package; they are found there."""
    module = _installed_copy(tmp_path)
    inside = tmp_path / "site-packages" / "bexvendre_mapping" / "examples"
    inside.mkdir()
    (inside / "lookups.toml").write_text("", encoding="utf-8")
    assert module.examples_dir() == inside.resolve()


def test_an_install_without_examples_says_so(tmp_path: Path) -> None:
    """Neither the wheel's nor a checkout's folder: a FileNotFoundError that says why."""
    module = _installed_copy(tmp_path)
    with pytest.raises(FileNotFoundError, match="not installed with this copy"):
        module.examples_dir()


# --- code tables ----------------------------------------------------------------------------


def test_a_code_table_is_a_sized_iterable_value() -> None:
    """Tables iterate their codes in order, have a length, compare and hash by content."""
    table = CodeTable("payment_methods", {"KLARNA": "KLARNA", "DIBS_CARD": "KORT"})
    same = CodeTable("payment_methods", {"KLARNA": "KLARNA", "DIBS_CARD": "KORT"})
    other = CodeTable("shipping_methods", {"KLARNA": "KLARNA", "DIBS_CARD": "KORT"})
    assert list(table) == ["KLARNA", "DIBS_CARD"]
    assert len(table) == 2
    assert table == same
    assert hash(table) == hash(same)
    assert table != other
    assert table != {"KLARNA": "KLARNA", "DIBS_CARD": "KORT"}
    assert repr(table) == "CodeTable('payment_methods', {'KLARNA': 'KLARNA', 'DIBS_CARD': 'KORT'})"
    assert len({table, same, other}) == 2


def test_lookups_must_be_a_table_of_tables() -> None:
    """Something other than a mapping is refused as a whole."""
    with pytest.raises(LookupsError) as caught:
        Lookups.from_dict(["payment_methods"])  # type: ignore[arg-type]
    assert problems_of(caught.value) == [
        ("$", "expected a table of code tables, got ['payment_methods']")
    ]


def test_every_bad_entry_of_the_lookups_is_reported_at_once() -> None:
    """Bad tables, codes, values and settings: each problem with its own path."""
    with pytest.raises(LookupsError) as caught:
        Lookups.from_dict(
            {
                "gift_card_payment_code": "  ",
                "payment_methods": "KORT",
                "shipping_methods": {"12": " PNMC", "14": 14},
                "countries": {"203": "SE", "0203": "NO"},
                "settings": {"time_zone": 1, "totals_tolerance_per_row": "-0.01"},
            }
        )
    assert problems_of(caught.value) == [
        ("$.payment_methods", "expected a table, got 'KORT'"),
        (
            "$.shipping_methods['12']",
            "expected a non-empty value without outer spaces, got ' PNMC'",
        ),
        ("$.shipping_methods['14']", "expected a non-empty value without outer spaces, got 14"),
        ("$.countries['0203']", "the code 203 is given twice"),
        ("$.gift_card_payment_code", "expected a code, got '  '"),
        ("$.settings.time_zone", "expected a time zone name, got 1"),
        ("$.settings.totals_tolerance_per_row", "must not be negative, got '-0.01'"),
    ]


def test_settings_must_be_a_table() -> None:
    """A settings value that is not a table is one problem; the other entries still count."""
    with pytest.raises(LookupsError) as caught:
        Lookups.from_dict({"settings": "fast", "countries": {"203": "SE"}})
    assert problems_of(caught.value) == [("$.settings", "expected a table, got 'fast'")]


def test_a_negative_fee_tax_rate_is_reported_once() -> None:
    """A negative Moms is one problem; the two-decimals check does not pile on."""
    with pytest.raises(LookupsError) as caught:
        Lookups.from_dict({"settings": {"fee_tax_rate": "-25"}})
    assert problems_of(caught.value) == [
        ("$.settings.fee_tax_rate", "must not be negative, got '-25'")
    ]


# --- model codes ----------------------------------------------------------------------------


def test_model_code_parts_must_be_strings() -> None:
    """A size group that is not a string is named in the error."""
    with pytest.raises(ModelCodeError) as caught:
        ModelCode("1001", 5, "42")  # type: ignore[arg-type]
    assert "the size group must be a string, got 5" in str(caught.value)


def test_an_unsized_code_has_a_short_repr() -> None:
    """An unsized code's repr names the article only, and evaluates back to it."""
    code = ModelCode("GIFTBOX")
    assert repr(code) == "ModelCode(article='GIFTBOX')"
    assert eval(repr(code), {"ModelCode": ModelCode}) == code  # noqa: S307 - our own repr


# --- the wire -------------------------------------------------------------------------------


def test_a_malformed_numeric_id_is_a_problem_at_its_path() -> None:
    """'--5' looks numeric but is not an integer: a MappingError at the id, not a crash."""
    with pytest.raises(MappingError) as caught:
        vendre.load_order_status_update({"id": "--5", "status": 3})
    assert caught.value.paths == ("$.id",)
    assert "'--5'" in str(caught.value)


def test_a_text_object_must_be_an_object_with_string_keys() -> None:
    """Product names are language → text objects: not a string, and keys are strings."""
    with pytest.raises(MappingError) as as_string:
        vendre.load_product({**PRODUCT, "name": "Löparsko"})
    assert problems_of(as_string.value) == [("$.name", "expected an object, got 'Löparsko'")]
    with pytest.raises(MappingError) as int_key:
        vendre.load_product({**PRODUCT, "name": {"sv": "Löparsko", 1: "Runner"}})
    assert problems_of(int_key.value) == [("$.name['1']", "keys must be strings, got 1")]


def test_a_product_name_needs_swedish() -> None:
    """The name must hold an 'sv' text."""
    with pytest.raises(MappingError) as caught:
        vendre.load_product({**PRODUCT, "name": {"en": "Runner"}})
    assert problems_of(caught.value) == [("$.name", "needs a text for 'sv'")]


def test_an_article_with_sizes_needs_a_size_group() -> None:
    """Sizes without a Storleksgrupp could not form model codes: refused at $.Storlekar."""
    with pytest.raises(MappingError) as caught:
        bex.load_article({**bex_article_doc(), "Storleksgrupp": None})
    assert problems_of(caught.value) == [("$.Storlekar", "sizes without a size group")]


def test_any_mapping_type_loads() -> None:
    """A read-only mapping (not a dict) is a document too."""
    document = types.MappingProxyType(copy.deepcopy(PRODUCT))
    product = vendre.load_product(document)
    assert product.article_number == "1001"
    assert product.price == Decimal("799.2000")


# --- money ----------------------------------------------------------------------------------


def test_quantize_to_many_places() -> None:
    """Rounding to more places than the precomputed exponents still works, half up."""
    assert quantize(Decimal("1.5"), 14) == Decimal("1.50000000000000")
    assert str(quantize(Decimal("0.000000000000005"), 14)) == "1E-14"


def test_more_places_than_decimal_precision_is_refused() -> None:
    """Asking for more digits than Decimal holds is a MappingError, never a crash."""
    with pytest.raises(MappingError) as caught:
        parse_decimal("1", 30)
    assert caught.value.paths == ("$",)
    assert "'1'" in str(caught.value)


# --- the test strategies --------------------------------------------------------------------


@settings(max_examples=25)
@given(sized=model_codes(sized=True), unsized=model_codes(sized=False))
def test_model_code_strategies_keep_their_kind(sized: ModelCode, unsized: ModelCode) -> None:
    """model_codes(sized=True) draws sized codes only, sized=False unsized ones only."""
    assert sized.is_sized
    assert not unsized.is_sized
    assert ModelCode.parse(str(sized)) == sized
    assert ModelCode.parse(str(unsized)) == unsized


def test_orders_for_empty_tables_cannot_be_drawn() -> None:
    """Drawing orders for lookups without codes fails, naming the empty table."""

    @settings(max_examples=1, database=None)
    @given(vendre_orders_for(Lookups()))
    def draw(order: vendre.Order) -> None:
        del order

    with pytest.raises(ValueError, match="'shipping_methods' table is empty"):
        draw()
