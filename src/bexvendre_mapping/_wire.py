"""The machinery behind every ``load_*``, ``dump_*`` and ``dumps_*`` function.

Each model field declares its wire key (and, for amounts, its number of decimals) in its
attrs metadata through :func:`wire`. From those declarations this module builds, once per
process and per setting, cattrs structure and unstructure functions.

Loading takes two routes. The *fast* route is a function generated per model class by
:mod:`bexvendre_mapping._fastpath`: the checks of this module's hooks written inline, stopping
at the first problem. Only when it fails does the *detailed* route (cattrs with detailed
validation, over this module's hooks) run on the same input, collecting every problem with
its JSON path. Valid data pays nothing for the error reporting; bad data gets all of it.
Dumping uses a generated function as well; :func:`unstructure_hook`, the cattrs version, is
its reference (tests/test_fastpath.py), as :func:`structure_hook` without detailed
validation is the loaders'.

JSON is read and written by the standard library, or by msgspec when it is installed (the
``fast`` extra): msgspec parses to the same Python values (numbers with a fraction as
``Decimal`` from their text) and writes the same bytes, several times faster. Whatever it
does not take (NaN, a BOM, a lone surrogate, any malformed input) goes to the standard
library, which then gives the result or the error it always gives. The environment variable
``BEXVENDRE_MAPPING_JSON=json``, read at the first parse or dump, keeps to the standard
library. ``tests/test_json_engine.py`` compares the two on generated documents.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Generic, TypeVar

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from bexvendre_mapping._dates import (
    DEFAULT_TIME_ZONE,
    format_date,
    format_datetime,
    parse_date,
    parse_datetime,
)
from bexvendre_mapping._dates import time_zone as get_zone
from bexvendre_mapping._dates import zone_name as _zone_name
from bexvendre_mapping._errors import MappingError, Problem
from bexvendre_mapping._errors import note as _note
from bexvendre_mapping._modelcode import ModelCode
from bexvendre_mapping._text import closest, find_surrogate, json_type, show, surrogate_problem
from bexvendre_mapping.money import parse_decimal, quantize

__all__ = [
    "Codec",
    "Wire",
    "child_path",
    "dump_problems",
    "json_engine",
    "parse_document",
    "problems_of",
    "wire",
]

T = TypeVar("T")
# Structure hooks take the value and, as cattrs passes it, the type (ignored).
Hook = Callable[..., Any]

_METADATA_KEY = "bexvendre_mapping.wire"


@attrs.frozen
class Wire:
    """How one model field appears on the wire.

    Attributes:
        key: the JSON key, when it differs from the attribute name.
        places: for decimals, the fixed number of decimals on the wire.
        check: a further check of the loaded value; returns it or raises MappingError.
        aliases: other spellings of the key that loaders accept (dumpers write ``key``).
    """

    key: str | None = None
    places: int | None = None
    check: Callable[[Any], Any] | None = None
    aliases: tuple[str, ...] = ()


def wire(
    key: str | None = None,
    *,
    places: int | None = None,
    check: Callable[[Any], Any] | None = None,
    aliases: tuple[str, ...] = (),
) -> dict[str, Wire]:
    """Metadata for ``attrs.field(metadata=...)`` declaring a field's wire form."""
    return {_METADATA_KEY: Wire(key, places, check, aliases)}


@functools.cache
def wire_aliases(cls: type) -> dict[str, str]:
    """Accepted other spelling → wire key, for the fields of ``cls`` that have any."""
    return {
        alias: _wire_of(f).key or f.name for f in attrs.fields(cls) for alias in _wire_of(f).aliases
    }


def unalias(
    value: Mapping[str, Any], aliases: Mapping[str, str]
) -> tuple[dict[str, Any], list[Problem]]:
    """``value`` with every accepted other spelling of a key replaced by the key.

    A key given under both spellings is a problem; the other spelling is then left out, so
    that the rest of the document is still checked.
    """
    renamed = dict(value)
    twice: list[Problem] = []
    for alias, key in aliases.items():
        if alias in renamed:
            if key in renamed:
                del renamed[alias]
                twice.append(
                    Problem(child_path("$", alias), f"given twice, as {key!r} and as {alias!r}")
                )
            else:
                renamed[key] = renamed.pop(alias)
    return renamed, twice


def _wire_of(field: attrs.Attribute[Any]) -> Wire:
    found = field.metadata.get(_METADATA_KEY)
    return found if isinstance(found, Wire) else Wire()


@functools.cache
def wire_keys(cls: type) -> dict[str, str]:
    """Attribute name → wire key for an attrs model class."""
    return {f.name: _wire_of(f).key or f.name for f in attrs.fields(cls)}


@functools.cache
def wire_places(cls: type) -> dict[str, int | None]:
    """Attribute name → the fixed number of decimals on the wire (``None``: not a decimal)."""
    return {f.name: _wire_of(f).places for f in attrs.fields(cls)}


