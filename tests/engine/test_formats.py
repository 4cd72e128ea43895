"""Unit tests for the four metadata formats and their registry."""

from __future__ import annotations

import difflib
import time

import pytest

from bot.engine.formats import (
    FORMATS,
    FieldTable,
    FormatError,
    FrontMatter,
    HeaderLines,
    YamlFile,
    get_format,
    yaml_load,
)
from bot.engine.formats.base import Field, MetadataFormat, NewValue

YAML = YamlFile()
FRONT = FrontMatter()
HEADERS = HeaderLines()
TABLE = FieldTable()

KEP = """\
title: Pod Index Label
kep-number: 0000
authors:
  - "@alice"
  - '@bob'
owning-sig: sig-apps
status: implementable # provisional|implementable|implemented
creation-date: 2023-14-05
reviewers:
  - TBD

# The target maturity stage in the current dev cycle for this KEP.
stage: beta
latest-milestone: 1.20
milestone:
  alpha: "v1.28"
  beta: 'v1.29'
feature-gates:
  - name: PodIndexLabel
    components:
      - kube-apiserver
disable-supported: true
metrics:
"""

AGENTIC = """\
Date: 17th November 2025<br/>
Authors: haiyanmeng, guicassolato<br/>
Status: Provisional<br/>

# Tool Authorization in Agentic Networking

This proposal defines authorization policies. Key: value<br/> lines here are prose.
"""

KPEP = """\
# KPEP-0001: Pluggable storage backends

| Field | Value |
|---|---|
| **Status** | `provisional` |
| **Authors** | @zachsmith |
| **Last updated** | 2026-06-02 |
| **Affected repos** | `kplane-dev/storage` (registry), `kplane-dev/apiserver` |
| **Supersedes** | N/A |

## Summary

| Other | Table |
|---|---|
| **Status** | `not-metadata` |
"""

KPEP_TEMPLATE = """\
# KPEP-NNNN: <Short, descriptive title>

<!--
Copy this file when starting a new KPEP.
| not | a table |
-->

| Field | Value |
|---|---|
| **Status** | `provisional` <!-- or implementable / implemented --> |
| **Created** | YYYY-MM-DD |
"""

FRONT_MATTER = """\
---
kep-number: 8
title: Kubectl Plugins
status: Draft
---

# Kubectl Plugins
"""


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) between two texts, endings included."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(True), after.splitlines(True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def lines_of(metadata_fields: dict[str, Field]) -> dict[str, int]:
    return {key: field.line for key, field in metadata_fields.items()}


# --- registry ------------------------------------------------------------------------


def test_registry_holds_the_four_formats_by_name() -> None:
    assert sorted(FORMATS) == ["field-table", "front-matter", "header-lines", "yaml"]
    for name, fmt in FORMATS.items():
        assert fmt.name == name
        assert get_format(name) is fmt


def test_unknown_format_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="field-table, front-matter, header-lines, yaml"):
        get_format("toml")


# --- YAML: reading -------------------------------------------------------------------


def test_yaml_reads_every_scalar_as_its_source_text() -> None:
    metadata = YAML.parse(KEP)
    assert metadata.get("kep-number") == "0000"
    assert metadata.get("latest-milestone") == "1.20"
    assert metadata.get("creation-date") == "2023-14-05"
    assert metadata.get("disable-supported") == "true"
    assert metadata.get("status") == "implementable"
    assert metadata.get("authors") == ["@alice", "@bob"]
    assert metadata.get("metrics") is None


def test_yaml_null_forms_read_as_none_but_quoted_ones_do_not() -> None:
    metadata = YAML.parse("a: null\nb: ~\nc:\nd: 'null'\ne: \"~\"\nf: ''\ng: NULL\nh: nil\n")
    assert [metadata.get(key) for key in "abcdefgh"] == [
        None,
        None,
        None,
        "null",
        "~",
        "",
        None,
        "nil",
    ]


def test_yaml_explicit_str_tag_keeps_null_as_text() -> None:
    assert YAML.parse("a: !!str null\n").get("a") == "null"


