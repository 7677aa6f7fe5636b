"""Documents the HTTP and sandbox tests seed and send."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from bexvendre_mapping import bex, vendre

_VENDRE_ORDER: dict[str, Any] = {
    "id": 100234,
    "date_added": "2026-03-02 10:15:00",
    "customer_id": 5512,
    "status": 1,
    "currency": "SEK",
    "currency_value": "1.00000000",
    "billing_address": {
        "name": "Astrid Öberg",
        "street_address": "Storgatan 12",
        "street_address2": "",
        "postcode": "411 38",
        "city": "Göteborg",
        "country_id": 203,
    },
    "customer_address": {
        "name": "Astrid Öberg",
        "street_address": "Storgatan 12",
        "postcode": "411 38",
        "city": "Göteborg",
        "email_address": "astrid.oberg@example.se",
    },
    "delivery_address": {
        "name": "Astrid Öberg",
        "street_address": "Fjällvägen 3",
        "postcode": "832 94",
        "city": "Åre",
        "country_id": 203,
    },
    "payment": {
        "external_id": "KL-88412",
        "transaction_id": "7f3c2a91",
        "date_added": "2026-03-02 10:16:12",
        "payment_method": "KLARNA",
    },
    "products": [
        {
            "quantity": 1,
            "model": "1001_SKO_42",
            "name": "Löparsko Aero",
            "price": "799.2000",
            "tax": "25.0000",
        }
    ],
    "totals": [
        {"class": "ot_subtotal", "title": "Delsumma", "value": "999.0000"},
        {"class": "ot_tax", "title": "Varav moms", "value": "199.8000"},
        {"class": "ot_total", "title": "Totalt", "value": "999.0000"},
    ],
    "shipping": {"method_id": "12", "title": "PostNord MyPack Collect"},
}

_BEX_ORDER: dict[str, Any] = {
    "Ordernr": "100234",
    "Orderdatum": "2026-03-02 10:15:00",
    "Kundnr": "5512",
    "Valuta": "SEK",
    "Valutakod": "1.00000000",
    "Faktureras": {
        "Namn": "Astrid Öberg",
        "Adress": "Storgatan 12",
        "Postnr": "411 38",
        "Ort": "Göteborg",
        "Land": "SE",
    },
    "Beställare": {
        "Namn": "Astrid Öberg",
        "Adress": "Storgatan 12",
        "PostNr": "411 38",
        "Ort": "Göteborg",
        "Epost": "astrid.oberg@example.se",
    },
    "Leveransadress": {
        "Namn": "Astrid Öberg",
        "Adress": "Fjällvägen 3",
        "Postkod": "832 94",
        "Ort": "Åre",
        "Landskod": "SE",
    },
    "Butik & webbetalningar": [
        {
            "Externt dokumentnr": "KL-88412",
            "Transnr": "7f3c2a91",
            "Datum": "2026-03-02 10:16:12",
            "Kod": "KLARNA",
            "Belopp": "999.00",
        }
    ],
    "Artiklar": [
        {
            "Artikelnr": "1001",
            "Storleksgrupp": "SKO",
            "Storlek": "42",
            "Antal": 1,
            "Beskrivning": "Löparsko Aero",
            "Pris": "999.00",
            "Moms": "25.00",
            "Belopp inkl.moms": "999.00",
        }
    ],
    "FraktID": "PNMC",
    "Belopp inkl.moms": "999.00",
}

_BEX_ARTICLE: dict[str, Any] = {
    "Artikel": "1001",
    "Storleksgrupp": "SKO",
    "Beskrivning": "Löparsko Aero",
    "LeverantörsID": "LEV-0042",
    "Pris": "999.00",
    "Moms": "25.00",
    "Inköpspris": "412.50",
    "Extern referens": "SKOR",
    "Storlekar": [
        {"Storlek": "42", "Streckkod": "7350012340425"},
        {"Storlek": "43", "Streckkod": None},
    ],
}

# A product as /API/1/products lists it (SPEC §8): every key, the types as a real shop sends
# them (epoch seconds, JSON numbers, null manufacturer, {} for variants).
_VENDRE_PRODUCT_RECORD: dict[str, Any] = {
    "id": 7,
    "article_number": "1001",
    "ean1": "",
    "external_id": "1001",
    "name": {"sv": "Löparsko Aero", "en": "Running shoe Aero"},
    "description": {"sv": "<p>Lätt löparsko.</p>", "en": ""},
    "description_short": {"sv": "", "en": ""},
    "meta_title": {"sv": "Löparsko Aero", "en": ""},
    "meta_description": {"sv": "", "en": ""},
    "meta_keywords": {"sv": "", "en": ""},
    "price": Decimal("439.2"),
    "price_in": None,
    "price_rek": Decimal("549"),
    "price_special": None,
    "tax_class_id": 2,
    "category_ids": [12, 14],
    "category_paths": ["Skor|Löparskor", "Rea"],
    "manufacturer_id": None,
    "manufacturer_name": None,
    "manufacturer_model": "",
    "quantity": 12,
    "warehouses": [{"external_id": "HUVUDLAGER", "quantity": 12, "location": None}],
    "status": True,
    "show": True,
    "stock_allow_checkout": None,
    "inactivate_stock_under_zero": None,
    "type": "st",
    "parent": 0,
    "is_parent": False,
    "child_product_ids": [],
    "variants": {},
    "variant_products": {},
    "images": [],
    "customer_groups": [],
    "extra": {},
    "specifications": [],
    "tag_ids": [],
    "weight": 0,
    "sort_order": 0,
    "ordered": 0,
    "date_added": 1777993984,
    "date_modified": 1777993984,
    "date_available": None,
    "actions": {
        "product_url": "https://shop.example/API/1/products/7",
        "product_save_url": "https://shop.example/API/1/products/7",
        "product_delete_url": "https://shop.example/API/1/products/7",
    },
}

#: The keys SPEC §8 lists for a product as listed (every one a record has).
PRODUCT_RECORD_KEYS = frozenset(_VENDRE_PRODUCT_RECORD)


def vendre_order_doc(order_id: int = 100234, **changes: Any) -> dict[str, Any]:
    """A valid Vendre order document, with ``changes`` applied to its top level."""
    return {**copy.deepcopy(_VENDRE_ORDER), "id": order_id, **changes}


def bex_order_doc(ordernr: str = "100234", **changes: Any) -> dict[str, Any]:
    """A valid Bex order document."""
    return {**copy.deepcopy(_BEX_ORDER), "Ordernr": ordernr, **changes}


def bex_order(ordernr: str = "100234") -> bex.Order:
    """A valid Bex order model."""
    return bex.load_order(bex_order_doc(ordernr))


def bex_article_doc(article: str = "1001", **changes: Any) -> dict[str, Any]:
    """A valid Bex article document."""
    return {**copy.deepcopy(_BEX_ARTICLE), "Artikel": article, **changes}


def gift_card_doc(number: str = "PK-4000-1234", balance: str = "500.00") -> dict[str, Any]:
    """An active gift card document."""
    return {"Nummer": number, "Saldo": balance, "Valuta": "SEK", "Status": "Aktiv"}


def vendre_product_record(product_id: int = 7, **changes: Any) -> dict[str, Any]:
    """A full Vendre product record as the API lists it, with ``changes`` applied."""
    record = {**copy.deepcopy(_VENDRE_PRODUCT_RECORD), "id": product_id, **changes}
    url = f"https://shop.example/API/1/products/{product_id}"
    record["actions"] = {"product_url": url, "product_save_url": url, "product_delete_url": url}
    return record


def vendre_product(
    article_number: str = "1001", *, product_id: int | None = None, **changes: Any
) -> vendre.Product:
    """A Vendre product model as the converters make it (the shop's own fields ``None``)."""
    values: dict[str, Any] = {
        "id": product_id,
        "article_number": article_number,
        "external_id": article_number,
        "name": {"sv": "Löparsko Aero"},
        "price": Decimal("439.2000"),
        "tax_class_id": 2,
        "category_ids": (12,),
        **changes,
    }
    return vendre.Product(**values)


def stock_update(
    code: str = "1001_SKO_42", quantity: int = 3, warehouse: str | None = None
) -> vendre.StockUpdate:
    """A Vendre stock update model (in ``warehouse``, when given)."""
    document: dict[str, Any] = {
        "article_number": code,
        "quantity": quantity,
        "status": 1 if quantity else 0,
    }
    if warehouse is not None:
        document["warehouse"] = warehouse
    return vendre.load_stock_update(document)
