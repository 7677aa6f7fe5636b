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
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.support import problems_of, run_main

from bexvendre_mapping import (
    Lookups,
    MappingError,
    _wire,
    bex,
    convert,
    vendre,
)
from bexvendre_mapping._codec import Codec
from bexvendre_mapping._plan import number_out
from bexvendre_mapping._wire import (
    dumps_json,
    json_engine,
    parse_document,
)
from bexvendre_mapping.stream import convert_lines

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

# Amounts as the dumpers give them (number_out): plain notation, no trailing zeros, no -0.
amounts = st.decimals(min_value=-(10**15) + 1, max_value=10**15 - 1, places=4).map(
    number_out(4, "amount")
)
dumped_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6) | amounts,
    _containers,
    max_leaves=8,
)


def _with_numbers(document: Any) -> bytes:
    """The json module's text of ``document``, each ``Decimal`` written as its plain text."""
    found: list[Decimal] = []

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            found.append(value)
            return f"\x00{len(found) - 1}\x00"
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(document), ensure_ascii=False, separators=(",", ":"))
    for number, amount in enumerate(found):
        text = text.replace(f'"\\u0000{number}\\u0000"', format(amount, "f"))
    return text.encode()


@given(dumped_documents)
def test_both_engines_write_alike(document: Any) -> None:
    """Dumpers give dicts with string keys, lists, strings, integers, booleans, None and
    ``Decimal`` amounts (written as JSON numbers, exactly as they print)."""
    first, second = _both(dumps_json, document)
    assert first == second
    if first[0] == "ok":  # and it is what the json module writes, amounts as numbers
        assert first[1] == repr(_with_numbers(document))
        assert json.loads(eval(first[1]), parse_float=Decimal) == document  # noqa: S307


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize("amount", ["NaN", "-Infinity", "sNaN"])
def test_an_amount_without_a_json_form_is_refused_by_either(name: str, amount: str) -> None:
    with engine(name), pytest.raises(ValueError, match="has no JSON form"):
        dumps_json({"value": [Decimal(amount)]})


class _Text(str):
    """A str subclass (a StrEnum member, say): written as its plain text."""

    __slots__ = ()


@pytest.mark.parametrize("name", ENGINES)
def test_amounts_as_numbers_beside_str_subclasses_and_empty_containers(name: str) -> None:
    document = {"code": _Text("PK-1"), "rows": [], "extra": {}, "total": Decimal("-12.5")}
    with engine(name):
        assert dumps_json(document) == b'{"code":"PK-1","rows":[],"extra":{},"total":-12.5}'
        assert dumps_json(document, indent=2) == (
            b'{\n  "code": "PK-1",\n  "rows": [],\n  "extra": {},\n  "total": -12.5\n}'
        )
        nested = {"a": [{"b": Decimal("1.50")}]}
        assert dumps_json(nested, indent=1) == b'{\n "a": [\n  {\n   "b": 1.50\n  }\n ]\n}'


def test_the_standard_engine_refuses_a_float_beside_an_amount() -> None:
    """Floats are no dumper's output: the json module's own error, amounts or not."""
    with engine("json"), pytest.raises(TypeError, match="float is not JSON serializable"):
        dumps_json({"a": 1.5, "b": Decimal(1)})


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
    | st.sampled_from([object(), b"x"]),
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
    monkeypatch.delitem(sys.modules, "bexvendre_mapping._msgspec", raising=False)
    saved = _wire._engine_in_use
    try:
        _wire._engine_in_use = None
        assert json_engine() == "json"
        assert parse_document(b'{"a": 1.5}') == {"a": Decimal("1.5")}
        assert dumps_json({"a": "1.50"}) == b'{"a":"1.50"}'
    finally:
        _wire._engine_in_use = saved


# --- Hostile input under both engines: huge exponents, lone surrogates ----------------------------


ROOT = Path(__file__).resolve().parent.parent


LOOKUPS = str(ROOT / "examples" / "lookups.toml")


ORDER = ROOT / "examples" / "vendre-order.json"


HUGE = ["1e999999999999999999999", "-1E+999999999999999999999", "1e-999999999999999999999"]


LONE = "\ud800"


@pytest.fixture(params=ENGINES)
def each_engine(request: pytest.FixtureRequest) -> Iterator[str]:
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


@pytest.mark.usefixtures("each_engine")
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
        assert problems_of(caught.value) == expected
    with pytest.raises(MappingError) as caught:
        parse_document(data)
    assert problems_of(caught.value) == expected


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


