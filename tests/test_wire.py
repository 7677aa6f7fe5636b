"""Wire formats of both systems: exact keys, round trips, and every problem with its path."""

from __future__ import annotations

import copy
import json
import pickle
import types
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.http_support import bex_article_doc, bex_order_doc
from tests.support import problems_of

from bexvendre_mapping import (
    Lookups,
    MappingError,
    ModelCode,
    ModelCodeError,
    Problem,
    TotalsMismatchError,
    UnknownCodeError,
    bex,
    convert,
    vendre,
)
from bexvendre_mapping import testing as strategies
from bexvendre_mapping._wire import child_path

# (strategy, load, dump, dumps) for every entity of SPEC §3.
ENTITIES: dict[
    str, tuple[st.SearchStrategy[Any], Callable[..., Any], Callable[..., Any], Callable[..., bytes]]
] = {
    "vendre.order": (
        strategies.vendre_orders(),
        vendre.load_order,
        vendre.dump_order,
        vendre.dumps_order,
    ),
    "vendre.product": (
        strategies.vendre_products(),
        vendre.load_product,
        vendre.dump_product,
        vendre.dumps_product,
    ),
    "vendre.stock_update": (
        strategies.vendre_stock_updates(),
        vendre.load_stock_update,
        vendre.dump_stock_update,
        vendre.dumps_stock_update,
    ),
    "vendre.order_status_update": (
        strategies.vendre_order_status_updates(),
        vendre.load_order_status_update,
        vendre.dump_order_status_update,
        vendre.dumps_order_status_update,
    ),
    "vendre.gift_card": (
        strategies.vendre_gift_cards(),
        vendre.load_gift_card,
        vendre.dump_gift_card,
        vendre.dumps_gift_card,
    ),
    "vendre.bonus_balance": (
        strategies.vendre_bonus_balances(),
        vendre.load_bonus_balance,
        vendre.dump_bonus_balance,
        vendre.dumps_bonus_balance,
    ),
    "bex.order": (strategies.bex_orders(), bex.load_order, bex.dump_order, bex.dumps_order),
    "bex.row": (strategies.bex_rows(), bex.load_row, bex.dump_row, bex.dumps_row),
    "bex.article": (
        strategies.bex_articles(),
        bex.load_article,
        bex.dump_article,
        bex.dumps_article,
    ),
    "bex.stock": (strategies.bex_stock(), bex.load_stock, bex.dump_stock, bex.dumps_stock),
    "bex.order_status": (
        strategies.bex_order_statuses(),
        bex.load_order_status,
        bex.dump_order_status,
        bex.dumps_order_status,
    ),
    "bex.gift_card": (
        strategies.bex_gift_cards(),
        bex.load_gift_card,
        bex.dump_gift_card,
        bex.dumps_gift_card,
    ),
    "bex.gift_card_reservation": (
        strategies.bex_gift_card_reservations(),
        bex.load_gift_card_reservation,
        bex.dump_gift_card_reservation,
        bex.dumps_gift_card_reservation,
    ),
    "bex.bonus_balance": (
        strategies.bex_bonus_balances(),
        bex.load_bonus_balance,
        bex.dump_bonus_balance,
        bex.dumps_bonus_balance,
    ),
}


