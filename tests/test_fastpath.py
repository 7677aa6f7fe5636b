"""The generated loaders and dumpers behave exactly as the cattrs routes they stand in for.

Loaders: on every document, valid or broken, strict or not, the generated loader and the
detailed route accept the same documents with equal models (refusing a valid document would
cost time, accepting a broken one would be a bug). Dumpers: the generated dumper returns the
same mapping as the cattrs-based reference, keys in the same order, and raises the same
errors on models that cannot be written.
"""

from __future__ import annotations

import json
import linecache
import traceback
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.http_support import bex_order_doc

from bexvendre_mapping import (
    Lookups,
    MappingError,
    ModelCode,
    ModelCodeError,
    bex,
    convert,
    vendre,
)
from bexvendre_mapping import testing as strategies
from bexvendre_mapping._checks import (
    Check,
    at_least,
    country_code,
    currency_code,
    nonempty,
    one_of,
    vat_percent,
)
from bexvendre_mapping._codec import Codec
from bexvendre_mapping._dates import parse_datetime, time_zone
from bexvendre_mapping._errors import Problem
from bexvendre_mapping._fastpath import fast_builder, fast_dumper, fast_loader
from bexvendre_mapping._plan import (
    Amount,
    Date,
    DateTime,
    EnumOf,
    Fail,
    Int,
    ListOf,
    MappingOf,
    Nested,
    Optional,
    Text,
    kind_of,
    plan_of,
)
from bexvendre_mapping._plan import shop_datetime as _shop_datetime
from bexvendre_mapping._wire import (
    _decode,
    _Setting,
    dump_problems,
    dumps_json,
    parse_document,
    problems_of,
    structure_hook,
    unstructure_hook,
    wire,
)

ZONE = "Europe/Stockholm"


def _fields(cls: type) -> tuple[attrs.Attribute[Any], ...]:
    attrs.resolve_types(cls)
    return tuple(attrs.fields(cls))


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ZONES = st.sampled_from([ZONE, "UTC", "America/New_York"])

# Every model class of both sides, through a strategy of the class or of one that holds it.
TOP: dict[str, tuple[type, st.SearchStrategy[Any]]] = {
    "vendre.order": (vendre.Order, strategies.vendre_orders()),
    "vendre.product": (vendre.Product, strategies.vendre_products()),
    "vendre.family": (vendre.ProductFamily, strategies.vendre_product_families()),
    "vendre.stock_update": (vendre.StockUpdate, strategies.vendre_stock_updates()),
    "vendre.status": (vendre.OrderStatusUpdate, strategies.vendre_order_status_updates()),
    "vendre.gift_card": (vendre.GiftCard, strategies.vendre_gift_cards()),
    "vendre.bonus": (vendre.BonusBalance, strategies.vendre_bonus_balances()),
    "bex.order": (bex.Order, strategies.bex_orders()),
    "bex.article": (bex.Article, strategies.bex_articles()),
    "bex.stock": (bex.Stock, strategies.bex_stock()),
    "bex.status": (bex.OrderStatus, strategies.bex_order_statuses()),
    "bex.gift_card": (bex.GiftCard, strategies.bex_gift_cards()),
    "bex.reservation": (bex.GiftCardReservation, strategies.bex_gift_card_reservations()),
    "bex.bonus": (bex.BonusBalance, strategies.bex_bonus_balances()),
}


def _attrs_class(tp: Any) -> type | None:
    if isinstance(tp, type) and attrs.has(tp) and tp.__module__.endswith("._models"):
        return tp
    return None


def _nested(tp: Any) -> list[type]:
    """The model classes a field of type ``tp`` holds (itself, or its items)."""
    found = _attrs_class(tp)
    if found is not None:
        return [found]
    return [c for arg in typing.get_args(tp) for c in _nested(arg)]


def _all_classes() -> set[type]:
    seen: set[type] = set()
    todo = [cls for cls, _ in TOP.values()]
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.add(cls)
            todo.extend(c for f in _fields(cls) for c in _nested(f.type))
    return seen


ALL_CLASSES = sorted(_all_classes(), key=lambda c: f"{c.__module__}.{c.__qualname__}")


def _parts(cls: type, model: Any) -> list[tuple[type, Any]]:
    """The model and every model nested in it, each with its class."""
    found = [(cls, model)]
    for field in _fields(cls):
        value = getattr(model, field.name)
        for inner in _nested(field.type):
            items = value if isinstance(value, tuple) else (value,)
            found.extend(p for item in items if item is not None for p in _parts(inner, item))
    return found


def draw_part(name: str, data: st.DataObject) -> tuple[type, Any]:
    """A model of TOP[name] or one nested in it, with its class."""
    top, strategy = TOP[name]
    return data.draw(st.sampled_from(_parts(top, data.draw(strategy))))


def test_every_model_class_is_covered() -> None:
    exported = {
        getattr(side, name)
        for side in (vendre, bex)
        for name in side.__all__
        if _attrs_class(getattr(side, name)) is not None
    }
    assert exported <= set(ALL_CLASSES)


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_model_class_gets_generated_functions(cls: type) -> None:
    """No model falls back to cattrs: the generator handles every field type in use."""
    for strict in (False, True):
        loader = fast_loader(cls, ZONE, strict)
        assert loader.__code__.co_filename.startswith("<bexvendre_mapping fast loader")
    dumper = fast_dumper(cls, ZONE)
    assert dumper.__code__.co_filename.startswith("<bexvendre_mapping fast dumper")


# --- loaders --------------------------------------------------------------------------------

