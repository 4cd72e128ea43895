"""Property tests: on generated documents of every format, an edit reads back and is minimal.

Each generator builds realistic documents line by line and remembers where every
key's lines are, so the tests can demand that exactly those lines change: one line
replaced for a scalar on a one-line value, one line inserted for an absent key, only
the key's span for anything else. Lines are split on "\\n" only (GitHub's lines).
"""

from __future__ import annotations

import datetime
import difflib
import operator
import re
import string
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.config import load_preset
from bot.engine.edits import transition_edit
from bot.engine.formats import FieldTable, FrontMatter, HeaderLines, YamlFile
from bot.engine.formats.base import MetadataFormat, NewValue
from bot.engine.schema import TIMESTAMP, is_timestamp

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

YAML = YamlFile()
FRONT = FrontMatter()
HEADERS = HeaderLines()
TABLE = FieldTable()


@dataclass(frozen=True)
class Entry:
    key: str
    kind: str
    start: int  # 0-based index of the key's first line
    end: int  # index just past its last line


@dataclass(frozen=True)
class Doc:
    text: str
    entries: tuple[Entry, ...]
    insert_at: int  # where an absent key's line must appear

    @property
    def keys(self) -> set[str]:
        return {entry.key for entry in self.entries}


def join(lines: list[str], newline: str, final_newline: bool) -> str:
    return newline.join(lines) + (newline if final_newline and lines else "")


def document(
    lines: list[str], spans: list[Entry], insert_at: int, newline: str, final: bool
) -> Doc:
    return Doc(join(lines, newline, final), tuple(spans), insert_at)


# --- values ---------------------------------------------------------------------------

# Printable on one line in YAML and markdown alike.
PRINTABLE = st.characters(
    exclude_categories=("Cs", "Cc", "Cn", "Zl", "Zp"), exclude_characters="\ufeff"
)
# Built from plain alphabets: st.from_regex is several times slower to draw from.
LOWER = string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits
WORD = st.builds(operator.add, st.sampled_from(ALNUM), st.text(ALNUM + "._/@()+-", max_size=10))
PLAIN = st.lists(WORD, min_size=1, max_size=3).map(" ".join)
COMMENT = st.one_of(st.just(""), st.text(PRINTABLE, max_size=12).map(lambda c: " # " + c))
TRICKY = st.sampled_from(
    [
        "",
        "null",
        "~",
        "NULL",
        "true",
        "0000",
        "1.20",
        "2023-14-05",
        "a: b",
        "a:",
        "#x",
        "x #y",
        "- x",
        "-",
        "?",
        "'q'",
        '"dq"',
        "it's",
        "ünïcödé ✓",
        " lead",
        "trail ",
        "multi\nline",
        "tab\there",
        "---",
        "...",
        "[a, b]",
        "{a: b}",
        "*alias",
        "&anchor",
        "!tag",
        "|",
        ">",
        "%",
        "@at",
        "`tick`",
        "a\\b",
        "\\",
        "\x00\x07\x1b",
        "\u2028",
        "\x85",
        "\ufeff",
        "😀",
        "a,b",
        "key: value # c",
    ]
)
ANY_TEXT = st.one_of(TRICKY, PLAIN, st.text(max_size=30), st.text(PRINTABLE, max_size=30))
YAML_VALUE: st.SearchStrategy[NewValue] = st.one_of(ANY_TEXT, st.none())
YAML_LIST = st.lists(ANY_TEXT, max_size=4)

KEY = st.builds(operator.add, st.sampled_from(LOWER), st.text(LOWER + "0123456789_-", max_size=10))
NEWLINE = st.sampled_from(["\n", "\r\n"])


# --- YAML documents -------------------------------------------------------------------


@st.composite
def yaml_scalar(draw: st.DrawFn) -> str:
    """A scalar as written after `key:` (with its leading space), in one of many styles."""
    kind = draw(st.sampled_from(["plain", "plain", "single", "double", "empty", "null"]))
    text = draw(st.text(PRINTABLE, max_size=15))
    if kind == "plain":
        return " " + draw(PLAIN)
    if kind == "single":
        return " '" + text.replace("'", "''") + "'"
    if kind == "double":
        return ' "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "" if kind == "empty" else " " + draw(st.sampled_from(["null", "~", "Null"]))


