"""Edges of the command parser's block and inline structure (closing fences indented with
tabs, lazy quote continuation, comments and code spans that close early or late), and the
module-level patterns it is built on, tested directly because mutation testing leaves
them alone.

Where a rule follows CommonMark, the expected result is what GitHub renders: a command
counts only on a line a reader sees as the commenter's own prose.
"""

from __future__ import annotations

import pytest

from bot.engine.commands import MAX_BYTES, _command_pattern, parse_commands
from bot.engine.markdown import _FENCE, _LIST_MARKERS
from bot.engine.period_replay import CONCERN_NAME


def verbs(text: str) -> list[str]:
    return [command.verb for command in parse_commands(text, "kep")]


# Closing fences.


@pytest.mark.parametrize("indent", ["\t", " \t", "  \t", "   \t", "    "])
def test_a_closing_fence_indented_four_columns_does_not_close(indent: str) -> None:
    """A tab reaches the next multiple of four columns: such a fence is code, not a closer."""
    assert verbs(f"```\n/kep reject\n{indent}```\n/kep approve\n") == []


def test_a_closing_fence_indented_three_columns_closes() -> None:
    assert verbs("```\n/kep reject\n   ```\n/kep approve\n") == ["approve"]


def test_a_fence_in_a_list_item_closes_at_the_items_indentation() -> None:
    assert verbs("- ```\n  /kep reject\n  ```\n  /kep approve\n") == ["approve"]


@pytest.mark.parametrize("indent", ["\t", " \t", "  \t", "   \t", "\t "])
def test_a_closing_fence_in_a_list_item_may_be_indented_three_columns_past_its_content(
    indent: str,
) -> None:
    """The item's content starts at column 2; tabs stop at columns 4 and 8."""
    assert verbs(f"- ```\n  /kep reject\n{indent}```\n  /kep approve\n") == ["approve"]


@pytest.mark.parametrize("indent", ["\t  ", "    \t"])
def test_a_fence_in_a_list_item_indented_four_columns_past_its_content_is_code(
    indent: str,
) -> None:
    assert verbs(f"- ```\n  /kep reject\n{indent}```\n  /kep approve\n") == []


@pytest.mark.parametrize("opening", ["   ~~~", " ~~~", "- ~~~", "1. ~~~"])
def test_a_fence_may_open_after_spaces_or_a_list_marker(opening: str) -> None:
    indent = " " * (len(opening) - 3) if opening.startswith(("-", "1")) else ""
    text = f"{opening}\n{indent}/kep reject\n{indent}~~~\n\n/kep approve\n"
    assert verbs(text) == ["approve"]


def test_a_paragraph_after_a_fence_or_an_html_block_starts_afresh() -> None:
    """Four columns right after a closed block are indented code, not a continuation."""
    for block in ["```\ncode\n```", "<pre>\ncode\n</pre>"]:
        assert verbs(f"{block}\n    `x\n/kep approve\n`\n") == ["approve"], block


def test_indented_code_at_the_start_is_no_paragraph() -> None:
    assert verbs("    `code\n/kep approve\n`\n") == ["approve"]
    assert verbs("    <!--\n/kep approve\n-->\n") == ["approve"]


def test_an_html_block_closed_on_its_first_line_hides_nothing_after_it() -> None:
    assert verbs("<pre>`x</pre>\n/kep approve `\n") == ["approve"]
    assert verbs("<pre>code</pre>\n/kep approve\n") == ["approve"]


# Block quotes and lazy continuation.


def test_a_plain_line_after_an_indented_quote_is_quoted_too() -> None:
    assert verbs("  > question\n/kep approve\n") == []


def test_a_quote_may_follow_earlier_text_without_a_blank_line() -> None:
    assert verbs("Some text\n> /kep reject\n") == []
    assert verbs("Some text\n> quoted\n/kep approve\n") == [], "lazy continuation of the quote"


@pytest.mark.parametrize("letter", ["a", "X"])
def test_a_one_letter_quote_takes_the_next_plain_line(letter: str) -> None:
    assert verbs(f"> {letter}\n/kep approve\n") == []


def test_an_indented_line_continues_a_quoted_paragraph_and_so_does_the_next() -> None:
    assert verbs("> question\n    more\n/kep approve\n") == []


@pytest.mark.parametrize("line", ["\u00a0> not a quote", "X> not a quote", "x > not a quote"])
def test_only_spaces_may_come_before_a_quotes_marker(line: str) -> None:
    assert verbs(f"{line}\n/kep approve\n") == ["approve"]


@pytest.mark.parametrize("quoted", ["`code` here", "``", "~strike~", "~"])
def test_a_quoted_paragraph_starting_with_a_backtick_or_tilde_takes_the_next_line(
    quoted: str,
) -> None:
    """Only a fence (three or more) ends a quoted paragraph; one backtick or tilde is text."""
    assert verbs(f"> {quoted}\n/kep approve\n") == []


def test_a_closed_quoted_fence_takes_no_plain_line_after_it() -> None:
    assert verbs("> ```\n> /kep reject\n> ```\n/kep approve\n") == ["approve"]
    assert verbs("> ~~~~\n> text\n> ~~~~\n/kep approve\n") == ["approve"]


# Inline comments and code spans over lines of a paragraph.


