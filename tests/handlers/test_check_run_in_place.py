"""One check run per head and name (docs/design.md B1), found on GitHub and updated in place:
never a second one for passes, re-requests or a second instance, and no write at all when
its result has not changed."""

import asyncio

from kep_pr import EXISTING, EXISTING_KEP
from test_period_flow import comment, fcp_pr

from bot import demo
from bot.reconcile import Reconciler
from bot.sandbox.cost import kep_folder, open_checked_pr
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import check_run_event, pull_request_event
from bot.sandbox.pipeline import RecordedRequest
from bot.sandbox.testing import AppCredentials, app_credentials

REPO = demo.REPO


def run_writes(requests: list[RecordedRequest]) -> list[tuple[str, str]]:
    """The check-run writes among `requests`: (method, path below the repository)."""
    return [
        (r.method, r.path.removeprefix(f"/repos/{REPO}/"))
        for r in requests
        if "/check-runs" in r.path and r.method != "GET"
    ]


async def rerequest(box: Harness, run_id: int) -> None:
    event = check_run_event(box.double, REPO, run_id, "rerequested", sender="alice")
    assert await box.deliver(event) == 202
    await box.idle()


async def test_an_unchanged_head_keeps_one_run_through_passes_and_rerequests(
    box: Harness,
) -> None:
    number = await open_checked_pr(box, 0)
    head = box.double.branch_sha(REPO, "kep-0") or ""
    (run,) = box.double.check_runs(REPO, head)
    start = len(box.double.requests)
    for _ in range(3):  # each reconciler is new, so each pass looks at every pull request
        assert (await Reconciler(box.bot).pass_once()).pulls == 1
    assert run_writes(box.double.requests[start:]) == [], "an unchanged result is not written"
    await rerequest(box, run.id)
    await rerequest(box, run.id)
    assert [r.id for r in box.double.check_runs(REPO, head)] == [run.id]
    again = f"check-runs/{run.id}"
    assert run_writes(box.double.requests[start:]) == [("PATCH", again), ("PATCH", again)]
    await box.deliver(pull_request_event(box.double, REPO, number, "reopened"))
    await box.idle()
    assert [r.id for r in box.double.check_runs(REPO, head)] == [run.id]


async def test_a_rerequest_of_a_run_with_many_annotations_adds_none(box: Harness) -> None:
    folder = kep_folder(0)
    kep = demo.NEW_KEP + "".join(f"unknown-{i}: x\n" for i in range(60))
    files: dict[str, str | None] = {f"{folder}/kep.yaml": kep, f"{folder}/README.md": "x\n"}
    number = box.double.open_pull_request(REPO, "many", files, "KEP", author="alice")
    await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
    await box.idle()
    head = box.double.branch_sha(REPO, "many") or ""
    (run,) = box.double.check_runs(REPO, head)
    notes = len(run.annotations)
    assert notes > 50, "sent in two requests"
    await rerequest(box, run.id)
    await Reconciler(box.bot).pass_once()
    (again,) = box.double.check_runs(REPO, head)
    assert again.id == run.id and len(again.annotations) == notes


async def test_a_changed_result_on_the_same_head_is_written_into_its_run(
    credentials: AppCredentials,
) -> None:
    async with fcp_pr(credentials) as (box, _, _):
        moved = EXISTING.replace("status: provisional", "status: implementable")
        files: dict[str, str | None] = {EXISTING_KEP: moved}
        number = box.double.open_pull_request(REPO, "move", files, "Implementable", author="bob")
        assert await box.deliver(pull_request_event(box.double, REPO, number, "opened")) == 202
        await box.idle()
        head = box.double.branch_sha(REPO, "move") or ""
        (run,) = box.double.check_runs(REPO, head)
        before = run.output["summary"]
        start = len(box.double.requests)
        await comment(box, number, "/kep fcp approve", "carol")  # a vote: the head stays
        assert box.double.branch_sha(REPO, "move") == head
        (after,) = box.double.check_runs(REPO, head)
        assert after.id == run.id and after.output["summary"] != before
        assert "1 of 2" in after.output["summary"]
        assert run_writes(box.double.requests[start:]) == [("PATCH", f"check-runs/{run.id}")]


async def test_two_instances_keep_one_run_per_head() -> None:
    credentials = app_credentials()
    double = demo.seed(credentials)
    async with harness(double, credentials) as one, harness(double, credentials) as two:
        number = await open_checked_pr(one, 0)
        head = double.branch_sha(REPO, "kep-0") or ""
        (run,) = double.check_runs(REPO, head)
        start = len(double.requests)
        await asyncio.gather(Reconciler(one.bot).pass_once(), Reconciler(two.bot).pass_once())
        reopened = pull_request_event(double, REPO, number, "reopened")
        await asyncio.gather(one.deliver(reopened), two.deliver(reopened))
        await one.idle()
        await two.idle()
        assert run_writes(double.requests[start:]) == [], "both found it as it should be"
        await rerequest(two, run.id)
        assert [r.id for r in double.check_runs(REPO, head)] == [run.id]

        readme = f"{kep_folder(0)}/README.md"
        text = (double.file_at(REPO, "kep-0", readme) or b"").decode() + "More.\n"
        pushed = double.push(REPO, "kep-0", {readme: text}, "Edit", "alice")
        await one.deliver(pull_request_event(double, REPO, number, "synchronize", before=head))
        await one.idle()
        await asyncio.gather(Reconciler(one.bot).pass_once(), Reconciler(two.bot).pass_once())
        await rerequest(two, double.check_runs(REPO, pushed)[0].id)
        assert len(double.check_runs(REPO, pushed)) == 1
        assert [r.id for r in double.check_runs(REPO, head)] == [run.id]
