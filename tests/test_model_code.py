"""Model codes: ``Artikelnr_Storleksgrupp_Storlek`` (SPEC §4)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bexvendre_mapping import (
    MappingError,
    ModelCode,
    ModelCodeError,
)
from bexvendre_mapping._modelcode import _slow_problems, code_problems
from bexvendre_mapping.testing import model_codes


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("1001_SKO_42", ModelCode("1001", "SKO", "42")),
        ("JKT_001_KL_M", ModelCode("JKT_001", "KL", "M")),
        ("A_B_C_D_E", ModelCode("A_B_C", "D", "E")),
        ("GIFTBOX", ModelCode("GIFTBOX")),
        ("A_B", ModelCode("A_B")),
        ("Jacka Fjäll_KL_XL", ModelCode("Jacka Fjäll", "KL", "XL")),
    ],
)
def test_parse_splits_at_the_last_two_underscores(code: str, expected: ModelCode) -> None:
    """A sized code splits from the right; fewer than two '_' is an unsized article."""
    assert ModelCode.parse(code) == expected
    assert str(expected) == code


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("1001__42", "size group is empty"),
        ("1001_SKO_", "size is empty"),
        ("_SKO_42", "article number is empty"),
        ("", "article number is empty"),
        (" 1001", "leading or trailing whitespace"),
        ("1001_SKO_42 ", "leading or trailing whitespace"),
        ("1001_ SKO_42", "leading or trailing whitespace"),
        ("10\x0001", "control character"),
        ("1001_SKO_4\n2", "control character"),
        ("1001_SKO_\x7f", "control character"),
        ("A\u2028B", "control character"),
    ],
)
def test_parse_rejects_broken_codes_naming_the_code(code: str, fragment: str) -> None:
    """Each rule of SPEC §4 is an error that quotes the code and says what is wrong."""
    with pytest.raises(ModelCodeError) as info:
        ModelCode.parse(code)
    assert repr(code) in str(info.value)
    assert fragment in str(info.value)


@pytest.mark.parametrize("value", [None, 1001, b"1001_SKO_42", ["1001"]])
def test_parse_rejects_non_strings(value: object) -> None:
    """Only strings are model codes; anything else is the documented error, not a TypeError."""
    with pytest.raises(ModelCodeError):
        ModelCode.parse(value)  # type: ignore[arg-type]


def test_model_code_error_is_a_mapping_error() -> None:
    """The model-code error is a subclass of the root error."""
    assert issubclass(ModelCodeError, MappingError)


@pytest.mark.parametrize(
    "args",
    [
        ("A_B_C",),  # unsized but would read back as sized
        ("1001", "SKO", None),  # size group without size
        ("1001", None, "42"),  # size without size group
        ("1001", "S_K", "42"),  # '_' in the size group
        ("1001", "SKO", "4_2"),  # '_' in the size
        ("1001", "SKO", ""),
    ],
)
def test_construction_enforces_the_rules(args: tuple[str | None, ...]) -> None:
    """Building a ModelCode directly checks the same rules as parsing."""
    with pytest.raises(ModelCodeError):
        ModelCode(*args)  # type: ignore[arg-type]


def test_unsized_code_has_no_size() -> None:
    """An unsized article has neither size group nor size."""
    code = ModelCode("GIFTBOX")
    assert (code.size_group, code.size, code.is_sized) == (None, None, False)


@given(model_codes())
def test_parse_inverts_format(code: ModelCode) -> None:
    """Law: parse(format(x)) == x for every valid x."""
    assert ModelCode.parse(str(code)) == code


@given(
    st.one_of(
        st.text(),
        st.text(st.sampled_from("ab_ \t\x00Å-")),
        model_codes().map(str).map(lambda s: s.replace("_", "__", 1)),
    )
)
def test_parse_either_raises_or_formats_back(text: str) -> None:
    """Law: for every string s, parse(s) raises ModelCodeError or format(parse(s)) == s."""
    try:
        code = ModelCode.parse(text)
    except ModelCodeError:
        return
    assert str(code) == text


parts = st.one_of(
    st.none(), st.text(st.sampled_from("aB_ \t\x00\x1f\x85\xa0\u2028Å-1"), max_size=4)
)


@given(parts, parts, parts)
def test_fast_check_agrees_with_the_rules(
    article: str | None, group: str | None, size: str | None
) -> None:
    """The one-regex fast path accepts exactly what the rule-by-rule check accepts."""
    assert (code_problems(article, group, size) == []) == (
        _slow_problems(article, group, size) == []
    )


def test_letters_and_digits_are_valid_parts() -> None:
    """The isalnum() shortcut of parse and code_problems: every letter or digit of Unicode
    (each one alone, so any string of them) is a valid size, size group and article number."""
    from bexvendre_mapping._modelcode import _ARTICLE_OK, _PART_OK  # noqa: PLC0415

    wrong = [
        hex(point)
        for point in range(0x110000)
        if chr(point).isalnum()
        and not (_PART_OK.fullmatch(chr(point)) and _ARTICLE_OK.fullmatch(chr(point)))
    ]
    assert wrong == []


def _parse_by_the_rules(text: str) -> ModelCode:
    """SPEC §4 spelled out: split at the last two underscores, the constructor checks."""
    parts = text.rsplit("_", 2)
    return ModelCode(*parts) if len(parts) == 3 else ModelCode(text)


@given(
    st.one_of(
        st.text(st.sampled_from("aB1_ -.\t\x00\x85\xa0\u2028Å\ud800٣")),
        st.text(),
        model_codes().map(str),
    )
)
def test_parse_agrees_with_the_constructor(text: str) -> None:
    """parse's shortcuts accept exactly what the constructor accepts, with the same parts."""
    try:
        expected = _parse_by_the_rules(text)
    except ModelCodeError:
        with pytest.raises(ModelCodeError):
            ModelCode.parse(text)
        return
    parsed = ModelCode.parse(text)
    assert parsed == expected
    assert (parsed.article, parsed.size_group, parsed.size) == (
        expected.article,
        expected.size_group,
        expected.size,
    )


# --- Model codes built by hand, and their strategies ----------------------------------------------


def test_model_code_parts_must_be_strings() -> None:
    """A size group that is not a string is named in the error."""
    with pytest.raises(ModelCodeError) as caught:
        ModelCode("1001", 5, "42")  # type: ignore[arg-type]
    assert "the size group must be a string, got 5" in str(caught.value)


def test_an_unsized_code_has_a_short_repr() -> None:
    """An unsized code's repr names the article only, and evaluates back to it."""
    code = ModelCode("GIFTBOX")
    assert repr(code) == "ModelCode(article='GIFTBOX')"
    assert eval(repr(code), {"ModelCode": ModelCode}) == code  # noqa: S307 - our own repr


@settings(max_examples=25)
@given(sized=model_codes(sized=True), unsized=model_codes(sized=False))
def test_model_code_strategies_keep_their_kind(sized: ModelCode, unsized: ModelCode) -> None:
    """model_codes(sized=True) draws sized codes only, sized=False unsized ones only."""
    assert sized.is_sized
    assert not unsized.is_sized
    assert ModelCode.parse(str(sized)) == sized
    assert ModelCode.parse(str(unsized)) == unsized