@functools.cache
def _fields(cls: type) -> tuple[attrs.Attribute[Any], ...]:
    attrs.resolve_types(cls)
    return tuple(attrs.fields(cls))


# --- paths and problems ---------------------------------------------------------------------


def child_path(path: str, key: str | int) -> str:
    r"""The JSON path of ``key`` below ``path``: ``$.a``, ``$[2]``, ``$['Belopp inkl.moms']``.

    A lone surrogate in a key is written as its escape (``$['\ud800']``), so that a path can
    always be printed and written as UTF-8.
    """
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key.isidentifier():
        return f"{path}.{key}"
    quoted = key.replace("\\", "\\\\").replace("'", "\\'")
    if not quoted.isascii() and find_surrogate(quoted) is not None:
        quoted = quoted.encode(errors="backslashreplace").decode()
    return f"{path}['{quoted}']"


def _rebase(problem: Problem, path: str) -> Problem:
    if path == "$":
        return problem
    return Problem(path + problem.path[1:], problem.message)


class _Nested(Exception):
    """Errors of the items of a list or mapping, each with its key."""

    def __init__(self, errors: list[tuple[str | int, BaseException]]) -> None:
        super().__init__(errors)
        self.errors = errors


class _Stopped(Exception):
    """Where a list or mapping stopped checking its items: the load's budget is spent."""


# The problems the detailed load under way may still collect: one budget per load, shared
# by its lists and mappings, which stop checking their items once it is spent (a document
# with a million bad rows then costs what a thousand do). A list outside a load gets its own.
_budget: ContextVar[list[int] | None] = ContextVar("bexvendre_mapping_budget", default=None)


def _spend(budget: list[int], exc: BaseException) -> bool:
    """Take the problems ``exc`` holds from ``budget``; whether the budget is spent.

    The problems of a list or mapping inside an item were taken when it collected them.
    """
    budget[0] -= _weight(exc)
    return budget[0] <= 0


def _weight(exc: BaseException) -> int:
    if isinstance(exc, MappingError):
        return len(exc.problems)
    if isinstance(exc, _Nested | _Stopped):
        return 0
    if isinstance(exc, ClassValidationError):
        return sum(_weight(sub) for sub in exc.exceptions)
    if isinstance(exc, ForbiddenExtraKeysError):
        return len(exc.extra_fields)
    return 1


def problems_of(exc: BaseException, path: str = "$") -> list[Problem]:
    """Every problem an exception from a structure hook describes, with its JSON path."""
    if isinstance(exc, MappingError):
        return [_rebase(p, path) for p in exc.problems]
    if isinstance(exc, _Stopped):
        return [Problem(path, _note(stopped=True))]
    if isinstance(exc, _Nested):
        found: list[Problem] = []
        for key, sub in exc.errors:
            found.extend(problems_of(sub, child_path(path, key)))
        return found
    if isinstance(exc, ClassValidationError):
        keys = wire_keys(exc.cl)
        found = []
        for sub in exc.exceptions:
            name = _attribute_name(sub)
            if name is None:
                found.extend(problems_of(sub, path))
            elif isinstance(sub, KeyError):
                found.append(Problem(child_path(path, keys[name]), "required field is missing"))
            else:
                found.extend(problems_of(sub, child_path(path, keys[name])))
        return found
    if isinstance(exc, ForbiddenExtraKeysError):
        return _unknown_fields(exc, path)
    return [Problem(path, f"invalid value: {exc}")]


def _unknown_fields(exc: ForbiddenExtraKeysError, path: str) -> list[Problem]:
    """A problem for each key of a mapping loaded with ``strict=True`` that is no field.

    Keys that are strings come first, sorted; then any other key of a mapping given as such
    (``1``, ``None``), sorted by its ``repr()``: at the path of its ``str()``, its message
    quoting it as it is (``unknown field 1``, not ``'1'``).
    """
    known = sorted(wire_keys(exc.cl).values())
    names = sorted(key for key in exc.extra_fields if isinstance(key, str))
    others = sorted((key for key in exc.extra_fields if not isinstance(key, str)), key=repr)
    found = []
    limit = MappingError.MAX_PROBLEMS
    if len(names) + len(others) > limit:  # each name costs a search for the closest known
        more = len(names) + len(others) - limit
        names, others = names[:limit], others[: max(limit - len(names), 0)]
        found.append(Problem(path, _note(more)))
    for key in names:
        near = closest(key, known)
        hint = f"; did you mean {', '.join(repr(k) for k in near)}?" if near else ""
        found.append(Problem(child_path(path, key), f"unknown field {key!r}{hint}"))
    found.extend(
        Problem(child_path(path, str(key)), f"unknown field {key!r}: keys must be strings")
        for key in others
    )
    return found


