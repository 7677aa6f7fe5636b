"""Code tables and settings (SPEC §6)."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support import problems_of

from bexvendre_mapping import (
    CodeTable,
    Lookups,
    LookupsError,
    MappingError,
    UnknownCodeError,
)
from bexvendre_mapping.cli import main


def test_example_file_loads_every_table(lookups: Lookups) -> None:
    """The TOML file's tables and settings, with Vendre's integer ids as integers."""
    assert lookups.payment_methods.get("DIBS_CARD") == "KORT"
    assert lookups.shipping_methods.get("12") == "PNMC"
    assert lookups.countries.get(203) == "SE"
    assert lookups.order_statuses.get("SKICKAD") == 3
    assert lookups.categories.get("SKOR") == 12
    assert lookups.fee_articles.get("ot_discount") == "RABATT"
    assert lookups.gift_card_payment_code == "PRESENTKORT"
    assert lookups.settings.totals_tolerance_per_row == Decimal("0.01")


def test_every_table_works_both_ways(lookups: Lookups) -> None:
    """reverse() reads each table from value to code."""
    assert lookups.payment_methods.reverse("KORT") == "DIBS_CARD"
    assert lookups.shipping_methods.reverse("PNMC") == "12"
    assert lookups.countries.reverse("NO") == 160
    assert lookups.order_statuses.reverse(3) == "SKICKAD"
    assert lookups.categories.reverse(12) == "SKOR"
    assert lookups.fee_articles.reverse("AVGIFT") == "ot_payment"


def test_defaults() -> None:
    """Settings default to SPEC §6's values."""
    settings = Lookups.from_dict({}).settings
    assert settings.time_zone == "Europe/Stockholm"
    assert settings.totals_tolerance_per_row == Decimal("0.01")
    assert settings.totals_policy == "error"
    assert settings.stock_status == "hide_when_zero"
    assert settings.fee_tax_rate == Decimal(25)


def test_unknown_code_names_table_code_path_and_closest(lookups: Lookups) -> None:
    """An unknown code is an UnknownCodeError (also a LookupError) with everything needed."""
    with pytest.raises(UnknownCodeError) as info:
        lookups.payment_methods.get("KLARNA_B2B", path="$.payment.payment_method")
    err = info.value
    assert isinstance(err, LookupError)
    assert isinstance(err, MappingError)
    assert (err.table, err.code, err.closest[0]) == ("payment_methods", "KLARNA_B2B", "KLARNA")
    assert err.paths == ("$.payment.payment_method",)
    assert "'KLARNA_B2B'" in str(err)
    assert "payment_methods" in str(err)


def test_unknown_reverse_code_says_so(lookups: Lookups) -> None:
    """A Bex code without a Vendre counterpart names the table read backwards."""
    with pytest.raises(UnknownCodeError) as info:
        lookups.countries.reverse("SW")
    assert info.value.reverse
    assert "SE" in info.value.closest


def test_ambiguous_reverse_is_rejected_naming_the_clash() -> None:
    """Two codes mapping to one value make the reverse ambiguous: rejected when loaded."""
    with pytest.raises(LookupsError) as info:
        Lookups.from_dict({"payment_methods": {"DIBS_CARD": "KORT", "ADYEN_CARD": "KORT"}})
    assert info.value.paths == ("$.payment_methods",)
    assert "'DIBS_CARD', 'ADYEN_CARD'" in str(info.value)
    assert "'KORT'" in str(info.value)


def test_every_problem_in_a_lookups_file_at_once() -> None:
    """Typos, bad values and clashes are all reported together."""
    with pytest.raises(LookupsError) as info:
        Lookups.from_dict(
            {
                "payment_method": {},
                "countries": {"x": "SE", "203": "Sweden"},
                "order_statuses": {"SKICKAD": "three"},
                "settings": {"totals_policy": "ignore", "time_zone": "Europe/Stokholm", "stock": 1},
            }
        )
    assert info.value.paths == (
        "$.payment_method",
        "$.countries.x",
        "$.countries['203']",
        "$.order_statuses.SKICKAD",
        "$.settings.stock",
        "$.settings.time_zone",
        "$.settings.totals_policy",
    )
    assert "did you mean 'payment_methods'" in str(info.value)


