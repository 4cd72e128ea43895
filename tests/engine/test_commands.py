"""The command parser: which lines of a comment are commands, and which never are."""

from __future__ import annotations

import time

import pytest

from bot.engine.commands import (
    MAX_BYTES,
    MAX_COMMANDS,
    Command,
    new_commands,
    parse_commands,
)


def verbs(text: str, word: str = "kep") -> list[str]:
    return [command.verb for command in parse_commands(text, word)]


def found(text: str, word: str = "kep") -> list[tuple[str, tuple[str, ...], int]]:
    return [(c.verb, c.args, c.line) for c in parse_commands(text, word)]


# The command line itself.


def test_a_single_command_has_its_verb_args_line_and_raw_text() -> None:
    assert parse_commands("/kep replace KEP-1234\n", "kep") == [
        Command("replace", ("KEP-1234",), 1, "/kep replace KEP-1234")
    ]


def test_several_commands_in_order_with_their_lines() -> None:
    text = "Thanks, looks good.\n/kep approve\n\nAlso:\n/kep defer later\n/kep status\n"
    assert found(text) == [
        ("approve", (), 2),
        ("defer", ("later",), 5),
        ("status", (), 6),
    ]


def test_word_and_verb_are_case_insensitive_and_the_verb_is_lower_cased() -> None:
    assert found("/KEP Approve\n/Kep DEFER Now\n") == [("approve", (), 1), ("defer", ("Now",), 2)]


def test_arguments_are_split_on_whitespace_and_kept_as_written() -> None:
    assert found("/kep replace   KEP-99\tkubernetes/enhancements#12  \n") == [
        ("replace", ("KEP-99", "kubernetes/enhancements#12"), 1)
    ]


@pytest.mark.parametrize("text", ["/kep", "/kep   ", "/KEP\t"])
def test_the_word_alone_is_help(text: str) -> None:
    assert found(text) == [("help", (), 1)]


@pytest.mark.parametrize("spaces", [0, 1, 2, 3])
def test_up_to_three_leading_spaces_are_allowed(spaces: int) -> None:
    assert verbs(" " * spaces + "/kep approve") == ["approve"]


@pytest.mark.parametrize("prefix", ["    ", "\t", " \t", "text "])
def test_a_command_not_at_the_start_of_a_line_does_not_count(prefix: str) -> None:
    assert verbs(prefix + "/kep approve") == []


@pytest.mark.parametrize(
    "line", ["/kepx approve", "/kep-approve", "/kep_approve", "/ke approve", "kep approve"]
)
def test_another_word_does_not_match(line: str) -> None:
    assert verbs(line) == []


def test_the_word_is_the_configured_one() -> None:
    text = "/kep approve\n/gep accept\n"
    assert verbs(text, "gep") == ["accept"]
    assert verbs(text, "kep") == ["approve"]


def test_a_word_with_a_dash_is_matched_literally() -> None:
    assert verbs("/my-kep approve\n/my_kep reject\n", "my-kep") == ["approve"]


def test_crlf_line_endings() -> None:
    text = "Hi\r\n/kep approve\r\n```\r\n/kep reject\r\n```\r\n/kep defer now\r\n"
    assert found(text) == [("approve", (), 2), ("defer", ("now",), 6)]


def test_a_lone_carriage_return_ends_a_line_too() -> None:
    assert found("text\r/kep approve") == [("approve", (), 2)]


def test_empty_text_has_no_commands() -> None:
    assert parse_commands("", "kep") == []


# Fenced code blocks.


@pytest.mark.parametrize(
    ("fence", "closing"),
    [
        ("```", "```"),
        ("~~~", "~~~"),
        ("````", "````"),
        ("~~~~~", "~~~~~~"),
        ("```python", "```"),
        ("~~~ yaml x", "~~~"),
    ],
)
def test_nothing_counts_inside_a_fence(fence: str, closing: str) -> None:
    text = f"{fence}\n/kep reject\n{closing}\n/kep approve\n"
    assert found(text) == [("approve", (), 4)]


