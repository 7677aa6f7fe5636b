"""The field plan: what every field of every model is on the wire, described once.

A model field declares its wire key (and accepted other spellings, decimals, a check) in its
attrs metadata through :func:`wire`. :func:`plan_of` reads a model class once into a
:class:`ModelPlan`: per field its key, aliases, default, decimals, check and *kind*. A kind
(:class:`Kind`: text, integer, amount, date-time, model code, nested model, list of models,
optional of any of these, ...) is the one place that knows how a value of its type is
loaded and dumped, for every route:

- :meth:`Kind.hook`: a function loading one value, raising :class:`MappingError` (on the
  detailed route, every problem of a list or mapping with its key);
- :meth:`Kind.emit_load`: the lines of a generated fail-fast loader doing the same inline;
- :meth:`Kind.mirror_type` and ``emit_load(..., mirrored=True)``: what msgspec checks of the
  value in a mirror ``Struct``, and what is left to do after it;
- :meth:`Kind.dump_hook` and :meth:`Kind.emit_dump`: the reference dumper and its inline
  lines.

A type that no kind handles is a :class:`TypeError` when the plan is built: a model never
falls back to another route silently. The generators (:mod:`bexvendre_mapping._fastpath`,
:mod:`bexvendre_mapping._msgspec`) and the detailed route (:mod:`bexvendre_mapping._wire`)
only walk plans; adding a kind here gives every route the new type.
"""

from __future__ import annotations

import functools
import linecache
import re
import types
import typing
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, NamedTuple

import attrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError

from bexvendre_mapping._checks import Check
from bexvendre_mapping._dates import format_date, format_datetime, parse_date, parse_datetime
from bexvendre_mapping._dates import time_zone as get_zone
from bexvendre_mapping._errors import MappingError
from bexvendre_mapping._modelcode import ModelCode
from bexvendre_mapping._text import closest, find_surrogate, show, surrogate_problem
from bexvendre_mapping.money import parse_decimal, quantize

__all__ = [
    "Context",
    "DumpContext",
    "Fail",
    "FieldPlan",
    "Hook",
    "Kind",
    "ModelPlan",
    "Setting",
    "Source",
    "Wire",
    "kind_of",
    "plan_of",
    "wire",
]

# Load hooks take the value and, as cattrs passes it, the type (ignored).
Hook = Callable[..., Any]

_METADATA_KEY = "bexvendre_mapping.wire"
_NONE_TYPE = type(None)


# --- declarations ---------------------------------------------------------------------------


@attrs.frozen
class Wire:
    """How one model field appears on the wire.

    Attributes:
        key: the JSON key, when it differs from the attribute name.
        places: for decimals, the fixed number of decimals on the wire.
        check: a further check of the loaded value; returns it or raises MappingError.
        aliases: other spellings of the key that loaders accept (dumpers write ``key``).
        epoch: for date-times, loaders also take Unix epoch seconds (a JSON integer), as
            Vendre's API sends them.
        number: for decimals, dumps write a JSON number (a ``Decimal`` in plain notation,
            trailing zeros dropped: ``439.2``, ``70``) instead of a string with ``places``
            decimals, as Vendre's API has money. Loaders take both forms either way.
    """

    key: str | None = None
    places: int | None = None
    check: Callable[[Any], Any] | None = None
    aliases: tuple[str, ...] = ()
    epoch: bool = False
    number: bool = False


def wire(
    key: str | None = None,
    *,
    places: int | None = None,
    check: Callable[[Any], Any] | None = None,
    aliases: tuple[str, ...] = (),
    epoch: bool = False,
    number: bool = False,
) -> dict[str, Wire]:
    """Metadata for ``attrs.field(metadata=...)`` declaring a field's wire form."""
    return {_METADATA_KEY: Wire(key, places, check, aliases, epoch, number)}


def wire_of(field: attrs.Attribute[Any]) -> Wire:
    """The field's declaration (the defaults when it has none)."""
    found = field.metadata.get(_METADATA_KEY)
    return found if isinstance(found, Wire) else Wire()


# --- generated source -----------------------------------------------------------------------


class Fail(Exception):
    """A fail-fast loader declines the value: the detailed route will say why.

    The generated loaders raise it (or a :class:`MappingError` from a function they call);
    nothing else means "declined".
    """


MISSING: Any = object()
_COMBINE = datetime.combine
# The hours 00-23 only: newer Pythons read the hour 24 as the next day's midnight.
_WALL_CLOCK = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2} (?:[01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}"
).fullmatch


def shop_datetime(value: Any, zone: tzinfo) -> datetime:
    """parse_datetime, faster for the wire's usual 'YYYY-MM-DD HH:MM:SS' in ASCII digits."""
    # datetime.fromisoformat reads that shape as _dates._wall_clock does, and combine()
    # with the zone by position avoids replace(), which is slow with keywords: the same
    # datetime (fold 0) at half the cost of datetime(n.year, ..., zone).
    if type(value) is str and _WALL_CLOCK(value) is not None:
        try:
            n = datetime.fromisoformat(value)
        except ValueError:  # out of range: parse_datetime's own error
            return parse_datetime(value, zone)
        return _COMBINE(n, n.time(), zone)
    return parse_datetime(value, zone)


# The names every generated function may use.
_GLOBALS: dict[str, Any] = {
    "_Fail": Fail,
    "_MISSING": MISSING,
    "_Mapping": Mapping,
    "_Decimal": Decimal,
    "_int": None,  # set below, once load_int exists
    "_parse_decimal": parse_decimal,
    "_shop_datetime": shop_datetime,
    "_new": object.__new__,
    "_parse_date": parse_date,
    "_parse_code": ModelCode.parse,
    "_format_datetime": format_datetime,
    "_format_date": format_date,
    "_find_surrogate": find_surrogate,
}


