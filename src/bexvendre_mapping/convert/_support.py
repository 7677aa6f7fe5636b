"""What every converter shares: collecting problems, code look-ups, field-map driven copies."""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal, DecimalException, InvalidOperation, getcontext, setcontext
from typing import Any, Literal, ParamSpec, TypeVar

import attrs

from bexvendre_mapping._dates import DEFAULT_TIME_ZONE, time_zone
from bexvendre_mapping._errors import MappingError, Problem, note
from bexvendre_mapping._fastpath import fast_builder
from bexvendre_mapping._lookups import CodeTable, Lookups
from bexvendre_mapping._plan import Source, plan_of, wire_keys, wire_places
from bexvendre_mapping._wire import child_path, dump_problems
from bexvendre_mapping.fieldmap import EntityMap, FieldRule
from bexvendre_mapping.money import CONTEXT

__all__ = [
    "Copier",
    "Problems",
    "WrongModelError",
    "block_copier",
    "checks_models",
    "copy_block",
    "in_money_context",
    "model_error",
    "require_type",
    "scaled_exactly",
]

_EXPONENTS = [Decimal(1).scaleb(-n) for n in range(9)]

T = TypeVar("T")
P = ParamSpec("P")

#: What a converter's arithmetic and attribute reads raise on a model built by hand that
#: holds what no load gives (text for a price, None for a list, NaN): the converter then
#: asks model_error() which fields are to blame. Anything else is a bug and propagates.
BROKEN_MODEL: tuple[type[Exception], ...] = (
    TypeError,
    AttributeError,
    ValueError,
    ArithmeticError,
    LookupError,
)


def in_money_context(convert: Callable[P, T]) -> Callable[P, T]:
    """The converter ``convert``, computing in :data:`bexvendre_mapping.money.CONTEXT`.

    Whatever context the calling thread has set (a lower precision, another rounding,
    Inexact trapped), a conversion gives the same result. A failure that the model built by
    hand is to blame for (NaN, 10**40 or a VAT rate of -100 in its arithmetic, text for a
    price) is the :class:`MappingError` of :func:`model_error`, as with
    :func:`checks_models`; a ``decimal`` exception with a sound model is a MappingError too.
    One wrapper does both, so that a warning's ``stacklevel`` counts one frame for it.
    """

    @functools.wraps(convert)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        # What `with localcontext(CONTEXT)` does, at less than half its cost: a conversion
        # is a few dozen microseconds. CONTEXT itself, not a copy: the calls that are given
        # CONTEXT (quantize(exp, rounding, CONTEXT)) set its flags already, and no result
        # depends on flags; the caller's context comes back untouched.
        caller = getcontext()
        setcontext(CONTEXT)
        try:
            return convert(*args, **kwargs)
        except (MappingError, WrongModelError):
            raise
        except BROKEN_MODEL as exc:
            error = model_error(args[0] if args else next(iter(kwargs.values()), None))
            if error is not None:
                raise error from exc
            if isinstance(exc, DecimalException):  # a sound model: still about amounts
                name = type(exc).__name__
                raise MappingError(f"the amounts cannot be computed ({name})") from exc
            raise
        finally:
            setcontext(caller)

    return run


def checks_models(convert: Callable[P, T]) -> Callable[P, T]:
    """The converter ``convert``, failing with a :class:`MappingError` on a broken model.

    When ``convert`` raises anything but a MappingError or :class:`WrongModelError`, and
    :func:`model_error` blames the model it was given (its first argument), that error is
    raised instead, from the original. A ``try`` costs nothing until something is raised.
    """

    @functools.wraps(convert)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return convert(*args, **kwargs)
        except (MappingError, WrongModelError):
            raise
        except BROKEN_MODEL as exc:
            error = model_error(args[0] if args else next(iter(kwargs.values()), None))
            if error is None:
                raise
            raise error from exc

    return run


def model_error(model: object) -> MappingError | None:
    """Why a conversion of ``model`` failed, if the model is to blame; else ``None``.

    A loaded model never gets here: its amounts are finite and below ``MAX_AMOUNT``, its VAT
    rates from 0 to 100 (which keeps every computation within the context's 28 digits) and
    every field holds its type. A model built by hand may hold anything (attrs does not
    check): the error lists every field its dumper or, for an amount, its loader would
    refuse, each with its path. When the model has none of those, the converter's own error
    stands: it is a bug of the library, to be reported.
    """
    if not attrs.has(type(model)):
        return None
    found = dump_problems(model, time_zone(DEFAULT_TIME_ZONE), as_loaded=True)
    return MappingError(found) if found else None


