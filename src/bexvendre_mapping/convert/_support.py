"""What every converter shares: collecting problems, code look-ups, field-map driven copies."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from bexvendre_mapping._errors import MappingError, Problem
from bexvendre_mapping._lookups import CodeTable, Lookups
from bexvendre_mapping._wire import child_path, wire_keys, wire_places
from bexvendre_mapping.fieldmap import EntityMap, FieldRule
from bexvendre_mapping.money import quantize

__all__ = ["Problems", "copy_block", "require_type"]

T = TypeVar("T")


class Problems:
    """Collects every problem of one conversion, so that all are reported at once."""

    def __init__(self) -> None:
        self.errors: list[MappingError] = []

    def add(self, path: str, message: str) -> None:
        """Record a problem at ``path``."""
        self.errors.append(MappingError([Problem(path, message)]))

    def attempt(self, func: Callable[[], T]) -> T | None:
        """Run ``func``; record its MappingError and return ``None`` when it raises one."""
        try:
            return func()
        except MappingError as exc:
            self.errors.append(exc)
            return None

    def lookup(self, table: CodeTable[Any, Any], code: Any, path: str) -> Any:
        """``table.get(code)``, recording an unknown code."""
        return self.attempt(lambda: table.get(code, path=path))

    def reverse(self, table: CodeTable[Any, Any], value: Any, path: str) -> Any:
        """``table.reverse(value)``, recording an unknown code."""
        return self.attempt(lambda: table.reverse(value, path=path))

    def exact(self, value: Decimal, places: int, path: str) -> Decimal:
        """``value`` with ``places`` decimals, recording a problem if that would round it."""
        scaled = quantize(value, places)
        if scaled != value:
            self.add(path, f"{value} cannot be written with {places} decimals without rounding")
        return scaled

    def vendre_id(self, text: str, path: str) -> int | None:
        """A Bex digit string as a Vendre id (positive, canonical: no leading zero)."""
        if text.isascii() and text.isdigit() and not text.startswith("0") and len(text) <= 18:
            return int(text)
        self.add(
            path, f"expected a Vendre id (a positive number without leading zeros), got {text!r}"
        )
        return None

    def raise_if_any(self) -> None:
        """Raise one error holding every problem recorded so far.

        When every problem came from the same kind of error (unknown codes, say), the
        error raised is of that kind, so ``except UnknownCodeError`` still catches it.
        """
        if not self.errors:
            return
        first = self.errors[0]
        if len(self.errors) == 1:
            raise first
        problems = [p for e in self.errors for p in e.problems]
        if all(type(e) is type(first) for e in self.errors):
            combined = type(first).__new__(type(first))
            combined.__dict__.update(first.__dict__)
            MappingError.__init__(combined, problems)
            raise combined
        raise MappingError(problems)


def require_type(value: object, cls: type[T], name: str) -> T:
    """``value`` if it is a ``cls``; a ``TypeError`` (a programming error) otherwise."""
    if not isinstance(value, cls):
        side = cls.__module__.split(".")[1]
        msg = f"{name} expects a {side}.{cls.__qualname__}, got {type(value).__qualname__}"
        raise TypeError(msg)
    return value


def _attribute(cls: type, key: str) -> str:
    for attribute, wire_key in wire_keys(cls).items():
        if wire_key == key:
            return attribute
    raise KeyError(key)  # pragma: no cover - the field-map tests keep maps and models aligned


def copy_block(
    entity: EntityMap,
    source: Any,
    target_cls: type,
    *,
    to_bex: bool,
    vendre_prefix: str,
    bex_prefix: str,
    lookups: Lookups,
    problems: Problems,
    path: str,
) -> dict[str, Any]:
    """The keyword arguments of ``target_cls`` that the field map's plain rules give.

    Copies, code-table look-ups and exact decimal re-scalings (to the target field's wire
    decimals; a value that would need rounding is a problem) of one block (an address, the payment, an article's scalars), read from
    ``source`` (a model of the other side).
    Unknown codes are recorded in ``problems`` with the path of the source field.
    """
    source_cls = type(source)
    kwargs: dict[str, Any] = {}
    for rule in entity.block(vendre_prefix, bex_prefix):
        source_key, target_key = (rule.vendre, rule.bex) if to_bex else (rule.bex, rule.vendre)
        value = getattr(source, _attribute(source_cls, source_key))
        field_path = child_path(path, source_key)
        if rule.rule == "lookup" and value is not None:
            value = _look_up(
                rule, lookups, value, to_bex=to_bex, problems=problems, path=field_path
            )
        target = _attribute(target_cls, target_key)
        if rule.rule == "amount" and value is not None:
            value = problems.exact(value, _places(target_cls, target), field_path)
        kwargs[target] = value
    return kwargs


def _places(cls: type, attribute: str) -> int:
    places = wire_places(cls).get(attribute)
    assert places is not None  # noqa: S101 - amount rules name decimal fields only
    return places


def _look_up(
    rule: FieldRule, lookups: Lookups, value: Any, *, to_bex: bool, problems: Problems, path: str
) -> Any:
    assert rule.table is not None  # noqa: S101 - every lookup rule names its table
    table: CodeTable[Any, Any] = getattr(lookups, rule.table)
    forward = (rule.table_from == "vendre") == to_bex
    return problems.lookup(table, value, path) if forward else problems.reverse(table, value, path)
