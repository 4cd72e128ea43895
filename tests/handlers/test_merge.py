"""Numbers and the index (docs/design.md B4, B7) through the whole stack: merged PRs in,
numbers, renames and the index read back.

Every test runs the real server (and, for concurrency, two of them) against the double;
deliveries are signed `pull_request` `closed` events built from the double's own state.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import cli, demo
from bot.engine.config import load_config
from bot.engine.index import render_index
from bot.engine.proposal import load_all
from bot.engine.tree import LocalTree, MemoryTree
from bot.github.gateway import GitHub
from bot.github.repo_config import ConfigCache
from bot.handlers import merge
from bot.handlers.context import HandlerContext
from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import pull_request_event
from bot.sandbox.testing import app_credentials

REPO, OWNER = demo.REPO, demo.OWNER
INDEX = "keps/INDEX.md"
KEP_CONFIG = f"extends: kep\nindex:\n  path: {INDEX}\n"
GOOD_KEP = demo.NEW_KEP.replace("provisonal", "provisional").replace("11-31", "11-21")


def seeded(config: str = KEP_CONFIG) -> tuple[GitHubDouble, Any]:
    credentials = app_credentials()
    double = demo.seed(credentials)
    double.push(REPO, "main", {".github/kepbot.yml": config}, "kepbot config", "carol")
    return double, credentials


@pytest.fixture
async def box() -> AsyncIterator[Harness]:
    double, credentials = seeded()
    async with harness(double, credentials) as running_box:
        yield running_box


def kep(slug: str, form: str = "NNNN", title: str = "Pod restart budget") -> dict[str, str | None]:
    token = form or "NNNN"
    folder = f"keps/sig-node/{token}-{slug}"
    number_line = "kep-number:\n" if form == "" else f"kep-number: {form}\n"
    kep_yaml = GOOD_KEP.replace("kep-number: NNNN\n", number_line).replace(
        "title: Pod restart budget", f"title: {title}"
    )
    summary = f"Design notes: [notes](/{folder}/notes.md)."
    return {
        f"{folder}/kep.yaml": kep_yaml,
        f"{folder}/README.md": demo.README.format(number=token, title=title, summary=summary),
        f"{folder}/notes.md": f"Back to [the KEP](/{folder}/README.md).\n",
    }


def merged_pr(
    double: GitHubDouble,
    files: dict[str, str | None],
    branch: str,
    *,
    repo: str = REPO,
    body: str = "",
) -> int:
    number = double.open_pull_request(repo, branch, files, f"Add {branch}", body, author="alice")
    double.merge(repo, number)
    return number


def files_at(double: GitHubDouble, ref: str = "main", repo: str = REPO) -> dict[str, str]:
    objects = double.state.objects
    sha = double.branch_sha(repo, ref)
    assert sha is not None
    flat = objects.flatten(objects.commits[sha].tree)
    return {path: objects.blobs[blob].decode() for path, (_, blob) in flat.items()}


def bot_comments(double: GitHubDouble, number: int, repo: str = REPO) -> list[str]:
    return [c.body for c in double.comments(repo, number) if c.user == double.bot_login]


async def numbered(box: Harness, number: int, repo: str = REPO) -> str:
    """The bot's numbers comment on PR `number`, once it is there."""
    tag = f"<!-- kepbot:numbers/{number} -->"

    def comment() -> str | None:
        return next((b for b in bot_comments(box.double, number, repo) if tag in b), None)

    return await box.until(comment)


def index_of(text: dict[str, str], config: str = KEP_CONFIG) -> str:
    parsed = load_config(config)
    return render_index(parsed, load_all(parsed, MemoryTree(text)))


