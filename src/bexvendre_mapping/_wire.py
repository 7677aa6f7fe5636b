"""The detailed route, the reference dumper, and JSON documents.

Loading takes two routes (see :class:`bexvendre_mapping._codec.Codec`). The *fast* route is
a function generated per model class from its field plan by
:mod:`bexvendre_mapping._fastpath`, stopping at the first problem. Only when it declines does
the *detailed* route of this module run on the same input: cattrs with detailed validation,
over each field's kind's hook (:meth:`bexvendre_mapping._plan.Kind.hook`), collecting every
problem with its JSON path. Valid data pays nothing for the error reporting; bad data gets
all of it. Dumping uses a generated function as well; :func:`unstructure_hook`, the cattrs
version, is its reference (tests/test_fastpath.py), as :func:`structure_hook` without
detailed validation is the loaders'.

JSON is read and written by the standard library, or by msgspec when it is installed (the
``fast`` extra, :mod:`bexvendre_mapping._msgspec`): msgspec parses to the same Python values
(numbers with a fraction as ``Decimal`` from their text) and writes the same bytes, several
times faster. Whatever it does not take (NaN, a BOM, a lone surrogate, any malformed input)
goes to the standard library, which then gives the result or the error it always gives. The
environment variable ``BEXVENDRE_MAPPING_JSON=json``, read at the first parse or dump, keeps
to the standard library. ``tests/test_json_engine.py`` compares the two on generated
documents.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from datetime import tzinfo
from decimal import Decimal
from typing import Any

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from bexvendre_mapping._dates import time_zone as get_zone
from bexvendre_mapping._dates import zone_name as _zone_name
from bexvendre_mapping._errors import MappingError, Problem
from bexvendre_mapping._errors import note as _note
from bexvendre_mapping._modelcode import ModelCode
from bexvendre_mapping._plan import (
    REFUSED,
    Code,
    Context,
    DumpContext,
    FieldPlan,
    Hook,
    ItemErrors,
    Setting,
    Stopped,
    Wire,
    plan_of,
    wire,
    wire_keys,
    wire_places,
)
from bexvendre_mapping._text import (
    closest,
    find_surrogate,
    json_decimal,
    json_type,
    show,
    surrogate_problem,
)
from bexvendre_mapping.money import parse_decimal

__all__ = [
    "Wire",
    "child_path",
    "dump_problems",
    "json_engine",
    "parse_document",
    "problems_of",
    "structure_hook",
    "unstructure_hook",
    "wire",
    "wire_keys",
    "wire_places",
]

# The old private name of the route setting, for the tests that build one.
_Setting = Setting


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


def problems_of(exc: BaseException, path: str = "$") -> list[Problem]:
    """Every problem an exception from a structure hook describes, with its JSON path."""
    if isinstance(exc, MappingError):
        return [_rebase(p, path) for p in exc.problems]
    if isinstance(exc, Stopped):
        return [Problem(path, _note(stopped=True))]
    if isinstance(exc, ItemErrors):
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


def _leaves(model: Any, path: str) -> Iterator[tuple[FieldPlan, Any, str]]:
    """Every field of ``model`` that holds no model, with its plan, value and JSON path.

    Nested models and lists of models are walked, in document order (a ``ModelCode`` is a
    value here, not a model).
    """
    model_type: Any = type(model)
    for field in plan_of(model_type).fields:
        at = child_path(path, field.key)
        value = getattr(model, field.name)
        if _is_model(value):
            yield from _leaves(value, at)
        elif isinstance(value, tuple) and any(_is_model(item) for item in value):
            for index, item in enumerate(value):
                if _is_model(item):
                    yield from _leaves(item, child_path(at, index))
        else:
            yield field, value, at


def _is_model(value: Any) -> bool:
    return attrs.has(type(value)) and type(value) is not ModelCode


def _amount_problems(field: FieldPlan, value: Decimal, at: str) -> list[Problem]:
    """Why a loader refuses ``value`` for this field: not finite, too large, or the like.

    That is: not finite, not below ``MAX_AMOUNT``, more decimals than the wire's, or the
    field's check.
    """
    try:
        checked = parse_decimal(value, field.places)
        if field.check is not None:
            field.check(checked)
    except MappingError as exc:
        return [_rebase(p, at) for p in exc.problems]
    return []


def _attribute_name(exc: BaseException) -> str | None:
    for note in reversed(getattr(exc, "__notes__", ())):
        name = getattr(note, "name", None)
        if isinstance(name, str):
            return name
    return None


# --- the detailed route ---------------------------------------------------------------------


@functools.cache
def _converter(setting: Setting) -> cattrs.Converter:
    # The converter only hosts the generated functions: every field gets an explicit hook.
    return cattrs.Converter(detailed_validation=setting.detailed, forbid_extra_keys=setting.strict)


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


def field_hook(field: FieldPlan, setting: Setting) -> Hook:
    """The function loading ``field``'s value on the route of ``setting``, with its check."""
    ctx = Context(setting, lambda cls: structure_hook(cls, setting))
    hook = field.kind.hook(ctx)
    if field.check is not None:
        hook = _checked(hook, field.check)
    if field.empty_list:
        hook = _empty_when_null(hook)
    return hook