def walk(value: Any) -> list[Any]:
    """Every scalar in a dumped document."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in walk(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in walk(item)]
    return [value]


@pytest.mark.parametrize("name", sorted(ENTITIES))
@given(data=st.data())
def test_load_of_dump_is_the_model(name: str, data: st.DataObject) -> None:
    """Law: loading a dumped model gives an equal model, even in strict mode."""
    strategy, load, _, dumps = ENTITIES[name]
    model = data.draw(strategy)
    assert load(dumps(model), strict=True) == model


@pytest.mark.parametrize("name", sorted(ENTITIES))
@given(data=st.data())
def test_dump_of_load_is_the_document(name: str, data: st.DataObject) -> None:
    """Law: dumping a loaded document gives the document back; no float anywhere (Vendre's
    money is a JSON number, read back exactly as a Decimal)."""
    strategy, load, dump, dumps = ENTITIES[name]
    document = json.loads(dumps(data.draw(strategy)), parse_float=Decimal)
    assert dump(load(document)) == document
    assert not any(isinstance(leaf, float) for leaf in walk(dump(load(document))))


# --- exact wire keys --------------------------------------------------------------------------

BEX_ORDER = {
    "Ordernr": "100234",
    "Orderdatum": "2026-10-25 02:30:00",
    "Kundnr": "5512",
    "Valuta": "SEK",
    "Valutakod": "1.00000000",
    "Faktureras": {
        "Namn": "A",
        "Adress": "B",
        "Adress2": "",
        "Postnr": "411 38",
        "Ort": "Göteborg",
        "Land": "SE",
    },
    "Beställare": {
        "Namn": "A",
        "Adress": "B",
        "Adress2": "C",
        "PostNr": "411 38",
        "Ort": "Göteborg",
        "Epost": "a@example.se",
        "Tel": "031",
        "Mobil": "070",
    },
    "Leveransadress": {
        "Namn": "A",
        "Adress": "B",
        "Adress2": "",
        "Postkod": "832 94",
        "Ort": "Åre",
        "Landskod": "SE",
    },
    "Butik & webbetalningar": [
        {
            "Externt dokumentnr": "KL-1",
            "Transnr": "T-1",
            "Datum": "2026-10-25 02:31:12",
            "Kod": "KLARNA",
            "Belopp": "99.00",
        }
    ],
    "Artiklar": [
        {
            "Artikelnr": "1001",
            "Storleksgrupp": "SKO",
            "Storlek": "42",
            "Antal": 1,
            "Beskrivning": "Löparsko",
            "Pris": "99.00",
            "Moms": "25.00",
            "Belopp inkl.moms": "99.00",
        }
    ],
    "FraktID": "PNMC",
    "Belopp inkl.moms": "99.00",
}


def test_bex_order_keys_are_exactly_the_seeds() -> None:
    """Swedish letters, spaces and the seed's capitalisation (PostNr, Postkod) are kept."""
    order = bex.load_order(BEX_ORDER, strict=True)
    assert bex.dump_order(order) == BEX_ORDER
    assert order.orderer.postcode == "411 38"
    assert order.rows[0].model_code == ModelCode("1001", "SKO", "42")
    assert order.payments[0].amount == Decimal("99.00")


def test_bex_order_dumps_compact_utf8() -> None:
    """dumps writes compact UTF-8 JSON, Swedish letters unescaped."""
    raw = bex.dumps_order(bex.load_order(BEX_ORDER))
    assert "Beställare".encode() in raw
    assert b": " not in raw
    assert json.loads(raw) == BEX_ORDER


def test_example_documents_load_strictly(examples: Path) -> None:
    """The shipped examples are valid documents with no unknown keys."""
    order = vendre.load_order((examples / "vendre-order.json").read_bytes(), strict=True)
    assert [str(p.model) for p in order.products] == [
        "1001_SKO_42",
        "1001_SKO_43",
        "JKT_001_KL_M",
        "GIFTBOX",
        "BOK-17",
    ]
    article = bex.load_article((examples / "bex-article.json").read_text("utf-8"), strict=True)
    assert [s.size for s in article.sizes] == ["40", "41", "42", "43", "44"]
    for row in json.loads((examples / "bex-stock.json").read_bytes()):
        bex.load_stock(row, strict=True)


def test_amounts_dump_as_numbers_for_vendre_and_strings_for_bex() -> None:
    """Vendre's money is a JSON number (as its API sends it), Bex's a string with 2
    decimals; JSON numbers load exactly, never through a float."""
    update = vendre.load_order_product(
        b'{"quantity": 1, "model": "GIFTBOX", "name": "x", "price": 39.2, "tax": 25,'
        b' "final_price": 0.1000}'
    )
    assert vendre.dump_order_product(update)["price"] == Decimal("39.2")
    assert str(vendre.dump_order_product(update)["tax"]) == "25"
    assert vendre.dumps_order_product(update) == (
        b'{"quantity":1,"model":"GIFTBOX","name":"x","price":39.2,"tax":25,"final_price":0.1}'
    )
    assert (
        vendre.dumps_order_product(attrs.evolve(update, price=Decimal("-0.0000"))).count(
            b'"price":0,'
        )
        == 1
    )
    row = bex.load_row(
        {
            "Artikelnr": "A",
            "Antal": 2,
            "Beskrivning": "x",
            "Pris": 0.1,
            "Moms": "25",
            "Belopp inkl.moms": "0.2",
        }
    )
    assert bex.dump_row(row)["Pris"] == "0.10"