def scaled_exactly(value: Decimal, exponent: Decimal) -> Decimal | None:
    """``value`` with ``exponent``'s decimals when that is exact, else ``None``."""
    try:
        scaled = value.quantize(exponent, None, CONTEXT)  # (exp, rounding, context)
    except InvalidOperation:  # more digits than the context holds
        return None
    return scaled if scaled == value else None


class Problems:
    """Collects every problem of one conversion, so that all are reported at once.

    Past ``MappingError.MAX_PROBLEMS`` errors, problems are only counted (an unknown code
    without the search for the closest known ones), and the error raised says how many more
    there were.
    """

    def __init__(self) -> None:
        self.errors: list[MappingError] = []
        self.more = 0  # problems past the limit: counted, not kept

    @property
    def full(self) -> bool:
        """Whether problems are only counted from now on."""
        return len(self.errors) >= MappingError.MAX_PROBLEMS

    def record(self, error: MappingError) -> None:
        """Record every problem of ``error``."""
        if self.full:
            self.more += len(error.problems)
        else:
            self.errors.append(error)

    def add(self, path: str, message: str) -> None:
        """Record a problem at ``path``."""
        if self.full:
            self.more += 1
        else:
            self.errors.append(MappingError([Problem(path, message)]))

    def lookup(self, table: CodeTable[Any, Any], code: Any, path: str) -> Any:
        """``table.get(code)``, recording an unknown code."""
        if self.full:
            return self._count_unknown(table._forward, code)
        try:
            return table.get(code, path=path)
        except MappingError as exc:
            self.errors.append(exc)
            return None

    def reverse(self, table: CodeTable[Any, Any], value: Any, path: str) -> Any:
        """``table.reverse(value)``, recording an unknown code."""
        if self.full:
            return self._count_unknown(table._reverse, value)
        try:
            return table.reverse(value, path=path)
        except MappingError as exc:
            self.errors.append(exc)
            return None

    def _count_unknown(self, entries: dict[Any, Any], code: Any) -> Any:
        try:
            return entries[code]
        except (KeyError, TypeError):
            self.more += 1
            return None

    def exact(self, value: Decimal, places: int, path: str) -> Decimal:
        """``value`` with ``places`` decimals, recording a problem if that would round it.

        Hot loops call :func:`scaled_exactly` first and this only when it gives ``None``,
        so that the path is built for a problem alone.
        """
        exponent = _EXPONENTS[places]
        scaled = scaled_exactly(value, exponent)
        if scaled is not None:
            return scaled
        self.add(path, f"{value} cannot be written with {places} decimals without rounding")
        try:
            return value.quantize(exponent, None, CONTEXT)
        except InvalidOperation:  # more digits than Decimal's context holds
            return value

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
        if self.more:
            problems.append(Problem("$", note(self.more)))
        if all(type(e) is type(first) for e in self.errors):
            combined = type(first).__new__(type(first))
            combined.__dict__.update(first.__dict__)
            MappingError.__init__(combined, problems)
            raise combined
        raise MappingError(problems)


class WrongModelError(TypeError):
    """A converter was given a model of another class (a programming error)."""


def require_type(value: object, cls: type[T], name: str) -> T:
    """``value`` if it is a ``cls``; a ``TypeError`` (a programming error) otherwise."""
    if not isinstance(value, cls):
        side = cls.__module__.split(".")[1]
        msg = f"{name} expects a {side}.{cls.__qualname__}, got {type(value).__qualname__}"
        raise WrongModelError(msg)
    return value


def _attribute(cls: type, key: str) -> str:
    for attribute, wire_key in wire_keys(cls).items():
        if wire_key == key:
            return attribute
    raise KeyError(key)  # pragma: no cover - the field-map tests keep maps and models aligned


@attrs.frozen
class _Step:
    """One plain rule of a block, resolved to attribute names once."""

    source: str  # attribute of the source model
    target: str  # attribute of the target model
    key: str  # the source's wire key, for paths
    rule: str
    table: str | None
    forward: bool  # read the table forward (else reverse)
    places: int | None