def _leaves(model: Any, path: str) -> Iterator[tuple[attrs.Attribute[Any], Wire, Any, str]]:
    """Every field of ``model`` that holds no model, with its wire spec, value and JSON path.

    Nested models and lists of models are walked, in document order (a ``ModelCode`` is a
    value here, not a model).
    """
    cls: type = type(model)
    for field in _fields(cls):
        spec = _wire_of(field)
        at = child_path(path, spec.key or field.name)
        value = getattr(model, field.name)
        if _is_model(value):
            yield from _leaves(value, at)
        elif isinstance(value, tuple) and any(_is_model(item) for item in value):
            for index, item in enumerate(value):
                if _is_model(item):
                    yield from _leaves(item, child_path(at, index))
        else:
            yield field, spec, value, at


def _is_model(value: Any) -> bool:
    return attrs.has(type(value)) and type(value) is not ModelCode


def _amount_problems(spec: Wire, value: Decimal, at: str) -> list[Problem]:
    """Why a loader refuses ``value`` for this field: not finite, too large, or the like.

    That is: not finite, not below ``MAX_AMOUNT``, more decimals than the wire's, or the
    field's check.
    """
    try:
        checked = parse_decimal(value, spec.places)
        if spec.check is not None:
            spec.check(checked)
    except MappingError as exc:
        return [_rebase(p, at) for p in exc.problems]
    return []


def _attribute_name(exc: BaseException) -> str | None:
    for note in reversed(getattr(exc, "__notes__", ())):
        name = getattr(note, "name", None)
        if isinstance(name, str):
            return name
    return None


# --- structure hooks for the wire's primitive types ------------------------------------------


def _str(value: Any, _type: Any = None) -> str:
    if type(value) is str:
        if value.isascii() or value.isprintable():  # the usual text at once: no surrogate
            return value
        unwritable = surrogate_problem(value)
        if unwritable is None:
            return value
        raise MappingError(unwritable)
    raise MappingError(f"expected a string, got {show(value)}")


def _int(value: Any, _type: Any = None) -> int:
    if type(value) is int:
        return value
    # PHP-backed APIs often send ids as strings of digits.
    if (
        type(value) is str
        and 0 < len(value) <= 18
        and value.removeprefix("-").isdigit()
        and value.isascii()
    ):
        return int(value)
    raise MappingError(f"expected an integer, got {show(value)}")


def _bool(value: Any, _type: Any = None) -> bool:
    if type(value) is bool:
        return value
    raise MappingError(f"expected true or false, got {show(value)}")


def _model_code(value: Any, _type: Any = None) -> ModelCode:
    if type(value) is not str:
        raise MappingError(f"expected a string, got {show(value)}")
    return ModelCode.parse(value)  # refuses lone surrogates with the code's own message


def _decimal(places: int | None) -> Hook:
    def hook(value: Any, _type: Any = None) -> Decimal:
        return parse_decimal(value, places)

    return hook


def _datetime(zone: tzinfo) -> Hook:
    def hook(value: Any, _type: Any = None) -> datetime:
        return parse_datetime(value, zone)

    return hook


def _date(value: Any, _type: Any = None) -> date:
    return parse_date(value)


def _enum(cls: type[Enum]) -> Hook:
    members = {m.value: m for m in cls}

    def hook(value: Any, _type: Any = None) -> Enum:
        try:
            return members[value]
        except (KeyError, TypeError):
            pass
        allowed = ", ".join(repr(v) for v in members)
        near = closest(str(value), members) if isinstance(value, str) else []
        hint = f"; closest: {', '.join(repr(n) for n in near)}" if near else ""
        raise MappingError(f"expected one of {allowed}, got {show(value)}{hint}")

    return hook


def _optional(inner: Hook) -> Hook:
    def hook(value: Any, _type: Any = None) -> Any:
        return None if value is None else inner(value)

    return hook


def _empty_when_null(inner: Hook) -> Hook:
    # An optional list given as null is the empty list.
    def hook(value: Any, _type: Any = None) -> Any:
        return () if value is None else inner(value)

    return hook


def _checked(inner: Hook, check: Callable[[Any], Any]) -> Hook:
    def hook(value: Any, _type: Any = None) -> Any:
        loaded = inner(value)
        return loaded if loaded is None else check(loaded)  # checks are of values

    return hook


def _sequence(item: Hook, detailed: bool) -> Hook:
    def fast(value: Any, _type: Any = None) -> tuple[Any, ...]:
        if type(value) is not list and not isinstance(value, list | tuple):
            raise MappingError(f"expected a list, got {show(value)}")
        return tuple([item(v) for v in value])

    def slow(value: Any, _type: Any = None) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise MappingError(f"expected a list, got {show(value)}")
        out: list[Any] = []
        errors: list[tuple[str | int, BaseException]] = []
        budget = None
        for index, v in enumerate(value):
            try:
                out.append(item(v))
            except Exception as exc:  # noqa: BLE001 - collected and reported with its index
                errors.append((index, exc))
                budget = budget or _budget.get() or [MappingError.MAX_PROBLEMS]
                if _spend(budget, exc):
                    if index + 1 < len(value):  # items left unchecked
                        errors.append((index + 1, _Stopped()))
                    break
        if errors:
            raise _Nested(errors)
        return tuple(out)

    return slow if detailed else fast