@st.composite
def yaml_entry(draw: st.DrawFn, key: str, kind: str, list_style: tuple[int, int]) -> list[str]:
    comment = draw(COMMENT)
    if kind == "scalar":
        return [f"{key}:{draw(yaml_scalar())}{comment}"]
    if kind == "block-list":
        offset, gap = list_style
        items = draw(
            st.lists(st.one_of(PLAIN, yaml_scalar().map(str.strip)), min_size=1, max_size=3)
        )
        return [f"{key}:{comment}"] + [" " * offset + "-" + " " * gap + i for i in items]
    if kind == "mapping":
        subs = draw(st.lists(KEY, min_size=1, max_size=3, unique=True))
        return [f"{key}:"] + [f"  {sub}: {draw(PLAIN)}" for sub in subs]
    if kind == "flow-list":
        return [f"{key}: [{', '.join(draw(st.lists(WORD, max_size=3)))}]{comment}"]
    if kind == "block-scalar":
        lines = draw(st.lists(PLAIN, min_size=1, max_size=3))
        return [f"{key}: {draw(st.sampled_from(['|', '>', '|-', '>-']))}"] + [
            "  " + line for line in lines
        ]
    first, second = draw(WORD), draw(WORD)  # a scalar folded over two lines
    quoted = draw(st.booleans())
    return [f'{key}: "{first}', f'  {second}"'] if quoted else [f"{key}: {first}", f"  {second}"]


YAML_KINDS = [
    "scalar",
    "scalar",
    "scalar",
    "block-list",
    "mapping",
    "flow-list",
    "block-scalar",
    "multi-line",
]
FILLER = st.sampled_from(["", "# a comment", "#", "# status: not a key"])


@st.composite
def yaml_doc(
    draw: st.DrawFn, target_kinds: tuple[str, ...] = (), fenced: bool = False
) -> tuple[Doc, str]:
    """A YAML mapping; with `target_kinds`, one entry of those kinds is the returned key."""
    keys = draw(st.lists(KEY, max_size=6, unique=True))
    if target_kinds:
        keys = keys or ["target"]
    target_index = draw(st.integers(0, len(keys) - 1)) if target_kinds else -1
    list_style = draw(st.sampled_from([(2, 1), (0, 1), (4, 1), (2, 3)]))
    lines: list[str] = []
    if not fenced and draw(st.booleans()):
        lines.append("---")
    lines += draw(st.lists(FILLER, max_size=2))
    entries: list[Entry] = []
    for index, key in enumerate(keys):
        kinds = target_kinds if index == target_index else tuple(YAML_KINDS)
        kind = draw(st.sampled_from(kinds))
        entry_lines = draw(yaml_entry(key, kind, list_style))
        entries.append(Entry(key, kind, len(lines), len(lines) + len(entry_lines)))
        lines += entry_lines
        lines += draw(st.lists(FILLER, max_size=1))
    lines += draw(st.lists(FILLER, max_size=2))
    final = True if fenced else draw(st.booleans())
    doc = document(lines, entries, 0, draw(NEWLINE), final)
    # After the last value, before trailing comments; an empty mapping appends at the end.
    if not entries:
        text_lines = len(doc.text.split("\n"))
        insert_at = text_lines - 1 if doc.text.endswith("\n") or not doc.text else text_lines
    elif _block_scalar_ends_file(doc.text, entries[-1]):
        insert_at = entries[-1].start  # adding after it would add "\n" to its value
    else:
        insert_at = entries[-1].end
    return Doc(doc.text, doc.entries, insert_at), keys[target_index] if target_kinds else ""


def _block_scalar_ends_file(text: str, last: Entry) -> bool:
    key_line = lines(text)[last.start]
    unterminated = len(lines(text)) == last.end and not text.endswith("\n")
    return last.kind == "block-scalar" and unterminated and not key_line.endswith("-")


# --- checks ---------------------------------------------------------------------------


