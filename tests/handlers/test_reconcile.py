"""Reconcile (docs/design.md B8): commands whose delivery never arrived, or whose handling
died, are run by reconcile."""

from kep_pr import GOOD_KEP, KEP, REPO, open_pr

from bot import demo
from bot.github.comments import claim
from bot.reconcile import Reconciler
from bot.sandbox.harness import Harness, harness
from bot.sandbox.testing import app_credentials


def bot_commits(box: Harness) -> int:
    return sum("→ implementable" in c.message for _, c in box.double.commits(REPO, "kep"))


async def test_a_missed_delivery_is_run_once_by_reconcile(box: Harness) -> None:
    number = open_pr(box)
    made = box.double.add_comment(REPO, number, "/kep approve", "carol")  # never delivered
    summary = await Reconciler(box.bot).pass_once()
    assert (summary.pulls, summary.commands) == (1, 1)
    assert bot_commits(box) == 1
    reactions = {r.content for r in box.double.reactions(REPO, comment_id=made.id)}
    assert reactions == {"eyes", "+1"}
    again = await Reconciler(box.bot).pass_once()
    assert again.commands == 0 and bot_commits(box) == 1, "a second pass changes nothing"


async def test_a_claimed_command_whose_handler_died_is_run_again_after_the_grace(
    box: Harness,
) -> None:
    number = open_pr(box)
    made = box.double.add_comment(REPO, number, "/kep approve", "carol")
    ctx = await box.bot.context(1)
    assert await claim(ctx.gh, REPO, comment_id=made.id)  # an instance claimed it, then died
    assert (await Reconciler(box.bot, grace=3600).pass_once()).commands == 0, "still in grace"
    assert bot_commits(box) == 0
    assert (await Reconciler(box.bot, grace=0).pass_once()).commands == 1
    assert bot_commits(box) == 1


async def test_the_start_up_pass_checks_prs_opened_while_no_instance_ran() -> None:
    credentials = app_credentials()
    double = demo.seed(credentials)
    files: dict[str, str | None] = {KEP: GOOD_KEP, f"{demo.KEP_DIR}/README.md": demo.NEW_README}
    double.open_pull_request(REPO, "kep", files, "KEP", author="alice")  # no delivery
    sha = double.branch_sha(REPO, "kep") or ""
    assert double.check_runs(REPO, sha) == []
    async with harness(double, credentials, settings={"kepbot_reconcile_seconds": 3600}) as box:
        run = await box.check_run(REPO, sha)
        assert run.conclusion == "action_required"
