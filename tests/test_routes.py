"""The fast and the detailed loading routes behave the same on every input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bexvendre_mapping import MappingError, bex, vendre
from bexvendre_mapping import testing as strategies
from bexvendre_mapping._codec import Codec
from bexvendre_mapping._wire import _Setting, structure_hook

CODECS = {
    "vendre.order": (Codec(vendre.Order), strategies.vendre_orders(), vendre.dumps_order),
    "vendre.product": (Codec(vendre.Product), strategies.vendre_products(), vendre.dumps_product),
    "vendre.gift_card": (
        Codec(vendre.GiftCard),
        strategies.vendre_gift_cards(),
        vendre.dumps_gift_card,
    ),
    "bex.order": (Codec(bex.Order), strategies.bex_orders(), bex.dumps_order),
    "bex.article": (Codec(bex.Article), strategies.bex_articles(), bex.dumps_article),
    "bex.stock": (Codec(bex.Stock), strategies.bex_stock(), bex.dumps_stock),
    "bex.gift_card": (Codec(bex.GiftCard), strategies.bex_gift_cards(), bex.dumps_gift_card),
}

garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True),
    st.sampled_from(["", "x", "1.005", "A_B_C", "2026-03-29 02:30:00", "Aktiv", "NaN"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def mutate(document: Any, data: st.DataObject) -> Any:
    """The document with one value replaced, one key dropped or one key added."""
    if isinstance(document, dict) and document:
        key = data.draw(st.sampled_from(sorted(document)))
        action = data.draw(st.sampled_from(["deeper", "replace", "drop", "add"]))
        if action == "deeper":
            return {**document, key: mutate(document[key], data)}
        if action == "replace":
            return {**document, key: data.draw(garbage)}
        if action == "drop":
            return {k: v for k, v in document.items() if k != key}
        return {**document, "unexpected": data.draw(garbage)}
    if isinstance(document, list) and document:
        index = data.draw(st.integers(0, len(document) - 1))
        return [*document[:index], mutate(document[index], data), *document[index + 1 :]]
    return data.draw(garbage)


def outcome(codec: Codec[Any], document: Any, strict: bool, detailed: bool) -> Any:
    """What one route alone makes of a document: the model, or the fact that it failed."""
    hook = structure_hook(codec.cls, _Setting("Europe/Stockholm", strict, detailed))
    try:
        return hook(document)
    except Exception:  # noqa: BLE001 - only whether it failed is compared
        return "failed"


@pytest.mark.parametrize("name", sorted(CODECS))
@given(data=st.data(), strict=st.booleans(), broken=st.booleans())
def test_routes_agree(name: str, data: st.DataObject, strict: bool, broken: bool) -> None:
    """Both routes accept the same documents, with equal models, and refuse the same ones."""
    codec, strategy, dumps = CODECS[name]
    document = json.loads(dumps(data.draw(strategy)))
    if broken:
        document = mutate(document, data)
    assert outcome(codec, document, strict, detailed=False) == outcome(
        codec, document, strict, detailed=True
    )


@pytest.mark.parametrize("name", sorted(CODECS))
@given(data=st.data())
def test_load_reports_what_the_detailed_route_finds(name: str, data: st.DataObject) -> None:
    """A failing load lists at least one problem per broken value, each with a $-path."""
    codec, strategy, dumps = CODECS[name]
    document = mutate(json.loads(dumps(data.draw(strategy))), data)
    try:
        model = codec.load(document, strict=True)
    except MappingError as exc:
        assert exc.problems
        assert all(p.path.startswith("$") for p in exc.problems)
        assert outcome(codec, document, strict=True, detailed=False) == "failed"
    else:
        assert outcome(codec, document, strict=True, detailed=False) == model
