"""Code tables and settings (SPEC §6): one object, loaded from a dict or a TOML file.

>>> lookups = Lookups.from_dict({
...     "gift_card_payment_code": "PRESENTKORT",
...     "payment_methods": {"KLARNA": "KLARNA", "DIBS_CARD": "KORT"},
...     "countries": {"203": "SE"},
... })
>>> lookups.payment_methods.get("DIBS_CARD")
'KORT'
>>> lookups.countries.reverse("SE")
203
>>> lookups.payment_methods.get("KLARN", path="$.payment.payment_method")
Traceback (most recent call last):
...
bexvendre_mapping._errors.UnknownCodeError: $.payment.payment_method: unknown code 'KLARN' in table 'payment_methods'; closest known: 'KLARNA'
"""  # noqa: E501

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

import attrs

from bexvendre_mapping._checks import country_code, vat_percent
from bexvendre_mapping._dates import DEFAULT_TIME_ZONE, time_zone
from bexvendre_mapping._errors import LookupsError, MappingError, Problem, UnknownCodeError
from bexvendre_mapping._text import closest, show
from bexvendre_mapping._wire import child_path
from bexvendre_mapping.money import parse_decimal

__all__ = ["CodeTable", "Lookups", "Settings"]

K = TypeVar("K", str, int)
V = TypeVar("V", str, int, Decimal)

TotalsPolicy = Literal["error", "warn"]
StockStatusPolicy = Literal["hide_when_zero", "always_show"]

#: Total classes that never become Bex fee rows, so a fee article cannot be declared for them.
RESERVED_TOTAL_CLASSES = frozenset(
    {"ot_subtotal", "ot_tax", "ot_total", "ot_giftcard", "ot_shipping"}
)


class CodeTable(Generic[K, V]):
    """A code table that works both ways: ``get`` reads it forward, ``reverse`` backward.

    Forward is the direction the TOML file is written in (``KLARNA = "KLARNA"`` maps the
    Vendre payment method to the Bex ``Kod``). Every value appears once, so the reverse is a
    table too.
    """

    __slots__ = ("_forward", "_reverse", "name")

    def __init__(self, name: str, entries: Mapping[K, V]) -> None:
        self.name = name
        self._forward: dict[K, V] = dict(entries)
        self._reverse: dict[V, K] = {v: k for k, v in self._forward.items()}
        if len(self._reverse) != len(self._forward):
            raise LookupsError(_clashes(name, self._forward))

    def get(self, code: K, *, path: str = "$") -> V:
        """The value for ``code``.

        Raises:
            UnknownCodeError: ``code`` is not in the table; names the closest known codes.
        """
        try:
            return self._forward[code]
        except (KeyError, TypeError):
            raise UnknownCodeError(
                self.name, code, closest(str(code), self._forward), path=path
            ) from None

    def reverse(self, value: V, *, path: str = "$") -> K:
        """The code whose value is ``value``.

        Raises:
            UnknownCodeError: no code has that value; names the closest known values.
        """
        try:
            return self._reverse[value]
        except (KeyError, TypeError):
            raise UnknownCodeError(
                self.name, value, closest(str(value), self._reverse), path=path, reverse=True
            ) from None

    def __contains__(self, code: object) -> bool:
        return code in self._forward

    def has_value(self, value: object) -> bool:
        """Whether some code maps to ``value``."""
        return value in self._reverse

    def __iter__(self) -> Iterator[K]:
        return iter(self._forward)

    def __len__(self) -> int:
        return len(self._forward)

    def items(self) -> list[tuple[K, V]]:
        """The (code, value) pairs, in the order they were given."""
        return list(self._forward.items())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CodeTable):
            return NotImplemented
        return self.name == other.name and self._forward == other._forward

    def __hash__(self) -> int:
        return hash((self.name, tuple(self._forward.items())))

    def __repr__(self) -> str:
        return f"CodeTable({self.name!r}, {self._forward!r})"


