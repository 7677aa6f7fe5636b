"""Code tables and settings (SPEC §6)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bexvendre_mapping import Lookups, LookupsError, MappingError, UnknownCodeError


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
