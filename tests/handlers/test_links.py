"""Implementation links (docs/design.md B6) through the whole stack: implementation PRs in
two repositories linked to KEPs.

The installation covers the org kubernetes-demo: the proposals repository `enhancements`
(the demo's, with KEP-753 implemented and a tracking issue) and two implementation
repositories, `kubernetes` and `website`. Every test delivers signed events to the real
server and reads the effects back from the double.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from gidgethub import sansio

from bot import demo
from bot.engine.config import load_config
from bot.engine.proposal import Proposal, load_proposal
from bot.engine.tree import MemoryTree
from bot.github.comments import marker_tag
from bot.github.gateway import GitHub
from bot.github.repo_config import ConfigCache
from bot.github.tracking import Row, render_rows, rows_of
from bot.handlers import links
from bot.handlers import memory as link_memory
from bot.handlers.context import HandlerContext
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event
from bot.sandbox.testing import ManualClock, app_credentials

OWNER, REPO = demo.OWNER, demo.REPO
K8S, WEB = f"{OWNER}/kubernetes", f"{OWNER}/website"
SIDECAR = "keps/sig-node/753-sidecar-containers"
CONFIG = "extends: kep\nimplementations:\n  require-status: [implementable, implemented]\n"
LINK_TAG, TRACKING_TAG = marker_tag("link"), marker_tag("implementations")
GOOD_KEP = demo.NEW_KEP.replace("provisonal", "provisional").replace("11-31", "11-21")


class World:
    """The running bot, the double, and the numbers the tests need."""

    def __init__(self, box: Harness, issue: int) -> None:
        self.box, self.double, self.issue = box, box.double, issue

    def open(self, repo: str, body: str, *, title: str = "Change", author: str = "alice") -> int:
        branch = f"change-{len(self.double.state.repo(repo).issues) + 1}"
        files: dict[str, str | None] = {f"{branch}.txt": "code\n"}
        return self.double.open_pull_request(repo, branch, files, title, body, author=author)

    async def event(
        self, repo: str, number: int, action: str, changes: dict[str, Any] | None = None
    ) -> None:
        event = pull_request_event(self.double, repo, number, action, changes=changes)
        assert await self.box.deliver(event) == 202
        await self.box.idle()

    async def comment(self, repo: str, number: int, body: str, user: str) -> int:
        made = self.double.add_comment(repo, number, body, user)
        event = issue_comment_event(self.double, repo, made.id, "created")
        assert await self.box.deliver(event) == 202
        await self.box.idle()
        return made.id

    def bot_comments(self, repo: str, number: int, tag: str = "") -> list[str]:
        login = self.double.bot_login
        return [
            c.body for c in self.double.comments(repo, number) if c.user == login and tag in c.body
        ]

    def link_comment(self, repo: str, number: int) -> str:
        (body,) = self.bot_comments(repo, number, LINK_TAG)
        return body

    def tracking(self, number: int | None = None) -> list[Row]:
        (body,) = self.bot_comments(REPO, number or self.issue, TRACKING_TAG)
        return rows_of(body)

    def head(self, repo: str, number: int) -> str:
        pull = self.double.pull(repo, number).pull
        assert pull is not None
        return self.double.branch_sha(repo, pull.head_ref) or ""

    def checks(self, repo: str, number: int) -> list[tuple[str | None, str]]:
        runs = self.double.check_runs(repo, self.head(repo, number))
        return [
            (r.conclusion, str(r.output.get("summary"))) for r in runs if r.name == links.CHECK_NAME
        ]

    def check(self, repo: str, number: int) -> tuple[str | None, str]:
        return self.checks(repo, number)[-1]


@asynccontextmanager
async def started(config: str = CONFIG, clock: ManualClock | None = None) -> AsyncIterator[World]:
    """The world of these tests; with `clock`, the double and the bot share a manual one."""
    credentials = app_credentials()
    double = demo.seed(credentials, clock=clock) if clock else demo.seed(credentials)
    double.add_repo(OWNER, "kubernetes", {"README.md": "# kubernetes\n"})
    double.add_repo(OWNER, "website", {"README.md": "# website\n"})
    issue = double.open_issue(REPO, "Sidecar containers", "Tracks KEP-753.", author="carol")
    readme = demo.README.format(number=753, title="Sidecar containers", summary="Sidecars.")
    files = {f"{SIDECAR}/README.md": f"{readme}\nTracking issue: #{issue}\n"}
    double.push(REPO, "main", {**files, ".github/kepbot.yml": config}, "Config", "carol")
    timed: dict[str, Any] = {}
    if clock:
        timed = {"client_options": {"clock": clock}, "clock": clock.utc}
    async with harness(double, credentials, **timed) as box:
        yield World(box, issue)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with started() as running:
        yield running


URL = f"https://github.com/{REPO}"
FORMS = {
    "prefix": "Implements KEP-753.",
    "config form": "Part of KEP 753",
    "tracking issue": f"Part of {REPO}#{{issue}}.",
    "folder URL": f"Design: {URL}/tree/main/{SIDECAR}",
    "file URL": f"See [the KEP]({URL}/blob/main/{SIDECAR}/README.md#summary).",
}


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("repo", [K8S, WEB])
async def test_each_reference_form_links_the_pull_request(
    world: World, form: str, repo: str
) -> None:
    number = world.open(repo, FORMS[form].format(issue=world.issue), title="Sidecar restarts")
    await world.event(repo, number, "opened")
    body = world.link_comment(repo, number)
    assert "KEP-753: Sidecar containers" in body and "**implemented**" in body
    assert f"/{REPO}/tree/main/{SIDECAR})" in body
    assert "kep/linked" in world.double.labels(repo, number)
    assert world.check(repo, number)[0] == "success"
    assert world.tracking() == [Row(repo, number, "open", "Sidecar restarts")]


async def test_link_and_unlink_by_command(world: World) -> None:
    number = world.open(WEB, "Docs for sidecars.", author="alice")
    await world.event(WEB, number, "opened")
    assert world.bot_comments(WEB, number, LINK_TAG) == [], "no reference: no comment"

    first = await world.comment(WEB, number, "/kep link KEP-753", "alice")
    assert "KEP-753: Sidecar containers" in world.link_comment(WEB, number)
    assert "kep/linked" in world.double.labels(WEB, number)
    assert world.tracking() == [Row(WEB, number, "open", "Change")]
    assert {r.content for r in world.double.reactions(WEB, comment_id=first)} == {"eyes", "+1"}

    await world.comment(WEB, number, f"/kep unlink {URL}/tree/main/{SIDECAR}", "alice")
    assert "links no proposal" in world.link_comment(WEB, number)
    assert "kep/linked" not in world.double.labels(WEB, number)
    assert world.tracking() == [], "the row is gone; the comment stays, edited"
    assert len(world.bot_comments(WEB, number, LINK_TAG)) == 1
    refusals = [b for b in world.bot_comments(WEB, number) if "implementation PRs" in b]
    assert refusals == [], "the proposal-PR command handler kept out"


async def test_an_approver_may_link_and_others_may_not(world: World) -> None:
    number = world.open(K8S, "Code.", author="alice")
    await world.event(K8S, number, "opened")
    refused = await world.comment(K8S, number, "/kep link KEP-753", "bob")
    (reply,) = [b for b in world.bot_comments(K8S, number) if "Not applied" in b]
    assert "`@bob` is not an approver" in reply and "sig-node-leads" in reply
    assert {r.content for r in world.double.reactions(K8S, comment_id=refused)} == {"eyes", "-1"}
    assert world.bot_comments(K8S, number, LINK_TAG) == []

    await world.comment(K8S, number, "/kep link 753", "carol")  # CODEOWNERS of keps/sig-node/
    assert "KEP-753" in world.link_comment(K8S, number)
    assert world.tracking() == [Row(K8S, number, "open", "Change")]


async def test_pull_request_states_reach_the_tracking_comment_in_place(world: World) -> None:
    one = world.open(K8S, "Implements KEP-753.", title="Sidecar API")
    two = world.open(WEB, "Docs for KEP-753.", title="Sidecar docs")
    await world.event(K8S, one, "opened")
    await world.event(WEB, two, "opened")
    assert world.tracking() == [
        Row(K8S, one, "open", "Sidecar API"),
        Row(WEB, two, "open", "Sidecar docs"),
    ]
    tracking_id = next(
        c.id for c in world.double.comments(REPO, world.issue) if TRACKING_TAG in c.body
    )
    link_id = next(c.id for c in world.double.comments(K8S, one) if LINK_TAG in c.body)

    changes = world.double.update_pull_request(K8S, one, title="Sidecar API, part 1")
    await world.event(K8S, one, "edited", changes)
    world.double.merge(K8S, one)
    await world.event(K8S, one, "closed")
    world.double.update_pull_request(WEB, two, state="closed")
    await world.event(WEB, two, "closed")
    assert world.tracking() == [
        Row(K8S, one, "merged", "Sidecar API, part 1"),
        Row(WEB, two, "closed", "Sidecar docs"),
    ]
    world.double.update_pull_request(WEB, two, state="open")
    await world.event(WEB, two, "reopened")
    await world.event(WEB, two, "edited")

    assert world.tracking()[1] == Row(WEB, two, "open", "Sidecar docs")
    tracking = [c for c in world.double.comments(REPO, world.issue) if TRACKING_TAG in c.body]
    assert [c.id for c in tracking] == [tracking_id], "7 events, one tracking comment"
    assert [c.id for c in world.double.comments(K8S, one) if LINK_TAG in c.body] == [link_id]
    assert len(world.bot_comments(WEB, two, LINK_TAG)) == 1
    assert "| Sidecar API, part 1 | merged |" in tracking[0].body


async def test_an_unknown_reference_is_answered_once(world: World) -> None:
    number = world.open(K8S, "Implements KEP-9999.")
    await world.event(K8S, number, "opened")
    await world.event(K8S, number, "edited")
    await world.event(K8S, number, "reopened")
    body = world.link_comment(K8S, number)
    assert "KEP-9999: no KEP is numbered 9999 in kubernetes-demo/enhancements" in body
    assert "links no proposal" in body
    assert "kep/linked" not in world.double.labels(K8S, number)

    await world.comment(K8S, number, "/kep link kubernetes-demo/enhancements#404", "alice")
    (reply,) = [b for b in world.bot_comments(K8S, number) if "Not linked:" in b]
    assert "does not exist" in reply
    assert len(world.bot_comments(K8S, number, LINK_TAG)) == 1


async def test_references_in_code_and_quotes_do_not_link(world: World) -> None:
    body = "> KEP-753 was discussed\n\n```\nKEP-753\n```\n<!-- KEP-753 -->\nSee `KEP-753`."
    number = world.open(WEB, body)
    await world.event(WEB, number, "opened")
    assert world.bot_comments(WEB, number, LINK_TAG) == []
    assert world.double.labels(WEB, number) == []


QUOTA = "keps/sig-node/800-pod-quota"
STRICT = (
    "extends: kep\nimplementations:\n  require-link: true\n"
    "  require-status: [implementable, implemented]\n  repositories: [kubernetes]\n"
)


async def test_the_check_fails_where_the_configuration_says() -> None:
    async with started(STRICT) as world:
        kep = GOOD_KEP.replace("kep-number: NNNN", "kep-number: 800").replace(
            "restart budget", "quota"
        )
        world.double.push(REPO, "main", {f"{QUOTA}/kep.yaml": kep}, "Add KEP-800", "carol")

        unlinked = world.open(K8S, "No reference here.")
        await world.event(K8S, unlinked, "opened")
        conclusion, summary = world.check(K8S, unlinked)
        assert conclusion == "failure" and "must link a KEP" in summary

        early = world.open(K8S, "Implements KEP-800.")
        await world.event(K8S, early, "opened")
        conclusion, summary = world.check(K8S, early)
        assert conclusion == "failure"
        assert (
            "KEP-800 is provisional; implementing it needs implementable or implemented" in summary
        )

        ready = world.open(K8S, "Implements KEP-753.")
        await world.event(K8S, ready, "opened")
        assert world.check(K8S, ready)[0] == "success"

        elsewhere = world.open(WEB, "Implements KEP-753.")
        await world.event(WEB, elsewhere, "opened")
        assert world.bot_comments(WEB, elsewhere) == [], "website is not an implementations repo"
        assert world.checks(WEB, elsewhere) == []


async def context(world: World) -> HandlerContext:
    client = world.box.bot.client
    installation = next(iter(world.double.state.installations))
    return HandlerContext(
        GitHub(await client.for_installation(installation)), await client.bot_login(), ConfigCache()
    )


def sidecar(world: World) -> Proposal:
    files = {
        name: (world.double.file_at(REPO, "main", f"{SIDECAR}/{name}") or b"").decode()
        for name in ("kep.yaml", "README.md")
    }
    tree = MemoryTree({f"{SIDECAR}/{name}": text for name, text in files.items()})
    proposal = load_proposal(load_config(CONFIG), tree, f"{SIDECAR}/kep.yaml")
    assert proposal is not None
    return proposal


async def test_implemented_waits_for_every_linked_pull_request(world: World) -> None:
    one = world.open(K8S, "Implements KEP-753.")
    two = world.open(WEB, "Docs for KEP-753.")
    three = world.open(WEB, "More docs for KEP-753.")
    for repo, number in ((K8S, one), (WEB, two), (WEB, three)):
        await world.event(repo, number, "opened")
    ctx = await context(world)
    pending = await links.unmerged_links(ctx, REPO, sidecar(world))
    assert pending == [f"{K8S}#{one}", f"{WEB}#{two}", f"{WEB}#{three}"]

    world.double.merge(K8S, one)
    await world.event(K8S, one, "closed")
    world.double.update_pull_request(WEB, two, state="closed")  # abandoned: does not block
    await world.event(WEB, two, "closed")
    world.double.merge(WEB, three)  # merged, but its event was missed
    assert await links.unmerged_links(ctx, REPO, sidecar(world)) == []
    assert world.tracking()[2] == Row(WEB, three, "merged", "Change"), "corrected on the way"


BUDGET = "keps/sig-node/NNNN-pod-restart-budget"
README = demo.README.format(number="NNNN", title="Pod restart budget", summary="Budgets.")


async def test_a_placeholder_reference_follows_the_proposal_to_its_number(world: World) -> None:
    files: dict[str, str | None] = {f"{BUDGET}/kep.yaml": GOOD_KEP, f"{BUDGET}/README.md": README}
    proposal = world.double.open_pull_request(
        REPO, "budget", files, "KEP: Pod restart budget", author="alice"
    )
    number = world.open(K8S, f"Implements {REPO}#{proposal}.")
    await world.event(K8S, number, "opened")
    body = world.link_comment(K8S, number)
    assert "NNNN-pod-restart-budget: Pod restart budget" in body
    assert f"still under review in {REPO}#{proposal}" in body
    assert "is not merged yet" in world.check(K8S, number)[1]
    assert world.tracking(proposal) == [Row(K8S, number, "open", "Change")]

    world.double.merge(REPO, proposal)
    await world.box.deliver(pull_request_event(world.double, REPO, proposal, "closed"))
    numbered = "keps/sig-node/754-pod-restart-budget/kep.yaml"
    await world.box.until(lambda: world.double.file_at(REPO, "main", numbered))
    await world.box.idle()
    # What merge.py does once it has numbered the proposals (handlers of one event run in no
    # particular order, so the refresh the merge event itself brings may come before it).
    enhancements = {"full_name": REPO, "default_branch": "main"}
    assert await links.refresh_linked(await context(world), enhancements, proposal) == 1
    assert "KEP-754: Pod restart budget" in world.link_comment(K8S, number)

    late = world.open(WEB, f"Docs: {URL}/tree/main/{BUDGET}/")
    await world.event(WEB, late, "opened")
    await world.event(K8S, number, "edited")
    assert "KEP-754: Pod restart budget" in world.link_comment(WEB, late)
    assert "**provisional**" in world.link_comment(K8S, number)
    assert world.tracking(proposal) == [
        Row(K8S, number, "open", "Change"),
        Row(WEB, late, "open", "Change"),
    ], "still one tracking comment, on the merged PR that added the proposal"


# The tracking comment's own format (bot.github.tracking).


def test_rows_survive_their_titles() -> None:
    hostile = "--> <!-- kepbot:link --> @alice #1 | x"
    rows = [Row(K8S, 3, "open", hostile), Row(WEB, 1, "merged", "Docs")]
    text = render_rows("**Implementation pull requests**", rows)
    assert rows_of(text) == [Row(K8S, 3, "open", hostile), Row(WEB, 1, "merged", "Docs")]
    assert "-->" not in text.split("<!-- kepbot-data", 1)[1][:-4], (
        "the data block cannot be closed early"
    )
    assert "<!-- kepbot:link" not in text and "@alice" not in text, "titles are quoted"
    assert text.index(f"{K8S}#3") < text.index(f"{WEB}#1")


def test_damaged_or_foreign_rows_are_dropped() -> None:
    assert rows_of("no data") == []
    assert rows_of("<!-- kepbot-data {not json} -->") == []
    bad = '<!-- kepbot-data {"rows":[{"repo":"a/b","number":"1","state":"open"},5]} -->'
    assert rows_of(bad) == []


async def test_the_link_comment_follows_the_proposals_status_in_place(world: World) -> None:
    tracking = world.double.open_issue(REPO, "Pod quota", author="carol")
    kep = GOOD_KEP.replace("kep-number: NNNN", "kep-number: 800").replace("restart budget", "quota")
    readme = demo.README.format(number=800, title="Pod quota", summary="Quota.")
    files = {
        f"{QUOTA}/kep.yaml": kep,
        f"{QUOTA}/README.md": f"{readme}\nTracking issue: #{tracking}\n",
    }
    world.double.push(REPO, "main", files, "Add KEP-800", "carol")
    number = world.open(K8S, "Implements KEP-800.")
    await world.event(K8S, number, "opened")
    assert "**provisional**" in world.link_comment(K8S, number)
    assert world.check(K8S, number)[0] == "failure"
    link_id = next(c.id for c in world.double.comments(K8S, number) if LINK_TAG in c.body)

    approved = kep.replace("status: provisional", "status: implementable")
    change = {f"{QUOTA}/kep.yaml": approved}
    proposal = world.double.open_pull_request(
        REPO, "approve-800", change, "Approve", author="carol"
    )
    world.double.merge(REPO, proposal)
    await world.event(REPO, proposal, "closed")

    assert "**implementable**" in world.link_comment(K8S, number)
    assert [c.id for c in world.double.comments(K8S, number) if LINK_TAG in c.body] == [link_id]
    assert world.check(K8S, number)[0] == "success", "the check ran again"
    assert world.tracking(tracking) == [Row(K8S, number, "open", "Change")]


async def test_which_pull_requests_are_implementation_pull_requests(world: World) -> None:
    ctx = await context(world)
    files: dict[str, str | None] = {f"{BUDGET}/kep.yaml": GOOD_KEP, f"{BUDGET}/README.md": README}
    proposal = world.double.open_pull_request(REPO, "budget", files, "KEP", author="alice")
    docs = world.double.open_pull_request(REPO, "docs", {"README.md": "Docs.\n"}, "Docs")
    code = world.open(K8S, "Code.")
    repos = {name: world.double.state.repo(name) for name in (REPO, K8S)}
    info = {
        name: {"full_name": r.full_name, "default_branch": r.default_branch}
        for name, r in repos.items()
    }
    assert not await links.is_implementation_pull(ctx, info[REPO], proposal)
    assert await links.is_implementation_pull(ctx, info[REPO], docs)
    assert await links.is_implementation_pull(ctx, info[K8S], code)
    # Given the comment: one without a command of any word is nobody's business.
    assert not await links.is_implementation_pull(ctx, info[K8S], code, "Thanks! /kep soon")
    assert not await links.is_implementation_pull(ctx, info[K8S], code, "```\n/kep link 1\n```")
    assert not await links.is_implementation_pull(ctx, info[K8S], code, "/other link KEP-753")
    assert await links.is_implementation_pull(ctx, info[K8S], code, "/kep link KEP-753")
    assert await links.is_implementation_pull(ctx, info[REPO], docs, "/KEP help")
    assert not await links.is_implementation_pull(ctx, info[REPO], proposal, "/kep accept")


def requests_since(world: World, start: int, pattern: str = "") -> list[str]:
    made = world.double.requests[start:]
    return [f"{r.method} {r.path}" for r in made if pattern in r.path]


async def test_a_comment_without_a_command_costs_the_links_side_no_request(world: World) -> None:
    files: dict[str, str | None] = {f"{BUDGET}/kep.yaml": GOOD_KEP, f"{BUDGET}/README.md": README}
    proposal = world.double.open_pull_request(REPO, "budget", files, "KEP", author="alice")
    code = world.open(K8S, "Implements KEP-753.")
    for repo, number in ((REPO, proposal), (K8S, code)):
        await world.event(repo, number, "opened")
        plain = world.double.add_comment(repo, number, "Looks good.\n\n> /kep approve", "bob")
        name, payload = issue_comment_event(world.double, repo, plain.id, "created")
        ctx = await context(world)  # a cold configuration cache: still nothing to read
        start = len(world.double.requests)
        await links.router.dispatch(sansio.Event(payload, event=name, delivery_id="d"), ctx)
        body = plain.body
        assert not await links.is_implementation_pull(ctx, payload["repository"], number, body)
        assert requests_since(world, start) == [], f"{repo}#{number}"

    # A command on a proposal PR: the PR's files are read once per head commit.
    info = {"full_name": REPO, "default_branch": "main"}
    start = len(world.double.requests)
    for _ in range(3):
        ctx = await context(world)
        assert not await links.is_implementation_pull(ctx, info, proposal, "/kep approve")
    assert requests_since(world, start, "/files") == []
    world.double.push(REPO, "budget", {"notes.md": "more\n"}, "Notes", "alice")
    assert not await links.is_implementation_pull(await context(world), info, proposal, "/kep x")
    assert len(requests_since(world, start, "/files")) == 1, "a new head commit is looked at"


async def test_merging_a_proposal_pull_request_searches_nothing(world: World) -> None:
    files: dict[str, str | None] = {f"{BUDGET}/kep.yaml": GOOD_KEP, f"{BUDGET}/README.md": README}
    proposal = world.double.open_pull_request(REPO, "budget", files, "KEP", author="alice")
    await world.event(REPO, proposal, "opened")
    start = len(world.double.requests)
    world.double.merge(REPO, proposal)
    await world.event(REPO, proposal, "closed")
    numbered = "keps/sig-node/754-pod-restart-budget/kep.yaml"
    await world.box.until(lambda: world.double.file_at(REPO, "main", numbered))
    await world.box.idle()
    assert requests_since(world, start, "/search/") == []
    assert len(requests_since(world, start, f"/pulls/{proposal}/files")) <= 2, "merge.py, links"

    # An implementation PR linking the new KEP finds its tracking place without a search.
    number = world.open(K8S, "Implements KEP-754.")
    await world.event(K8S, number, "opened")
    assert "KEP-754" in world.link_comment(K8S, number)
    assert world.tracking(proposal) == [Row(K8S, number, "open", "Change")]
    assert requests_since(world, start, "/search/") == []


async def test_searches_for_where_proposals_are_tracked_are_bounded(world: World) -> None:
    """Proposals pushed straight to the default branch have no tracking place: each lookup
    searches, within the budget, and a miss is remembered."""
    numbers = range(801, 807)
    for number in numbers:
        kep = GOOD_KEP.replace("kep-number: NNNN", f"kep-number: {number}").replace(
            "restart budget", f"budget {number}"
        )
        path = f"keps/sig-node/{number}-budget-{number}/kep.yaml"
        world.double.push(REPO, "main", {path: kep}, f"Add KEP-{number}", "carol")
    body = "Implements " + ", ".join(f"KEP-{n}" for n in numbers) + "."
    start = len(world.double.requests)
    code = world.open(K8S, body)
    await world.event(K8S, code, "opened")
    await world.event(K8S, code, "edited")
    searches = requests_since(world, start, "/search/")
    assert 0 < len(searches) <= link_memory.SEARCH_BUDGET
    comment = world.link_comment(K8S, code)
    assert all(f"KEP-{n}: Pod budget {n}" in comment for n in numbers)
    assert world.check(K8S, code)[0] == "failure", "provisional KEPs"


async def test_a_command_in_the_description_links_at_once(world: World) -> None:
    number = world.open(K8S, "Work in progress.\n\n/kep link KEP-753\n", author="alice")
    await world.event(K8S, number, "opened")
    assert "KEP-753" in world.link_comment(K8S, number)
    assert {r.content for r in world.double.reactions(K8S, number=number)} == {"eyes", "+1"}
