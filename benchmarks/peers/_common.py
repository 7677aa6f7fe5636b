"""What both peer pipelines share: code tables, model codes, money and dates.

These are plain-Python transcriptions of SPEC §4-§6, the same rules the library applies,
so that the peers do the same work: every model code is checked part by part, every
amount is rounded half up, every code goes through its table and an unknown code is an
error. Nothing here imports the library.
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

__all__ = [
    "MAX_AMOUNT",
    "MINOR_UNITS",
    "ZONE",
    "ModelCode",
    "PeerError",
    "Tables",
    "check_places",
    "code_problems",
    "excl_vat",
    "format_datetime",
    "incl_vat",
    "join_code",
    "load_tables",
    "parse_model_code",
    "quantize",
    "to_zone",
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
MAX_AMOUNT = Decimal(10) ** 15
_EXPONENTS = [Decimal(1).scaleb(-n) for n in range(13)]
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


class PeerError(ValueError):
    """A mapping problem found by a peer pipeline (bad code, totals mismatch, ...)."""


# --- money ----------------------------------------------------------------------------------


def quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(_EXPONENTS[places], rounding=ROUND_HALF_UP)


def incl_vat(excl: Decimal, rate: Decimal, places: int) -> Decimal:
    return quantize(excl * (1 + rate / 100), places)


def excl_vat(incl: Decimal, rate: Decimal, places: int) -> Decimal:
    return quantize(incl / (1 + rate / 100), places)


def check_places(value: Decimal, places: int) -> Decimal:
    """A finite decimal below 10**15 with at most ``places`` decimals (for msgspec)."""
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        raise ValueError(f"{value} is not a finite amount below 10**15")
    exact = value.quantize(_EXPONENTS[places])
    if exact != value:
        raise ValueError(f"{value} has more than {places} decimals")
    return exact


def check_vat(value: Decimal) -> Decimal:
    """A VAT percent from 0 to 100 (for msgspec)."""
    if not 0 <= value <= 100:
        raise ValueError(f"{value} is not a VAT percent from 0 to 100")
    return value


# --- dates ----------------------------------------------------------------------------------


def to_zone(value: datetime) -> datetime:
    """A naive wall-clock time in the shop's zone; an aware one converted to it."""
    if value.tzinfo is None:
        return value.replace(tzinfo=ZONE)
    return value.astimezone(ZONE)


def format_datetime(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in the shop's zone."""
    if value.tzinfo is not None and value.tzinfo is not ZONE:
        value = value.astimezone(ZONE)
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text


# --- model codes (SPEC §4) ------------------------------------------------------------------


class ModelCode(NamedTuple):
    article: str
    size_group: str | None = None
    size: str | None = None

    def __str__(self) -> str:
        if self.size is None:
            return self.article
        return f"{self.article}_{self.size_group}_{self.size}"


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


def join_code(article: str, size_group: str | None, size: str | None) -> str:
    """The model code of parts already checked with :func:`code_problems`."""
    return article if size is None else f"{article}_{size_group}_{size}"


def parse_model_code(code: str) -> ModelCode:
    """``Artikelnr_Storleksgrupp_Storlek`` or a bare article number, checked."""
    parts = code.rsplit("_", 2)
    if len(parts) == 3:
        problems = code_problems(parts[0], parts[1], parts[2])
        if not problems:
            return ModelCode(parts[0], parts[1], parts[2])
    else:
        problems = code_problems(code, None, None)
        if not problems:
            return ModelCode(code)
    raise ValueError(f"invalid model code {code!r}: {'; '.join(problems)}")


# --- code tables (SPEC §6) ------------------------------------------------------------------


class Table:
    """A code table read forward; an unknown code is an error naming the table."""

    __slots__ = ("entries", "name")

    def __init__(self, name: str, entries: dict[Any, Any]) -> None:
        self.name = name
        self.entries = entries

    def get(self, code: Any, path: str) -> Any:
        try:
            return self.entries[code]
        except (KeyError, TypeError):
            raise PeerError(f"{path}: unknown code {code!r} in table {self.name!r}") from None


class Tables:
    """The code tables and settings of ``examples/lookups.toml``, as plain dicts."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.payment_methods = Table("payment_methods", dict(data.get("payment_methods", {})))
        self.shipping_methods = Table("shipping_methods", dict(data.get("shipping_methods", {})))
        self.countries = Table(
            "countries", {int(k): v for k, v in data.get("countries", {}).items()}
        )
        self.categories = Table("categories", dict(data.get("categories", {})))
        self.fee_articles = Table("fee_articles", dict(data.get("fee_articles", {})))
        self.gift_card_payment_code: str = data.get("gift_card_payment_code", "PRESENTKORT")
        settings = data.get("settings", {})
        self.tolerance = Decimal(str(settings.get("totals_tolerance_per_row", "0.01")))
        self.totals_policy: str = settings.get("totals_policy", "error")
        self.always_show = settings.get("stock_status", "hide_when_zero") == "always_show"
        self.fee_tax_rate = Decimal(str(settings.get("fee_tax_rate", "25")))


def load_tables(path: str) -> Tables:
    with open(path, "rb") as file:
        return Tables(tomllib.load(file))
