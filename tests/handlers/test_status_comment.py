"""The one status comment per pull request (docs/design.md B2), through the real server and
the double: per proposal, every voter its decision needs with their vote, the concerns with
who raised and resolved them, and when a comment period ends, kept current on every check
and every command, edited in place."""

import datetime

from kep_pr import (
    EXISTING,
    EXISTING_DIR,
    EXISTING_KEP,
    EXISTING_README,
    bot_replies,
    comment,
    open_pr,
    seed_existing,
)
from test_period_flow import both_approvers_start_it, fcp_pr

from bot import demo
from bot.sandbox.harness import Harness
from bot.sandbox.payloads import pull_request_event
from bot.sandbox.testing import AppCredentials

REPO = demo.REPO
NEW_KEP = f"{demo.KEP_DIR}/kep.yaml"


def status_comments(box: Harness, number: int) -> list[str]:
    return [body for body in bot_replies(box, number) if "<!-- kepbot:status -->" in body]


def status_comment(box: Harness, number: int) -> str:
    (found,) = status_comments(box, number)  # one, edited in place
    return found


async def opened(box: Harness, number: int) -> None:
    assert await box.deliver(pull_request_event(box.double, REPO, number, "opened")) == 202
    await box.idle()


async def test_each_required_voter_shows_with_their_vote_after_one_of_two_approves(
    box: Harness,
) -> None:
    seed_existing(box.double)  # provisional, approvers carol and dave (`quorum: all`)
    readme = {f"{EXISTING_DIR}/README.md": EXISTING_README + "More text.\n"}
    number = box.double.open_pull_request(REPO, "votes", readme, "Votes", "", author="alice")
    await opened(box, number)
    assert "not yet" not in status_comment(box, number), "no decision under way yet"

    await comment(box, number, "/kep approve", "carol")
    text = status_comment(box, number)
    assert "`provisional` → `implementable` (`/kep approve`): 1 of 2 votes" in text
    assert "- ☑ `@carol`: approved" in text
    assert "- ☐ `@dave`: not yet" in text

    await comment(box, number, "/kep approve", "dave")
    text = status_comment(box, number)
    assert "| `provisional` | `implementable` | decided |" in text
    assert "not yet" not in text and "`@carol`: approved" not in text, "decided: no vote left"


async def test_an_approver_entry_that_is_no_login_is_shown_inert(box: Harness) -> None:
    seed_existing(box.double)
    hostile = '  - "@eve <!-- kepbot:c99 --><img src=x onerror=alert(1)>"\n'
    listed = EXISTING.replace('  - "@dave"\n', '  - "@dave"\n' + hostile)
    box.double.push(REPO, "main", {EXISTING_KEP: listed})
    readme = {f"{EXISTING_DIR}/README.md": EXISTING_README + "More text.\n"}
    number = box.double.open_pull_request(REPO, "votes", readme, "Votes", "", author="alice")
    await comment(box, number, "/kep approve", "carol")
    text = status_comment(box, number)
    assert "1 of 3 votes" in text and "- ☑ `@carol`: approved" in text
    (line,) = [line for line in text.splitlines() if "not a GitHub login" in line]
    assert line.startswith("- ☐ eve &lt;!") and line.endswith("(not a GitHub login): not yet")
    assert "<img" not in text and "<!-- kepbot:c99" not in text


async def test_a_new_proposal_lists_who_may_vote_on_it(box: Harness) -> None:
    number = open_pr(box)
    await opened(box, number)
    text = status_comment(box, number)
    assert "new → `provisional` (`/kep accept`): 0 of 1 vote" in text
    assert (
        "- ☐ not yet: 1 more vote. Who can act as approver: CODEOWNERS of /keps/sig-node/ "
        "(`@kubernetes-demo/sig-node-leads`)"
    ) in text


TWO_TO_ACCEPT = """\
extends: kep
transitions:
  - {to: provisional, from: [new, deferred], verbs: [accept], quorum: 2}
  - {to: implementable, from: [new, provisional, deferred], verbs: [approve], quorum: all}
  - {to: deferred, from: [new, provisional, implementable], verbs: [defer]}
"""


async def test_a_new_proposal_needing_two_votes_shows_who_gave_the_first(box: Harness) -> None:
    box.double.push(REPO, "main", {".github/kepbot.yml": TWO_TO_ACCEPT})
    number = open_pr(box)
    await opened(box, number)
    assert "0 of 2 votes" in status_comment(box, number)

    await comment(box, number, "/kep accept", "carol")
    text = status_comment(box, number)
    assert "new → `provisional` (`/kep accept`): 1 of 2 votes" in text
    assert "- ☑ `@carol`: approved" in text
    assert "- ☐ not yet: 1 more vote. Who can act as approver:" in text
    assert "status: provisional" in (box.double.file_at(REPO, "kep", NEW_KEP) or b"").decode()


async def test_a_concern_shows_its_raiser_as_objecting_and_then_as_resolved(
    credentials: AppCredentials,
) -> None:
    async with fcp_pr(credentials) as (box, _, number):
        await comment(box, number, "/kep fcp approve", "carol")
        await comment(box, number, "/kep concern api-shape", "dave")
        text = status_comment(box, number)
        assert "`provisional` → `implementable` (`/kep fcp approve`): 1 of 2 votes" in text
        assert "- ☑ `@carol`: approved" in text
        assert "- ☒ `@dave`: objected (concern `api-shape`)" in text
        assert "- ☒ `api-shape` raised by `@dave`: open" in text

        await comment(box, number, "/kep resolve api-shape", "carol")  # an approver may
        text = status_comment(box, number)
        assert "- ☑ ~~`api-shape`~~ raised by `@dave`: resolved by `@carol`" in text
        assert "- ☐ `@dave`: not yet" in text and "objected" not in text


async def test_a_running_comment_period_shows_its_voters_and_its_end(
    credentials: AppCredentials,
) -> None:
    async with fcp_pr(credentials) as (box, clock, number):
        started = clock.utc()
        await both_approvers_start_it(box, number)
        text = status_comment(box, number)
        end = started + datetime.timedelta(days=10)
        assert "`provisional` → `implementable` (`/kep fcp approve`): 2 of 2 votes" in text
        assert "- ☑ `@carol`: approved" in text and "- ☑ `@dave`: approved" in text
        assert "Comment period: The comment period for `implementable` (started by `@dave` " in text
        assert f"ends {end:%Y-%m-%d %H:%M} UTC unless a concern is raised." in text
