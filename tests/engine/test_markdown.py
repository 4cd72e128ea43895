"""The Markdown scanner: one reading of fences, comments, quotes and code for commands and
headings alike, and the rules GitHub's Markdown (CommonMark) sets where the two readers
used to differ.

Each case is written so that the expected result is what GitHub renders.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests_support import examples

from bot.engine import markdown
from bot.engine.commands import parse_commands
from bot.engine.references import visible_text


def heading_lines(text: str) -> list[tuple[int, str, int]]:
    return [(h.level, h.text, h.line) for h in markdown.headings(text)]


def verbs(text: str) -> list[str]:
    return [command.verb for command in parse_commands(text, "kep")]


# One scanner: what hides a command hides a heading, and what shows one shows the other.

HIDING = {  # opening, indentation of the lines inside, closing
    "backtick fence": ("```\n", "", "```\n"),
    "tilde fence": ("~~~ yaml\n", "", "~~~\n"),
    "longer fence": ("````\n```\n", "", "````\n"),
    "html comment": ("<!-- note\n", "", "-->\n"),
    "pre block": ("<pre>\n", "", "</pre>\n"),
    "script block": ("<script>\n", "", "</script>\n"),
    "fence in a list item": ("- ```\n", "  ", "  ```\n"),
    "fence in a nested item": ("- a\n  - b\n  ```\n", "  ", "    ```\n"),
}


@pytest.mark.parametrize("name", sorted(HIDING))
def test_a_block_hides_commands_and_headings_alike(name: str) -> None:
    opening, indent, closing = HIDING[name]
    hidden = f"# Title\n\n{opening}{indent}# Inside\n{indent}/kep reject\n{closing}\n"
    text = hidden + "## After\n\n/kep approve\n"
    after = hidden.count("\n") + 1
    assert heading_lines(text) == [(1, "Title", 1), (2, "After", after)]
    assert verbs(text) == ["approve"]
    assert "reject" not in visible_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "> # Quoted\n> /kep reject\n",
        "Example:\n\n    # indented\n    /kep reject\n",
        "```\n# open\n/kep reject\n",
        "<!--\n# open\n/kep reject\n",
    ],
    ids=["quote", "indented code", "unclosed fence", "unclosed comment"],
)
def test_what_hides_a_command_hides_a_heading(text: str) -> None:
    assert verbs(text) == []
    assert heading_lines(text) == []


# Rules the heading reader follows now, as GitHub does (it used to close fences early, and
# took a line holding ``` anywhere at its start for a fence).


def test_a_fence_closes_only_with_a_run_at_least_as_long() -> None:
    assert heading_lines("````\n```\n# Inside\n````\n# After\n") == [(1, "After", 5)]


def test_a_closing_fence_carries_no_info_string() -> None:
    assert heading_lines("```\n```go\n# Inside\n```\n# After\n") == [(1, "After", 5)]


def test_a_fence_indented_four_columns_does_not_close() -> None:
    text = "```\n# Inside\n    ```\n# Inside too\n```\n# After\n"
    assert heading_lines(text) == [(1, "After", 6)]


def test_a_fence_closes_only_with_its_own_character() -> None:
    assert heading_lines("~~~\n# Inside\n```\n~~~\n# After\n") == [(1, "After", 5)]


def test_backticks_with_a_backtick_after_them_are_a_code_span_not_a_fence() -> None:
    """As in kubernetes/enhancements KEPs: ```name``` at a line start is inline code."""
    text = "# Title\n```node.kubernetes.io/x``` is added.\n\n## After\n"
    assert heading_lines(text) == [(1, "Title", 1), (2, "After", 4)]


def test_raw_html_blocks_hide_headings() -> None:
    assert heading_lines("<pre>\n# Inside\n</pre>\n# After\n") == [(1, "After", 4)]


def test_an_indented_comment_marker_is_code_and_hides_nothing() -> None:
    assert heading_lines("Text\n\n    <!--\n# After\n") == [(1, "After", 4)]


def test_a_lone_hash_is_an_empty_heading_that_ends_the_section() -> None:
    found = markdown.headings("# A\ntext\n#\nmore\n")
    assert [(h.level, h.text, h.line) for h in found] == [(1, "A", 1), (1, "", 3)]
    assert found[0].body == "text"


def test_a_closing_run_of_hashes_is_not_part_of_the_title() -> None:
    assert heading_lines("## Design ##\n###   Spaced   #\t\n") == [
        (2, "Design", 1),
        (3, "Spaced", 2),
    ]


@pytest.mark.parametrize("separator", ["\x0c", "\x0b", "\x1c", "\x85", "\u2028", "\u2029"])
def test_only_markdowns_line_endings_end_a_line(separator: str) -> None:
    """A form feed or a Unicode line separator is a character of its line, so heading
    line numbers are the file's."""
    text = f"# A\nx{separator}y\n# B\n"
    assert heading_lines(text) == [(1, "A", 1), (1, "B", 3)]
    assert markdown.headings(text)[0].body == f"x{separator}y"


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_each_markdown_line_ending_ends_a_line(ending: str) -> None:
    text = ending.join(["# A", "text", "## B", "more", ""])
    assert heading_lines(text) == [(1, "A", 1), (2, "B", 3)]
    assert verbs(ending.join(["x", "/kep approve", ""])) == ["approve"]