def test_codes_that_would_be_confused_are_rejected() -> None:
    """The gift-card code may not be a payment Kod; a fee article may not be a FraktID."""
    with pytest.raises(LookupsError) as info:
        Lookups.from_dict(
            {
                "gift_card_payment_code": "KORT",
                "payment_methods": {"DIBS_CARD": "KORT"},
                "shipping_methods": {"12": "PNMC"},
                "fee_articles": {"ot_payment": "PNMC", "ot_total": "TOT"},
            }
        )
    assert info.value.paths == (
        "$.gift_card_payment_code",
        "$.fee_articles.ot_payment",
        "$.fee_articles.ot_total",
    )


def test_from_toml_errors_are_lookups_errors(tmp_path: Path) -> None:
    """A missing file or broken TOML is a LookupsError naming the file."""
    with pytest.raises(LookupsError, match="cannot read"):
        Lookups.from_toml(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[payment_methods\n", encoding="utf-8")
    with pytest.raises(LookupsError, match="not valid TOML"):
        Lookups.from_toml(broken)


def test_to_dict_reads_back(lookups: Lookups) -> None:
    """to_dict gives a mapping that from_dict turns into equal lookups."""
    assert Lookups.from_dict(lookups.to_dict()) == lookups


def test_fee_tax_rate_fits_bex_moms() -> None:
    """Moms has 2 decimals in Bex; a fee rate with more is refused when loaded."""
    with pytest.raises(LookupsError) as info:
        Lookups.from_dict({"settings": {"fee_tax_rate": "25.125"}})
    assert info.value.paths == ("$.settings.fee_tax_rate",)


def test_a_byte_order_mark_in_the_toml_file_is_ignored(tmp_path: Path, examples: Path) -> None:
    """Windows editors may start the file with a UTF-8 BOM, as JSON documents (issue 16)."""
    path = tmp_path / "lookups.toml"
    path.write_bytes(b"\xef\xbb\xbf" + (examples / "lookups.toml").read_bytes())
    assert Lookups.from_toml(path) == Lookups.from_toml(examples / "lookups.toml")


# --- Code tables and the shape of the lookups -----------------------------------------------------


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


# --- Bad lookups files and values: a LookupsError naming the key path -----------------------------


LIMIT = sys.get_int_max_str_digits()


HUGE = 10**LIMIT  # LIMIT + 1 digits: str() and int() refuse it


BAD_FILES = {
    "not UTF-8": (b'x = "\xff"\n', "is not UTF-8: invalid start byte at byte 5"),
    "integer literal too long": (
        b"[categories]\nA = " + b"9" * (LIMIT + 1) + b"\n",
        f"is not valid TOML: an integer is too long to read (more than {LIMIT} digits)",
    ),
    "nested too deeply": (
        b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
        "is not valid TOML: arrays or tables nested too deeply",
    ),
    "gift code array": (
        b'gift_card_payment_code = ["X"]\n',
        "$.gift_card_payment_code: expected a code, got ['X']",
    ),
    "gift code table": (
        b"[gift_card_payment_code]\na = 1\n",
        "$.gift_card_payment_code: expected a code, got {'a': 1}",
    ),
    "digit string too long": (
        b'[countries]\n"' + b"9" * (LIMIT + 1) + b'" = "SE"\n',
        f"expected an integer code, got one too long to read (more than {LIMIT} digits)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_a_lookups_error(case: str, tmp_path: Path) -> None:
    """A file that is not UTF-8, does not parse, or holds values of the wrong type."""
    raw, message = BAD_FILES[case]
    path = tmp_path / "lookups.toml"
    path.write_bytes(raw)
    with pytest.raises(LookupsError) as info:
        Lookups.from_toml(path)
    assert message in str(info.value)


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_cli_reports_bad_file_and_exits_2(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line says 'bad lookups file:' and the problem, with no traceback."""
    raw, message = BAD_FILES[case]
    path = tmp_path / "lookups.toml"
    path.write_bytes(raw)
    with pytest.raises(SystemExit) as info:
        main(["lookups", "check", "--lookups", str(path), str(tmp_path / "doc.json")])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "bad lookups file:" in err
    assert message in err
    assert "Traceback" not in err


def test_path_with_nul_cannot_be_read() -> None:
    """open() refuses a NUL character with ValueError; that is a LookupsError too."""
    with pytest.raises(LookupsError, match=r"cannot read 'a\\x00b.toml': embedded null"):
        Lookups.from_toml("a\x00b.toml")


@pytest.mark.parametrize("gift", [[], ["X"], {}, {"a": 1}, 5, None, True, "", " X", "X "])
def test_bad_gift_code_is_refused_before_the_cross_checks(gift: object) -> None:
    """Only a checked gift code is compared with the payment methods' Kod values."""
    data = {"gift_card_payment_code": gift, "payment_methods": {"GIFT": "PRESENTKORT"}}
    with pytest.raises(LookupsError) as info:
        Lookups.from_dict(data)
    assert [p.path for p in info.value.problems] == ["$.gift_card_payment_code"]
    expected = "a code without outer spaces" if isinstance(gift, str) and gift else "a code"
    assert str(info.value).startswith(f"$.gift_card_payment_code: expected {expected}, got ")


def test_integer_code_with_outer_spaces_is_refused() -> None:
    """' 203' is not a string of digits; the message says why."""
    with pytest.raises(LookupsError) as info:
        Lookups.from_dict({"countries": {" 203": "SE"}, "categories": {"SKOR": "12 "}})
    assert [str(p) for p in info.value.problems] == [
        "$.countries[' 203']: expected an integer code without outer spaces, got ' 203'",
        "$.categories.SKOR: expected an integer value without outer spaces, got '12 '",
    ]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"countries": {"9" * (LIMIT + 1): "SE"}}, "$.countries['" + "9" * (LIMIT + 1) + "']"),
        ({"countries": {HUGE: "SE"}}, "$.countries['<an integer too long to show>']"),
        ({"categories": {"A": HUGE}}, "$.categories.A"),
        ({"categories": {"A": "9" * (LIMIT + 1)}}, "$.categories.A"),
        ({"order_statuses": {"A": HUGE, "B": HUGE}}, "$.order_statuses.A"),
        ({"countries": HUGE}, "$.countries"),
        ({"gift_card_payment_code": HUGE}, "$.gift_card_payment_code"),
        ({HUGE: 1}, "$['<an integer too long to show>']"),
        ({"settings": {HUGE: 1}}, "$.settings['<an integer too long to show>']"),
        ({"settings": {"time_zone": HUGE}}, "$.settings.time_zone"),
        ({"settings": {"totals_policy": HUGE}}, "$.settings.totals_policy"),
        ({"settings": {"fee_tax_rate": HUGE}}, "$.settings.fee_tax_rate"),
        ({"settings": {"totals_tolerance_per_row": [HUGE]}}, "$.settings"),
    ],
)
def test_integers_beyond_the_digit_limit(data: dict[Any, Any], path: str) -> None:
    """Python's int-string limit is a problem at the key path, not a ValueError."""
    with pytest.raises(LookupsError) as info:
        Lookups.from_dict(data)
    assert info.value.problems[0].path.startswith(path)


def test_value_nested_too_deeply_to_show() -> None:
    """repr() of an absurdly nested list fails; the message says so instead."""
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(LookupsError) as info:
        Lookups.from_dict({"gift_card_payment_code": deep})
    assert str(info.value).endswith("got a value too large to show")


KEYS = (
    "gift_card_payment_code",
    "payment_methods",
    "shipping_methods",
    "countries",
    "order_statuses",
    "categories",
    "fee_articles",
    "settings",
    "time_zone",
    "totals_tolerance_per_row",
    "totals_policy",
    "stock_status",
    "fee_tax_rate",
    "203",
    "SE",
    "ot_tax",
    "PRESENTKORT",
)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10 ** (LIMIT - 1), max_value=HUGE * 10)
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["", " ", " 203", "203", "SE", "PRESENTKORT", "NaN", "-1", "25.001"])
    | st.sampled_from(KEYS)
    | st.datetimes()
    | st.dates()
    | st.times()
)


VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4) | st.integers(), VALUES))
def test_from_dict_fuzz_raises_only_lookups_error(data: dict[Any, Any]) -> None:
    """Values of every JSON and TOML type at every key: a Lookups or a LookupsError."""
    try:
        lookups = Lookups.from_dict(data)
    except LookupsError as exc:
        assert exc.problems
        for problem in exc.problems:
            str(problem).encode("utf-8", "backslashreplace")
    else:
        assert Lookups.from_dict(lookups.to_dict()) == lookups


@given(st.sampled_from(KEYS), VALUES)
def test_fuzz_every_table_and_setting(key: str, value: object) -> None:
    """One value at one known key, top level or in the settings."""
    for data in ({key: value}, {"settings": {key: value}}):
        with contextlib.suppress(LookupsError):
            Lookups.from_dict(data)


def test_toml_dates_are_refused_as_codes() -> None:
    """TOML's date and time types are not codes."""
    with pytest.raises(LookupsError, match="expected a code, got "):
        Lookups.from_dict({"gift_card_payment_code": dt.date(2024, 1, 1)})


@pytest.mark.parametrize("value", [-5, -1])
def test_a_negative_integer_code_is_refused_like_a_signed_digit_string(value: int) -> None:
    """The string "-1" was refused while -1 loaded; Vendre's ids have no sign."""
    with pytest.raises(LookupsError) as caught:
        Lookups.from_dict({"categories": {"A": value}})
    assert str(caught.value) == f"$.categories.A: expected an integer value, got {value}"
    assert Lookups.from_dict({"categories": {"A": 0}}).categories.get("A") == 0