# Values that probe each inline check: digit strings for integers, decimals in every spelling
# parse_decimal takes or refuses, date-times the shortcut must leave to parse_datetime.
garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True),
    st.sampled_from(
        [
            "",
            "x",
            "1.005",
            "A_B_C",
            "A__C",
            " A_B_C",
            "2026-03-29 02:30:00",
            "2026-10-25 02:30:00",
            "2026-10-25 24:00:00",
            "2026-10-25T02:30:00+01:00",
            "2026-10-25 02:30:00.5",
            "٢٠٢٦-10-25 02:30:00",
            "2026-13-25 02:30:00",
            "2026-10-25",
            "2026-02-30",
            "Aktiv",
            "active",
            "NaN",
            "-Infinity",
            "1e3",
            "1_000.00",
            " 12.50",
            "12.50 ",
            "١٢",
            "-0.0000",
            "0012",
            "-7",
            "123456789012345678",
            "1234567890123456789",
            "999999999999999.99",
            "1000000000000000",
            "12.3456789",
            "SE",
            "SEK",
            "sek",
            "-0.01",
            "100.00",
            "100.01",
            "-100.0000",
            # Lone surrogates are refused in every text; a pair of them, too (a Python str
            # does not join them); other non-ASCII text, printable or not, is taken.
            "\ud800",
            "Å\udfff",
            "\ud83d\ude00",
            "\U0001f600",
            "Åsa\n",
            "x\x85",
        ]
    ),
    st.decimals(allow_nan=True),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _wrap(document: Any, data: st.DataObject) -> Any:
    """The same document as another Mapping or a tuple, which loaders take as well."""
    if isinstance(document, dict) and data.draw(st.booleans()):
        return types.MappingProxyType(document)
    if isinstance(document, list) and data.draw(st.booleans()):
        return tuple(document)
    return document


def mutate(document: Any, data: st.DataObject) -> Any:  # noqa: PLR0911
    """The document with one value replaced, one key dropped, nulled or added."""
    if isinstance(document, dict) and document:
        key = data.draw(st.sampled_from(sorted(document)))
        action = data.draw(st.sampled_from(["deeper", "replace", "null", "drop", "add", "wrap"]))
        if action == "deeper":
            return {**document, key: mutate(document[key], data)}
        if action == "replace":
            return {**document, key: data.draw(garbage)}
        if action == "null":
            return {**document, key: None}
        if action == "drop":
            return {k: v for k, v in document.items() if k != key}
        if action == "add":
            extra = data.draw(st.sampled_from(["unexpected", key + " ", "k\udc00", 1, None]))
            return {**document, extra: 1}
        return {**document, key: _wrap(document[key], data)}
    if isinstance(document, list) and document:
        index = data.draw(st.integers(0, len(document) - 1))
        return [*document[:index], mutate(document[index], data), *document[index + 1 :]]
    return data.draw(garbage)


def fast_outcome(
    cls: type, document: Any, strict: bool, zone: str = ZONE, *, clean_text: bool = False
) -> Any:
    try:
        return fast_loader(cls, zone, strict, clean_text=clean_text)(document)
    except Exception:  # noqa: BLE001 - only whether it failed is compared
        return "failed"


def detailed_outcome(cls: type, document: Any, strict: bool, zone: str = ZONE) -> Any:
    try:
        return structure_hook(cls, _Setting(zone, strict, True))(document)
    except Exception:  # noqa: BLE001 - only whether it failed is compared
        return "failed"


def _has_surrogate(value: Any) -> bool:
    """Whether a lone surrogate is in a text or key of ``value``, at any depth."""
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, Mapping):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_surrogate(v) for v in value)
    return False


def _same(left: Any, right: Any) -> bool:
    """Equal, and date-times alike down to the fold and the time zone."""
    if left != right:
        return False
    if attrs.has(type(left)):
        return all(
            _same(getattr(left, f.name), getattr(right, f.name)) for f in _fields(type(left))
        )
    if isinstance(left, tuple):
        return all(_same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, datetime):
        return (left.fold, left.tzinfo, left.replace(tzinfo=None)) == (
            right.fold,
            right.tzinfo,
            right.replace(tzinfo=None),
        )
    return type(left) is type(right)


@pytest.mark.parametrize("name", sorted(TOP))
@given(data=st.data(), strict=st.booleans(), broken=st.booleans(), zone=ZONES)
def test_fast_loader_agrees_with_the_detailed_route(
    name: str, data: st.DataObject, strict: bool, broken: bool, zone: str
) -> None:
    """Each class's loader, on its part of a valid or broken document."""
    cls, model, document = part_document(name, data, broken)
    fast = fast_outcome(cls, document, strict, zone)
    detailed = detailed_outcome(cls, document, strict, zone)
    assert _same(fast, detailed)
    if not _has_surrogate(document):  # what Codec.load knows of msgspec's documents
        assert _same(fast_outcome(cls, document, strict, zone, clean_text=True), fast)
    if not broken and strict and zone == ZONE:
        assert fast == model  # a round trip (the wire keeps no fold where none is needed)


@pytest.mark.parametrize("name", sorted(TOP))
@given(data=st.data())
def test_load_gives_the_detailed_routes_answer(name: str, data: st.DataObject) -> None:
    """Codec.load (fast route, then the detailed one) against the detailed route alone."""
    cls, document = mutated_document(name, data)
    assert_loads_as_detailed(cls, document, document, strict=True)


def part_document(name: str, data: st.DataObject, broken: bool) -> tuple[type, Any, Any]:
    """draw_part's class and model, and the model's document (mutated when ``broken``)."""
    cls, model = draw_part(name, data)
    document = json.loads(dumps_json(unstructure_hook(cls, ZONE)(model)))
    return cls, model, mutate(document, data) if broken else document


def mutated_document(name: str, data: st.DataObject) -> tuple[type, Any]:
    """A document of TOP[name] (a mapping) with one value replaced, one key dropped or added."""
    cls, strategy = TOP[name]
    dumped = unstructure_hook(cls, ZONE)(data.draw(strategy))
    return cls, mutate(json.loads(dumps_json(dumped)), data)


def assert_loads_as_detailed(cls: type, given: Any, document: Any, *, strict: bool) -> None:
    """Codec.load of ``given`` answers as the detailed route does on ``document``, its mapping:
    the same model, or the same problems."""
    try:
        model = Codec(cls).load(given, strict=strict)
    except MappingError as exc:
        try:
            structure_hook(cls, _Setting(ZONE, strict, True))(document)
        except Exception as reference:  # noqa: BLE001 - its problems are compared
            assert list(exc.problems) == problems_of(reference)
        else:
            pytest.fail("the detailed route accepts what Codec.load refused")
    else:
        assert _same(model, detailed_outcome(cls, document, strict))