# Fences inside list items: a fence belongs to the item it is indented into.


def test_a_fence_closes_at_the_indentation_of_the_item_it_is_in() -> None:
    """kubernetes/enhancements KEP 3762's shape: the fence opens two columns in (the outer
    item's content) and closes four columns in, which is two past that item's content."""
    text = "* a\n  * b\n  ```\n    # Inside\n    ```\n## After\n"
    assert heading_lines(text) == [(2, "After", 6)]
    assert verbs("* a\n  ```\n  /kep reject\n    ```\n/kep approve\n") == ["approve"]


def test_a_line_indented_less_than_the_item_ends_its_fence() -> None:
    text = "- a\n  ```\n  # Inside\n # After\n"
    assert heading_lines(text) == [(1, "After", 4)]
    assert verbs("- a\n  ```\n  /kep reject\n/kep approve\n") == ["approve"]


def test_a_lazy_line_keeps_the_list_item_open_for_a_later_fence() -> None:
    text = "- a\nlazy\n  ```\n  # Inside\n    ```\n# After\n"
    assert heading_lines(text) == [(1, "After", 6)]


def test_a_paragraph_at_column_zero_ends_the_list_items() -> None:
    """The fence opened after it is not in the item: a closer four columns in is code."""
    text = "- a\n\nText\n  ```\n  # Inside\n    ```\n# Inside too\n"
    assert heading_lines(text) == []


# Comments in a section's content.


@pytest.mark.parametrize("empty", ["<!-->", "<!--->"])
def test_an_empty_comment_hides_nothing_after_it(empty: str) -> None:
    assert markdown.has_content(f"{empty}\nReal text\n<!-- note -->\n")
    assert not markdown.has_content(f"{empty}\n<!-- note -->\n")


def test_an_unclosed_comment_in_a_section_is_text() -> None:
    assert markdown.has_content("Text with <!-- in it\n")
    assert not markdown.has_content("<!-- a\nb -->\n\n<!-- c -->\n")


def test_kinds_name_each_line() -> None:
    text = "# T\n\n- item\ntext\n```\ncode\n```\n> q\nlazy\n---\n<!-- c -->"
    assert markdown.kinds(markdown.split_lines(text)) == [
        markdown.Kind.HEADING,
        markdown.Kind.BLANK,
        markdown.Kind.START,
        markdown.Kind.TEXT,
        markdown.Kind.HIDDEN,
        markdown.Kind.HIDDEN,
        markdown.Kind.HIDDEN,
        markdown.Kind.QUOTE,
        markdown.Kind.QUOTE,
        markdown.Kind.BREAK,
        markdown.Kind.HIDDEN,
    ]


def test_the_fast_paths_read_lines_as_the_full_rules_do() -> None:
    """`scan` skips the full rules for plain, blank, heading and indented lines; feeding
    the same lines one by one to `classify` gives the same kinds."""
    text = (
        "# T\n\nText\n    more\n\n    code\n> q\nlazy\n    lazy too\n\n- a\n  ```\n  x\n    ```\n"
        "Para\n#\n<!--\nc\n-->\n\tcode\n```\n# in\n```\n(x)\n"
    )
    lines = markdown.split_lines(text)
    one_by_one = markdown.Blocks()
    assert markdown.kinds(lines) == [one_by_one.classify(line) for line in lines]


_token = st.sampled_from(
    [
        *["`", "```", "~~~", "<!--", "-->", ">", "> ", "    ", "  ", "\t", "- ", "1. ", "#"],
        *["# ", "\n", "\n", "\n\n", "\r\n", "<pre>", "</pre>", "x", "Text ", "---", "*", "_"],
        "\u00a0",
    ]
)


@given(st.lists(_token, max_size=80).map("".join))
@settings(max_examples=examples(300), deadline=None)
def test_the_fast_paths_agree_with_the_full_rules_on_any_text(text: str) -> None:
    lines = markdown.split_lines(text)
    one_by_one = markdown.Blocks()
    assert markdown.kinds(lines) == [one_by_one.classify(line) for line in lines]
