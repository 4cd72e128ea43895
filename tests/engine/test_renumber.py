"""Numbering a proposal: renames, number fields, headings and self-references per preset and
placeholder form, the numbers a tree has used, tracking issues, and the index."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.config import Config, load_config, load_preset
from bot.engine.formats import get_format
from bot.engine.index import render_index
from bot.engine.numbering import format_number, next_number
from bot.engine.proposal import is_proposal_path, load_all, load_proposal, proposals_root
from bot.engine.renumber import (
    OverlayTree,
    RenumberError,
    index_changes,
    issue_in_body,
    issue_reference,
    named_numbers,
    needs_number,
    new_name,
    numbered_path,
    renumber,
    renumber_all,
    review_files,
    shared_reviews,
    tracking_issue,
    used_numbers,
)
from bot.engine.scaffold import scaffold
from bot.engine.tree import MemoryTree
from bot.engine.validate import validate_tree

TODAY = datetime.date(2024, 1, 2)
# The placeholder every preset's template writes, and the forms each preset accepts.
TEMPLATE_TOKEN = {
    "kep": "NNNN",
    "gep": "NNNN",
    "kpep": "NNNN",
    "agentic": "XXXX",
    "kep-2017": "draft-20240102",
}
FORMS = [
    (preset, form)
    for preset in TEMPLATE_TOKEN
    for form in load_preset(preset).proposals.placeholders
]
NUMBER = 4242


def new_proposal(config: Config, files: dict[str, str], form: str) -> tuple[dict[str, str], str]:
    """The preset's template as a new proposal whose number is written in `form`."""
    made = scaffold(
        config,
        MemoryTree(files),
        title="Pod restart budget",
        area="sig-node",
        author="alice",
        today=TODAY,
    )
    token = TEMPLATE_TOKEN[config.preset]
    literal = "draft-20240102" if form == "draft-YYYYMMDD" else form
    field = config.proposals.fields.number
    out: dict[str, str] = {}
    for path, text in made.items():
        if form == "":  # the number field is empty; the name and heading keep the template's
            if is_proposal_path(config.proposals, path) and field is not None:
                text = get_format(config.proposals.format).set_value(text, field, None)
            out[path] = text
        else:
            out[path.replace(token, literal)] = text.replace(token, literal)
    metadata = next(p for p in out if is_proposal_path(config.proposals, p))
    return out, metadata


def own_folder_note(config: Config, metadata: str) -> dict[str, str]:
    """A second file in a folder proposal that links to the proposal's own path."""
    if config.proposals.name_of != "folder":
        return {}
    folder = metadata.rsplit("/", 1)[0]
    return {f"{folder}/notes/design.md": f"See [the proposal](/{folder}/README.md).\n"}


@pytest.mark.parametrize(("preset", "form"), FORMS)
def test_every_placeholder_form_of_every_preset_gets_the_number(
    preset: str, form: str, files_for: Callable[[str], dict[str, str]]
) -> None:
    config = load_preset(preset)
    existing = files_for(preset)
    added, path = new_proposal(config, existing, form)
    added.update(own_folder_note(config, path))
    tree = MemoryTree({**existing, **added})
    proposal = load_proposal(config, tree, path)
    assert proposal is not None and needs_number(config, proposal)

    changes = renumber(config, tree, path, NUMBER)

    after = OverlayTree(tree, changes)
    target = numbered_path(config, path, NUMBER)
    padded = format_number(config, NUMBER)
    assert target is not None and padded in target and target != path
    assert after.read(path) is None and set(existing) <= set(after.paths())
    numbered = load_proposal(config, after, target)
    assert numbered is not None and not needs_number(config, numbered)
    assert numbered.name_parts is not None and numbered.name_parts["number"] == padded
    if config.proposals.fields.number is not None:
        assert numbered.text_of("number") == str(NUMBER)
    if preset in ("kep", "gep", "kpep"):
        assert numbered.document is not None
        assert f"{config.implementations.prefix}-{padded}" in numbered.document.splitlines()[0]
    for old, text in changes.items():
        assert text is not None or old in added  # nothing outside the proposal is deleted
    assert {p for p, t in changes.items() if t is not None} <= {
        p for p in after.paths() if p not in existing
    }
    notes = [p for p in after.paths() if p.endswith("notes/design.md")]
    for note in notes:
        assert target.rsplit("/", 1)[0] in (after.read(note) or "")
    found = validate_tree(config, after).findings
    naming = [f for f in found if f.path.startswith(target.rsplit("/", 1)[0])]
    assert not [f for f in naming if f.rule.startswith(("naming.", "number."))]
    assert NUMBER in used_numbers(config, after)


