"""Orders, field by field through the public API (SPEC §2, §5)."""

from __future__ import annotations

import json
import re
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.http_support import bex_order, bex_order_doc, vendre_order_doc
from tests.support import problems_of

from bexvendre_mapping import (
    Lookups,
    MappingError,
    ModelCodeError,
    Problem,
    TotalsMismatchError,
    UnknownCodeError,
    bex,
    convert,
    vendre,
)
from bexvendre_mapping import testing as strategies
from bexvendre_mapping.convert._support import Problems, block_copier, copy_block
from bexvendre_mapping.fieldmap import ORDER, FieldRule

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LOOKUPS = Lookups.from_toml(EXAMPLES / "lookups.toml")


@pytest.fixture
def order_doc(examples: Path) -> dict[str, Any]:
    """The example Vendre order as a mutable document."""
    doc: dict[str, Any] = json.loads((examples / "vendre-order.json").read_bytes())
    return doc


def to_bex(doc: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    """vendre.load_order → convert.order_to_bex → bex.dump_order."""
    return bex.dump_order(convert.order_to_bex(vendre.load_order(json.dumps(doc)), lookups))


def test_order_header(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """id → Ordernr, date_added → Orderdatum, customer_id → Kundnr, currency fields."""
    out = to_bex(order_doc, lookups)
    assert out["Ordernr"] == "100234"
    assert out["Orderdatum"] == "2026-10-25 02:30:00"
    assert out["Kundnr"] == "5512"
    assert out["Valuta"] == "SEK"
    assert out["Valutakod"] == "1.00000000"


def test_guest_order_has_no_customer_number(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """A guest (customer_id null) gives an order without Kundnr."""
    order_doc["customer_id"] = None
    assert "Kundnr" not in to_bex(order_doc, lookups)


def test_address_blocks(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """Faktureras, Beställare and Leveransadress, countries through the countries table."""
    out = to_bex(order_doc, lookups)
    assert out["Faktureras"] == {
        "Namn": "Astrid Öberg",
        "Adress": "Storgatan 12",
        "Adress2": "",
        "Postnr": "411 38",
        "Ort": "Göteborg",
        "Land": "SE",
    }
    assert out["Beställare"] == {
        "Namn": "Astrid Öberg",
        "Adress": "Storgatan 12",
        "Adress2": "",
        "PostNr": "411 38",
        "Ort": "Göteborg",
        "Epost": "astrid.oberg@example.se",
        "Tel": "031-123 45 67",
        "Mobil": "070-123 45 67",
    }
    assert out["Leveransadress"] == {
        "Namn": "Astrid Öberg",
        "Adress": "Fjällvägen 3",
        "Adress2": "c/o Lindqvist",
        "Postkod": "832 94",
        "Ort": "Åre",
        "Landskod": "SE",
    }


def test_payments(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """The web payment (ot_total, Kod via payment_methods), then one payment per gift card."""
    out = to_bex(order_doc, lookups)
    assert out["Butik & webbetalningar"] == [
        {
            "Externt dokumentnr": "KL-88412",
            "Transnr": "7f3c2a91-5be0-4c1e-9a77-0d2c4b8e6f10",
            "Datum": "2026-10-25 02:31:12",
            "Kod": "KLARNA",
            "Belopp": "3683.00",
        },
        {
            "Externt dokumentnr": "PK-4000-1234",
            "Transnr": "RES-20261025-0001",
            "Datum": "2026-10-25 02:31:12",
            "Kod": "PRESENTKORT",
            "Belopp": "500.00",
        },
    ]


def test_product_rows(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """Model codes split into Artikelnr/Storleksgrupp/Storlek; prices gain VAT."""
    rows = to_bex(order_doc, lookups)["Artiklar"]
    assert rows[0] == {
        "Artikelnr": "1001",
        "Storleksgrupp": "SKO",
        "Storlek": "42",
        "Antal": 1,
        "Beskrivning": "Löparsko Aero",
        "Pris": "999.00",
        "Moms": "25.00",
        "Belopp inkl.moms": "999.00",
    }
    assert (rows[2]["Artikelnr"], rows[2]["Storleksgrupp"], rows[2]["Storlek"]) == (
        "JKT_001",
        "KL",
        "M",
    )
    assert rows[3] == {
        "Artikelnr": "GIFTBOX",
        "Antal": 2,
        "Beskrivning": "Presentförpackning",
        "Pris": "49.00",
        "Moms": "25.00",
        "Belopp inkl.moms": "98.00",
    }
    assert (rows[4]["Pris"], rows[4]["Moms"]) == ("200.00", "6.00")


def test_fee_rows_and_shipping(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """Totals other than subtotal/tax/total/gift cards become rows; FraktID via the table."""
    out = to_bex(order_doc, lookups)
    assert out["FraktID"] == "PNMC"
    fees = [
        (r["Artikelnr"], r["Antal"], r["Pris"], r["Belopp inkl.moms"], r["Beskrivning"], r["Moms"])
        for r in out["Artiklar"][5:]
    ]
    assert fees == [
        ("PNMC", 1, "59.00", "59.00", "PostNord MyPack Collect", "25.00"),
        ("RABATT", 1, "-200.00", "-200.00", "Rabattkod VÅR200", "25.00"),
        ("AVGIFT", 1, "29.00", "29.00", "Fakturaavgift", "25.00"),
    ]
    assert out["Belopp inkl.moms"] == "4183.00"


def test_total_is_sum_of_rows_and_of_payments(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """Belopp inkl.moms = Σ rows = Σ payments (web payment plus gift cards)."""
    order = convert.order_to_bex(vendre.load_order(json.dumps(order_doc)), lookups)
    assert order.total == sum(r.amount for r in order.rows)
    assert order.total == sum(p.amount for p in order.payments)


def test_fee_rate_is_a_setting(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """Moms on fee rows follows settings.fee_tax_rate."""
    twelve = attrs.evolve(
        lookups, settings=attrs.evolve(lookups.settings, fee_tax_rate=Decimal(12))
    )
    assert {r["Moms"] for r in to_bex(order_doc, twelve)["Artiklar"][5:]} == {"12.00"}


def test_unknown_codes_all_reported_with_paths(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """Every unknown code is reported at once, at its path in the Vendre order."""
    order_doc["payment"]["payment_method"] = "KLARN"
    order_doc["shipping"]["method_id"] = "99"
    order_doc["delivery_address"]["country_id"] = 999
    order_doc["totals"][3]["class"] = "ot_cod"
    with pytest.raises(UnknownCodeError) as info:
        to_bex(order_doc, lookups)
    assert info.value.paths == (
        "$.delivery_address.country_id",
        "$.payment.payment_method",
        "$.shipping.method_id",
        "$.totals[3].class",
    )
    assert "closest known: 'KLARNA'" in str(info.value)


def test_totals_mismatch_names_both_figures(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """Rows that do not add up to ot_total plus gift cards fail, naming both amounts."""
    order_doc["totals"][-1]["value"] = "3600.0000"
    with pytest.raises(TotalsMismatchError) as info:
        to_bex(order_doc, lookups)
    assert info.value.rows_total == Decimal("4183.00")
    assert info.value.paid_total == Decimal("4100.00")
    assert "4183.00" in str(info.value)
    assert "4100.00" in str(info.value)


def test_totals_within_tolerance_pass(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """Up to 0.01 per product row of difference is accepted (5 rows: 0.05)."""
    order_doc["totals"][-1]["value"] = "3682.9500"
    assert to_bex(order_doc, lookups)["Belopp inkl.moms"] == "4183.00"
    order_doc["totals"][-1]["value"] = "3682.9400"
    with pytest.raises(TotalsMismatchError):
        to_bex(order_doc, lookups)


@pytest.mark.parametrize(
    ("tolerance", "raised"),
    [("0", None), ("-0.01", TotalsMismatchError), ("NaN", MappingError)],
)
def test_exact_totals_are_checked_with_the_tolerance_as_it_is(
    order_doc: dict[str, Any], lookups: Lookups, tolerance: str, raised: type[Exception] | None
) -> None:
    """Rows that add up exactly pass with no tolerance; a tolerance below 0 (which
    from_toml refuses) fails every order, and a NaN one cannot be compared."""
    odd = attrs.evolve(
        lookups,
        settings=attrs.evolve(lookups.settings, totals_tolerance_per_row=Decimal(tolerance)),
    )
    if raised is None:
        assert to_bex(order_doc, odd)["Belopp inkl.moms"] == "4183.00"
    else:
        with pytest.raises(raised):
            to_bex(order_doc, odd)


def test_warn_policy_warns_instead(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """With totals_policy = warn, a mismatch is a TotalsMismatchWarning and the order converts."""
    warn = attrs.evolve(lookups, settings=attrs.evolve(lookups.settings, totals_policy="warn"))
    order_doc["totals"][-1]["value"] = "3600.0000"
    with pytest.warns(convert.TotalsMismatchWarning, match="4183.00"):
        out = to_bex(order_doc, warn)
    assert out["Butik & webbetalningar"][0]["Belopp"] == "3600.00"


def test_the_totals_warning_points_at_the_caller(
    order_doc: dict[str, Any], lookups: Lookups
) -> None:
    """The warning names the line that called order_to_bex, not a line of the library."""
    warn = attrs.evolve(lookups, settings=attrs.evolve(lookups.settings, totals_policy="warn"))
    order_doc["totals"][-1]["value"] = "3600.0000"
    order = vendre.load_order(order_doc)
    with pytest.warns(convert.TotalsMismatchWarning) as caught:
        convert.order_to_bex(order, warn)
    assert caught[0].filename == __file__


def test_missing_ot_total_is_an_error(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """Without ot_total, what was paid is unknown: an error at $.totals."""
    order_doc["totals"] = [t for t in order_doc["totals"] if t["class"] != "ot_total"]
    with pytest.raises(MappingError) as info:
        to_bex(order_doc, lookups)
    assert info.value.paths == ("$.totals",)


def test_back_to_vendre_rebuilds_totals(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """Bex → Vendre gives subtotal, fees, gift cards, tax and total back."""
    order = convert.order_to_bex(vendre.load_order(json.dumps(order_doc)), lookups)
    back = vendre.dump_order(convert.order_to_vendre(order, lookups))
    expected = vendre.dump_order(vendre.load_order(order_doc))  # money as numbers
    assert [(t["class"], t["value"]) for t in back["totals"]] == [
        (t["class"], t["value"]) for t in expected["totals"]
    ]
    assert back["products"] == expected["products"]
    assert back["gift_cards"] == expected["gift_cards"]
    assert back["payment"] == expected["payment"]
    assert back["shipping"] == expected["shipping"]
    assert back["billing_address"] == expected["billing_address"]


def test_converters_reject_wrong_models(lookups: Lookups) -> None:
    """Passing a model of the other side is a TypeError, a programming error."""
    with pytest.raises(TypeError, match="order_to_bex"):
        convert.order_to_bex(bex.OrderStatus(order_number="1", status="X"), lookups)  # type: ignore[arg-type]


def test_no_warning_on_valid_order(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """A valid order converts silently."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        to_bex(order_doc, lookups)


def test_unsized_product_named_like_a_fee_is_refused(
    order_doc: dict[str, Any], lookups: Lookups
) -> None:
    """A product whose article is a fee article could not be told from the fee in Bex."""
    order_doc["products"][3]["model"] = "AVGIFT"
    with pytest.raises(MappingError) as info:
        to_bex(order_doc, lookups)
    assert info.value.paths[0] == "$.products[3].model"


def test_totals_that_need_rounding_are_refused(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """A fee of 59.005 SEK cannot be a Bex row without rounding: an error at its path."""
    order_doc["totals"][1]["value"] = "59.0050"
    with pytest.raises(MappingError) as info:
        to_bex(order_doc, lookups)
    assert "$.totals[1].value" in info.value.paths


def test_totals_mismatch_is_reported_with_other_problems(
    order_doc: dict[str, Any], lookups: Lookups
) -> None:
    """The totals check joins the other problems instead of waiting for them to be fixed."""
    order_doc["payment"]["payment_method"] = "KLARN"
    order_doc["totals"][-1]["value"] = "3600.0000"
    with pytest.raises(MappingError) as info:
        to_bex(order_doc, lookups)
    assert info.value.paths == ("$.payment.payment_method", "$.totals")


def test_bex_rows_must_add_up(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """Bex → Vendre checks Belopp inkl.moms = Antal × Pris and the order total."""
    order = bex.load_order(to_bex(order_doc, lookups))
    broken = attrs.evolve(
        order,
        rows=(attrs.evolve(order.rows[3], amount=Decimal("97.00")), *order.rows[4:]),
    )
    with pytest.raises(MappingError) as info:
        convert.order_to_vendre(broken, lookups)
    assert info.value.paths == ("$.Artiklar[0]['Belopp inkl.moms']", "$['Belopp inkl.moms']")


@pytest.mark.parametrize("number", ["0100234", "W100234", "0", ""])
def test_order_numbers_must_be_vendre_ids(
    number: str, order_doc: dict[str, Any], lookups: Lookups
) -> None:
    """Only canonical positive numbers come back as Vendre ids (no silent '0100234' → 100234)."""
    order = attrs.evolve(bex.load_order(to_bex(order_doc, lookups)), number=number)
    with pytest.raises(MappingError) as info:
        convert.order_to_vendre(order, lookups)
    assert info.value.paths == ("$.Ordernr",)


def test_null_gift_cards_are_none(order_doc: dict[str, Any], lookups: Lookups) -> None:
    """gift_cards: null is the same as no gift cards."""
    order_doc["gift_cards"] = None
    order_doc["totals"] = [t for t in order_doc["totals"] if t["class"] != "ot_giftcard"]
    order_doc["totals"][-1]["value"] = "4183.0000"
    assert vendre.load_order(json.dumps(order_doc)).gift_cards == ()
    assert len(to_bex(order_doc, lookups)["Butik & webbetalningar"]) == 1


# --- issue 16: what a converter accepts, its side's dumper writes -----------------------------


def _with_offset_rows(order_doc: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """The example order with ``row`` and a credit row that offsets it, first: the totals
    still add up, whatever the row's size."""
    doc = json.loads(json.dumps(order_doc))
    credit = {**row, "price": str(-Decimal(row["price"]))}
    doc["products"][:0] = [row, credit]
    return doc


def _converts_to_what_bex_takes(doc: dict[str, Any], lookups: Lookups) -> bool:
    """order_to_bex refuses the order with a MappingError, or gives one that dumps and loads."""
    try:
        converted = convert.order_to_bex(vendre.load_order(json.dumps(doc)), lookups)
    except MappingError:
        return False
    assert bex.load_order(bex.dumps_order(converted)) == converted
    assert bex.dump_order(converted)["Ordernr"] == "100234"
    return True


def test_an_offsetting_row_of_10_to_the_30_is_refused_by_the_converter(
    order_doc: dict[str, Any], lookups: Lookups
) -> None:
    """A quantity of 10^30 and a negative row that offsets it: the totals add up, but no Bex
    row can hold it. The converter refuses it (so the sync quarantines the order) rather than
    leave bex.dumps_order to fail on every run."""
    row = {"quantity": 10**30, "model": "GIFTBOX", "name": "x", "price": "0.8000", "tax": "25"}
    with pytest.raises(MappingError) as info:
        convert.order_to_bex(
            vendre.load_order(json.dumps(_with_offset_rows(order_doc, row))), lookups
        )
    assert info.value.problems == (  # and no totals check of rows that cannot be added up
        Problem("$.products[0].quantity", f"{10**30} is out of range (at most 15 digits)"),
        Problem("$.products[1].quantity", f"{10**30} is out of range (at most 15 digits)"),
    )


@pytest.mark.parametrize(
    ("quantity", "price", "tax", "converts"),
    [
        (999_999_999_999_999, "0.0000", "0.0000", True),  # the largest quantity, free
        (10**15, "0.0000", "0.0000", False),
        (1, "799999999999999.9920", "25.0000", True),  # 999,999,999,999,999.99 incl. VAT
        (1, "800000000000000.0000", "25.0000", False),  # 10^15 including VAT
        (1, "999999999999999.9999", "100.0000", False),
        (2, "400000000000000.0000", "25.0000", False),  # a row amount of 10^15
        (10**40, "0.0001", "0.0000", False),
        (3, "-300000000000000.0000", "0.0000", True),  # a credit row
    ],
)
def test_extreme_rows_convert_to_what_bex_takes_or_are_refused(  # noqa: PLR0917
    quantity: int,
    price: str,
    tax: str,
    converts: bool,
    order_doc: dict[str, Any],
    lookups: Lookups,
) -> None:
    """Quantities and prices at and past the bounds: the order is refused with a
    MappingError, or it dumps and loads back (issue 16, fault 5)."""
    row = {"quantity": quantity, "model": "GIFTBOX", "name": "x", "price": price, "tax": tax}
    assert _converts_to_what_bex_takes(_with_offset_rows(order_doc, row), lookups) is converts


def test_rows_that_add_up_beyond_an_amount_are_refused(
    order_doc: dict[str, Any], lookups: Lookups
) -> None:
    """Two rows in range, paid by two gift cards in range, whose sum (the Bex order's
    Belopp inkl.moms) is not."""
    big = "700000000000000.0000"
    row = {"quantity": 1, "model": "GIFTBOX", "name": "x", "price": big, "tax": "0"}
    card = {"code": "PK-1", "amount": big, "reservation_id": "RES-1"}
    order_doc["products"][:0] = [row, row]
    order_doc["gift_cards"] += [card, card]
    with pytest.raises(MappingError) as info:
        convert.order_to_bex(vendre.load_order(json.dumps(order_doc)), lookups)
    assert info.value.problems == (
        Problem(
            "$.totals",
            "the rows add up to 1400000000004183.00: out of range (at most 15 integer digits)",
        ),
    )


@settings(max_examples=150)
@given(
    quantity=st.integers(1, 10**32),
    cents=st.integers(-(10**18), 10**18),
    tax=st.sampled_from(["0", "6", "25", "100"]),
)
def test_whatever_order_to_bex_accepts_bex_dumps(quantity: int, cents: int, tax: str) -> None:
    """Law (issue 16): an order that converts is one that bex.dumps_order writes and
    bex.load_order reads back; any other is refused with a MappingError."""
    order_doc = json.loads((EXAMPLES / "vendre-order.json").read_bytes())
    price = str(Decimal(cents).scaleb(-4))
    row = {"quantity": quantity, "model": "GIFTBOX", "name": "x", "price": price, "tax": tax}
    _converts_to_what_bex_takes(_with_offset_rows(order_doc, row), LOOKUPS)


def test_order_to_vendre_refuses_totals_beyond_an_amount(
    order_doc: dict[str, Any], lookups: Lookups
) -> None:
    """Bex rows in range whose Vendre subtotal is not: refused, not left for Vendre's loader."""
    order = bex.load_order(to_bex(order_doc, lookups))
    big = Decimal("700000000000000.00")
    rows = tuple(
        attrs.evolve(order.rows[3], quantity=1, price=big, amount=big, vat_rate=Decimal(0))
        for _ in range(2)
    )
    web = attrs.evolve(order.payments[0], amount=2 * big - Decimal("500.00"))
    huge = attrs.evolve(order, rows=rows, payments=(web, order.payments[1]), total=2 * big)
    with pytest.raises(MappingError) as info:
        convert.order_to_vendre(huge, lookups)
    assert "$.Artiklar" in info.value.paths
    assert "the ot_subtotal would be 1400000000000000.0000" in str(info.value)


# --- issue 16: a gift card pays more than 0 -----------------------------------------------


@pytest.mark.parametrize(("amount", "shown"), [("-10.0000", "'-10.0000'"), ("0", "'0.0000'")])
def test_a_gift_card_must_pay_more_than_zero(
    amount: str, shown: str, order_doc: dict[str, Any]
) -> None:
    """A -10.00 (or 0) PRESENTKORT payment never reaches Bex: the order does not load."""
    order_doc["gift_cards"][0]["amount"] = amount
    with pytest.raises(MappingError) as info:
        vendre.load_order(json.dumps(order_doc))
    assert info.value.problems == (
        Problem("$.gift_cards[0].amount", f"must be more than 0, got {shown}"),
    )


def test_a_gift_card_built_by_hand_must_pay_more_than_zero(
    order_doc: dict[str, Any], lookups: Lookups
) -> None:
    """The converter holds a model built by hand to the same rule, and the totals check
    cannot pass it: -10.00 of gift card and 10.00 more on the web payment add up."""
    order = vendre.load_order(json.dumps(order_doc))
    card = attrs.evolve(order.gift_cards[0], amount=Decimal("-10.0000"))
    total = attrs.evolve(order.totals[-1], value=Decimal("4193.0000"))
    negative = attrs.evolve(order, gift_cards=(card,), totals=(*order.totals[:-1], total))
    with pytest.raises(MappingError) as info:
        convert.order_to_bex(negative, lookups)
    assert info.value.problems == (
        Problem("$.gift_cards[0].amount", "must be more than 0, got '-10.0000'"),
    )


@pytest.mark.parametrize("amount", ["-10.00", "0.00"])
def test_a_bex_gift_card_payment_must_be_more_than_zero(
    amount: str, order_doc: dict[str, Any], lookups: Lookups
) -> None:
    """Bex → Vendre: a PRESENTKORT payment of 0 or less is no gift card use."""
    document = to_bex(order_doc, lookups)
    document["Butik & webbetalningar"][1]["Belopp"] = amount
    document["Butik & webbetalningar"][0]["Belopp"] = str(Decimal("4183.00") - Decimal(amount))
    with pytest.raises(MappingError) as info:
        convert.order_to_vendre(bex.load_order(json.dumps(document)), lookups)
    assert info.value.problems == (
        Problem(
            "$['Butik & webbetalningar'][1].Belopp",
            f"a gift card pays more than 0, got {str(Decimal(amount))!r}",
        ),
    )


def test_many_problems_of_a_conversion_are_bounded(
    order_doc: dict[str, Any], lookups: Lookups
) -> None:
    """5,000 rows with a VAT rate Bex cannot write: 1,000 problems and a count of the rest."""
    row = {"quantity": 1, "model": "GIFTBOX", "name": "x", "price": "1.0000", "tax": "25.0010"}
    order_doc["products"] = [row] * 5000
    with pytest.raises(MappingError) as info:
        convert.order_to_bex(vendre.load_order(json.dumps(order_doc)), lookups)
    problems = info.value.problems
    assert len(problems) == MappingError.MAX_PROBLEMS + 1
    assert problems[0] == Problem(
        "$.products[0].tax", "25.0010 cannot be written with 2 decimals without rounding"
    )
    assert problems[-1] == Problem("$", "... and 4,001 more problems")  # and the totals


# --- Unknown currencies, odd totals and payments, block copiers, fee rows -------------------------


EXAMPLE = Lookups.from_toml(EXAMPLES / "lookups.toml")


EXAMPLE_ORDER = (EXAMPLES / "vendre-order.json").read_bytes()


def gift_card_payment(amount: str = "100.00") -> dict[str, Any]:
    return {
        "Externt dokumentnr": "PK-4000-1234",
        "Transnr": "R000001",
        "Datum": "2026-03-02 10:16:12",
        "Kod": "PRESENTKORT",
        "Belopp": amount,
    }


def test_an_order_in_an_unknown_currency_names_the_closest(lookups: Lookups) -> None:
    """A currency without known minor units is an unknown code, both ways, at its path."""
    with pytest.raises(UnknownCodeError) as to_bex:
        convert.order_to_bex(vendre.load_order(vendre_order_doc(currency="SEX")), lookups)
    assert to_bex.value.table == "currencies"
    assert to_bex.value.paths == ("$.currency",)
    assert "SEK" in to_bex.value.closest
    with pytest.raises(UnknownCodeError) as to_vendre:
        convert.order_to_vendre(bex.load_order(bex_order_doc(Valuta="SEX")), lookups)
    assert to_vendre.value.paths == ("$.Valuta",)


def test_a_second_ot_total_is_a_problem(lookups: Lookups) -> None:
    """An order with two ot_total lines is refused at the second one."""
    doc = vendre_order_doc()
    doc["totals"].append({"class": "ot_total", "title": "Totalt", "value": "999.0000"})
    with pytest.raises(MappingError) as caught:
        convert.order_to_bex(vendre.load_order(doc), lookups)
    assert problems_of(caught.value) == [("$.totals[3].class", "a second ot_total")]


def test_a_bex_order_paid_with_gift_cards_only_has_no_web_payment(lookups: Lookups) -> None:
    """Vendre orders need one web payment: a Bex order with only gift cards does not convert."""
    doc = bex_order_doc()
    doc["Butik & webbetalningar"] = [gift_card_payment("999.00")]
    with pytest.raises(MappingError) as caught:
        convert.order_to_vendre(bex.load_order(doc), lookups)
    assert problems_of(caught.value) == [
        ("$['Butik & webbetalningar']", "no web payment (only gift cards)")
    ]


def test_a_second_web_payment_is_a_problem(lookups: Lookups) -> None:
    """Two payments that are not gift cards: the second is named, with its code."""
    doc = bex_order_doc()
    second = {**doc["Butik & webbetalningar"][0], "Kod": "SWISH"}
    doc["Butik & webbetalningar"] += [gift_card_payment(), second]
    with pytest.raises(MappingError) as caught:
        convert.order_to_vendre(bex.load_order(doc), lookups)
    assert problems_of(caught.value) == [
        (
            "$['Butik & webbetalningar'][2].Kod",
            "a second web payment ('SWISH'); Vendre orders have one",
        )
    ]


def test_a_constructed_row_with_a_bad_model_code_does_not_convert(lookups: Lookups) -> None:
    """Models do not re-validate: a row with a size group but no size fails the conversion."""
    order = bex_order()
    row = attrs.evolve(order.rows[0], size=None)
    with pytest.raises(ModelCodeError) as caught:
        convert.order_to_vendre(attrs.evolve(order, rows=(row,)), lookups)
    assert "invalid model code '1001_SKO': a size group without a size" in str(caught.value)
    assert caught.value.paths == ("$.Artiklar[0]",)


def test_an_amount_beyond_decimal_precision_is_a_problem(lookups: Lookups) -> None:
    """A constructed total too large for Decimal's precision is reported, not a crash."""
    order = vendre.load_order(vendre_order_doc())
    fee = vendre.Total(class_="ot_payment", title="Avgift", value=Decimal("1E+30"))
    huge = attrs.evolve(order, totals=(order.totals[0], fee, *order.totals[1:]))
    with pytest.raises(MappingError) as caught:
        convert.order_to_bex(huge, lookups)
    assert problems_of(caught.value)[0] == (
        "$.totals[1].value",
        "1E+30 cannot be written with 2 decimals without rounding",
    )
    assert caught.value.paths == ("$.totals[1].value", "$.totals")


ORDER_BLOCKS = [
    ("billing_address", "Faktureras", vendre.Address, bex.InvoiceAddress),
    ("customer_address", "Beställare", vendre.CustomerAddress, bex.Orderer),
    ("delivery_address", "Leveransadress", vendre.Address, bex.DeliveryAddress),
    ("payment", "Butik & webbetalningar[0]", vendre.Payment, bex.Payment),
]


def _copied_block(  # noqa: PLR0917
    data: st.DataObject, v: str, b: str, target: type, to_bex: bool, whole: bool
) -> tuple[dict[str, Any], Any]:
    """A drawn order's block ``v`` (or its Bex side's): copy_block's mapping of it into
    ``target`` and what ``block_copier(..., whole=whole)`` gives of it."""
    order = data.draw(strategies.vendre_orders_for(EXAMPLE))
    source: Any = getattr(order, v)
    if not to_bex:
        bex_order = convert.order_to_bex(order, EXAMPLE)
        source = {
            "billing_address": bex_order.invoice_address,
            "customer_address": bex_order.orderer,
            "delivery_address": bex_order.delivery_address,
            "payment": bex_order.payments[0],
        }[v]
    prefixes = {"vendre_prefix": f"{v}.", "bex_prefix": f"{b}."}
    as_dict = copy_block(
        ORDER,
        source,
        target,
        to_bex=to_bex,
        **prefixes,
        lookups=EXAMPLE,
        problems=Problems(),
        path="$",
    )
    copy = block_copier(ORDER, type(source), target, to_bex=to_bex, **prefixes, whole=whole)
    return as_dict, copy(source, EXAMPLE, Problems(), "$")


# Every block as keyword arguments; the address blocks also whole (the payment's lacks its
# amount).
COPIES = [(*block, False) for block in ORDER_BLOCKS] + [(*b, True) for b in ORDER_BLOCKS[:3]]


@pytest.mark.parametrize(("v", "b", "vendre_cls", "bex_cls", "whole"), COPIES)
@pytest.mark.parametrize("to_bex", [True, False])
@settings(max_examples=25)
@given(data=st.data())
def test_block_copiers_give_what_copy_block_gives(  # noqa: PLR0917
    v: str,
    b: str,
    vendre_cls: type,
    bex_cls: type,
    whole: bool,
    to_bex: bool,
    data: st.DataObject,
) -> None:
    """The builder's keyword arguments are what copy_block gives; with whole=True, an
    address block's copy is the target model itself."""
    target = bex_cls if to_bex else vendre_cls
    as_dict, copied = _copied_block(data, v, b, target, to_bex, whole=whole)
    if whole:
        assert type(copied) is target
        assert copied == target(**as_dict)
        return
    assert copied == as_dict


# A field map whose block skips a required field of the target; the order's own map.
PARTIAL = attrs.evolve(
    ORDER,
    name="partial",
    rules=(
        FieldRule("billing_address.name", "Faktureras.Namn", "copy"),
        FieldRule("billing_address.city", "Faktureras.Ort", "copy"),
    ),
)


@pytest.mark.parametrize(
    ("entity", "source", "target", "prefixes", "whole", "missing"),
    [
        (
            PARTIAL,
            vendre.Address,
            bex.InvoiceAddress,
            ("billing_address", "Faktureras"),
            True,
            "InvoiceAddress.address",
        ),
        # The payment block has no amount: its copy gives arguments, never a whole model.
        (
            ORDER,
            vendre.Payment,
            bex.Payment,
            ("payment", "Butik & webbetalningar[0]"),
            True,
            "Payment.amount",
        ),
    ],
)
def test_a_block_leaving_a_required_field_out_is_refused(  # noqa: PLR0917
    entity: Any, source: type, target: type, prefixes: tuple[str, str], whole: bool, missing: str
) -> None:
    """A block that cannot build its whole target is refused (as keyword arguments, the
    caller gives the rest)."""
    with pytest.raises(TypeError, match=re.escape(missing)):
        block_copier(
            entity,
            source,
            target,
            to_bex=True,
            vendre_prefix=f"{prefixes[0]}.",
            bex_prefix=f"{prefixes[1]}.",
            whole=whole,
        )


@pytest.mark.parametrize(("rate", "written"), [("25", "25.00"), ("12.5", "12.50"), ("0", "0.00")])
def test_fee_rows_carry_the_fee_rate_with_two_decimals(rate: str, written: str) -> None:
    """Decimal(25) as the fee rate gives Moms 25.00 on every fee row, as Bex writes it."""
    lookups = attrs.evolve(
        EXAMPLE, settings=attrs.evolve(EXAMPLE.settings, fee_tax_rate=Decimal(rate))
    )
    order = convert.order_to_bex(vendre.load_order(EXAMPLE_ORDER), lookups)
    fees = [row for row in order.rows if row.article in {"PNMC", "RABATT", "AVGIFT"}]
    assert len(fees) == 3
    assert {str(row.vat_rate) for row in fees} == {written}


def test_each_conversion_uses_its_own_lookups_fee_rate() -> None:
    """Lookups with other fee rates, one after the other: each order has its own Moms."""
    order = vendre.load_order(EXAMPLE_ORDER)
    written = []
    for rate in ("25", "12.5", "25", "12.345", "25.00"):
        lookups = attrs.evolve(
            EXAMPLE, settings=attrs.evolve(EXAMPLE.settings, fee_tax_rate=Decimal(rate))
        )
        rows = convert.order_to_bex(order, lookups).rows
        written.append({str(row.vat_rate) for row in rows if row.article == "PNMC"})
    assert written == [{"25.00"}, {"12.50"}, {"25.00"}, {"12.345"}, {"25.00"}]


def test_a_fee_rate_with_more_decimals_is_kept_for_the_dumper_to_refuse() -> None:
    """A rate Bex cannot write is not rounded silently: dumping the order names the field."""
    lookups = attrs.evolve(
        EXAMPLE, settings=attrs.evolve(EXAMPLE.settings, fee_tax_rate=Decimal("12.345"))
    )
    order = convert.order_to_bex(vendre.load_order(EXAMPLE_ORDER), lookups)
    assert {row.vat_rate for row in order.rows if row.article == "PNMC"} == {Decimal("12.345")}
    with pytest.raises(MappingError, match="Moms"):
        bex.dump_order(order)


def test_the_rebuilt_tax_is_rounded_once_per_vat_rate() -> None:
    """ot_tax sums the VAT of each rate's rows, rounded once per rate (25 and 25.00 are one)."""

    def row(article: str, rate: str) -> dict[str, Any]:
        return {
            "Artikelnr": article,
            "Antal": 1,
            "Beskrivning": article,
            "Pris": "0.03",
            "Moms": rate,
            "Belopp inkl.moms": "0.03",
        }

    rows = [row("A1", "25.00"), row("A2", "6.00"), row("A3", "25")]
    document = bex_order_doc(
        Artiklar=rows,
        **{"Belopp inkl.moms": "0.09"},
        **{
            "Butik & webbetalningar": [
                {**bex_order_doc()["Butik & webbetalningar"][0], "Belopp": "0.09"}
            ]
        },
    )
    order = bex.load_order(document)  # loading writes Moms "25" as 25.00
    order = attrs.evolve(
        order, rows=(*order.rows[:2], attrs.evolve(order.rows[2], vat_rate=Decimal(25)))
    )
    back = convert.order_to_vendre(order, EXAMPLE)
    tax = {total.class_: total.value for total in back.totals}["ot_tax"]
    # 25 %: 0.06 × 25/125 = 0.012 → 0.01 (row by row, or 25 apart from 25.00: 2 × 0.01);
    # 6 %: 0.03 × 6/106 = 0.0017 → 0.00
    assert tax == Decimal("0.01")


def test_an_order_dated_in_epoch_seconds_converts_to_the_shops_wall_clock() -> None:
    """Vendre's API sends `date_added: 1777993984`; Bex gets the Stockholm wall clock."""
    document = json.loads((EXAMPLES / "vendre-order.json").read_bytes())
    document["date_added"] = 1777993984
    order = vendre.load_order(json.dumps(document).encode())
    written = bex.dump_order(convert.order_to_bex(order, EXAMPLE))
    assert written["Orderdatum"] == "2026-05-05 17:13:04"


def test_final_price_is_the_unit_price_when_present(
    order_doc: dict[str, Any], lookups: Lookups
) -> None:
    """An order product's final_price ("the price of the product" in Vendre's words, after
    attribute values and discounts) is the Bex unit price; price is used without it."""
    plain = to_bex(order_doc, lookups)
    first = order_doc["products"][0]
    first["final_price"] = Decimal(str(first["price"])) + Decimal(8)  # an attribute's surcharge
    first["price"] = 1  # before attribute values: not what the customer paid
    rate = Decimal(str(first["tax"]))
    surcharge = (8 * (1 + rate / 100)).quantize(Decimal("0.01"))
    for total in order_doc["totals"]:
        if total["class"] in ("ot_subtotal", "ot_total"):
            total["value"] = Decimal(str(total["value"])) + first["quantity"] * surcharge
    converted = bex.dump_order(convert.order_to_bex(vendre.load_order(order_doc), lookups))
    row = converted["Artiklar"][0]
    assert Decimal(row["Pris"]) == Decimal(plain["Artiklar"][0]["Pris"]) + surcharge
