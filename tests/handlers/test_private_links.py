"""Private stays private across implementation links, through the server and the double.

The installation (org kubernetes-demo) holds the public proposals repository
`enhancements` (KEP-753, tracked by an issue), the public `kubernetes`, a private
proposals repository `secret-enhancements` (KEP-4242 "Secret plan", tracked by an issue)
and a private `internal`. The rule (`bot.handlers.links.targets.shows`): what is in a
public repository may be shown anywhere; what is in a private one only in itself and in
the private repositories of the same owner.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from test_links import K8S, OWNER, REPO, TRACKING_TAG, World, started

from bot import demo
from bot.github.tracking import Row, rows_of
from bot.handlers.links.feedback import UNLISTED
from bot.handlers.links.targets import shows

SECRET_REPO, INTERNAL = f"{OWNER}/secret-enhancements", f"{OWNER}/internal"
SECRET_DIR = "keps/sig-node/4242-secret-plan"
SECRET_TITLE = "Secret plan"
SECRET_KEP = (
    demo.EXISTING_KEP.replace("Sidecar containers", SECRET_TITLE)
    .replace("kep-number: 753", "kep-number: 4242")
    .replace("status: implemented", "status: implementable")
)
# What of the private proposal must never reach a public repository.
SECRETS = (SECRET_TITLE, "secret-enhancements", "4242-secret-plan", "implementable")


class Private:
    """The world of test_links with the private repositories added."""

    def __init__(self, world: World) -> None:
        self.world, self.double = world, world.double
        double = self.double
        double.add_repo(OWNER, "secret-enhancements", {"README.md": "# hush\n"}, private=True)
        double.add_repo(OWNER, "internal", {"README.md": "# internal\n"}, private=True)
        self.issue = double.open_issue(SECRET_REPO, SECRET_TITLE, "Tracks KEP-4242.", "carol")
        readme = demo.README.format(number=4242, title=SECRET_TITLE, summary="Hush.")
        files = {
            f"{SECRET_DIR}/kep.yaml": SECRET_KEP,
            f"{SECRET_DIR}/README.md": f"{readme}\nTracking issue: #{self.issue}\n",
            ".github/CODEOWNERS": demo.CODEOWNERS,
        }
        double.push(SECRET_REPO, "main", files, "KEP-4242", "carol")

    def secret_tracking(self) -> list[Row]:
        bodies = self.world.bot_comments(SECRET_REPO, self.issue, TRACKING_TAG)
        return rows_of(bodies[0]) if bodies else []

    def public_tracking(self) -> list[Row]:
        bodies = self.world.bot_comments(REPO, self.world.issue, TRACKING_TAG)
        return rows_of(bodies[0]) if bodies else []

    def seen(self, repo: str, number: int) -> dict[str, Any]:
        """All a reader of the pull request sees of the bot: comments, labels, checks,
        reactions (the bot's hidden markers and data taken out)."""
        double = self.double
        head = self.world.head(repo, number)

        def plain(text: str) -> str:
            return re.sub(r"<!-- kepbot[-:].*? -->", "", text, flags=re.S)

        return {
            "comments": [plain(body) for body in self.world.bot_comments(repo, number)],
            "labels": double.labels(repo, number),
            "checks": [
                (r.name, r.conclusion, plain(str(r.output))) for r in double.check_runs(repo, head)
            ],
            "reactions": sorted(
                r.content
                for c in double.comments(repo, number)
                for r in double.reactions(repo, comment_id=c.id)
            ),
        }


@pytest.fixture
async def private() -> AsyncIterator[Private]:
    async with started() as world:
        yield Private(world)


def assert_nothing_secret(seen: dict[str, Any]) -> None:
    text = repr(seen)
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} shown in public: {text}"


async def test_a_public_pull_request_shows_nothing_of_a_private_proposal(private: Private) -> None:
    """The issue's case: a public implementation PR citing KEP-4242, which only the private
    repository holds, gets what it would get for a number no repository holds."""
    world = private.world
    cites = world.open(K8S, "Implements KEP-4242.", title="Rollout")
    await world.event(K8S, cites, "opened")
    nowhere = world.open(K8S, "Implements KEP-4343.", title="Rollout")
    await world.event(K8S, nowhere, "opened")
    seen, other = private.seen(K8S, cites), private.seen(K8S, nowhere)
    assert_nothing_secret(seen)
    other["comments"] = [c.replace("4343", "4242") for c in other["comments"]]
    assert seen == other
    assert private.secret_tracking() == [], "a public PR is not linked to a private proposal"