def test_a_kep_changes_only_the_number_line_the_title_and_its_own_links(
    files_for: Callable[[str], dict[str, str]],
) -> None:
    config = load_preset("kep")
    existing = files_for("kep")
    added, path = new_proposal(config, existing, "NNNN")
    tree = MemoryTree({**existing, **added})
    changes = renumber(config, tree, path, 1235)
    assert sorted(changes) == [
        "keps/sig-node/1235-pod-restart-budget/README.md",
        "keps/sig-node/1235-pod-restart-budget/kep.yaml",
        "keps/sig-node/NNNN-pod-restart-budget/README.md",
        "keps/sig-node/NNNN-pod-restart-budget/kep.yaml",
    ]
    before = added[path].splitlines()
    after = (changes["keps/sig-node/1235-pod-restart-budget/kep.yaml"] or "").splitlines()
    assert [(a, b) for a, b in zip(before, after, strict=True) if a != b] == [
        ("kep-number: NNNN", "kep-number: 1235")
    ]
    readme = changes["keps/sig-node/1235-pod-restart-budget/README.md"] or ""
    assert readme.startswith("# KEP-1235: Pod restart budget\n")


def test_gep_number_is_the_issue_and_its_issue_links_follow() -> None:
    config = load_preset("gep")
    added, path = new_proposal(config, {}, "NNNN")
    changes = renumber(config, MemoryTree(added), path, 3001)
    index = changes["geps/gep-3001/index.md"] or ""
    assert index.startswith("# GEP-3001: Pod restart budget\n")
    assert "* Issue: [#3001](../../issues/3001)" in index
    assert "number: 3001\n" in (changes["geps/gep-3001/metadata.yaml"] or "")


def test_a_front_matter_title_is_numbered_too() -> None:
    config = load_preset("gep")
    metadata = "kind: GEPDetails\nnumber: NNNN\nname: Budgets\nstatus: Provisional\n"
    index = '---\ntitle: "GEP-NNNN: Budgets"\n---\n\n* Status: Provisional\n'
    tree = MemoryTree({"geps/gep-NNNN/metadata.yaml": metadata, "geps/gep-NNNN/index.md": index})
    changes = renumber(config, tree, "geps/gep-NNNN/metadata.yaml", 77)
    assert changes["geps/gep-77/index.md"] == index.replace("GEP-NNNN", "GEP-77")


def test_kep_2017_draft_becomes_a_padded_file_name_and_a_plain_number() -> None:
    config = load_preset("kep-2017")
    added, path = new_proposal(config, {}, "draft-YYYYMMDD")
    assert path == "keps/sig-node/draft-20240102-pod-restart-budget.md"
    changes = renumber(config, MemoryTree(added), path, 42)
    assert changes[path] is None
    text = changes["keps/sig-node/0042-pod-restart-budget.md"] or ""
    assert "kep-number: 42\n" in text and "draft-" not in text


def test_a_name_without_a_number_gets_one_in_front() -> None:
    config = load_preset("kep")
    assert new_name(config, "pod-restart-budget", "7") == "7-pod-restart-budget"
    assert new_name(config, "NNNN-pod-restart-budget", "7") == "7-pod-restart-budget"
    assert new_name(load_preset("gep"), "gep-XXXX", "12") == "gep-12"
    assert new_name(load_preset("agentic"), "00XX-ToolAuth", "0123") == "0123-ToolAuth"
    assert new_name(load_preset("kpep"), "NNNN-slug", "12345") is None


def test_a_name_the_pattern_cannot_number_is_refused() -> None:
    config = load_preset("kpep")
    added, path = new_proposal(config, {}, "NNNN")
    with pytest.raises(RenumberError, match="cannot carry a number"):
        renumber(config, MemoryTree(added), path, 12345)