def test_yaml_key_lines_are_one_based_at_every_depth() -> None:
    metadata = YAML.parse(KEP)
    assert lines_of(metadata.fields)["title"] == 1
    assert lines_of(metadata.fields)["status"] == 7
    assert lines_of(metadata.fields)["stage"] == 13
    milestone = metadata.get("milestone")
    assert isinstance(milestone, dict)
    assert lines_of(milestone) == {"alpha": 16, "beta": 17}
    assert milestone["beta"].value == "v1.29"
    gates = metadata.get("feature-gates")
    assert isinstance(gates, list) and isinstance(gates[0], dict)
    assert gates[0]["components"] == Field("components", ["kube-apiserver"], 20)


def test_yaml_end_line_is_the_last_line_holding_a_value() -> None:
    assert YAML.parse(KEP).end_line == 23
    assert YAML.parse("a: b\nc:\n  - d\n\n# trailing comment\n").end_line == 3
    assert YAML.parse("a: b\n").line_of("missing") == 1


def test_yaml_block_scalars_and_multiline_values() -> None:
    metadata = YAML.parse("a: |\n  one\n  two\nb: >-\n  folded\n  text\nc: plain\n  continued\n")
    assert metadata.get("a") == "one\ntwo\n"
    assert metadata.get("b") == "folded text"
    assert metadata.get("c") == "plain continued"
    assert lines_of(metadata.fields) == {"a": 1, "b": 4, "c": 7}


def test_yaml_duplicates_are_reported_with_the_later_line_and_first_wins() -> None:
    metadata = YAML.parse("status: one\nmilestone:\n  alpha: x\n  alpha: y\nstatus: two\n")
    assert metadata.get("status") == "one"
    assert metadata.duplicates == [
        Field("alpha", "y", 4),
        Field("status", "two", 5),
    ]


def test_yaml_line_numbers_follow_github_lines_with_crlf_and_odd_breaks() -> None:
    crlf = YAML.parse("a: b\r\nc: d\r\n")
    assert lines_of(crlf.fields) == {"a": 1, "c": 2}
    # YAML also breaks lines at U+2028; GitHub (and so annotations) does not.
    odd = YAML.parse("a: 'x\u2028y'\nc: d\n")
    assert lines_of(odd.fields) == {"a": 1, "c": 2}


def test_yaml_bom_is_ignored() -> None:
    metadata = YAML.parse("\ufefftitle: x\nstatus: y\n")
    assert metadata.get("title") == "x"
    assert lines_of(metadata.fields) == {"title": 1, "status": 2}


def test_yaml_empty_documents_have_no_fields() -> None:
    for text in ("", "\n", "# only a comment\n", "---\n"):
        metadata = YAML.parse(text)
        assert metadata.fields == {} and metadata.duplicates == []


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("title: x\nstatus: 'unclosed\n", 3, "invalid YAML"),
        ("a: b\n  c: d\n", 2, "mapping values are not allowed"),
        ("a: [1, 2\nb: c\n", 2, "invalid YAML"),
        ("a: b\nc: \x07\n", 2, "control characters are not allowed"),
        ("a: 1\n---\nb: 2\n", 2, "expected a single document"),
    ],
)
def test_yaml_syntax_errors_become_format_errors_with_a_line(
    text: str, line: int, message: str
) -> None:
    with pytest.raises(FormatError, match=message) as caught:
        YAML.parse(text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"line {line}: ")


@pytest.mark.parametrize(
    ("text", "line"),
    [("- a\n- b\n", 1), ("just text\n", 1), ("# c\n[1, 2]\n", 2), ("~\n", 1)],
)
def test_yaml_top_level_must_be_a_mapping(text: str, line: int) -> None:
    with pytest.raises(FormatError, match="top level must be a mapping") as caught:
        YAML.parse(text)
    assert caught.value.line == line


def test_yaml_non_scalar_key_is_refused_with_its_line() -> None:
    with pytest.raises(FormatError, match="key must be a string") as caught:
        YAML.parse("a: b\n? [x, y]\n: z\n")
    assert caught.value.line == 2