def lines(text: str) -> list[str]:
    """GitHub's lines without their endings (endings are checked on their own)."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def assert_span_replaced(before: str, after: str, start: int, end: int, count: int) -> None:
    """Lines [start, end) of `before` became `count` lines; every other line is unchanged."""
    old, new = lines(before), lines(after)
    kept_after = len(old) - end
    assert new[:start] == old[:start]
    assert new[len(new) - kept_after :] == old[end:]
    # With the lines before and after pinned, the length pins the rest: the change is
    # exactly lines [start, start + count) of `after`. (A diff is no judge here: inserting
    # "  - a" after a list ending in "  - a" has two equally short diffs.)
    assert len(new) == len(old) - (end - start) + count


def assert_one_line_replaced(before: str, after: str, index: int) -> None:
    assert_span_replaced(before, after, index, index + 1, 1)
    changes = [
        op
        for op in difflib.SequenceMatcher(None, lines(before), lines(after)).get_opcodes()
        if op[0] != "equal"
    ]
    assert changes in ([], [("replace", index, index + 1, index, index + 1)])


def assert_lines_inserted(before: str, after: str, index: int, count: int) -> None:
    assert_span_replaced(before, after, index, index, count)


def assert_endings_kept(before: str, after: str) -> None:
    newline = "\r\n" if "\r\n" in before else "\n"
    if newline == "\r\n":
        assert after.count("\n") == after.count("\r\n")
    assert before.endswith("\n") == after.endswith("\n") or not before


def expected(value: NewValue) -> NewValue:
    return list(value) if isinstance(value, list) else value


# --- YAML properties -------------------------------------------------------------------


@SETTINGS
@given(st.data(), yaml_doc(target_kinds=("scalar",)), YAML_VALUE)
def test_yaml_scalar_edit_changes_only_the_keys_line(
    data: st.DataObject, doc_and_key: tuple[Doc, str], value: str | None
) -> None:
    doc, key = doc_and_key
    entry = next(e for e in doc.entries if e.key == key)
    edited = YAML.set_value(doc.text, key, value)
    assert YAML.parse(edited).get(key) == value
    assert_one_line_replaced(doc.text, edited, entry.start)
    assert_endings_kept(doc.text, edited)


@SETTINGS
@given(yaml_doc(target_kinds=tuple(YAML_KINDS)), st.one_of(YAML_VALUE, YAML_LIST))
def test_yaml_edit_of_any_value_changes_only_the_keys_span(
    doc_and_key: tuple[Doc, str], value: NewValue
) -> None:
    doc, key = doc_and_key
    entry = next(e for e in doc.entries if e.key == key)
    edited = YAML.set_value(doc.text, key, value)
    assert YAML.parse(edited).get(key) == expected(value)
    count = 1 + len(value) if isinstance(value, list) and value else 1
    if entry.kind == "scalar" and not isinstance(value, list):
        assert_one_line_replaced(doc.text, edited, entry.start)
    else:
        assert_span_replaced(doc.text, edited, entry.start, entry.end, count)
    assert_endings_kept(doc.text, edited)


@SETTINGS
@given(st.data(), yaml_doc(), st.one_of(YAML_VALUE, YAML_LIST))
def test_yaml_absent_key_adds_only_its_lines(
    data: st.DataObject, doc_and_key: tuple[Doc, str], value: NewValue
) -> None:
    doc, _ = doc_and_key
    key = data.draw(KEY.filter(lambda k: k not in doc.keys), label="new key")
    edited = YAML.set_value(doc.text, key, value)
    metadata = YAML.parse(edited)
    assert metadata.get(key) == expected(value)
    assert {k: f.value for k, f in metadata.fields.items() if k != key} == {
        k: f.value for k, f in YAML.parse(doc.text).fields.items()
    }
    count = 1 + len(value) if isinstance(value, list) and value else 1
    assert_lines_inserted(doc.text, edited, doc.insert_at, count)
    assert_endings_kept(doc.text, edited)


@SETTINGS
@given(yaml_doc())
def test_yaml_generated_documents_read_with_the_generated_lines(
    doc_and_key: tuple[Doc, str],
) -> None:
    doc, _ = doc_and_key
    metadata = YAML.parse(doc.text)
    assert {k: f.line for k, f in metadata.fields.items()} == {
        e.key: e.start + 1 for e in doc.entries
    }
    assert metadata.duplicates == []


# --- front matter properties ------------------------------------------------------------


@st.composite
def front_matter_doc(draw: st.DrawFn, target_kinds: tuple[str, ...] = ()) -> tuple[Doc, str]:
    inner, key = draw(yaml_doc(target_kinds=target_kinds, fenced=True))
    newline = "\r\n" if "\r\n" in inner.text else "\n"
    body = draw(st.lists(st.one_of(PLAIN, st.just("status: prose"), st.just("---")), max_size=3))
    text = (
        "---"
        + newline
        + inner.text
        + "---"
        + newline
        + join(["", "# Title", *body], newline, draw(st.booleans()))
    )
    shifted = tuple(Entry(e.key, e.kind, e.start + 1, e.end + 1) for e in inner.entries)
    return Doc(text, shifted, inner.insert_at + 1), key


@SETTINGS
@given(front_matter_doc(target_kinds=("scalar",)), YAML_VALUE)
def test_front_matter_scalar_edit_changes_only_the_keys_line(
    doc_and_key: tuple[Doc, str], value: str | None
) -> None:
    doc, key = doc_and_key
    entry = next(e for e in doc.entries if e.key == key)
    edited = FRONT.set_value(doc.text, key, value)
    assert FRONT.parse(edited).get(key) == value
    assert FRONT.parse(edited).line_of(key) == entry.start + 1
    assert_one_line_replaced(doc.text, edited, entry.start)


@SETTINGS
@given(st.data(), front_matter_doc(), st.one_of(YAML_VALUE, YAML_LIST))
def test_front_matter_absent_key_adds_only_its_lines(
    data: st.DataObject, doc_and_key: tuple[Doc, str], value: NewValue
) -> None:
    doc, _ = doc_and_key
    key = data.draw(KEY.filter(lambda k: k not in doc.keys), label="new key")
    edited = FRONT.set_value(doc.text, key, value)
    assert FRONT.parse(edited).get(key) == expected(value)
    count = 1 + len(value) if isinstance(value, list) and value else 1
    assert_lines_inserted(doc.text, edited, doc.insert_at, count)


# --- header lines ---------------------------------------------------------------------

HEADER_KEY = st.one_of(
    st.sampled_from(["Status", "Date", "Authors", "Last updated", "Tracking issue", "Created"]),
    st.text(LOWER, min_size=2, max_size=8).map(str.capitalize),
    st.builds(
        "{} {}".format,
        st.text(LOWER, min_size=2, max_size=6).map(str.capitalize),
        st.text(LOWER, min_size=1, max_size=6),
    ),
)
LINE_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\n\r"), max_size=25
)
MARKDOWN_VALUE = st.one_of(LINE_TEXT, TRICKY.filter(lambda v: "\n" not in v))
TAILS = st.sampled_from(["<br/>", "<br/>", "<br>", "<br />", "", "  <br/>", "<br/> "])


def header_value(text: str) -> str | None:
    """What the markdown formats read back for a value written as `text`."""
    return text.strip(" \t") or None


@st.composite
def header_doc(draw: st.DrawFn) -> Doc:
    keys = draw(st.lists(HEADER_KEY, max_size=5, unique=True))
    lines: list[str] = []
    entries: list[Entry] = []
    for key in keys:
        value = draw(st.one_of(PLAIN, st.text(PRINTABLE, max_size=20).map(str.strip)))
        entries.append(Entry(key, "header", len(lines), len(lines) + 1))
        lines.append(f"{key}: {value}{draw(TAILS)}")
    insert_at = len(lines)
    lines += draw(st.lists(st.just(""), max_size=2))
    lines += ["# " + draw(PLAIN)]
    lines += draw(st.lists(st.one_of(PLAIN, st.just("Status: body<br/>")), max_size=3))
    return document(lines, entries, insert_at, draw(NEWLINE), draw(st.booleans()))


@SETTINGS
@given(st.data(), header_doc(), MARKDOWN_VALUE)
def test_header_lines_edit_changes_only_the_keys_line(
    data: st.DataObject, doc: Doc, value: str
) -> None:
    key = data.draw(st.sampled_from(sorted(doc.keys) or ["Status"]), label="key")
    edited = HEADERS.set_value(doc.text, key, value)
    assert HEADERS.parse(edited).get(key) == header_value(value)
    entry = next((e for e in doc.entries if e.key == key), None)
    if entry is None:
        assert_lines_inserted(doc.text, edited, doc.insert_at, 1)
    else:
        assert_one_line_replaced(doc.text, edited, entry.start)
    assert_endings_kept(doc.text, edited)


@SETTINGS
@given(st.data(), header_doc(), st.one_of(MARKDOWN_VALUE, st.lists(PLAIN, max_size=3)))
def test_header_lines_absent_key_adds_one_line(
    data: st.DataObject, doc: Doc, value: str | list[str]
) -> None:
    key = data.draw(HEADER_KEY.filter(lambda k: k not in doc.keys), label="new key")
    edited = HEADERS.set_value(doc.text, key, value)
    text = ", ".join(value) if isinstance(value, list) else value
    assert HEADERS.parse(edited).get(key) == header_value(text)
    assert_lines_inserted(doc.text, edited, doc.insert_at, 1)


# --- field table ----------------------------------------------------------------------

TABLE_TEXT = st.one_of(PLAIN, st.text(PRINTABLE.filter(lambda c: c not in "|`\\"), max_size=15))


def table_can_hold(value: str) -> bool:
    """Whether a cell can hold `value`: not if it reads as a code span or holds `<!--`."""
    text = value.strip(" \t")
    single_line = "\n" not in value and "\r" not in value
    return single_line and not re.fullmatch(r"`[^`]+`", text) and "<!--" not in text


def header_can_hold(value: str) -> bool:
    return "\n" not in value and "\r" not in value


@st.composite
def table_doc(draw: st.DrawFn) -> Doc:
    keys = draw(st.lists(HEADER_KEY, max_size=5, unique=True))
    rows = []
    for key in keys:
        bold = draw(st.booleans())
        text = draw(TABLE_TEXT).strip()
        value = f"`{text}`" if text and draw(st.booleans()) else text
        if draw(st.booleans()):
            value += " <!-- " + draw(PLAIN) + " -->"
        rows.append([f"**{key}**" if bold else key, value])
    cells = [["Field", "Value"], ["---", "---"], *rows]
    aligned = draw(st.booleans())
    widths = [max(len(row[i]) for row in cells) for i in range(2)] if aligned else [0, 0]
    table = []
    for index, (left, right) in enumerate(cells):
        fill = "-" if index == 1 and aligned else " "
        if index == 1 and not aligned:
            table.append("|---|---|")
            continue
        table.append(
            f"|{fill}{left.ljust(widths[0], fill)}{fill}|{fill}"
            f"{right.ljust(widths[1], fill)}{fill}|"
        )
    lines = [f"# KPEP-{draw(st.integers(0, 9999)):04d}: {draw(PLAIN)}"]
    lines += draw(st.sampled_from([[""], ["", "<!--", "| not | this |", "-->", ""]]))
    start = len(lines) + 2
    entries = [Entry(key, "row", start + i, start + i + 1) for i, key in enumerate(keys)]
    lines += table
    insert_at = len(lines)
    lines += draw(st.sampled_from([[], ["", "## Summary", "", "| a | b |", "|---|---|"]]))
    return document(lines, entries, insert_at, draw(NEWLINE), draw(st.booleans()))


@SETTINGS
@given(st.data(), table_doc(), MARKDOWN_VALUE)
def test_field_table_edit_changes_only_the_keys_row(
    data: st.DataObject, doc: Doc, value: str
) -> None:
    key = data.draw(st.sampled_from(sorted(doc.keys) or ["Status"]), label="key")
    try:
        edited = TABLE.set_value(doc.text, key, value)
    except ValueError:
        assert not table_can_hold(value), "refused a value a cell can hold"
        return
    assert TABLE.parse(edited).get(key) == header_value(value)
    entry = next((e for e in doc.entries if e.key == key), None)
    if entry is None:
        assert_lines_inserted(doc.text, edited, doc.insert_at, 1)
    else:
        assert_one_line_replaced(doc.text, edited, entry.start)
    assert_endings_kept(doc.text, edited)


@SETTINGS
@given(table_doc())
def test_field_table_generated_documents_read_every_row(doc: Doc) -> None:
    metadata = TABLE.parse(doc.text)
    assert {k: f.line for k, f in metadata.fields.items()} == {
        e.key: e.start + 1 for e in doc.entries
    }


@pytest.mark.parametrize(
    ("fmt", "can_hold"),
    [(HEADERS, header_can_hold), (TABLE, table_can_hold)],
    ids=["header-lines", "field-table"],
)
@SETTINGS
@given(value=st.one_of(st.text(max_size=20), TRICKY))
def test_markdown_formats_refuse_rather_than_corrupt(
    fmt: MetadataFormat, can_hold: Callable[[str], bool], value: str
) -> None:
    text = (  # both a header-lines and a field-table document
        "Status: a<br/>\n\n# KPEP-0001: T\n\n| Field | Value |\n|---|---|\n| **Status** | `a` |\n"
    )
    try:
        edited = fmt.set_value(text, "Status", value)
    except ValueError:
        assert not can_hold(value), "refused a value the format can hold"
        return
    assert fmt.parse(edited).get("Status") == header_value(value)
    assert len(lines(edited)) == len(lines(text))


# --- kepctl metadata (the `kepctl` preset) ----------------------------------------------

KEPCTL = load_preset("kepctl")
KEPCTL_STATES = KEPCTL.status_names
NOW = st.datetimes(
    min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2099, 12, 31)
).map(lambda moment: moment.replace(tzinfo=datetime.UTC))


@st.composite
def kepctl_timestamp(draw: st.DrawFn) -> str:
    """An RFC 3339 timestamp in one of the forms Go and people write."""
    moment = draw(NOW)
    digits = draw(st.sampled_from([0, 1, 3, 6, 9]))
    fraction = (
        "."
        + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=digits, max_size=digits)))
        if digits
        else ""
    )
    zone = draw(st.sampled_from(["Z", "z", "+00:00", "-07:00", "+05:30"]))
    separator = draw(st.sampled_from(["T", "t"]))
    return moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S") + fraction + zone


SECTION_NAMES = ["summary.md", "motivation.md", "README.md", "guides/developer.md"]


@st.composite
def kepctl_doc(draw: st.DrawFn) -> tuple[Doc, dict[str, NewValue]]:
    """kepctl metadata: the preset's keys in any order, with the values kepctl writes; and
    the value each key was written with."""
    values: dict[str, NewValue] = {
        "title": draw(PLAIN),
        "kep_number": draw(st.sampled_from(["null", "", "7", "1234"])),
        "state": draw(st.sampled_from(KEPCTL_STATES)),
        "last_updated": draw(kepctl_timestamp()),
        "created": draw(kepctl_timestamp()),
        "uuid": str(draw(st.uuids())),
        "owning_sig": "sig-" + draw(st.text(LOWER, min_size=1, max_size=8)),
        "sig_wide": draw(st.sampled_from(["true", "false"])),
    }
    entries = {key: [f"{key}: {value}"] for key, value in values.items()}
    values["kep_number"] = values["kep_number"] if values["kep_number"] in ("7", "1234") else None
    offset, gap = draw(st.sampled_from([(2, 1), (0, 1), (4, 1)]))
    logins = st.lists(WORD, max_size=3)
    for key in ("authors", "reviewers", "approvers", "superseded_by", "sections"):
        if key == "sections":
            items = draw(st.lists(st.sampled_from(SECTION_NAMES), max_size=4, unique=True))
            written = items
        else:
            items = [f"@{login}" for login in draw(logins)]
            written = [f'"{item}"' for item in items]
        if items or key == "authors":  # `authors:` alone is null
            lead = " " * offset + "-" + " " * gap
            entries[key] = [f"{key}:"] + [lead + item for item in written]
            values[key] = list(items) if items else None
        else:
            entries[key], values[key] = [f"{key}: []"], []
    lines: list[str] = []
    spans: list[Entry] = []
    for key in draw(st.permutations(list(entries))):
        block = entries[key]
        if draw(st.booleans()):
            lines.append(draw(FILLER))
        kind = "block" if len(block) > 1 else "scalar"
        spans.append(Entry(key, kind, len(lines), len(lines) + len(block)))
        lines += block
    doc = document(lines, spans, len(lines), draw(NEWLINE), draw(st.booleans()))
    return doc, values


@SETTINGS
@given(kepctl_doc())
def test_kepctl_metadata_reads_back_as_written(
    doc_and_values: tuple[Doc, dict[str, NewValue]],
) -> None:
    doc, values = doc_and_values
    metadata = YAML.parse(doc.text)
    assert {k: f.line for k, f in metadata.fields.items()} == {
        e.key: e.start + 1 for e in doc.entries
    }
    assert {k: f.value for k, f in metadata.fields.items()} == values
    assert metadata.get("kep_number") in (None, "7", "1234")
    assert is_timestamp(str(metadata.get("created")))


def changed_spans(before: str, after: str) -> list[tuple[int, int]]:
    """The line ranges of `before` that differ in `after` (an insertion is an empty range)."""
    matcher = difflib.SequenceMatcher(None, lines(before), lines(after), autojunk=False)
    return [(i1, i2) for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal"]


@SETTINGS
@given(kepctl_doc(), st.sampled_from(KEPCTL_STATES), NOW)
def test_kepctl_transition_changes_only_state_last_updated_and_sections(
    doc_and_values: tuple[Doc, dict[str, NewValue]], status: str, now: datetime.datetime
) -> None:
    doc, values = doc_and_values
    edited = transition_edit(KEPCTL, doc.text, status=status, today=now)
    plan = values["state"] == status == "provisional"  # PLAN: provisional stays provisional
    if values["state"] == status and not plan:
        assert edited == doc.text
        return
    spans = {e.key: e for e in doc.entries}
    allowed = [spans[key] for key in ("state", "last_updated", "sections" if plan else "state")]
    inside = {line for e in allowed for line in range(e.start, e.end)}
    for i1, i2 in changed_spans(doc.text, edited):
        if i1 == i2:  # lines added: inside or at the end of an allowed entry
            assert any(e.start <= i1 <= e.end for e in allowed), i1
        assert set(range(i1, i2)) <= inside, (i1, i2)
    assert_endings_kept(doc.text, edited)
    after = YAML.parse(edited)
    assert after.get("state") == status
    listed = values["sections"] if isinstance(values["sections"], list) else []
    implementable = KEPCTL.status("implementable")
    assert implementable is not None
    added = [n for n in implementable.sections if n not in listed] if plan else []
    assert after.get("sections") == ([*listed, *added] if added else values["sections"])
    was, stamp = str(values["last_updated"]), str(after.get("last_updated"))
    assert is_timestamp(stamp)
    form, written = TIMESTAMP.fullmatch(was), TIMESTAMP.fullmatch(stamp)
    assert form is not None and written is not None
    assert written["t"] == form["t"]
    assert len(written["fraction"] or "") == len(form["fraction"] or "")
    assert written["zone"] == (form["zone"] if form["zone"] in ("Z", "z") else "+00:00")
    moment = datetime.datetime.fromisoformat(stamp.upper()[:19] + "+00:00")
    assert moment == now.replace(microsecond=0)
    kept = {"state", "last_updated", "sections"}
    assert {k: f.value for k, f in after.fields.items() if k not in kept} == {
        k: v for k, v in values.items() if k not in kept
    }


@SETTINGS
@given(kepctl_doc(), st.integers(1, 99999))
def test_kepctl_number_changes_only_the_kep_number_line(
    doc_and_values: tuple[Doc, dict[str, NewValue]], number: int
) -> None:
    doc, _ = doc_and_values
    entry = next(e for e in doc.entries if e.key == "kep_number")
    edited = YAML.set_value(doc.text, "kep_number", str(number))
    assert YAML.parse(edited).get("kep_number") == str(number)
    assert_one_line_replaced(doc.text, edited, entry.start)
    assert_endings_kept(doc.text, edited)
