"""Check-run buttons end to end: offered for the legal next steps, a click by an eligible
person applies the step once, a click by anyone else changes nothing and gets one reply."""

from kep_pr import REPO, head, kep_text, open_pr

from bot.reconcile import Reconciler
from bot.sandbox.harness import Harness
from bot.sandbox.payloads import check_run_event, pull_request_event

LIMITS = {"label": 20, "description": 40, "identifier": 20}


def bot_comments(box: Harness, number: int) -> list[str]:
    return [c.body for c in box.double.comments(REPO, number) if c.user == "kepbot[bot]"]


async def click(box: Harness, run_id: int, verb: str, user: str) -> None:
    event = check_run_event(
        box.double, REPO, run_id, "requested_action", identifier=f"verb:{verb}", sender=user
    )
    assert await box.deliver(event) == 202
    await box.idle()


async def accepted(box: Harness) -> int:
    """A new KEP, accepted by clicking: the number of the pull request."""
    number = open_pr(box)
    await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
    run = await box.check_run(REPO, head(box))
    assert "verb:accept" in [a["identifier"] for a in run.actions]
    await click(box, run.id, "accept", "carol")
    return number


async def test_buttons_are_offered_within_githubs_limits(box: Harness) -> None:
    number = open_pr(box)
    await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
    run = await box.check_run(REPO, head(box))
    assert 1 <= len(run.actions) <= 3
    for action in run.actions:
        assert action["identifier"].startswith("verb:")
        for name, limit in LIMITS.items():
            assert 0 < len(action[name]) <= limit, (name, action)


async def test_an_eligible_click_applies_the_step_once(box: Harness) -> None:
    number = await accepted(box)
    run = await box.check_run(REPO, head(box))  # the one run, updated in place
    assert run.conclusion == "success", "the click was recorded as carol's accept"
    assert "verb:approve" in [a["identifier"] for a in run.actions]
    commits = len(box.double.commits(REPO, "kep"))

    await click(box, run.id, "approve", "carol")
    assert "status: implementable" in kep_text(box)
    assert len(box.double.commits(REPO, "kep")) == commits + 1
    await click(box, run.id, "approve", "carol")  # a redelivery or a second click
    assert len(box.double.commits(REPO, "kep")) == commits + 1
    records = [b for b in bot_comments(box, number) if "clicked `approve`" in b]
    assert len(records) == 1
    final = await box.check_run(REPO, head(box))
    assert final.conclusion == "success", "replay reads the click back as carol's approve"


async def test_an_ineligible_click_changes_nothing_and_gets_one_reply(box: Harness) -> None:
    box.double.add_user("mallory")
    number = await accepted(box)
    run = await box.check_run(REPO, head(box))  # the one run, updated in place
    commits, text = len(box.double.commits(REPO, "kep")), kep_text(box)

    await click(box, run.id, "approve", "mallory")
    await click(box, run.id, "approve", "mallory")
    assert kep_text(box) == text
    assert len(box.double.commits(REPO, "kep")) == commits
    (refusal,) = [b for b in bot_comments(box, number) if "not applied" in b]
    assert "`@mallory` clicked `approve`" in refusal


async def test_a_click_whose_handler_died_after_recording_it_is_run_by_reconcile(
    box: Harness,
) -> None:
    number = await accepted(box)
    run = await box.check_run(REPO, head(box))  # the one run, updated in place
    # The instance recorded carol's click, then died before running it.
    body = f"<!-- kepbot:button:carol:approve:{run.id} -->\n> /kep approve\n\ncarol clicked."
    made = box.double.add_comment(REPO, number, body, "kepbot[bot]")
    assert "status: provisional" in kep_text(box)
    summary = await Reconciler(box.bot).pass_once()
    assert summary.commands == 1
    assert "status: implementable" in kep_text(box)
    assert {r.content for r in box.double.reactions(REPO, comment_id=made.id)} >= {"+1"}
    assert (await Reconciler(box.bot).pass_once()).commands == 0, "once"
