"""GEP relationships are recorded both ways, and a status change inherits the sections its
old status already lacked.

The GEP template (geps/gep-696/metadata.yaml) says: "The obsoleted GEP MUST have its
obsoletedBy field set back to this GEP" and "The extended GEP MUST have its extendedBy
field set back to this GEP"; `seeAlso` has no reverse. The README's rule for a change:
"inherited defects stay warnings, new ones block".
"""

import difflib
import re

import pytest

from bot.engine.config import load_preset
from bot.engine.findings import Finding
from bot.engine.formats import FormatError, FrontMatter
from bot.engine.relationships import (
    Relations,
    backlink_edits,
    missing_backlinks,
    related_paths,
)
from bot.engine.tree import FetchedTree, MemoryTree
from bot.engine.validate import validate_change, validate_tree

GEP = load_preset("gep")
HEAD = "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\n"


def metadata(number: int, name: str, relationships: str = "", status: str = "Standard") -> str:
    text = f"{HEAD}number: {number}\nname: {name}\nstatus: {status}\nauthors:\n  - alice\n"
    return text + relationships


def relation(key: str, *numbers: int) -> str:
    items = "".join(f"    - number: {n}\n      name: GEP {n}\n" for n in numbers)
    return f"  {key}:\n{items}"


def path(number: int) -> str:
    return f"geps/gep-{number}/metadata.yaml"


def geps(**texts: str) -> dict[str, str]:
    """`gep_100=...` → `geps/gep-100/metadata.yaml`."""
    return {path(int(key.removeprefix("gep_"))): text for key, text in texts.items()}


def relation_findings(files: dict[str, str]) -> list[Finding]:
    report = validate_tree(GEP, MemoryTree(files))
    return [f for f in report.findings if f.rule.startswith("references.")]


def test_a_link_set_one_way_is_reported_where_the_back_link_belongs() -> None:
    files = geps(
        gep_100=metadata(100, "Child", "relationships:\n" + relation("extends", 200)),
        gep_200=metadata(200, "Parent", "relationships:\n" + relation("obsoletedBy", 300)),
        gep_300=metadata(300, "Successor"),
    )
    assert [(f.rule, f.severity, f.path, f.line, f.message) for f in relation_findings(files)] == [
        (
            "references.backlink",
            "warning",
            path(200),
            8,  # its `relationships` key
            "GEP-100 (geps/gep-100/metadata.yaml) lists this GEP under relationships.extends, "
            "so relationships.extendedBy here must list GEP-100: a relationship is recorded "
            "on both GEPs",
        ),
        (
            "references.backlink",
            "warning",
            path(300),
            7,  # the end of its metadata: it has no `relationships`
            "GEP-200 (geps/gep-200/metadata.yaml) lists this GEP under relationships.obsoletedBy, "
            "so relationships.obsoletes here must list GEP-200: a relationship is recorded "
            "on both GEPs",
        ),
    ]


def test_links_set_both_ways_and_see_also_need_nothing_more() -> None:
    files = geps(
        gep_100=metadata(
            100, "Child", "relationships:\n" + relation("extends", 200) + relation("seeAlso", 300)
        ),
        gep_200=metadata(200, "Parent", "relationships:\n" + relation("extendedBy", 100)),
        gep_300=metadata(300, "Other", "relationships: {}\n"),
    )
    assert relation_findings(files) == []


def test_a_link_to_a_gep_the_repository_does_not_have_is_unresolved() -> None:
    files = geps(
        gep_100=metadata(
            100, "Child", "relationships:\n" + relation("extends", 999) + relation("seeAlso", 998)
        )
    )
    found = [(f.rule, f.severity, f.line, f.message) for f in relation_findings(files)]
    assert found == [
        (
            "references.unresolved",
            "warning",
            10,
            "relationships.extends names GEP-999, which is not in this repository",
        ),
        (
            "references.unresolved",
            "warning",
            13,
            "relationships.seeAlso names GEP-998, which is not in this repository",
        ),
    ]