def test_yaml_alias_bomb_is_refused_before_expanding() -> None:
    bomb = ["a: &a ['lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol']"]
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        bomb.append(f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 9) + "]")
    with pytest.raises(FormatError, match="anchors and aliases are not allowed") as caught:
        YAML.parse("\n".join(bomb) + "\n")
    assert caught.value.line == 1


def test_yaml_alias_alone_and_anchor_alone_are_refused() -> None:
    with pytest.raises(FormatError, match="anchors and aliases") as alias:
        YAML.parse("a: b\nc: *x\n")
    assert alias.value.line == 2
    with pytest.raises(FormatError, match="anchors and aliases"):
        YAML.parse("a: &x b\n")


def test_yaml_nesting_deeper_than_fifty_levels_is_refused() -> None:
    """Deep nesting is refused with a format error on its line, whichever layer sees it
    first: the loader's own limit of 50, or the YAML library's scanner (newer PyYAML
    releases stop a run of flow brackets themselves)."""
    assert YAML.parse("a: " + "[" * 49 + "]" * 49 + "\n").get("a") is not None
    deep_block = "a: 1\nb:\n" + "".join("  " * i + "k:\n" for i in range(1, 60))
    for text, line in [
        ("a: " + "[" * 50 + "]" * 50 + "\n", 1),
        ("first: 1\nsecond: 2\nthird: " + "[" * 500_000, 3),  # crashes libyaml's composer
        (deep_block, 52),
    ]:
        with pytest.raises(FormatError) as caught:
            YAML.parse(text)
        assert caught.value.line == line


def test_yaml_over_one_mebibyte_is_refused() -> None:
    big = "a: " + "x" * (1024 * 1024) + "\n"
    with pytest.raises(FormatError, match="larger than 1 MiB") as caught:
        YAML.parse(big)
    assert caught.value.line == 1
    assert YAML.parse("a: " + "x" * 1000 + "\n").get("a") == "x" * 1000


def test_yaml_invalid_unicode_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="not valid Unicode"):
        YAML.parse("a: b\nc: \ud800\n")


def test_yaml_pure_python_loader_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = YAML.parse(KEP)
    monkeypatch.setattr(yaml_load, "_Loader", yaml_load._PureLoader)
    slow = YAML.parse(KEP)
    assert slow == fast
    with pytest.raises(FormatError, match="anchors and aliases") as caught:
        YAML.parse("a: b\nc: *x\n")
    assert caught.value.line == 2
    with pytest.raises(FormatError, match="nested deeper"):
        YAML.parse("a: " + "[" * 60)


# --- YAML: editing scalars -----------------------------------------------------------


def assert_one_line_changed(before: str, after: str, old: str, new: str) -> None:
    removed, added = changed_lines(before, after)
    assert (removed, added) == ([old], [new])
    assert len(before.splitlines()) == len(after.splitlines())


def test_yaml_edit_keeps_the_trailing_comment() -> None:
    edited = YAML.set_value(KEP, "status", "implemented")
    assert_one_line_changed(
        KEP,
        edited,
        "status: implementable # provisional|implementable|implemented\n",
        "status: implemented # provisional|implementable|implemented\n",
    )
    assert YAML.parse(edited).get("status") == "implemented"


@pytest.mark.parametrize(
    ("line", "value", "expected"),
    [
        ("a: plain\n", "other", "a: other\n"),
        ("a: plain\n", "needs: quotes", 'a: "needs: quotes"\n'),
        ("a: plain\n", "#hash", 'a: "#hash"\n'),
        ("a: plain\n", "", 'a: ""\n'),
        ("a: plain\n", "null", 'a: "null"\n'),
        ("a: plain\n", "1.20", "a: 1.20\n"),
        ("a: plain\n", "ünïcödé ✓", "a: ünïcödé ✓\n"),
        ("a: 'single'\n", "it's", "a: 'it''s'\n"),
        ("a: 'single'\n", "two\nlines", 'a: "two\\nlines"\n'),
        ('a: "double"\n', 'say "hi" \\ bye', 'a: "say \\"hi\\" \\\\ bye"\n'),
        ('a: "double"\n', "plain-enough", 'a: "plain-enough"\n'),
        ("  a:   spaced   # note\n", "x", "  a:   x   # note\n"),
        ("a: !!str 12\n", "13", "a: 13\n"),
    ],
)
def test_yaml_edit_keeps_the_quoting_style(line: str, value: str, expected: str) -> None:
    text = "before: 1\n" + line.replace("  a:", "a:") + "after: 2\n"
    want = "before: 1\n" + expected.replace("  a:", "a:") + "after: 2\n"
    edited = YAML.set_value(text, "a", value)
    assert edited == want
    assert YAML.parse(edited).get("a") == value