def test_absent_optional_fields_load_as_none_and_are_omitted() -> None:
    """Optional fields absent from a document are None, and dumps leave them out."""
    stock = bex.load_stock({"Artikelnr": "GIFTBOX", "Lagerantal": 3})
    assert (stock.size_group, stock.size) == (None, None)
    assert bex.dump_stock(stock) == {"Artikelnr": "GIFTBOX", "Lagerantal": 3}


def test_unknown_keys_are_ignored_unless_strict() -> None:
    """Real payloads carry more fields: ignored by default, rejected with strict=True."""
    doc = {"id": 5, "status": 3, "extra": {"nested": True}}
    assert vendre.load_order_status_update(doc) == vendre.OrderStatusUpdate(id=5, status=3)
    with pytest.raises(MappingError) as info:
        vendre.load_order_status_update(doc, strict=True)
    assert info.value.paths == ("$.extra",)


def test_dump_refuses_amounts_that_do_not_fit_the_wire() -> None:
    """A model amount with more decimals than the wire holds is an error, not rounded away."""
    row = bex.load_row(
        {
            "Artikelnr": "A",
            "Antal": 1,
            "Beskrivning": "x",
            "Pris": "1.00",
            "Moms": "25",
            "Belopp inkl.moms": "1.00",
        }
    )
    with pytest.raises(MappingError, match="Pris"):
        bex.dump_row(attrs.evolve(row, price=Decimal("1.005")))


def test_dump_rejects_models_of_another_class() -> None:
    """Passing the wrong model is a programming error (TypeError), not bad data."""
    with pytest.raises(TypeError):
        bex.dump_order(vendre.OrderStatusUpdate(id=1, status=1))  # type: ignore[arg-type]


# --- every problem at once, with its path --------------------------------------------------------


def test_every_problem_is_reported_with_its_path(examples: Path) -> None:
    """Problems in nested blocks and lists are all reported, in document order."""
    doc = json.loads((examples / "vendre-order.json").read_bytes())
    doc["id"] = "abc"
    doc["billing_address"]["country_id"] = None
    del doc["customer_address"]["city"]
    doc["products"][2]["model"] = "1001__42"
    doc["products"][3]["quantity"] = 0
    doc["products"][4]["price"] = "NaN"
    doc["totals"][1]["value"] = 1.23456
    doc["gift_cards"] = {"code": "x"}
    with pytest.raises(MappingError) as info:
        vendre.load_order(json.dumps(doc))
    assert info.value.paths == (
        "$.id",
        "$.billing_address.country_id",
        "$.customer_address.city",
        "$.products[2].model",
        "$.products[3].quantity",
        "$.products[4].price",
        "$.totals[1].value",
        "$.gift_cards",
    )
    messages = {p.path: p.message for p in info.value.problems}
    assert "'abc'" in messages["$.id"]
    assert "'1001__42'" in messages["$.products[2].model"]
    assert messages["$.customer_address.city"] == "required field is missing"


def test_bex_paths_use_bracket_notation_for_keys_with_spaces() -> None:
    """Keys with spaces or '&' are quoted in the path: $['Butik & webbetalningar'][0]."""
    doc = json.loads(json.dumps(BEX_ORDER))
    doc["Butik & webbetalningar"][0]["Belopp"] = "x"
    doc["Artiklar"][0]["Belopp inkl.moms"] = None
    doc["Artiklar"][0]["Storlek"] = None
    with pytest.raises(MappingError) as info:
        bex.load_order(doc)
    assert info.value.paths == (
        "$['Butik & webbetalningar'][0].Belopp",
        "$.Artiklar[0]['Belopp inkl.moms']",
        "$.Artiklar[0].Storlek",  # the model code's check runs on the parts that loaded
    )
    doc["Artiklar"][0]["Belopp inkl.moms"] = "99.00"
    with pytest.raises(MappingError) as info:
        bex.load_order(doc)
    assert info.value.paths == ("$['Butik & webbetalningar'][0].Belopp", "$.Artiklar[0].Storlek")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b'{"id": 1,', "invalid JSON"),
        (b"[]", "expected an object"),
        (b"null", "expected an object"),
        ("9" * 5000, "invalid JSON"),
        ("[" * 100_000, "invalid JSON"),
    ],
)
def test_broken_documents_are_mapping_errors(raw: bytes | str, fragment: str) -> None:
    """Undecodable, truncated, absurdly nested or non-object input: one clear error at $."""
    with pytest.raises(MappingError) as info:
        vendre.load_order(raw)
    assert fragment in str(info.value)


