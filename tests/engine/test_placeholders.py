"""Placeholder numbers: which written numbers stand for "not assigned yet".

A missing number, and one written as empty, `null` or `~` (YAML's spellings of nothing),
is a placeholder when the preset names the empty placeholder `""` or names none at all;
any other text is one when it is exactly one of the preset's forms (`YYYYMMDD` in a form
stands for eight digits).
"""

from __future__ import annotations

import pytest

from bot.engine.config import Config, load_preset
from bot.engine.numbering import _placeholder_regex, is_placeholder


def with_placeholders(*forms: str) -> Config:
    config = load_preset("kep")
    proposals = config.proposals.model_copy(update={"placeholders": list(forms)})
    return config.model_copy(update={"proposals": proposals})


NOTHING = [None, "", "   ", "null", " null ", "~", "\t~"]


@pytest.mark.parametrize("number", NOTHING)
def test_nothing_is_a_placeholder_where_the_empty_form_is_named(number: str | None) -> None:
    assert is_placeholder(load_preset("kep"), number)  # ["NNNN", "XXXX", "0000", ""]
    assert is_placeholder(with_placeholders(""), number)


@pytest.mark.parametrize("number", NOTHING)
def test_nothing_is_no_placeholder_where_only_other_forms_are_named(number: str | None) -> None:
    assert not is_placeholder(load_preset("agentic"), number)  # ["XXXX", "00XX"]
    assert not is_placeholder(load_preset("kpep"), number)  # ["NNNN"]


@pytest.mark.parametrize("number", NOTHING)
def test_nothing_is_a_placeholder_where_no_form_is_named(number: str | None) -> None:
    assert is_placeholder(with_placeholders(), number)


def test_null_and_tilde_are_only_spelled_so() -> None:
    config = load_preset("kep")
    for number in ["NULL", "Null", "none", "~~", "nil", "0"]:
        assert not is_placeholder(config, number), number


def test_a_form_is_a_placeholder_written_exactly_around_spaces() -> None:
    config = load_preset("kep")
    for number in ["NNNN", " XXXX ", "0000"]:
        assert is_placeholder(config, number), number
    for number in ["nnnn", "NNNNN", "NNN", "1234", "KEP-NNNN", "X XXX"]:
        assert not is_placeholder(config, number), number


def test_with_no_form_named_no_written_number_is_a_placeholder() -> None:
    config = with_placeholders()
    for number in ["NNNN", "0000", "x"]:
        assert not is_placeholder(config, number), number


def test_a_date_form_stands_for_eight_digits() -> None:
    config = load_preset("kep-2017")  # ["draft-YYYYMMDD", ""]
    assert is_placeholder(config, "draft-20240101")
    for number in ["draft-2024010", "draft-202401011", "draft-2024-01-01", "draftX20240101"]:
        assert not is_placeholder(config, number), number


def test_the_placeholder_pattern_escapes_each_form_and_matches_any_of_them() -> None:
    pattern = _placeholder_regex(("a.b", "KEP-(N)", "v*-YYYYMMDD"))
    assert pattern is _placeholder_regex(("a.b", "KEP-(N)", "v*-YYYYMMDD")), "compiled once"
    for text in ["a.b", "KEP-(N)", "v*-12345678"]:
        assert pattern.fullmatch(text), text
    for text in ["aXb", "KEP-N", "vv-12345678", "v*-YYYYMMDD", "a.bKEP-(N)"]:
        assert pattern.fullmatch(text) is None, text


def test_the_placeholder_pattern_of_no_forms_matches_nothing() -> None:
    pattern = _placeholder_regex(())
    assert pattern.fullmatch("") is None and pattern.match("anything") is None
