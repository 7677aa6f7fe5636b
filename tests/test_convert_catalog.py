"""Products, stock, statuses, gift cards and bonus balances (SPEC §2)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from tests.support import problems_of

from bexvendre_mapping import (
    Lookups,
    MappingError,
    ModelCode,
    UnknownCodeError,
    bex,
    convert,
    vendre,
)


def test_article_to_product_field_by_field(examples: Path, lookups: Lookups) -> None:
    """Artikel, Beskrivning (sv), LeverantörsID, Pris excl. VAT, Inköpspris, category, sizes."""
    article = bex.load_article((examples / "bex-article.json").read_bytes())
    product = vendre.dump_product(convert.article_to_vendre(article, lookups))
    assert product["article_number"] == "1001"
    assert product["name"] == {"sv": "Löparsko Aero"}
    assert product["manufacturer_id"] == "LEV-0042"
    assert product["price"] == "799.2000"
    assert product["tax_rate"] == "25.0000"
    assert product["price_in"] == "412.5000"
    assert product["category_id"] == 12
    assert product["size_group"] == "SKO"
    assert product["variants"][2] == {
        "article_number": "1001_SKO_42",
        "size": "42",
        "ean1": "7350012340425",
    }
    assert product["variants"][4] == {"article_number": "1001_SKO_44", "size": "44"}
    assert len(product["variants"]) == 5


def test_unsized_article_has_no_variants(lookups: Lookups) -> None:
    """An article without sizes is a product without variants."""
    article = bex.load_article(
        {
            "Artikel": "GIFTBOX",
            "Beskrivning": "Presentförpackning",
            "LeverantörsID": "L1",
            "Pris": "49.00",
            "Moms": "25.00",
            "Inköpspris": "10.00",
            "Extern referens": "TILLBEHOR",
        }
    )
    product = convert.article_to_vendre(article, lookups)
    assert (product.size_group, product.variants) == (None, ())
    assert convert.product_to_bex(product, lookups) == article


def test_unknown_category_is_an_error_at_its_path(examples: Path, lookups: Lookups) -> None:
    """The Extern referens must be in the categories table."""
    doc = json.loads((examples / "bex-article.json").read_bytes())
    doc["Extern referens"] = "SKORR"
    with pytest.raises(UnknownCodeError) as info:
        convert.article_to_vendre(bex.load_article(doc), lookups)
    assert info.value.paths == ("$['Extern referens']",)
    assert info.value.closest[0] == "SKOR"


def test_product_variants_must_match_the_product(examples: Path, lookups: Lookups) -> None:
    """A variant whose article number is not article_size group_size is an error."""
    product = convert.article_to_vendre(
        bex.load_article((examples / "bex-article.json").read_bytes()), lookups
    )
    broken = attrs.evolve(
        product,
        variants=(
            attrs.evolve(product.variants[0], article_number=ModelCode("1002", "SKO", "40")),
            *product.variants[1:],
        ),
    )
    with pytest.raises(MappingError) as info:
        convert.product_to_bex(broken, lookups)
    assert info.value.paths == ("$.variants[0].article_number",)


@pytest.mark.parametrize(
    ("quantity", "policy", "expected"),
    [
        (7, "hide_when_zero", (7, 1)),
        (0, "hide_when_zero", (0, 0)),
        (-2, "hide_when_zero", (0, 0)),
        (0, "always_show", (0, 1)),
        (-2, "always_show", (0, 1)),
    ],
)
def test_stock_quantity_and_status(
    quantity: int, policy: str, expected: tuple[int, int], lookups: Lookups
) -> None:
    """Negative stock is sent as 0; the status follows the stock status policy."""
    settings = attrs.evolve(lookups.settings, stock_status=policy)
    stock = bex.load_stock(
        {"Artikelnr": "1001", "Storleksgrupp": "SKO", "Storlek": "42", "Lagerantal": quantity}
    )
    update = convert.stock_to_vendre(stock, attrs.evolve(lookups, settings=settings))
    assert str(update.article_number) == "1001_SKO_42"
    assert (update.quantity, update.status) == expected


def test_stock_back_to_bex(lookups: Lookups) -> None:
    """A stock update becomes a Bex stock level with the model code split."""
    update = vendre.load_stock_update(
        {"article_number": "JKT_001_KL_M", "quantity": 3, "status": 1}
    )
    assert bex.dump_stock(convert.stock_to_bex(update, lookups)) == {
        "Artikelnr": "JKT_001",
        "Storleksgrupp": "KL",
        "Storlek": "M",
        "Lagerantal": 3,
    }


def test_statuses_both_ways(lookups: Lookups) -> None:
    """Bex Status → Vendre status id through order_statuses, and back."""
    status = bex.load_order_status({"Ordernr": "100234", "Status": "SKICKAD"})
    update = convert.status_to_vendre(status, lookups)
    assert update == vendre.OrderStatusUpdate(id=100234, status=3)
    assert convert.status_to_bex(update, lookups) == status


def test_unknown_status_and_bad_order_number(lookups: Lookups) -> None:
    """Both problems are reported together."""
    with pytest.raises(MappingError) as info:
        convert.status_to_vendre(bex.OrderStatus(order_number="W-1", status="SKICKAT"), lookups)
    assert info.value.paths == ("$.Ordernr", "$.Status")


@pytest.mark.parametrize(
    ("status", "usable", "state"),
    [
        (bex.GiftCardStatus.ACTIVE, True, "active"),
        (bex.GiftCardStatus.RESERVED, False, "reserved"),
        (bex.GiftCardStatus.USED, False, "used"),
        (bex.GiftCardStatus.BLOCKED, False, "blocked"),
    ],
)
def test_gift_cards(status: bex.GiftCardStatus, usable: bool, state: str, lookups: Lookups) -> None:
    """A card is usable exactly when Aktiv; the status says why not, and comes back."""
    card = bex.GiftCard(
        number="PK-1", balance=Decimal("250.00"), currency="SEK", valid_until=None, status=status
    )
    seen = convert.gift_card_to_vendre(card, lookups)
    assert (seen.usable, seen.status, seen.balance) == (usable, state, Decimal("250.00"))
    assert convert.gift_card_to_bex(seen, lookups) == card


def test_gift_card_without_status_is_inferred(lookups: Lookups) -> None:
    """Without a status: usable → Aktiv; unusable → Använd when spent, else Spärrad."""
    card = vendre.GiftCard(code="PK", balance=Decimal(0), currency="SEK", usable=False)
    assert convert.gift_card_to_bex(card, lookups).status is bex.GiftCardStatus.USED
    card = attrs.evolve(card, balance=Decimal(5))
    assert convert.gift_card_to_bex(card, lookups).status is bex.GiftCardStatus.BLOCKED
    card = attrs.evolve(card, usable=True)
    assert convert.gift_card_to_bex(card, lookups).status is bex.GiftCardStatus.ACTIVE


def test_bonus_balances(lookups: Lookups) -> None:
    """Kundnr ↔ customer_id, Bonuspoäng ↔ points."""
    balance = bex.load_bonus_balance({"Kundnr": "5512", "Bonuspoäng": 1200})
    assert convert.bonus_to_vendre(balance, lookups) == vendre.BonusBalance(
        customer_id=5512, points=1200
    )
    assert convert.bonus_to_bex(convert.bonus_to_vendre(balance, lookups), lookups) == balance
    with pytest.raises(MappingError) as info:
        convert.bonus_to_vendre(bex.BonusBalance(customer_number="K-1", points=1), lookups)
    assert info.value.paths == ("$.Kundnr",)


def test_gift_card_usable_must_agree_with_status() -> None:
    """A card cannot be usable and blocked at once."""
    with pytest.raises(MappingError) as info:
        vendre.load_gift_card(
            {"code": "PK", "balance": "5", "currency": "SEK", "usable": True, "status": "blocked"}
        )
    assert info.value.paths == ("$.usable",)


def test_product_to_bex_builds_only_valid_articles(lookups: Lookups) -> None:
    """A product that would make an article Bex refuses is an error on the product's paths."""
    product = vendre.Product(
        article_number="1001",
        name={"sv": "Sko"},
        manufacturer_id="L",
        price=Decimal("80.0000"),
        tax_rate=Decimal("25.0000"),
        price_in=Decimal("10.0000"),
        category_id=12,
        size_group="SKO",
        variants=(
            vendre.Variant(article_number=ModelCode("1001", "SKO", "42"), size="42"),
            vendre.Variant(article_number=ModelCode("1001", "SKO", "42"), size="42"),
        ),
    )
    with pytest.raises(MappingError) as info:
        convert.product_to_bex(product, lookups)
    assert info.value.paths == ("$.variants[1].size",)
    with pytest.raises(MappingError) as info:
        convert.product_to_bex(attrs.evolve(product, variants=()), lookups)
    assert info.value.paths == ("$.variants",)


