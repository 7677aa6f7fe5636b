"""Generated loaders and dumpers: the fast route of :mod:`bexvendre_mapping._wire`.

cattrs' generated functions call one hook per field, and the hooks of ``_wire`` are small
closures that call further functions; on valid data that call overhead is most of the cost
of a load or a dump. This module writes, once per model class and setting, the Python
source of one function per class that does the class's work inline (type checks of strings,
integers and booleans, ``None`` handling, decimals, absent optional keys, unknown keys) and
calls the functions of ``_wire``, ``_dates`` and ``money`` only for the rest (date-times,
model codes, field checks, nested classes). A model whose attrs ``__init__`` would only
store its arguments is built by storing them into its slots (through a twin class: see
:mod:`bexvendre_mapping._slots`). The source is compiled with
``exec``, as attrs and cattrs do, and registered with :mod:`linecache` so that tracebacks
and profiles show it; ``linecache.getlines(f.__code__.co_filename)`` prints it.

A *loader* returns the model, or raises at the first problem (anything, usually the bare
:class:`_Fail`); :meth:`Codec.load <bexvendre_mapping._wire.Codec.load>` then runs the
detailed cattrs route on the same input, which reports every problem with its path. A
loader must therefore accept exactly the documents the detailed route accepts and build
equal models. Refusing a valid document would only cost time; accepting a bad one would be
a bug, so every inline check below spells out the check of the hook it replaces.

A *dumper* returns exactly what the cattrs-based reference
:func:`~bexvendre_mapping._wire.unstructure_hook` returns: the same keys in the same order,
``None`` values left out when the class has optional fields, and the same errors, raised
in the same field order.

For a class the generator does not handle (a field type it does not know, a ``Factory``
default, a field outside ``__init__``) the cattrs function is used instead, so the results
stay identical by construction. ``tests/test_fastpath.py`` compares the routes on generated
valid and broken documents and models of every class.
"""

from __future__ import annotations

import functools
import inspect
import linecache
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime, tzinfo
from decimal import Decimal
from enum import Enum
from typing import Any

import attrs

from bexvendre_mapping._checks import INLINE_NAMES, failure_condition
from bexvendre_mapping._dates import format_date, format_datetime, parse_date, parse_datetime
from bexvendre_mapping._dates import time_zone as get_zone
from bexvendre_mapping._dates import zone_name as _zone_name
from bexvendre_mapping._modelcode import ModelCode
from bexvendre_mapping._slots import twin
from bexvendre_mapping._text import find_surrogate
from bexvendre_mapping._wire import (
    Hook,
    _decimal_out,
    _fields,
    _int,
    _json_decimal,
    _out_hook,
    _Setting,
    _type_hook,
    _wire_of,
    plain_value,
    structure_hook,
    unstructure_hook,
    wire_aliases,
)
from bexvendre_mapping.money import parse_decimal

__all__ = ["fast_builder", "fast_dumper", "fast_loader"]


class _Fail(Exception):
    """The fast route gives up; the detailed route will say why."""


class _Unsupported(Exception):
    """The generator does not handle this class: its cattrs function is used instead."""


_MISSING = object()
_OBJECT_NEW: Any = object.__new__
_OBJECT_SETATTR: Any = object.__setattr__
_OBJECT_DELATTR: Any = object.__delattr__
_NONE_TYPE = type(None)
_COMBINE = datetime.combine
# The hours 00-23 only: newer Pythons read the hour 24 as the next day's midnight.
_WALL_CLOCK = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2} (?:[01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}"
).fullmatch


def _shop_datetime(value: Any, zone: tzinfo) -> datetime:
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
    "_Fail": _Fail,
    "_MISSING": _MISSING,
    "_Mapping": Mapping,
    "_Decimal": Decimal,
    "_int": _int,
    "_parse_decimal": parse_decimal,
    "_shop_datetime": _shop_datetime,
    "_new": _OBJECT_NEW,
    "_parse_date": parse_date,
    "_parse_code": ModelCode.parse,
    "_format_datetime": format_datetime,
    "_format_date": format_date,
    "_find_surrogate": find_surrogate,
    **INLINE_NAMES,
}


