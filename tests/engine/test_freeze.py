"""Freeze readiness (docs/design.md B11): which proposals a release holds and how a
section counts as written."""

from __future__ import annotations

from bot.engine.config import load_preset
from bot.engine.freeze import in_release, release
from bot.engine.proposal import load_proposal
from bot.engine.tree import MemoryTree

PATH = "keps/sig-node/7-x/kep.yaml"
KEP = """\
title: X
kep-number: 7
owning-sig: sig-node
status: implementable
stage: beta
latest-milestone: "v1.36"
milestone:
  alpha: "v1.35"
  beta: "v1.37"
"""


def load(text: str, readme: str | None = None):  # type: ignore[no-untyped-def]
    files = {PATH: text}
    if readme is not None:
        files[PATH.replace("kep.yaml", "README.md")] = readme
    tree = MemoryTree(files)
    found = load_proposal(load_preset("kep"), tree, PATH)
    assert found is not None
    return found, tree


def test_a_release_holds_the_latest_milestone_and_the_current_stage_s_not_past_ones() -> None:
    proposal, _ = load(KEP)
    assert in_release(proposal, "v1.36")  # latest
    assert in_release(proposal, "v1.37")  # beta, the stage it is at
    assert not in_release(proposal, "v1.35")  # alpha: history


def test_a_section_is_written_when_it_or_a_subsection_has_text() -> None:
    config = load_preset("kep")
    nested = "# X\n### Graduation Criteria\n<!-- todo -->\n#### Alpha\nDone.\n### Next\n"
    empty = "# X\n### Graduation Criteria\n<!-- todo -->\n### Next\nText.\n"
    for readme, met in ((nested, True), (empty, False)):
        proposal, tree = load(KEP, readme)
        (entry,) = release(config, [proposal], tree, "v1.37")
        graduation = next(c for c in entry.checks if c.id == "graduation-criteria")
        assert graduation.met is met
        assert graduation.line == 2


def test_opted_in_proposals_are_listed_though_they_target_another_release() -> None:
    config = load_preset("kep")
    proposal, tree = load(KEP)
    assert release(config, [proposal], tree, "v1.40") == []
    (entry,) = release(config, [proposal], tree, "v1.40", opted_in={PATH})
    assert entry.why == ("opted in",) and not entry.ready