def test_other_proposals_are_left_alone(files_for: Callable[[str], dict[str, str]]) -> None:
    config = load_preset("kep")
    existing = files_for("kep")
    existing["keps/sig-node/99-older/README.md"] += "See /keps/sig-node/NNNN-pod-restart-budget\n"
    added, path = new_proposal(config, existing, "NNNN")
    changes = renumber(config, MemoryTree({**existing, **added}), path, 1300)
    assert not any(p.startswith("keps/sig-node/99-older") for p in changes)


def test_renumber_all_numbers_several_proposals_in_one_change_set() -> None:
    config = load_preset("kpep")
    first, one = new_proposal(config, {}, "NNNN")
    second = {p.replace("pod-restart-budget", "quotas"): t for p, t in first.items()}
    two = one.replace("pod-restart-budget", "quotas")
    tree = MemoryTree({**first, **second})
    changes = renumber_all(config, tree, {one: 3, two: 4})
    after = OverlayTree(tree, changes)
    assert sorted(p for p in after.paths()) == [
        "kpeps/0003-pod-restart-budget/README.md",
        "kpeps/0004-quotas/README.md",
    ]
    assert used_numbers(config, after) == {3, 4}


def test_used_numbers_count_every_status_and_skip_placeholders() -> None:
    config = load_preset("kep")
    withdrawn = "title: Old\nkep-number: 17\nstatus: withdrawn\nowning-sig: sig-node\n"
    replaced = "title: Older\nkep-number: 40\nstatus: replaced\nowning-sig: sig-node\n"
    zero = "title: New\nkep-number: 0000\nstatus: provisional\nowning-sig: sig-node\n"
    tree = MemoryTree(
        {
            "keps/sig-node/17-old/kep.yaml": withdrawn,
            "keps/sig-node/41-older/kep.yaml": replaced,  # the field and the name disagree
            "keps/sig-node/0000-new/kep.yaml": zero,
        }
    )
    assert used_numbers(config, tree) == {17, 40, 41}
    assert named_numbers(config, tree.paths()) == {17, 41}
    assert next_number(config, used_numbers(config, tree)) == 42
    drafts = MemoryTree(
        {"keps/sig-cli/draft-20171127-x.md": "---\nkep-number: draft-20171127\n---\n"}
    )
    assert used_numbers(load_preset("kep-2017"), drafts) == set()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    number=st.integers(min_value=1, max_value=99_999),
    slug=st.from_regex(r"[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,6}){0,2}", fullmatch=True),
    form=st.sampled_from(["NNNN", "XXXX", "0000", ""]),
)
def test_property_a_numbered_kep_agrees_everywhere(number: int, slug: str, form: str) -> None:
    config = load_preset("kep")
    token = form or "NNNN"
    field = "kep-number: \n" if form == "" else f"kep-number: {form}\n"
    folder = f"keps/sig-node/{token}-{slug}"
    tree = MemoryTree(
        {
            f"{folder}/kep.yaml": f"title: T\n{field}status: provisional\nowning-sig: sig-node\n",
            f"{folder}/README.md": f"# KEP-{token}: T\n\nSee ./{token}-{slug}/README.md\n",
            "keps/sig-node/5-five/kep.yaml": "title: F\nkep-number: 5\nstatus: implemented\n",
        }
    )
    changes = renumber(config, tree, f"{folder}/kep.yaml", number)
    after = OverlayTree(tree, changes)
    target = numbered_path(config, f"{folder}/kep.yaml", number)
    assert target == f"keps/sig-node/{number}-{slug}/kep.yaml"
    proposal = load_proposal(config, after, target)
    assert proposal is not None and not needs_number(config, proposal)
    assert proposal.number == str(number)
    readme = after.read(f"keps/sig-node/{number}-{slug}/README.md") or ""
    assert readme == f"# KEP-{number}: T\n\nSee ./{number}-{slug}/README.md\n"
    assert used_numbers(config, after) == {5, number}
    assert not [p for p in after.paths() if p.startswith(folder + "/")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#12", 12),
        ("o/r#13", 13),
        ("other/repo#14 then #15", 15),
        ("https://github.com/o/r/issues/16", 16),
        ("https://github.com/x/y/issues/17", None),
        ("TBD", None),
        ("&#38; entity", None),
    ],
)
def test_issue_references_name_this_repository(text: str, expected: int | None) -> None:
    assert issue_reference(text, "o/r") == expected