class _Source:
    """The lines of one generated function and the objects its body refers to by name."""

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

    def build(self, name: str, label: str) -> Hook:
        source = "\n".join(self.lines) + "\n"
        # Escaped: a label holds the zone's name as given, and compile() refuses a NUL in it.
        filename = f"<bexvendre_mapping {label.encode('unicode_escape').decode('ascii')}>"
        namespace = dict(self.names)
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - source written above
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        function: Hook = namespace[name]
        return function


def _plain_fields(cls: type) -> tuple[attrs.Attribute[Any], ...]:
    fields = _fields(cls)
    for field in fields:
        if (
            not field.init
            or isinstance(field.default, attrs.Factory)  # type: ignore[arg-type]
            or not field.name.isidentifier()
            or not (field.alias or "").isidentifier()
        ):
            raise _Unsupported
    return fields


# --- loaders --------------------------------------------------------------------------------


def _alias_guard(src: _Source, cls: type) -> None:
    aliases = wire_aliases(cls)
    if aliases:  # another spelling of a key: the cattrs route renames it
        guard = src.ref(frozenset(aliases), "aliases")
        src.add(1, f"if not {guard}.isdisjoint(o):", "    raise _Fail")


@functools.cache
def fast_loader(cls: type, zone_name: str, strict: bool, *, clean_text: bool = False) -> Hook:
    """The generated one-argument function that loads a mapping into ``cls``, or raises.

    With ``clean_text``, for a document known to hold no lone surrogate (see
    ``_wire._parse``), the loader leaves out that test of each text field.
    """
    setting = _Setting(zone_name, strict, detailed=False)
    try:
        return _write_loader(cls, setting, clean_text)
    except _Unsupported:
        return structure_hook(cls, setting)


@functools.cache
def typed_loader(cls: type, zone_name: str, strict: bool) -> Hook | None:
    """A function loading JSON bytes or str into ``cls`` through msgspec's typed decoder.

    msgspec decodes the document into *mirror* ``Struct`` classes (one per model class:
    the wire keys, ``str`` for text fields, the mirrors of nested models, ``Any`` for the
    rest) and so does in C what the loaders do first (the keys, whether each is there, the
    mapping, list and text types, unknown keys with ``strict``); the generated function
    then reads the mirror's attributes and does the rest as the loader does (numbers,
    amounts, date-times, model codes, checks). Like a loader, it returns the model or
    raises: :meth:`Codec.load <bexvendre_mapping._wire.Codec.load>` then goes the usual
    way, which gives the result or the error. ``None`` when msgspec is not installed or a
    class of the model is one the mirrors do not handle (another spelling of a key, a union
    of several types).
    """
    try:
        import msgspec.json  # noqa: PLC0415 - the optional engine, imported when first used
    except ImportError:
        return None
    try:
        load, mirror = _struct_loader(cls, zone_name, strict)
    except _Unsupported:
        return None
    decode: Callable[[bytes | str], Any] = msgspec.json.Decoder(
        mirror, float_hook=_json_decimal
    ).decode

    def typed(data: bytes | str) -> Any:
        return load(decode(data))

    return typed


@functools.cache
def _struct_loader(cls: type, zone_name: str, strict: bool) -> tuple[Hook, type]:
    """The generated function loading a ``cls`` from its mirror, and the mirror class."""
    import msgspec  # noqa: PLC0415 - only with the msgspec engine

    mirror: list[tuple[str, Any, Any]] = []
    load = _write_loader(cls, _Setting(zone_name, strict, detailed=False), True, mirror)
    made = msgspec.defstruct(
        f"{cls.__name__}Wire",
        mirror,
        kw_only=True,
        forbid_unknown_fields=strict,
        module=__name__,
    )
    return load, made