@pytest.mark.parametrize("name", ["localtime", "posixrules"])
def test_the_computers_own_zone_is_no_shop_zone(name: str) -> None:
    with pytest.raises(LookupsError) as caught:
        Lookups.from_dict({"settings": {"time_zone": name}})
    assert str(caught.value) == f"$.settings.time_zone: unknown time zone {name!r}"


# --- The product tables: tax classes, manufacturers, warehouses (#18) -----------------------------


def test_product_tables_load_and_work_both_ways(lookups: Lookups) -> None:
    """tax_classes: Vendre class → VAT percent (a Moms of 25.00 picks class 2);
    manufacturers: LeverantörsID → manufacturer_id; warehouses: location → external_id."""
    assert lookups.tax_classes.get(3) == Decimal(6)
    assert lookups.tax_classes.reverse(Decimal("25.00")) == 2
    assert lookups.manufacturers.get("LEV-0042") == 7
    assert lookups.manufacturers.reverse(7) == "LEV-0042"
    assert lookups.warehouses.get("LAGER") == "main"
    assert Lookups.from_dict(lookups.to_dict()) == lookups


@pytest.mark.parametrize(
    ("tables", "paths"),
    [
        ({"tax_classes": {"2": 25, "3": "25.00"}}, ["$.tax_classes"]),  # ambiguous reverse
        ({"tax_classes": {"2": 101}}, ["$.tax_classes['2']"]),
        ({"tax_classes": {"2": "12.345"}}, ["$.tax_classes['2']"]),
        ({"tax_classes": {"2": True}}, ["$.tax_classes['2']"]),
        ({"tax_classes": {"two": 25}}, ["$.tax_classes.two"]),
        ({"manufacturers": {"LEV": "seven"}}, ["$.manufacturers.LEV"]),
        ({"warehouses": {"LAGER": ""}}, ["$.warehouses.LAGER"]),
    ],
)
def test_bad_product_tables_are_refused_with_their_paths(
    tables: dict[str, Any], paths: list[str]
) -> None:
    """Every bad entry is a LookupsError at its path, never a silent default."""
    with pytest.raises(LookupsError) as caught:
        Lookups.from_dict(tables)
    assert [p for p, _ in problems_of(caught.value)] == paths


def test_tax_class_rates_take_toml_numbers_exactly(tmp_path: Path) -> None:
    """A TOML float such as 12.5 is the rate written, not a binary approximation."""
    path = tmp_path / "lookups.toml"
    path.write_text('[tax_classes]\n"2" = 25\n"7" = 12.5\n', encoding="utf-8")
    assert Lookups.from_toml(path).tax_classes.get(7) == Decimal("12.50")


def test_lookups_check_reads_the_codes_of_products_and_articles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bexvendre lookups check` looks up a product's tax class, categories and manufacturer,
    and an article's Moms and LeverantörsID: unknown ones listed with their paths."""
    product = tmp_path / "product.json"
    product.write_text(
        '{"article_number": "1001", "tax_class_id": 9, "category_ids": [12, 77],'
        ' "manufacturer_id": 7, "price": 1, "name": {}}',
        encoding="utf-8",
    )
    lookups_file = str(Path(__file__).resolve().parent.parent / "examples" / "lookups.toml")
    assert main(["lookups", "check", "--lookups", lookups_file, str(product)]) == 1
    err = capsys.readouterr().err
    assert "$.tax_class_id: unknown code 9 in table 'tax_classes'" in err
    assert "$.category_ids[1]: unknown code 77" in err
    assert "manufacturer" not in err