@functools.cache
def structure_hook(cls: type, setting: Setting) -> Hook:
    """The one-argument function that loads a mapping into ``cls``.

    On the detailed route, the problems of a document are all reported at once: a key given
    under two spellings, every field's problem, and the class's own check (``_wire_check``,
    on the model's parts that go together, such as a model code's) as far as the fields it
    reads loaded.
    """
    plan = plan_of(cls)
    overrides: dict[str, Any] = {}
    hooks: list[tuple[FieldPlan, Hook]] = []
    for field in plan.fields:
        hook = field_hook(field, setting)
        overrides[field.name] = override(rename=field.key, struct_hook=hook)
        hooks.append((field, hook))
    generated: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cls,
        _converter(setting),
        _cattrs_forbid_extra_keys=setting.strict,
        _cattrs_detailed_validation=setting.detailed,
        **overrides,
    )
    check = plan.wire_check
    aliases = plan.aliases

    def load(value: Any, _type: Any = None) -> Any:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise MappingError(f"expected an object, got {show(value)}")
        found: list[Problem] = []
        if aliases and not aliases.keys().isdisjoint(value):
            value, found = unalias(value, aliases)
        try:
            result = generated(value, cls)
        except (*REFUSED, KeyError) as exc:  # KeyError: a required key, without details
            if not setting.detailed or (not found and check is None):
                raise
            found += problems_of(exc)
            if check is not None:
                found += _check_parts(check, value, hooks)
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
    hooks: list[tuple[FieldPlan, Hook]],
) -> list[Problem]:
    """The class's check on the fields of ``value`` that load, when those it reads did."""
    parts: dict[str, Any] = {}
    for field, hook in hooks:
        if field.key in value:
            try:
                parts[field.name] = hook(value[field.key], None)
            except REFUSED:  # reported already: the check cannot use it
                continue
        elif not field.required:
            parts[field.name] = field.default
    try:
        return check(types.SimpleNamespace(**parts))
    except AttributeError:  # the check reads a field that did not load
        return []


# --- the reference dumper -------------------------------------------------------------------

#: What a dumper raises at a value of no wire type at all, besides its own MappingError
#: (text in a date-time field: ``'str' object has no attribute 'tzinfo'``).
UNWRITABLE: tuple[type[Exception], ...] = (AttributeError, TypeError, ValueError)


def _dump_context(zone: tzinfo) -> DumpContext:
    name = _zone_name(zone)
    return DumpContext(zone, lambda cls: unstructure_hook(cls, name))


def _field_out_hook(field: FieldPlan, ctx: DumpContext) -> Hook:
    """How the reference dumper writes ``field``'s value."""
    hook = field.kind.dump_hook(field.key, ctx)
    if field.empty_list:
        # An empty list with an empty default is left out, like a null.
        hook = _none_when_empty(hook)
    return hook