# -- next ---------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["NNNN", "XXXX", "0000", ""])
async def test_next_numbers_a_merged_kep_in_one_commit(box: Harness, form: str) -> None:
    double = box.double
    number = merged_pr(double, kep("pod-restart-budget", form), "budget")
    merge_sha = double.branch_sha(REPO, "main")
    status = await box.deliver(pull_request_event(double, REPO, number, "closed"))
    assert status == 202
    comment = await numbered(box, number)
    assert "**KEP-754**" in comment
    assert "/tree/" in comment and "keps/sig-node/754-pod-restart-budget" in comment
    history = double.commits(REPO, "main")
    assert history[1][0] == merge_sha  # exactly one commit on top of the merge
    files = files_at(double)
    assert not [p for p in files if "/NNNN-" in p or "/XXXX-" in p or "/0000-" in p]
    folder = "keps/sig-node/754-pod-restart-budget"
    assert "kep-number: 754\n" in files[f"{folder}/kep.yaml"]
    assert files[f"{folder}/README.md"].startswith("# KEP-754: Pod restart budget\n")
    assert f"[notes](/{folder}/notes.md)" in files[f"{folder}/README.md"]
    assert files[f"{folder}/notes.md"] == f"Back to [the KEP](/{folder}/README.md).\n"
    assert files[INDEX] == index_of(files)
    assert "| 754 | [Pod restart budget](sig-node/754-pod-restart-budget/README.md)" in files[INDEX]


async def test_a_redelivered_merge_assigns_nothing_new(box: Harness) -> None:
    double = box.double
    number = merged_pr(double, kep("budget"), "budget")
    event = pull_request_event(double, REPO, number, "closed")
    await box.deliver(event)
    await numbered(box, number)
    await box.idle()
    commits, comments = len(double.commits(REPO, "main")), len(double.comments(REPO, number))
    refs = sorted(r for r in double.state.repo(REPO).refs if r.startswith("refs/kepbot/"))
    await box.deliver(event)  # GitHub redelivers with a new delivery id
    await box.deliver(pull_request_event(double, REPO, number, "closed"))
    await box.idle()
    assert len(double.commits(REPO, "main")) == commits
    assert len(double.comments(REPO, number)) == comments
    assert sorted(r for r in double.state.repo(REPO).refs if r.startswith("refs/kepbot/")) == refs
    assert refs == ["refs/kepbot/numbers/754"]


async def test_next_skips_numbers_reserved_by_refs(box: Harness) -> None:
    double = box.double
    state = double.state.repo(REPO)
    state.refs["refs/kepbot/numbers/754"] = double.branch_sha(REPO, "main") or ""
    number = merged_pr(double, kep("budget"), "budget")
    await box.deliver(pull_request_event(double, REPO, number, "closed"))
    assert "**KEP-755**" in await numbered(box, number)
    assert "keps/sig-node/755-budget/kep.yaml" in files_at(double)


async def test_ten_merges_on_two_bot_instances_get_distinct_dense_numbers() -> None:
    double, credentials = seeded()
    slugs = [f"feature-{i}" for i in range(10)]
    prs = [merged_pr(double, kep(slug, title=f"Feature {i}"), slug) for i, slug in enumerate(slugs)]
    events = [pull_request_event(double, REPO, n, "closed") for n in prs]
    async with harness(double, credentials) as one, harness(double, credentials) as two:
        boxes = itertools.cycle([one, two])
        statuses = await asyncio.gather(*(next(boxes).deliver(e) for e in events))
        assert statuses == [202] * 10
        comments = [await numbered(one, n) for n in prs]
        await one.idle()
        await two.idle()
    numbers = [int(re.findall(r"\*\*KEP-(\d+)\*\*", c)[0]) for c in comments]
    assert sorted(numbers) == list(range(754, 764))
    files = files_at(double)
    for i, slug in enumerate(slugs):
        found = [p for p in files if p.endswith(f"-{slug}/kep.yaml")]
        assert len(found) == 1
        folder_number = int(found[0].split("/")[2].split("-")[0])
        assert folder_number == numbers[i]
        assert f"kep-number: {folder_number}\n" in files[found[0]]
        readme = files[found[0].replace("kep.yaml", "README.md")]
        assert readme.startswith(f"# KEP-{folder_number}: Feature {i}\n")
    assert files[INDEX] == index_of(files)
    reserved = sorted(r for r in double.state.repo(REPO).refs if r.startswith("refs/kepbot/"))
    assert reserved == [f"refs/kepbot/numbers/{n}" for n in range(754, 764)]
    bot_writes = [r for r in double.requests if r.method == "PATCH" and "/git/refs/" in r.path]
    assert sum(r.status == 200 for r in bot_writes) == 10