def test_other_input_types_are_mapping_errors() -> None:
    """Only bytes, str or a mapping are documents."""
    with pytest.raises(MappingError):
        vendre.load_order(12)  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@pytest.mark.parametrize("name", sorted(ENTITIES))
@given(data=st.data())
def test_garbage_raises_only_mapping_errors(name: str, data: st.DataObject) -> None:
    """Any JSON value either loads or raises MappingError; nothing else escapes."""
    load = ENTITIES[name][1]
    value = data.draw(json_values)
    try:
        load(value if isinstance(value, dict) else json.dumps(value))
    except MappingError as exc:
        assert exc.problems
        assert all(p.path.startswith("$") for p in exc.problems)


def mutate(document: Any, data: st.DataObject) -> Any:
    """Replace one value somewhere in a document with garbage."""
    if isinstance(document, dict) and document:
        key = data.draw(st.sampled_from(sorted(document)))
        if data.draw(st.booleans()):
            return {**document, key: mutate(document[key], data)}
        return {**document, key: data.draw(json_values)}
    if isinstance(document, list) and document:
        index = data.draw(st.integers(0, len(document) - 1))
        return [*document[:index], mutate(document[index], data), *document[index + 1 :]]
    return data.draw(json_values)


@pytest.mark.parametrize("name", sorted(ENTITIES))
@given(data=st.data())
def test_mutated_documents_raise_only_mapping_errors(name: str, data: st.DataObject) -> None:
    """A valid document with one value broken either loads or raises MappingError."""
    strategy, load, _, dumps = ENTITIES[name]
    document = mutate(json.loads(dumps(data.draw(strategy))), data)
    try:
        load(document, strict=data.draw(st.booleans()))
    except MappingError as exc:
        assert exc.problems


def test_null_optional_fields_skip_their_checks() -> None:
    """An explicit null in an optional checked field is the same as an absent one."""
    doc = {"code": "PK", "balance": "1", "currency": "SEK", "usable": True, "status": None}
    assert vendre.load_gift_card(doc).status is None


@pytest.mark.parametrize("text", ["--5", "-", "5-", "1e3", " 7"])
def test_integer_strings_are_plain_digits(text: str) -> None:
    """Only an optional '-' and ASCII digits make an integer string; anything else says so."""
    with pytest.raises(MappingError) as info:
        vendre.load_order_status_update({"id": 5, "status": text})
    assert str(info.value) == f"$.status: expected an integer, got {text!r}"


def test_the_seeds_spelling_of_belopp_inkl_moms() -> None:
    """The key is the seed's 'Belopp inkl.moms'; SPEC §3's 'Belopp inkl. moms' loads too."""
    spec_spelling = json.loads(
        json.dumps(BEX_ORDER).replace("Belopp inkl.moms", "Belopp inkl. moms")
    )
    for strict in (False, True):
        order = bex.load_order(spec_spelling, strict=strict)
        assert order == bex.load_order(BEX_ORDER)
    assert "Belopp inkl.moms" in bex.dump_order(order)
    assert "Belopp inkl. moms" not in bex.dumps_order(order).decode()
    both = {**BEX_ORDER, "Belopp inkl. moms": "99.00"}
    with pytest.raises(MappingError) as info:
        bex.load_order(both)
    assert info.value.paths == ("$['Belopp inkl. moms']",)


# --- issue 16: bounded problem lists, byte order marks, JSON's words -------------------------


def _bad_variants(count: int) -> dict[str, Any]:
    """A Vendre product with ``count`` warehouses, each with two problems."""
    return _real_product(warehouses=[{"external_id": 5, "quantity": "x"}] * count)