def test_yaml_edit_keeps_crlf_endings() -> None:
    text = KEP.replace("\n", "\r\n")
    edited = YAML.set_value(text, "stage", "stable")
    assert edited == text.replace("stage: beta\r\n", "stage: stable\r\n")
    added = YAML.set_value(text, "new-key", "v")
    assert added == text + "new-key: v\r\n"
    assert "\n" not in added.replace("\r\n", "")


def test_yaml_edit_keeps_a_missing_final_newline() -> None:
    text = "a: b\nstatus: provisional"
    assert YAML.set_value(text, "status", "implemented") == "a: b\nstatus: implemented"
    assert YAML.set_value(text, "new", "v") == "a: b\nstatus: provisional\nnew: v"
    assert YAML.set_value(text, "new", ["x"]) == "a: b\nstatus: provisional\nnew:\n  - x"


def test_yaml_edit_of_an_empty_value() -> None:
    assert YAML.set_value("a:\nb: 1\n", "a", "x") == "a: x\nb: 1\n"
    assert YAML.set_value("a: # pick one\nb: 1\n", "a", "x") == "a: x # pick one\nb: 1\n"


def test_yaml_none_leaves_the_key_with_an_empty_value_and_its_comment() -> None:
    edited = YAML.set_value(KEP, "status", None)
    assert_one_line_changed(
        KEP,
        edited,
        "status: implementable # provisional|implementable|implemented\n",
        "status: # provisional|implementable|implemented\n",
    )
    assert YAML.parse(edited).get("status") is None
    assert YAML.set_value("a: b\n", "a", None) == "a:\n"
    assert YAML.set_value("a:\n", "a", None) == "a:\n"


def test_yaml_absent_key_is_one_line_after_the_last_value() -> None:
    text = "a: b\nc:\n  - d\n\n# trailing comment\n"
    edited = YAML.set_value(text, "status", "provisional")
    assert edited == "a: b\nc:\n  - d\nstatus: provisional\n\n# trailing comment\n"
    assert changed_lines(text, edited) == ([], ["status: provisional\n"])


def test_yaml_absent_key_with_an_awkward_name_is_quoted() -> None:
    edited = YAML.set_value("a: b\n", "odd: key", "v")
    assert edited == 'a: b\n"odd: key": v\n'
    assert YAML.parse(edited).get("odd: key") == "v"


def test_yaml_absent_key_in_an_empty_file() -> None:
    assert YAML.set_value("", "a", "b") == "a: b\n"
    assert YAML.set_value("# comment", "a", "b") == "# comment\na: b"


def test_yaml_edit_touches_the_first_of_duplicated_keys() -> None:
    edited = YAML.set_value("status: one\nstatus: two\n", "status", "three")
    assert edited == "status: three\nstatus: two\n"


def test_yaml_scalar_over_a_block_value_replaces_its_span() -> None:
    text = "a: 1\nmilestone: # by stage\n  alpha: x\n  beta: y\n\nb: 2\n"
    assert YAML.set_value(text, "milestone", "none") == "a: 1\nmilestone: none # by stage\n\nb: 2\n"
    block = "a: |\n  one\n  two\n\nb: 2\n"
    assert YAML.set_value(block, "a", "x") == "a: x\n\nb: 2\n"
    flow = "a: [1, 2] # list\nb: 2\n"
    assert YAML.set_value(flow, "a", "x") == "a: x # list\nb: 2\n"
    next_line = "a:\n  value\nb: 2\n"
    assert YAML.set_value(next_line, "a", "x") == "a: x\nb: 2\n"