def _mirror_type(tp: Any, zone_name: str, strict: bool) -> Any:
    """The type of a field of a mirror: what msgspec checks of the value before the loader."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if len(args) != 2 or _NONE_TYPE not in args:
            raise _Unsupported
        inner = _mirror_type(next(a for a in args if a is not _NONE_TYPE), zone_name, strict)
        return Any if inner is Any else inner | None
    if tp is str:
        return str
    if _is_model(tp):
        return _struct_loader(tp, zone_name, strict)[1]
    if origin is tuple and _is_model(args[0]):
        return list[_struct_loader(args[0], zone_name, strict)[1]]  # type: ignore[misc]
    return Any


def _mirror_name(index: int) -> str:
    """The name ``f<index>`` of a mirror's field, interned as the generated code's names are.

    msgspec matches a keyword argument to its field by identity first: with a name made at
    run time and not interned, it compares text, and a mirror takes longer to build than a
    dict (0.74 µs a Bex row, against 0.57 µs interned and 0.68 µs for the dict).
    """
    return sys.intern(f"f{index}")


def _is_model(tp: Any) -> bool:
    """A model class whose loader the mirrors replace (a ModelCode is read from its text)."""
    return isinstance(tp, type) and attrs.has(tp) and tp is not ModelCode


def _write_loader(
    cls: type,
    setting: _Setting,
    clean_text: bool,
    mirror: list[tuple[str, Any, Any]] | None = None,
) -> Hook:
    """The loader of ``cls``: of a mapping, or, given ``mirror``, of the class's mirror.

    With ``mirror``, each field of the mirror is appended to it as ``defstruct`` takes it,
    and the function reads attributes instead of keys.
    """
    fields = _plain_fields(cls)
    src = _Source()
    name = f"load_{cls.__name__}"
    src.add(0, f"def {name}(o):")
    if mirror is not None:
        if wire_aliases(cls):
            raise _Unsupported  # a key spelled two ways: the mapping's loader handles it
        _write_mirror_loader(src, cls, fields, setting, mirror)
        return src.build(
            name,
            f"struct loader {cls.__module__}.{cls.__qualname__} "
            f"{setting.zone_name} strict={setting.strict}",
        )
    src.add(1, "if type(o) is not dict and not isinstance(o, _Mapping):", "    raise _Fail")
    _alias_guard(src, cls)
    if setting.strict:
        # Counting the known keys found is cheaper than a set difference of all the keys.
        required = sum(1 for f in fields if f.default is attrs.NOTHING)
        src.add(1, f"n = {required}")
    for index, field in enumerate(fields):
        spec = _wire_of(field)
        key = spec.key or field.name
        var = f"v{index}"
        src.add(1, f"# {field.name}: {field.type!r}")
        if field.default is attrs.NOTHING:
            src.add(1, f"{var} = o[{key!r}]")  # a KeyError when absent, like cattrs
            indent = 1
        else:
            default = src.ref(field.default, "default")
            src.add(1, f"{var} = o.get({key!r}, _MISSING)")
            src.add(1, f"if {var} is _MISSING:", f"    {var} = {default}", "else:")
            indent = 2
            if setting.strict:
                src.add(2, "n += 1")
            if field.default == ():
                # An optional list given as null is the empty list (unchecked).
                src.add(2, f"if {var} is None:", f"    {var} = ()", "else:")
                indent = 3
        _load_value(
            src, field.type, spec.places, var, indent=indent, setting=setting, clean=clean_text
        )
        if spec.check is not None:
            _load_check(src, spec.check, var, indent)
    if setting.strict:
        known = src.ref(frozenset(_wire_of(f).key or f.name for f in fields), "known")
        src.add(
            1,
            "if type(o) is dict:",
            "    if len(o) != n:",
            "        raise _Fail",
            f"elif not {known}.issuperset(o.keys()):",
            "    raise _Fail",
        )
    _build_model(src, cls, fields)
    label = f"fast loader {cls.__module__}.{cls.__qualname__} {setting.zone_name}"
    return src.build(name, f"{label} strict={setting.strict} clean_text={clean_text}")


def _write_mirror_loader(
    src: _Source,
    cls: type,
    fields: tuple[attrs.Attribute[Any], ...],
    setting: _Setting,
    mirror: list[tuple[str, Any, Any]],
) -> None:
    """The body of a loader of ``cls``'s mirror (see :func:`typed_loader`), and the mirror.

    The mirror's field ``f<index>`` is read from the field's wire key; an optional field
    defaults to ``UNSET``, which the body turns into the model's default. msgspec has
    checked what the mirror's types say (see :func:`_mirror_type`); the body does the rest,
    in the lines the mapping's loader writes, a document msgspec parsed holding no lone
    surrogate.
    """
    import msgspec  # noqa: PLC0415 - only with the msgspec engine

    src.names["_UNSET"] = msgspec.UNSET
    for index, field in enumerate(fields):
        spec = _wire_of(field)
        var = f"v{index}"
        tp = _mirror_type(field.type, setting.zone_name, setting.strict)
        if field.default == () and tp is not Any:
            tp = tp | None  # an optional list may be null: the empty list
        src.add(1, f"# {field.name}: {field.type!r}", f"{var} = o.f{index}")
        if field.default is attrs.NOTHING:
            mirror.append((_mirror_name(index), tp, msgspec.field(name=spec.key or field.name)))
            indent = 1
        else:
            unset = msgspec.field(default=msgspec.UNSET, name=spec.key or field.name)
            mirror.append((_mirror_name(index), tp, unset))
            default = src.ref(field.default, "default")
            src.add(1, f"if {var} is _UNSET:", f"    {var} = {default}", "else:")
            indent = 2
            if field.default == ():
                src.add(2, f"if {var} is None:", f"    {var} = ()", "else:")
                indent = 3
        _load_value(
            src,
            field.type,
            spec.places,
            var,
            indent=indent,
            setting=setting,
            clean=True,
            mirrored=tp is not Any,
        )
        if spec.check is not None:
            _load_check(src, spec.check, var, indent)
        while src.lines[-1].endswith("else:"):  # nothing left to do: a text, say
            src.lines.pop()
    _build_model(src, cls, fields)


def _build_model(src: _Source, cls: type, fields: tuple[attrs.Attribute[Any], ...]) -> None:
    """A loader's last lines: the model ``r`` of the values ``v<index>``, checked, returned."""
    values = [f"v{index}" for index in range(len(fields))]
    stores = _store_lines(src, cls, fields, values)
    if stores is None:
        arguments = ", ".join(f"{f.alias}={v}" for f, v in zip(fields, values, strict=True))
        src.add(1, f"r = {src.ref(cls, 'cls')}({arguments})")
    else:  # attrs' __init__ would only store each value: store them into the slots
        src.add(1, *stores)
    check = getattr(cls, "_wire_check", None)
    if check is not None:
        src.add(1, f"if {src.ref(check, 'wire_check')}(r):", "    raise _Fail")
    src.add(1, "return r")