@pytest.mark.parametrize("form", ["bytes", "mapping"])
def test_a_document_with_200000_problems_stops_after_the_limit(form: str) -> None:
    """400,000 problems: the first MappingError.MAX_PROBLEMS (1,000), then a note that
    checking stopped there; the rest of the list is not even looked at."""
    document = _bad_variants(200_000)
    data = json.dumps(document).encode() if form == "bytes" else document
    with pytest.raises(MappingError) as info:
        vendre.load_product(data)
    problems = info.value.problems
    assert MappingError.MAX_PROBLEMS == 1000
    assert len(problems) == 1001
    assert problems[:2] == (
        Problem("$.warehouses[0].external_id", "expected a string, got 5"),
        Problem("$.warehouses[0].quantity", "expected an integer, got 'x'"),
    )
    assert problems[-1] == Problem(
        "$.warehouses[500]", "... stopped after 1,000 problems: the rest was not checked"
    )
    assert info.value.truncated


def test_unknown_keys_past_the_limit_are_counted() -> None:
    """strict=True on 5,000 unknown keys: 1,000 named (closest known keys searched for each),
    the rest counted."""
    document = {**vendre.dump_stock_update(vendre.load_stock_update(STOCK))}
    document.update({f"extra{i:05}": i for i in range(5000)})
    with pytest.raises(MappingError) as info:
        vendre.load_stock_update(document, strict=True)
    problems = info.value.problems
    assert len(problems) == 1001
    assert problems[0] == Problem("$.extra00000", "unknown field 'extra00000'")
    assert problems[-1] == Problem("$", "... and 4,000 more problems")


def test_an_error_lists_at_most_the_limit_and_counts_the_rest() -> None:
    """An error made of 2,500 problems lists 1,000 and a note; errors gathered into one (an
    array's items, say) add up their notes, wherever their paths were moved."""
    many = [Problem(f"$[{i}]", "expected an object") for i in range(2500)]
    error = MappingError(many)
    assert error.problems == (*many[:1000], Problem("$", "... and 1,500 more problems"))
    moved = error.rebased("$[7]")
    assert moved.problems[-1] == Problem("$[7]", "... and 1,500 more problems")
    both = MappingError([*moved.problems, *moved.problems])
    assert len(both.problems) == 1001
    assert both.problems[-1] == Problem("$[7]", "... and 4,000 more problems")
    assert not MappingError(many[:1000]).truncated


STOCK = {"article_number": "1001_SKO_42", "quantity": 7, "status": 1}
BEX_STOCK = {"Artikelnr": "1001", "Storleksgrupp": "SKO", "Storlek": "42", "Lagerantal": 7}
VENDRE_ORDER = (
    Path(__file__).resolve().parent.parent / "examples" / "vendre-order.json"
).read_bytes()
BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("form", ["bytes", "str", "bytearray"])
def test_a_utf8_byte_order_mark_at_the_start_is_left_out(form: str, examples: Path) -> None:
    """RFC 8259 lets a parser ignore a BOM, which Windows tools write: the document loads."""
    raw = (examples / "vendre-order.json").read_bytes()
    data: Any = {"bytes": BOM + raw, "str": (BOM + raw).decode(), "bytearray": bytearray(BOM + raw)}
    assert vendre.load_order(data[form]) == vendre.load_order(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            BOM + BOM + b"{}",
            "$: invalid JSON at line 1 column 1: Expecting value (a byte order mark, U+FEFF: "
            "only one, at the very start, is allowed)",
        ),
        (
            b"\xff\xfe{\x00}\x00",
            "$: the document is not UTF-8: invalid start byte at byte 0 (it starts with a "
            "UTF-16 byte order mark: it is UTF-16)",
        ),
    ],
    ids=["two", "utf-16"],
)
def test_a_byte_order_mark_that_cannot_be_left_out_is_named(raw: bytes, message: str) -> None:
    """A second BOM, or UTF-16's: the error says the mark is the cause."""
    with pytest.raises(MappingError) as info:
        vendre.load_order(raw)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("value", "named"),
    [(12, "a number"), (Decimal("1.5"), "a number"), ([1, 2], "an array"), (None, "null")],
)
def test_a_value_that_is_no_object_is_named_in_json_words(value: Any, named: str) -> None:
    """An array's item handed to a loader (or any JSON value that is no object): JSON's
    words, not Python's ('got int')."""
    with pytest.raises(MappingError) as info:
        vendre.load_order(value)
    assert str(info.value) == f"$: expected a JSON object, got {named}"


