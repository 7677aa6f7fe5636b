"""The msgspec engine: the one module that imports msgspec (the ``fast`` extra).

It gives :mod:`bexvendre_mapping._wire` a JSON decoder and encoder that produce the same
values and bytes as the standard library's, several times faster, and the *typed* routes:

- :func:`typed_loader`: msgspec decodes a document into *mirror* ``Struct`` classes (one
  per model class: the wire keys, the types of :meth:`Kind.mirror_type
  <bexvendre_mapping._plan.Kind.mirror_type>`) and so does in C what a loader does first
  (the keys, whether each is there, the mapping, list and text types, unknown keys with
  ``strict``); the generated function then reads the mirror's attributes and does the rest
  with the lines of the field's kind.
- :func:`typed_dumper`: a dumper that builds the class's output mirror, a ``Struct`` with
  the wire keys that leaves out what the dumper leaves out (``omit_defaults``), which
  msgspec builds and encodes faster than a dict: the same bytes as the JSON of the
  dumper's mapping.

Both decline (:data:`DECLINED`) what they cannot do; the codec then goes the usual way,
which gives the result or the error.

Importing this module without msgspec installed raises ImportError: the engine is chosen by
:func:`bexvendre_mapping._wire._choose_engine`, which then keeps to the standard library.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import msgspec
import msgspec.json

from bexvendre_mapping._errors import MappingError
from bexvendre_mapping._fastpath import Entry, build_model, fast_loader, write_dumper, write_fields
from bexvendre_mapping._plan import Context, Fail, Hook, Setting, Source, plan_of
from bexvendre_mapping._text import json_decimal

__all__ = ["DECLINED", "REFUSED", "decode", "encode", "typed_dumper", "typed_loader"]

#: What the decoder and encoder raise on input they do not take: the standard library
#: then gives its result or its error.
REFUSED: tuple[type[BaseException], ...] = (
    ValueError,
    RecursionError,
    TypeError,
    OverflowError,
    msgspec.MsgspecError,
)
#: What a typed loader or dumper raises when it declines: the usual route then runs.
DECLINED: tuple[type[BaseException], ...] = (Fail, MappingError, *REFUSED)

decode: Callable[[Any], Any] = msgspec.json.Decoder(float_hook=json_decimal).decode
# Decimals in a dumped document are amounts written as JSON numbers (Vendre's money).
encode: Callable[[Any], bytes] = msgspec.json.Encoder(decimal_format="number").encode


def _mirror_name(index: int) -> str:
    """The name ``f<index>`` of a mirror's field, interned as the generated code's names are.

    msgspec matches a keyword argument to its field by identity first: with a name made at
    run time and not interned, it compares text, and a mirror takes longer to build than a
    dict (0.74 µs a Bex row, against 0.57 µs interned and 0.68 µs for the dict).
    """
    return sys.intern(f"f{index}")


class _NoMirror(Exception):
    """The class has no mirror: a key with another spelling (the mapping's loader renames it)."""


@functools.cache
def typed_loader(cls: type, zone_name: str, strict: bool) -> Hook | None:
    """A function loading JSON bytes or str into ``cls`` through its mirror; or ``None``.

    ``None`` when a class of the model has a key with another accepted spelling, which a
    mirror cannot take: the codec then parses and loads the usual way. Like a loader, the
    function returns the model or declines (:data:`DECLINED`).
    """
    try:
        load, mirror = _struct_loader(cls, zone_name, strict)
    except _NoMirror:
        return None
    decoder: Callable[[bytes | str], Any] = msgspec.json.Decoder(
        mirror, float_hook=json_decimal
    ).decode

    def typed(data: bytes | str) -> Any:
        return load(decoder(data))

    return typed


@functools.cache
def _struct_loader(cls: type, zone_name: str, strict: bool) -> tuple[Hook, type]:
    """The generated function loading a ``cls`` from its mirror, and the mirror class.

    The mirror's field ``f<index>`` is read from the field's wire key; an optional field
    defaults to ``UNSET``, which the function turns into the model's default.
    """
    plan = plan_of(cls)
    if plan.aliases:
        raise _NoMirror

    def nested(inner: type) -> Hook:  # a model below a kind msgspec does not check
        return fast_loader(inner, zone_name, strict, clean_text=True)

    def mirror(inner: type) -> tuple[Hook, type]:
        return _struct_loader(inner, zone_name, strict)

    ctx = Context(Setting(zone_name, strict, detailed=False), nested, clean=True, mirror=mirror)
    fields: list[tuple[str, Any, Any]] = []
    for index, field in enumerate(plan.fields):
        tp = field.kind.mirror_type(ctx)
        if field.empty_list and tp is not Any:
            tp = tp | None  # an optional list may be null: the empty list
        if field.required:
            fields.append((_mirror_name(index), tp, msgspec.field(name=field.key)))
        else:
            unset = msgspec.field(default=msgspec.UNSET, name=field.key)
            fields.append((_mirror_name(index), tp, unset))
    src = Source()
    src.names["_UNSET"] = msgspec.UNSET
    name = f"load_{cls.__name__}"
    src.add(0, f"def {name}(o):")
    write_fields(src, plan, ctx, lambda index: f"o.f{index}")
    build_model(src, plan, [f"v{index}" for index in range(len(plan.fields))])
    label = f"struct loader {cls.__module__}.{cls.__qualname__} {zone_name} strict={strict}"
    load = src.build(name, label)
    made = msgspec.defstruct(
        f"{cls.__name__}Wire",
        fields,
        kw_only=True,
        forbid_unknown_fields=strict,
        module=__name__,
    )
    return load, made


@functools.cache
def typed_dumper(cls: type, zone_name: str) -> Hook:
    """A function writing a ``cls`` model as JSON bytes through its output mirror.

    Like a dumper, it raises on a model it cannot write; the codec then goes the usual way,
    which gives the error with every path.
    """
    dump = _struct_dumper(cls, zone_name)
    encoder = encode

    def typed(model: Any) -> bytes:
        return encoder(dump(model))

    return typed


@functools.cache
def _struct_dumper(cls: type, zone_name: str) -> Hook:
    def finish(src: Source, entries: list[Entry]) -> None:
        # The output mirror: its field f<index> is written under the entry's key; one that
        # the dumper leaves out when None defaults to None, and omit_defaults leaves it out.
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

    return write_dumper(cls, zone_name, nested=_struct_dumper, finish=finish)
