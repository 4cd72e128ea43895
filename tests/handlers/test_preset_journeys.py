"""Each preset's process end to end with real proposals (--shared), through the real server
and the double: a new proposal's pull request made from a real one, its check, the verbs
that bring it in, its merge, its number, and the index where the process keeps one; then
every other verb of the preset on pull requests that touch real proposals already merged.

The proposals are the corpus's (kubernetes/enhancements, gateway-api, kube-agentic-networking,
kplane enhancements), as they are, but for what makes one new: the placeholder number the
process's template writes, and its first status. The people are the proposals' own (the
approvers a KEP lists approve it) and a lead whom CODEOWNERS names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from bot.engine.config import Config, load_preset
from bot.engine.index import render_index
from bot.engine.proposal import load_all, load_proposal, proposal_paths
from bot.engine.tree import MemoryTree
from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event
from bot.sandbox.testing import app_credentials, new_double

OWNER, NAME = "acme", "proposals"
REPO = f"{OWNER}/{NAME}"
LEAD = "carol"  # a member of the team CODEOWNERS names: an approver in every preset
EDITOR = "dana"  # who opens the pull requests that move merged proposals
CREDENTIALS = app_credentials()


@dataclass(frozen=True)
class Step:
    """A command on a pull request, who gives it, and the status the proposal has after."""

    command: str
    user: str
    status: str


@dataclass
class Journey:
    preset: str
    seed: dict[str, str]  # the default branch: real proposals already merged
    new: dict[str, str]  # the new proposal's files
    author: str
    steps: list[Step]  # on the new proposal's pull request, in order
    numbered: Callable[[int], str]  # the PR's number → the metadata path after the merge
    number: Callable[[int], str]  # the PR's number → the number the proposal then states
    # Pull requests touching a merged proposal (its metadata path), one per list of steps,
    # and what each adds to the proposal's document (a note, or a section a status needs).
    others: list[tuple[str, list[Step]] | tuple[str, list[Step], str]] = field(default_factory=list)
    body: str = ""  # the new proposal's PR description
    opened: str = "action_required"  # the check of the new proposal before any command
    before_merge: Callable[[GitHubDouble], str] | None = None  # what the body needs first


def read(root: Path, *paths: str) -> dict[str, str]:
    return {path: (root / path).read_text(encoding="utf-8") for path in paths}


def files_at(double: GitHubDouble, ref: str) -> dict[str, str]:
    objects = double.state.objects
    sha = double.branch_sha(REPO, ref)
    assert sha is not None
    flat = objects.flatten(objects.commits[sha].tree)
    return {path: objects.blobs[blob].decode() for path, (_, blob) in flat.items()}


def seed(journey: Journey) -> GitHubDouble:
    double = new_double(CREDENTIALS)
    double.add_org(OWNER)
    files = {
        "README.md": "proposals\n",
        ".github/kepbot.yml": f"extends: {journey.preset}\n",
        ".github/CODEOWNERS": f"* @{OWNER}/leads\n",
        **journey.seed,
    }
    double.add_repo(OWNER, NAME, files)
    double.add_team_member(OWNER, "leads", LEAD)
    double.add_installation(OWNER)
    return double


async def say(box: Harness, number: int, body: str, user: str) -> None:
    made = box.double.add_comment(REPO, number, body, user)
    await box.deliver(issue_comment_event(box.double, REPO, made.id, "created"))
    await box.idle()


def status_of(box: Harness, config: Config, ref: str, path: str) -> str | None:
    proposal = load_proposal(config, MemoryTree(files_at(box.double, ref)), path)
    assert proposal is not None, path
    return proposal.status


def new_proposal(box: Harness, config: Config, ref: str) -> str:
    """The one proposal on `ref` that the default branch does not have (wherever a number
    given on the branch has moved it)."""
    main = set(proposal_paths(config, MemoryTree(files_at(box.double, "main"))))
    (path,) = set(proposal_paths(config, MemoryTree(files_at(box.double, ref)))) - main
    return path


async def play(
    box: Harness, config: Config, number: int, branch: str, steps: list[Step], path: str = ""
) -> None:
    """Each step's command, then the status of the proposal at `path` (the new one on the
    branch, when none or when a number given on the branch moved it) and the check of the
    head the bot left."""
    for step in steps:
        await say(box, number, step.command, step.user)
        if path not in files_at(box.double, branch):
            path = new_proposal(box, config, branch)
        replies = [c.body for c in box.double.comments(REPO, number)]
        assert status_of(box, config, branch, path) == step.status, (step, replies[-1:])
        run = await box.check_run(REPO, box.double.branch_sha(REPO, branch) or "")
        assert run.conclusion == "success", (step, run.output)


async def journey_through(journey: Journey) -> None:
    config = load_preset(journey.preset)
    async with harness(seed(journey), CREDENTIALS) as box:
        double = box.double
        body = journey.before_merge(double) if journey.before_merge else journey.body
        files: dict[str, str | None] = dict(journey.new)
        number = double.open_pull_request(
            REPO, "new", files, "A new proposal", body, journey.author
        )
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        await box.idle()  # a process that numbers at open checks the head its number left
        opened = await box.check_run(REPO, double.branch_sha(REPO, "new") or "")
        assert opened.conclusion == journey.opened, opened.output
        await play(box, config, number, "new", journey.steps)

        double.merge(REPO, number)
        await box.deliver(pull_request_event(double, REPO, number, "closed"))
        await box.idle()
        main = files_at(double, "main")
        tree = MemoryTree(main)
        numbered = load_proposal(config, tree, journey.numbered(number))
        assert numbered is not None, sorted(main)
        assert numbered.number == journey.number(number)
        assert numbered.status == journey.steps[-1].status
        if config.numbering.when == "merge":  # the number is commented on the pull request
            comments = double.comments(REPO, number)
            assert any(f"kepbot:numbers/{number}" in c.body for c in comments)
        if config.index.path is not None:
            assert main[config.index.path] == render_index(config, load_all(config, tree))
            assert journey.numbered(number).split("/")[-1] in main[config.index.path]

        for index, (path, steps, *added) in enumerate(journey.others):
            branch = f"other-{index}"
            proposal = load_proposal(config, tree, path)
            assert proposal is not None
            document = proposal.doc_path
            addition = added[0] if added else "\nA note.\n"
            edit: dict[str, str | None] = {document: main[document] + addition}
            other = double.open_pull_request(REPO, branch, edit, f"Move {path}", "", EDITOR)
            await box.deliver(pull_request_event(double, REPO, other, "opened"))
            await box.idle()
            await play(box, config, other, branch, steps, path)


# -- kep: kubernetes/enhancements ------------------------------------------------------------

KEPS = "kubernetes-enhancements"


def kep(root: Path) -> Journey:
    base = root / KEPS
    new_folder, old = (
        "keps/sig-node/NNNN-grpc-probe-with-tls",
        "keps/sig-node/4939-grpc-probe-with-tls",
    )
    metadata = yaml.safe_load((base / old / "kep.yaml").read_text(encoding="utf-8"))
    text = (base / old / "kep.yaml").read_text(encoding="utf-8")
    new = {
        f"{new_folder}/kep.yaml": text.replace("kep-number: 4939", "kep-number: NNNN").replace(
            "status: implementable", "status: provisional"
        ),
        f"{new_folder}/README.md": (base / old / "README.md")
        .read_text(encoding="utf-8")
        .replace("KEP-4939", "KEP-NNNN"),
        "keps/prod-readiness/sig-node/NNNN.yaml": (base / "keps/prod-readiness/sig-node/4939.yaml")
        .read_text(encoding="utf-8")
        .replace("kep-number: 4939", "kep-number: NNNN"),
    }
    assert "kep-number: NNNN" in new[f"{new_folder}/kep.yaml"]
    assert "status: provisional" in new[f"{new_folder}/kep.yaml"]
    merged, seen = "keps/sig-node/1972-kubelet-exec-probe-timeouts", "keps/sig-node/2727-grpc-probe"
    existing = read(
        base,
        "OWNERS_ALIASES",
        f"{merged}/kep.yaml",
        f"{merged}/README.md",
        "keps/prod-readiness/sig-node/1972.yaml",
        f"{seen}/kep.yaml",  # the KEP the new one names in `see-also`
        f"{seen}/README.md",
        "keps/prod-readiness/sig-node/2727.yaml",
    )
    meta = f"{merged}/kep.yaml"
    return Journey(
        "kep",
        existing,
        new,
        metadata["authors"][0].removeprefix("@"),
        [
            Step("/kep accept", LEAD, "provisional"),
            # rights come from the default branch (docs/design.md I5): the approvers a new
            # KEP lists are not approvers yet; the SIG's leads are
            Step("/kep approve", LEAD, "implementable"),
        ],
        lambda _: "keps/sig-node/2728-grpc-probe-with-tls/kep.yaml",
        lambda _: "2728",  # the next number after every one the repository holds
        others=[
            (meta, [Step("/kep implemented", LEAD, "implemented")]),
            (meta, [Step("/kep defer", LEAD, "deferred")]),
            (meta, [Step("/kep reject", LEAD, "rejected")]),
            (meta, [Step("/kep withdraw", LEAD, "withdrawn")]),
            (meta, [Step("/kep replace KEP-2728", LEAD, "replaced")]),
        ],
    )


# -- kep-2017: KEP-1 as first written, on real KEPs ------------------------------------------

KEP_2017_KEYS = ("title", "authors", "owning-sig", "reviewers", "approvers", "creation-date")
KEP_2017_STATUS = {"provisional": "Draft", "implementable": "Approved", "implemented": "Final"}


def as_kep_2017(root: Path, folder: str, number: str, status: str) -> str:
    """A real KEP as KEP-1 as first written keeps it: front matter above its README."""
    data = yaml.safe_load((root / KEPS / folder / "kep.yaml").read_text(encoding="utf-8"))
    kept = {"kep-number": number, **{k: data[k] for k in KEP_2017_KEYS if data.get(k)}}
    kept["status"] = status
    front = yaml.safe_dump(kept, sort_keys=False, allow_unicode=True)
    readme = (root / KEPS / folder / "README.md").read_text(encoding="utf-8")
    return f"---\n{front}---\n\n{readme}"


def kep_2017(root: Path) -> Journey:
    approved = "keps/sig-node/0001-kubelet-exec-probe-timeouts.md"
    draft = "keps/sig-node/draft-20261015-grpc-probe-with-tls.md"
    existing = {
        approved: as_kep_2017(
            root, "keps/sig-node/1972-kubelet-exec-probe-timeouts", "1", "Approved"
        ),
        draft: as_kep_2017(
            root, "keps/sig-node/4939-grpc-probe-with-tls", "draft-20261015", "Draft"
        ),
    }
    new = "keps/sig-scheduling/draft-20261101-default-pod-topology-spread.md"
    text = as_kep_2017(
        root, "keps/sig-scheduling/1258-default-pod-topology-spread", "draft-20261101", "Draft"
    )
    return Journey(
        "kep-2017",
        existing,
        {new: text},
        "alculquicondor",
        # KEP-1: "on acceptance a sequential dense number will be assigned", on the branch
        [Step("/kep accept", LEAD, "Approved")],
        lambda _: "keps/sig-scheduling/0002-default-pod-topology-spread.md",
        lambda _: "2",
        others=[
            (approved, [Step("/kep final", LEAD, "Final")]),
            (approved, [Step("/kep defer", LEAD, "Deferred")]),
            (approved, [Step("/kep withdraw", LEAD, "Withdrawn")]),
            (approved, [Step("/kep replace KEP-2", LEAD, "Replaced")]),
            (draft, [Step("/kep reject", LEAD, "Rejected")]),
            (draft, [Step("/kep approve", LEAD, "Approved")]),
        ],
        opened="success",  # a new Draft needs nobody's decision
    )


# -- gep: gateway-api ------------------------------------------------------------------------

GEPS = "gateway-api"


def gep(root: Path) -> Journey:
    base = root / GEPS
    implementable, experimental = "geps/gep-3793", "geps/gep-4768"
    existing = read(
        base,
        f"{implementable}/metadata.yaml",
        f"{implementable}/index.md",
        f"{experimental}/metadata.yaml",
        f"{experimental}/index.md",
    )
    old = "geps/gep-2627"
    new = {
        "geps/gep-NNNN/metadata.yaml": (base / old / "metadata.yaml")
        .read_text(encoding="utf-8")
        .replace("number: 2627", "number: NNNN"),
        "geps/gep-NNNN/index.md": (base / old / "index.md")
        .read_text(encoding="utf-8")
        .replace("GEP-2627", "GEP-NNNN")
        .replace("[#2627](https://github.com/kubernetes-sigs/gateway-api/issues/2627)", "#NNNN"),
    }
    assert "number: NNNN" in new["geps/gep-NNNN/metadata.yaml"]

    issue: list[int] = []

    def tracking_issue(double: GitHubDouble) -> str:
        title = "GEP: DNS configuration for Gateway API"
        issue.append(double.open_issue(REPO, title, author="maleck13"))
        return f"A new GEP.\n\nTracking issue: #{issue[0]}\n"

    meta = f"{implementable}/metadata.yaml"
    return Journey(
        "gep",
        existing,
        new,
        "maleck13",
        [
            Step("/gep accept", LEAD, "Provisional"),
            Step("/gep prototype", LEAD, "Prototyping"),
            Step("/gep approve", LEAD, "Implementable"),
        ],
        lambda _: f"geps/gep-{issue[0]}/metadata.yaml",  # the number is the tracking issue
        lambda _: str(issue[0]),
        others=[
            (meta, [Step("/gep experimental", LEAD, "Experimental")]),
            (meta, [Step("/gep complete", LEAD, "Completed")]),
            (meta, [Step("/gep decline", LEAD, "Declined")]),
            (meta, [Step("/gep defer", LEAD, "Deferred")]),
            (meta, [Step("/gep withdraw", LEAD, "Withdrawn")]),
            (f"{experimental}/metadata.yaml", [Step("/gep standard", LEAD, "Standard")]),
        ],
        before_merge=tracking_issue,
    )


# -- agentic: kube-agentic-networking -------------------------------------------------------

AGENTIC = "kube-agentic-networking"


def agentic(root: Path) -> Journey:
    base = root / AGENTIC
    merged = "docs/proposals/0008-ToolAuthAPI.md"
    existing = read(base, merged, "docs/proposals/README.md")
    old = "docs/proposals/0017-DynamicAuth.md"
    new = {"docs/proposals/XXXX-DynamicAuth.md": (base / old).read_text(encoding="utf-8")}
    return Journey(
        "agentic",
        existing,
        new,
        "guicassolato",
        # It has what Provisional requires (Non-Goals, Use Cases & Motivation), not yet the
        # API section of Implementable: it enters as Provisional.
        [Step("/proposal accept", LEAD, "Provisional")],
        lambda pr: f"docs/proposals/{pr:04d}-DynamicAuth.md",  # the PR's number
        lambda pr: f"{pr:04d}",
        others=[
            (
                merged,
                [
                    Step("/proposal approve", LEAD, "Implementable"),
                    Step("/proposal experimental", LEAD, "Experimental"),
                    Step("/proposal standard", LEAD, "Standard"),
                    Step("/proposal complete", LEAD, "Completed"),
                ],
                # Implementable needs an Alternatives section; the proposal has its
                # alternative under "# Alternative - Backend + Kubernetes RBAC"
                "\n# Alternatives Considered\n\nBackend + Kubernetes RBAC, above.\n",
            ),
            (merged, [Step("/proposal defer", LEAD, "Deferred")]),
            (merged, [Step("/proposal decline", LEAD, "Declined")]),
            (merged, [Step("/proposal withdraw", LEAD, "Withdrawn")]),
        ],
    )


# -- kpep: kplane enhancements ---------------------------------------------------------------

KPEPS = "kplane-enhancements"


def kpep(root: Path) -> Journey:
    base = root / KPEPS
    merged = "kpeps/0001-pluggable-storage-backends/README.md"
    existing = read(base, merged, "README.md", "templates/README.md")
    # The next KPEP as kplane's README says to start one: the template copied to
    # kpeps/NNNN-<slug>, filled in (here with the merged KPEP's text, under a new title).
    text = (base / merged).read_text(encoding="utf-8")
    new_text = text.replace("# KPEP-0001: Pluggable storage backends", "# KPEP-NNNN: Storage tiers")
    assert new_text.startswith("# KPEP-NNNN: Storage tiers\n")
    return Journey(
        "kpep",
        existing,
        {"kpeps/NNNN-storage-tiers/README.md": new_text},
        "zachsmith",
        [
            Step("/kpep accept", LEAD, "provisional"),
            Step("/kpep approve", LEAD, "implementable"),
        ],
        lambda _: "kpeps/0002-storage-tiers/README.md",
        lambda _: "0002",
        others=[
            (
                merged,
                [
                    Step("/kpep approve", LEAD, "implementable"),
                    Step("/kpep implemented", LEAD, "implemented"),
                ],
            ),
            (merged, [Step("/kpep withdraw", "zachsmith", "withdrawn")]),
            (merged, [Step("/kpep replace KPEP-0002", LEAD, "replaced")]),
        ],
    )


JOURNEYS: dict[str, Callable[[Path], Journey]] = {
    "kep": kep,
    "kep-2017": kep_2017,
    "gep": gep,
    "agentic": agentic,
    "kpep": kpep,
}


@pytest.mark.parametrize("preset", list(JOURNEYS))
async def test_a_real_proposal_goes_through_its_process_and_every_verb_acts(
    preset: str, corpus_root: Path
) -> None:
    await journey_through(JOURNEYS[preset](corpus_root))