async def test_one_merge_delivered_to_two_instances_is_numbered_once() -> None:
    double, credentials = seeded()
    number = merged_pr(double, kep("budget"), "budget")
    commits = len(double.commits(REPO, "main"))
    event = pull_request_event(double, REPO, number, "closed")
    async with harness(double, credentials) as one, harness(double, credentials) as two:
        await asyncio.gather(one.deliver(event), two.deliver(event))
        await numbered(one, number)
        await one.idle()
        await two.idle()
    assert len(double.commits(REPO, "main")) == commits + 1
    assert len(bot_comments(double, number)) == 1
    reserved = sorted(r for r in double.state.repo(REPO).refs if r.startswith("refs/kepbot/"))
    assert reserved == ["refs/kepbot/numbers/754"]
    assert [p for p in files_at(double) if p.endswith("/kep.yaml")] == [
        "keps/sig-node/753-sidecar-containers/kep.yaml",
        "keps/sig-node/754-budget/kep.yaml",
    ]


async def test_a_human_commit_between_read_and_write_is_kept(box: Harness) -> None:
    double = box.double
    number = merged_pr(double, kep("budget"), "budget")
    slow = double.inject("POST", r"/git/trees$", status=None, latency=1.0)
    await box.deliver(pull_request_event(double, REPO, number, "closed"))
    await box.until(lambda: slow.hits >= 1)
    fixed = files_at(double)["keps/sig-node/NNNN-budget/README.md"] + "A typo fix.\n"
    human = double.push(
        REPO,
        "main",
        {"keps/sig-node/NNNN-budget/README.md": fixed, "docs/human.md": "mine\n"},
        "Fix a typo",
        "carol",
    )
    await numbered(box, number)
    history = [sha for sha, _ in double.commits(REPO, "main")]
    assert history[1] == human
    files = files_at(double)
    assert files["docs/human.md"] == "mine\n"
    assert files["keps/sig-node/754-budget/README.md"].endswith("A typo fix.\n")
    assert not [p for p in files if "NNNN" in p]
    refused = [r for r in double.requests if r.method == "PATCH" and r.status == 422]
    assert len(refused) == 1


async def test_a_protected_branch_gets_a_follow_up_pull_request(box: Harness) -> None:
    double = box.double
    double.protect_branch(REPO, "main")
    number = merged_pr(double, kep("budget"), "budget")
    before = double.branch_sha(REPO, "main")
    event = pull_request_event(double, REPO, number, "closed")
    await box.deliver(event)
    tag = f"<!-- kepbot:numbers-followup/{number} -->"
    comment = await box.until(
        lambda: next((b for b in bot_comments(double, number) if tag in b), None)
    )
    follow = int(re.findall(r"#(\d+)", comment.split("\n", 1)[1])[0])
    pull = double.pull(REPO, follow)
    assert pull.pull is not None and pull.pull.head_ref == f"kepbot/number-pr-{number}"
    assert pull.user == double.bot_login and pull.state == "open"
    assert double.branch_sha(REPO, "main") == before
    branch = files_at(double, f"kepbot/number-pr-{number}")
    assert "kep-number: 754\n" in branch["keps/sig-node/754-budget/kep.yaml"]
    assert branch[INDEX] == index_of(branch)
    assert "**KEP-754**" in comment
    await box.deliver(event)
    await box.idle()
    assert [i for i in double.state.repo(REPO).issues.values() if i.pull] == [
        double.pull(REPO, number),
        pull,
    ]
    assert len(bot_comments(double, number)) == 1
    double.merge(REPO, follow)
    assert "keps/sig-node/754-budget/kep.yaml" in files_at(double)