def _load_check(src: _Source, check: Hook, var: str, indent: int) -> None:
    """Lines running a field's check on ``var`` (checks are of values: null stays null)."""
    fails = failure_condition(check)
    if fails is not None:  # written inline: the check returns the value as it is
        src.add(indent, f"if {var} is not None and {fails.format(var)}:", "    raise _Fail")
    else:
        src.add(indent, f"if {var} is not None:", f"    {var} = {src.ref(check, 'check')}({var})")


@functools.cache
def fast_builder(cls: type) -> Hook:
    """A function building a ``cls`` from its fields' values given in field order.

    It does what ``cls(**dict(zip(names, values)))`` does: through the slots when attrs'
    ``__init__`` would only store the values (see :func:`_store_lines`), else by calling
    the class. For the converters' hot loops, which build many models.
    """
    fields = _fields(cls)
    if not all(f.init for f in fields):
        msg = f"{cls.__qualname__} has fields outside __init__: no builder for it"
        raise TypeError(msg)
    src = _Source()
    names = [f"a{index}" for index in range(len(fields))]
    src.add(0, f"def build_{cls.__name__}({', '.join(names)}):")
    stores = _store_lines(src, cls, fields, names)
    if stores is None:
        arguments = ", ".join(f"{f.alias}={name}" for f, name in zip(fields, names, strict=True))
        src.add(1, f"return {src.ref(cls, 'cls')}({arguments})")
    else:
        src.add(1, *stores, "return r")
    return src.build(f"build_{cls.__name__}", f"builder {cls.__module__}.{cls.__qualname__}")