def test_the_example_documents_take_the_fast_route(examples: Any) -> None:
    for name, cls in [
        ("vendre-order.json", vendre.Order),
        ("bex-article.json", bex.Article),
        ("bex-gift-card.json", bex.GiftCard),
        ("bex-gift-card-reservation.json", bex.GiftCardReservation),
    ]:
        document = json.loads((examples / name).read_text(), parse_float=Decimal)
        for strict in (False, True):
            fast = fast_outcome(cls, document, strict)
            assert fast != "failed", name
            assert _same(fast, detailed_outcome(cls, document, strict))


@pytest.mark.parametrize(
    "value", ["12", "-3", "0012", "-", "", "1.0", "١٢", "123456789012345678", "1" * 19, 1.0, True]
)
def test_integers_as_strings_of_digits(value: Any) -> None:
    document = {"id": 7, "status": value}
    for strict in (False, True):
        assert _same(
            fast_outcome(vendre.OrderStatusUpdate, document, strict),
            detailed_outcome(vendre.OrderStatusUpdate, document, strict),
        )
    accepted = fast_outcome(vendre.OrderStatusUpdate, document, True) != "failed"
    assert accepted == (value in ("12", "-3", "0012", "123456789012345678"))


@pytest.mark.parametrize(
    "value",
    [
        "799.2000",
        "799.2",
        "799",
        799,
        Decimal("799.2"),
        799.2,
        "-0.0000",
        "-0",
        "1e2",
        "1E-4",
        "0.00001",
        "999999999999999.9999",
        "1000000000000000",
        "NaN",
        "sNaN",
        "Infinity",
        " 1",
        "1 ",
        "1_0",
        "١",
        "",
        True,
        None,
        [],
    ],
)
def test_decimals_read_as_parse_decimal_reads_them(value: Any) -> None:
    document = {"class": "ot_total", "title": "Totalt", "value": value}
    for strict in (False, True):
        assert _same(
            fast_outcome(vendre.Total, document, strict),
            detailed_outcome(vendre.Total, document, strict),
        )


@pytest.mark.parametrize(
    "value",
    [
        "2026-10-25 02:30:00",
        "2026-03-29 02:30:00",
        "2026-12-31 23:59:59",
        "2026-10-25 19:59:59",
        "2026-10-25 20:00:00",
        "2026-10-25 24:00:00",
        "2026-10-25 25:00:00",
        "2026-10-25 30:00:00",
        "2026-10-25 23:59:60",
        "2026-02-29 12:00:00",
        "0000-01-01 00:00:00",
        "2026-10-25T02:30:00",
        "2026-10-25 02:30:00+02:00",
        "2026-10-25T00:30:00Z",
        "2026-10-25 02:30",
        "2026-W43-7 02:30:00",
        "٢٠٢٦-١٠-٢٥ ٠٢:٣٠:٠٠",
        "2026-10-25 02:30:00.250000",
        datetime(2026, 10, 25, 2, 30),  # a naive one is the shop's wall clock
    ],
)
@pytest.mark.parametrize("zone", [ZONE, "UTC", "America/New_York"])
def test_date_times_read_as_parse_datetime_reads_them(value: Any, zone: str) -> None:
    tz = time_zone(zone)
    try:
        expected: Any = parse_datetime(value, tz)
    except MappingError as exc:
        expected = str(exc)
    try:
        found: Any = _shop_datetime(value, tz)
    except MappingError as exc:
        found = str(exc)
    assert _same(found, expected)


def test_strict_counts_known_keys_for_every_mapping() -> None:
    """An unknown key in place of an absent optional one is still an unknown key."""
    base = {"Namn": "A", "Adress": "B", "Postnr": "1", "Ort": "C", "Land": "SE"}
    for document in (
        base,
        {**base, "Adress2": None},
        {**base, "Adresss2": "x"},
        {**base, "Adress2": "x", "extra": 1},
    ):
        for wrapped in (document, types.MappingProxyType(document)):
            for strict in (False, True):
                assert _same(
                    fast_outcome(bex.InvoiceAddress, wrapped, strict),
                    detailed_outcome(bex.InvoiceAddress, wrapped, strict),
                )
    assert fast_outcome(bex.InvoiceAddress, {**base, "Adresss2": "x"}, True) == "failed"
    assert fast_outcome(bex.InvoiceAddress, {**base, "Adresss2": "x"}, False) != "failed"


def test_an_empty_default_list_may_be_null_or_absent() -> None:
    document = _an_order_document()
    for gift_cards in ([], None, "absent"):
        changed = {k: v for k, v in document.items() if k != "gift_cards"}
        if gift_cards != "absent":
            changed["gift_cards"] = gift_cards
        fast = fast_outcome(vendre.Order, changed, True)
        assert fast != "failed"
        assert fast.gift_cards == ()
        assert _same(fast, detailed_outcome(vendre.Order, changed, True))


def _an_order() -> vendre.Order:
    return vendre.load_order((EXAMPLES / "vendre-order.json").read_bytes())


def test_a_check_skips_null_as_the_reference_does() -> None:
    """GiftCard.status: null and absent are both None; a bad value is refused."""
    document = {"code": "C", "balance": "1.0000", "currency": "SEK", "usable": True}
    for status in (None, "active", "lost"):
        changed = {**document, "status": status}
        assert _same(
            fast_outcome(vendre.GiftCard, changed, False),
            detailed_outcome(vendre.GiftCard, changed, False),
        )
    assert fast_outcome(vendre.GiftCard, {**document, "status": None}, False).status is None
    assert fast_outcome(vendre.GiftCard, {**document, "status": "lost"}, False) == "failed"
    assert fast_outcome(vendre.GiftCard, document, False).status is None


def test_unknown_time_zone_fails_where_it_did() -> None:
    """Loading resolves the zone only for classes with date-times; dumping always."""
    stock = {"article_number": "1001_SKO_42", "quantity": 1, "status": 1}
    assert vendre.load_stock_update(stock, time_zone="Nowhere/Land").quantity == 1
    with pytest.raises(MappingError, match="unknown time zone"):
        vendre.load_order(_an_order_document(), time_zone="Nowhere/Land")
    with pytest.raises(MappingError, match="unknown time zone"):
        vendre.dump_stock_update(vendre.load_stock_update(stock), time_zone="Nowhere/Land")


def _an_order_document() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(vendre.dumps_order(_an_order()))
    return result


