"""Slash commands in comments: the one parser that decides what a person asked the bot to do.

This module owns finding `/<word> <verb> [args...]` commands in a comment or a
pull-request body. A command is a line that starts (after at most three spaces) with
`/` and the repository's command word, followed by whitespace or the end of the line;
the word and the verb are matched case-insensitively and the verb is lower-cased, the
arguments are split on whitespace and kept as written. `/<word>` alone is `help`.

Only text a reader sees as prose counts (docs/design.md B2, I8): a line in code, a
block quote, an HTML comment or a raw HTML block, or one that starts inside a code span
or a comment running over the lines of a paragraph, never does. Which lines those are is
decided by the Markdown scanner of `bot/engine/markdown.py`, the same one that finds a
proposal's headings. Parts of a command line inside a one-line `<!-- ... -->` are not
arguments, and nothing after an unclosed `<!--` is.

Limits, for untrusted input: only the first 64 KiB (UTF-8) of a text are read (a line
cut by that limit is dropped), at most 20 commands are returned (the first ones), and
the work is linear in the length of the text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from bot.engine.markdown import LINE_BREAK, comment_end, prose_lines

MAX_BYTES = 64 * 1024
MAX_COMMANDS = 20
HELP = "help"


@dataclass(frozen=True)
class Command:
    """One command: its lower-cased verb, its arguments as written, and where it stands."""

    verb: str
    args: tuple[str, ...]
    line: int  # 1-based line of the text
    raw: str  # the command line as written, without surrounding whitespace


def parse_commands(text: str, word: str) -> list[Command]:
    """The commands `/<word> ...` of `text`, in order (at most MAX_COMMANDS)."""
    lines = bounded_lines(text)
    commands: list[Command] = []
    for index in prose_lines(lines):
        command = _command_of(lines[index], word, index + 1)
        if command is not None:
            commands.append(command)
            if len(commands) == MAX_COMMANDS:
                break
    return commands


def new_commands(before: str, after: str, word: str) -> list[Command]:
    """The commands of an edited comment (`after`) that its previous text did not have.

    Commands compare by verb and arguments, counted: a second identical command added
    by the edit is new. The result keeps `after`'s order and line numbers. Both texts
    are read with parse_commands' limits, so a command past the 20th is never new.
    """
    seen = Counter((c.verb, c.args) for c in parse_commands(before, word))
    fresh = []
    for command in parse_commands(after, word):
        key = (command.verb, command.args)
        if seen[key]:
            seen[key] -= 1
        else:
            fresh.append(command)
    return fresh


def bounded_lines(text: str) -> list[str]:
    """The lines of the first MAX_BYTES of `text` (a line cut by the limit is dropped).

    Every reader of untrusted Markdown text reads it through this limit (commands here,
    references in bot/engine/references.py).
    """
    head = text[:MAX_BYTES]  # a character is at least one byte
    encoded = head.encode("utf-8", "surrogatepass")
    if len(encoded) <= MAX_BYTES and len(head) == len(text):
        return LINE_BREAK.split(text)
    kept = encoded[:MAX_BYTES].decode("utf-8", "ignore")
    return LINE_BREAK.split(kept)[:-1]


@lru_cache(maxsize=64)
def _command_pattern(word: str) -> re.Pattern[str]:
    return re.compile(rf" {{0,3}}/{re.escape(word)}(?=\s|$)(?P<rest>.*)", re.I | re.S)


def _command_of(line: str, word: str, number: int) -> Command | None:
    match = _command_pattern(word).match(line)
    if match is None:
        return None
    words = _without_comments(match["rest"]).split()
    verb = words[0].lower() if words else HELP
    return Command(verb, tuple(words[1:]), number, line.strip())


def _without_comments(rest: str) -> str:
    """`rest` without its `<!-- ... -->` parts and whatever follows an unclosed `<!--`."""
    kept, position = [], 0
    while (opening := rest.find("<!--", position)) >= 0:
        kept.append(rest[position:opening])
        closing = comment_end(rest, opening)
        if closing is None:
            return " ".join(kept)
        position = closing
    kept.append(rest[position:])
    return " ".join(kept)