def test_yaml_keep_chomping_block_keeps_its_blank_lines_when_a_key_is_added() -> None:
    text = "a: |+\n  x\n\n"
    edited = YAML.set_value(text, "b", "1")
    assert edited == "a: |+\n  x\n\nb: 1\n"
    assert YAML.parse(edited).get("a") == "x\n\n"


# --- YAML: editing lists -------------------------------------------------------------


def test_yaml_list_replaces_a_block_list_in_its_own_indentation() -> None:
    text = "reviewers:\n- a\n- b\nstage: alpha\n"
    assert YAML.set_value(text, "reviewers", ["c", "@d"]) == (
        'reviewers:\n- c\n- "@d"\nstage: alpha\n'
    )
    wide = "reviewers:\n    -   a\nstage: alpha\n"
    assert YAML.set_value(wide, "reviewers", ["c"]) == "reviewers:\n    -   c\nstage: alpha\n"


def test_yaml_list_over_a_scalar_follows_the_files_list_style() -> None:
    text = "authors:\n- x\nreviewers: TBD\nstage: alpha\n"
    edited = YAML.set_value(text, "reviewers", ["a", "b"])
    assert edited == "authors:\n- x\nreviewers:\n- a\n- b\nstage: alpha\n"
    assert YAML.parse(edited).get("reviewers") == ["a", "b"]


def test_yaml_list_defaults_and_empty_list() -> None:
    assert YAML.set_value("a: b\n", "a", ["x: y", ""]) == 'a:\n  - "x: y"\n  - ""\n'
    assert YAML.set_value("a: b # c\n", "a", []) == "a: [] # c\n"
    assert YAML.parse(YAML.set_value("a: b\n", "a", [])).get("a") == []


def test_yaml_absent_list_key_is_a_block() -> None:
    edited = YAML.set_value(KEP, "see-also", ["/keps/sig-apps/1", "x"])
    assert changed_lines(KEP, edited) == ([], ["see-also:\n", "  - /keps/sig-apps/1\n", "  - x\n"])


def test_yaml_flow_mapping_allows_inline_scalar_edits_only() -> None:
    assert YAML.set_value("{a: b, c: d}\n", "c", "x, y") == '{a: b, c: "x, y"}\n'
    assert YAML.set_value("{a: b}\n", "a", None) == "{a: null}\n"
    with pytest.raises(FormatError, match="cannot add"):
        YAML.set_value("{a: b}\n", "z", "v")


def test_yaml_edit_of_unreadable_yaml_raises_format_error() -> None:
    with pytest.raises(FormatError, match="anchors"):
        YAML.set_value("a: &x b\n", "a", "c")


# --- front matter --------------------------------------------------------------------


def test_front_matter_reads_with_file_line_numbers() -> None:
    metadata = FRONT.parse(FRONT_MATTER)
    assert metadata.get("kep-number") == "8"
    assert metadata.get("status") == "Draft"
    assert lines_of(metadata.fields) == {"kep-number": 2, "title": 3, "status": 4}
    assert metadata.end_line == 4


def test_front_matter_errors_point_at_file_lines() -> None:
    with pytest.raises(FormatError) as caught:
        FRONT.parse("---\na: b\nc: 'open\n---\n# T\n")
    assert caught.value.line == 4
    with pytest.raises(FormatError, match="anchors") as alias:
        FRONT.parse("---\na: b\nc: *x\n---\n")
    assert alias.value.line == 3
    duplicates = FRONT.parse("---\na: 1\na: 2\n---\n").duplicates
    assert duplicates == [Field("a", "2", 3)]


def test_front_matter_missing_is_an_error_at_line_one() -> None:
    with pytest.raises(FormatError, match="expected YAML front matter") as caught:
        FRONT.parse("# Title\n\nstatus: x\n")
    assert caught.value.line == 1
    with pytest.raises(FormatError, match="never closed") as unclosed:
        FRONT.parse("---\na: b\n# Title\n")
    assert unclosed.value.line == 1