def test_generated_source_shows_in_tracebacks() -> None:
    loader = fast_loader(vendre.Total, ZONE, True)
    try:
        loader({"class": "x", "title": 1, "value": "1"})
    except Exception as exc:  # noqa: BLE001 - the traceback is what is checked
        text = "".join(traceback.format_exception(exc))
    assert "in load_Total" in text
    assert "raise _Fail" in text
    assert linecache.getlines(loader.__code__.co_filename)


# --- classes the generator leaves to cattrs, or builds through __init__ ---------------------


def _nonempty(value: str) -> str:
    if not value:
        raise MappingError("must not be empty")
    return value


@attrs.frozen(kw_only=True)
class _WithFactory:
    name: str = attrs.field(metadata=wire("Name"))
    tags: tuple[str, ...] = attrs.field(factory=tuple)


@attrs.frozen(kw_only=True)
class _WithValidator:
    name: str = attrs.field(metadata=wire("Name", check=_nonempty))
    count: int = attrs.field(validator=attrs.validators.ge(0))


def test_a_factory_default_is_refused_when_the_codec_is_built() -> None:
    """No silent fallback to another route: the plan names the field it cannot fill."""
    for build in (
        lambda: fast_loader(_WithFactory, ZONE, False),
        lambda: fast_dumper(_WithFactory, ZONE),
        lambda: fast_builder(_WithFactory),
        lambda: structure_hook(_WithFactory, _Setting(ZONE, False, True)),
    ):
        with pytest.raises(TypeError, match=r"_WithFactory\.tags"):
            build()


@attrs.frozen(kw_only=True)
class _WithSet:
    name: str = attrs.field(metadata=wire("Name"))
    tags: set[str]


@attrs.frozen(kw_only=True)
class _WithUnion:
    value: int | str


@attrs.frozen(kw_only=True)
class _WithPlacesOnText:
    name: str = attrs.field(metadata=wire("Name", places=2))


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (_WithSet, r"_WithSet\.tags: no wire form for type set\[str\]"),
        (_WithUnion, r"_WithUnion\.value: no wire form for type int \| str"),
        (_WithPlacesOnText, r"_WithPlacesOnText\.name: decimal places given for <class 'str'>"),
    ],
)
def test_an_unsupported_annotation_is_a_type_error_when_the_codec_is_built(
    cls: type, message: str
) -> None:
    with pytest.raises(TypeError, match=message):  # at its first use, whatever the input
        Codec(cls).load({})
    with pytest.raises(TypeError, match=message):
        Codec(cls).dump(cls.__new__(cls))
    with pytest.raises(TypeError, match=message):
        fast_loader(cls, ZONE, False)


def test_a_validator_keeps_the_class_call() -> None:
    loader = fast_loader(_WithValidator, ZONE, True)
    source = "".join(linecache.getlines(loader.__code__.co_filename))
    assert "_new(" not in source
    assert loader({"Name": "a", "count": 2}) == _WithValidator(name="a", count=2)
    with pytest.raises(Fail):  # the validator's ValueError: declined, not leaked
        loader({"Name": "a", "count": -1})
    assert detailed_outcome(_WithValidator, {"Name": "a", "count": -1}, True) == "failed"


@attrs.frozen(kw_only=True, slots=False)
class _NotSlotted:
    name: str = attrs.field(metadata=wire("Name"))
    inner: _WithValidator | None = None


@attrs.define(kw_only=True)
class _Mutable:
    name: str = attrs.field(metadata=wire("Name"))
    count: int = 0


def test_classes_without_slots_or_frozen_load_alike() -> None:
    for cls, document in (
        (_NotSlotted, {"Name": "a", "inner": {"Name": "b", "count": 1}}),
        (_NotSlotted, {"Name": "a"}),
        (_Mutable, {"Name": "a", "count": "3"}),
    ):
        for strict in (False, True):
            loader = fast_loader(cls, ZONE, strict)
            assert loader.__code__.co_filename.startswith("<bexvendre_mapping fast loader")
            assert _same(loader(document), detailed_outcome(cls, document, strict))
        model = detailed_outcome(cls, document, True)
        assert fast_dumper(cls, ZONE)(model) == unstructure_hook(cls, ZONE)(model)
    source = "".join(linecache.getlines(fast_loader(_Mutable, ZONE, True).__code__.co_filename))
    assert "_new(" in source  # attrs' __init__ only stores: the slots are set directly
    source = "".join(linecache.getlines(fast_loader(_NotSlotted, ZONE, True).__code__.co_filename))
    assert "_new(" not in source


# --- dumpers --------------------------------------------------------------------------------


def outcome(function: Callable[[Any], Any], argument: Any) -> Any:
    """What ``function(argument)`` returns, or the type and text of what it raises."""
    try:
        return function(argument)
    except Exception as exc:  # noqa: BLE001 - the error is compared
        return (type(exc), str(exc))


def _dump_outcome(dumper: Callable[[Any], Any], model: Any) -> Any:
    # The JSON, byte-identical, so in the same key order.
    return outcome(lambda m: dumps_json(dumper(m)), model)


broken_values = st.one_of(
    st.none(),
    st.just(()),
    st.sampled_from(
        [
            Decimal("1.005"),
            Decimal("-0.00"),
            Decimal("-0.0000"),
            Decimal("NaN"),
            Decimal("Infinity"),
            Decimal("1E+30"),
            Decimal("1E-30"),
            Decimal(10) ** 40,
            "text",
            1,
            1.5,
        ]
    ),
)


def break_a_field(cls: type, model: Any, data: st.DataObject) -> Any:
    """The model with one field's value replaced by one of broken_values."""
    field = data.draw(st.sampled_from(_fields(cls)))
    return attrs.evolve(model, **{field.alias: data.draw(broken_values)})


def draw_model(name: str, data: st.DataObject, broken: bool) -> tuple[type, Any]:
    """draw_part, with one field broken (break_a_field) when ``broken``."""
    cls, model = draw_part(name, data)
    return cls, break_a_field(cls, model, data) if broken else model