class Source:
    """The lines of one generated function and the objects its body refers to by name.

    :meth:`build` compiles it, as attrs and cattrs compile theirs, and registers the source
    with :mod:`linecache` so that tracebacks and profiles show it:
    ``linecache.getlines(f.__code__.co_filename)`` prints it.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = dict(_GLOBALS)

    def ref(self, value: Any, hint: str) -> str:
        """A global name for ``value`` in the generated function."""
        name = f"_{hint}_{len(self.names)}"
        self.names[name] = value
        return name

    def add(self, indent: int, *lines: str) -> None:
        self.lines.extend("    " * indent + line for line in lines)

    def check(self, check: Check, var: str, indent: int) -> None:
        """Lines running ``check`` on ``var`` (checks are of values: null stays null)."""
        fails = check.fails(var)
        if fails is not None:  # written inline: the check returns the value as it is
            self.names.update(check.names)
            self.add(indent, f"if {var} is not None and {fails}:", "    raise _Fail")
        else:
            name = self.ref(check, "check")
            self.add(indent, f"if {var} is not None:", f"    {var} = {name}({var})")

    def build(self, name: str, label: str) -> Hook:
        source = "\n".join(self.lines) + "\n"
        # Escaped: a label holds the zone's name as given, and compile() refuses a NUL in it.
        filename = f"<bexvendre_mapping {label.encode('unicode_escape').decode('ascii')}>"
        namespace = dict(self.names)
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - source written above
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        function: Hook = namespace[name]
        return function


# --- collecting problems on the detailed route ----------------------------------------------


class ItemErrors(Fail):
    """Errors of the items of a list or mapping, each with its key.

    A :class:`Fail` as well: on a fail-fast route it declines the value like any other.
    """

    def __init__(self, errors: list[tuple[str | int, BaseException]]) -> None:
        super().__init__(errors)
        self.errors = errors


class Stopped(Exception):
    """Where a list or mapping stopped checking its items: the load's budget is spent."""


# What a value's hook raises when the value is refused (the detailed route's cattrs adds its
# own class errors around them).
REFUSED = (MappingError, Fail, Stopped, ClassValidationError, ForbiddenExtraKeysError)

# The problems the detailed load under way may still collect: one budget per load, shared
# by its lists and mappings, which stop checking their items once it is spent (a document
# with a million bad rows then costs what a thousand do). A list outside a load gets its own.
budget: ContextVar[list[int] | None] = ContextVar("bexvendre_mapping_budget", default=None)


def _spend(left: list[int], exc: BaseException) -> bool:
    """Take the problems ``exc`` holds from ``left``; whether the budget is spent.

    The problems of a list or mapping inside an item were taken when it collected them.
    """
    left[0] -= _weight(exc)
    return left[0] <= 0


def _weight(exc: BaseException) -> int:
    if isinstance(exc, MappingError):
        return len(exc.problems)
    if isinstance(exc, ItemErrors | Stopped):
        return 0
    if isinstance(exc, ClassValidationError):
        return sum(_weight(sub) for sub in exc.exceptions)
    if isinstance(exc, ForbiddenExtraKeysError):
        return len(exc.extra_fields)
    return 1


# --- loading one value ----------------------------------------------------------------------


def load_text(value: Any, _type: Any = None) -> str:
    """A string that UTF-8 can hold."""
    if type(value) is str:
        if value.isascii() or value.isprintable():  # the usual text at once: no surrogate
            return value
        unwritable = surrogate_problem(value)
        if unwritable is None:
            return value
        raise MappingError(unwritable)
    raise MappingError(f"expected a string, got {show(value)}")


def load_int(value: Any, _type: Any = None) -> int:
    """An integer, or a string of at most 18 digits (PHP-backed APIs send ids so)."""
    if type(value) is int:
        return value
    if (
        type(value) is str
        and 0 < len(value) <= 18
        and value.removeprefix("-").isdigit()
        and value.isascii()
    ):
        return int(value)
    raise MappingError(f"expected an integer, got {show(value)}")


_GLOBALS["_int"] = load_int


def _load_bool(value: Any, _type: Any = None) -> bool:
    if type(value) is bool:
        return value
    raise MappingError(f"expected true or false, got {show(value)}")


def load_model_code(value: Any, _type: Any = None) -> ModelCode:
    if type(value) is not str:
        raise MappingError(f"expected a string, got {show(value)}")
    return ModelCode.parse(value)  # refuses lone surrogates with the code's own message


def _load_date(value: Any, _type: Any = None) -> date:
    return parse_date(value)


def _optional(inner: Hook) -> Hook:
    def hook(value: Any, _type: Any = None) -> Any:
        return None if value is None else inner(value)

    return hook


# --- dumping one value ----------------------------------------------------------------------


def decimal_out(places: int | None, key: str) -> Hook:
    """The reference dump of a decimal field: plain notation with exactly ``places`` decimals."""

    def dump(value: Decimal) -> str:
        if not isinstance(value, Decimal):
            raise MappingError(f"field {key!r}: expected Decimal, got {show(value)}")
        if places is None:
            return format(value, "f")
        try:  # money.quantize works in money.CONTEXT, whatever the thread's context
            exact = quantize(value, places) if value.is_finite() else None
        except InvalidOperation:  # more digits than money.CONTEXT's 28
            exact = None
        if exact is None or exact != value:
            raise MappingError(
                f"field {key!r}: {value!r} does not fit the wire's {places} decimals"
            )
        if not exact:
            exact = exact.copy_abs()  # never "-0.00"
        # str() is the faster spelling, and plain notation for up to 6 decimals.
        return str(exact) if places <= 6 else format(exact, "f")

    return dump


