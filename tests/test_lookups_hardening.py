"""Bad lookups (SPEC §6) are a LookupsError naming the key path, never a raw Python exception."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bexvendre_mapping import Lookups, LookupsError
from bexvendre_mapping.cli import main

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
