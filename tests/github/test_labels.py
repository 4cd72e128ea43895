"""Proposal PR labels: which ones (desired_labels) and keeping the PR in line with them
through the double (sync_labels)."""

from __future__ import annotations

import asyncio

import pytest
from gidgethub import BadRequest

from bot.engine.config import LabelSpec, load_preset
from bot.github.client import KepbotAPI
from bot.github.labels import Managed, desired_labels, managed_labels, sync_labels
from bot.sandbox import GitHubDouble

from .conftest import KEP, requests

KEP_CONFIG = load_preset("kep")
MANAGED = managed_labels(KEP_CONFIG)


def writes(double: GitHubDouble, since: int) -> list[str]:
    return [f"{r.method} {r.path}" for r in double.requests[since:] if r.method != "GET"]


@pytest.fixture
def pr(double: GitHubDouble, repo: str) -> int:
    return double.open_pull_request(
        repo, "kep-1234", {KEP: "title: Pod stuff\nstatus: implementable\n"}, "KEP-1234"
    )


def test_desired_labels_kind_status_and_area() -> None:
    wanted = desired_labels(KEP_CONFIG, [("provisional", "sig-node")])
    assert wanted == {
        "kind/kep": KEP_CONFIG.labels.kind,
        "kep/provisional": LabelSpec(
            name="kep/provisional", color="0e8a16", description="KEP status: provisional"
        ),
        "sig/node": LabelSpec(name="sig/node", color="d2b48c", description=""),
    }


def test_desired_labels_without_proposals_is_empty() -> None:
    assert desired_labels(KEP_CONFIG, []) == {}


def test_one_status_label_per_distinct_status() -> None:
    wanted = desired_labels(
        KEP_CONFIG, [("provisional", "sig-node"), ("provisional", "sig-apps"), ("deferred", None)]
    )
    assert sorted(wanted) == [
        "kep/deferred",
        "kep/provisional",
        "kind/kep",
        "sig/apps",
        "sig/node",
    ]


def test_no_area_labels_without_an_area_prefix() -> None:
    gep = load_preset("gep")
    assert sorted(desired_labels(gep, [("Provisional", "gateway")])) == [
        "gep/Provisional",
        "kind/gep",
    ]


def test_managed_labels_cover_status_and_kind_but_not_the_link_label() -> None:
    assert MANAGED.covers("kep/provisional") and MANAGED.covers("KIND/KEP")
    assert not MANAGED.covers("kep/linked")  # shares the status prefix; the links own it
    assert not MANAGED.covers("sig/node") and not MANAGED.covers("lgtm")
    assert not Managed(prefixes=("",)).covers("anything")  # an empty prefix manages nothing


