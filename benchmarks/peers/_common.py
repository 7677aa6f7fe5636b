"""What both peer pipelines share: code tables, model codes, amounts and wall-clock times.

Plain-Python transcriptions of SPEC §4-§6, the rules the library applies, written the way
one writes a hot path: each helper is a few C-level calls on the valid case, and the
messages (with their JSON paths) are built only when something is wrong. Nothing here
imports the library.

- Amounts: :func:`scaled` checks an amount (finite, below 10**15, at most ``places``
  decimals) with one ``quantize`` in a context whose precision is 15 integer digits plus the
  decimals (so that a larger or infinite value raises there) and one comparison (NaN is
  unequal to itself). Roundings half up pass ``ROUND_HALF_UP`` by position: ``_decimal``
  parses keyword arguments slowly.
- Model codes: :func:`split_code` (a whole code) and :func:`parts_ok` (its parts) take the
  common case with ``str.isalnum``/``str.isprintable`` (no letter or digit is whitespace,
  a control character, a separator or '_'; a printable string holds no whitespace but the
  space) and hand anything else to :func:`code_problems`, the rules written out part by
  part, which also words the error.
- Wall-clock times: :func:`wall_clock` writes a naive time as it is (the shop's zone) and
  converts an aware one to Europe/Stockholm first.
- Vendre's money numbers: :func:`plain_number` gives the ``Decimal`` whose ``str`` is the
  JSON number Vendre takes (plain notation, no trailing zeros: ``799.2``, ``70``).
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, tzinfo
from decimal import Context, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "EXPONENTS",
    "MAX_AMOUNT",
    "MAX_QUANTITY",
    "MINOR_UNITS",
    "MIN_AMOUNT",
    "NOT_ROWS",
    "ZERO",
    "ZONE",
    "PeerError",
    "Tables",
    "amount_problem",
    "article_ok",
    "blank",
    "code_problem",
    "code_problems",
    "currency_problem",
    "load_tables",
    "parts_ok",
    "plain_number",
    "scaled",
    "size_ok",
    "split_code",
    "unknown",
    "vat_problem",
    "vat_rate",
    "wall_clock",
]

ZONE: tzinfo = ZoneInfo("Europe/Stockholm")

MINOR_UNITS = {
    "CHF": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "ISK": 0,
    "JPY": 0,
    "NOK": 2,
    "PLN": 2,
    "SEK": 2,
    "USD": 2,
}
#: Totals that are not Bex rows: subtotal and tax are recomputed, the total is the web
#: payment, gift cards are payments.
NOT_ROWS = frozenset({"ot_subtotal", "ot_tax", "ot_total", "ot_giftcard"})
MAX_AMOUNT = Decimal(10) ** 15
MIN_AMOUNT = -MAX_AMOUNT
MAX_QUANTITY = 10**15
ZERO, HUNDRED = Decimal(0), Decimal(100)
EXPONENTS = tuple(Decimal(1).scaleb(-n) for n in range(9))
# quantize() raises InvalidOperation when the result needs more digits than the context's
# precision: with 15 + n digits, exactly when the value is infinite or |value| >= 10**15.
_RANGE = tuple(Context(prec=15 + n) for n in range(9))
_CURRENCY = re.compile(r"[A-Z]{3}")
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


class PeerError(ValueError):
    """A problem found by a peer pipeline (bad value, unknown code, totals mismatch, ...)."""


# --- amounts --------------------------------------------------------------------------------


def scaled(value: Decimal, places: int) -> Decimal | None:
    """``value`` with exactly ``places`` decimals, or ``None`` when that would round it or
    it is not a finite amount below 10**15 (NaN, infinite, too large)."""
    try:
        exact = value.quantize(EXPONENTS[places], None, _RANGE[places])
    except InvalidOperation:
        return None
    return exact if exact == value else None


def amount_problem(value: Decimal, places: int, path: str) -> str:
    """The message for an amount :func:`scaled` refused (error path only)."""
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        return f"{path}: {value} is not a finite amount below 10**15"
    return f"{path}: {value} has more than {places} decimals"


def vat_rate(value: Decimal, places: int) -> Decimal | None:
    """``value`` with exactly ``places`` decimals, or ``None`` when it is not a VAT percent
    from 0 to 100 or would be rounded (NaN: ordering it raises, so it is tested first)."""
    if value.is_nan() or not ZERO <= value <= HUNDRED:
        return None
    return scaled(value, places)


def plain_number(value: Decimal) -> Decimal:
    """``value`` without trailing zeros, in plain notation (``799.2000`` → ``799.2``,
    ``70.00`` → ``70``, never ``7E+1`` nor ``-0``): its ``str`` is the JSON number Vendre
    takes. For the amounts checked here (below 10**15, at most 4 decimals: 19 digits at
    most), ``normalize`` in the default 28-digit context is exact."""
    if not value:
        return ZERO
    number = value.normalize()
    return number if number.as_tuple().exponent <= 0 else number.quantize(EXPONENTS[0])


def vat_problem(value: Decimal, places: int, path: str) -> str:
    """The message for a VAT percent :func:`vat_rate` refused (error path only)."""
    if value.is_nan() or not ZERO <= value <= HUNDRED:
        return f"{path}: {value} is not a VAT percent from 0 to 100"
    return amount_problem(value, places, path)


# --- text -----------------------------------------------------------------------------------


def blank(text: str) -> bool:
    """Whether ``text`` is empty or whitespace only (``not text.strip()``, without a copy)."""
    return not text or text.isspace()


def currency_problem(currency: str) -> str:
    if _CURRENCY.fullmatch(currency) is None:
        return f"$.currency: expected an ISO 4217 currency code like 'SEK', got {currency!r}"
    return f"$.currency: unknown currency {currency!r}"


def wall_clock(value: datetime | int) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (``.ffffff`` when there are microseconds) in the shop's zone:
    a naive time is the shop's wall-clock time already; an integer is Unix epoch seconds."""
    if type(value) is int:
        value = datetime.fromtimestamp(value, ZONE)
    if value.tzinfo is not None:
        value = value.astimezone(ZONE).replace(tzinfo=None)
    return value.isoformat(" ")


