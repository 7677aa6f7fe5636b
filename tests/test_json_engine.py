"""The JSON engines: msgspec (the ``fast`` extra) and the standard library give the same
values, the same bytes and the same errors; whatever msgspec does not take goes to the
standard library."""

from __future__ import annotations

import contextlib
import enum
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bexvendre_mapping import MappingError, _wire, bex, vendre
from bexvendre_mapping._wire import dumps_json, json_engine, parse_document

msgspec = pytest.importorskip("msgspec")

ENGINES = ["json", "msgspec"]


@contextlib.contextmanager
def engine(name: str) -> Iterator[None]:
    """Parse and dump with the engine ``name`` inside the block."""
    saved = _wire._engine_in_use
    _wire._choose_engine(name)
    assert json_engine() == name
    try:
        yield
    finally:
        _wire._engine_in_use = saved


def _outcome(function: Callable[[Any], Any], value: Any) -> Any:
    try:
        result = function(value)
    except MappingError as exc:
        return ("error", str(exc))
    except (TypeError, ValueError) as exc:
        return (type(exc), str(exc))
    return ("ok", repr(result))  # repr: Decimal('1.50') and Decimal('1.5') differ


def _both(function: Callable[[Any], Any], value: Any) -> list[Any]:
    outcomes = []
    for name in ENGINES:
        with engine(name):
            outcomes.append(_outcome(function, value))
    return outcomes


# --- reading --------------------------------------------------------------------------------


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**64 + 2)
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    _containers,
    max_leaves=8,
)


