"""The field maps: complete for every model, and docs/mapping.md generated from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bexvendre_mapping import fieldmap
from bexvendre_mapping._wire import wire_keys

DOCS = Path(__file__).resolve().parent.parent / "docs" / "mapping.md"


def test_mapping_page_is_current() -> None:
    """docs/mapping.md is what `bexvendre mapping` writes."""
    assert DOCS.read_text(encoding="utf-8") == fieldmap.render_markdown()


def mentions(path: str, key: str) -> bool:
    """Whether a rule's path names a top-level wire key (``Artikelnr + _Storlek`` names both)."""
    return path.startswith(key) or f"_{key}" in path or f"+ {key}" in path


@pytest.mark.parametrize("entity", fieldmap.ALL, ids=lambda e: e.name)
def test_every_wire_field_is_mapped(entity: fieldmap.EntityMap) -> None:
    """Each top-level wire key of both models appears in the entity's map."""
    vendre_keys = set(wire_keys(entity.vendre_model).values())
    bex_keys = set(wire_keys(entity.bex_model).values())
    assert {k for k in vendre_keys if not any(mentions(r.vendre, k) for r in entity.rules)} == set()
    assert {k for k in bex_keys if not any(mentions(r.bex, k) for r in entity.rules)} == set()


def test_seed_pairs_for_orders() -> None:
    """The seed's order table, spot-checked: Beställare.PostNr and Leveransadress.Postkod."""
    assert fieldmap.ORDER.find("customer_address.postcode").bex == "Beställare.PostNr"
    assert fieldmap.ORDER.find("delivery_address.postcode").bex == "Leveransadress.Postkod"
    assert fieldmap.ORDER.find("delivery_address.city").from_seed is False
    assert fieldmap.ORDER.find("shipping.method_id").table == "shipping_methods"


def test_find_unknown_path() -> None:
    """Looking up a path no rule names is a KeyError."""
    with pytest.raises(KeyError):
        fieldmap.ORDER.find("no.such.field")