def _mapping(item: Hook) -> Hook:
    def hook(value: Any, _type: Any = None) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise MappingError(f"expected an object, got {show(value)}")
        out: dict[str, Any] = {}
        errors: list[tuple[str | int, BaseException]] = []
        budget = None  # fetched at the first error: valid documents pay nothing for it
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
                    except Exception as exc:  # noqa: BLE001 - collected, reported with its key
                        error = exc
                else:
                    error = MappingError(unwritable)
            errors.append((at, error))
            budget = budget or _budget.get() or [MappingError.MAX_PROBLEMS]
            if _spend(budget, error):
                if count < len(value):  # keys left unchecked
                    errors.append((at, _Stopped()))
                break
        if errors:
            raise _Nested(errors)
        return out

    return hook


# --- building the converters ----------------------------------------------------------------


@attrs.frozen
class _Setting:
    zone_name: str
    strict: bool
    detailed: bool

    @property
    def zone(self) -> tzinfo:
        return get_zone(self.zone_name)


@functools.cache
def _converter(setting: _Setting) -> cattrs.Converter:
    # The converter only hosts the generated functions: every field gets an explicit hook.
    return cattrs.Converter(detailed_validation=setting.detailed, forbid_extra_keys=setting.strict)


def _type_hook(tp: Any, places: int | None, setting: _Setting) -> Hook:  # noqa: PLR0911
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _optional(_type_hook(inner[0], places, setting))
    if tp is str:
        return _str
    if tp is bool:
        return _bool
    if tp is int:
        return _int
    if tp is Decimal:
        return _decimal(places)
    if tp is datetime:
        return _datetime(setting.zone)
    if tp is date:
        return _date
    if tp is ModelCode:
        return _model_code
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _enum(tp)
    if isinstance(tp, type) and attrs.has(tp):
        return structure_hook(tp, setting)
    if origin is tuple:
        return _sequence(_type_hook(args[0], places, setting), setting.detailed)
    if origin in (dict, Mapping) or tp is Mapping:
        return _mapping(_type_hook(args[1], places, setting))
    msg = f"no wire form for type {tp!r}"
    raise TypeError(msg)


@functools.cache
def structure_hook(cls: type, setting: _Setting) -> Hook:
    """The one-argument function that loads a mapping into ``cls``.

    On the detailed route, the problems of a document are all reported at once: a key given
    under two spellings, every field's problem, and the class's own check (``_wire_check``,
    on the model's parts that go together, such as a model code's) as far as the fields it
    reads loaded.
    """
    overrides: dict[str, Any] = {}
    plan: list[tuple[str, str, Hook, Any]] = []  # name, wire key, hook, default
    for field in _fields(cls):
        spec = _wire_of(field)
        hook = _type_hook(field.type, spec.places, setting)
        if spec.check is not None:
            hook = _checked(hook, spec.check)
        if field.default == ():
            hook = _empty_when_null(hook)
        overrides[field.name] = override(rename=spec.key or field.name, struct_hook=hook)
        plan.append((field.name, spec.key or field.name, hook, field.default))
    generated: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cls,
        _converter(setting),
        _cattrs_forbid_extra_keys=setting.strict,
        _cattrs_detailed_validation=setting.detailed,
        **overrides,
    )
    check = getattr(cls, "_wire_check", None)

    aliases = wire_aliases(cls)

    def load(value: Any, _type: Any = None) -> Any:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise MappingError(f"expected an object, got {show(value)}")
        found: list[Problem] = []
        if aliases and not aliases.keys().isdisjoint(value):
            value, found = unalias(value, aliases)
        try:
            result = generated(value, cls)
        except Exception as exc:
            if not setting.detailed or (not found and check is None):
                raise
            found += problems_of(exc)
            if check is not None:
                found += _check_parts(check, value, plan)
            raise MappingError(found) from exc
        if check is not None:
            found += check(result)
        if found:
            raise MappingError(found)
        return result

    return load


def _check_parts(
    check: Callable[[Any], list[Problem]],
    value: Mapping[str, Any],
    plan: list[tuple[str, str, Hook, Any]],
) -> list[Problem]:
    """The class's check on the fields of ``value`` that load, when those it reads did."""
    parts: dict[str, Any] = {}
    for name, key, hook, default in plan:
        if key in value:
            try:
                parts[name] = hook(value[key], None)
            except Exception:  # noqa: BLE001, S112 - reported already: the check cannot use it
                continue
        elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            if not default.takes_self:
                parts[name] = default.factory()
        elif default is not attrs.NOTHING:
            parts[name] = default
    try:
        return check(types.SimpleNamespace(**parts))
    except AttributeError:  # the check reads a field that did not load
        return []


def _decimal_out(places: int | None, key: str) -> Hook:
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