@pytest.mark.parametrize("name", sorted(TOP))
@given(data=st.data(), zone=ZONES, broken=st.booleans())
def test_fast_dumper_matches_the_reference(
    name: str, data: st.DataObject, zone: str, broken: bool
) -> None:
    """Each class's dumper, on valid models and on models with one odd value."""
    cls, model = draw_model(name, data, broken)
    reference = _dump_outcome(unstructure_hook(cls, zone), model)
    assert _dump_outcome(fast_dumper(cls, zone), model) == reference
    # What Codec.dump reports instead of the first problem: nothing for a model that dumps,
    # the reference's problem first for one that does not.
    found = dump_problems(model, time_zone(zone))
    if not isinstance(reference, tuple):
        assert found == []
    elif reference[0] is MappingError:
        assert found
        assert reference[1].endswith(found[0].message)


def test_codec_dump_uses_the_generated_dumper() -> None:
    order = _an_order()
    assert vendre.dump_order(order) == unstructure_hook(vendre.Order, ZONE)(order)
    assert list(vendre.dump_order(order)) == list(unstructure_hook(vendre.Order, ZONE)(order))
    assert vendre.dumps_order(order) == dumps_json(unstructure_hook(vendre.Order, ZONE)(order))


def test_decimals_that_do_not_fit_raise_the_reference_error() -> None:
    row = bex.Row(
        article="1001",
        quantity=1,
        description="x",
        price=Decimal("1.005"),
        vat_rate=Decimal(25),
        amount=Decimal("1.00"),
    )
    with pytest.raises(MappingError, match=r"field 'Pris': Decimal\('1.005'\) does not fit"):
        fast_dumper(bex.Row, ZONE)(row)
    negative_zero = attrs.evolve(row, price=Decimal("-0.00"))
    assert fast_dumper(bex.Row, ZONE)(negative_zero)["Pris"] == "0.00"


def test_mapping_fields_are_copied() -> None:
    product = vendre.Product(
        article_number="1001",
        name={"sv": "Sko"},
        price=Decimal("1.0000"),
        price_in=Decimal("1.25"),
        tax_class_id=2,
        category_ids=(1,),
    )
    dumped = fast_dumper(vendre.Product, ZONE)(product)
    assert dumped["name"] == {"sv": "Sko"}
    assert dumped["name"] is not product.name
    assert dumped["category_ids"] == [1]
    assert isinstance(product.name, Mapping)


# --- parse_document -------------------------------------------------------------------------


def _parse_outcome(parse: Callable[[str], Any], text: str) -> Any:
    try:
        return ("ok", parse(text))
    except (ValueError, RecursionError) as exc:
        return (type(exc), str(exc))


_REFERENCE_DECODE = json.JSONDecoder(parse_float=Decimal).decode
json_texts = st.one_of(
    st.text(st.sampled_from(' \t\n\r\x0b\xa0{}[]:,"a1.-eE0tfnul\\'), max_size=12),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=4),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
        max_leaves=6,
    ).flatmap(
        lambda value: st.tuples(
            st.sampled_from(["", " ", "\n", "\t "]),
            st.just(json.dumps(value)),
            st.sampled_from(["", "\n", " \r\n", "\xa0", "x", ",1", "\x0b"]),
        ).map("".join)
    ),
)


@given(json_texts)
def test_parsing_takes_the_decoders_answer(text: str) -> None:
    assert _parse_outcome(_decode, text) == _parse_outcome(_REFERENCE_DECODE, text)
    try:
        parse_document(text)
    except MappingError:
        assert _parse_outcome(_REFERENCE_DECODE, text)[0] != "ok"


# --- decimals under other decimal contexts --------------------------------------------------

CONTEXTS = [
    {},
    {"prec": 5},
    {"prec": 27},
    {"Emax": 3},
    {"Emin": -1},
    {"capitals": 0},
    {"rounding": "ROUND_DOWN"},
    {"prec": 60, "Emax": 40, "clamp": 1},
]
AMOUNTS = [
    "999.20",
    "0.00",
    "-0.00",
    "-12.30",
    "1.005",
    "123456.7",
    "1E+3",
    "1.00E+3",
    "0.01",
    "1E-7",
    "12345678901234567890123456.78",
    "1234567890123456789012345.67",
    "NaN",
    "-Infinity",
]


@pytest.mark.parametrize("changes", CONTEXTS, ids=str)
@pytest.mark.parametrize("amount", AMOUNTS)
def test_decimals_dump_alike_in_any_context(changes: dict[str, Any], amount: str) -> None:
    """The same string or error, and the same context flags, whatever the context."""
    import decimal  # noqa: PLC0415 - only here

    settings = {k: getattr(decimal, v) if k == "rounding" else v for k, v in changes.items()}
    row = bex.Row(
        article="1001",
        quantity=1,
        description="x",
        price=Decimal(amount),
        vat_rate=Decimal("25.00"),
        amount=Decimal("1.00"),
    )
    rate = attrs.evolve(_a_bex_order(), currency_rate=Decimal(amount))
    for cls, model in ((bex.Row, row), (bex.Order, rate)):
        outcomes = []
        for dumper in (fast_dumper(cls, ZONE), unstructure_hook(cls, ZONE)):
            with decimal.localcontext(**settings) as context:
                context.clear_flags()
                outcomes.append(
                    (_dump_outcome(dumper, model), {k for k, v in context.flags.items() if v})
                )
        assert outcomes[0] == outcomes[1]


def _a_bex_order() -> bex.Order:
    return bex.load_order(dumps_json(unstructure_hook(bex.Order, ZONE)(_bex_order_model())))


def _bex_order_model() -> bex.Order:

    return convert.order_to_bex(_an_order(), Lookups.from_toml(EXAMPLES / "lookups.toml"))


@pytest.mark.parametrize("changes", CONTEXTS, ids=str)
@pytest.mark.parametrize("amount", [*AMOUNTS, "799.2000", "-0.0000", "1e2", "1234567890.1234"])
def test_decimals_load_alike_in_any_context(changes: dict[str, Any], amount: str) -> None:
    import decimal  # noqa: PLC0415 - only here

    settings = {k: getattr(decimal, v) if k == "rounding" else v for k, v in changes.items()}
    document = {"class": "ot_total", "title": "Totalt", "value": amount}
    outcomes = []
    for outcome in (fast_outcome, detailed_outcome):
        with decimal.localcontext(**settings) as context:
            context.clear_flags()
            found = outcome(vendre.Total, document, True)
            outcomes.append((found, {k for k, v in context.flags.items() if v}))
    assert _same(outcomes[0][0], outcomes[1][0])
    assert outcomes[0][1] == outcomes[1][1]