def _store_lines(
    src: _Source, cls: type, fields: tuple[attrs.Attribute[Any], ...], values: list[str]
) -> list[str] | None:
    """Lines building ``r``, a ``cls`` holding ``values``, when ``__init__`` would only store them.

    That is, when attrs wrote an ``__init__`` that only stores each argument (see
    :func:`_slots_of`); else ``None``, and the class itself is called. The lines store the
    values straight into the slots. A frozen class refuses ``r.name = value``, so ``r``
    starts as an instance of the class's twin, which takes plain stores, and then becomes a
    ``cls`` (see :mod:`bexvendre_mapping._slots`); where Python refuses a twin, through the
    slots' ``__set__``. Either way the model is the one ``__init__`` would build.
    """
    slots = _slots_of(cls, fields)
    if slots is None:
        return None
    new_cls = f"r = _new({src.ref(cls, 'cls')})"
    stores = [f"r.{f.name} = {v}" for f, v in zip(fields, values, strict=True)]
    if cls.__setattr__ is _OBJECT_SETATTR and cls.__delattr__ is _OBJECT_DELATTR:
        return [new_cls, *stores]
    made = twin(cls)
    if made is None:
        sets = zip(slots, values, strict=True)
        return [new_cls, *(f"{src.ref(slot.__set__, 'set')}(r, {v})" for slot, v in sets)]
    return [f"r = _new({src.ref(made, 'twin')})", *stores, f"r.__class__ = {src.ref(cls, 'cls')}"]


def _slots_of(cls: type, fields: tuple[attrs.Attribute[Any], ...]) -> list[Any] | None:
    """The fields' slots, when attrs' ``__init__`` of ``cls`` does nothing but fill them.

    No validator, converter, default factory or init hook: attrs wrote an ``__init__`` that
    only stores each argument, and every field is a slot. Filling the slots directly saves
    the keyword call and attrs' bound ``object.__setattr__``, and the model is the same.
    """
    if (
        cls.__new__ is not _OBJECT_NEW
        or hasattr(cls, "__attrs_pre_init__")
        or hasattr(cls, "__attrs_post_init__")
    ):
        return None
    try:
        source = inspect.getsource(vars(cls)["__init__"])
    except (KeyError, OSError, TypeError):
        return None
    body = [line.strip() for line in source.splitlines()[1:] if line.strip()]
    frozen = [
        "_setattr = _cached_setattr_get(self)",
        *(f"_setattr({f.name!r}, {f.alias})" for f in fields),
    ]
    plain = [f"self.{f.name} = {f.alias}" for f in fields]
    if body not in (frozen, plain):
        return None
    slots = [inspect.getattr_static(cls, field.name, None) for field in fields]
    if any(type(slot) is not types.MemberDescriptorType for slot in slots):
        return None
    return slots


def _load_value(  # noqa: PLR0912 - one branch per wire type, in _type_hook's order
    src: _Source,
    tp: Any,
    places: int | None,
    var: str,
    *,
    indent: int,
    setting: _Setting,
    clean: bool,
    mirrored: bool = False,
) -> None:
    """Lines that turn the raw value in ``var`` into the field's value, as _type_hook does.

    ``clean``: the document holds no lone surrogate, so texts need no test for one.
    ``mirrored``: ``var`` comes from a mirror field of :func:`_mirror_type` ``tp`` (not
    ``Any``), so msgspec has checked the text, list and nested mirrors of that type.
    """
    if mirrored and _load_mirrored(src, tp, var, indent=indent, setting=setting):
        return
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not _NONE_TYPE]
        src.add(indent, f"if {var} is not None:")
        _load_value(
            src,
            inner[0],
            places,
            var,
            indent=indent + 1,
            setting=setting,
            clean=clean,
            mirrored=mirrored,
        )
    elif tp is str and clean:
        src.add(indent, f"if type({var}) is not str:", "    raise _Fail")
    elif tp is str:
        # _str's test: a lone surrogate is refused. isascii() takes constant time and
        # isprintable() is false for a surrogate: the search runs on little text, if any.
        src.add(
            indent,
            f"if type({var}) is not str or not ({var}.isascii() or {var}.isprintable()"
            f" or _find_surrogate({var}) is None):",
            "    raise _Fail",
        )
    elif tp is bool:
        src.add(indent, f"if type({var}) is not bool:", "    raise _Fail")
    elif tp is int:
        # _int takes the rare strings of digits; a plain int needs no call.
        src.add(indent, f"if type({var}) is not int:", f"    {var} = _int({var})")
    elif tp is Decimal:
        _load_decimal(src, places, var, indent)
    elif tp is datetime:
        src.add(indent, f"{var} = _shop_datetime({var}, {src.ref(setting.zone, 'zone')})")
    elif tp is date:
        src.add(indent, f"{var} = _parse_date({var})")
    elif tp is ModelCode:
        src.add(indent, f"if type({var}) is not str:", "    raise _Fail")
        src.add(indent, f"{var} = _parse_code({var})")
    elif isinstance(tp, type) and issubclass(tp, Enum):
        members = src.ref({m.value: m for m in tp}, "members")
        src.add(indent, f"{var} = {members}.get({var}, _MISSING)")
        src.add(indent, f"if {var} is _MISSING:", "    raise _Fail")
    elif isinstance(tp, type) and attrs.has(tp):
        loader = fast_loader(tp, setting.zone_name, setting.strict, clean_text=clean)
        nested = src.ref(loader, "load")
        src.add(indent, f"{var} = {nested}({var})")
    elif origin is tuple:
        item_type = args[0]
        if isinstance(item_type, type) and attrs.has(item_type) and item_type is not ModelCode:
            item = fast_loader(item_type, setting.zone_name, setting.strict, clean_text=clean)
        else:
            item = _type_hook(item_type, places, setting)
        src.add(
            indent,
            f"if type({var}) is not list and not isinstance({var}, (list, tuple)):",
            "    raise _Fail",
            f"{var} = tuple([{src.ref(item, 'item')}(x) for x in {var}])",
        )
    elif origin in (dict, Mapping) or tp is Mapping:
        src.add(indent, f"{var} = {src.ref(_type_hook(tp, places, setting), 'hook')}({var})")
    else:
        raise _Unsupported


