"""The errors the library raises on bad data.

Every error about data is a :class:`MappingError`, which carries *every* problem found in a
document, each with the JSON path where it was found::

    ValueError
    └── MappingError                  bad data: problems, each with a JSON path
        ├── ModelCodeError            an invalid ``Artikelnr_Storleksgrupp_Storlek`` code
        ├── UnknownCodeError          a code missing from a code table (also a LookupError)
        ├── TotalsMismatchError       rows do not add up to what was paid
        └── LookupsError              a code table that cannot be used (e.g. ambiguous reverse)

Programming errors (passing a model of the wrong type, say) are ordinary ``TypeError`` exceptions.

An error lists at most :attr:`MappingError.MAX_PROBLEMS` problems (1,000), then one last
problem, a *note*, saying how many more there were (``... and 2,500 more problems``) or that
checking stopped there (``... stopped after 1,000 problems: the rest was not checked``): a
document with a million bad rows costs the time and memory of a thousand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar

import attrs

__all__ = [
    "LookupsError",
    "MappingError",
    "ModelCodeError",
    "Problem",
    "TotalsMismatchError",
    "UnknownCodeError",
]


@attrs.frozen
class Problem:
    """One problem found in a document.

    Attributes:
        path: where it was found, as a JSON path (``$.products[2].model``).
        message: what is wrong, quoting the bad value.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class MappingError(ValueError):
    """Bad data: a document, a model or a code that cannot be loaded, dumped or converted.

    Attributes:
        problems: every problem found, each with its JSON path, in document order; beyond
            :attr:`MAX_PROBLEMS`, the first ones and a note saying how many more there were
            or that checking stopped.
        MAX_PROBLEMS: the most problems an error lists (1,000), read when an error is made.

    >>> err = MappingError([Problem("$.id", "expected an integer, got 'x'")])
    >>> str(err)
    "$.id: expected an integer, got 'x'"
    >>> many = MappingError([Problem(f"$[{i}]", "expected an object") for i in range(1001)])
    >>> len(many.problems), str(many.problems[-1])
    (1001, '$: ... and 1 more problem')
    """

    problems: tuple[Problem, ...]
    MAX_PROBLEMS: ClassVar[int] = 1000

    def __init__(self, problems: Iterable[Problem] | str, *, path: str = "$") -> None:
        if isinstance(problems, str):
            problems = (Problem(path, problems),)
        self.problems = bounded(problems)
        if not self.problems:
            msg = "a MappingError needs at least one problem"
            raise ValueError(msg)
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = "\n".join(f"  {p}" for p in self.problems)
        return f"{len(self.problems)} problems:\n{lines}"

    def __str__(self) -> str:
        return self._render()

    def __reduce__(self) -> tuple[object, ...]:
        # Subclasses take other arguments; rebuild from the state, whatever the class.
        return (_blank, (type(self),), self.__dict__.copy())

    def rebased(self, base: str) -> MappingError:
        """The same error, its paths moved below ``base`` (``$.x`` → ``$.rows[2].x``)."""
        moved = type(self).__new__(type(self))
        moved.__dict__.update(self.__dict__)
        MappingError.__init__(moved, [Problem(base + p.path[1:], p.message) for p in self.problems])
        return moved

    @property
    def truncated(self) -> bool:
        """Whether the problems end with a note: more were found, or checking stopped."""
        return _NOTE.fullmatch(self.problems[-1].message) is not None

    @property
    def paths(self) -> tuple[str, ...]:
        """The JSON paths of the problems, in order."""
        return tuple(p.path for p in self.problems)


def _blank(cls: type[MappingError]) -> MappingError:
    return cls.__new__(cls)


# The note that ends a list of problems cut short. A note is a Problem like any other, so
# that every copy of it (``Problem(path, message)``, moved below an array item's path) is
# still a note, and an error made of the problems of others sums up their notes.
_NOTE = re.compile(
    r"\.\.\. (?:and (?P<more>[0-9,]+) more problems?)?(?:; )?"
    r"(?P<stopped>stopped after [0-9,]+ problems: the rest was not checked)?"
)


def note(more: int = 0, *, stopped: bool = False) -> str:
    """The message of the note ending a list of problems cut short.

    >>> note(2500)
    '... and 2,500 more problems'
    >>> note(stopped=True)
    '... stopped after 1,000 problems: the rest was not checked'
    """
    parts = []
    if more:
        parts.append(f"and {more:,} more problem{'s' if more != 1 else ''}")
    if stopped:
        parts.append(
            f"stopped after {MappingError.MAX_PROBLEMS:,} problems: the rest was not checked"
        )
    return "... " + "; ".join(parts)


def bounded(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """At most ``MappingError.MAX_PROBLEMS`` problems, then a note if there were more.

    Notes among ``problems`` (of errors whose problems are gathered into one) are summed
    into the last note; they do not count as problems.
    """
    limit = MappingError.MAX_PROBLEMS
    listed: list[Problem] = []
    more = 0
    stopped = False
    at = None  # the path of the first note: "$", or the array item's it was moved below
    for problem in problems:
        message = problem.message
        if message.startswith("... "):
            found = _NOTE.fullmatch(message)
            if found is not None and (found["more"] or found["stopped"]):
                more += int((found["more"] or "0").replace(",", ""))
                stopped = stopped or found["stopped"] is not None
                at = at or problem.path
                continue
        if len(listed) < limit:
            listed.append(problem)
        else:
            more += 1
    if more or stopped:
        listed.append(Problem(at or "$", note(more, stopped=stopped)))
    return tuple(listed)


class ModelCodeError(MappingError):
    """A model code (``Artikelnr_Storleksgrupp_Storlek``) that breaks the rules of SPEC §4."""


class UnknownCodeError(MappingError, LookupError):
    """A code that a code table does not know.

    Attributes:
        table: the name of the table (``payment_methods``, ``countries``, ...).
        code: the code that was looked up.
        closest: the known codes closest to it, best first (may be empty).
        reverse: whether the table was read backwards (Bex code → Vendre code).
    """

    table: str
    code: object
    closest: tuple[str, ...]
    reverse: bool

    def __init__(
        self,
        table: str,
        code: object,
        closest: Iterable[str] = (),
        *,
        path: str = "$",
        reverse: bool = False,
    ) -> None:
        self.table = table
        self.reverse = reverse
        self.code = code
        self.closest = tuple(closest)
        hint = (
            f"closest known: {', '.join(repr(c) for c in self.closest)}"
            if self.closest
            else "no known code is close"
        )
        which = f"the reverse of table {table!r}" if reverse else f"table {table!r}"
        super().__init__([Problem(path, f"unknown code {code!r} in {which}; {hint}")])


class TotalsMismatchError(MappingError):
    """The rows of an order do not add up to what the customer paid.

    Attributes:
        rows_total: the sum of the Bex rows' ``Belopp inkl.moms``.
        paid_total: ``ot_total`` plus the gift cards used.
    """

    rows_total: object
    paid_total: object

    def __init__(self, rows_total: object, paid_total: object, *, path: str = "$") -> None:
        self.rows_total = rows_total
        self.paid_total = paid_total
        super().__init__(
            [
                Problem(
                    path,
                    f"the rows add up to {rows_total} but the customer paid {paid_total} "
                    "(ot_total plus gift cards)",
                )
            ]
        )


class LookupsError(MappingError):
    """Code tables that cannot be used: a bad value, or a table whose reverse is ambiguous."""
