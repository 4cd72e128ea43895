"""What a tracking issue should show (docs/design.md B9) and who may opt a proposal in
(B10), from the metadata and the aliases file alone."""

from __future__ import annotations

import pytest

from bot.engine.config import OptIn, load_config, load_preset
from bot.engine.opt_in import alias_members, alias_name
from bot.engine.proposal import load_proposal
from bot.engine.tracking_issue import milestone_name, wanted
from bot.engine.tree import MemoryTree

REPO = "kubernetes/enhancements"
PATH = "keps/sig-node/900-budgets/kep.yaml"
KEP = """\
title: Budgets
kep-number: 900
owning-sig: sig-node
status: implementable
stage: beta
latest-milestone: "v1.37"
milestone:
  alpha: "v1.36"
  beta: v1.37
  stable: ""
"""


def proposal(text: str = KEP, path: str = PATH):  # type: ignore[no-untyped-def]
    found = load_proposal(load_preset("kep"), MemoryTree({path: text}), path)
    assert found is not None
    return found


def test_the_kep_issue_is_the_one_numbered_as_the_kep_with_its_stage_and_sig_labels() -> None:
    want = wanted(load_preset("kep"), proposal(), REPO)
    assert want is not None
    assert (want.issue, want.milestone, want.stage, want.status) == (
        900,
        "v1.37",
        "beta",
        "implementable",
    )
    assert sorted(want.labels) == ["sig/node", "stage/beta"]
    assert want.owned == ("stage/",)
    assert want.per_stage == (("alpha", "v1.36"), ("beta", "v1.37"))
    assert want.problems == []


def test_a_placeholder_number_has_no_tracking_issue() -> None:
    text = KEP.replace("kep-number: 900", "kep-number: NNNN")
    assert wanted(load_preset("kep"), proposal(text, "keps/sig-node/NNNN-x/kep.yaml"), REPO) is None


def test_no_latest_milestone_leaves_the_issue_milestone_alone() -> None:
    text = KEP.replace('latest-milestone: "v1.37"\n', "")
    want = wanted(load_preset("kep"), proposal(text), REPO)
    assert want is not None and want.milestone is None and want.problems == []


@pytest.mark.parametrize("value", ["1.37", "v1.37.1", "v1.37 ", "v1.37\\nx", "v1.3777", "../v1"])
def test_a_milestone_name_must_look_like_one(value: str) -> None:
    config = load_preset("kep")
    expected = "v1.37" if value == "v1.37 " else None
    assert milestone_name(config, value) == expected
    assert milestone_name(config, 137) is None


def test_a_stage_no_label_can_carry_is_a_problem_not_a_label() -> None:
    want = wanted(
        load_preset("kep"), proposal(KEP.replace("stage: beta", "stage: " + "b" * 60)), REPO
    )
    assert want is not None and "sig/node" in want.labels and len(want.labels) == 1
    assert want.problems and "makes no label name" in want.problems[0]


def test_the_field_way_finds_the_issue_the_metadata_names() -> None:
    config = load_config(
        "extends: kep\nproposals:\n  fields:\n    tracking-issue: tracking\n"
        "tracking:\n  issue: field\n"
    )
    text = KEP + "tracking: https://github.com/kubernetes/enhancements/issues/4242\n"
    found = load_proposal(config, MemoryTree({PATH: text}), PATH)
    assert found is not None
    want = wanted(config, found, REPO)
    assert want is not None and want.issue == 4242


def test_a_process_without_tracking_keeps_no_issue() -> None:
    config = load_preset("gep")
    assert config.tracking is None


def test_the_alias_is_named_for_the_area_and_lists_its_members() -> None:
    rule = OptIn(alias="{area}-leads")
    assert alias_name(rule, "sig-node") == "sig-node-leads"
    assert alias_name(rule, None) is None
    assert alias_name(rule, "sig node/../x") is None
    assert alias_name(OptIn(), "sig-node") is None
    text = "aliases:\n  sig-node-leads:\n    - Carol\n    - '@dave'\n  other: x\n"
    assert alias_members(text, "sig-node-leads") == ["carol", "dave"]
    assert alias_members(text, "other") is None
    assert alias_members(text, "missing") is None
    assert alias_members("aliases: [", "sig-node-leads") is None
    assert alias_members(None, "sig-node-leads") is None