def _clashes(name: str, entries: Mapping[Any, Any]) -> list[Problem]:
    by_value: dict[Any, list[Any]] = {}
    for key, value in entries.items():
        by_value.setdefault(value, []).append(key)
    return [
        Problem(
            f"$.{name}",
            f"the reverse is ambiguous: {', '.join(repr(k) for k in keys)} all map to {value!r}",
        )
        for value, keys in by_value.items()
        if len(keys) > 1
    ]


@attrs.frozen(kw_only=True)
class Settings:
    """How conversions behave where the data leaves a choice.

    Attributes:
        time_zone: the shop's IANA time zone.
        totals_tolerance_per_row: how far the rows may be from what was paid, per product
            row, before the totals check fails.
        totals_policy: ``"error"`` raises :class:`~bexvendre_mapping.TotalsMismatchError`;
            ``"warn"`` issues a :class:`~bexvendre_mapping.convert.TotalsMismatchWarning`.
        stock_status: ``"hide_when_zero"`` hides variants with nothing in stock;
            ``"always_show"`` shows them all.
        fee_tax_rate: the VAT percent (``Moms``) on fee rows: shipping, fees, discounts.
    """

    time_zone: str = DEFAULT_TIME_ZONE
    totals_tolerance_per_row: Decimal = Decimal("0.01")
    totals_policy: TotalsPolicy = "error"
    stock_status: StockStatusPolicy = "hide_when_zero"
    fee_tax_rate: Decimal = Decimal(25)


_EMPTY: Mapping[Any, Any] = {}