def number_out(places: int | None, key: str) -> Hook:
    """The dump of a decimal written as a JSON number.

    Checked as :func:`decimal_out` checks it, then given as a ``Decimal`` in plain notation
    without trailing zeros (``439.2``, ``70``, never ``-0`` nor ``7E+1``), which the JSON
    writers put in the text as it is.
    """
    text_of = decimal_out(places, key)

    def dump(value: Decimal) -> Decimal:
        text = text_of(value)
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return Decimal("0" if text == "-0" else text)

    return dump


def plain_value(value: Any, tp: type, key: str) -> Any:
    """``value`` as the plain ``str``, ``int`` or ``bool`` the wire takes.

    A subclass (a ``StrEnum`` or ``IntEnum`` member, say) gives its plain value, read
    without its own methods; anything else, ``bool`` for an ``int`` included, is an error
    rather than whatever a JSON encoder would make of it.

    Raises:
        MappingError: ``value`` is not of type ``tp``.
    """
    if type(value) is tp:
        return value
    if tp is str and isinstance(value, str):
        return str.__str__(value)
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return int.__index__(value)
    raise MappingError(f"field {key!r}: expected {tp.__name__}, got {show(value)}")


# --- routes ---------------------------------------------------------------------------------


@attrs.frozen
class Setting:
    """What a load depends on besides the document: the shop's zone, strictness, route."""

    zone_name: str
    strict: bool
    detailed: bool

    @property
    def zone(self) -> tzinfo:
        return get_zone(self.zone_name)


class Context(NamedTuple):
    """A load route as a kind sees it.

    Attributes:
        setting: the zone, strictness and whether problems are collected (detailed).
        nested: the route's loader of a nested model class.
        clean: the document holds no lone surrogate (texts need no test for one).
        mirror: msgspec's mirror of a nested model class: its loader and its ``Struct``
            (on the msgspec route only).
    """

    setting: Setting
    nested: Callable[[type], Hook]
    clean: bool = False
    mirror: Callable[[type], tuple[Hook, type]] | None = None


class DumpContext(NamedTuple):
    """A dump route as a kind sees it: the shop's zone and the route's nested dumper."""

    zone: tzinfo
    nested: Callable[[type], Hook]


# An emitted dump: the lines to run, the expression of the dumped value (the variable
# itself when nothing is to be done) and whether that may be None.
Emitted = tuple[list[str], str, bool]


def guarded(empty: str, lines: list[str], expr: str, out: str) -> list[str]:
    """Lines setting ``out`` to None when the condition ``empty`` holds, else to ``expr``."""
    store = [] if expr == out else [f"    {out} = {expr}"]
    return [
        f"if {empty}:",
        f"    {out} = None",
        "else:",
        *(f"    {line}" for line in lines),
        *store,
    ]


# --- kinds ----------------------------------------------------------------------------------


class Kind:
    """How values of one wire type are loaded and dumped, on every route.

    Kinds are plain slotted classes, equal when of one class with equal parameters (not
    attrs classes: a dozen of them would add milliseconds to importing the library).
    """

    __slots__ = ()
    #: The type annotation it stands for.

    def _state(self) -> tuple[Any, ...]:
        slots: tuple[str, ...] = self.__slots__
        return tuple(getattr(self, name) for name in slots)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Kind)
            and type(other) is type(self)
            and self._state() == other._state()
        )

    def __hash__(self) -> int:
        return hash((type(self), self._state()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self._state()))})"

    def describe(self) -> str:
        """The kind in words, for the reference tables."""
        raise NotImplementedError

    def hook(self, ctx: Context) -> Hook:
        """A function loading one value; raises MappingError (or its route's errors)."""
        raise NotImplementedError

    def emit_load(
        self, src: Source, var: str, indent: int, ctx: Context, *, mirrored: bool = False
    ) -> None:
        """Lines turning the raw value in ``var`` into the field's value, or raising.

        ``mirrored``: ``var`` comes from a mirror field of :meth:`mirror_type` (not
        ``Any``): msgspec has checked what that type says.
        """
        src.add(indent, f"{var} = {src.ref(self.hook(ctx), 'hook')}({var})")

    def mirror_type(self, ctx: Context) -> Any:
        """The type msgspec checks the value against in a mirror; ``Any``: nothing."""
        return Any

    def dump_hook(self, key: str, ctx: DumpContext) -> Hook:
        """The reference dumper of a value.

        Given a value of the field's type, it writes it or raises a MappingError naming
        ``key``; given a value of no wire type at all, it may raise Python's own error:
        :meth:`refuses` says why first.
        """
        raise NotImplementedError

    def refuses(self, value: Any) -> str | None:
        """Why the dump hook failed on ``value`` with Python's own error, in words.

        ``None`` for the kinds whose hook refuses every other type with its own
        MappingError (texts, numbers, amounts): the error's own text is then used.
        """
        return None

    def emit_dump(self, src: Source, key: str, var: str, out: str, ctx: DumpContext) -> Emitted:
        """The lines of a generated dumper doing what :meth:`dump_hook`'s function does."""
        raise NotImplementedError


