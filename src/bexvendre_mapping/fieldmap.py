"""The field maps: which Vendre field becomes which Bex field, and how (SPEC §2).

One :class:`EntityMap` per entity lists every wire field of both sides. The converters read
their plain field copies and code-table look-ups from these maps, and ``docs/mapping.md`` is
generated from them (``bexvendre mapping > docs/mapping.md``), so the
documentation cannot drift from what the code does.

>>> rule = ORDER.find("billing_address.country_id")
>>> rule.bex, rule.table
('Faktureras.Land', 'countries')
"""

from __future__ import annotations

import functools
from typing import Literal

import attrs

from bexvendre_mapping import bex, vendre

__all__ = [
    "ALL",
    "BONUS",
    "EntityMap",
    "FieldRule",
    "GIFT_CARD",
    "ORDER",
    "PRODUCT",
    "RuleKind",
    "STATUS",
    "STOCK",
    "render_markdown",
]

RuleKind = Literal["copy", "lookup", "id", "vat", "model code", "derived", "amount"]


@attrs.frozen
class FieldRule:
    """How one field crosses between the systems.

    Attributes:
        vendre: the field's JSON path in the Vendre document (``products[].model``), or
            ``""`` when only Bex has it.
        bex: the field's JSON path in the Bex document (``Artiklar[].Artikelnr``), or ``""``
            when only Vendre has it.
        rule: ``copy`` (as it is), ``lookup`` (through a code table), ``id`` (integer id ↔
            digit string), ``amount`` (decimals re-scaled, exact), ``vat`` (price including
            ↔ excluding VAT), ``model code`` (SPEC §4) or ``derived`` (computed; see note).
        from_seed: whether the seed's table gives the pair (``False``: a decision of ours).
        table: for ``lookup``, the code table's name.
        table_from: for ``lookup``, the side whose value is the table's key.
        note: what the rule does beyond its name, and why.
    """

    vendre: str
    bex: str
    rule: RuleKind
    from_seed: bool = True
    table: str | None = None
    table_from: Literal["vendre", "bex"] = "vendre"
    note: str = ""


@attrs.frozen(eq=False)  # compared and hashed by identity: each entity has one map
class EntityMap:
    """Every field of one entity, both sides."""

    name: str
    title: str
    vendre_model: type
    bex_model: type
    rules: tuple[FieldRule, ...]

    def find(self, vendre_path: str) -> FieldRule:
        """The rule for a Vendre field path.

        Raises:
            KeyError: no rule names that path.
        """
        for rule in self.rules:
            if rule.vendre == vendre_path:
                return rule
        raise KeyError(vendre_path)

    def block(self, vendre_prefix: str, bex_prefix: str) -> tuple[FieldRule, ...]:
        """The plain rules (copy, lookup, amount) of one nested block, both prefixes removed."""
        return _block(self, vendre_prefix, bex_prefix)


@functools.cache
def _block(entity: EntityMap, vendre_prefix: str, bex_prefix: str) -> tuple[FieldRule, ...]:
    found = []
    for rule in entity.rules:
        if rule.rule not in ("copy", "lookup", "amount"):
            continue
        if not (rule.vendre.startswith(vendre_prefix) and rule.bex.startswith(bex_prefix)):
            continue
        v, b = rule.vendre[len(vendre_prefix) :], rule.bex[len(bex_prefix) :]
        if "." in v or "." in b or "[" in v or "[" in b:
            continue
        found.append(attrs.evolve(rule, vendre=v, bex=b))
    return tuple(found)


def _address(v: str, b: str, postcode: str, country: str | None) -> list[FieldRule]:
    rules = [
        FieldRule(f"{v}.name", f"{b}.Namn", "copy"),
        FieldRule(f"{v}.street_address", f"{b}.Adress", "copy"),
        FieldRule(f"{v}.street_address2", f"{b}.Adress2", "copy", note="may be empty or absent"),
        FieldRule(f"{v}.postcode", f"{b}.{postcode}", "copy"),
    ]
    if country is not None:
        rules.append(FieldRule(f"{v}.country_id", f"{b}.{country}", "lookup", table="countries"))
    return rules