def test_purchase_price_that_needs_rounding_is_refused(lookups: Lookups) -> None:
    """Inköpspris has 2 decimals: 12.3456 is an error at $.price_in, not silently 12.35."""
    product = vendre.Product(
        article_number="GIFTBOX",
        name={"sv": "Ask"},
        manufacturer_id="L",
        price=Decimal("39.2000"),
        tax_rate=Decimal("25.0000"),
        price_in=Decimal("12.3456"),
        category_id=20,
    )
    with pytest.raises(MappingError) as info:
        convert.product_to_bex(product, lookups)
    assert info.value.paths == ("$.price_in",)


# --- A product built by hand ----------------------------------------------------------------------


def test_a_constructed_product_without_swedish_does_not_convert(lookups: Lookups) -> None:
    """product_to_bex needs the 'sv' name, which becomes Beskrivning."""
    product = vendre.load_product(
        {
            "article_number": "GIFTBOX",
            "name": {"sv": "Presentask"},
            "manufacturer_id": "LEV-1",
            "price": "80.0000",
            "tax_rate": "25.0000",
            "price_in": "20.0000",
            "category_id": 20,
        }
    )
    english_only = attrs.evolve(product, name={"en": "Gift box"})
    assert convert.product_to_bex(product, lookups).description == "Presentask"
    with pytest.raises(MappingError) as caught:
        convert.product_to_bex(english_only, lookups)
    assert problems_of(caught.value) == [("$.name", "needs a text for 'sv'")]