BASE = geps(
    gep_100=metadata(100, "Child", "relationships: {}\n"),
    gep_200=metadata(200, "Parent", "relationships:\n  extendedBy: []\n"),
)
LINKED = metadata(100, "Child", "relationships:\n" + relation("extends", 200))
BACK = metadata(200, "Parent", "relationships:\n" + relation("extendedBy", 100))


def change(base: dict[str, str], edits: dict[str, str]) -> list[Finding]:
    head = {**base, **edits}
    report = validate_change(GEP, MemoryTree(head), MemoryTree(base), sorted(edits))
    return [f for f in report.findings if f.rule.startswith("references.")]


def test_a_change_that_links_one_way_blocks_and_one_that_links_both_ways_passes() -> None:
    (one_way,) = change(BASE, {path(100): LINKED})
    assert (one_way.rule, one_way.severity, one_way.path) == (
        "references.backlink",
        "error",
        path(200),
    )
    assert change(BASE, {path(100): LINKED, path(200): BACK}) == []


def test_a_change_that_drops_a_back_link_blocks() -> None:
    both = {**BASE, path(100): LINKED, path(200): BACK}
    (dropped,) = change(both, {path(200): BASE[path(200)]})
    assert (dropped.rule, dropped.severity, dropped.path) == (
        "references.backlink",
        "error",
        path(200),
    )
    # Dropping the link itself, on the other side, is fine.
    assert change(both, {path(100): BASE[path(100)], path(200): BASE[path(200)]}) == []


def test_a_one_way_link_the_change_did_not_make_stays_a_warning() -> None:
    base = {**BASE, path(100): LINKED, "geps/gep-100/index.md": "# GEP-100: Child\n"}
    (inherited,) = change(base, {"geps/gep-100/index.md": "# GEP-100: Child\n\nMore.\n"})
    assert (inherited.rule, inherited.severity) == ("references.backlink", "warning")


def test_a_change_reads_only_its_proposals_and_those_their_links_name() -> None:
    """As the bot fetches them: every path listed, only these files read."""
    others = {path(n): metadata(n, f"GEP {n}") for n in range(300, 340)}
    base_files = {**BASE, **others}
    listed = sorted(base_files)
    wanted = {path(100), path(200)}
    assert related_paths(GEP, MemoryTree({**base_files, path(100): LINKED}), path(100)) == {
        path(200)
    }
    head = FetchedTree(listed, {p: t for p, t in base_files.items() if p in wanted})
    head.files[path(100)] = LINKED
    base = FetchedTree(listed, {p: t for p, t in base_files.items() if p in wanted})
    report = validate_change(GEP, head, base, [path(100)])
    assert [f.rule for f in report.findings if f.severity == "error"] == ["references.backlink"]


def test_the_missing_back_links_are_offered_as_a_minimal_diff() -> None:
    files = geps(
        gep_100=metadata(100, "Child", "relationships:\n" + relation("extends", 200, 300, 400)),
        gep_101=metadata(101, "Sibling", "relationships:\n" + relation("extends", 200)),
        gep_200=metadata(200, "Parent", "relationships:\n" + relation("extendedBy", 500)),
        gep_300=metadata(300, "Empty", "relationships:\n  # keep me\n  extendedBy: []  # none\n"),
        gep_400=metadata(400, "Bare"),
        gep_500=metadata(500, "Other", "relationships:\n" + relation("extends", 200)),
    )
    tree = MemoryTree(files)
    gaps = Relations(GEP, tree, files).missing()
    edits = backlink_edits(GEP, tree, gaps)
    assert sorted(edits) == [path(200), path(300), path(400)]
    for target, text in edits.items():
        diff = difflib.ndiff(files[target].splitlines(), text.splitlines())
        changed = [line for line in diff if line[:1] in "+-"]
        assert all(line.startswith("+ ") for line in changed) or target == path(300), changed
    assert edits[path(200)].endswith(
        "    - number: 500\n      name: GEP 500\n"
        "    - number: 100\n      name: Child\n"
        "    - number: 101\n      name: Sibling\n"
    )
    assert (
        "  # keep me\n  extendedBy:  # none\n    - number: 100\n      name: Child\n"
        in (edits[path(300)])
    )
    assert edits[path(400)].endswith(
        "relationships:\n  extendedBy:\n    - number: 100\n      name: Child\n"
    )
    assert relation_findings({**files, **edits}) == []