def _plain(tp: type, key: str) -> Hook:
    def dump(value: Any) -> Any:
        return plain_value(value, tp, key)

    return dump


def _out_hook(tp: Any, places: int | None, key: str, zone: tzinfo) -> Hook | None:  # noqa: PLR0911
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = _out_hook(next(a for a in args if a is not type(None)), places, key, zone)
        return None if inner is None else _optional(inner)
    if tp in (str, int, bool):
        return _plain(tp, key)
    if tp is Decimal:
        return _decimal_out(places, key)
    if tp is datetime:
        return functools.partial(format_datetime, zone=zone)
    if tp is date:
        return format_date
    if tp is ModelCode:
        return str
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _enum_value
    if isinstance(tp, type) and attrs.has(tp):
        return unstructure_hook(tp, _zone_name(zone))
    if origin is tuple:
        item = _out_hook(args[0], places, key, zone)
        if item is None:
            return list
        return lambda values: [item(v) for v in values]
    if origin in (dict, Mapping) or tp is Mapping:
        return dict
    msg = f"no wire form for type {tp!r}"
    raise TypeError(msg)


def dump_problems(
    model: Any, zone: tzinfo, path: str = "$", *, as_loaded: bool = False
) -> list[Problem]:
    """Every field of ``model`` that its dumper refuses, with its JSON path.

    A dumper stops at the first field it cannot write; :meth:`Codec.dump` then asks this
    for all of them: nested models and lists of models are walked, every other field goes
    through the reference dumper's own hook for it (so the messages are the dumper's).
    With ``as_loaded``, a ``Decimal`` is held to what its loader takes instead (finite,
    below ``MAX_AMOUNT``, the wire's decimals, the field's check such as a VAT percent from
    0 to 100): the converters' view of a model built by hand.
    """
    found: list[Problem] = []
    for field, spec, value, at in _leaves(model, path):
        if len(found) >= MappingError.MAX_PROBLEMS:
            found.append(Problem(path, _note(stopped=True)))
            break
        if as_loaded:
            # What no load gives, though the dumper writes it: a null list, a model code
            # that is not a ModelCode (written through str()).
            if value is None and field.default == ():
                found.append(Problem(at, "expected a list, got null"))
                continue
            if field.type is ModelCode and type(value) is not ModelCode:
                found.append(Problem(at, f"expected a ModelCode, got {show(value)}"))
                continue
            if isinstance(value, Decimal):
                found.extend(_amount_problems(spec, value, at))
                continue
        key = spec.key or field.name
        hook = _field_out_hook(field, zone)
        try:
            if hook is not None:
                hook(value)
        except MappingError as exc:
            prefix = f"field {key!r}: "
            found.extend(Problem(at, p.message.removeprefix(prefix)) for p in exc.problems)
        except Exception as exc:  # noqa: BLE001 - reported with the others, not dropped
            # Not a wire type at all (text in a date-time field, say): alone, the dumper
            # raises this itself; here it joins the report being made.
            found.append(Problem(at, f"cannot be written: {type(exc).__name__}: {exc}"))
        else:
            if as_loaded and value is not None:
                found.extend(_loaded_problems(spec, value, at))
    return found


def _loaded_problems(spec: Wire, value: Any, at: str) -> list[Problem]:
    """Why a loader refuses a value that its dumper writes.

    That is: a text with a lone surrogate, or the field's check (a status outside its
    values, say).
    """
    unwritable = surrogate_problem(value) if type(value) is str else None
    if unwritable is not None:
        return [Problem(at, unwritable)]
    try:
        if spec.check is not None:
            spec.check(value)
    except MappingError as exc:
        return [_rebase(p, at) for p in exc.problems]
    return []


def _enum_value(member: Enum) -> Any:
    return member.value


@functools.cache
def unstructure_hook(cls: type, zone_name: str) -> Hook:
    """The one-argument function that dumps a ``cls`` model into a wire mapping."""
    zone = get_zone(zone_name)
    overrides: dict[str, Any] = {}
    omittable = False
    for field in _fields(cls):
        hook = _field_out_hook(field, zone)
        omittable = omittable or field.default in (None, ())
        overrides[field.name] = override(
            rename=_wire_of(field).key or field.name, unstruct_hook=hook
        )
    generated: Hook = make_dict_unstructure_fn(
        cls, _converter(_Setting(zone_name, strict=False, detailed=False)), **overrides
    )
    if not omittable:
        return generated

    # cattrs' own omit_if_default moves the optional keys to the end; this keeps field order.
    def dump(model: Any) -> dict[str, Any]:
        return {k: v for k, v in generated(model).items() if v is not None}

    return dump


def _field_out_hook(field: attrs.Attribute[Any], zone: tzinfo) -> Hook | None:
    """How the reference dumper writes ``field``'s value (``None``: as it is)."""
    spec = _wire_of(field)
    hook = _out_hook(field.type, spec.places, spec.key or field.name, zone)
    if field.default == ():
        # An empty list with an empty default is left out, like a null.
        hook = _none_when_empty(hook or list)
    return hook