def test_tracking_issue_from_the_field_or_an_issue_line() -> None:
    kpep = load_preset("kpep")
    added, path = new_proposal(kpep, {}, "NNNN")
    text = added[path].replace("| **Tracking issue** | TBD |", "| **Tracking issue** | o/r#21 |")
    proposal = load_proposal(kpep, MemoryTree({path: text}), path)
    assert proposal is not None and tracking_issue(kpep, proposal, "o/r") == 21
    gep = load_preset("gep")
    files, meta = new_proposal(gep, {}, "NNNN")
    files["geps/gep-NNNN/index.md"] = files["geps/gep-NNNN/index.md"].replace(
        "[#NNNN](../../issues/NNNN)", "[#1619](https://github.com/o/r/issues/1619)"
    )
    found = load_proposal(gep, MemoryTree(files), meta)
    assert found is not None and tracking_issue(gep, found, "o/r") == 1619


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Adds a KEP.\n\nTracking issue: #31\n", 31),
        ("Fixes #32", 32),
        ("closes: https://github.com/o/r/issues/33", 33),
        ("Refs #34", None),
        (None, None),
    ],
)
def test_issue_in_a_pr_description(body: str | None, expected: int | None) -> None:
    assert issue_in_body(body, "o/r") == expected


def test_index_changes_only_when_configured_and_stale(
    files_for: Callable[[str], dict[str, str]],
) -> None:
    assert index_changes(load_preset("kep"), MemoryTree(files_for("kep"))) == {}
    config = load_config("extends: kep\nindex:\n  path: keps/INDEX.md\n")
    tree = MemoryTree(files_for("kep"))
    changes = index_changes(config, tree)
    assert changes == {"keps/INDEX.md": render_index(config, load_all(config, tree))}
    assert index_changes(config, OverlayTree(tree, changes)) == {}


def test_heading_form_with_a_number_is_rewritten_in_place() -> None:
    config = load_preset("kpep")
    added, path = new_proposal(config, {}, "NNNN")
    changes = renumber(config, MemoryTree(added), path, 9)
    text = changes["kpeps/0009-pod-restart-budget/README.md"] or ""
    assert re.match(r"# KPEP-0009: Pod restart budget\n", text)
    assert "| **Supersedes** | N/A |" in text


def test_the_production_readiness_file_follows_the_kep_number() -> None:
    config = load_preset("kep")
    kep = "keps/sig-node/NNNN-budget/kep.yaml"
    review = "keps/prod-readiness/sig-node/NNNN.yaml"
    other = "keps/prod-readiness/sig-node/753.yaml"
    files = {
        kep: "title: Budget\nkep-number: NNNN\nowning-sig: sig-node\nstatus: implementable\n",
        "keps/sig-node/NNNN-budget/README.md": "# KEP-NNNN: Budget\n",
        review: '# a comment stays\nkep-number: NNNN\nalpha:\n  approver: "@wojtek-t"\n',
        other: "kep-number: 753\n",
    }
    changes = renumber(config, MemoryTree(files), kep, 4242)
    assert changes[review] is None
    assert changes["keps/prod-readiness/sig-node/4242.yaml"] == (
        '# a comment stays\nkep-number: 4242\nalpha:\n  approver: "@wojtek-t"\n'
    )
    assert other not in changes
    without_review = {path: text for path, text in files.items() if path != review}
    assert not any(
        "prod-readiness" in path for path in renumber(config, MemoryTree(without_review), kep, 4242)
    )


def two_new_keps(own_reviews: bool) -> dict[str, str]:
    """Two new KEPs of sig-node, with a review file each (by folder) or one `NNNN.yaml`."""
    files = {}
    for slug in ("budget", "quota"):
        folder = f"keps/sig-node/NNNN-{slug}"
        files[f"{folder}/kep.yaml"] = (
            f"title: {slug}\nkep-number: NNNN\nowning-sig: sig-node\nstatus: implementable\n"
        )
        files[f"{folder}/README.md"] = f"# KEP-NNNN: {slug}\n"
        name = f"NNNN-{slug}" if own_reviews else "NNNN"
        files[f"keps/prod-readiness/sig-node/{name}.yaml"] = f"kep-number: NNNN\n# {slug}\n"
    return files