def _load_mirrored(src: _Source, tp: Any, var: str, *, indent: int, setting: _Setting) -> bool:
    """The lines of a value msgspec has checked against its mirror type; False for others."""
    if tp is str or tp == str | None:
        return True  # a text (or null): nothing more to do
    if _is_model(tp):
        nested = _struct_loader(tp, setting.zone_name, setting.strict)[0]
        src.add(indent, f"{var} = {src.ref(nested, 'load')}({var})")
        return True
    args = typing.get_args(tp)
    if typing.get_origin(tp) is tuple and _is_model(args[0]):
        item = _struct_loader(args[0], setting.zone_name, setting.strict)[0]
        src.add(indent, f"{var} = tuple([{src.ref(item, 'item')}(x) for x in {var}])")
        return True
    return False


def _load_decimal(src: _Source, places: int | None, var: str, indent: int) -> None:
    if places is None:
        src.add(indent, f"{var} = _parse_decimal({var}, None)")
        return
    # The wire's usual form at once: a string of at most 15 digits and exactly `places`
    # decimals ("799.2000") is a finite Decimal below MAX_AMOUNT whose exponent is already
    # -places: parse_decimal's checks pass and its quantize (in money.CONTEXT, whatever the
    # thread's) gives it back unchanged. Anything else goes through parse_decimal itself.
    dot = rf"\.[0-9]{{{places}}}" if places else ""
    usual = src.ref(re.compile(rf"-?[0-9]{{1,15}}{dot}").fullmatch, "usual")
    src.add(
        indent,
        f"if type({var}) is str and {usual}({var}) is not None:",
        f"    {var} = _Decimal({var})",
        "else:",
        f"    {var} = _parse_decimal({var}, {places})",
    )


# --- dumpers --------------------------------------------------------------------------------


@functools.cache
def fast_dumper(cls: type, zone_name: str) -> Hook:
    """The generated one-argument function that dumps a ``cls`` model into a wire mapping."""
    try:
        return _write_dumper(cls, zone_name)
    except _Unsupported:
        return unstructure_hook(cls, zone_name)


@functools.cache
def typed_dumper(cls: type, zone_name: str) -> Hook | None:
    """A function writing a ``cls`` model as JSON bytes through msgspec's encoder.

    The generated function does what the dumper does, but builds the class's output
    *mirror*, a ``Struct`` with the wire keys that leaves out what the dumper leaves out
    (``omit_defaults``), which msgspec builds and encodes faster than a dict: the same bytes
    as ``dumps_json`` of the dumper's mapping. Like a dumper, it raises on a model it cannot
    write, and :meth:`Codec.dumps <bexvendre_mapping._wire.Codec.dumps>` then goes the usual
    way, which gives the error with every path. ``None`` when msgspec is not installed or
    the class is one the generator does not handle.
    """
    try:
        import msgspec.json  # noqa: PLC0415 - the optional engine, imported when first used
    except ImportError:
        return None
    try:
        dump = _struct_dumper(cls, zone_name)
    except _Unsupported:
        return None
    encode = msgspec.json.Encoder().encode

    def typed(model: Any) -> bytes:
        return encode(dump(model))

    return typed


