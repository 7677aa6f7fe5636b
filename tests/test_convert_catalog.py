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
    UnknownCodeError,
    bex,
    convert,
    vendre,
)
from bexvendre_mapping.convert._support import Problems, checks_models, copy_block
from bexvendre_mapping.fieldmap import GIFT_CARD


def test_article_to_product_family_field_by_field(examples: Path, lookups: Lookups) -> None:
    """A parent (the Artikel) and one child per size (the model code, its ean1), each with
    the name, price excl. VAT, tax class, category and manufacturer from the tables."""
    article = bex.load_article((examples / "bex-article.json").read_bytes())
    family = convert.article_to_vendre(article, lookups)
    parent = vendre.dump_product(family.parent)
    assert parent == {
        "article_number": "1001",
        "external_id": "1001",
        "name": {"sv": "Löparsko Aero"},
        "price": Decimal("799.2"),
        "price_in": Decimal("412.5"),
        "tax_class_id": 2,
        "category_ids": [12],
        "manufacturer_id": 7,
        "is_parent": True,
    }
    assert [c.article_number for c in family.children] == [
        "1001_SKO_40",
        "1001_SKO_41",
        "1001_SKO_42",
        "1001_SKO_43",
        "1001_SKO_44",
    ]
    assert family.children[2].ean1 == "7350012340425"
    assert family.children[4].ean1 is None
    child = json.loads(vendre.dumps_product(family.children[2]))
    assert child["price"] == 799.2  # a JSON number, as the shop has it
    assert "quantity" not in child  # the stock flow's field
    assert "status" not in child
    assert convert.product_to_bex(family, lookups) == article


def test_tax_class_comes_from_the_table(examples: Path, lookups: Lookups) -> None:
    """Moms 12 is class 4 in the example shop; a rate no class has is an error naming the
    table; back to Bex, the class gives the Moms."""
    doc = json.loads((examples / "bex-article.json").read_bytes())
    doc["Moms"] = "12.00"
    family = convert.article_to_vendre(bex.load_article(doc), lookups)
    assert family.parent.tax_class_id == 4
    assert convert.product_to_bex(family, lookups).vat_rate == Decimal("12.00")
    doc["Moms"] = "13.00"
    with pytest.raises(UnknownCodeError) as info:
        convert.article_to_vendre(bex.load_article(doc), lookups)
    assert info.value.paths == ("$.Moms",)
    assert "tax_classes" in str(info.value)


def test_unsized_article_is_a_family_without_children(lookups: Lookups) -> None:
    """An article without sizes is one product; an empty LeverantörsID is no manufacturer."""
    article = bex.load_article(
        {
            "Artikel": "GIFTBOX",
            "Beskrivning": "Presentförpackning",
            "LeverantörsID": "",
            "Pris": "49.00",
            "Moms": "25.00",
            "Inköpspris": "10.00",
            "Extern referens": "TILLBEHOR",
        }
    )
    family = convert.article_to_vendre(article, lookups)
    assert family.children == ()
    assert (family.parent.is_parent, family.parent.manufacturer_id) == (False, None)
    assert convert.product_to_bex(family, lookups) == article
    assert convert.product_to_bex(family.parent, lookups) == article  # a product alone


def test_unknown_codes_are_errors_at_their_paths(examples: Path, lookups: Lookups) -> None:
    """The Extern referens and the LeverantörsID must be in their tables: both reported."""
    doc = json.loads((examples / "bex-article.json").read_bytes())
    doc["Extern referens"] = "SKORR"
    doc["LeverantörsID"] = "LEV-0043"
    with pytest.raises(UnknownCodeError) as info:
        convert.article_to_vendre(bex.load_article(doc), lookups)
    assert info.value.paths == ("$['Extern referens']", "$.LeverantörsID")


def test_children_must_be_sizes_of_the_parent(examples: Path, lookups: Lookups) -> None:
    """A child whose article number is no model code of the parent's article is an error."""
    family = convert.article_to_vendre(
        bex.load_article((examples / "bex-article.json").read_bytes()), lookups
    )
    broken = attrs.evolve(
        family,
        children=(
            attrs.evolve(family.children[0], article_number="1002_SKO_40"),
            attrs.evolve(family.children[1], article_number="1001_STRL_41"),
            *family.children[2:],
        ),
    )
    with pytest.raises(MappingError) as info:
        convert.product_to_bex(broken, lookups)
    assert info.value.paths == (
        "$.children[0].article_number",
        "$.children[1].article_number",
    )
    twice = attrs.evolve(family, children=(family.children[0], family.children[0]))
    with pytest.raises(MappingError) as info:
        convert.product_to_bex(twice, lookups)
    assert info.value.paths == ("$.children[1].article_number",)


def test_category_from_the_first_known_of_category_ids(lookups: Lookups) -> None:
    """Vendre lists several categories: the first the table knows is the Extern referens."""
    product = vendre.Product(
        article_number="GIFTBOX",
        name={"sv": "Ask"},
        price=Decimal("39.2"),
        price_in=Decimal("12.5"),
        tax_class_id=2,
        category_ids=(999, 20, 12),
    )
    assert convert.product_to_bex(product, lookups).external_reference == "TILLBEHOR"
    with pytest.raises(UnknownCodeError) as info:
        convert.product_to_bex(attrs.evolve(product, category_ids=(999,)), lookups)
    assert info.value.paths == ("$.category_ids[0]",)