def _none_when_empty(hook: Hook) -> Hook:
    def dump(values: Any) -> Any:
        return hook(values) if values else None

    return dump


@functools.cache
def unstructure_hook(cls: type, zone_name: str) -> Hook:
    """The one-argument function that dumps a ``cls`` model into a wire mapping."""
    ctx = _dump_context(get_zone(zone_name))
    plan = plan_of(cls)
    overrides: dict[str, Any] = {
        field.name: override(rename=field.key, unstruct_hook=_field_out_hook(field, ctx))
        for field in plan.fields
    }
    generated: Hook = make_dict_unstructure_fn(
        cls, _converter(Setting(zone_name, strict=False, detailed=False)), **overrides
    )
    if not plan.omittable:
        return generated

    # cattrs' own omit_if_default moves the optional keys to the end; this keeps field order.
    def dump(model: Any) -> dict[str, Any]:
        return {k: v for k, v in generated(model).items() if v is not None}

    return dump


def dump_problems(
    model: Any, zone: tzinfo, path: str = "$", *, as_loaded: bool = False
) -> list[Problem]:
    """Every field of ``model`` that its dumper refuses, with its JSON path.

    A dumper stops at the first field it cannot write; :meth:`Codec.dump` then asks this
    for all of them: nested models and lists of models are walked, every other field goes
    through the reference dumper's own hook for it (so the messages are the dumper's; a
    value of another type than the field's is refused by that hook). With ``as_loaded``, a
    ``Decimal`` is held to what its loader takes instead (finite, below ``MAX_AMOUNT``, the
    wire's decimals, the field's check such as a VAT percent from 0 to 100): the
    converters' view of a model built by hand.
    """
    found: list[Problem] = []
    ctx = _dump_context(zone)
    for field, value, at in _leaves(model, path):
        if len(found) >= MappingError.MAX_PROBLEMS:
            found.append(Problem(path, _note(stopped=True)))
            break
        if as_loaded:
            # What no load gives, though the dumper writes it: a null list, a model code
            # that is not a ModelCode (written through str()).
            if value is None and field.empty_list:
                found.append(Problem(at, "expected a list, got null"))
                continue
            if isinstance(field.kind, Code) and type(value) is not ModelCode:
                found.append(Problem(at, f"expected a ModelCode, got {show(value)}"))
                continue
            if isinstance(value, Decimal):
                found.extend(_amount_problems(field, value, at))
                continue
        hook = _field_out_hook(field, ctx)
        try:
            hook(value)
        except MappingError as exc:
            prefix = f"field {field.key!r}: "
            found.extend(Problem(at, p.message.removeprefix(prefix)) for p in exc.problems)
        except UNWRITABLE as exc:
            # No wire type at all (text in a date-time field, say): Python's own error.
            refused = field.kind.refuses(value)
            found.append(Problem(at, refused or f"cannot be written: {type(exc).__name__}: {exc}"))
        else:
            if as_loaded and value is not None:
                found.extend(_loaded_problems(field, value, at))
    return found


def _loaded_problems(field: FieldPlan, value: Any, at: str) -> list[Problem]:
    """Why a loader refuses a value that its dumper writes.

    That is: a text with a lone surrogate, or the field's check (a status outside its
    values, say).
    """
    unwritable = surrogate_problem(value) if type(value) is str else None
    if unwritable is not None:
        return [Problem(at, unwritable)]
    try:
        if field.check is not None:
            field.check(value)
    except MappingError as exc:
        return [_rebase(p, at) for p in exc.problems]
    return []


# --- documents ------------------------------------------------------------------------------