@functools.cache
def _struct_dumper(cls: type, zone_name: str) -> Hook:
    return _write_dumper(cls, zone_name, struct=True)


def _write_dumper(cls: type, zone_name: str, *, struct: bool = False) -> Hook:
    """The dumper of ``cls``: to a mapping, or with ``struct`` to its output mirror."""
    zone = get_zone(zone_name)  # first, as the reference does: an unknown zone fails here
    fields = _plain_fields(cls)
    # As in the reference: a class with optional fields leaves out every None value.
    omittable = any(f.default in (None, ()) for f in fields)
    src = _Source()
    name = f"dump_{cls.__name__}"
    src.add(0, f"def {name}(m):")
    entries: list[tuple[str, str, bool]] = []  # key, local holding the value, may be None
    for index, field in enumerate(fields):
        spec = _wire_of(field)
        key = spec.key or field.name
        var, out = f"v{index}", f"x{index}"
        # Attributes are read and converted in field order, so that a broken model fails
        # on the same field as with the reference.
        src.add(1, f"{var} = m.{field.name}")
        lines, expr, maybe_none = _dump_value(
            src, field.type, spec.places, key, zone=zone, var=var, out=out, struct=struct
        )
        if field.default == ():
            # An empty list with an empty default is left out, like a null.
            if expr == var:
                expr = f"list({var})"  # the reference's `hook or list`
            lines, expr, maybe_none = _guarded(f"not {var}", lines, expr, out), out, True
        src.add(1, *lines)
        if expr not in (var, out):
            src.add(1, f"{out} = {expr}")
        entries.append((key, var if expr == var else out, maybe_none and omittable))
    if struct:
        _mirror_return(src, cls, entries)
        return src.build(name, f"struct dumper {cls.__module__}.{cls.__qualname__} {zone_name}")
    # Where keys may be left out: one dict display when all of them are there, one when
    # none is (a sized and an unsized row, say), a display per case being quicker than
    # adding keys one by one.
    drops = [value for _, value, drop in entries if drop]
    if drops:
        every = ", ".join(f"{key!r}: {value}" for key, value, _ in entries)
        kept = ", ".join(f"{key!r}: {value}" for key, value, drop in entries if not drop)
        src.add(1, f"if {' and '.join(f'{v} is not None' for v in drops)}:")
        src.add(2, f"return {{{every}}}")
        if len(drops) == 1:
            src.add(1, f"return {{{kept}}}")
            return src.build(name, f"fast dumper {cls.__module__}.{cls.__qualname__} {zone_name}")
        src.add(1, f"if {' and '.join(f'{v} is None' for v in drops)}:", f"    return {{{kept}}}")
    # Else one dict display for the keys always present up to the first that may be left
    # out, then one statement per key, keeping the field order.
    first = next((i for i, (_, _, drop) in enumerate(entries) if drop), len(entries))
    display = ", ".join(f"{key!r}: {value}" for key, value, _ in entries[:first])
    src.add(1, f"d = {{{display}}}")
    for key, value, drop in entries[first:]:
        if drop:
            src.add(1, f"if {value} is not None:", f"    d[{key!r}] = {value}")
        else:
            src.add(1, f"d[{key!r}] = {value}")
    src.add(1, "return d")
    return src.build(name, f"fast dumper {cls.__module__}.{cls.__qualname__} {zone_name}")


def _mirror_return(src: _Source, cls: type, entries: list[tuple[str, str, bool]]) -> None:
    """The output mirror of ``cls`` and the line returning it, built of ``entries``' values.

    Its field ``f<index>`` is written under the entry's key; one that the dumper leaves out
    when ``None`` defaults to ``None``, and ``omit_defaults`` leaves it out alike.
    """
    import msgspec  # noqa: PLC0415 - only with the msgspec engine

    fields = [
        (
            _mirror_name(index),
            Any,
            msgspec.field(default=None, name=key) if drop else msgspec.field(name=key),
        )
        for index, (key, _, drop) in enumerate(entries)
    ]
    made = msgspec.defstruct(
        f"{cls.__name__}Out", fields, kw_only=True, omit_defaults=True, module=__name__
    )
    values = ", ".join(f"f{index}={value}" for index, (_, value, _) in enumerate(entries))
    src.add(1, f"return {src.ref(made, 'out')}({values})")


