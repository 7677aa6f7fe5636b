"""The msgspec mirror routes (typed_loader, typed_dumper) give what the mapping routes give.

With msgspec as the JSON engine, Codec.load reads JSON text through a typed decoder into
mirror Structs and Codec.dumps writes through output mirrors. A route may refuse (Codec then
goes the usual way, which gives the result or the error), but what it gives must be exactly
what the usual way gives: the same model, the same bytes. Valid documents and models must
take it, or it would be of no use.
"""

from __future__ import annotations

import json
import sys
import types
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.test_fastpath import (
    TOP,
    ZONE,
    ZONES,
    _dump_outcome,
    _same,
    assert_loads_as_detailed,
    detailed_outcome,
    draw_model,
    mutated_document,
    outcome,
    part_document,
)

from bexvendre_mapping import MappingError, _wire, bex, vendre
from bexvendre_mapping._codec import Codec
from bexvendre_mapping._fastpath import fast_dumper
from bexvendre_mapping._wire import (
    dumps_json,
    parse_document,
)

pytest.importorskip("msgspec")

from bexvendre_mapping import _msgspec as fastpath
from bexvendre_mapping._msgspec import typed_dumper, typed_loader

# The classes whose keys have a second spelling: the mapping's loader handles them.
NO_TYPED_LOADER = {bex.Order, bex.Row}


@pytest.fixture(autouse=True)
def _msgspec_engine() -> Any:
    """Codec routes with msgspec as the engine, whatever the environment says."""
    saved = _wire._engine_in_use
    _wire._choose_engine("msgspec")
    try:
        yield
    finally:
        _wire._engine_in_use = saved


def _json_value(value: Any) -> Any:
    """What json.dumps cannot write of a mutated document, as JSON can hold it."""
    if isinstance(value, types.MappingProxyType):
        return dict(value)
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    msg = f"not JSON: {value!r}"
    raise TypeError(msg)


def _text(document: Any) -> bytes:
    return json.dumps(document, default=_json_value).encode("utf-8", "surrogatepass")


def _typed_outcome(cls: type, raw: bytes | str, strict: bool, zone: str) -> Any:
    typed = typed_loader(cls, zone, strict)
    assert typed is not None
    try:
        return typed(raw)
    except Exception:  # noqa: BLE001 - only whether it failed is compared
        return "failed"


@pytest.mark.parametrize("name", sorted(TOP))
@given(data=st.data(), strict=st.booleans(), broken=st.booleans(), zone=ZONES)
def test_typed_loader_gives_the_mapping_routes_model(
    name: str, data: st.DataObject, strict: bool, broken: bool, zone: str
) -> None:
    """Each class's mirror route, on its part of a valid or broken document, bytes or str."""
    cls, model, document = part_document(name, data, broken)
    if cls in NO_TYPED_LOADER:
        assert typed_loader(cls, zone, strict) is None
        return
    raw = _text(document)
    try:
        reference = detailed_outcome(cls, parse_document(raw), strict, zone)
    except MappingError:  # text the parser refuses: the mirror route must refuse it too
        reference = "failed"
    for given_as in (raw, raw.decode("utf-8", "surrogatepass")):
        typed = _typed_outcome(cls, given_as, strict, zone)
        if typed != "failed":
            assert _same(typed, reference)
        elif not broken:
            pytest.fail(f"the mirror route refused a valid {cls.__qualname__}")
    if not broken and strict and zone == ZONE:
        assert _typed_outcome(cls, raw, strict, zone) == model


@pytest.mark.parametrize("name", sorted(TOP))
@given(data=st.data(), strict=st.booleans())
def test_load_of_text_gives_the_detailed_routes_answer(
    name: str, data: st.DataObject, strict: bool
) -> None:
    """Codec.load of JSON text (mirror route, then the usual one) against the detailed route."""
    cls, document = mutated_document(name, data)
    raw = _text(document)
    try:
        parsed = parse_document(raw)
    except MappingError:
        with pytest.raises(MappingError):
            Codec(cls).load(raw, strict=strict)
        return
    assert_loads_as_detailed(cls, raw, parsed, strict=strict)


@pytest.mark.parametrize("name", sorted(TOP))
@given(data=st.data(), zone=ZONES, broken=st.booleans())
def test_typed_dumper_writes_the_mapping_routes_bytes(
    name: str, data: st.DataObject, zone: str, broken: bool
) -> None:
    """Each class's output mirror, on valid models and on models with one odd value."""
    cls, model = draw_model(name, data, broken)
    typed = typed_dumper(cls, zone)
    assert typed is not None
    written = outcome(typed, model)
    reference = _dump_outcome(fast_dumper(cls, zone), model)
    if not isinstance(written, tuple):
        assert written == reference
    elif not isinstance(reference, tuple):
        pytest.fail(f"the mirror route refused a writable {cls.__qualname__}: {written}")
    codec = Codec(cls)
    assert outcome(lambda m: codec.dumps(m, time_zone=zone), model) == _dump_outcome(
        lambda m: codec.dump(m, time_zone=zone), model
    )


def test_the_example_order_takes_both_mirror_routes(examples: Any) -> None:
    raw = (examples / "vendre-order.json").read_bytes()
    codec = Codec(vendre.Order)
    order = codec.load(raw)
    assert codec._typed[ZONE, False] is not None
    assert _same(order, codec.load(json.loads(raw, parse_float=Decimal)))
    bex_codec = Codec(bex.Order)
    from bexvendre_mapping import Lookups, convert  # noqa: PLC0415 - only here

    lookups = Lookups.from_toml(examples / "lookups.toml")
    converted = convert.order_to_bex(order, lookups)
    assert bex_codec.dumps(converted) == dumps_json(bex_codec.dump(converted))
    assert bex_codec._writers[ZONE] is not None


def test_a_refused_document_still_gets_every_problem() -> None:
    """The mirror route stops at the first problem; the error lists them all, with paths."""
    raw = b'{"class": "", "title": 5, "value": "1.00001"}'
    with pytest.raises(MappingError) as info:
        vendre.load_total(raw)
    assert info.value.paths == ("$.class", "$.title", "$.value")


def test_a_model_the_mirror_refuses_is_written_or_refused_as_before() -> None:
    """A lone surrogate: msgspec refuses it, and dumps gives the usual error with its path."""
    shipping = vendre.Shipping(method_id="PN", title="x\ud800")
    with pytest.raises(MappingError, match=r"\$\.title"):
        vendre.dumps_shipping(shipping)


def test_without_msgspec_there_is_no_mirror_route(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "msgspec.json", None)  # `import msgspec.json` fails
    monkeypatch.delitem(sys.modules, "bexvendre_mapping._msgspec", raising=False)
    saved = _wire._engine_in_use
    try:
        engine = _wire._choose_engine()
    finally:
        _wire._engine_in_use = saved
    assert engine.name == "json"
    assert engine.typed_loader is None
    assert engine.typed_dumper is None


def test_mirror_field_names_are_interned() -> None:
    """msgspec matches keywords to fields by identity first: the names must be interned."""
    assert fastpath._mirror_name(3) is sys.intern("f3")
    assert fastpath._mirror_name(3) is fastpath._mirror_name(3)