# --- model codes (SPEC §4) ------------------------------------------------------------------


def split_code(code: str) -> tuple[str, str | None, str | None] | None:
    """``Artikelnr_Storleksgrupp_Storlek`` or a bare article number as its three parts
    (``None`` for an unsized article's), or ``None`` when the code is not valid."""
    # Printable and without a space: no part can have whitespace or a control character,
    # so each part is valid when it is not empty. A sized code is split at its last two '_'
    # (the article number may hold '_'); with fewer than two it is an unsized article.
    if code.isprintable() and " " not in code:
        parts = code.rsplit("_", 2)
        if len(parts) < 3:
            return (code, None, None) if code else None
        article, group, size = parts
        if article and group and size:
            return article, group, size
        return None
    parts = code.rsplit("_", 2)
    if len(parts) == 3:
        if not code_problems(*parts):
            return parts[0], parts[1], parts[2]
    elif not code_problems(code, None, None):
        return code, None, None
    return None


def article_ok(article: str, sized: bool) -> bool:
    """Whether ``article`` is a valid article number; an unsized one may hold at most one
    '_' (with two it would read back as a sized code)."""
    if article.isalnum():
        return True
    if article.isprintable() and " " not in article:  # no whitespace, no control character
        ok = article != ""
    else:
        ok = _part_problem("article number", article) is None
    return ok and (sized or article.count("_") < 2)


def size_ok(part: str) -> bool:
    """Whether ``part`` is a valid size group or size."""
    if part.isalnum():
        return True
    if "_" in part:
        return False
    if part.isprintable() and " " not in part:
        return part != ""
    return _part_problem("size", part) is None


def parts_ok(article: str, size_group: str | None, size: str | None) -> bool:
    """Whether these parts make a valid model code (both or neither of group and size)."""
    if size_group is None or size is None:
        return size_group is None and size is None and article_ok(article, False)
    return (
        (article.isalnum() or article_ok(article, True))
        and (size_group.isalnum() or size_ok(size_group))
        and (size.isalnum() or size_ok(size))
    )