def test_a_fence_closes_only_with_the_same_character() -> None:
    assert verbs("```\n~~~\n/kep reject\n```\n/kep approve") == ["approve"]


def test_a_fence_closes_only_with_a_run_at_least_as_long() -> None:
    text = "````\n```\n/kep reject\n`````\n/kep approve\n"
    assert found(text) == [("approve", (), 5)]


def test_a_closing_fence_cannot_carry_an_info_string() -> None:
    assert verbs("```\n```go\n/kep reject\n```\n/kep approve") == ["approve"]


def test_a_fence_indented_three_spaces_opens_and_closes() -> None:
    assert verbs("   ```\n/kep reject\n   ```\n/kep approve") == ["approve"]


def test_a_four_space_indented_fence_is_not_a_fence() -> None:
    # After a paragraph line, the indented backticks are text; the next line counts.
    assert verbs("text\n    ```\n/kep approve\n") == ["approve"]


def test_a_backtick_fence_with_a_backtick_in_its_info_string_is_not_a_fence() -> None:
    assert verbs("``` a`b\n/kep approve\n") == ["approve"]


def test_an_unclosed_fence_hides_the_rest_of_the_text() -> None:
    assert verbs("/kep approve\n```\n/kep reject\n\n/kep defer\n") == ["approve"]


def test_a_nested_longer_fence_shows_a_shorter_one_as_content() -> None:
    text = "~~~~markdown\n```\n/kep reject\n```\n~~~~\n/kep approve\n"
    assert found(text) == [("approve", (), 6)]


def test_a_fence_in_a_list_item_hides_its_content() -> None:
    text = "- example:\n- ```\n  /kep reject\n  ```\n\n/kep approve\n"
    assert found(text) == [("approve", (), 6)]


def test_a_fence_in_a_list_item_ends_with_the_item() -> None:
    assert verbs("- ```\n  code\n/kep approve\n") == ["approve"]


# Indented code blocks.


def test_indented_code_after_a_blank_line_hides_its_content() -> None:
    text = "Example:\n\n    /kep reject\n    <!--\n\n/kep approve\n"
    assert found(text) == [("approve", (), 6)]


def test_indented_code_at_the_start_with_a_tab() -> None:
    assert verbs("\t/kep reject\n\t```\n/kep approve\n") == ["approve"]


def test_an_indented_line_does_not_open_a_fence() -> None:
    assert verbs("    ```\n/kep approve\n") == ["approve"]


# Block quotes.


@pytest.mark.parametrize("line", ["> /kep approve", ">/kep approve", "   > /kep approve"])
def test_quoted_lines_do_not_count(line: str) -> None:
    assert verbs(f"{line}\n") == []


def test_a_nested_quote_does_not_count() -> None:
    assert verbs("> > /kep approve\n>\n> /kep reject\n") == []


def test_a_plain_line_right_after_a_quote_is_quoted_too() -> None:
    """CommonMark's lazy continuation: GitHub shows the second line inside the quote."""
    assert found("> can someone approve?\n/kep approve\n") == []


def test_a_blank_line_or_a_new_block_ends_the_quote() -> None:
    assert found("> can someone approve?\n\n/kep approve\n") == [("approve", (), 3)]
    assert found(">\n/kep approve\n") == [("approve", (), 2)]


def test_a_fence_inside_a_quote_ends_with_the_quote() -> None:
    assert verbs("> ```\n> /kep reject\n/kep approve\n") == ["approve"]


# HTML comments and raw HTML blocks.


def test_a_one_line_comment_hides_what_is_inside() -> None:
    assert verbs("<!-- /kep approve -->\n") == []


def test_a_multi_line_comment_hides_every_line_to_its_end() -> None:
    text = "<!--\n/kep reject\n/kep defer\n-->\n/kep approve\n"
    assert found(text) == [("approve", (), 5)]


def test_a_comment_block_ends_on_the_line_holding_the_closer() -> None:
    text = "<!-- start\n/kep reject -->\n/kep approve\n"
    assert found(text) == [("approve", (), 3)]


