"""The generator: fail-fast loaders, dumpers and keyword builders written from the field plan.

cattrs' generated functions call one hook per field, and small hooks calling further
functions are most of the cost of a load or a dump of valid data. This module writes, once
per model class and setting, the Python source of one function per class that does the
class's work inline, each field's lines coming from its kind
(:class:`bexvendre_mapping._plan.Kind`), and compiles it through
:class:`bexvendre_mapping._plan.Source`.

A *loader* returns the model or declines: it raises :class:`~bexvendre_mapping._plan.Fail`
or a :class:`~bexvendre_mapping.MappingError` from a function it calls, nothing else
(:data:`DECLINED`). :class:`~bexvendre_mapping._codec.Codec` then runs the detailed route on
the same input, which reports every problem with its path. A loader must therefore accept
exactly the documents the detailed route accepts and build equal models;
``tests/test_fastpath.py`` compares the routes on generated valid and broken documents.

A *dumper* returns exactly what the reference
(:func:`bexvendre_mapping._wire.unstructure_hook`) returns: the same keys in the same
order, ``None`` values left out when the class has optional fields, and the same errors,
raised in the same field order.

A *builder* takes a model's fields by keyword (the defaults of the model's optional fields
are the builder's) and builds the model: through its slots when attrs' ``__init__`` would
only store them (see :mod:`bexvendre_mapping._slots`), else by calling the class.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from bexvendre_mapping._dates import time_zone as get_zone
from bexvendre_mapping._dates import zone_name as _zone_name
from bexvendre_mapping._errors import MappingError
from bexvendre_mapping._plan import (
    Context,
    DumpContext,
    Fail,
    Hook,
    ModelPlan,
    Setting,
    Source,
    guarded,
    plan_of,
)
from bexvendre_mapping._slots import twin

__all__ = [
    "DECLINED",
    "fast_builder",
    "fast_dumper",
    "fast_loader",
    "write_dumper",
    "write_fields",
]

#: What a generated loader raises when it declines a document: nothing else.
DECLINED: tuple[type[Exception], ...] = (Fail, MappingError)

_OBJECT_SETATTR: Any = object.__setattr__
_OBJECT_DELATTR: Any = object.__delattr__


# --- loaders --------------------------------------------------------------------------------


@functools.cache
def fast_loader(cls: type, zone_name: str, strict: bool, *, clean_text: bool = False) -> Hook:
    """The generated one-argument function that loads a mapping into ``cls``, or declines.

    With ``clean_text``, for a document known to hold no lone surrogate (see
    ``_wire._parse``), the loader leaves out that test of each text field.
    """
    plan = plan_of(cls)
    setting = Setting(zone_name, strict, detailed=False)

    def nested(inner: type) -> Hook:
        return fast_loader(inner, zone_name, strict, clean_text=clean_text)

    ctx = Context(setting, nested, clean=clean_text)
    src = Source()
    name = f"load_{cls.__name__}"
    src.add(0, f"def {name}(o):")
    src.add(1, "if type(o) is not dict and not isinstance(o, _Mapping):", "    raise _Fail")
    if plan.aliases:  # another spelling of a key: the detailed route renames it
        guard = src.ref(frozenset(plan.aliases), "aliases")
        src.add(1, f"if not {guard}.isdisjoint(o):", "    raise _Fail")
    if strict:
        # Counting the known keys found is cheaper than a set difference of all the keys.
        src.add(1, f"n = {sum(1 for f in plan.fields if f.required)}")
    # A required key absent is a KeyError of `o[key]`, turned into a decline here and only
    # here: the loader's other lines raise Fail or MappingError themselves.
    src.add(1, "try:")
    body = len(src.lines)
    for index, field in enumerate(plan.fields):
        var = f"v{index}"
        src.add(2, f"# {field.name}: {field.kind.describe()}")
        if field.required:
            src.add(2, f"{var} = o[{field.key!r}]")
            indent = 2
        else:
            default = src.ref(field.default, "default")
            src.add(2, f"{var} = o.get({field.key!r}, _MISSING)")
            src.add(2, f"if {var} is _MISSING:", f"    {var} = {default}", "else:")
            indent = 3
            if strict:
                src.add(3, "n += 1")
            if field.empty_list:
                # An optional list given as null is the empty list (unchecked).
                src.add(3, f"if {var} is None:", f"    {var} = ()", "else:")
                indent = 4
        field.kind.emit_load(src, var, indent, ctx)
        if field.check is not None:
            src.check(field.check, var, indent)
        _drop_empty_else(src)
    if len(src.lines) == body:
        src.add(2, "pass")
    src.add(1, "except KeyError:", "    raise _Fail from None")
    if strict:
        known = src.ref(frozenset(f.key for f in plan.fields), "known")
        src.add(
            1,
            "if type(o) is dict:",
            "    if len(o) != n:",
            "        raise _Fail",
            f"elif not {known}.issuperset(o.keys()):",
            "    raise _Fail",
        )
    build_model(src, plan, [f"v{index}" for index in range(len(plan.fields))])
    label = f"fast loader {cls.__module__}.{cls.__qualname__} {zone_name}"
    return src.build(name, f"{label} strict={strict} clean_text={clean_text}")


def write_fields(src: Source, plan: ModelPlan, ctx: Context, read: Callable[[int], str]) -> None:
    """A mirror loader's field lines: ``v<index>`` from ``read(index)``, loaded and checked.

    The msgspec route (:mod:`bexvendre_mapping._msgspec`) reads the mirror's attributes,
    ``UNSET`` standing for an absent optional field; msgspec has checked what each field's
    :meth:`~bexvendre_mapping._plan.Kind.mirror_type` says.
    """
    for index, field in enumerate(plan.fields):
        var = f"v{index}"
        mirrored = field.kind.mirror_type(ctx) is not Any
        src.add(1, f"# {field.name}: {field.kind.describe()}", f"{var} = {read(index)}")
        indent = 1
        if not field.required:
            default = src.ref(field.default, "default")
            src.add(1, f"if {var} is _UNSET:", f"    {var} = {default}", "else:")
            indent = 2
            if field.empty_list:
                src.add(2, f"if {var} is None:", f"    {var} = ()", "else:")
                indent = 3
        field.kind.emit_load(src, var, indent, ctx, mirrored=mirrored)
        if field.check is not None:
            src.check(field.check, var, indent)
        _drop_empty_else(src)


def _drop_empty_else(src: Source) -> None:
    """Drop trailing ``else:`` lines left with nothing to do (a text msgspec checked)."""
    while src.lines[-1].endswith("else:"):
        src.lines.pop()


def build_model(src: Source, plan: ModelPlan, values: list[str]) -> None:
    """A loader's last lines: the model ``r`` of ``values``, checked, returned."""
    stores = _store_lines(src, plan, values)
    if stores is None:
        # The class's own __init__ (validators, converters): what it refuses, declined.
        arguments = ", ".join(f"{f.alias}={v}" for f, v in zip(plan.fields, values, strict=True))
        src.add(
            1,
            "try:",
            f"    r = {src.ref(plan.cls, 'cls')}({arguments})",
            "except (TypeError, ValueError):",  # what attrs' validators raise
            "    raise _Fail from None",
        )
    else:  # attrs' __init__ would only store each value: store them into the slots
        src.add(1, *stores)
    if plan.wire_check is not None:
        src.add(1, f"if {src.ref(plan.wire_check, 'wire_check')}(r):", "    raise _Fail")
    src.add(1, "return r")