def _plan(
    rules: tuple[FieldRule, ...], source_cls: type, target_cls: type, to_bex: bool
) -> tuple[_Step, ...]:
    steps = []
    for rule in rules:
        source_key, target_key = (rule.vendre, rule.bex) if to_bex else (rule.bex, rule.vendre)
        target = _attribute(target_cls, target_key)
        steps.append(
            _Step(
                source=_attribute(source_cls, source_key),
                target=target,
                key=source_key,
                rule=rule.rule,
                table=rule.table,
                forward=(rule.table_from == "vendre") == to_bex,
                places=_places(target_cls, target) if rule.rule == "amount" else None,
            )
        )
    return tuple(steps)


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
    decimals; a value that would need rounding is a problem) of one block: an address, the
    payment, an article's scalars, read from ``source`` (a model of the other side).
    Unknown codes are recorded in ``problems`` with the path of the source field.
    """
    source_cls: type = type(source)
    copy = _copier(entity, source_cls, target_cls, to_bex, vendre_prefix, bex_prefix, "mapping")
    result: dict[str, Any] = copy(source, lookups, problems, path)
    return result


Copier = Callable[[Any, Lookups, Problems, str], Any]
"""A generated block copy: ``copy(source, lookups, problems, path)``."""


def block_copier(
    entity: EntityMap,
    source_cls: type,
    target_cls: type,
    *,
    to_bex: bool,
    vendre_prefix: str,
    bex_prefix: str,
    whole: bool = False,
) -> Copier:
    """:func:`copy_block` as a function, for converters that copy a block on every call.

    The function gives the keyword arguments of ``fast_builder(target_cls)`` that the
    block sets; the caller adds the others:
    ``fast_builder(bex.Payment)(**copy(...), amount=amount)``. With ``whole``, for a block
    that gives the whole model (an address), the function returns the ``target_cls``
    itself, the fields the block does not set taking their defaults.

    Raises:
        TypeError: with ``whole``, the block leaves out a field without a default.
    """
    output = "model" if whole else "mapping"
    return _copier(entity, source_cls, target_cls, to_bex, vendre_prefix, bex_prefix, output)


@functools.cache
def _copier(  # noqa: PLR0917 - a cache key, called from two places
    entity: EntityMap,
    source_cls: type,
    target_cls: type,
    to_bex: bool,
    vendre_prefix: str,
    bex_prefix: str,
    output: Literal["mapping", "model"],
) -> Copier:
    """The block's steps as one generated function.

    Each step is a few lines of it, as in the generated loaders: the loop over the plan and
    its getattr calls were a third of the cost of a copy. A look-up reads the table's dict
    first; only an unknown code pays for the path and the error. ``output`` is what it
    returns: the target's keyword arguments (``"mapping"``) or the target itself, built by
    keyword (``"model"``).
    """
    src = Source()
    src.add(0, "def copy(source, lookups, problems, path):")
    values = {}
    steps = _plan(entity.block(vendre_prefix, bex_prefix), source_cls, target_cls, to_bex)
    for index, step in enumerate(steps):
        var = f"v{index}"
        src.add(1, f"{var} = source.{step.source}")
        field_path = f"{src.ref(child_path, 'child_path')}(path, {step.key!r})"
        if step.table is not None:
            method, entries = ("lookup", "_forward") if step.forward else ("reverse", "_reverse")
            src.add(
                1,
                f"if {var} is not None:",
                "    try:",
                f"        {var} = lookups.{step.table}.{entries}[{var}]",
                "    except (KeyError, TypeError):",
                f"        {var} = problems.{method}(lookups.{step.table}, {var}, {field_path})",
            )
        elif step.places is not None:
            call = f"problems.exact({var}, {step.places}, {field_path})"
            src.add(1, f"if {var} is not None:", f"    {var} = {call}")
        values[step.target] = var
    aliases = {f.name: f.alias for f in plan_of(target_cls).fields}
    if output == "mapping":
        items = ", ".join(f"{aliases[t]!r}: {v}" for t, v in values.items())
        src.add(1, f"return {{{items}}}")
    else:
        for field in plan_of(target_cls).fields:
            if field.required and field.name not in values:
                msg = f"the block sets no value for {target_cls.__qualname__}.{field.name}"
                raise TypeError(msg)
        build = src.ref(fast_builder(target_cls), "build")
        items = ", ".join(f"{aliases[t]}={v}" for t, v in values.items())
        src.add(1, f"return {build}({items})")
    label = f"copier {entity.name} {source_cls.__qualname__} to {target_cls.__qualname__}"
    return src.build("copy", f"{label} ({output})")


def _places(cls: type, attribute: str) -> int:
    places = wire_places(cls).get(attribute)
    assert places is not None  # noqa: S101 - amount rules name decimal fields only
    return places