def _none_when_empty(hook: Hook) -> Hook:
    def dump(values: Any) -> Any:
        return hook(values) if values else None

    return dump


# --- documents ------------------------------------------------------------------------------


def _json_decimal(text: str) -> Decimal:
    """A JSON number with a fraction or an exponent, exactly: both engines' hook.

    Raises:
        ValueError: an exponent beyond what Decimal holds (``1e999999999999999999999``).
            The standard library's decoder lets it through as it is, and msgspec's wraps it
            in an error it does not take, so that the standard library reports it as well.
    """
    try:
        return Decimal(text)
    except ArithmeticError:  # InvalidOperation: the decoder checked the syntax, so the exponent
        msg = f"the number {show(text)} is out of range"
        raise ValueError(msg) from None


# Built once: json.loads/json.dumps with options build a new decoder/encoder on every call.
_DECODER = json.JSONDecoder(parse_float=_json_decimal)
_DECODE = _DECODER.decode
# The decoder's C scanner (typeshed does not declare the attribute).
_SCAN: Callable[[str, int], tuple[Any, int]] = vars(_DECODER)["scan_once"]
_JSON_SPACE = " \t\n\r"
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ENCODE = _ENCODER.encode
# JSONEncoder.encode builds a C encoder (and a closure) on every call; dumps_json calls the
# C encoder itself, built with the arguments encode() gives it for _ENCODER (a fresh markers
# dict included): a third of a small document's encoding. Not in every Python: then encode().
_C_ENCODER: Callable[..., Callable[[Any, int], Any]] | None = getattr(
    json.encoder, "c_make_encoder", None
)


def _decode(text: str) -> Any:
    # What decode() does, without its two Python-level layers and two regex matches when the
    # value starts at once and only whitespace follows (a JSON Lines line ends in "\n"):
    # a quarter of the time of a stock row's parse. Anything else goes through decode(),
    # which then raises its own error for leading garbage, no value or extra data.
    try:
        found, end = _SCAN(text, 0)
    except StopIteration:
        return _DECODE(text)
    if end != len(text) and text[end:].strip(_JSON_SPACE):
        return _DECODE(text)
    return found


@attrs.frozen
class _Engine:
    """The faster JSON engine in use, if any: what parse_document and dumps_json try first."""

    name: str
    decode: Callable[[Any], Any] | None = None
    encode: Callable[[Any], bytes] | None = None
    refused: tuple[type[BaseException], ...] = (ValueError, RecursionError)


ENGINE_VARIABLE = "BEXVENDRE_MAPPING_JSON"
_STDLIB = _Engine("json")
_engine_in_use: _Engine | None = None  # chosen at the first parse or dump


def _choose_engine(name: str | None = None) -> _Engine:
    """The engine: msgspec when installed and not switched off, else the standard library."""
    global _engine_in_use  # noqa: PLW0603 - chosen once, lazily: importing msgspec costs
    if (name or os.environ.get(ENGINE_VARIABLE, "")).strip().lower() == "json":
        _engine_in_use = _STDLIB
        return _STDLIB
    try:
        import msgspec.json  # noqa: PLC0415 - optional, and only when JSON is first read
    except ImportError:
        _engine_in_use = _STDLIB
        return _STDLIB
    _engine_in_use = _Engine(
        "msgspec",
        decode=msgspec.json.Decoder(float_hook=_json_decimal).decode,
        encode=msgspec.json.Encoder().encode,
        refused=(ValueError, RecursionError, TypeError, OverflowError, msgspec.MsgspecError),
    )
    return _engine_in_use


def json_engine() -> str:
    """The JSON engine loaders and dumpers use: ``"msgspec"`` or ``"json"``.

    msgspec is used when it is installed (``pip install "bexvendre-mapping[fast]"``) unless
    the environment variable ``BEXVENDRE_MAPPING_JSON`` is ``json``. Both give the same
    models, the same bytes and the same errors; msgspec is faster.
    """
    return (_engine_in_use or _choose_engine()).name


def parse_document(data: bytes | bytearray | memoryview | str | Mapping[str, Any]) -> Any:
    """Parse JSON input (bytes or str) exactly, numbers with a fraction as Decimal.

    A mapping is returned as it is.

    Raises:
        MappingError: not UTF-8, not JSON, or of another type altogether.
    """
    return _parse(data)[0]


_Parsed = tuple[Any, bool]