# --- builders -------------------------------------------------------------------------------


@functools.cache
def fast_builder(cls: type) -> Hook:
    """A function building a ``cls`` from its fields' values, given by keyword.

    ``fast_builder(bex.Payment)(document_number=..., ..., amount=...)`` is
    ``bex.Payment(...)``: a field left out takes its default, and one without a default is
    required (a ``TypeError`` when missing, as with the class). It fills the slots when
    attrs' ``__init__`` would only store the values, else calls the class: for the
    converters' hot loops, which build many models.
    """
    plan = plan_of(cls)
    src = Source()
    parameters = []
    for field in plan.fields:
        if field.required:
            parameters.append(field.alias)
        else:
            parameters.append(f"{field.alias}={src.ref(field.default, 'default')}")
    name = f"build_{cls.__name__}"
    keywords = f"*, {', '.join(parameters)}" if parameters else ""  # no field: no `*`
    src.add(0, f"def {name}({keywords}):")
    values = [f.alias for f in plan.fields]
    stores = _store_lines(src, plan, values)
    if stores is None:
        arguments = ", ".join(f"{f.alias}={f.alias}" for f in plan.fields)
        src.add(1, f"return {src.ref(cls, 'cls')}({arguments})")
    else:
        src.add(1, *stores, "return r")
    return src.build(name, f"builder {cls.__module__}.{cls.__qualname__}")