def test_an_unclosed_comment_hides_the_rest() -> None:
    assert verbs("/kep approve\n<!-- TODO\n\n/kep reject\n") == ["approve"]


def test_an_inline_comment_over_lines_of_a_paragraph_hides_them() -> None:
    text = "Looks fine <!-- but wait\n/kep reject\n--> overall.\n/kep approve\n"
    assert found(text) == [("approve", (), 4)]


def test_an_inline_comment_that_never_closes_hides_nothing() -> None:
    assert verbs("We write <!-- in markdown\n/kep approve\n") == ["approve"]


@pytest.mark.parametrize("empty", ["<!-->", "<!--->"])
def test_an_empty_comment_is_complete_and_closes_nothing_later(empty: str) -> None:
    assert verbs(f"a {empty} b\n/kep approve\n-->\n") == ["approve"]
    assert verbs(f"a {empty} b <!-- c\n/kep reject\n-->\n") == []


def test_a_comment_in_a_list_item_hides_its_lines() -> None:
    assert verbs("- item <!--\n  /kep reject\n-->\n/kep approve\n") == ["approve"]


def test_a_one_line_comment_on_a_command_line_is_not_an_argument() -> None:
    assert found("/kep replace KEP-9 <!-- old one --> now\n") == [("replace", ("KEP-9", "now"), 1)]


def test_an_unclosed_comment_on_a_command_line_ends_its_arguments() -> None:
    assert found("/kep approve <!-- because\nof reasons -->\n") == [("approve", (), 1)]


def test_empty_and_adjacent_comments_on_a_command_line() -> None:
    assert found("/kep defer <!---->a<!-->b<!--->c\n") == [("defer", ("a", "b", "c"), 1)]


def test_a_comment_right_after_the_word_leaves_help() -> None:
    assert found("/kep <!-- nothing -->\n") == [("help", (), 1)]


@pytest.mark.parametrize("tag", ["pre", "PRE", "script", "style", "textarea"])
def test_raw_html_blocks_hide_their_content(tag: str) -> None:
    text = f"<{tag}>\n/kep reject\n</{tag}>\n/kep approve\n"
    assert found(text) == [("approve", (), 4)]


def test_other_html_blocks_show_their_text() -> None:
    assert verbs("<details>\n\n/kep approve\n\n</details>\n") == ["approve"]


# Inline code.


def test_a_command_in_backticks_at_the_start_of_a_line_does_not_count() -> None:
    assert verbs("`/kep approve`\n``/kep approve``\n") == []


def test_a_code_span_over_lines_hides_the_lines_it_covers() -> None:
    text = "Run `kubectl\n/kep reject\nfoo` first.\n/kep approve\n"
    assert found(text) == [("approve", (), 4)]


def test_a_code_span_closes_only_with_a_run_of_the_same_length() -> None:
    text = "A ``span ` still\n/kep reject\nopen`` closed\n/kep approve\n"
    assert found(text) == [("approve", (), 4)]


def test_an_unmatched_backtick_hides_nothing() -> None:
    assert verbs("a ` lone backtick\n/kep approve\n") == ["approve"]


def test_an_escaped_backtick_opens_no_span() -> None:
    assert verbs("a \\` b\n/kep approve\nc `\n") == ["approve"]


def test_a_code_span_does_not_cross_a_blank_line() -> None:
    assert verbs("a `b\n\n/kep approve\n`\n") == ["approve"]


def test_a_code_span_does_not_cross_a_heading() -> None:
    assert verbs("# title `x\n/kep approve `\n") == ["approve"]


def test_a_comment_marker_inside_code_opens_no_comment() -> None:
    assert verbs("Use `<!--` to start\n/kep approve\n-->\n") == ["approve"]


def test_backticks_inside_a_comment_open_no_span() -> None:
    assert verbs("a <!-- ` --> b\n/kep approve\nc `\n") == ["approve"]


# Limits.