def _part_problem(label: str, part: str) -> str | None:
    if not part:
        return f"the {label} is empty"
    if part != part.strip():
        return f"the {label} {part!r} has leading or trailing whitespace"
    if _FORBIDDEN.search(part):
        return f"the {label} {part!r} contains a control character"
    return None


def code_problems(article: str, size_group: str | None, size: str | None) -> list[str]:
    """What is wrong with these parts as a model code (empty when nothing is)."""
    problems: list[str] = []
    if (p := _part_problem("article number", article)) is not None:
        problems.append(p)
    if size_group is None and size is None:
        if article.count("_") >= 2:
            problems.append(f"the unsized article number {article!r} has two or more '_'")
        return problems
    if size is None:
        return [*problems, "a size group without a size"]
    if size_group is None:
        return [*problems, "a size without a size group"]
    for label, part in (("size group", size_group), ("size", size)):
        if (p := _part_problem(label, part)) is not None:
            problems.append(p)
        elif "_" in part:
            problems.append(f"the {label} {part!r} contains '_'")
    return problems


def code_problem(code: str) -> str:
    """Why ``code`` is not a valid model code (error path only)."""
    parts = code.rsplit("_", 2)
    found = code_problems(*parts) if len(parts) == 3 else code_problems(code, None, None)
    return f"invalid model code {code!r}: {'; '.join(found)}"


# --- code tables (SPEC §6) ------------------------------------------------------------------


def unknown(table: str, code: object, path: str) -> str:
    """The message for a code missing from a table (error path only)."""
    if isinstance(code, str) and blank(code):
        return f"{path}: must not be empty, got {code!r}"
    return f"{path}: unknown code {code!r} in table {table!r}"


class Tables:
    """The code tables and settings of ``examples/lookups.toml``, as plain dicts.

    No table has an empty or blank code, so a look-up also refuses an empty code.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.payment_methods: dict[str, str] = dict(data.get("payment_methods", {}))
        self.shipping_methods: dict[str, str] = dict(data.get("shipping_methods", {}))
        self.countries: dict[int, str] = {int(k): v for k, v in data.get("countries", {}).items()}
        self.categories: dict[str, int] = dict(data.get("categories", {}))
        self.fee_articles: dict[str, str] = dict(data.get("fee_articles", {}))
        # Vendre products have a tax class, not a rate: the table read backwards, the
        # article's Moms (a Decimal, equal and hashed equal whatever its decimals) → class.
        self.tax_class_of_rate: dict[Decimal, int] = {
            Decimal(str(rate)): int(key) for key, rate in data.get("tax_classes", {}).items()
        }
        self.manufacturers: dict[str, int] = dict(data.get("manufacturers", {}))
        tables = (self.payment_methods, self.shipping_methods, self.categories, self.manufacturers)
        for table in tables:
            if any(blank(code) for code in table):
                raise ValueError("a code table has an empty code")
        if len(self.tax_class_of_rate) != len(data.get("tax_classes", {})):
            raise ValueError("two tax classes have the same rate")
        # Bex fee rows' articles: an unsized product row may not use one (nor the FraktID).
        self.fee_article_numbers = frozenset(self.fee_articles.values())
        self.gift_card_payment_code: str = data.get("gift_card_payment_code", "PRESENTKORT")
        settings = data.get("settings", {})
        self.tolerance = Decimal(str(settings.get("totals_tolerance_per_row", "0.01")))
        self.totals_policy: str = settings.get("totals_policy", "error")
        self.always_show = settings.get("stock_status", "hide_when_zero") == "always_show"
        rate = Decimal(str(settings.get("fee_tax_rate", "25")))
        # Bex writes the fee rows' Moms with 2 decimals: 25 is written 25.00, once.
        cents = scaled(rate, 2)
        self.fee_rate = rate if cents is None else cents


def load_tables(path: str) -> Tables:
    with open(path, "rb") as file:
        return Tables(tomllib.load(file))