def test_front_matter_edits_only_the_key_line() -> None:
    edited = FRONT.set_value(FRONT_MATTER, "status", "implementable")
    assert_one_line_changed(FRONT_MATTER, edited, "status: Draft\n", "status: implementable\n")
    added = FRONT.set_value(FRONT_MATTER, "stage", "alpha")
    assert changed_lines(FRONT_MATTER, added) == ([], ["stage: alpha\n"])
    assert added.index("stage: alpha") < added.index("---\n\n# Kubectl")


def test_front_matter_after_a_bom() -> None:
    text = "\ufeff---\nstatus: a\n---\n# T\n"
    assert FRONT.parse(text).line_of("status") == 2
    assert FRONT.set_value(text, "status", "b") == "\ufeff---\nstatus: b\n---\n# T\n"


def test_yaml_explicit_key_cannot_be_edited_in_place() -> None:
    with pytest.raises(FormatError, match="only `key: value` entries") as caught:
        YAML.set_value("a: 1\n? b\n: 2\n", "b", "3")
    assert caught.value.line == 2


def test_front_matter_empty_block_and_crlf() -> None:
    assert FRONT.parse("---\n---\n# T\n").fields == {}
    assert FRONT.set_value("---\r\n---\r\n# T\r\n", "a", "b") == "---\r\na: b\r\n---\r\n# T\r\n"
    crlf = FRONT_MATTER.replace("\n", "\r\n")
    assert FRONT.set_value(crlf, "title", "X") == crlf.replace("title: Kubectl Plugins", "title: X")


# --- header lines --------------------------------------------------------------------


def test_header_lines_read_keys_values_and_lines() -> None:
    metadata = HEADERS.parse(AGENTIC)
    assert {key: (f.value, f.line) for key, f in metadata.fields.items()} == {
        "Date": ("17th November 2025", 1),
        "Authors": ("haiyanmeng, guicassolato", 2),
        "Status": ("Provisional", 3),
    }
    assert metadata.end_line == 3


def test_header_lines_variants_duplicates_and_empty_values() -> None:
    text = "Status:   Provisional  <br />\nOwner:<br>\nStatus: Again<br/>\nNote: no break\n# T\n"
    metadata = HEADERS.parse(text)
    assert metadata.get("Status") == "Provisional"
    assert metadata.get("Owner") is None
    assert metadata.get("Note") == "no break"
    assert metadata.duplicates == [Field("Status", "Again", 3)]


def test_header_lines_errors() -> None:
    with pytest.raises(FormatError, match="followed by a `# Title`") as no_title:
        HEADERS.parse("Status: x<br/>\n")
    assert no_title.value.line == 1
    with pytest.raises(FormatError, match="header line") as prose:
        HEADERS.parse("Status: x<br/>\nSome prose here.\n\n# T\n")
    assert prose.value.line == 2
    with pytest.raises(FormatError, match="header line"):
        HEADERS.parse("https://example.com<br/>\n# T\n")


def test_header_lines_without_headers_are_empty() -> None:
    assert HEADERS.parse("# Title\n\nStatus: x<br/>\n").fields == {}


def test_header_lines_edit_keeps_the_break() -> None:
    edited = HEADERS.set_value(AGENTIC, "Status", "Implementable")
    assert_one_line_changed(
        AGENTIC, edited, "Status: Provisional<br/>\n", "Status: Implementable<br/>\n"
    )
    assert HEADERS.parse(edited).get("Status") == "Implementable"
    spaced = HEADERS.set_value("Owner:<br>\n# T\n", "Owner", "me")
    assert spaced == "Owner: me<br>\n# T\n"
    cleared = HEADERS.set_value(AGENTIC, "Status", None)
    assert "Status: <br/>\n" in cleared and HEADERS.parse(cleared).get("Status") is None