class Text(Kind):
    """A string that UTF-8 can hold."""

    __slots__ = ()

    def describe(self) -> str:
        return "text"

    def hook(self, ctx: Context) -> Hook:
        return load_text

    def emit_load(
        self, src: Source, var: str, indent: int, ctx: Context, *, mirrored: bool = False
    ) -> None:
        if mirrored:
            return  # msgspec has checked the text; what it parses holds no lone surrogate
        if ctx.clean:
            src.add(indent, f"if type({var}) is not str:", "    raise _Fail")
            return
        # load_text's test: a lone surrogate is refused. isascii() takes constant time and
        # isprintable() is false for a surrogate: the search runs on little text, if any.
        src.add(
            indent,
            f"if type({var}) is not str or not ({var}.isascii() or {var}.isprintable()"
            f" or _find_surrogate({var}) is None):",
            "    raise _Fail",
        )

    def mirror_type(self, ctx: Context) -> Any:
        return str

    def dump_hook(self, key: str, ctx: DumpContext) -> Hook:
        return functools.partial(plain_value, tp=str, key=key)

    def emit_dump(self, src: Source, key: str, var: str, out: str, ctx: DumpContext) -> Emitted:
        return _emit_plain(src, str, key, var)


def _emit_plain(src: Source, tp: type, key: str, var: str) -> Emitted:
    plain, kind = src.ref(plain_value, "plain"), tp.__name__
    check = [f"if type({var}) is not {kind}:", f"    {var} = {plain}({var}, {kind}, {key!r})"]
    return check, var, False


class Bool(Kind):
    """``true`` or ``false``."""

    __slots__ = ()

    def describe(self) -> str:
        return "boolean"

    def hook(self, ctx: Context) -> Hook:
        return _load_bool

    def emit_load(
        self, src: Source, var: str, indent: int, ctx: Context, *, mirrored: bool = False
    ) -> None:
        src.add(indent, f"if type({var}) is not bool:", "    raise _Fail")

    def dump_hook(self, key: str, ctx: DumpContext) -> Hook:
        return functools.partial(plain_value, tp=bool, key=key)

    def emit_dump(self, src: Source, key: str, var: str, out: str, ctx: DumpContext) -> Emitted:
        return _emit_plain(src, bool, key, var)


class Int(Kind):
    """An integer (a string of digits is read as one)."""

    __slots__ = ()

    def describe(self) -> str:
        return "integer"

    def hook(self, ctx: Context) -> Hook:
        return load_int

    def emit_load(
        self, src: Source, var: str, indent: int, ctx: Context, *, mirrored: bool = False
    ) -> None:
        # load_int takes the rare strings of digits; a plain int needs no call.
        src.add(indent, f"if type({var}) is not int:", f"    {var} = _int({var})")

    def dump_hook(self, key: str, ctx: DumpContext) -> Hook:
        return functools.partial(plain_value, tp=int, key=key)

    def emit_dump(self, src: Source, key: str, var: str, out: str, ctx: DumpContext) -> Emitted:
        return _emit_plain(src, int, key, var)


class Amount(Kind):
    """A decimal written as a string with exactly ``places`` decimals (any, if ``None``).

    With ``number``, it is written as a JSON number instead: a ``Decimal`` in plain notation
    without trailing zeros, after the same check that it fits ``places`` decimals.
    """

    __slots__ = ("number", "places")

    def __init__(self, places: int | None = None, *, number: bool = False) -> None:
        self.places = places
        self.number = number

    def describe(self) -> str:
        text = "decimal" if self.places is None else f"decimal, {self.places} places"
        return f"{text}, written as a number" if self.number else text

    def hook(self, ctx: Context) -> Hook:
        places = self.places

        def load_amount(value: Any, _type: Any = None) -> Decimal:
            return parse_decimal(value, places)

        return load_amount

    def emit_load(
        self, src: Source, var: str, indent: int, ctx: Context, *, mirrored: bool = False
    ) -> None:
        places = self.places
        if places is None:
            src.add(indent, f"{var} = _parse_decimal({var}, None)")
            return
        # The wire's usual form at once: a string of at most 15 digits and exactly `places`
        # decimals ("799.2000") is a finite Decimal below MAX_AMOUNT whose exponent is
        # already -places: parse_decimal's checks pass and its quantize (in money.CONTEXT,
        # whatever the thread's) gives it back unchanged. Anything else goes through
        # parse_decimal itself.
        dot = rf"\.[0-9]{{{places}}}" if places else ""
        usual = src.ref(re.compile(rf"-?[0-9]{{1,15}}{dot}").fullmatch, "usual")
        src.add(
            indent,
            f"if type({var}) is str and {usual}({var}) is not None:",
            f"    {var} = _Decimal({var})",
            "else:",
            f"    {var} = _parse_decimal({var}, {places})",
        )

    def dump_hook(self, key: str, ctx: DumpContext) -> Hook:
        return number_out(self.places, key) if self.number else decimal_out(self.places, key)

    def emit_dump(self, src: Source, key: str, var: str, out: str, ctx: DumpContext) -> Emitted:
        places = self.places
        if self.number:
            reference = src.ref(number_out(places, key), "number_out")
        else:
            reference = src.ref(decimal_out(places, key), "decimal_out")
        if places is None or places <= 0:
            return [], f"{reference}({var})", False
        # The usual case: a Decimal whose str() is plain notation with exactly `places`
        # decimals (so its exponent is -places) and at most 28 characters (so at most 27
        # digits) is what decimal_out's quantize in the wire context (28 digits) returns,
        # unchanged. Negative zero, and everything else, goes to decimal_out itself.
        # (Scientific notation puts at least four characters after its '.', as in
        # "1.2E+5": with at most 3 places, a '.' that many characters from the end is plain
        # notation, and the digits test is needed from 4 places up only.)
        digits = f" and {out}[-{places}:].isdigit()" if places >= 4 else ""
        usual = (
            f"{places} < len({out}) <= 28 and {out}[-{places + 1}] == '.'"
            f"{digits} and ({var} or {out}[0] != '-')"
        )
        if self.number:
            # The usual case as text, then as number_out gives it: the same Decimal without
            # its trailing zeros (the value itself when it has none).
            lines = [
                f"{out} = str({var}) if type({var}) is _Decimal else ''",
                f"if not ({usual}):",
                f"    {out} = {reference}({var})",
                f"elif {out}[-1] == '0':",
                f"    {out} = _Decimal({out}.rstrip('0').rstrip('.'))",
                "else:",
                f"    {out} = {var}",
            ]
            return lines, out, False
        lines = [
            f"{out} = str({var}) if type({var}) is _Decimal else ''",
            f"if not ({usual}):",
            f"    {out} = {reference}({var})",
        ]
        return lines, out, False