def test_an_integer_too_long_to_write_is_a_mapping_error() -> None:
    """A model built by hand with an integer beyond Python's digit limit: the JSON dumper
    says where, rather than raise ValueError."""
    stock = attrs.evolve(bex.load_stock(BEX_STOCK), quantity=10**5000)
    with pytest.raises(MappingError) as info:
        bex.dumps_stock(stock)
    assert info.value.problems == (
        Problem("$.Lagerantal", "an integer of more than 4300 digits cannot be written"),
    )


def test_a_date_time_out_of_range_in_the_shops_zone_is_a_mapping_error() -> None:
    """9999-12-31 23:30 UTC is in year 10000 in Stockholm: a MappingError, not OverflowError."""
    order = vendre.load_order(VENDRE_ORDER)
    late = attrs.evolve(order, date_added=datetime(9999, 12, 31, 23, 30, tzinfo=UTC))
    for dump in (vendre.dump_order, vendre.dumps_order):
        with pytest.raises(MappingError) as info:
            dump(late)
        assert info.value.paths == ("$.date_added",)


# --- Errors, and documents of odd shapes ----------------------------------------------------------


def _real_product(**changes: Any) -> dict[str, Any]:
    """A product exactly as ``/API/1/products`` lists it (SPEC §8): every key, its type."""
    record: dict[str, Any] = {
        "id": 4711,
        "article_number": "1001",
        "ean1": "",
        "external_id": "",
        "name": {"sv": "Löparsko Aero", "en": "Running shoe Aero"},
        "description": {"sv": "<p>Lätt sko</p>", "en": ""},
        "description_short": {"sv": "", "en": ""},
        "meta_title": {"sv": "", "en": ""},
        "price": 439.2,
        "price_in": None,
        "price_rek": None,
        "price_special": None,
        "tax_class_id": 2,
        "category_ids": [12, 31],
        "category_paths": ["Skor|Löpning", "Rea"],
        "manufacturer_id": None,
        "manufacturer_name": None,
        "manufacturer_model": "",
        "quantity": 7,
        "warehouses": [{"external_id": "main", "quantity": 7, "location": None}],
        "status": True,
        "show": True,
        "stock_allow_checkout": None,
        "inactivate_stock_under_zero": None,
        "type": "st",
        "parent": 0,
        "is_parent": True,
        "child_product_ids": [4712, 4713],
        "variants": {},
        "variant_products": {},
        "images": [],
        "customer_groups": [],
        "extra": {},
        "specifications": [],
        "tag_ids": [],
        "weight": 0,
        "sort_order": 0,
        "ordered": 3,
        "date_added": 1777993984,
        "date_modified": 1777993999,
        "date_available": None,
        "actions": {
            "product_url": "https://shop.example/API/1/products/4711",
            "product_save_url": "https://shop.example/API/1/products/4711",
            "product_delete_url": "https://shop.example/API/1/products/4711",
        },
    }
    record.update(changes)
    return record


PRODUCT = _real_product()


@pytest.mark.parametrize("form", ["dict", "bytes", "str"])
def test_a_product_as_the_api_lists_it_loads(form: str) -> None:
    """Every key SPEC §8 lists, types as listed: no problem; unknown keys are read past;
    prices equal the Decimal of their JSON text; epoch dates are instants."""
    text = json.dumps(PRODUCT, ensure_ascii=False)
    data = {"dict": PRODUCT, "bytes": text.encode(), "str": text}[form]
    product = vendre.load_product(data)
    assert product.id == 4711
    assert product.price == Decimal("439.2")
    assert (product.price_in, product.manufacturer_id) == (None, None)
    assert (product.tax_class_id, product.category_ids) == (2, (12, 31))
    assert product.warehouses == (vendre.Warehouse(external_id="main", quantity=7),)
    assert (product.status, product.show, product.parent, product.is_parent) == (
        True,
        True,
        0,
        True,
    )
    assert product.child_product_ids == (4712, 4713)
    assert product.date_added is not None
    assert product.date_added.astimezone(UTC) == datetime(2026, 5, 5, 15, 13, 4, tzinfo=UTC)
    with pytest.raises(MappingError) as strictly:
        vendre.load_product(data, strict=True)
    assert "$.variants" in strictly.value.paths


