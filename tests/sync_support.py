"""Documents the sync-flow tests seed: the example Vendre order, variants of it, products."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bexvendre_mapping.testing.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE: dict[str, Any] = json.loads((ROOT / "examples" / "vendre-order.json").read_bytes())


def order_doc(order_id: int, **changes: Any) -> dict[str, Any]:
    """A valid Vendre order without gift cards (the example's numbers, another id)."""
    doc: dict[str, Any] = json.loads(json.dumps(EXAMPLE))
    doc.update(id=order_id, gift_cards=[])
    doc["totals"] = [t for t in doc["totals"] if t["class"] != "ot_giftcard"]
    doc["totals"][-1]["value"] = "4183.0000"
    doc.update(changes)
    return doc


def add_vendre_products(sandbox: Sandbox, *article_numbers: str) -> dict[str, int]:
    """Simple products in the shop (quantity 0) for these article numbers; their ids."""
    return {
        number: sandbox.add_vendre_product(
            {"article_number": number, "name": {"sv": number}, "price": 100, "tax_class_id": 2}
        )["id"]
        for number in article_numbers
    }


def vendre_quantities(sandbox: Sandbox) -> dict[str, int]:
    """The ``quantity`` of every product in the shop, by article number."""
    return {p["article_number"]: p["quantity"] for p in sandbox.vendre_products()}