ORDER = EntityMap(
    "order",
    "Order (Orderanrop), Vendre → Bex and back",
    vendre.Order,
    bex.Order,
    (
        FieldRule("id", "Ordernr", "id"),
        FieldRule(
            "date_added",
            "Orderdatum",
            "copy",
            note="Vendre: epoch seconds or text; Bex: the shop-local wall clock, DST kept",
        ),
        FieldRule("customer_id", "Kundnr", "id", note="absent for a guest"),
        FieldRule(
            "status",
            "",
            "derived",
            from_seed=False,
            note="shop-specific; Bex sends statuses back through the status flow instead",
        ),
        FieldRule("currency", "Valuta", "copy"),
        FieldRule(
            "currency_value",
            "Valutakod",
            "amount",
            note="the rate; the seed maps it to 'Valutakod' and so do we",
        ),
        *_address("billing_address", "Faktureras", "Postnr", "Land"),
        FieldRule("billing_address.city", "Faktureras.Ort", "copy"),
        *_address("customer_address", "Beställare", "PostNr", None),
        FieldRule("customer_address.city", "Beställare.Ort", "copy"),
        FieldRule("customer_address.email_address", "Beställare.Epost", "copy"),
        FieldRule("customer_address.phone_default", "Beställare.Tel", "copy"),
        FieldRule("customer_address.phone_mobile", "Beställare.Mobil", "copy"),
        FieldRule(
            "customer_address.country_id",
            "",
            "derived",
            from_seed=False,
            note="Beställare has no country in Bex; not sent, and absent coming back",
        ),
        *_address("delivery_address", "Leveransadress", "Postkod", "Landskod"),
        FieldRule(
            "delivery_address.city",
            "Leveransadress.Ort",
            "copy",
            from_seed=False,
            note="missing from the seed's table; a delivery address needs its city",
        ),
        FieldRule(
            "payment.external_id",
            "Butik & webbetalningar[0].Externt dokumentnr",
            "copy",
            note="the seed's 'Dibs' block: the web payment is the first entry",
        ),
        FieldRule("payment.transaction_id", "Butik & webbetalningar[0].Transnr", "copy"),
        FieldRule("payment.date_added", "Butik & webbetalningar[0].Datum", "copy"),
        FieldRule(
            "payment.payment_method",
            "Butik & webbetalningar[0].Kod",
            "lookup",
            table="payment_methods",
            note="the payment method's external article number in Bex",
        ),
        FieldRule(
            "",
            "Butik & webbetalningar[0].Belopp",
            "derived",
            from_seed=False,
            note="ot_total: what the customer paid through the payment provider",
        ),
        FieldRule("products[].quantity", "Artiklar[].Antal", "copy"),
        FieldRule(
            "products[].model",
            "Artiklar[].Artikelnr + Storleksgrupp + Storlek",
            "model code",
            note="split at the last two '_'; an unsized article is its number alone",
        ),
        FieldRule("products[].name", "Artiklar[].Beskrivning", "copy"),
        FieldRule(
            "products[].price",
            "Artiklar[].Pris",
            "vat",
            note="Vendre: excl. VAT, a JSON number with at most 4 decimals; Bex: incl. VAT, "
            "rounded half up to the currency's minor unit; final_price when the row has one",
        ),
        FieldRule(
            "products[].final_price",
            "Artiklar[].Pris",
            "vat",
            from_seed=False,
            note="Vendre documents it as 'the price of the product' (price is before "
            "attribute values and discounts): when present, it is the unit price Bex gets; "
            "Bex → Vendre writes price only",
        ),
        FieldRule("products[].tax", "Artiklar[].Moms", "copy", from_seed=False, note="VAT percent"),
        FieldRule(
            "",
            "Artiklar[].Belopp inkl.moms",
            "derived",
            from_seed=False,
            note="Antal × Pris",
        ),
        FieldRule(
            "totals[].value",
            "Artiklar[] (fee rows), Belopp inkl.moms",
            "derived",
            note="every total but ot_subtotal, ot_tax, ot_total and ot_giftcard becomes a fee "
            "row: Antal 1, Pris = the value, Beskrivning = the title, Artikelnr from "
            "fee_articles (FraktID for ot_shipping), Moms = the fee_tax_rate setting",
        ),
        FieldRule(
            "gift_cards[]",
            "Butik & webbetalningar[1:]",
            "derived",
            from_seed=False,
            note="one payment per card: Kod = gift_card_payment_code, Belopp = amount, "
            "Transnr = reservation_id, Externt dokumentnr = code, Datum = the web payment's",
        ),
        FieldRule(
            "shipping.method_id",
            "FraktID",
            "lookup",
            table="shipping_methods",
            note="the shipping method's external article number in Bex",
        ),
        FieldRule(
            "shipping.title",
            "",
            "derived",
            from_seed=False,
            note="becomes the shipping row's Beskrivning when there is an ot_shipping total",
        ),
        FieldRule(
            "",
            "Belopp inkl.moms",
            "derived",
            from_seed=False,
            note="the sum of the rows; checked against ot_total plus gift cards",
        ),
    ),
)

