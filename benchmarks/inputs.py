"""The benchmark inputs: the shipped examples, scaled up.

- ``order_5``: ``examples/vendre-order.json`` as shipped (5 product rows, shipping, a
  discount, an invoice fee, a gift card);
- ``order_40``: the same order with 40 product rows (sizes, quantities and prices varied),
  its ``ot_subtotal``, ``ot_tax`` and ``ot_total`` recomputed so the totals check passes;
- ``article_10``: ``examples/bex-article.json`` with 10 sizes;
- the stock feed: N Bex stock rows as JSON Lines (sized and unsized articles, article
  numbers with ``_``, some negative quantities), written to a file.
"""

from __future__ import annotations

import copy
import json
import random
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

__all__ = ["EXAMPLES", "article_10", "order_40", "order_5", "write_stock_feed"]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

_CENT = Decimal("0.01")
_PLACES4 = Decimal("0.0001")


def _dumps(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def order_5() -> bytes:
    return (EXAMPLES / "vendre-order.json").read_bytes()


def _incl(price: Decimal, tax: Decimal) -> Decimal:
    return (price * (1 + tax / 100)).quantize(_CENT, rounding=ROUND_HALF_UP)


def order_40(rows: int = 40) -> bytes:
    """The example order with ``rows`` product rows and consistent totals."""
    order = json.loads(order_5())
    shoe_sizes = [str(s) for s in range(36, 47)]
    jacket_sizes = ["XS", "S", "M", "L", "XL", "XXL"]
    products = []
    for i in range(rows):
        kind = i % 5
        bump = Decimal(i // 5) * Decimal("8.0000")  # vary prices a little, keep 4 dp
        if kind in (0, 1):
            model = f"{1001 + i % 3}_SKO_{shoe_sizes[i % len(shoe_sizes)]}"
            name, price, tax = "Löparsko Aero", Decimal("799.2000") + bump, Decimal("25.0000")
        elif kind == 2:
            model = f"JKT_{1 + i % 4:03d}_KL_{jacket_sizes[i % len(jacket_sizes)]}"
            name, price, tax = "Skaljacka Fjäll", Decimal("1599.2000") + bump, Decimal("25.0000")
        elif kind == 3:
            model = "GIFTBOX"
            name, price, tax = "Presentförpackning", Decimal("39.2000"), Decimal("25.0000")
        else:
            model = f"BOK-{17 + i}"
            name, price, tax = "Löparboken", Decimal("188.6792"), Decimal("6.0000")
        products.append(
            {
                "quantity": 1 + i % 3,
                "model": model,
                "name": name,
                "price": f"{price:.4f}",
                "tax": f"{tax:.4f}",
            }
        )
    subtotal = sum(
        (p["quantity"] * _incl(Decimal(p["price"]), Decimal(p["tax"])) for p in products),
        Decimal(0),
    )
    vat = sum(
        (
            p["quantity"] * _incl(Decimal(p["price"]), Decimal(p["tax"]))
            - p["quantity"] * Decimal(p["price"])
            for p in products
        ),
        Decimal(0),
    )
    totals = {t["class"]: t for t in order["totals"]}
    fees = sum(
        (
            Decimal(t["value"])
            for c, t in totals.items()
            if c not in {"ot_subtotal", "ot_tax", "ot_total", "ot_giftcard"}
        ),
        Decimal(0),
    )
    gift = sum((Decimal(g["amount"]) for g in order["gift_cards"]), Decimal(0))
    vat += fees * Decimal(25) / Decimal(125)
    totals["ot_subtotal"]["value"] = f"{subtotal:.4f}"
    totals["ot_tax"]["value"] = f"{vat.quantize(_PLACES4, rounding=ROUND_HALF_UP):.4f}"
    totals["ot_total"]["value"] = f"{subtotal + fees - gift:.4f}"
    order = copy.deepcopy(order)
    order["products"] = products
    return _dumps(order)


def article_10() -> bytes:
    """The example article with 10 sizes (36 to 45), two of them without a barcode."""
    article = json.loads((EXAMPLES / "bex-article.json").read_bytes())
    article["Storlekar"] = [
        {"Storlek": str(size), "Streckkod": None if size in (38, 44) else f"73500123{size:05d}"}
        for size in range(36, 46)
    ]
    return _dumps(article)


def write_stock_feed(path: Path, rows: int, seed: int = 6) -> None:
    """``rows`` Bex stock rows as JSON Lines: 70 % shoes in 11 sizes, 10 % jackets whose
    article number holds ``_``, 20 % unsized; about one in eight quantities negative."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    shoe_sizes = [str(s) for s in range(36, 47)]
    jacket_sizes = ["XS", "S", "M", "L", "XL"]
    with path.open("w", encoding="utf-8") as out:
        write = out.write
        for i in range(rows):
            kind = i % 10
            number = (i // 10) % 90_000
            quantity = rng.randint(-5, 34)
            if kind < 7:
                size = shoe_sizes[i % len(shoe_sizes)]
                write(
                    f'{{"Artikelnr": "{10000 + number}", "Storleksgrupp": "SKO", '
                    f'"Storlek": "{size}", "Lagerantal": {quantity}}}\n'
                )
            elif kind == 7:
                size = jacket_sizes[number % len(jacket_sizes)]
                write(
                    f'{{"Artikelnr": "JKT_{number:05d}", "Storleksgrupp": "KL", '
                    f'"Storlek": "{size}", "Lagerantal": {quantity}}}\n'
                )
            else:
                article = f"GIFTBOX-{number}" if kind == 8 else f"BOK-{number}"
                write(
                    f'{{"Artikelnr": "{article}", "Storleksgrupp": null, '
                    f'"Storlek": null, "Lagerantal": {quantity}}}\n'
                )