# Built once: json.loads/json.dumps with options build a new decoder/encoder on every call.
_DECODER = json.JSONDecoder(parse_float=json_decimal)
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
    """The faster JSON engine in use, if any: what parse_document and dumps_json try first.

    Attributes:
        name: ``"msgspec"`` or ``"json"``.
        decode: its decoder of bytes or str (``None``: the standard library's only).
        encode: its encoder of dumped documents.
        refused: what ``decode`` and ``encode`` raise on input they do not take.
        typed_loader: its loader of JSON into a model class, ``(cls, zone, strict)``.
        typed_dumper: its writer of a model as JSON bytes, ``(cls, zone)``.
        declined: what those two raise when they decline: the usual route then runs.
    """

    name: str
    decode: Callable[[Any], Any] | None = None
    encode: Callable[[Any], bytes] | None = None
    refused: tuple[type[BaseException], ...] = (ValueError, RecursionError)
    typed_loader: Callable[[type, str, bool], Hook | None] | None = None
    typed_dumper: Callable[[type, str], Hook] | None = None
    declined: tuple[type[BaseException], ...] = ()

    @property
    def declined_dumps(self) -> tuple[type[BaseException], ...]:
        """What a typed dumper raises when it declines, a value of no wire type included."""
        return (*self.declined, *UNWRITABLE)


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
        # Optional, and only when JSON is first read: the one module importing msgspec.
        _msgspec = importlib.import_module("bexvendre_mapping._msgspec")
    except ImportError:
        _engine_in_use = _STDLIB
        return _STDLIB
    _engine_in_use = _Engine(
        "msgspec",
        decode=_msgspec.decode,
        encode=_msgspec.encode,
        refused=_msgspec.REFUSED,
        typed_loader=_msgspec.typed_loader,
        typed_dumper=_msgspec.typed_dumper,
        declined=_msgspec.DECLINED,
    )
    return _engine_in_use


def engine() -> _Engine:
    """The JSON engine in use, chosen at the first call."""
    return _engine_in_use or _choose_engine()


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


def dumps_json(document: Any, *, indent: int | None = None) -> bytes:
    """Compact UTF-8 JSON of a dumped document (indented by ``indent`` spaces, if given).

    ``document`` holds what dumpers give: dicts with string keys, lists, strings, integers,
    booleans, ``None``, and ``Decimal`` amounts in plain notation, written as JSON numbers
    exactly as they print (no floats, whose spelling differs between engines).
    """
    if indent is None:
        engine = _engine_in_use or _choose_engine()
        if engine.encode is not None:
            try:
                return engine.encode(document)
            except engine.refused:
                pass  # not taken (a lone surrogate, say): the standard library raises its error
        if _C_ENCODER is not None and not isinstance(document, str):
            encode_c = _C_ENCODER(
                {}, _no_decimal, json.encoder.encode_basestring, None, ":", ",", False, False, True
            )
            try:
                return "".join(encode_c(document, 0)).encode()
            except _HasNumber:
                pass  # amounts as numbers: the writer below puts their text in
    return _json_text(document, indent, 0).encode()


class _HasNumber(Exception):
    """The document holds a ``Decimal``, which the C encoder cannot write as a number."""


def _no_decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        raise _HasNumber
    return _ENCODER.default(value)


_TEXT = json.encoder.encode_basestring


def _json_text(value: Any, indent: int | None, level: int) -> str:  # noqa: PLR0911 - per type
    """JSON text of a dumped document, ``Decimal`` amounts as numbers (the slow route)."""
    if type(value) is str:
        return _TEXT(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            msg = f"{value!r} has no JSON form"
            raise ValueError(msg)
        return format(value, "f")
    if isinstance(value, str):
        return _TEXT(str(value))
    if isinstance(value, Mapping):
        colon = ":" if indent is None else ": "
        parts = [
            f"{_TEXT(str(k))}{colon}{_json_text(v, indent, level + 1)}" for k, v in value.items()
        ]
        return _joined("{", parts, "}", indent, level)
    if isinstance(value, list | tuple):
        parts = [_json_text(item, indent, level + 1) for item in value]
        return _joined("[", parts, "]", indent, level)
    msg = f"Object of type {type(value).__name__} is not JSON serializable"
    raise TypeError(msg)


def _joined(start: str, parts: list[str], end: str, indent: int | None, level: int) -> str:
    if indent is None:
        return start + ",".join(parts) + end
    if not parts:
        return start + end
    inner = "\n" + " " * (indent * (level + 1))
    return start + inner + ("," + inner).join(parts) + "\n" + " " * (indent * level) + end


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