@attrs.frozen(kw_only=True)
class Lookups:
    """Every code table and setting the converters need (SPEC §6).

    Attributes:
        payment_methods: Vendre ``payment_method`` → Bex ``Kod``.
        shipping_methods: Vendre ``shipping.method_id`` → Bex ``FraktID``.
        countries: Vendre ``country_id`` → ISO 3166-1 alpha-2 (Bex ``Land``, ``Landskod``).
        order_statuses: Bex ``Status`` → Vendre status id.
        categories: Bex ``Extern referens`` → Vendre ``category_id``.
        fee_articles: Vendre total class → Bex ``Artikelnr`` of the fee row.
        tax_classes: Vendre ``tax_class_id`` → VAT percent (Bex ``Moms``): a Vendre product
            has a class, not a rate; the article's ``Moms`` picks the class with that rate.
        manufacturers: Bex ``LeverantörsID`` → Vendre ``manufacturer_id``.
        warehouses: Bex location code → Vendre warehouse ``external_id``.
        gift_card_payment_code: the Bex ``Kod`` of gift-card payments.
        settings: see :class:`Settings`.
    """

    payment_methods: CodeTable[str, str] = attrs.field(
        factory=lambda: CodeTable("payment_methods", _EMPTY)
    )
    shipping_methods: CodeTable[str, str] = attrs.field(
        factory=lambda: CodeTable("shipping_methods", _EMPTY)
    )
    countries: CodeTable[int, str] = attrs.field(factory=lambda: CodeTable("countries", _EMPTY))
    order_statuses: CodeTable[str, int] = attrs.field(
        factory=lambda: CodeTable("order_statuses", _EMPTY)
    )
    categories: CodeTable[str, int] = attrs.field(factory=lambda: CodeTable("categories", _EMPTY))
    fee_articles: CodeTable[str, str] = attrs.field(
        factory=lambda: CodeTable("fee_articles", _EMPTY)
    )
    tax_classes: CodeTable[int, Decimal] = attrs.field(
        factory=lambda: CodeTable("tax_classes", _EMPTY)
    )
    manufacturers: CodeTable[str, int] = attrs.field(
        factory=lambda: CodeTable("manufacturers", _EMPTY)
    )
    warehouses: CodeTable[str, str] = attrs.field(factory=lambda: CodeTable("warehouses", _EMPTY))
    gift_card_payment_code: str = "PRESENTKORT"
    settings: Settings = attrs.field(factory=Settings)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Lookups:
        """Build the lookups from a mapping shaped like the TOML file.

        Raises:
            LookupsError: every problem found (unknown keys, bad values, ambiguous
                reverses, clashing codes), each with its path.
        """
        return _Builder(data).build()

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Lookups:
        """Read the lookups from a TOML file (the format of SPEC §6).

        A UTF-8 byte order mark at the start of the file is ignored.

        Raises:
            LookupsError: the file cannot be read, is not UTF-8, is not TOML (or holds an
                integer beyond Python's digit limit), or holds bad tables.
        """
        name = repr(os.fspath(path))
        try:
            with open(path, "rb") as file:
                raw = file.read()
        except OSError as exc:
            raise LookupsError(f"cannot read {name}: {exc.strerror}") from None
        except ValueError as exc:  # a path holding a NUL character
            raise LookupsError(f"cannot read {name}: {exc}") from None
        try:
            text = raw.decode()
        except UnicodeDecodeError as exc:
            raise LookupsError(f"{name} is not UTF-8: {exc.reason} at byte {exc.start}") from None
        # A byte order mark, as Windows editors write one, is left out (as JSON documents').
        text = text.removeprefix("\ufeff")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise LookupsError(f"{name} is not valid TOML: {exc}") from None
        except RecursionError:
            raise LookupsError(
                f"{name} is not valid TOML: arrays or tables nested too deeply"
            ) from None
        except ValueError:  # tomllib's int() on a literal beyond sys.get_int_max_str_digits()
            raise LookupsError(
                f"{name} is not valid TOML: an integer is too long to read "
                f"(more than {sys.get_int_max_str_digits()} digits)"
            ) from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The lookups as a mapping that :meth:`from_dict` reads back (TOML-shaped)."""
        s = self.settings
        return {
            "gift_card_payment_code": self.gift_card_payment_code,
            "payment_methods": dict(self.payment_methods.items()),
            "shipping_methods": dict(self.shipping_methods.items()),
            "countries": {str(k): v for k, v in self.countries.items()},
            "order_statuses": dict(self.order_statuses.items()),
            "categories": dict(self.categories.items()),
            "fee_articles": dict(self.fee_articles.items()),
            "tax_classes": {str(k): str(v) for k, v in self.tax_classes.items()},
            "manufacturers": dict(self.manufacturers.items()),
            "warehouses": dict(self.warehouses.items()),
            "settings": {
                "time_zone": s.time_zone,
                "totals_tolerance_per_row": str(s.totals_tolerance_per_row),
                "totals_policy": s.totals_policy,
                "stock_status": s.stock_status,
                "fee_tax_rate": str(s.fee_tax_rate),
            },
        }


_TABLES: dict[str, tuple[str, str]] = {
    # name: (key kind, value kind)
    "payment_methods": ("str", "str"),
    "shipping_methods": ("str", "str"),
    "countries": ("int", "country"),
    "order_statuses": ("str", "int"),
    "categories": ("str", "int"),
    "fee_articles": ("str", "str"),
    "tax_classes": ("int", "percent"),
    "manufacturers": ("str", "int"),
    "warehouses": ("str", "str"),
}
_SETTINGS = (
    "time_zone",
    "totals_tolerance_per_row",
    "totals_policy",
    "stock_status",
    "fee_tax_rate",
)
_TOP_LEVEL = (*_TABLES, "gift_card_payment_code", "settings")


class _Builder:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def build(self) -> Lookups:
        if not isinstance(self.data, Mapping):
            raise LookupsError(f"expected a table of code tables, got {_show(self.data)}")
        for key in self.data:
            if key not in _TOP_LEVEL:
                text = _text(key)
                near = closest(text, _TOP_LEVEL)
                hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
                self.problem(child_path("$", text), f"unknown entry {_show(key)}{hint}")
        tables = {name: self.table(name, *kinds) for name, kinds in _TABLES.items()}
        gift_code = self.gift_code(self.data.get("gift_card_payment_code", "PRESENTKORT"))
        settings = self.settings()
        self.cross_checks(tables, gift_code)
        if self.problems or gift_code is None:
            raise LookupsError(self.problems)
        return Lookups(
            payment_methods=tables["payment_methods"],
            shipping_methods=tables["shipping_methods"],
            countries=tables["countries"],
            order_statuses=tables["order_statuses"],
            categories=tables["categories"],
            fee_articles=tables["fee_articles"],
            tax_classes=tables["tax_classes"],
            manufacturers=tables["manufacturers"],
            warehouses=tables["warehouses"],
            gift_card_payment_code=gift_code,
            settings=settings,
        )

    def gift_code(self, value: object) -> str | None:
        """The gift-card code if it is a code; None (and a problem) if not."""
        path = "$.gift_card_payment_code"
        if not isinstance(value, str) or not value.strip():
            self.problem(path, f"expected a code, got {_show(value)}")
            return None
        if value != value.strip():
            self.problem(path, f"expected a code without outer spaces, got {_show(value)}")
            return None
        return value

    def table(self, name: str, key_kind: str, value_kind: str) -> CodeTable[Any, Any]:
        raw = self.data.get(name, {})
        path = f"$.{name}"
        if not isinstance(raw, Mapping):
            self.problem(path, f"expected a table, got {_show(raw)}")
            return CodeTable(name, {})
        entries: dict[Any, Any] = {}
        for raw_key, raw_value in raw.items():
            entry_path = child_path(path, _text(raw_key))
            key = self.convert(raw_key, key_kind, entry_path, "code")
            value = self.convert(raw_value, value_kind, entry_path, "value")
            if key is None or value is None:
                continue
            if key in entries:
                self.problem(entry_path, f"the code {key!r} is given twice")
            entries[key] = value
        try:
            return CodeTable(name, entries)
        except LookupsError as exc:
            self.problems.extend(exc.problems)
            return CodeTable(name, {})

    def convert(self, value: object, kind: str, path: str, what: str) -> Any:
        if kind == "int":
            return self.integer(value, path, what)
        if kind == "percent":
            return self.percent(value, path)
        if not isinstance(value, str) or not value.strip() or value != value.strip():
            self.problem(
                path, f"expected a non-empty {what} without outer spaces, got {_show(value)}"
            )
            return None
        if kind == "country":
            try:
                return country_code(value)
            except MappingError as exc:
                self.problem(path, exc.problems[0].message)
                return None
        return value

    def integer(self, value: object, path: str, what: str) -> int | None:
        try:
            if type(value) is int and value >= 0:  # as the digit strings below: no sign
                str(value)  # a code must print: in messages, to_dict() and closest()
                return value
            if isinstance(value, str) and value.isdigit() and value.isascii():
                return int(value)
        except ValueError:  # beyond sys.get_int_max_str_digits()
            self.problem(
                path,
                f"expected an integer {what}, got one too long to read "
                f"(more than {sys.get_int_max_str_digits()} digits)",
            )
            return None
        if isinstance(value, str) and value.strip().isdigit() and value.isascii():
            self.problem(
                path, f"expected an integer {what} without outer spaces, got {_show(value)}"
            )
            return None
        self.problem(path, f"expected an integer {what}, got {_show(value)}")
        return None

    def percent(self, value: object, path: str) -> Decimal | None:
        """A VAT percent as Bex's ``Moms`` has it: 0 to 100, at most 2 decimals."""
        if isinstance(value, float):  # a TOML float: its shortest text is what was written
            value = repr(value)
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            self.problem(path, f"expected a VAT percent, got {_show(value)}")
            return None
        try:
            percent: Decimal = vat_percent(parse_decimal(value, 2))
        except MappingError as exc:
            self.problem(path, f"expected a VAT percent: {exc.problems[0].message}")
            return None
        return percent

    def settings(self) -> Settings:
        raw = self.data.get("settings", {})
        if not isinstance(raw, Mapping):
            self.problem("$.settings", f"expected a table, got {_show(raw)}")
            return Settings()
        for key in raw:
            if key not in _SETTINGS:
                text = _text(key)
                near = closest(text, _SETTINGS)
                hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
                self.problem(child_path("$.settings", text), f"unknown setting {_show(key)}{hint}")
        defaults = Settings()
        values: dict[str, Any] = {}
        zone = raw.get("time_zone", defaults.time_zone)
        if self.check("time_zone", zone, _zone):
            values["time_zone"] = zone
        for name in ("totals_tolerance_per_row", "fee_tax_rate"):
            number = raw.get(name, getattr(defaults, name))
            if self.check(name, number, _non_negative):
                values[name] = parse_decimal(number)
        # Moms is a VAT percent written with 2 decimals in Bex.
        if "fee_tax_rate" in values:
            self.check(
                "fee_tax_rate", values["fee_tax_rate"], lambda r: vat_percent(parse_decimal(r, 2))
            )
        for name, allowed in (
            ("totals_policy", ("error", "warn")),
            ("stock_status", ("hide_when_zero", "always_show")),
        ):
            choice = raw.get(name, getattr(defaults, name))
            if choice in allowed:
                values[name] = choice
            else:
                listed = " or ".join(repr(a) for a in allowed)
                self.problem(f"$.settings.{name}", f"expected {listed}, got {_show(choice)}")
        return attrs.evolve(defaults, **values)

    def check(self, name: str, value: object, test: Callable[[Any], object]) -> bool:
        try:
            test(value)
        except MappingError as exc:
            self.problem(f"$.settings.{name}", exc.problems[0].message)
            return False
        return True

    def cross_checks(self, tables: dict[str, CodeTable[Any, Any]], gift_code: str | None) -> None:
        """Collisions between tables; run on checked values only (a bad one is left out)."""
        payments = tables["payment_methods"]
        if gift_code is not None and payments.has_value(gift_code):
            self.problem(
                "$.gift_card_payment_code",
                f"{gift_code!r} is also a payment method's Kod; gift-card payments could not "
                "be told apart from web payments",
            )
        for fee_class, article in tables["fee_articles"].items():
            path = child_path("$.fee_articles", fee_class)
            if fee_class in RESERVED_TOTAL_CLASSES:
                self.problem(path, f"{fee_class!r} never becomes a fee row")
            if tables["shipping_methods"].has_value(article):
                self.problem(
                    path,
                    f"{article!r} is also a FraktID; fee rows and shipping rows could not be "
                    "told apart",
                )


def _text(value: object) -> str:
    """``str(value)``, or a stand-in for an integer beyond Python's digit limit."""
    try:
        return str(value)
    except ValueError:  # beyond sys.get_int_max_str_digits()
        return "<an integer too long to show>"


_TOO_LARGE = "a value too large to show"


def _show(value: object) -> str:
    """:func:`show`, or a stand-in for a value holding an integer beyond the digit limit."""
    try:
        return show(value)
    except (ValueError, RecursionError):  # an endless integer, a list nested too deeply
        return _TOO_LARGE


def _non_negative(value: object) -> Decimal:
    if _show(value) is _TOO_LARGE:  # parse_decimal's own message could not quote it
        raise MappingError(f"expected a decimal number, got {_TOO_LARGE}")
    number = parse_decimal(value)
    if number < 0:
        raise MappingError(f"must not be negative, got {_show(value)}")
    return number


def _zone(value: object) -> None:
    if not isinstance(value, str):
        raise MappingError(f"expected a time zone name, got {_show(value)}")
    time_zone(value)
