"""Model codes: ``Artikelnr_Storleksgrupp_Storlek`` (SPEC §4)."""

from __future__ import annotations

import re
from typing import Any

import attrs

from bexvendre_mapping._errors import ModelCodeError
from bexvendre_mapping._slots import twin

__all__ = ["ModelCode", "code_problems", "join_code"]

# Control characters, lone surrogates and the Unicode line/paragraph separators: none of them
# belongs in an article number, and several break CSV exports and log lines downstream.
_BAD = "\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff"
_FORBIDDEN = re.compile(f"[{_BAD}]")
# The common, valid case in one regex each (\s is what str.strip() strips).
_ARTICLE_OK = re.compile(rf"[^\s{_BAD}](?:[^{_BAD}]*[^\s{_BAD}])?")
_PART_OK = re.compile(rf"[^\s_{_BAD}](?:[^_{_BAD}]*[^\s_{_BAD}])?")
_ARTICLE_FULL = _ARTICLE_OK.fullmatch
_PART_FULL = _PART_OK.fullmatch
# str.isalnum() is the quicker test first: a non-empty string of letters and digits matches
# both patterns (no letter or digit is whitespace, a control, a separator or a surrogate,
# tests/test_modelcode.py checks every code point), and most sizes and article numbers are
# such strings. Whatever it refuses, the pattern decides.


def _part_problem(label: str, part: str) -> str | None:
    if not part:
        return f"the {label} is empty"
    if part != part.strip():
        return f"the {label} {part!r} has leading or trailing whitespace"
    if _FORBIDDEN.search(part):
        return f"the {label} {part!r} contains a control character"
    return None


def code_problems(article: object, size_group: object, size: object) -> list[tuple[int, str]]:
    """What is wrong with these parts as a model code: (part index 0-2, message) pairs."""
    if type(article) is str and (article.isalnum() or _ARTICLE_FULL(article)):
        if size_group is None and size is None:
            if article.count("_") < 2:
                return []
        elif (
            type(size_group) is str
            and type(size) is str
            and (size_group.isalnum() or _PART_FULL(size_group))
            and (size.isalnum() or _PART_FULL(size))
        ):
            return []
    return _slow_problems(article, size_group, size)


def _slow_problems(article: object, size_group: object, size: object) -> list[tuple[int, str]]:
    if not isinstance(article, str):
        return [(0, f"the article number must be a string, got {article!r}")]
    problems: list[tuple[int, str]] = []
    if (p := _part_problem("article number", article)) is not None:
        problems.append((0, p))
    if size_group is None and size is None:
        if article.count("_") >= 2:
            problems.append(
                (
                    0,
                    f"the unsized article number {article!r} has two or more '_' and would "
                    "read back as a sized code",
                )
            )
        return problems
    if size is None:
        return [*problems, (2, "a size group without a size")]
    if size_group is None:
        return [*problems, (1, "a size without a size group")]
    for index, label, part in ((1, "size group", size_group), (2, "size", size)):
        if not isinstance(part, str):
            problems.append((index, f"the {label} must be a string, got {part!r}"))
        elif (p := _part_problem(label, part)) is not None:
            problems.append((index, p))
        elif "_" in part:
            problems.append((index, f"the {label} {part!r} contains '_'"))
    return problems


def _problems(article: object, size_group: object, size: object) -> list[str]:
    return [message for _, message in code_problems(article, size_group, size)]


def join_code(article: str, size_group: str | None, size: str | None) -> str:
    """The text of the model code of these parts (checked already: see code_problems)."""
    if size is None:
        return article
    return f"{article}_{size_group}_{size}"


def _join(*parts: object) -> str:
    return "_".join(str(p) for p in parts if p is not None)