class DateTime(Kind):
    """A date-time: the shop's wall clock ``YYYY-MM-DD HH:MM:SS``, or with an offset."""

    __slots__ = ()

    def describe(self) -> str:
        return "date-time"

    def refuses(self, value: Any) -> str | None:
        return None if isinstance(value, datetime) else f"expected a date-time, got {show(value)}"

    def hook(self, ctx: Context) -> Hook:
        zone = ctx.setting.zone

        def load_datetime(value: Any, _type: Any = None) -> datetime:
            return parse_datetime(value, zone)

        return load_datetime

    def emit_load(
        self, src: Source, var: str, indent: int, ctx: Context, *, mirrored: bool = False
    ) -> None:
        src.add(indent, f"{var} = _shop_datetime({var}, {src.ref(ctx.setting.zone, 'zone')})")

    def dump_hook(self, key: str, ctx: DumpContext) -> Hook:
        return functools.partial(format_datetime, zone=ctx.zone)

    def emit_dump(self, src: Source, key: str, var: str, out: str, ctx: DumpContext) -> Emitted:
        return [], f"_format_datetime({var}, {src.ref(ctx.zone, 'zone')})", False


# The instants an aware datetime holds: from 1970 (Vendre's records start well after) to the
# last second of year 9999 in UTC.
_EPOCH_LIMIT = 253402300800


def parse_instant(value: Any, zone: tzinfo) -> datetime:
    """A date-time given as Unix epoch seconds (a JSON integer) or as text, in ``zone``.

    The instant stays the instant: the result is the shop's wall clock at that moment, fold
    set in the repeated hour of an autumn night. Text goes to ``parse_datetime``.

    Raises:
        MappingError: not whole seconds from 1970 to year 9999, nor a date-time text.
    """
    if type(value) is int:
        if not 0 <= value < _EPOCH_LIMIT:
            raise MappingError(f"expected epoch seconds from 1970 to year 9999, got {show(value)}")
        try:
            return datetime.fromtimestamp(value, zone)
        except (OverflowError, ValueError, OSError):  # year 10000 on the shop's wall clock
            raise MappingError(f"date-time {show(value)} is out of range") from None
    if type(value) is not str and not isinstance(value, datetime):
        raise MappingError(f"expected epoch seconds or a date-time string, got {show(value)}")
    return parse_datetime(value, zone)


_GLOBALS["_parse_instant"] = parse_instant


class Instant(DateTime):
    """A date-time as Unix epoch seconds (a JSON integer) or as text; dumped as text."""

    __slots__ = ()

    def describe(self) -> str:
        return "date-time (epoch seconds or text)"

    def hook(self, ctx: Context) -> Hook:
        zone = ctx.setting.zone

        def load_instant(value: Any, _type: Any = None) -> datetime:
            return parse_instant(value, zone)

        return load_instant

    def emit_load(
        self, src: Source, var: str, indent: int, ctx: Context, *, mirrored: bool = False
    ) -> None:
        zone = src.ref(ctx.setting.zone, "zone")
        src.add(
            indent,
            f"if type({var}) is str:",  # the text the dumpers write: its own quick route
            f"    {var} = _shop_datetime({var}, {zone})",
            "else:",
            f"    {var} = _parse_instant({var}, {zone})",
        )


class Date(Kind):
    """A date, ``YYYY-MM-DD``."""

    __slots__ = ()

    def describe(self) -> str:
        return "date"

    def refuses(self, value: Any) -> str | None:
        return None if isinstance(value, date) else f"expected a date, got {show(value)}"

    def hook(self, ctx: Context) -> Hook:
        return _load_date

    def emit_load(
        self, src: Source, var: str, indent: int, ctx: Context, *, mirrored: bool = False
    ) -> None:
        src.add(indent, f"{var} = _parse_date({var})")

    def dump_hook(self, key: str, ctx: DumpContext) -> Hook:
        return format_date

    def emit_dump(self, src: Source, key: str, var: str, out: str, ctx: DumpContext) -> Emitted:
        return [], f"_format_date({var})", False


class Code(Kind):
    """A model code, ``Artikelnr_Storleksgrupp_Storlek`` (SPEC §4)."""

    __slots__ = ()

    def describe(self) -> str:
        return "model code"

    def hook(self, ctx: Context) -> Hook:
        return load_model_code

    def emit_load(
        self, src: Source, var: str, indent: int, ctx: Context, *, mirrored: bool = False
    ) -> None:
        src.add(indent, f"if type({var}) is not str:", "    raise _Fail")
        src.add(indent, f"{var} = _parse_code({var})")

    def dump_hook(self, key: str, ctx: DumpContext) -> Hook:
        return str

    def emit_dump(self, src: Source, key: str, var: str, out: str, ctx: DumpContext) -> Emitted:
        return [], f"str({var})", False