def test_an_inline_comment_ends_at_its_first_closer() -> None:
    assert verbs("a <!-- x --> b\n/kep approve\nc -->\n") == ["approve"]


def test_a_comment_of_only_dashes_is_complete() -> None:
    assert verbs("a <!----> b\n/kep approve\n-->\n") == ["approve"]


def test_a_code_span_may_start_right_after_a_comment() -> None:
    assert verbs("a <!-- x -->`code\n/kep approve\nmore`\n") == []


def test_a_backtick_after_an_escaped_one_opens_a_code_span() -> None:
    assert verbs("\\``x\n/kep approve\n`\n") == []
    assert verbs("\\``x\n/kep approve\n") == ["approve"], "and without a closer it is text"


def test_a_code_span_opening_on_a_later_line_of_a_paragraph_hides_the_lines_it_covers() -> None:
    assert verbs("text\na `x\n/kep approve\n`\n") == []


def test_a_code_span_closing_on_a_command_line_hides_it_however_far_down() -> None:
    assert verbs("Run `x\n/kep reject` done\nmore\n") == []
    assert verbs("a `x\n" + "b\n" * 12 + "/kep approve`\n") == []


def test_a_closed_code_span_is_not_read_again() -> None:
    """Its closing backtick opens nothing: the next backtick opens the next span."""
    assert verbs("a `x` b `c\n/kep approve\n`\n") == []
    assert verbs("a `x` b\n/kep approve `\nc `\n") == ["approve"]


def test_an_indented_line_continues_a_paragraph_and_its_code_span() -> None:
    assert verbs("Run `x\n    indented\n/kep approve` now\n") == []


def test_a_list_item_starts_a_paragraph_of_its_own() -> None:
    """A code span cannot run from the paragraph before a list item into the item."""
    assert verbs("Run `x\n- item\n/kep approve\n` done\n") == ["approve"]


def test_comments_on_a_command_line_leave_the_words_around_them() -> None:
    found = parse_commands("/kep defer a <!-- b --> c <!-- d\n", "kep")
    assert [(c.verb, c.args) for c in found] == [("defer", ("a", "c"))]


# Reading the text.


def test_a_text_of_exactly_the_limit_is_read_whole() -> None:
    last = "/kep approve"
    text = "x" * (MAX_BYTES - len(last) - 1) + "\n" + last
    assert len(text.encode()) == MAX_BYTES
    assert verbs(text) == ["approve"]


def test_a_lone_surrogate_in_the_text_is_read_like_any_character() -> None:
    assert verbs("\ud800 odd\n/kep approve\n") == ["approve"]
    long = "\ud800" * MAX_BYTES + "\n/kep approve\n"
    assert verbs(long) == [], "three bytes each: the command is past the limit"


# The patterns themselves.


def test_the_command_pattern_is_the_word_at_a_line_start_then_a_space_or_the_end() -> None:
    pattern = _command_pattern("kep")
    assert pattern is _command_pattern("kep"), "compiled once per word"
    for line in ["/kep", "/KEP approve", "   /kep\tx", "/Kep "]:
        assert pattern.match(line), line
    for line in ["    /kep", "/kepx", "/kep-x", "/kep.x", "x /kep", "/ke", "kep"]:
        assert pattern.match(line) is None, line
    match = pattern.match("  /kep approve now\nmore")
    assert match is not None and match["rest"] == " approve now\nmore"


def test_the_command_word_is_matched_literally() -> None:
    pattern = _command_pattern("my.kep")
    assert pattern.match("/my.kep approve")
    assert pattern.match("/myXkep approve") is None


def test_a_fence_is_three_or_more_of_one_character_then_its_info() -> None:
    for line, run, info in [
        ("```", "```", ""),
        ("~~~", "~~~", ""),
        ("`````python x", "`````", "python x"),
        ("~~~~ yaml", "~~~~", " yaml"),
    ]:
        match = _FENCE.match(line)
        assert match is not None and (match["run"], match["info"]) == (run, info), line
    for line in ["``", "~~", "`~~", "~~`x", " ```", "x```"]:
        assert _FENCE.match(line) is None, line


def test_list_markers_are_bullets_or_numbers_then_one_to_four_spaces() -> None:
    for line, end in [
        ("- x", 2),
        ("* x", 2),
        ("+ x", 2),
        ("   - x", 5),
        ("1. x", 3),
        ("1) x", 3),
        ("123456789. x", 11),
        ("- - x", 4),
        ("-    x", 5),
        ("1.     x", 6),
    ]:
        match = _LIST_MARKERS.match(line)
        assert match is not None and match.end() == end, line
    for line in ["    - x", "-x", "-\tx", "1234567890. x", "a. x", "1.x", "x - y"]:
        assert _LIST_MARKERS.match(line) is None, line


def test_a_concern_name_is_a_letter_or_digit_then_up_to_49_of_letters_digits_dot_dash() -> None:
    for name in ["a", "Z", "7", "naming", "v1.2_rc-3", "a" * 50]:
        assert CONCERN_NAME.fullmatch(name), name
    for name in ["", "-a", ".a", "_a", "a b", "a/b", "é", "a" * 51, "a!"]:
        assert CONCERN_NAME.fullmatch(name) is None, name