PRODUCT = EntityMap(
    "product",
    "Product (Produktanrop), Bex article → Vendre product family: a parent, one child per size",
    vendre.Product,
    bex.Article,
    (
        FieldRule(
            "article_number",
            "Artikel + _Storleksgrupp + _Storlek",
            "model code",
            note="the parent (and an unsized product): the Artikel; each child: the size's "
            "model code",
        ),
        FieldRule("name.sv", "Beskrivning", "derived", note="the seed's 'Sv:': Swedish text"),
        FieldRule(
            "ean1",
            "Storlekar[].Streckkod",
            "copy",
            note="on each child (size); absent on the parent",
        ),
        FieldRule(
            "external_id",
            "Artikel + _Storleksgrupp + _Storlek",
            "derived",
            from_seed=False,
            note="set to the article number, the integration's own reference; not read back",
        ),
        FieldRule(
            "manufacturer_id",
            "LeverantörsID",
            "lookup",
            table="manufacturers",
            table_from="bex",
            note="an empty LeverantörsID is no manufacturer (null)",
        ),
        FieldRule(
            "price",
            "Pris",
            "vat",
            note="Vendre: excl. VAT, a JSON number with at most 4 decimals; Bex: incl. VAT, 2 "
            "decimals; the rate is the tax class's",
        ),
        FieldRule(
            "tax_class_id",
            "Moms",
            "lookup",
            from_seed=False,
            table="tax_classes",
            note="Vendre products have a tax class, not a rate (SPEC §8): the class with the "
            "Moms as its rate",
        ),
        FieldRule(
            "price_in",
            "Inköpspris",
            "amount",
            note="purchase price, excl. VAT on both sides; Bex needs one (null is an error "
            "towards Bex), and one that would need rounding to 2 decimals is an error",
        ),
        FieldRule(
            "category_ids",
            "Extern referens",
            "lookup",
            table="categories",
            table_from="bex",
            note="the seed's Category_id; the API lists category_ids (SPEC §8): Bex gives one, "
            "back from the first the table knows",
        ),
        FieldRule(
            "is_parent",
            "Storleksgrupp",
            "derived",
            from_seed=False,
            note="true on the parent of a sized article; the size group is in the children's "
            "model codes",
        ),
        FieldRule(
            "parent",
            "Storlekar",
            "derived",
            from_seed=False,
            note="on each child: the parent's Vendre id, set by the sync (one child per size)",
        ),
        FieldRule(
            "child_product_ids",
            "",
            "derived",
            from_seed=False,
            note="Vendre's own, read only",
        ),
        *(
            FieldRule(key, "", "derived", from_seed=False, note=note)
            for key, note in (
                ("id", "Vendre's product id: the sync keeps article_number → id"),
                ("quantity", "written by the stock flow (Lageranrop), not by products"),
                ("warehouses", "written by the stock flow for the mapped warehouse"),
                ("status", "written by the stock flow (Lageranrop's status)"),
                ("show", "Vendre's own, read only"),
                ("date_added", "Vendre's own, read only: epoch seconds"),
                ("date_modified", "Vendre's own, read only: epoch seconds"),
            )
        ),
    ),
)