class EnumOf(Kind):
    """One of an enumeration's values."""

    __slots__ = ("cls",)

    def __init__(self, cls: type[Enum]) -> None:
        self.cls = cls

    def describe(self) -> str:
        return "one of " + ", ".join(f"`{m.value}`" for m in self.cls)

    def refuses(self, value: Any) -> str | None:
        if isinstance(value, self.cls):
            return None
        return f"expected {self.cls.__name__}, got {show(value)}"

    def hook(self, ctx: Context) -> Hook:
        members = {m.value: m for m in self.cls}

        def load_enum(value: Any, _type: Any = None) -> Enum:
            try:
                return members[value]
            except (KeyError, TypeError):
                pass
            allowed = ", ".join(repr(v) for v in members)
            near = closest(str(value), members) if isinstance(value, str) else []
            hint = f"; closest: {', '.join(repr(n) for n in near)}" if near else ""
            raise MappingError(f"expected one of {allowed}, got {show(value)}{hint}")

        return load_enum

    def emit_load(
        self, src: Source, var: str, indent: int, ctx: Context, *, mirrored: bool = False
    ) -> None:
        members = src.ref({m.value: m for m in self.cls}, "members")
        src.add(
            indent,
            "try:",
            f"    {var} = {members}[{var}]",
            "except (KeyError, TypeError):",  # not a value, or not hashable (a list)
            "    raise _Fail from None",
        )

    def dump_hook(self, key: str, ctx: DumpContext) -> Hook:
        return _enum_value

    def emit_dump(self, src: Source, key: str, var: str, out: str, ctx: DumpContext) -> Emitted:
        return [], f"{var}.value", True


def _enum_value(member: Enum) -> Any:
    return member.value


class Nested(Kind):
    """A model of its own, a JSON object."""

    __slots__ = ("cls",)

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def describe(self) -> str:
        return f"object: {self.cls.__name__}"

    def refuses(self, value: Any) -> str | None:
        if isinstance(value, self.cls):
            return None
        return f"expected {self.cls.__name__}, got {show(value)}"

    def hook(self, ctx: Context) -> Hook:
        return ctx.nested(self.cls)

    def emit_load(
        self, src: Source, var: str, indent: int, ctx: Context, *, mirrored: bool = False
    ) -> None:
        if mirrored:
            assert ctx.mirror is not None  # noqa: S101 - mirrored only on the msgspec route
            loader = ctx.mirror(self.cls)[0]
        else:
            loader = ctx.nested(self.cls)
        src.add(indent, f"{var} = {src.ref(loader, 'load')}({var})")

    def mirror_type(self, ctx: Context) -> Any:
        assert ctx.mirror is not None  # noqa: S101 - mirror types on the msgspec route only
        return ctx.mirror(self.cls)[1]

    def dump_hook(self, key: str, ctx: DumpContext) -> Hook:
        return ctx.nested(self.cls)

    def emit_dump(self, src: Source, key: str, var: str, out: str, ctx: DumpContext) -> Emitted:
        return [], f"{src.ref(ctx.nested(self.cls), 'dump')}({var})", False


class ListOf(Kind):
    """A JSON array of one kind of item (a tuple in the model)."""

    __slots__ = ("item",)

    def __init__(self, item: Kind) -> None:
        self.item = item

    def describe(self) -> str:
        return f"list of {self.item.describe()}"

    def refuses(self, value: Any) -> str | None:
        if not isinstance(value, tuple | list):
            return f"expected a list, got {show(value)}"
        return None

    def hook(self, ctx: Context) -> Hook:
        item = self.item.hook(ctx)

        # One version for both routes: the fail-fast loaders write a list's lines inline
        # (emit_load), so this runs on the detailed route, or for a list inside a mapping.
        def load_list(value: Any, _type: Any = None) -> tuple[Any, ...]:
            if not isinstance(value, list | tuple):
                raise MappingError(f"expected a list, got {show(value)}")
            out: list[Any] = []
            errors: list[tuple[str | int, BaseException]] = []
            left = None
            for index, v in enumerate(value):
                try:
                    out.append(item(v))
                except REFUSED as exc:  # collected and reported with its index
                    errors.append((index, exc))
                    left = left or budget.get() or [MappingError.MAX_PROBLEMS]
                    if _spend(left, exc):
                        if index + 1 < len(value):  # items left unchecked
                            errors.append((index + 1, Stopped()))
                        break
            if errors:
                raise ItemErrors(errors)
            return tuple(out)

        return load_list

    def emit_load(
        self, src: Source, var: str, indent: int, ctx: Context, *, mirrored: bool = False
    ) -> None:
        if mirrored:  # a list of mirrors, checked by msgspec
            assert ctx.mirror is not None  # noqa: S101 - mirrored only on the msgspec route
            assert isinstance(self.item, Nested)  # noqa: S101 - mirror_type says so
            item = src.ref(ctx.mirror(self.item.cls)[0], "item")
            src.add(indent, f"{var} = tuple([{item}(x) for x in {var}])")
            return
        item = src.ref(self.item.hook(ctx), "item")
        src.add(
            indent,
            f"if type({var}) is not list and not isinstance({var}, (list, tuple)):",
            "    raise _Fail",
            f"{var} = tuple([{item}(x) for x in {var}])",
        )

    def mirror_type(self, ctx: Context) -> Any:
        if isinstance(self.item, Nested):
            return list[self.item.mirror_type(ctx)]  # type: ignore[misc]
        return Any

    def dump_hook(self, key: str, ctx: DumpContext) -> Hook:
        item = self.item.dump_hook(key, ctx)

        def dump(values: Any) -> list[Any]:
            return [item(v) for v in values]

        return dump

    def emit_dump(self, src: Source, key: str, var: str, out: str, ctx: DumpContext) -> Emitted:
        lines, expr, _ = self.item.emit_dump(src, key, "x", "y", ctx)
        if expr == "x" and not lines:
            return [], f"list({var})", False
        if lines:  # an item that needs statements: the reference's own hook for it
            expr = f"{src.ref(self.item.dump_hook(key, ctx), 'out')}(x)"
        return [], f"[{expr} for x in {var}]", False