def test_header_lines_added_key_goes_after_the_last_header() -> None:
    edited = HEADERS.set_value(AGENTIC, "Reviewers", ["a", "b"])
    assert changed_lines(AGENTIC, edited) == ([], ["Reviewers: a, b<br/>\n"])
    assert edited.splitlines()[3] == "Reviewers: a, b<br/>"
    assert HEADERS.parse(edited).line_of("Reviewers") == 4
    assert HEADERS.set_value("# T\n", "Status", "x") == "Status: x<br/>\n# T\n"


def test_header_lines_crlf_bom_and_bad_values() -> None:
    text = "\ufeffStatus: A<br/>\r\nDate: x<br/>\r\n\r\n# T\r\n"
    edited = HEADERS.set_value(text, "Status", "B")
    assert edited == text.replace("A<br/>", "B<br/>")
    added = HEADERS.set_value(text, "New", "v")
    assert added == text.replace("\r\n\r\n#", "\r\nNew: v<br/>\r\n\r\n#")
    with pytest.raises(ValueError, match="single line"):
        HEADERS.set_value(AGENTIC, "Status", "two\nlines")
    with pytest.raises(ValueError, match="cannot be written"):
        HEADERS.set_value(AGENTIC, "Bad: key", "x")


# --- field table ---------------------------------------------------------------------


def test_field_table_reads_keys_values_and_lines() -> None:
    metadata = TABLE.parse(KPEP)
    assert {key: (f.value, f.line) for key, f in metadata.fields.items()} == {
        "Status": ("provisional", 5),
        "Authors": ("@zachsmith", 6),
        "Last updated": ("2026-06-02", 7),
        "Affected repos": ("`kplane-dev/storage` (registry), `kplane-dev/apiserver`", 8),
        "Supersedes": ("N/A", 9),
    }
    assert metadata.end_line == 9


def test_field_table_skips_comments_and_sets_comments_aside() -> None:
    metadata = TABLE.parse(KPEP_TEMPLATE)
    assert metadata.get("Status") == "provisional"
    assert metadata.line_of("Status") == 10
    edited = TABLE.set_value(KPEP_TEMPLATE, "Status", "implementable")
    assert_one_line_changed(
        KPEP_TEMPLATE,
        edited,
        "| **Status** | `provisional` <!-- or implementable / implemented --> |\n",
        "| **Status** | `implementable` <!-- or implementable / implemented --> |\n",
    )


def test_field_table_edit_keeps_backticks_and_plain_cells() -> None:
    edited = TABLE.set_value(KPEP, "Status", "implemented")
    assert_one_line_changed(
        KPEP, edited, "| **Status** | `provisional` |\n", "| **Status** | `implemented` |\n"
    )
    dated = TABLE.set_value(KPEP, "Last updated", "2026-07-01")
    assert_one_line_changed(
        KPEP, dated, "| **Last updated** | 2026-06-02 |\n", "| **Last updated** | 2026-07-01 |\n"
    )
    assert "| **Status** | `not-metadata` |" in edited  # the second table is untouched


def test_field_table_aligned_columns_keep_their_width() -> None:
    text = (
        "# T\n\n"
        "| Field      | Value       |\n"
        "|------------|-------------|\n"
        "| **Status** | draft       |\n"
    )
    edited = TABLE.set_value(text, "Status", "final")
    assert edited.splitlines()[4] == "| **Status** | final       |"
    longer = TABLE.set_value(text, "Status", "a much longer value")
    assert longer.splitlines()[4] == "| **Status** | a much longer value |"
    added = TABLE.set_value(text, "Owner", "me")
    assert added.splitlines()[5] == "| **Owner**  | me          |"


def test_field_table_added_row_goes_after_the_last_row() -> None:
    edited = TABLE.set_value(KPEP, "Reviewers", ["@a", "@b|c"])
    assert changed_lines(KPEP, edited) == ([], ["| **Reviewers** | @a, @b\\|c |\n"])
    assert edited.splitlines()[9] == "| **Reviewers** | @a, @b\\|c |"
    assert TABLE.parse(edited).get("Reviewers") == "@a, @b|c"