def test_a_listing_page_loads_item_by_item_into_families() -> None:
    """A page's list: a parent and its sizes, each a product; families() groups them."""
    page = json.dumps(
        {
            "list": [
                PRODUCT,
                _real_product(
                    id=4712,
                    article_number="1001_SKO_40",
                    ean1="7350012340401",
                    price=439.20000,
                    parent=4711,
                    is_parent=False,
                    child_product_ids=[],
                ),
                _real_product(id=4713, article_number="1001_SKO_41", price=70, parent=4711),
                _real_product(id=5000, article_number="GIFTBOX", price_in=12.5, is_parent=False),
            ],
            "remaining": 0,
        }
    )
    items = json.loads(page, parse_float=Decimal)["list"]
    products = [vendre.load_product(item) for item in items]
    assert [p.price for p in products] == [
        Decimal("439.2"),
        Decimal("439.20000"),
        Decimal("70"),
        Decimal("439.2"),
    ]
    assert products[3].price_in == Decimal("12.5")
    families = vendre.families(products)
    assert [(f.parent.id, [c.id for c in f.children]) for f in families] == [
        (4711, [4712, 4713]),
        (5000, []),
    ]


def test_vendre_money_is_written_back_as_numbers() -> None:
    """What the shop sends (numbers) is what dumps write, exactly: no string, no float."""
    product = vendre.load_product(_real_product(price=0.1, price_in=1234567890.0123))
    body = vendre.dumps_product(product)
    assert b'"price":0.1,' in body
    assert b'"price_in":1234567890.0123,' in body
    assert json.loads(body, parse_float=Decimal)["price_in"] == Decimal("1234567890.0123")


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


def test_a_product_name_may_lack_swedish_on_the_wire() -> None:
    """A shop may name a product in one language only: it loads (product_to_bex, which
    needs the Swedish Beskrivning, says so)."""
    product = vendre.load_product({**PRODUCT, "name": {"en": "Runner"}})
    assert product.name == {"en": "Runner"}


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
    assert product.price == Decimal("439.2")


# --- Keys that are not strings, lone surrogates, and every problem at once ------------------------


ROOT = Path(__file__).resolve().parent.parent


LOOKUPS = str(ROOT / "examples" / "lookups.toml")


ORDER_PATH = ROOT / "examples" / "vendre-order.json"


LONE = "\ud800"


STOCK_DOCUMENT = {"article_number": "A", "quantity": 1, "status": 1}


def test_strict_names_keys_that_are_not_strings() -> None:
    """Unknown keys: the strings sorted first, then the others, each quoted as it is."""
    with pytest.raises(MappingError) as caught:
        vendre.load_stock_update({**STOCK_DOCUMENT, 1: 0, "x": 0, None: 0, (2, 3): 0}, strict=True)
    assert problems_of(caught.value) == [
        ("$.x", "unknown field 'x'"),
        ("$['(2, 3)']", "unknown field (2, 3): keys must be strings"),
        ("$['1']", "unknown field 1: keys must be strings"),
        ("$.None", "unknown field None: keys must be strings"),
    ]


def test_a_key_that_is_not_a_string_in_a_nested_mapping() -> None:
    order = json.loads(ORDER_PATH.read_bytes())
    order["billing_address"] = {**order["billing_address"], 7: "x"}
    with pytest.raises(MappingError) as caught:
        vendre.load_order(order, strict=True)
    assert problems_of(caught.value) == [
        ("$.billing_address['7']", "unknown field 7: keys must be strings")
    ]
    assert vendre.load_order(order).billing_address.name == "Astrid Öberg"


def test_a_lone_surrogate_in_a_mapping_at_any_depth() -> None:
    order = json.loads(ORDER_PATH.read_bytes())
    order["billing_address"]["name"] = "Astrid" + LONE
    order["products"][1]["name"] = LONE
    with pytest.raises(MappingError) as caught:
        vendre.load_order(order)
    assert problems_of(caught.value) == [
        ("$.billing_address.name", "text with a lone surrogate (\\ud800)"),
        ("$.products[1].name", "text with a lone surrogate (\\ud800)"),
    ]


def test_a_lone_surrogate_in_a_text_object_key_or_value(lookups: Lookups) -> None:
    product = json.loads(vendre.dumps_product(_a_product()))
    with pytest.raises(MappingError) as caught:
        vendre.load_product({**product, "name": {"sv": "Sko", "e" + LONE: "Shoe"}})
    assert problems_of(caught.value) == [
        ("$.name['e\\ud800']", "a key with a lone surrogate (\\ud800)")
    ]
    with pytest.raises(MappingError) as caught:
        vendre.load_product({**product, "name": {"sv": LONE}})
    assert problems_of(caught.value) == [("$.name.sv", "text with a lone surrogate (\\ud800)")]