@attrs.frozen(repr=False, init=False)
class ModelCode:
    """A Bex article, optionally with a size group and size, as one Vendre model code.

    Vendre's ``model`` (order rows) and variant ``article_number`` are the Bex ``Artikelnr``,
    ``Storleksgrupp`` and ``Storlek`` joined with ``_``. The article number may itself contain
    ``_``: a sized code is split at its *last two* underscores.

    Attributes:
        article: the Bex article number (``Artikelnr``).
        size_group: the Bex size group (``Storleksgrupp``), or ``None`` for unsized articles.
        size: the Bex size (``Storlek``), or ``None`` for unsized articles.

    Raises:
        ModelCodeError: a part is empty, has leading/trailing whitespace or a control
            character; a size group or size contains ``_``; only one of them is given; or an
            unsized article number has two or more ``_`` (it would read back as sized).

    >>> code = ModelCode.parse("JKT_001_KL_M")
    >>> code
    ModelCode(article='JKT_001', size_group='KL', size='M')
    >>> str(code)
    'JKT_001_KL_M'
    >>> ModelCode("GIFTBOX").size is None
    True
    """

    article: str
    size_group: str | None = None
    size: str | None = None

    def __init__(self, article: str, size_group: str | None = None, size: str | None = None):
        # attrs' own __init__ with a validator, written out: checked first, then the slots
        # filled directly (a stock row builds one of these on every line).
        if code_problems(article, size_group, size):
            problems = _problems(article, size_group, size)
            raise ModelCodeError(
                f"invalid model code {_join(article, size_group, size)!r}: {'; '.join(problems)}"
            )
        _SET_ARTICLE(self, article)
        _SET_GROUP(self, size_group)
        _SET_SIZE(self, size)

    @classmethod
    def parse(cls, code: str) -> ModelCode:
        """Read a model code.

        Args:
            code: ``Artikelnr_Storleksgrupp_Storlek`` or a bare article number.

        Returns:
            The parsed code; ``str()`` of it gives ``code`` back.

        Raises:
            ModelCodeError: ``code`` is not a string or breaks a rule of SPEC §4.

        >>> ModelCode.parse("1001__42")
        Traceback (most recent call last):
        ...
        bexvendre_mapping._errors.ModelCodeError: $: invalid model code '1001__42': the size group is empty
        """  # noqa: E501
        if type(code) is str:
            # The common, valid cases at once (code_problems' tests, inline), the slots
            # filled through the twin (see _slots).
            parts = code.rsplit("_", 2)
            if len(parts) == 3:
                article, group, size = parts
                valid = (
                    (group.isalnum() or _PART_FULL(group) is not None)
                    and (size.isalnum() or _PART_FULL(size) is not None)
                    and (article.isalnum() or _ARTICLE_FULL(article) is not None)
                )
            else:
                article, group, size = code, None, None
                valid = code.isalnum() or _ARTICLE_FULL(code) is not None
            if valid:
                if cls is not ModelCode or _TWIN is None:
                    return cls._trusted(article, group, size)
                made: Any = _NEW(_TWIN)
                made.article = article
                made.size_group = group
                made.size = size
                made.__class__ = ModelCode
                parsed: ModelCode = made
                return parsed
        elif not isinstance(code, str):
            raise ModelCodeError(f"a model code must be a string, got {code!r}")
        parts = code.rsplit("_", 2)
        if len(parts) == 3:
            article, group, size = parts
            problems = _problems(article, group, size)
            if not problems:
                return cls._trusted(article, group, size)
        else:
            problems = _problems(code, None, None)
            if not problems:
                return cls._trusted(code, None, None)
        raise ModelCodeError(f"invalid model code {code!r}: {'; '.join(problems)}")

    @classmethod
    def _trusted(cls, article: str, size_group: str | None, size: str | None) -> ModelCode:
        # Parts already checked: skip the validator.
        code = _NEW(cls)
        _SET_ARTICLE(code, article)
        _SET_GROUP(code, size_group)
        _SET_SIZE(code, size)
        return code

    @property
    def is_sized(self) -> bool:
        """Whether the code names a size (and so a size group)."""
        return self.size is not None

    def __str__(self) -> str:
        return join_code(self.article, self.size_group, self.size)

    def __repr__(self) -> str:
        if self.size is None:
            return f"ModelCode(article={self.article!r})"
        return (
            f"ModelCode(article={self.article!r}, size_group={self.size_group!r}, "
            f"size={self.size!r})"
        )


# The slots' own setters: a frozen class's __setattr__ refuses, its slot descriptors do not.
_NEW = object.__new__
_SET_ARTICLE = ModelCode.__dict__["article"].__set__
_SET_GROUP = ModelCode.__dict__["size_group"].__set__
_SET_SIZE = ModelCode.__dict__["size"].__set__
# A subclass taking plain stores, which then becomes a ModelCode: quicker still.
_TWIN: Any = twin(ModelCode)