# -- the index ------------------------------------------------------------------------------


async def test_the_index_is_refreshed_alone_after_a_proposal_merge(box: Harness) -> None:
    double = box.double
    existing = "keps/sig-node/753-sidecar-containers/kep.yaml"
    edited = demo.EXISTING_KEP.replace("Sidecar containers", "Sidecar containers v2")
    number = merged_pr(double, {existing: edited}, "retitle")
    await box.deliver(pull_request_event(double, REPO, number, "closed"))
    await box.until(lambda: INDEX in files_at(double))
    await box.idle()
    head = double.commits(REPO, "main")[0][1]
    assert head.message.startswith("Assign proposal numbers and refresh the index after")
    files = files_at(double)
    assert files[INDEX] == index_of(files) and "Sidecar containers v2" in files[INDEX]
    assert bot_comments(double, number) == []
    docs = merged_pr(double, {"docs/readme.md": "docs\n"}, "docs")
    commits = len(double.commits(REPO, "main"))
    await box.deliver(pull_request_event(double, REPO, docs, "closed"))
    await box.idle()
    assert len(double.commits(REPO, "main")) == commits


async def test_the_index_written_at_merge_is_what_kepbot_index_writes(
    box: Harness, tmp_path: Path
) -> None:
    double = box.double
    number = merged_pr(double, kep("budget"), "budget")
    await box.deliver(pull_request_event(double, REPO, number, "closed"))
    await numbered(box, number)
    files = files_at(double)
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    written = files[INDEX]
    (tmp_path / INDEX).unlink()
    assert cli.main(["index", str(tmp_path)]) == 0
    assert (tmp_path / INDEX).read_text(encoding="utf-8") == written
    config = load_config(KEP_CONFIG)
    assert render_index(config, load_all(config, LocalTree(tmp_path))) == written


# -- pr and issue sources ---------------------------------------------------------------------


AGENTIC = "Date: 2nd January 2024<br/>\nAuthors: alice<br/>\nStatus: Provisional<br/>\n\n"


def agentic_repo(double: GitHubDouble) -> str:
    return double.add_repo(
        OWNER,
        "agentic",
        {
            ".github/kepbot.yml": "extends: agentic\n",
            "docs/proposals/0008-ToolAuthAPI.md": AGENTIC + "# Tool auth\n",
        },
    )


@pytest.mark.parametrize("form", ["XXXX", "00XX"])
async def test_pr_source_uses_the_pull_request_number_padded(box: Harness, form: str) -> None:
    double = box.double
    repo = agentic_repo(double)
    path = f"docs/proposals/{form}-Budgets.md"
    text = AGENTIC + f"# Budgets\n\nSee [this]({form}-Budgets.md#api).\n"
    number = merged_pr(double, {path: text}, "budgets", repo=repo)
    await box.deliver(pull_request_event(double, repo, number, "closed"))
    comment = await numbered(box, number, repo)
    padded = f"{number:04d}"
    assert f"**Proposal-{padded}**" in comment and "/blob/" in comment
    files = files_at(double, repo=repo)
    assert path not in files
    assert files[f"docs/proposals/{padded}-Budgets.md"].endswith(
        f"See [this]({padded}-Budgets.md#api).\n"
    )