def _guarded(empty: str, lines: list[str], expr: str, out: str) -> list[str]:
    """Lines setting ``out`` to None when the condition ``empty`` holds, else to ``expr``."""
    store = [] if expr == out else [f"    {out} = {expr}"]
    return [
        f"if {empty}:",
        f"    {out} = None",
        "else:",
        *(f"    {line}" for line in lines),
        *store,
    ]


def _dump_value(  # noqa: PLR0911, PLR0912 - one branch per wire type, in _out_hook's order
    src: _Source,
    tp: Any,
    places: int | None,
    key: str,
    *,
    zone: Any,
    var: str,
    out: str,
    struct: bool = False,
) -> tuple[list[str], str, bool]:
    """How _out_hook's hook dumps ``var``.

    Returns the lines to run, then the expression of the dumped value (``var`` itself when
    there is no hook) and whether it may be ``None``. With ``struct``, nested models are
    dumped to their output mirrors (see :func:`typed_dumper`).
    """
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not _NONE_TYPE]
        lines, expr, _ = _dump_value(
            src, inner[0], places, key, zone=zone, var=var, out=out, struct=struct
        )
        if len(args) != 2:
            raise _Unsupported
        if expr == var:  # a plain value, checked in place
            return [f"if {var} is not None:", *(f"    {line}" for line in lines)], var, True
        if not lines:
            return [], f"None if {var} is None else {expr}", True
        return _guarded(f"{var} is None", lines, expr, out), out, True
    if tp in (str, int, bool):
        plain = src.ref(plain_value, "plain")
        kind = tp.__name__
        check = [f"if type({var}) is not {kind}:", f"    {var} = {plain}({var}, {kind}, {key!r})"]
        return check, var, False
    if tp is Decimal:
        return _dump_decimal(src, places, key, var, out)
    if tp is datetime:
        return [], f"_format_datetime({var}, {src.ref(zone, 'zone')})", False
    if tp is date:
        return [], f"_format_date({var})", False
    if tp is ModelCode:
        return [], f"str({var})", False
    if isinstance(tp, type) and issubclass(tp, Enum):
        return [], f"{var}.value", True
    if isinstance(tp, type) and attrs.has(tp):
        # The reference's nested zone name.
        nested = (_struct_dumper if struct else fast_dumper)(tp, _zone_name(zone))
        return [], f"{src.ref(nested, 'dump')}({var})", False
    if origin is tuple:
        lines, expr, _ = _dump_value(
            src, args[0], places, key, zone=zone, var="x", out="y", struct=struct
        )
        if expr == "x" and not lines:
            return [], f"list({var})", False
        if lines:  # an item that needs statements: the reference's own hook for it
            hook = _out_hook(args[0], places, key, zone)
            expr = f"{src.ref(hook, 'out')}(x)"
        return [], f"[{expr} for x in {var}]", False
    if origin in (dict, Mapping) or tp is Mapping:
        return [], f"dict({var})", False
    raise _Unsupported


def _dump_decimal(
    src: _Source, places: int | None, key: str, var: str, out: str
) -> tuple[list[str], str, bool]:
    reference = src.ref(_decimal_out(places, key), "decimal_out")
    if places is None or places <= 0:
        return [], f"{reference}({var})", False
    # The usual case: a Decimal whose str() is plain notation with exactly `places` decimals
    # (so its exponent is -places) and at most 28 characters (so at most 27 digits) is what
    # _decimal_out's quantize in the wire context (28 digits) returns, unchanged. Negative
    # zero, and everything else, goes to _decimal_out itself.
    # (Scientific notation puts at least four characters after its '.', as in "1.2E+5": with
    # at most 3 places, a '.' that many characters from the end is plain notation, and the
    # digits test is needed from 4 places up only.)
    digits = f" and {out}[-{places}:].isdigit()" if places >= 4 else ""
    lines = [
        f"{out} = str({var}) if type({var}) is _Decimal else ''",
        f"if not ({places} < len({out}) <= 28 and {out}[-{places + 1}] == '.'"
        f"{digits} and ({var} or {out}[0] != '-')):",
        f"    {out} = {reference}({var})",
    ]
    return lines, out, False