def test_field_table_none_empties_the_cell() -> None:
    edited = TABLE.set_value(KPEP, "Supersedes", None)
    assert "| **Supersedes** |  |\n" in edited
    assert TABLE.parse(edited).get("Supersedes") is None
    restored = TABLE.set_value(edited, "Supersedes", "KPEP-0002")
    assert "| **Supersedes** | KPEP-0002 |\n" in restored


def test_field_table_crlf_and_no_final_newline() -> None:
    text = "# T\r\n\r\n| Field | Value |\r\n|---|---|\r\n| **Status** | `a` |"
    assert TABLE.set_value(text, "Status", "b") == text.replace("`a`", "`b`")
    assert TABLE.set_value(text, "X", "y") == text + "\r\n| **X** | y |"


def test_field_table_after_a_bom() -> None:
    text = "\ufeff# KPEP-0002: T\n\n| Field | Value |\n|---|---|\n| **Status** | `a` |\n"
    assert TABLE.parse(text).get("Status") == "a"
    assert TABLE.set_value(text, "Status", "b") == text.replace("`a`", "`b`")


def test_field_table_errors() -> None:
    with pytest.raises(FormatError, match="# KPEP-NNNN: Title") as no_title:
        TABLE.parse("no heading\n")
    assert no_title.value.line == 1
    with pytest.raises(FormatError, match="table under the `# Title`") as no_table:
        TABLE.parse("# KPEP-1: T\n\nprose\n\n## Summary\n| a | b |\n|---|---|\n")
    assert no_table.value.line == 1
    with pytest.raises(FormatError, match=r"\|---\|---\|") as no_rule:
        TABLE.parse("# T\n\n| Field | Value |\n| **Status** | x |\n")
    assert no_rule.value.line == 4
    with pytest.raises(FormatError, match="row") as short:
        TABLE.parse("# T\n\n| Field | Value |\n|---|---|\n| lonely |\n")
    assert short.value.line == 5
    with pytest.raises(ValueError, match="single line"):
        TABLE.set_value(KPEP, "Status", "a\nb")


def test_markdown_formats_read_hostile_lines_in_linear_time() -> None:
    # Patterns that backtrack would take minutes on these (quadratic in the spaces).
    spaces = " " * 200_000
    started = time.perf_counter()
    with pytest.raises(FormatError):
        HEADERS.parse("Key" + spaces + "x\n# T\n")
    assert HEADERS.parse("Key: a" + spaces + "b<br/>\n# T\n").get("Key") == "a" + spaces + "b"
    with pytest.raises(FormatError):
        TABLE.parse("# T\n\n| F | V |\n|---" + spaces + "x|\n")
    row = "| K | a" + spaces + "<!--" * 5000 + "x |\n"
    assert TABLE.parse("# T\n\n| F | V |\n|---|---|\n" + row).get("K") is not None
    assert time.perf_counter() - started < 2


# --- every format: the shared guarantees ---------------------------------------------

SAMPLES: list[tuple[MetadataFormat, str, str]] = [
    (YAML, KEP, "status"),
    (FRONT, FRONT_MATTER, "status"),
    (HEADERS, AGENTIC, "Status"),
    (TABLE, KPEP, "Status"),
]


@pytest.mark.parametrize(("fmt", "text", "key"), SAMPLES, ids=[f.name for f, _, _ in SAMPLES])
@pytest.mark.parametrize("value", ["withdrawn", "two words", None, ["a", "b"]])
def test_every_format_reads_back_what_it_writes(
    fmt: MetadataFormat, text: str, key: str, value: NewValue
) -> None:
    edited = fmt.set_value(text, key, value)
    yaml_based = fmt.name in ("yaml", "front-matter")
    if isinstance(value, list) and not yaml_based:
        assert fmt.parse(edited).get(key) == ", ".join(value)
    else:
        assert fmt.parse(edited).get(key) == value
    removed, added = changed_lines(text, edited)
    assert len(removed) == 1
    # A YAML list becomes a block of its own lines; everything else stays one line.
    assert len(added) == (1 + len(value) if isinstance(value, list) and yaml_based else 1)