async def test_sync_creates_labels_with_their_colours(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    wanted = desired_labels(KEP_CONFIG, [("provisional", "sig-node")])
    added, removed = await sync_labels(gh, repo, pr, wanted, MANAGED)
    assert (sorted(added), removed) == (["kep/provisional", "kind/kep", "sig/node"], [])
    assert sorted(double.labels(repo, pr)) == ["kep/provisional", "kind/kep", "sig/node"]
    made = double.repo_labels(repo)
    assert made["kind/kep"].color == "c7def8"
    assert made["kep/provisional"].color == "0e8a16"
    assert made["sig/node"].color == "d2b48c"
    assert made["kind/kep"].description == "A Kubernetes Enhancement Proposal"
    assert len(requests(double, "POST", f"/issues/{pr}/labels")) == 1  # added in one request


async def test_status_label_is_replaced_and_unrelated_labels_stay(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    double.label_issue(repo, pr, "lgtm", "kep/linked", "sig/apps")
    await sync_labels(
        gh, repo, pr, desired_labels(KEP_CONFIG, [("provisional", "sig-node")]), MANAGED
    )
    wanted = desired_labels(KEP_CONFIG, [("implementable", "sig-node")])
    added, removed = await sync_labels(gh, repo, pr, wanted, MANAGED)
    assert (added, removed) == (["kep/implementable"], ["kep/provisional"])
    assert sorted(double.labels(repo, pr)) == [
        "kep/implementable",
        "kep/linked",
        "kind/kep",
        "lgtm",
        "sig/apps",
        "sig/node",
    ]


async def test_second_sync_makes_no_write(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    wanted = desired_labels(KEP_CONFIG, [("provisional", "sig-node")])
    await sync_labels(gh, repo, pr, wanted, MANAGED)
    since = len(double.requests)
    assert await sync_labels(gh, repo, pr, wanted, MANAGED) == ([], [])
    assert writes(double, since) == []
    assert len(double.requests) - since == 1  # one read of the PR's labels


async def test_no_proposal_any_more_removes_kind_and_status(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    await sync_labels(
        gh, repo, pr, desired_labels(KEP_CONFIG, [("provisional", "sig-node")]), MANAGED
    )
    added, removed = await sync_labels(gh, repo, pr, {}, MANAGED)
    assert (added, sorted(removed)) == ([], ["kep/provisional", "kind/kep"])
    assert double.labels(repo, pr) == ["sig/node"]  # area labels are never removed


async def test_plain_prefixes_are_accepted(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    double.label_issue(repo, pr, "kep/deferred", "kind/kep", "other")
    added, removed = await sync_labels(gh, repo, pr, {}, ["kep/"])
    assert (added, removed) == ([], ["kep/deferred"])
    assert sorted(double.labels(repo, pr)) == ["kind/kep", "other"]


async def test_existing_repo_label_is_tolerated_and_keeps_its_colour(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    double.add_label(repo, "kep/provisional", color="ffffff")
    wanted = desired_labels(KEP_CONFIG, [("provisional", None)])
    added, _ = await sync_labels(gh, repo, pr, wanted, MANAGED)
    assert sorted(added) == ["kep/provisional", "kind/kep"]
    created = requests(double, "POST", f"/repos/{repo}/labels")
    assert sorted(r.status for r in created) == [201, 422]
    assert double.repo_labels(repo)["kep/provisional"].color == "ffffff"
    assert sorted(double.labels(repo, pr)) == ["kep/provisional", "kind/kep"]


async def test_concurrent_syncs_both_succeed(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    other = double.open_pull_request(repo, "kep-2", {"keps/sig-node/2-x/kep.yaml": "a: b\n"}, "2")
    wanted = desired_labels(KEP_CONFIG, [("provisional", "sig-node")])
    await asyncio.gather(
        sync_labels(gh, repo, pr, wanted, MANAGED), sync_labels(gh, repo, other, wanted, MANAGED)
    )
    statuses = sorted(r.status for r in requests(double, "POST", f"/repos/{repo}/labels"))
    assert statuses == [201, 201, 201, 422, 422, 422]  # each label created once, once refused
    for number in (pr, other):
        assert sorted(double.labels(repo, number)) == sorted(wanted)


async def test_a_label_already_gone_is_fine(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    double.label_issue(repo, pr, "kep/provisional")
    double.inject("DELETE", rf"/issues/{pr}/labels/", 404)
    added, removed = await sync_labels(gh, repo, pr, {}, MANAGED)
    assert (added, removed) == ([], ["kep/provisional"])


async def test_another_refusal_of_label_creation_is_raised(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    double.inject("POST", rf"/repos/{repo}/labels$", 422, body={"message": "Validation Failed"})
    with pytest.raises(BadRequest) as refused:
        await sync_labels(
            gh, repo, pr, desired_labels(KEP_CONFIG, [("provisional", None)]), MANAGED
        )
    assert refused.value.status_code == 422
    assert double.labels(repo, pr) == []


async def test_known_labels_are_not_created_again_and_a_deleted_one_gets_its_colour_back(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    wanted = desired_labels(KEP_CONFIG, [("provisional", None)])
    await sync_labels(gh, repo, pr, wanted, MANAGED)
    assert len(requests(double, "POST", f"/repos/{repo}/labels")) == 2
    other = double.open_pull_request(repo, "kep-2", {"keps/sig-node/2-x/kep.yaml": "a: b\n"}, "2")
    await sync_labels(gh, repo, other, wanted, MANAGED, current=[])
    assert len(requests(double, "POST", f"/repos/{repo}/labels")) == 2  # known: not created
    assert not requests(double, "PATCH", "/labels/")

    double.state.repo(repo).labels.pop("kep/provisional")  # someone deletes the label
    for number in (pr, other):
        double.issue(repo, number).labels.remove("kep/provisional")
    since = len(double.requests)
    added, _ = await sync_labels(gh, repo, pr, wanted, MANAGED, current=["kind/kep"])
    assert added == ["kep/provisional"]
    assert writes(double, since) == [
        f"POST /repos/{repo}/issues/{pr}/labels",  # GitHub recreates it, in its default colour
        f"PATCH /repos/{repo}/labels/kep/provisional",
    ]
    assert double.repo_labels(repo)["kep/provisional"].color == "0e8a16"
    assert double.repo_labels(repo)["kep/provisional"].description == "KEP status: provisional"