def test_the_edit_a_change_needs_is_the_back_link_on_the_gep_it_did_not_touch() -> None:
    """What a handler would offer on a pull request that links GEP-200 one way."""
    head = MemoryTree({**BASE, path(100): LINKED})
    gaps = missing_backlinks(GEP, head, [path(100)])
    assert [(g.target, g.reverse, g.source_number) for g in gaps] == [
        (path(200), "extendedBy", 100)
    ]
    assert backlink_edits(GEP, head, gaps) == {
        path(200): BASE[path(200)].replace(
            "  extendedBy: []\n", "  extendedBy:\n    - number: 100\n      name: Child\n"
        )
    }
    assert (
        missing_backlinks(
            GEP, MemoryTree({**BASE, path(100): LINKED, path(200): BACK}), [path(100)]
        )
        == []
    )


def test_a_list_written_inline_with_entries_cannot_take_a_back_link() -> None:
    files = geps(
        gep_100=metadata(100, "Child", "relationships:\n" + relation("extends", 200)),
        gep_200=metadata(200, "Parent", "relationships:\n  extendedBy: [{number: 5}]\n"),
    )
    tree = MemoryTree(files)
    with pytest.raises(FormatError, match=re.escape("'extendedBy': it is written as `[...]`")):
        backlink_edits(GEP, tree, Relations(GEP, tree, files).missing())


def test_front_matter_takes_a_list_item_too() -> None:
    text = "---\ntitle: X\nrelationships:\n  extends:\n  - number: 1\n---\n\n# X\n"
    edited = FrontMatter().add_list_item(text, ("relationships", "extends"), {"number": "2"})
    assert edited == text.replace("  - number: 1\n", "  - number: 1\n  - number: 2\n")


# -- a section the old status already required is inherited --------------------------------


def index(number: int, status: str, *sections: str) -> str:
    body = "".join(f"## {name}\n\nText.\n\n" for name in sections)
    return f"# GEP-{number}: Budget\n\n* Status: {status}\n\n{body}"


def moved(before: str, after: str, sections: tuple[str, ...], kept: tuple[str, ...] = ()) -> dict:
    base = {
        path(700): metadata(700, "Budget", status=before),
        "geps/gep-700/index.md": index(700, before, *sections),
    }
    head = {
        path(700): metadata(700, "Budget", status=after),
        "geps/gep-700/index.md": index(700, after, *(kept or sections)),
    }
    report = validate_change(GEP, MemoryTree(head), MemoryTree(base), sorted(head))
    return {f.message: f.severity for f in report.findings}


def test_a_section_the_old_status_already_required_stays_a_warning() -> None:
    assert moved("Implementable", "Experimental", ("Goals", "API")) == {
        "status Experimental needs a section 'TLDR'": "warning"
    }


def test_a_section_only_the_new_status_requires_blocks() -> None:
    assert moved("Provisional", "Implementable", ("Goals",)) == {
        "status Implementable needs a section 'TLDR'": "warning",
        "status Implementable needs a section 'API'": "error",
    }


def test_a_section_the_change_removes_blocks() -> None:
    found = moved("Implementable", "Experimental", ("Goals", "API"), kept=("Goals",))
    assert found == {
        "status Experimental needs a section 'TLDR'": "warning",
        "status Experimental needs a section 'API'": "error",
    }