def test_purchase_price_that_needs_rounding_or_is_missing_is_refused(lookups: Lookups) -> None:
    """Inköpspris has 2 decimals: 12.3456 is an error at $.price_in, not silently 12.35;
    a product without one (Vendre sends null) cannot be a Bex article."""
    product = vendre.Product(
        article_number="GIFTBOX",
        name={"sv": "Ask"},
        price=Decimal("39.2"),
        price_in=Decimal("12.3456"),
        tax_class_id=2,
        category_ids=(20,),
    )
    with pytest.raises(MappingError) as info:
        convert.product_to_bex(product, lookups)
    assert info.value.paths == ("$.price_in",)
    with pytest.raises(MappingError) as info:
        convert.product_to_bex(attrs.evolve(product, price_in=None), lookups)
    assert info.value.paths == ("$.price_in",)


def test_a_product_without_swedish_does_not_convert(lookups: Lookups) -> None:
    """product_to_bex needs the 'sv' name, which becomes Beskrivning."""
    product = vendre.Product(
        article_number="GIFTBOX",
        name={"sv": "Presentask"},
        price=Decimal("80"),
        price_in=Decimal("20"),
        tax_class_id=2,
        category_ids=(20,),
    )
    english_only = attrs.evolve(product, name={"en": "Gift box"})
    assert convert.product_to_bex(product, lookups).description == "Presentask"
    with pytest.raises(MappingError) as caught:
        convert.product_to_bex(english_only, lookups)
    assert problems_of(caught.value) == [("$.name", "needs a text for 'sv'")]


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


def test_a_product_bex_would_refuse_is_reported_on_the_vendre_paths(lookups: Lookups) -> None:
    """No article number, a price out of Bex's range, children that are no model codes:
    every problem, each at the field of the family it came from."""
    product = vendre.Product(
        article_number="1001",
        name={"sv": "Sko"},
        price=Decimal(10) ** 15,
        price_in=Decimal("12.5"),
        tax_class_id=2,
        category_ids=(20,),
    )
    with pytest.raises(MappingError) as info:
        convert.product_to_bex(product, lookups)
    assert [str(p) for p in info.value.problems] == [
        "$.price: 1250000000000000.00 including VAT is out of range (at most 15 integer digits)"
    ]
    with pytest.raises(MappingError) as info:
        convert.product_to_bex(attrs.evolve(product, article_number="", price=Decimal(1)), lookups)
    assert [str(p) for p in info.value.problems] == [
        "$.article_number: the article number is empty"
    ]
    family = vendre.ProductFamily(
        parent=attrs.evolve(product, price=Decimal(1)),
        children=(
            attrs.evolve(product, article_number="1001__42"),
            attrs.evolve(product, article_number="1001_SKO_42"),
        ),
    )
    with pytest.raises(MappingError) as info:
        convert.product_to_bex(family, lookups)
    assert [str(p) for p in info.value.problems] == [
        "$.children[0].article_number: invalid model code '1001__42': the size group is empty"
    ]


# --- the generic block copy and the problem collector ---------------------------------------


def test_a_block_copy_rescales_an_amount_exactly_or_reports_it(lookups: Lookups) -> None:
    """An ``amount`` rule gives the target's wire decimals; one that would round is a
    problem at the source field's path, and the copy goes on."""
    card = bex.GiftCard(
        number="X1", balance=Decimal("500.5"), currency="SEK", status=bex.GiftCardStatus.ACTIVE
    )
    problems = Problems()
    plain = {"vendre_prefix": "", "bex_prefix": "", "lookups": lookups, "problems": problems}
    copied = copy_block(GIFT_CARD, card, vendre.GiftCard, to_bex=False, path="$", **plain)
    assert (str(copied["balance"]), copied["code"]) == ("500.5000", "X1")
    assert problems.errors == []

    shop_card = vendre.GiftCard(code="X1", balance=Decimal("1.2345"), currency="SEK", usable=True)
    copied = copy_block(GIFT_CARD, shop_card, bex.GiftCard, to_bex=True, path="$.card", **plain)
    assert (str(copied["balance"]), copied["number"]) == ("1.23", "X1")
    assert [str(p) for e in problems.errors for p in e.problems] == [
        "$.card.balance: 1.2345 cannot be written with 2 decimals without rounding"
    ]


def test_past_the_limit_codes_are_only_counted(lookups: Lookups) -> None:
    """Full: a known code is still read, an unknown (or unhashable) one only counted."""
    problems = Problems()
    for index in range(MappingError.MAX_PROBLEMS):
        problems.add(f"$[{index}]", "bad")
    assert problems.full
    known_class = next(iter(lookups.tax_classes._forward))
    known_rate = lookups.tax_classes._forward[known_class]
    assert problems.lookup(lookups.tax_classes, known_class, "$.a") == known_rate
    assert problems.reverse(lookups.tax_classes, known_rate, "$.b") == known_class
    assert problems.lookup(lookups.tax_classes, 999_999, "$.c") is None
    assert problems.reverse(lookups.tax_classes, Decimal("99.9"), "$.d") is None
    assert problems.lookup(lookups.tax_classes, ["unhashable"], "$.e") is None
    assert (len(problems.errors), problems.more) == (MappingError.MAX_PROBLEMS, 3)
    with pytest.raises(MappingError) as raised:
        problems.raise_if_any()
    assert raised.value.problems[-1].message == "... and 3 more problems"


def test_a_converter_error_on_a_sound_model_stands() -> None:
    """Nothing wrong with the model: the converter's own error is a bug, raised as it is."""

    @checks_models
    def broken(status: bex.OrderStatus) -> None:
        raise TypeError("a bug in the converter")

    with pytest.raises(TypeError, match="a bug in the converter"):
        broken(bex.OrderStatus(order_number="100234", status="SKICKAD"))