class MappingOf(Kind):
    """A JSON object of texts keyed by text (a name per language, say)."""

    __slots__ = ("value",)

    def __init__(self, value: Kind) -> None:
        self.value = value

    def describe(self) -> str:
        return f"object of {self.value.describe()}"

    def refuses(self, value: Any) -> str | None:
        if not isinstance(value, Mapping):
            return f"expected an object, got {show(value)}"
        return None

    def hook(self, ctx: Context) -> Hook:
        item = self.value.hook(ctx)

        def load_mapping(value: Any, _type: Any = None) -> dict[str, Any]:
            if not isinstance(value, Mapping):
                raise MappingError(f"expected an object, got {show(value)}")
            out: dict[str, Any] = {}
            errors: list[tuple[str | int, BaseException]] = []
            left = None  # fetched at the first error: valid documents pay nothing for it
            for count, (key, v) in enumerate(value.items(), start=1):
                error: BaseException
                if not isinstance(key, str):
                    at: str = str(key)
                    error = MappingError(f"keys must be strings, got {key!r}")
                else:
                    at = key
                    unwritable = surrogate_problem(key, "a key")
                    if unwritable is None:
                        try:
                            out[key] = item(v)
                            continue
                        except REFUSED as exc:  # collected, reported with its key
                            error = exc
                    else:
                        error = MappingError(unwritable)
                errors.append((at, error))
                left = left or budget.get() or [MappingError.MAX_PROBLEMS]
                if _spend(left, error):
                    if count < len(value):  # keys left unchecked
                        errors.append((at, Stopped()))
                    break
            if errors:
                raise ItemErrors(errors)
            return out

        return load_mapping

    def dump_hook(self, key: str, ctx: DumpContext) -> Hook:
        return dict

    def emit_dump(self, src: Source, key: str, var: str, out: str, ctx: DumpContext) -> Emitted:
        return [], f"dict({var})", False


class Optional(Kind):
    """Its inner kind, or ``null``."""

    __slots__ = ("inner",)

    def __init__(self, inner: Kind) -> None:
        self.inner = inner

    def describe(self) -> str:
        return f"{self.inner.describe()} or null"

    def refuses(self, value: Any) -> str | None:
        return None if value is None else self.inner.refuses(value)

    def hook(self, ctx: Context) -> Hook:
        return _optional(self.inner.hook(ctx))

    def emit_load(
        self, src: Source, var: str, indent: int, ctx: Context, *, mirrored: bool = False
    ) -> None:
        before = len(src.lines)
        src.add(indent, f"if {var} is not None:")
        self.inner.emit_load(src, var, indent + 1, ctx, mirrored=mirrored)
        if len(src.lines) == before + 1:  # nothing left to do (a text msgspec checked)
            src.lines.pop()

    def mirror_type(self, ctx: Context) -> Any:
        inner = self.inner.mirror_type(ctx)
        return Any if inner is Any else inner | None

    def dump_hook(self, key: str, ctx: DumpContext) -> Hook:
        return _optional(self.inner.dump_hook(key, ctx))

    def emit_dump(self, src: Source, key: str, var: str, out: str, ctx: DumpContext) -> Emitted:
        lines, expr, _ = self.inner.emit_dump(src, key, var, out, ctx)
        if expr == var:  # a plain value, checked in place
            return [f"if {var} is not None:", *(f"    {line}" for line in lines)], var, True
        if not lines:
            return [], f"None if {var} is None else {expr}", True
        return guarded(f"{var} is None", lines, expr, out), out, True


def kind_of(  # noqa: PLR0911, PLR0912 - one per type
    tp: Any, places: int | None = None, *, epoch: bool = False, number: bool = False
) -> Kind:
    """The kind of values of the annotation ``tp``.

    Raises:
        TypeError: no kind handles ``tp`` (a union of several types, a set, a float...), or
            ``places`` is given for a type that is no decimal, or ``epoch`` for one that is
            no datetime.
    """
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not _NONE_TYPE]
        if len(inner) != 1 or len(args) != 2:
            msg = f"no wire form for type {tp!r}: only one type or None is supported"
            raise TypeError(msg)
        return Optional(kind_of(inner[0], places, epoch=epoch, number=number))
    if origin is tuple:
        if len(args) != 2 or args[1] is not Ellipsis:
            msg = f"no wire form for type {tp!r}: lists are tuple[X, ...]"
            raise TypeError(msg)
        return ListOf(kind_of(args[0], places, number=number))
    if tp is Decimal:
        return Amount(places, number=number)
    if number:
        msg = f"a JSON number given for {tp!r}, which is no Decimal"
        raise TypeError(msg)
    if places is not None:
        msg = f"decimal places given for {tp!r}, which is no Decimal"
        raise TypeError(msg)
    if tp is str:
        return Text()
    if tp is bool:
        return Bool()
    if tp is int:
        return Int()
    if tp is datetime:
        return Instant() if epoch else DateTime()
    if epoch:
        msg = f"epoch seconds given for {tp!r}, which is no datetime"
        raise TypeError(msg)
    if tp is date:
        return Date()
    if tp is ModelCode:
        return Code()
    if isinstance(tp, type) and issubclass(tp, Enum):
        return EnumOf(tp)
    if isinstance(tp, type) and attrs.has(tp):
        return Nested(tp)
    if origin in (dict, Mapping) and len(args) == 2 and args[0] is str:
        return MappingOf(kind_of(args[1]))
    msg = f"no wire form for type {tp!r}"
    raise TypeError(msg)