def test_dumps_json_still_refuses_circular_documents() -> None:
    circular: dict[str, Any] = {}
    circular["self"] = circular
    for _ in range(2):  # a failed call leaves nothing behind for the next
        with pytest.raises(ValueError, match="Circular reference"):
            dumps_json(circular)
    assert dumps_json({"a": [circular["self"] is circular]}) == b'{"a":[true]}'


# --- builders -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TOP))
@given(data=st.data())
def test_builders_build_what_the_class_builds(name: str, data: st.DataObject) -> None:
    top, strategy = TOP[name]
    for cls, model in _parts(top, data.draw(strategy)):
        values = {f.alias: getattr(model, f.name) for f in _fields(cls)}
        built = fast_builder(cls)(**values)
        called = cls(**values)
        assert type(built) is cls
        assert _same(built, called)
        assert _same(built, model)


def test_a_builder_of_a_checked_class_calls_the_class() -> None:

    build = fast_builder(ModelCode)
    assert build(article="JKT_001", size_group="KL", size="M") == ModelCode.parse("JKT_001_KL_M")
    with pytest.raises(ModelCodeError, match="contains '_'"):
        build(article="JKT", size_group="K_L", size="M")


def test_a_builder_takes_keywords_only_and_the_models_defaults() -> None:
    """A field left out takes the model's default; a position is refused, so a new field
    in the middle of a model can never shift the others."""
    build = fast_builder(bex.Row)
    row = build(
        article="A1",
        quantity=2,
        description="Tröja",
        price=Decimal("10.00"),
        vat_rate=Decimal("25.00"),
        amount=Decimal("20.00"),
    )
    assert row == bex.Row(
        article="A1",
        quantity=2,
        description="Tröja",
        price=Decimal("10.00"),
        vat_rate=Decimal("25.00"),
        amount=Decimal("20.00"),
    )
    assert row.size_group is None
    with pytest.raises(TypeError, match="positional"):
        build("A1", None, None, 2, "Tröja", Decimal(10), Decimal(25), Decimal(20))
    with pytest.raises(TypeError, match="amount"):
        build(article="A1", quantity=2, description="x", price=Decimal(1), vat_rate=Decimal(0))


@given(st.decimals(), st.integers(1, 3))
def test_a_dot_places_from_the_end_is_plain_notation(value: Decimal, places: int) -> None:
    """What the dumpers' shortcut assumes for up to 3 places: the digits test is not needed."""
    text = str(value)
    if len(text) > places and text[-places - 1] == ".":
        assert text[-places:].isdigit()


@pytest.mark.parametrize("changes", CONTEXTS, ids=str)
@pytest.mark.parametrize("amount", [*AMOUNTS, "799.2000", "-0.0000", "123456.7", "1234567890.1234"])
def test_amounts_read_and_write_as_in_the_default_context(
    changes: dict[str, Any], amount: str
) -> None:
    """The thread's decimal context changes nothing on the wire (money.CONTEXT)."""
    import decimal  # noqa: PLC0415 - only here

    settings = {k: getattr(decimal, v) if k == "rounding" else v for k, v in changes.items()}
    document = {"class": "ot_total", "title": "Totalt", "value": amount}

    def outcome() -> Any:
        try:
            total = vendre.load_total(document)
        except MappingError as exc:
            return str(exc)
        return repr(total.value), vendre.dumps_total(total)

    expected = outcome()
    with decimal.localcontext(**settings):
        assert outcome() == expected


def test_no_builder_for_a_class_with_fields_outside_init() -> None:
    @attrs.frozen
    class Partial:
        kept: int
        derived: int = attrs.field(init=False, default=0)

    with pytest.raises(TypeError, match=r"Partial\.derived: .*set through __init__"):
        fast_builder(Partial)


def _classes(cls: type) -> set[type]:
    found = {cls}
    for field in _fields(cls):
        for inner in _nested(field.type):
            found |= _classes(inner)
    return found


def _all_checks() -> list[Check]:
    classes = {cls for top, _ in TOP.values() for cls in _classes(top)}
    found = {f.check for cls in classes for f in plan_of(cls).fields}
    return sorted((c for c in found if c is not None), key=lambda c: (c.name, str(c.failure)))


CHECKS = _all_checks()


@pytest.mark.parametrize("check", CHECKS, ids=[f"{c.name}-{i}" for i, c in enumerate(CHECKS)])
@given(
    value=st.one_of(
        st.integers(-3, 3),
        st.text(st.sampled_from(" \t\xa0\u2028aZ1_"), max_size=3),
        st.sampled_from([Decimal(t) for t in ("-0.01", "-0", "0", "100", "100.00", "100.01")]),
        st.decimals(-200, 200, places=2),
    )
)
def test_inline_checks_fail_exactly_when_the_check_raises(check: Check, value: Any) -> None:
    condition = check.fails("value")
    if condition is None:
        return
    names = dict(check.names)
    try:
        fails = eval(condition, names, {"value": value})  # noqa: S307 - our own
    except (TypeError, AttributeError):  # the other type: the loader's type test comes first
        return
    try:
        check(value)
    except MappingError:
        assert fails
    else:
        assert not fails


def test_the_usual_checks_are_written_inline() -> None:
    assert nonempty.fails("v") == "not v.strip()"
    assert at_least(1).fails("v") == "v < 1"
    assert one_of(0, 1).fails("v") == "v not in (0, 1)"
    assert currency_code.fails("v") == "_CURRENCY_CODE_FULL(v) is None"
    assert country_code.fails("v") == "_COUNTRY_CODE_FULL(v) is None"
    assert vat_percent.fails("v") == "not _NO_VAT <= v <= _ALL_VAT"


# --- Both routes on keys that are not strings and on texts ----------------------------------------


LONE = "\ud800"


STOCK = {"article_number": "A", "quantity": 1, "status": 1}


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


# --- The dump functions against the cattrs-based reference dumper ---------------------------------