def test_at_most_twenty_commands_are_returned() -> None:
    text = "".join(f"/kep approve {i}\n" for i in range(50))
    commands = parse_commands(text, "kep")
    assert len(commands) == MAX_COMMANDS == 20
    assert [c.args for c in commands] == [(str(i),) for i in range(20)]


def test_only_the_first_64_kib_are_read() -> None:
    padding = "x" * 80 + "\n"
    head = padding * ((MAX_BYTES - 100) // len(padding))
    text = head + "/kep approve\n" + padding * 10 + "/kep reject\n"
    assert MAX_BYTES == 64 * 1024
    assert len(head) + len("/kep approve\n") < MAX_BYTES < len(text)
    assert verbs(text) == ["approve"]


def test_a_line_cut_by_the_limit_is_dropped() -> None:
    head = "x\n" * ((MAX_BYTES - 6) // 2)
    text = head + "/kep approve and more words\n"
    assert len(head.encode()) < MAX_BYTES < len(text.encode())
    assert verbs(text) == []


def test_the_limit_counts_utf8_bytes() -> None:
    head = ("é" * 40 + "\n") * ((MAX_BYTES - 200) // 81)  # two bytes per é
    text = head + "/kep approve\n" + "é" * 200 + "\n/kep reject\n"
    assert len(text) < MAX_BYTES < len(text.encode())
    assert verbs(text) == ["approve"]


@pytest.mark.parametrize(
    "text",
    [
        "`" * 60_000,
        "<!--" * 15_000,
        "a `b\n" * 12_000,
        "- " * 30_000,
        "\\`" * 30_000,
        "```\n" * 15_000,
        ("` " * 500 + "\n") * 60,
        "/kep approve " + "<!--" * 15_000,
        "/kep approve " + "<!-- -->" * 7_000 + "x",
        "/kep " + "a " * 30_000,
        "- - - 1. " * 6_000 + "```",
        "> " * 30_000,
        "# `" * 20_000,
    ],
    ids=[
        "backticks",
        "comments",
        "open-spans",
        "markers",
        "escapes",
        "fences",
        "runs",
        "command-comments",
        "command-closed-comments",
        "command-args",
        "list-fence",
        "quotes",
        "headings",
    ],
)
def test_pathological_input_is_fast(text: str) -> None:
    start = time.perf_counter()
    parse_commands(text + "\n/kep approve\n", "kep")
    assert time.perf_counter() - start < 1.0


# Edited comments.


def test_an_edit_runs_only_the_commands_it_added() -> None:
    before = "/kep approve\n"
    after = "/kep approve\n/kep defer later\n"
    assert found_new(before, after) == [("defer", ("later",), 2)]


def test_an_unchanged_comment_has_no_new_commands() -> None:
    text = "/kep approve\n/kep replace KEP-1\n"
    assert new_commands(text, text, "kep") == []


def test_a_repeated_identical_command_added_by_an_edit_is_new_once() -> None:
    before = "/kep approve\n"
    after = "/kep approve\ntypo fixed\n/kep approve\n/kep approve\n"
    assert found_new(before, after) == [("approve", (), 3), ("approve", (), 4)]


def test_a_command_with_other_arguments_is_new() -> None:
    assert found_new("/kep replace KEP-1\n", "/kep replace KEP-2\n") == [("replace", ("KEP-2",), 1)]


def test_moving_or_recasing_a_command_does_not_make_it_new() -> None:
    assert new_commands("/kep approve\n", "Edited.\n\n/KEP APPROVE\n", "kep") == []


def test_a_command_taken_out_of_a_code_block_is_new() -> None:
    before = "```\n/kep approve\n```\n"
    assert found_new(before, "/kep approve\n") == [("approve", (), 1)]


def test_removing_commands_adds_none() -> None:
    assert new_commands("/kep approve\n/kep defer\n", "/kep defer\n", "kep") == []


def found_new(before: str, after: str) -> list[tuple[str, tuple[str, ...], int]]:
    return [(c.verb, c.args, c.line) for c in new_commands(before, after, "kep")]
