"""The check run (docs/design.md B1) through the whole stack: signed deliveries in, check
runs read back from the double."""

from bot import demo
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import check_run_event, pull_request_event
from bot.sandbox.testing import app_credentials

REPO, KEP = demo.REPO, f"{demo.KEP_DIR}/kep.yaml"
README = demo.README.format(number="NNNN", title="Pod restart budget", summary="Budgets.")


def open_pr(box: Harness, kep_yaml: str, branch: str = "kep") -> tuple[int, str]:
    files: dict[str, str | None] = {KEP: kep_yaml, f"{demo.KEP_DIR}/README.md": README}
    number = box.double.open_pull_request(REPO, branch, files, "KEP", author="alice")
    return number, box.double.branch_sha(REPO, branch) or ""


async def test_a_pr_with_defects_fails_with_annotations_then_passes_when_fixed(
    box: Harness,
) -> None:
    number, sha = open_pr(box, demo.NEW_KEP)
    assert await box.deliver(pull_request_event(box.double, REPO, number, "opened")) == 202
    run = await box.check_run(REPO, sha)
    assert run.conclusion == "failure"
    assert [(a["path"], a["start_line"], a["title"]) for a in run.annotations] == [
        (KEP, 6, "status.unknown"),
        (KEP, 7, "schema.date"),
    ]
    assert "status 'provisonal' is not valid" in run.output["summary"]
    fixed = demo.NEW_KEP.replace("provisonal", "provisional").replace("11-31", "11-21")
    new_sha = box.double.push(REPO, "kep", {KEP: fixed}, "fix", "alice")
    await box.deliver(pull_request_event(box.double, REPO, number, "synchronize", before=sha))
    waiting = await box.check_run(REPO, new_sha)
    assert waiting.conclusion == "action_required", "a new proposal waits to be accepted"
    assert "/kep accept" in waiting.output["summary"]


async def test_more_than_fifty_annotations_are_sent_in_batches(box: Harness) -> None:
    extra = "".join(f"unknown-{i}: x\n" for i in range(60))
    number, sha = open_pr(box, demo.NEW_KEP + extra)
    await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
    await box.check_run(REPO, sha)
    await box.idle()  # the run is created with the first 50; the rest follow in a PATCH
    (run,) = box.double.check_runs(REPO, sha)
    assert len(run.annotations) == 62
    writes = [r for r in box.double.requests if "/check-runs" in r.path and r.method != "GET"]
    assert [(r.method, r.status) for r in writes] == [("POST", 201), ("PATCH", 200)]


async def test_events_the_bot_caused_are_ignored(box: Harness) -> None:
    number, sha = open_pr(box, demo.NEW_KEP)
    event = pull_request_event(box.double, REPO, number, "synchronize", sender="kepbot[bot]")
    assert await box.deliver(event) == 202
    await box.idle()
    assert box.double.check_runs(REPO, sha) == []


async def test_the_same_delivery_twice_gives_one_check_run(box: Harness) -> None:
    number, sha = open_pr(box, demo.NEW_KEP)
    event = pull_request_event(box.double, REPO, number, "opened")
    assert await box.deliver(event, delivery_id="same") == 202
    assert await box.deliver(event, delivery_id="same") == 200
    await box.check_run(REPO, sha)
    await box.idle()
    assert len(box.double.check_runs(REPO, sha)) == 1


async def test_rerequest_runs_the_check_again_in_the_same_run(box: Harness) -> None:
    number, sha = open_pr(box, demo.NEW_KEP)
    await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
    first = await box.check_run(REPO, sha)
    await box.idle()
    start, notes = len(box.double.requests), len(first.annotations)
    await box.deliver(check_run_event(box.double, REPO, first.id, "rerequested", sender="alice"))

    def rewritten() -> bool:
        return any(
            r.method == "PATCH" and r.path.endswith(f"/check-runs/{first.id}")
            for r in box.double.requests[start:]
        )

    await box.until(rewritten)
    await box.idle()
    (again,) = box.double.check_runs(REPO, sha)
    assert again.id == first.id and again.conclusion == "failure"
    assert len(again.annotations) == notes == 2, "no annotation twice"


async def test_a_pr_that_changes_no_proposal_is_neutral(box: Harness) -> None:
    number = box.double.open_pull_request(REPO, "docs", {"docs/x.md": "x"}, "Docs", author="bob")
    sha = box.double.branch_sha(REPO, "docs") or ""
    await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
    assert (await box.check_run(REPO, sha)).conclusion == "neutral"


async def test_invalid_config_on_the_default_branch_fails_the_check_with_its_line(
    box: Harness,
) -> None:
    box.double.push(
        REPO, "main", {".github/kepbot.yml": "extends: kep\nnumbring: {}\n"}, "cfg", "carol"
    )
    number, sha = open_pr(box, demo.NEW_KEP)
    await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
    run = await box.check_run(REPO, sha)
    assert run.conclusion == "failure"
    assert ".github/kepbot.yml:2: numbring: unknown key" in run.output["summary"]


async def test_config_in_the_pr_is_not_used(box: Harness) -> None:
    """docs/design.md I5: a PR that relaxes the rules for itself is checked by the default
    branch's."""
    relax = (
        "extends: kep\nvalidation:\n  rules:\n    status.unknown: 'off'\n    schema.date: 'off'\n"
    )
    files: dict[str, str | None] = {KEP: demo.NEW_KEP, ".github/kepbot.yml": relax}
    number = box.double.open_pull_request(REPO, "sneaky", files, "KEP", author="alice")
    sha = box.double.branch_sha(REPO, "sneaky") or ""
    await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
    run = await box.check_run(REPO, sha)
    assert run.conclusion == "failure"
    assert {a["title"] for a in run.annotations} >= {"status.unknown", "schema.date"}


async def test_token_mode_reports_a_commit_status() -> None:
    credentials = app_credentials()
    double = demo.seed(credentials)
    token = double.add_personal_token("kepbot-user")
    double.set_permission(REPO, "kepbot-user", "write")
    async with harness(double, None, token=token) as box:
        number, sha = open_pr(box, demo.NEW_KEP)
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        (status,) = await box.until(lambda: double.statuses(REPO, sha))
        assert (status.state, status.context) == ("failure", "kepbot")
        assert status.description and status.description.startswith("2 errors")


async def test_github_enterprise_server_paths() -> None:
    credentials = app_credentials()
    async with harness(demo.seed(credentials), credentials, base_path="/api/v3") as box:
        assert box.bot.settings.github_api_url.endswith("/api/v3")
        number, sha = open_pr(box, demo.NEW_KEP)
        await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
        assert (await box.check_run(REPO, sha)).conclusion == "failure"