# (models of one class, that class's dump function), for every class with its own dump.
CASES: list[tuple[st.SearchStrategy[Any], Callable[..., dict[str, Any]]]] = [
    (strategies.vendre_orders(), vendre.dump_order),
    (strategies.vendre_products(), vendre.dump_product),
    (strategies.vendre_stock_updates(), vendre.dump_stock_update),
    (strategies.vendre_order_status_updates(), vendre.dump_order_status_update),
    (strategies.vendre_gift_cards(), vendre.dump_gift_card),
    (strategies.vendre_bonus_balances(), vendre.dump_bonus_balance),
    (strategies.bex_orders(), bex.dump_order),
    (strategies.bex_rows(), bex.dump_row),
    (strategies.bex_articles(), bex.dump_article),
    (strategies.bex_stock(), bex.dump_stock),
    (strategies.bex_order_statuses(), bex.dump_order_status),
    (strategies.bex_gift_cards(), bex.dump_gift_card),
    (strategies.bex_gift_card_reservations(), bex.dump_gift_card_reservation),
    (strategies.bex_bonus_balances(), bex.dump_bonus_balance),
]


@pytest.mark.parametrize(
    ("models", "dump"), CASES, ids=[f"{d.__module__}.{d.__name__}" for _, d in CASES]
)
@pytest.mark.parametrize("zone", ["Europe/Stockholm", "Europe/Helsinki"])
def test_dumps_equal_the_reference(
    models: st.SearchStrategy[Any], dump: Callable[..., dict[str, Any]], zone: str
) -> None:
    """dump_* gives exactly the reference's document: same keys, order, values and omissions."""

    @settings(max_examples=15, database=None)
    @given(models)
    def check(model: Any) -> None:
        expected = unstructure_hook(type(model), zone)(model)
        actual = dump(model, time_zone=zone)
        assert actual == expected
        assert list(actual) == list(expected)

    check()


@pytest.mark.parametrize(
    ("model", "dump", "amount"),
    [
        (
            bex.GiftCard(
                number="PK-1",
                balance=Decimal("-0.00"),
                currency="SEK",
                status=bex.GiftCardStatus.USED,
            ),
            bex.dump_gift_card,
            ("Saldo", "0.00"),
        ),
        (
            vendre.Total(class_="ot_discount", title="Rabatt", value=Decimal("-0.0000")),
            vendre.dump_total,
            ("value", Decimal("0")),
        ),
    ],
)
def test_negative_zero_is_written_as_zero(
    model: Any, dump: Callable[..., Any], amount: tuple[str, str | Decimal]
) -> None:
    """A negative zero amount is never written as '-0.00' (Bex text) or -0 (Vendre number),
    by either dumper."""
    reference = unstructure_hook(type(model), "Europe/Stockholm")(model)
    key, written = amount
    assert str(reference[key]) == str(written)
    assert dump(model) == reference


def test_an_amount_with_too_many_decimals_is_named_by_both_routes() -> None:
    """An amount that does not fit the wire's decimals: the reference names the field, the
    public dump gives its path."""
    card = bex.GiftCard(
        number="PK-1", balance=Decimal("1.005"), currency="SEK", status=bex.GiftCardStatus.ACTIVE
    )
    too_precise = "Decimal('1.005') does not fit the wire's 2 decimals"
    with pytest.raises(MappingError) as reference:
        unstructure_hook(bex.GiftCard, "Europe/Stockholm")(card)
    assert str(reference.value) == f"$: field 'Saldo': {too_precise}"
    with pytest.raises(MappingError) as dumped:
        bex.dump_gift_card(card)
    assert str(dumped.value) == f"$.Saldo: {too_precise}"


def test_a_dump_lists_every_field_it_refuses_with_its_path() -> None:
    """The generated dumper stops at the first bad field; the error names them all."""
    order = bex.load_order(bex_order_doc())
    rows = (
        attrs.evolve(order.rows[0], price=Decimal("NaN")),
        attrs.evolve(order.rows[-1], description=None, amount=Decimal("1.005")),
        *order.rows[1:-1],
    )
    broken = attrs.evolve(
        order,
        number=5,
        invoice_address=attrs.evolve(order.invoice_address, city=b"x"),
        rows=rows,
    )
    with pytest.raises(MappingError) as caught:
        bex.dump_order(broken)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("$.Ordernr", "expected str, got 5"),
        ("$.Faktureras.Ort", "expected str, got b'x'"),
        ("$.Artiklar[0].Pris", "Decimal('NaN') does not fit the wire's 2 decimals"),
        ("$.Artiklar[1].Beskrivning", "expected str, got null"),
        (
            "$.Artiklar[1]['Belopp inkl.moms']",
            "Decimal('1.005') does not fit the wire's 2 decimals",
        ),
    ]


def test_an_order_without_gift_cards_leaves_the_key_out() -> None:
    """An empty optional list is left out of the document, like a null, by both dumpers."""

    @settings(max_examples=10, database=None)
    @given(strategies.vendre_orders())
    def check(order: vendre.Order) -> None:
        plain = attrs.evolve(order, gift_cards=())
        reference = unstructure_hook(vendre.Order, "Europe/Stockholm")(plain)
        assert "gift_cards" not in reference
        assert vendre.dump_order(plain) == reference

    check()


def test_a_dump_report_takes_in_a_value_of_no_wire_type() -> None:
    """Text in a date-time field is a MappingError with its path, alone or with another
    problem before it (which it does not hide); so are a dict for a nested model, text for
    a list and a string for an enum, in a model built by hand."""
    order = bex.load_order(bex_order_doc())
    alone = attrs.evolve(order, order_date="2026-03-01 12:00:00")
    for dump in (bex.dump_order, bex.dumps_order):
        with pytest.raises(MappingError) as caught:
            dump(alone)
        assert caught.value.problems == (
            Problem("$.Orderdatum", "expected a date-time, got '2026-03-01 12:00:00'"),
        )
    both = attrs.evolve(alone, number=5)  # Ordernr comes first: the dumper stops there
    with pytest.raises(MappingError) as caught:
        bex.dump_order(both)
    assert [p.path for p in caught.value.problems] == ["$.Ordernr", "$.Orderdatum"]
    broken = attrs.evolve(order, orderer={"Namn": "x"}, rows="A1")
    with pytest.raises(MappingError) as caught:
        bex.dump_order(broken)
    assert caught.value.problems == (
        Problem("$.Beställare", "expected Orderer, got {'Namn': 'x'}"),
        Problem("$.Artiklar", "expected a list, got 'A1'"),
    )
    card = bex.GiftCard(
        number="1",
        balance=Decimal(1),
        currency="SEK",
        status="Aktiv",  # type: ignore[arg-type]
    )
    with pytest.raises(MappingError, match=r"\$\.Status: expected GiftCardStatus, got 'Aktiv'"):
        bex.dumps_gift_card(card)


