"""The codec of a model class: the routes of a load, a dump and a write, tried in order.

Loading a document tries, in order: msgspec's typed route (with the ``fast`` extra), the
generated fail-fast loader on the parsed document, then the detailed route, which reports
every problem with its path. A route that cannot give the model *declines* with a
documented signal (:data:`bexvendre_mapping._fastpath.DECLINED`, the engine's ``declined``);
anything else it raises is a bug and propagates. Dumping is the generated dumper; when it
stops at a value it cannot write, :func:`~bexvendre_mapping._wire.dump_problems` reports
every such value with its path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from bexvendre_mapping import _wire
from bexvendre_mapping._dates import DEFAULT_TIME_ZONE
from bexvendre_mapping._dates import time_zone as get_zone
from bexvendre_mapping._errors import MappingError
from bexvendre_mapping._fastpath import DECLINED, fast_dumper, fast_loader
from bexvendre_mapping._plan import REFUSED, Hook, Setting, budget
from bexvendre_mapping._wire import (
    UNWRITABLE,
    _parse,
    _unwritable_numbers,
    _unwritable_text,
    dump_problems,
    dumps_json,
    problems_of,
    structure_hook,
)

__all__ = ["Codec"]

T = TypeVar("T")

# What a dumper raises at a value it cannot write: a MappingError for a value of the wrong
# type or decimals, or Python's own error for a value of no wire type at all (text in a
# date-time field: `'str' object has no attribute 'tzinfo'`). dump_problems then says why.
_UNWRITABLE: tuple[type[Exception], ...] = (MappingError, *UNWRITABLE)


class Codec(Generic[T]):
    """Loads, dumps and serialises one model class in its side's wire format."""

    def __init__(self, cls: type[T]) -> None:
        self.cls = cls
        self._type: type = cls  # the hashable key of the cached hooks
        self._fast: dict[tuple[str, bool, bool], Hook] = {}
        self._typed: dict[tuple[str, bool], Hook | None] = {}
        self._dumpers: dict[str, Hook] = {}
        self._writers: dict[str, Hook] = {}

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
            engine = _wire.engine()
            if engine.typed_loader is not None:  # msgspec: its typed decoder first, if it can
                try:
                    typed = self._typed[time_zone, strict]
                except KeyError:
                    typed = self._typed[time_zone, strict] = engine.typed_loader(
                        self._type, time_zone, strict
                    )
                if typed is not None:
                    try:
                        result: T = typed(data)
                    except engine.declined:  # the usual route gives the result or the error
                        return self._load_parsed(data, strict, time_zone)
                    return result
        return self._load_parsed(data, strict, time_zone)

    def _load_parsed(
        self,
        data: bytes | bytearray | memoryview | str | Mapping[str, Any],
        strict: bool,
        time_zone: str,
    ) -> T:
        """Parse the document, then its loader; the detailed route when the loader declines."""
        document, clean = _parse(data)
        try:
            hook = self._fast[time_zone, strict, clean]
        except KeyError:
            hook = self._fast[time_zone, strict, clean] = fast_loader(
                self._type, time_zone, strict, clean_text=clean
            )
        try:
            result: T = hook(document)
        except DECLINED:  # the detailed route reports what went wrong
            return self._load_detailed(document, strict, time_zone)
        return result

    def _load_detailed(self, document: Any, strict: bool, time_zone: str) -> T:
        token = budget.set([MappingError.MAX_PROBLEMS])
        try:
            result: T = structure_hook(self._type, Setting(time_zone, strict, True))(document)
        except (*REFUSED, KeyError) as exc:  # every problem is collected from it
            raise MappingError(problems_of(exc)) from None
        finally:
            budget.reset(token)
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
            dumper = self._dumpers[time_zone] = fast_dumper(self._type, time_zone)
        try:
            result: dict[str, Any] = dumper(model)
        except _UNWRITABLE:  # the first problem: report them all, with their paths
            found = dump_problems(model, get_zone(time_zone))
            if found:
                raise MappingError(found) from None
            raise
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
        engine = _wire.engine()
        if engine.typed_dumper is not None:  # msgspec: straight from the model, if it can
            try:
                writer = self._writers[time_zone]
            except KeyError:
                writer = self._writers[time_zone] = engine.typed_dumper(self._type, time_zone)
            try:
                written: bytes = writer(model)
            except engine.declined_dumps:  # the usual route gives the bytes or the error
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