async def test_a_command_naming_a_private_repository_is_answered_as_for_no_repository(
    private: Private,
) -> None:
    world = private.world
    answers = []
    for named in (SECRET_REPO, f"{OWNER}/no-such-repository"):
        number = world.open(K8S, "Code.", author="alice")
        await world.event(K8S, number, "opened")
        await world.comment(K8S, number, f"/kep link {named}#{private.issue}", "alice")
        seen = private.seen(K8S, number)
        seen["comments"] = [c.replace(named, "REPO") for c in seen["comments"]]
        answers.append(seen)
    assert_nothing_secret(answers[0])
    assert answers[0] == answers[1]
    assert any("Not linked:" in c for c in answers[0]["comments"])
    assert private.secret_tracking() == []


async def test_private_repositories_of_one_owner_link_to_each_other(private: Private) -> None:
    world = private.world
    number = world.open(INTERNAL, "Implements KEP-4242.", title="Internal rollout")
    await world.event(INTERNAL, number, "opened")
    body = world.link_comment(INTERNAL, number)
    assert f"KEP-4242: {SECRET_TITLE}" in body and "**implementable**" in body
    assert UNLISTED not in body
    assert "kep/linked" in private.double.labels(INTERNAL, number)
    assert private.secret_tracking() == [Row(INTERNAL, number, "open", "Internal rollout")]


async def test_a_private_pull_request_is_not_listed_in_a_public_proposal(
    private: Private,
) -> None:
    """A private PR may link a public proposal and shows it, but the public tracking
    comment (and the pipeline page, which reads it) does not list the private PR."""
    world = private.world
    public = world.open(K8S, "Implements KEP-753.", title="Public work")
    await world.event(K8S, public, "opened")
    hidden = world.open(INTERNAL, "Implements KEP-753.", title="Internal sidecar rollout")
    await world.event(INTERNAL, hidden, "opened")
    body = world.link_comment(INTERNAL, hidden)
    assert "KEP-753: Sidecar containers" in body and UNLISTED in body
    assert private.public_tracking() == [Row(K8S, public, "open", "Public work")]
    everything_public = " ".join(
        c.body
        for repo in (REPO, K8S)
        for number in private.double.state.repo(repo).issues
        for c in private.double.comments(repo, number)
    )
    assert "internal" not in everything_public.lower()
    page = world.box.bot_url + f"/pipeline/{REPO}.json"
    async with world.box.session.get(page) as reply:
        shown = await reply.json()
    (row,) = [r for r in shown["proposals"] if r["number"] == "753"]
    assert [p["repo"] for p in row["implementations"]] == [K8S]


async def test_a_repository_made_private_leaves_the_public_tracking_comment(
    private: Private,
) -> None:
    """Linked while public; once private, the PR's next event removes its row from the
    public proposal's tracking comment (and the page)."""
    world, double = private.world, private.double
    number = world.open(K8S, "Implements KEP-753.", title="Was public")
    await world.event(K8S, number, "opened")
    assert private.public_tracking() == [Row(K8S, number, "open", "Was public")]
    double.set_visibility(K8S, private=True)
    await world.event(K8S, number, "edited")
    assert private.public_tracking() == []
    assert UNLISTED in world.link_comment(K8S, number)


async def test_another_installation_sees_nothing_of_this_ones_proposals(
    private: Private,
) -> None:
    """A public repository of another account where the App is installed too: citing this
    installation's proposals (public or private) links nothing and shows nothing."""
    world, double = private.world, private.double
    double.add_org("other-org")
    double.add_repo("other-org", "code", {"README.md": "# code\n"})
    double.add_installation("other-org")
    body = f"Implements KEP-753 and KEP-4242, {REPO}#{world.issue}, {SECRET_REPO}#{private.issue}."
    number = world.open("other-org/code", body, title="Elsewhere")
    await world.event("other-org/code", number, "opened")
    runs = double.check_runs("other-org/code", world.head("other-org/code", number))
    assert [r.name for r in runs] == ["kepbot"], "the other installation's delivery was handled"
    assert world.bot_comments("other-org/code", number) == []
    assert double.labels("other-org/code", number) == []
    assert private.public_tracking() == [] and private.secret_tracking() == []


@pytest.mark.parametrize(
    ("source", "source_private", "into", "into_private", "allowed"),
    [
        ("o/public", False, "o/other", False, True),
        ("o/public", False, "o/private", True, True),
        ("o/public", False, "x/private", True, True),
        ("o/private", True, "o/private", True, True),  # within one repository
        ("o/private", True, "O/Private", True, True),  # names ignore case
        ("o/private", True, "o/public", False, False),
        ("o/private", True, "o/other", True, True),  # private, same owner
        ("o/private", True, "x/other", True, False),  # private, another owner
    ],
)
def test_the_rule(
    source: str, source_private: bool, into: str, into_private: bool, allowed: bool
) -> None:
    assert shows(source, source_private, into, into_private) is allowed
