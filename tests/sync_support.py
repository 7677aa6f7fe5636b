"""Documents the sync-flow tests seed: the example Vendre order, and variants of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