async def test_pr_source_refuses_two_proposals_in_one_pr(box: Harness) -> None:
    double = box.double
    repo = agentic_repo(double)
    files: dict[str, str | None] = {
        "docs/proposals/XXXX-One.md": AGENTIC + "# One\n",
        "docs/proposals/XXXX-Two.md": AGENTIC + "# Two\n",
    }
    number = merged_pr(double, files, "two", repo=repo)
    commits = len(double.commits(repo, "main"))
    await box.deliver(pull_request_event(double, repo, number, "closed"))
    tag = f"<!-- kepbot:numbering-problems/{number} -->"
    comment = await box.until(
        lambda: next((b for b in bot_comments(double, number, repo) if tag in b), None)
    )
    assert "open one PR per proposal" in comment and "XXXX-One.md" in comment
    await box.idle()
    assert len(double.commits(repo, "main")) == commits


GEP_METADATA = "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\n"


def gep(form: str, slug_issue: str = "[#{form}](../../issues/{form})") -> dict[str, str | None]:
    token = form or "NNNN"
    number = "number:\n" if form == "" else f"number: {form}\n"
    metadata = GEP_METADATA + number + "name: Budgets\nstatus: Provisional\nauthors:\n  - alice\n"
    issue = slug_issue.format(form=token)
    index = f"# GEP-{token}: Budgets\n\n* Issue: {issue}\n* Status: Provisional\n"
    return {f"geps/gep-{token}/metadata.yaml": metadata, f"geps/gep-{token}/index.md": index}


def gep_repo(double: GitHubDouble) -> str:
    return double.add_repo(OWNER, "gateway-api", {".github/kepbot.yml": "extends: gep\n"})


@pytest.mark.parametrize("form", ["NNNN", "XXXX", ""])
async def test_issue_source_takes_the_tracking_issue_from_the_pr(box: Harness, form: str) -> None:
    double = box.double
    repo = gep_repo(double)
    issue = double.open_issue(repo, "GEP: budgets")
    number = merged_pr(double, gep(form), "gep", repo=repo, body=f"Tracking issue: #{issue}")
    await box.deliver(pull_request_event(double, repo, number, "closed"))
    assert f"**GEP-{issue}**" in await numbered(box, number, repo)
    files = files_at(double, repo=repo)
    assert f"number: {issue}\n" in files[f"geps/gep-{issue}/metadata.yaml"]
    index = files[f"geps/gep-{issue}/index.md"]
    assert index.startswith(f"# GEP-{issue}: Budgets\n")
    assert f"* Issue: [#{issue}](../../issues/{issue})" in index


async def test_issue_source_reads_the_proposal_before_the_pr(box: Harness) -> None:
    double = box.double
    repo = gep_repo(double)
    named = double.open_issue(repo, "GEP: budgets")
    other = double.open_issue(repo, "Something else")
    files = gep("NNNN", slug_issue=f"[#{named}](https://github.com/{repo}/issues/{named})")
    number = merged_pr(double, files, "gep", repo=repo, body=f"Fixes #{other}")
    await box.deliver(pull_request_event(double, repo, number, "closed"))
    assert f"**GEP-{named}**" in await numbered(box, number, repo)


async def test_issue_source_without_an_issue_asks_for_one(box: Harness) -> None:
    double = box.double
    repo = gep_repo(double)
    number = merged_pr(double, gep("NNNN"), "gep", repo=repo, body="A new GEP.")
    commits = len(double.commits(repo, "main"))
    await box.deliver(pull_request_event(double, repo, number, "closed"))
    tag = f"<!-- kepbot:numbering-problems/{number} -->"
    comment = await box.until(
        lambda: next((b for b in bot_comments(double, number, repo) if tag in b), None)
    )
    assert "Tracking issue: #N" in comment
    await box.idle()
    assert len(double.commits(repo, "main")) == commits
    assert "geps/gep-NNNN/metadata.yaml" in files_at(double, repo=repo)


async def test_issue_source_refuses_a_pull_request_number(box: Harness) -> None:
    double = box.double
    repo = gep_repo(double)
    number = merged_pr(double, gep("NNNN"), "gep", repo=repo, body="Tracking issue: #1")
    await box.deliver(pull_request_event(double, repo, number, "closed"))
    tag = f"<!-- kepbot:numbering-problems/{number} -->"
    comment = await box.until(
        lambda: next((b for b in bot_comments(double, number, repo) if tag in b), None)
    )
    assert "#1 is a pull request, not a tracking issue" in comment


