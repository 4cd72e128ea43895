"""Property tests of the command parser on generated comments.

Comments are built from blocks of prose that cannot themselves be commands or open
code, quotes or comments; commands are put between them at line starts, or wrapped in
a fence, a quote or an HTML comment.
"""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests_support import examples

from bot.engine.commands import MAX_COMMANDS, new_commands, parse_commands

SETTINGS = settings(
    max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
WORD = "kep"

# Prose lines start with a letter and hold no backtick, `<`, `>` or `\`, so they open
# nothing; inside them a command-like text is never at a line start.
_prose_char = st.characters(
    codec="utf-8",
    exclude_categories=("Cc", "Cs", "Zl", "Zp"),
    exclude_characters="`<>\\\r\n",
)
prose_line = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCXYZ"),
    st.text(_prose_char, max_size=40),
)
prose_block = st.lists(prose_line, min_size=0, max_size=3)

verb = st.from_regex(r"[a-z][a-z-]{0,11}", fullmatch=True)
argument = st.from_regex(r"[A-Za-z0-9#/._-]{1,12}", fullmatch=True)
command = st.tuples(verb, st.lists(argument, max_size=3).map(tuple))


def render(command: tuple[str, tuple[str, ...]]) -> str:
    name, args = command
    return " ".join([f"/{WORD}", name, *args])


@st.composite
def comment_with_commands(
    draw: st.DrawFn,
) -> tuple[str, list[tuple[str, tuple[str, ...], int]]]:
    """A comment and the (verb, args, line) of each command placed in it."""
    commands = draw(st.lists(command, min_size=1, max_size=MAX_COMMANDS))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines: list[str] = []
    expected = []
    for item in commands:
        lines += draw(prose_block)
        if draw(st.booleans()):
            lines.append("")
        lines.append(" " * draw(st.integers(0, 3)) + render(item))
        expected.append((item[0], item[1], len(lines)))
    lines += draw(prose_block)
    return newline.join(lines) + newline, expected


@given(comment_with_commands())
@SETTINGS
def test_commands_at_line_starts_are_all_found_in_order(
    case: tuple[str, list[tuple[str, tuple[str, ...], int]]],
) -> None:
    text, expected = case
    assert [(c.verb, c.args, c.line) for c in parse_commands(text, WORD)] == expected


def fenced(lines: list[str], draw: st.DrawFn) -> list[str]:
    char = draw(st.sampled_from("`~"))
    length = draw(st.integers(3, 6))
    info = draw(st.sampled_from(["", "text", " yaml", "markdown title"]))
    closing = char * (length + draw(st.integers(0, 2)))
    return [char * length + info, *lines, closing]


def quoted(lines: list[str], draw: st.DrawFn) -> list[str]:
    return [draw(st.sampled_from([">", "> ", "  > ", "> > "])) + line for line in lines]


def commented(lines: list[str], draw: st.DrawFn) -> list[str]:
    if len(lines) == 1 and draw(st.booleans()):
        return [f"<!-- {lines[0]} -->"]
    return ["<!--" + draw(st.sampled_from(["", " note"])), *lines, "-->"]


def in_code_span(lines: list[str], draw: st.DrawFn) -> list[str]:
    ticks = "`" * draw(st.integers(1, 3))
    return [f"Run {ticks}this", *lines, f"that{ticks} now"]


WRAPPERS = [fenced, quoted, commented, in_code_span]


@st.composite
def comment_with_hidden_commands(draw: st.DrawFn) -> str:
    blocks: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        blocks += draw(prose_block)
        blocks.append("")
        inner = [render(item) for item in draw(st.lists(command, min_size=1, max_size=4))]
        wrap = draw(st.sampled_from(WRAPPERS))
        blocks += wrap(inner, draw)
        blocks.append("")
    return "\n".join(blocks)


@given(comment_with_hidden_commands())
@SETTINGS
def test_commands_in_fences_quotes_comments_and_code_are_never_found(text: str) -> None:
    assert parse_commands(text, WORD) == []


@given(comment_with_hidden_commands(), comment_with_commands())
@SETTINGS
def test_hidden_commands_do_not_disturb_the_visible_ones(
    hidden: str, case: tuple[str, list[tuple[str, tuple[str, ...], int]]]
) -> None:
    text, expected = case
    offset = hidden.count("\n") + 1
    found = parse_commands(hidden + "\n" + text, WORD)
    assert [(c.verb, c.args, c.line - offset) for c in found] == expected


markdown_token = st.one_of(
    st.sampled_from(["`", "```", "~~~", "<!--", "-->", ">", "\\", "    ", "\t", "- ", "\n"]),
    st.sampled_from(["\r\n", "\r", "/kep", "/kep approve", "<pre>", "</pre>", "#", " "]),
    st.characters(codec="utf-8"),
)
markdownish = st.lists(markdown_token, max_size=300).map("".join)


@given(st.lists(markdownish, max_size=6).map("".join))
@SETTINGS
def test_parsing_never_raises_and_is_fast(text: str) -> None:
    start = time.perf_counter()
    commands = parse_commands(text, WORD)
    assert time.perf_counter() - start < 0.5
    assert len(commands) <= MAX_COMMANDS
    assert all(c.verb == c.verb.lower() and c.verb for c in commands)
    assert [c.line for c in commands] == sorted({c.line for c in commands})


@given(st.text(max_size=2000))
@SETTINGS
def test_any_text_parses(text: str) -> None:
    commands = parse_commands(text, WORD)
    assert all(c.raw.lower().startswith(f"/{WORD}") for c in commands)


@given(st.one_of(markdownish, comment_with_commands().map(lambda case: case[0])))
@SETTINGS
def test_an_unedited_comment_has_no_new_commands(text: str) -> None:
    assert new_commands(text, text, WORD) == []


@given(comment_with_commands(), command)
@SETTINGS
def test_a_command_appended_by_an_edit_is_the_only_new_one(
    case: tuple[str, list[tuple[str, tuple[str, ...], int]]],
    added: tuple[str, tuple[str, ...]],
) -> None:
    text, expected = case
    if len(expected) == MAX_COMMANDS:
        text = text.rsplit("/kep", 1)[0]  # make room under the cap
    edited = text + "\n" + render(added) + "\n"
    fresh = new_commands(text, edited, WORD)
    assert [(c.verb, c.args) for c in fresh] == [added]