# --- the plan -------------------------------------------------------------------------------


class FieldPlan(NamedTuple):
    """One field of a model as the wire has it.

    Attributes:
        name: the attribute's name.
        alias: its ``__init__`` argument's name (``class_`` for ``Total.class_``).
        key: the wire key.
        aliases: other spellings of the key that loaders accept.
        default: the default (``attrs.NOTHING``: required).
        places: for decimals, the wire's number of decimals.
        kind: how values are loaded and dumped.
        check: a further check of the loaded value, if any.
    """

    name: str
    alias: str
    key: str
    aliases: tuple[str, ...]
    default: Any
    places: int | None
    kind: Kind
    check: Check | None

    @property
    def required(self) -> bool:
        return self.default is attrs.NOTHING

    @property
    def empty_list(self) -> bool:
        """An optional list: absent or null on the wire is the empty list, left out if empty."""
        return bool(self.default == ())


class ModelPlan(NamedTuple):
    """A model class's fields as the wire has them, and how it may be built.

    Attributes:
        cls: the model class.
        fields: its fields, in declaration order.
        aliases: accepted other spelling → wire key.
        wire_check: the class's own check of a loaded model (``_wire_check``), if any.
        stores_only: attrs' ``__init__`` only stores each argument into its slot (no
            validator, converter, factory or hook), so a builder may fill the slots itself.
    """

    cls: type
    fields: tuple[FieldPlan, ...]
    aliases: Mapping[str, str]
    wire_check: Callable[[Any], list[Any]] | None
    stores_only: bool

    @property
    def keys(self) -> dict[str, str]:
        """Attribute name → wire key."""
        return {f.name: f.key for f in self.fields}

    @property
    def omittable(self) -> bool:
        """Whether dumps leave out ``None`` values (the class has optional fields)."""
        return any(f.default in (None, ()) for f in self.fields)


@functools.cache
def plan_of(cls: type) -> ModelPlan:
    """The plan of the attrs model class ``cls``, built once.

    Raises:
        TypeError: ``cls`` is no attrs class, or a field's type has no wire form, or a field
            is one the routes cannot fill (outside ``__init__``, a ``Factory`` default).
    """
    if not attrs.has(cls):
        msg = f"{cls!r} is no attrs class"
        raise TypeError(msg)
    attrs.resolve_types(cls)
    fields = []
    for field in attrs.fields(cls):
        spec = wire_of(field)
        where = f"{cls.__qualname__}.{field.name}"
        if not field.init or isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            msg = f"{where}: a wire field is set through __init__, with a plain default"
            raise TypeError(msg)
        try:
            kind = kind_of(field.type, spec.places, epoch=spec.epoch, number=spec.number)
        except TypeError as exc:
            msg = f"{where}: {exc}"
            raise TypeError(msg) from None
        check = spec.check
        if check is not None and not isinstance(check, Check):
            check = Check(getattr(check, "__name__", "check"), check)
        fields.append(
            FieldPlan(
                name=field.name,
                alias=field.alias or field.name,
                key=spec.key or field.name,
                aliases=spec.aliases,
                default=field.default,
                places=spec.places,
                kind=kind,
                check=check,
            )
        )
    return ModelPlan(
        cls=cls,
        fields=tuple(fields),
        aliases={alias: f.key for f in fields for alias in f.aliases},
        wire_check=getattr(cls, "_wire_check", None),
        stores_only=_stores_only(cls),
    )


def _stores_only(cls: type) -> bool:
    """Whether attrs' ``__init__`` of ``cls`` does nothing but fill the fields' slots.

    No validator, converter, default factory, init hook or cached hash; every field a slot
    and every slot a field; ``__init__`` the one attrs generated. Filling the slots directly
    then builds the same model as calling the class, without the keyword call.
    """
    new: Any = cls.__new__
    if (
        new is not object.__new__
        or hasattr(cls, "__attrs_pre_init__")
        or hasattr(cls, "__attrs_post_init__")
    ):
        return False
    init = vars(cls).get("__init__")
    code = getattr(init, "__code__", None)
    if code is None or not code.co_filename.startswith("<attrs generated"):
        return False
    fields = attrs.fields(cls)
    if any(f.validator is not None or f.converter is not None for f in fields):
        return False
    slots = {
        slot
        for klass in cls.__mro__
        for slot in vars(klass).get("__slots__", ())
        if slot not in ("__weakref__", "__dict__")
    }
    if slots != {f.name for f in fields}:
        return False
    return all(
        type(vars(cls).get(f.name, getattr(cls, f.name, None))) is types.MemberDescriptorType
        for f in fields
    )


@functools.cache
def wire_keys(cls: type) -> dict[str, str]:
    """Attribute name → wire key for an attrs model class."""
    return plan_of(cls).keys


@functools.cache
def wire_places(cls: type) -> dict[str, int | None]:
    """Attribute name → the fixed number of decimals on the wire (``None``: not a decimal)."""
    return {f.name: f.places for f in plan_of(cls).fields}