# --- kinds no model uses yet: every route agrees on them too ----------------------------------


@attrs.frozen(kw_only=True)
class _Inner:
    name: str = attrs.field(metadata=wire("Name"))


@attrs.frozen(kw_only=True)
class _Rare:
    """Lists and mappings of plain values, decimals without fixed places or with none, an
    optional amount, a flag, an optional date and an optional nested model."""

    tags: tuple[str, ...] = ()
    counts: Mapping[str, int]
    ratio: Decimal
    whole: Decimal = attrs.field(metadata=wire(places=0))
    discount: Decimal | None = attrs.field(default=None, metadata=wire(places=2))
    prices: tuple[Decimal, ...] = attrs.field(default=(), metadata=wire(places=2))
    flag: bool
    when: date | None = None
    inner: _Inner | None = None


@settings(max_examples=60)
@given(model=strategies.from_model(_Rare), zone=ZONES)
def test_rare_kinds_round_trip_alike_on_every_route(model: _Rare, zone: str) -> None:
    codec = Codec(_Rare)
    document = codec.dump(model, time_zone=zone)
    assert document == unstructure_hook(_Rare, zone)(model)
    assert codec.load(document, time_zone=zone) == model
    assert fast_loader(_Rare, zone, True)(document) == model
    assert structure_hook(_Rare, _Setting(zone, True, True))(document) == model
    written = codec.dumps(model, time_zone=zone)
    assert written == dumps_json(document)
    assert codec.load(written, strict=True, time_zone=zone) == model


def test_rare_kinds_report_every_problem_with_its_path() -> None:
    document = {
        "tags": ["a", 1, None],
        "counts": {"x": "1", "y": "many", "z": True},
        "ratio": "1.2.3",
        "whole": "1.5",
        "discount": "0.001",
        "prices": ["1.00", "2.005"],
        "flag": "yes",
        "when": "2026-02-30",
        "inner": {"Name": 7},
    }
    with pytest.raises(MappingError) as caught:
        Codec(_Rare).load(document)
    assert caught.value.paths == (
        "$.tags[1]",
        "$.tags[2]",
        "$.counts.y",
        "$.counts.z",
        "$.ratio",
        "$.whole",
        "$.discount",
        "$.prices[1]",
        "$.flag",
        "$.when",
        "$.inner.Name",
    )


@pytest.mark.parametrize("field", ["tags", "counts"])
def test_a_list_or_mapping_of_values_stops_at_the_problem_budget(field: str) -> None:
    """Past MAX_PROBLEMS bad items, a list or mapping of plain values stops checking."""
    bad = [1] * (MappingError.MAX_PROBLEMS + 50)
    value: Any = bad if field == "tags" else {f"k{i}": "x" for i in range(len(bad))}
    document = {"counts": {}, "ratio": "1", "whole": "1", "flag": True, field: value}
    with pytest.raises(MappingError) as caught:
        Codec(_Rare).load(document)
    assert caught.value.truncated
    assert len(caught.value.problems) <= MappingError.MAX_PROBLEMS + 1


def test_kinds_are_equal_by_class_and_parameters() -> None:
    assert kind_of(tuple[int, ...]) == ListOf(Int())
    assert hash(kind_of(tuple[int, ...])) == hash(ListOf(Int()))
    assert ListOf(Int()) != ListOf(Text())
    assert Text() != "text"
    assert repr(kind_of(Mapping[str, int] | None)) == "Optional(MappingOf(Int()))"
    assert kind_of(Decimal, 2) == Amount(2) != Amount(4)
    assert kind_of(bex.GiftCardStatus).describe() == (
        "one of `Aktiv`, `Reserverad`, `Använd`, `Spärrad`"
    )


def test_a_tuple_of_fixed_length_has_no_wire_form() -> None:
    with pytest.raises(TypeError, match=r"lists are tuple\[X, \.\.\.\]"):
        kind_of(tuple[int, str])


def test_refuses_says_nothing_of_a_value_of_the_kinds_own_type() -> None:
    """The dump report words a Python error only for a value of another type."""
    assert Text().refuses(5) is None  # its hook refuses with its own MappingError
    assert EnumOf(bex.GiftCardStatus).refuses(bex.GiftCardStatus.ACTIVE) is None
    assert EnumOf(bex.GiftCardStatus).refuses("Aktiv") == "expected GiftCardStatus, got 'Aktiv'"
    assert Nested(bex.Size).refuses(bex.Size(size="42")) is None
    assert Optional(Nested(bex.Size)).refuses(None) is None
    assert MappingOf(Text()).refuses({}) is None
    assert ListOf(Text()).refuses(()) is None
    assert DateTime().refuses(datetime(2026, 1, 1)) is None
    assert Date().refuses(date(2026, 1, 1)) is None


@attrs.frozen
class _Empty:
    """A model with no field at all: an empty object on the wire."""


@attrs.frozen(cache_hash=True)
class _CachedHash:
    name: str


def test_the_plan_of_odd_classes() -> None:
    assert Codec(_Empty).load({}) == _Empty()
    assert Codec(_Empty).dump(_Empty()) == {}
    assert fast_builder(_Empty)() == _Empty()
    assert plan_of(_CachedHash).stores_only is False  # attrs' __init__ sets the hash cache
    assert fast_builder(_CachedHash)(name="a") == _CachedHash(name="a")
    assert plan_of(bex.Size).stores_only is True
    with pytest.raises(TypeError, match="is no attrs class"):
        plan_of(dict)
    assert repr(at_least(1)) == "Check('at_least', 1)"
    assert repr(nonempty) == "Check('nonempty')"