def _parse(data: bytes | bytearray | memoryview | str | Mapping[str, Any]) -> _Parsed:
    r""":func:`parse_document`'s document, and whether it surely holds no lone surrogate.

    msgspec refuses every lone surrogate (the escape ``\ud800`` as well as one in str
    input); the standard library gives one from bytes only through a ``\u`` escape, never
    from UTF-8, so JSON bytes without a backslash hold none. :meth:`Codec.load` leaves out
    the test of each text for a document known to be clean.
    """
    kind = type(data)
    if kind is dict:
        return data, False
    engine = _engine_in_use or _choose_engine()
    if engine.decode is not None and (kind is bytes or kind is str):
        try:
            return engine.decode(data), True
        except engine.refused:
            pass  # not taken: the standard library below gives its result or its error
    if kind is bytes or isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)  # type: ignore[arg-type]
        try:
            data = raw.decode()
        except UnicodeDecodeError as exc:
            utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")
            hint = " (it starts with a UTF-16 byte order mark: it is UTF-16)" if utf16 else ""
            raise MappingError(
                f"the document is not UTF-8: {exc.reason} at byte {exc.start}{hint}"
            ) from None
        # Any backslash will do: one character is a memchr(), two a slower search.
        clean = "\\" not in data
    elif isinstance(data, Mapping):
        return data, False
    elif not isinstance(data, str):
        raise MappingError(_not_json_text(data))
    else:
        clean = False
    return _decode_text(data, clean)


def _not_json_text(data: object) -> str:
    """Why ``data`` is no document: in JSON's words for a JSON value (an array's item)."""
    named = json_type(data)
    if named == type(data).__name__:  # not a JSON value at all
        return f"expected JSON bytes, str or a mapping, got {named}"
    return f"expected a JSON object, got {named}"


_BOM = "\ufeff"


def _decode_text(text: str, clean: bool, *, after_bom: bool = False) -> _Parsed:
    """The document in JSON ``text``; a byte order mark at its very start is left out.

    RFC 8259 lets a parser ignore one, and Windows tools write it; it costs nothing until
    the parser has refused the text.
    """
    try:
        return _decode(text), clean
    except json.JSONDecodeError as exc:
        if text.startswith(_BOM) and not after_bom:
            return _decode_text(text[1:], clean, after_bom=True)
        hint = ""
        if text[exc.pos : exc.pos + 1] == _BOM:
            hint = " (a byte order mark, U+FEFF: only one, at the very start, is allowed)"
        raise MappingError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}{hint}"
        ) from None
    except (ValueError, RecursionError) as exc:  # huge integers or exponents, absurd nesting
        raise MappingError(f"invalid JSON: {exc}") from None


def dumps_json(document: Any) -> bytes:
    """Compact UTF-8 JSON of a dumped document.

    ``document`` holds what dumpers give: dicts with string keys, lists, strings, integers,
    booleans and ``None`` (no floats, whose spelling differs between engines).
    """
    engine = _engine_in_use or _choose_engine()
    if engine.encode is not None:
        try:
            return engine.encode(document)
        except engine.refused:
            pass  # not taken (a lone surrogate, say): the standard library raises its error
    if _C_ENCODER is None or isinstance(document, str):
        return _ENCODE(document).encode()
    encode_c = _C_ENCODER(
        {}, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )
    return "".join(encode_c(document, 0)).encode()


