"""Documents the HTTP and sandbox tests seed and send."""

from __future__ import annotations

import copy
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

_VENDRE_PRODUCT: dict[str, Any] = {
    "article_number": "1001",
    "name": {"sv": "Löparsko Aero"},
    "manufacturer_id": "LEV-0042",
    "price": "799.2000",
    "tax_rate": "25.0000",
    "price_in": "412.5000",
    "category_id": 12,
    "size_group": "SKO",
    "variants": [{"article_number": "1001_SKO_42", "size": "42", "ean1": "7350012340425"}],
}


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


def vendre_product(article_number: str = "1001") -> vendre.Product:
    """A valid Vendre product model (unsized when the article number is not ``1001``)."""
    document = copy.deepcopy(_VENDRE_PRODUCT)
    document["article_number"] = article_number
    if article_number != "1001":
        document["size_group"] = None
        document["variants"] = []
    return vendre.load_product(document)


def stock_update(code: str = "1001_SKO_42", quantity: int = 3) -> vendre.StockUpdate:
    """A Vendre stock update model."""
    return vendre.load_stock_update(
        {"article_number": code, "quantity": quantity, "status": 1 if quantity else 0}
    )