# -- when: accept ------------------------------------------------------------------------------


KEP_2017 = (
    "---\nkep-number: draft-20240102\ntitle: {title}\nstatus: Draft\nowning-sig: sig-cli\n---\n"
)


async def accept_context(box: Harness) -> HandlerContext:
    installation = next(iter(box.double.state.installations))
    gh = await box.bot.client.for_installation(installation)
    return HandlerContext(GitHub(gh), await box.bot.client.bot_login(), ConfigCache())


async def test_two_accepts_at_once_get_different_numbers(box: Harness) -> None:
    double = box.double
    repo = double.add_repo(
        OWNER,
        "kep-2017",
        {
            ".github/kepbot.yml": "extends: kep-2017\n",
            "keps/sig-cli/0008-kubectl-plugins.md": KEP_2017.replace("draft-20240102", "8").format(
                title="Plugins"
            )
            + "\n# Plugins\n",
        },
    )
    paths, prs = [], []
    for name in ("alpha", "beta"):
        path = f"keps/sig-cli/draft-20240102-{name}.md"
        text = KEP_2017.format(title=name) + f"\n# {name}\n\nSee [me](draft-20240102-{name}.md).\n"
        prs.append(double.open_pull_request(repo, name, {path: text}, name, author="alice"))
        paths.append(path)
    ctx = await accept_context(box)
    repo_json = await ctx.gh.getitem(f"/repos/{repo}")
    pulls = [await ctx.gh.getitem(f"/repos/{repo}/pulls/{n}") for n in prs]
    got = await asyncio.gather(
        *(
            merge.assign_on_accept(ctx, repo_json, p, path)
            for p, path in zip(pulls, paths, strict=True)
        )
    )
    assert sorted(got) == ["0009", "0010"]
    for name, number in zip(("alpha", "beta"), got, strict=True):
        files = files_at(double, name, repo)
        text = files[f"keps/sig-cli/{number}-{name}.md"]
        assert f"kep-number: {int(number)}\n" in text and f"[me]({number}-{name}.md)" in text
        assert f"keps/sig-cli/draft-20240102-{name}.md" not in files
    refs = sorted(r for r in double.state.repo(repo).refs if r.startswith("refs/kepbot/"))
    assert refs == ["refs/kepbot/numbers/10", "refs/kepbot/numbers/9"]
    head = double.branch_sha(repo, "alpha")
    again = await merge.assign_on_accept(ctx, repo_json, pulls[0], paths[0])
    assert again == got[0] and double.branch_sha(repo, "alpha") == head


async def test_accept_with_the_pr_source_numbers_the_head_branch(box: Harness) -> None:
    double = box.double
    repo = agentic_repo(double)
    path = "docs/proposals/XXXX-Budgets.md"
    number = double.open_pull_request(
        repo, "budgets", {path: AGENTIC + "# Budgets\n"}, "Budgets", author="alice"
    )
    main = double.branch_sha(repo, "main")
    ctx = await accept_context(box)
    repo_json = await ctx.gh.getitem(f"/repos/{repo}")
    pull = await ctx.gh.getitem(f"/repos/{repo}/pulls/{number}")
    assert await merge.assign_on_accept(ctx, repo_json, pull, path) == f"{number:04d}"
    head = files_at(double, "budgets", repo)
    assert f"docs/proposals/{number:04d}-Budgets.md" in head and path not in head
    assert double.branch_sha(repo, "main") == main
    assert not [r for r in double.state.repo(repo).refs if r.startswith("refs/kepbot/")]
    missing = await merge.assign_on_accept(ctx, repo_json, pull, "docs/proposals/XXXX-Nope.md")
    assert missing is None