class Codec(Generic[T]):
    """Loads, dumps and serialises one model class in its side's wire format."""

    def __init__(self, cls: type[T]) -> None:
        self.cls = cls
        self._type: type = cls  # the hashable key of the cached hooks
        self._fast: dict[tuple[str, bool, bool], Hook] = {}
        self._typed: dict[tuple[str, bool], Hook | None] = {}
        self._dumpers: dict[str, Hook] = {}
        self._writers: dict[str, Hook | None] = {}

    def load(
        self,
        data: bytes | bytearray | memoryview | str | Mapping[str, Any],
        *,
        strict: bool = False,
        time_zone: str = DEFAULT_TIME_ZONE,
    ) -> T:
        """Load a document into a model.

        Args:
            data: JSON as bytes or str, or an already-parsed mapping.
            strict: reject keys the wire format does not define (default: ignore them).
            time_zone: the shop's IANA time zone, for date-times given with an offset.

        Returns:
            The model.

        Raises:
            MappingError: every problem in the document, each with its JSON path; past
                ``MappingError.MAX_PROBLEMS``, checking stops and a last problem says so.
        """
        kind = type(data)
        if kind is bytes or kind is str:
            engine = _engine_in_use or _choose_engine()
            if engine.decode is not None:  # msgspec: its typed decoder first, if it can
                try:
                    typed = self._typed[time_zone, strict]
                except KeyError:
                    from bexvendre_mapping._fastpath import typed_loader  # noqa: PLC0415

                    typed = self._typed[time_zone, strict] = typed_loader(
                        self._type, time_zone, strict
                    )
                if typed is not None:
                    try:
                        result: T = typed(data)
                    except Exception:  # noqa: BLE001 - the usual route gives the result or error
                        return self._load_parsed(data, strict, time_zone)
                    return result
        return self._load_parsed(data, strict, time_zone)

    def _load_parsed(
        self,
        data: bytes | bytearray | memoryview | str | Mapping[str, Any],
        strict: bool,
        time_zone: str,
    ) -> T:
        """Parse the document, then its loader; the detailed route when the loader refuses."""
        document, clean = _parse(data)
        try:
            hook = self._fast[time_zone, strict, clean]
        except KeyError:
            from bexvendre_mapping._fastpath import fast_loader  # noqa: PLC0415 - imports us

            hook = self._fast[time_zone, strict, clean] = fast_loader(
                self._type, time_zone, strict, clean_text=clean
            )
        try:
            result: T = hook(document)
        except Exception:  # noqa: BLE001 - the detailed route reports what went wrong
            return self._load_detailed(document, strict, time_zone)
        return result

    def _load_detailed(self, document: Any, strict: bool, time_zone: str) -> T:
        token = _budget.set([MappingError.MAX_PROBLEMS])
        try:
            result: T = structure_hook(self._type, _Setting(time_zone, strict, True))(document)
        except Exception as exc:  # noqa: BLE001 - every problem is collected from it
            raise MappingError(problems_of(exc)) from None
        finally:
            _budget.reset(token)
        return result

    def _check_class(self, model: object) -> None:
        if not isinstance(model, self.cls):
            msg = f"expected a {self.cls.__qualname__}, got {type(model).__qualname__}"
            raise TypeError(msg)

    def dump(self, model: T, *, time_zone: str = DEFAULT_TIME_ZONE) -> dict[str, Any]:
        """Dump a model to its wire mapping (amounts as strings, ``None`` fields omitted).

        Raises:
            TypeError: ``model`` is not of this codec's class.
            MappingError: fields the wire cannot take (an amount with more decimals than the
                wire allows, a value of another type than the field's): every one, each
                with its JSON path.
        """
        self._check_class(model)
        try:
            dumper = self._dumpers[time_zone]
        except KeyError:
            from bexvendre_mapping._fastpath import fast_dumper  # noqa: PLC0415 - imports us

            dumper = self._dumpers[time_zone] = fast_dumper(self._type, time_zone)
        try:
            result: dict[str, Any] = dumper(model)
        except MappingError as exc:  # the first problem: report them all, with their paths
            found = dump_problems(model, get_zone(time_zone))
            raise (MappingError(found) if found else exc) from None
        return result

    def dumps(self, model: T, *, time_zone: str = DEFAULT_TIME_ZONE) -> bytes:
        """Dump a model to compact UTF-8 JSON bytes.

        Raises:
            TypeError: ``model`` is not of this codec's class.
            MappingError: what :meth:`dump` refuses; and text UTF-8 cannot hold (a lone
                surrogate, which no load gives but a model built by hand may hold), each
                with its JSON path.
        """
        self._check_class(model)
        engine = _engine_in_use or _choose_engine()
        if engine.encode is not None:  # msgspec: straight from the model, if it can
            try:
                writer = self._writers[time_zone]
            except KeyError:
                from bexvendre_mapping._fastpath import typed_dumper  # noqa: PLC0415

                writer = self._writers[time_zone] = typed_dumper(self._type, time_zone)
            if writer is not None:
                try:
                    written: bytes = writer(model)
                except Exception:  # noqa: BLE001 - the usual route gives the bytes or the error
                    return self._dumps_mapping(model, time_zone)
                return written
        return self._dumps_mapping(model, time_zone)

    def _dumps_mapping(self, model: T, time_zone: str) -> bytes:
        """The JSON of :meth:`dump`'s mapping; every unwritable text with its path."""
        document = self.dump(model, time_zone=time_zone)
        try:
            return dumps_json(document)
        except UnicodeEncodeError as exc:
            found = list(_unwritable_text(document, "$"))
            raise (MappingError(found) if found else exc) from None
        except ValueError as exc:  # an integer beyond Python's digit limit (a model by hand)
            found = list(_unwritable_numbers(document, "$"))
            raise (MappingError(found) if found else exc) from None


def _unwritable_numbers(value: Any, path: str) -> Iterator[Problem]:
    """Every integer in a dumped document too long for JSON text, with its JSON path.

    Python writes an integer of at most ``sys.get_int_max_str_digits()`` digits (4,300 by
    default); no load gives a longer one, but a model built by hand may hold it.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        limit = sys.get_int_max_str_digits()
        if limit and abs(value) >= 10**limit:
            yield Problem(path, f"an integer of more than {limit} digits cannot be written")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unwritable_numbers(item, child_path(path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unwritable_numbers(item, child_path(path, index))


def _unwritable_text(value: Any, path: str) -> Iterator[Problem]:
    """Every text and key in a dumped document that UTF-8 cannot hold, with its JSON path."""
    if isinstance(value, str):
        unwritable = surrogate_problem(value)
        if unwritable is not None:
            yield Problem(path, unwritable)
    elif isinstance(value, dict):
        for key, item in value.items():
            at = child_path(path, key if isinstance(key, str) else str(key))
            unwritable = surrogate_problem(key, "a key") if isinstance(key, str) else None
            if unwritable is not None:
                yield Problem(at, unwritable)
            yield from _unwritable_text(item, at)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unwritable_text(item, child_path(path, index))