def _store_lines(src: Source, plan: ModelPlan, values: list[str]) -> list[str] | None:
    """Lines building ``r``, a model holding ``values``, when ``__init__`` would only store them.

    Else ``None``, and the class itself is called. The lines store the values straight into
    the slots. A frozen class refuses ``r.name = value``, so ``r`` starts as an instance of
    the class's twin, which takes plain stores, and then becomes a ``cls`` (see
    :mod:`bexvendre_mapping._slots`); where Python refuses a twin, through the slots'
    ``__set__``. Either way the model is the one ``__init__`` would build.
    """
    if not plan.stores_only:
        return None
    cls = plan.cls
    fields = plan.fields
    new_cls = f"r = _new({src.ref(cls, 'cls')})"
    stores = [f"r.{f.name} = {v}" for f, v in zip(fields, values, strict=True)]
    if cls.__setattr__ is _OBJECT_SETATTR and cls.__delattr__ is _OBJECT_DELATTR:
        return [new_cls, *stores]
    made = twin(cls)
    if made is None:
        slots = [vars(cls)[f.name] for f in fields]
        sets = zip(slots, values, strict=True)
        return [new_cls, *(f"{src.ref(slot.__set__, 'set')}(r, {v})" for slot, v in sets)]
    return [f"r = _new({src.ref(made, 'twin')})", *stores, f"r.__class__ = {src.ref(cls, 'cls')}"]


# --- dumpers --------------------------------------------------------------------------------


@functools.cache
def fast_dumper(cls: type, zone_name: str) -> Hook:
    """The generated one-argument function that dumps a ``cls`` model into a wire mapping."""
    return write_dumper(cls, zone_name)


# An entry of a dumper: the key, the local holding the dumped value, and whether it is left
# out when None.
Entry = tuple[str, str, bool]


def write_dumper(
    cls: type,
    zone_name: str,
    *,
    nested: Callable[[type, str], Hook] | None = None,
    finish: Callable[[Source, list[Entry]], None] | None = None,
) -> Hook:
    """The dumper of ``cls``: the value lines of each field, then the mapping returned.

    ``nested`` gives the dumper of a nested class (default: :func:`fast_dumper`);
    ``finish`` writes the last lines from the entries instead of the mapping (the msgspec
    route's output mirror).
    """
    zone = get_zone(zone_name)  # first, as the reference does: an unknown zone fails here
    name_of_zone = _zone_name(zone)  # the reference's nested zone name
    plan = plan_of(cls)
    make = nested or fast_dumper
    ctx = DumpContext(zone, lambda inner: make(inner, name_of_zone))
    omittable = plan.omittable  # as the reference: optional fields leave out every None
    src = Source()
    name = f"dump_{cls.__name__}"
    src.add(0, f"def {name}(m):")
    entries: list[Entry] = []
    for index, field in enumerate(plan.fields):
        var, out = f"v{index}", f"x{index}"
        # Attributes are read and converted in field order, so that a broken model fails
        # on the same field as with the reference.
        src.add(1, f"{var} = m.{field.name}")
        lines, expr, maybe_none = field.kind.emit_dump(src, field.key, var, out, ctx)
        if field.empty_list:
            # An empty list with an empty default is left out, like a null.
            if expr == var:
                expr = f"list({var})"  # the reference's `hook or list`
            lines = guarded(f"not {var}", lines, expr, out)
            expr, maybe_none = out, True
        src.add(1, *lines)
        if expr not in (var, out):
            src.add(1, f"{out} = {expr}")
        entries.append((field.key, var if expr == var else out, maybe_none and omittable))
    if finish is not None:
        finish(src, entries)
        return src.build(name, f"struct dumper {cls.__module__}.{cls.__qualname__} {zone_name}")
    _return_mapping(src, entries)
    return src.build(name, f"fast dumper {cls.__module__}.{cls.__qualname__} {zone_name}")


def _return_mapping(src: Source, entries: list[Entry]) -> None:
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
            return
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