def test_two_new_keps_of_one_sig_move_their_own_review_files_to_their_numbers() -> None:
    config = load_preset("kep")
    files = two_new_keps(own_reviews=True)
    assert review_files(config, files) == [
        "keps/prod-readiness/sig-node/NNNN-budget.yaml",
        "keps/prod-readiness/sig-node/NNNN-quota.yaml",
    ]
    numbers = {"keps/sig-node/NNNN-budget/kep.yaml": 7, "keps/sig-node/NNNN-quota/kep.yaml": 8}
    changes = renumber_all(config, MemoryTree(files), numbers)
    assert changes["keps/prod-readiness/sig-node/7.yaml"] == "kep-number: 7\n# budget\n"
    assert changes["keps/prod-readiness/sig-node/8.yaml"] == "kep-number: 8\n# quota\n"
    assert changes["keps/prod-readiness/sig-node/NNNN-budget.yaml"] is None
    assert changes["keps/prod-readiness/sig-node/NNNN-quota.yaml"] is None


def test_a_review_file_two_new_keps_share_is_moved_for_neither() -> None:
    config = load_preset("kep")
    files = two_new_keps(own_reviews=False)
    tree = MemoryTree(files)
    numbers = {"keps/sig-node/NNNN-budget/kep.yaml": 7, "keps/sig-node/NNNN-quota/kep.yaml": 8}
    assert shared_reviews(config, tree, numbers) == {"keps/prod-readiness/sig-node/NNNN.yaml"}
    changes = renumber_all(config, tree, numbers)
    assert not [path for path in changes if "prod-readiness" in path]
    assert "keps/sig-node/7-budget/kep.yaml" in changes
    # numbered one at a time, the second one still shares it with the first
    first = renumber_all(config, tree, {"keps/sig-node/NNNN-budget/kep.yaml": 7})
    assert not [path for path in first if "prod-readiness" in path]
    # once the other has a file of its own, the shared one is this KEP's
    files["keps/prod-readiness/sig-node/NNNN-quota.yaml"] = "kep-number: NNNN\n# quota\n"
    files["keps/prod-readiness/sig-node/NNNN.yaml"] = "kep-number: NNNN\n# budget\n"
    alone = renumber_all(config, MemoryTree(files), {"keps/sig-node/NNNN-budget/kep.yaml": 7})
    assert alone["keps/prod-readiness/sig-node/7.yaml"] == "kep-number: 7\n# budget\n"
    assert "keps/prod-readiness/sig-node/NNNN-quota.yaml" not in alone


def test_the_check_names_the_review_file_each_new_kep_needs() -> None:
    config = load_preset("kep")
    shared = validate_tree(config, MemoryTree(two_new_keps(own_reviews=False)))
    found = sorted((f.path, f.message) for f in shared.findings if f.rule == "prr.shared")
    assert [path for path, _ in found] == [
        "keps/sig-node/NNNN-budget/kep.yaml",
        "keps/sig-node/NNNN-quota/kep.yaml",
    ]
    assert "keps/prod-readiness/sig-node/NNNN-budget.yaml" in found[0][1]
    assert "keps/sig-node/NNNN-quota" in found[0][1]
    own = validate_tree(config, MemoryTree(two_new_keps(own_reviews=True)))
    assert not [f for f in own.findings if f.rule == "prr.shared"]


@pytest.mark.parametrize(
    ("preset", "root"),
    [
        ("kpep", "kpeps"),
        ("kep", "keps"),
        ("kep-2017", "keps"),
        ("gep", "geps"),
        ("agentic", "docs/proposals"),
    ],
)
def test_the_history_of_a_process_is_read_under_the_folder_of_its_proposals(
    preset: str, root: str
) -> None:
    assert proposals_root(load_preset(preset).proposals) == root


def test_globs_with_no_common_folder_read_the_whole_history() -> None:
    config = load_config(
        "extends: kpep\nproposals:\n  metadata: ['kpeps/*/README.md', 'docs/kpeps/*.md']\n"
    )
    assert proposals_root(config.proposals) == ""
    nested = load_config(
        "extends: kpep\nproposals:\n  metadata: ['a/b/*/c/README.md', 'a/b/x.md']\n"
    )
    assert proposals_root(nested.proposals) == "a/b"