@pytest.mark.usefixtures("each_engine")
def test_exponents_decimal_holds_still_load_as_numbers() -> None:
    """Up to Decimal's limits a number is read, and the field's own check refuses it."""
    found = parse_document(b"[1e999999999999999999, 1.50]")
    assert found == [Decimal("1E+999999999999999999"), Decimal("1.50")]
    with pytest.raises(MappingError) as caught:
        vendre.load_order_status_update(b'{"id": 1, "status": 1e999999999999999999}')
    assert caught.value.paths == ("$.status",)


@pytest.mark.usefixtures("each_engine")
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


@pytest.mark.usefixtures("each_engine")
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
        assert run_main(capsys, *argv) == (1, "", f"$: {message}\n")
    jsonl = ["convert", "status", "--from", "vendre", "--lookups", LOOKUPS, "--jsonl", name]
    assert run_main(capsys, *jsonl) == (1, "", f"$[0]: {message}\n")
    status, out, err = run_main(capsys, "lookups", "check", "--lookups", LOOKUPS, name)
    assert (status, err) == (1, f"{name}: $: {message}\n")
    assert out == "0 codes checked, 0 without a mapping\n"


@pytest.mark.usefixtures("each_engine")
@pytest.mark.parametrize("escape", ["\\ud800", "\\uDFFF", "x\\udc00y", "\\ude00\\ud83d"])
@pytest.mark.parametrize("form", ["bytes", "str"])
def test_a_lone_surrogate_in_json_is_refused_at_load(escape: str, form: str) -> None:
    text = f'{{"Ordernr": "1", "Status": "{escape}"}}'
    with pytest.raises(MappingError) as caught:
        bex.load_order_status(text.encode() if form == "bytes" else text)
    [(path, message)] = problems_of(caught.value)
    assert path == "$.Status"
    assert message.startswith("text with a lone surrogate (\\ud")
    assert message.endswith(")")


@pytest.mark.usefixtures("each_engine")
def test_the_message_names_the_surrogate() -> None:
    with pytest.raises(MappingError) as caught:
        bex.load_order_status(b'{"Ordernr": "1", "Status": "\\ud800"}')
    assert str(caught.value) == "$.Status: text with a lone surrogate (\\ud800)"


@pytest.mark.usefixtures("each_engine")
def test_a_surrogate_pair_is_a_character_and_loads() -> None:
    loaded = bex.load_order_status(b'{"Ordernr": "1", "Status": "\\ud83d\\ude00 \\u00c5\\n"}')
    assert loaded.status == "\U0001f600 Å\n"
    assert bex.load_order_status(bex.dumps_order_status(loaded)) == loaded


@pytest.mark.usefixtures("each_engine")
def test_a_model_built_by_hand_with_a_surrogate_does_not_dump_to_json() -> None:
    """dumps_* raise a MappingError naming every such text; dump_* still give the mapping."""
    status = bex.OrderStatus(order_number="1" + LONE, status="x\udfff")
    assert bex.dump_order_status(status) == {"Ordernr": "1" + LONE, "Status": "x\udfff"}
    with pytest.raises(MappingError) as caught:
        bex.dumps_order_status(status)
    assert problems_of(caught.value) == [
        ("$.Ordernr", "text with a lone surrogate (\\ud800)"),
        ("$.Status", "text with a lone surrogate (\\udfff)"),
    ]


@pytest.mark.usefixtures("each_engine")
def test_surrogates_in_nested_models_lists_and_keys_are_found() -> None:
    order = vendre.load_order(ORDER.read_bytes())
    address = attrs.evolve(order.billing_address, name=LONE)
    row = attrs.evolve(order.products[1], name="Sko" + LONE)
    broken = attrs.evolve(
        order, billing_address=address, products=(order.products[0], row, *order.products[2:])
    )
    with pytest.raises(MappingError) as caught:
        vendre.dumps_order(broken)
    assert problems_of(caught.value) == [
        ("$.billing_address.name", "text with a lone surrogate (\\ud800)"),
        ("$.products[1].name", "text with a lone surrogate (\\ud800)"),
    ]
    product = attrs.evolve(_a_product(), name={"sv": "Sko", LONE: "x", 3: "\udc00"})
    with pytest.raises(MappingError) as caught:
        vendre.dumps_product(product)
    assert problems_of(caught.value) == [
        ("$.name['\\ud800']", "a key with a lone surrogate (\\ud800)"),
        ("$.name['3']", "text with a lone surrogate (\\udc00)"),
    ]


@pytest.mark.usefixtures("each_engine")
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

    return convert.article_to_vendre(bex.load_article(article), _lookups()).parent


def _lookups() -> Lookups:
    return Lookups.from_toml(LOOKUPS)