STOCK = EntityMap(
    "stock",
    "Stock (Lageranrop), Bex → Vendre",
    vendre.StockUpdate,
    bex.Stock,
    (
        FieldRule(
            "article_number",
            "Artikelnr + _Storleksgrupp + _Storlek",
            "model code",
            from_seed=False,
        ),
        FieldRule(
            "quantity",
            "Lagerantal",
            "derived",
            note="negative stock (possible in a point-of-sale system) is sent as 0",
        ),
        FieldRule(
            "status",
            "",
            "derived",
            note="shown (1) or hidden (0), from the stock_status setting: hide_when_zero "
            "hides a variant with nothing in stock, always_show never hides; saved as the "
            "product's status (true/false)",
        ),
        FieldRule(
            "warehouse",
            "",
            "lookup",
            from_seed=False,
            table="warehouses",
            table_from="bex",
            note="the Bex client's location, when the table maps it: the quantity is also "
            "saved as that Vendre warehouse's",
        ),
    ),
)

STATUS = EntityMap(
    "status",
    "Order status, Bex → Vendre",
    vendre.OrderStatusUpdate,
    bex.OrderStatus,
    (
        FieldRule("id", "Ordernr", "id", from_seed=False),
        FieldRule(
            "status",
            "Status",
            "lookup",
            from_seed=False,
            table="order_statuses",
            table_from="bex",
            note="Vendre's status ids are shop-specific",
        ),
    ),
)

GIFT_CARD = EntityMap(
    "gift_card",
    "Gift card (Presentkort), Bex → Vendre's checkout",
    vendre.GiftCard,
    bex.GiftCard,
    (
        FieldRule("code", "Nummer", "copy", from_seed=False),
        FieldRule("balance", "Saldo", "amount", from_seed=False),
        FieldRule("currency", "Valuta", "copy", from_seed=False),
        FieldRule("expires", "Giltig till", "copy", from_seed=False),
        FieldRule(
            "usable",
            "Status",
            "derived",
            from_seed=False,
            note="true exactly when the Bex status is Aktiv",
        ),
        FieldRule(
            "status",
            "Status",
            "derived",
            from_seed=False,
            note="Aktiv/Reserverad/Använd/Spärrad as active/reserved/used/blocked; without it, "
            "a usable card is Aktiv and an unusable one Använd (no balance) or Spärrad",
        ),
    ),
)

BONUS = EntityMap(
    "bonus",
    "Bonus balance, Bex → Vendre",
    vendre.BonusBalance,
    bex.BonusBalance,
    (
        FieldRule("customer_id", "Kundnr", "id", from_seed=False),
        FieldRule("points", "Bonuspoäng", "copy", from_seed=False),
    ),
)

ALL: tuple[EntityMap, ...] = (ORDER, PRODUCT, STOCK, STATUS, GIFT_CARD, BONUS)


def _cell(text: str) -> str:
    return f"`{text}`" if text else "—"


def render_markdown() -> str:
    """The mapping tables as a Markdown page (``docs/mapping.md``)."""
    lines = [
        "# Field mapping",
        "",
        "<!-- Generated by `bexvendre mapping > docs/mapping.md`;"
        " a test fails when this page is stale. -->",
        "",
        "Every field of both sides, as the converters map it. *Seed* marks the pairs given",
        "by Vendre's page on the Bex integration; the others are decisions of this library,",
        "each with its reason. Rules: **copy** as it is; **lookup** through a code table",
        "(SPEC §6); **id** integer id ↔ digit string; **amount** exact decimals re-scaled;",
        "**vat** price excluding ↔ including VAT (SPEC §5); **model code**",
        "`Artikelnr_Storleksgrupp_Storlek` (SPEC §4); **derived** computed as the note says.",
        "",
    ]
    for entity in ALL:
        lines += [
            f"## {entity.title}",
            "",
            f"Models: `vendre.{entity.vendre_model.__name__}` ↔ `bex.{entity.bex_model.__name__}`.",
            "",
            "| Vendre | Bex | rule | source | note |",
            "|---|---|---|---|---|",
        ]
        for rule in entity.rules:
            how = f"lookup `{rule.table}`" if rule.rule == "lookup" else rule.rule
            source = "seed" if rule.from_seed else "decision"
            note = rule.note.replace("|", "\\|")
            lines.append(
                f"| {_cell(rule.vendre)} | {_cell(rule.bex)} | {how} | {source} | {note} |"
            )
        lines.append("")
    return "\n".join(lines)