def _spell(value: Any, ascii_only: bool = False, space: str = "") -> str:
    """JSON text of ``value``, decimals written as numbers (``1.50``, ``1E+2``, ``-0``)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return "[" + f",{space}".join(_spell(v, ascii_only, space) for v in value) + "]"
    if isinstance(value, dict):
        items = (
            f"{json.dumps(k, ensure_ascii=ascii_only)}:{space}{_spell(v, ascii_only, space)}"
            for k, v in value.items()
        )
        return "{" + f",{space}".join(items) + "}"
    return json.dumps(value, ensure_ascii=ascii_only)


json_texts = st.one_of(
    st.builds(_spell, json_values, st.booleans(), st.sampled_from(["", " ", "\n  "])),
    st.builds(
        lambda value, before, after: before + _spell(value) + after,
        json_values,
        st.sampled_from(["", " ", "\n", "\ufeff", "\t"]),
        st.sampled_from(["", "\n", " \r\n", "x", ",1", "\x0b", "\xa0"]),
    ),
    st.text(st.sampled_from(' \t\n{}[]:,"a1.-eE0tfnulNIy\\\ud800\x01'), max_size=14),
    st.sampled_from(
        [
            "[NaN]",
            "[Infinity, -Infinity]",
            '["\\ud800"]',
            '{"a": 1, "a": 2}',
            "[1e400, -0.0, 1.50, 1E5]",
            "[123456789012345678901234567890]",
            "[" + "9" * 4300 + "]",  # the longest integer Python reads by default
            "[" + "9" * 4301 + "]",
            "[" + "9" * 5000 + ".5]",
            "[" * 3000 + "]" * 3000,
            '"\\u0000"',
            "[1,]",
            "",
        ]
    ),
)


@given(json_texts, st.sampled_from(["str", "bytes", "bytearray"]))
def test_both_engines_read_alike(text: str, form: str) -> None:
    try:
        data: Any = text.encode() if form == "bytes" else text
    except UnicodeEncodeError:
        data = text
    if form == "bytearray" and isinstance(data, bytes):
        data = bytearray(data)
    first, second = _both(parse_document, data)
    assert first == second


@pytest.mark.parametrize(
    "data",
    [b'["\xed\xa0\x80"]', b'["\xc0\x80"]', b'"\xff"', b"\x00", b"\xef\xbb\xbf\xef\xbb\xbf[1]"],
    ids=["utf8-surrogate", "overlong", "bad-byte", "nul", "two-boms"],
)
def test_both_engines_refuse_bad_bytes_alike(data: bytes) -> None:
    first, second = _both(parse_document, data)
    assert first == second
    assert first[0] == "error"


@pytest.mark.parametrize("data", [b"\xef\xbb\xbf[1]", "\ufeff[1]"], ids=["bytes", "str"])
def test_both_engines_leave_out_a_leading_byte_order_mark(data: bytes | str) -> None:
    """RFC 8259 lets a parser ignore a BOM at the start; both engines do (issue 16)."""
    assert _both(parse_document, data) == [("ok", "[1]"), ("ok", "[1]")]


def test_numbers_with_a_fraction_keep_their_text() -> None:
    with engine("msgspec"):
        found = parse_document(b'{"a": 1.50, "b": 1E+2, "c": -0.0, "d": 7}')
    assert repr(found) == (
        "{'a': Decimal('1.50'), 'b': Decimal('1E+2'), 'c': Decimal('-0.0'), 'd': 7}"
    )


# --- writing --------------------------------------------------------------------------------

dumped_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    _containers,
    max_leaves=8,
)


@given(dumped_documents)
def test_both_engines_write_alike(document: Any) -> None:
    """Dumpers give dicts with string keys, lists, strings, integers, booleans and None."""
    first, second = _both(dumps_json, document)
    assert first == second
    if first[0] == "ok":  # and it is what the json module writes
        expected = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        assert first[1] == repr(expected)


@pytest.mark.parametrize("name", ENGINES)
def test_lone_surrogates_are_refused_by_either(name: str) -> None:
    with engine(name), pytest.raises(UnicodeEncodeError):
        dumps_json({"a": "\ud800"})


# What a dumper never gives: the standard library's behaviour, as the json module has it.
odd_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=5)
    | st.sampled_from([Decimal("1.5"), object(), b"x"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3) | st.integers() | st.none(), inner, max_size=3)
    ),
    max_leaves=8,
)
_REFERENCE_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@given(odd_values)
def test_the_standard_engine_encodes_as_the_json_encoder_does(value: Any) -> None:
    with engine("json"):
        assert _outcome(dumps_json, value) == _outcome(
            lambda v: _REFERENCE_ENCODE(v).encode(), value
        )


@pytest.mark.parametrize("name", ENGINES)
def test_circular_documents_are_refused_by_either(name: str) -> None:
    circular: dict[str, Any] = {}
    circular["self"] = circular
    with engine(name):
        for _ in range(2):  # a failed call leaves nothing behind for the next
            with pytest.raises(ValueError, match="Circular reference"):
                dumps_json(circular)
        assert dumps_json({"a": [circular["self"] is circular]}) == b'{"a":[true]}'


# --- through the public functions -----------------------------------------------------------


def test_models_load_and_dump_alike_with_either(examples: Any) -> None:
    raw = (examples / "vendre-order.json").read_bytes()
    results = []
    for name in ENGINES:
        with engine(name):
            order = vendre.load_order(raw)
            results.append((order, vendre.dumps_order(order)))
    assert results[0] == results[1]


@pytest.mark.parametrize("name", ENGINES)
def test_a_wrongly_typed_field_is_an_error_not_odd_json(name: str) -> None:
    """attrs does not check types: the dumper does, so that no engine writes b"x" or 1.5."""
    for wrong in (b"1001", 1.5, Decimal(1), None):
        stock = bex.Stock(article=wrong, quantity=1)  # type: ignore[arg-type]
        with engine(name), pytest.raises(MappingError, match=r"^\$\.Artikelnr: expected str"):
            bex.dumps_stock(stock)
    with (
        engine(name),
        pytest.raises(MappingError, match=r"^\$\.Lagerantal: expected int, got true"),
    ):
        bex.dumps_stock(bex.Stock(article="1001", quantity=True))


def test_the_environment_variable_keeps_to_the_standard_library() -> None:
    code = (
        "from bexvendre_mapping import _wire, bex\n"
        'bex.load_stock(\'{"Artikelnr": "1", "Lagerantal": 1}\')\n'
        "print(_wire.json_engine())"
    )
    found = {}
    for value in ("json", "", "msgspec"):
        env = {**os.environ, "BEXVENDRE_MAPPING_JSON": value}
        found[value] = subprocess.run(  # noqa: S603 - this interpreter, our code
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
    assert found == {"json": "json", "": "msgspec", "msgspec": "msgspec"}


def test_str_and_int_subclasses_are_written_as_their_plain_values() -> None:
    class Size(enum.StrEnum):
        M = "M"

        def __str__(self) -> str:
            return "not the value"

    class Level(enum.IntEnum):
        FEW = 3

    dumped = bex.dump_stock(
        bex.Stock(article="JKT", size_group="KL", size=Size.M, quantity=Level.FEW)
    )
    assert dumped == {"Artikelnr": "JKT", "Storleksgrupp": "KL", "Storlek": "M", "Lagerantal": 3}
    assert type(dumped["Storlek"]) is str
    assert type(dumped["Lagerantal"]) is int


def test_without_msgspec_the_standard_library_reads_and_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "msgspec.json", None)  # import msgspec.json fails
    saved = _wire._engine_in_use
    try:
        _wire._engine_in_use = None
        assert json_engine() == "json"
        assert parse_document(b'{"a": 1.5}') == {"a": Decimal("1.5")}
        assert dumps_json({"a": "1.50"}) == b'{"a":"1.50"}'
    finally:
        _wire._engine_in_use = saved