def test_a_model_code_keeps_its_own_message() -> None:
    with pytest.raises(MappingError) as caught:
        vendre.load_stock_update({**STOCK_DOCUMENT, "article_number": "A" + LONE})
    assert problems_of(caught.value) == [
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
        vendre.load_stock_update({**STOCK_DOCUMENT, "k" + LONE: 1}, strict=True)
    assert problems_of(caught.value) == [("$['k\\ud800']", "unknown field 'k\\ud800'")]
    assert str(caught.value).encode()  # printable and writable as UTF-8


def test_child_path_escapes_a_lone_surrogate() -> None:
    assert child_path("$", "a" + LONE) == "$['a\\ud800']"
    assert child_path("$", "Belopp inkl.moms") == "$['Belopp inkl.moms']"
    assert child_path("$", "Å ä") == "$['Å ä']"


def _a_product() -> vendre.Product:
    article = json.loads((ROOT / "examples" / "bex-article.json").read_bytes())
    from bexvendre_mapping import convert  # noqa: PLC0415

    return convert.article_to_vendre(bex.load_article(article), _lookups()).parent


def _lookups() -> Lookups:
    return Lookups.from_toml(LOOKUPS)


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


# --- bexvendre_mapping.converter: the models inside a user's own attrs classes --------------


@attrs.frozen
class _Envelope:
    """A queue message as a user of the library might define it."""

    shop: str
    order: bex.Order
    stock: tuple[vendre.StockUpdate, ...] = ()
    code: ModelCode | None = None


def test_the_converter_structures_and_unstructures_models_inside_a_users_class() -> None:
    from bexvendre_mapping import converter  # noqa: PLC0415 - the public name under test

    document = bex_order_doc()
    message = {
        "shop": "acme",
        "order": document,
        "stock": [{"article_number": "1001_SKO_42", "quantity": 3, "status": 1}],
        "code": "1001_SKO_42",
    }
    envelope = converter.structure(message, _Envelope)
    assert envelope.order == bex.load_order(document)
    assert envelope.stock == (vendre.load_stock_update(message["stock"][0]),)
    assert envelope.code == ModelCode("1001", "SKO", "42")
    out = converter.unstructure(envelope)
    assert out["order"] == bex.dump_order(envelope.order)
    assert out["stock"] == [vendre.dump_stock_update(envelope.stock[0])]
    assert out["code"] == "1001_SKO_42"
    assert converter.structure(json.loads(json.dumps(out)), _Envelope) == envelope


def test_the_converter_reports_a_models_problems_with_their_paths() -> None:
    """A bad model inside the envelope: cattrs' error holds the library's MappingError with
    every problem, paths inside the model."""
    from bexvendre_mapping import converter  # noqa: PLC0415

    document = bex_order_doc()
    document["Valuta"] = "kronor"
    del document["FraktID"]
    with pytest.raises(Exception) as caught:  # noqa: PT011 - cattrs' own class, checked below
        converter.structure({"shop": "acme", "order": document}, _Envelope)
    import cattrs  # noqa: PLC0415

    assert isinstance(caught.value, cattrs.ClassValidationError)
    (inner,) = caught.value.exceptions
    assert isinstance(inner, MappingError)
    assert [p.path for p in inner.problems] == ["$.Valuta", "$.FraktID"]


def test_make_converter_takes_the_shops_zone_and_strictness() -> None:
    from bexvendre_mapping import make_converter  # noqa: PLC0415

    document = bex_order_doc()
    helsinki = make_converter(time_zone="Europe/Helsinki")
    order = helsinki.structure(document, bex.Order)
    assert order == bex.load_order(document, time_zone="Europe/Helsinki")
    assert helsinki.unstructure(order) == bex.dump_order(order, time_zone="Europe/Helsinki")
    strict = make_converter(strict=True)
    with pytest.raises(MappingError, match="unknown field 'Extra'"):
        strict.structure({**document, "Extra": 1}, bex.Order)
    with pytest.raises(MappingError, match="time zone"):
        make_converter(time_zone="Nowhere/Atlantis")
