"""kplane's numbers "are sequential and never reused" (docs/design.md I1, `numbering.history`):
a KPEP deleted from the tree keeps its number, read once from the history and then from the
mark the bot keeps, so a later merge reads no history again.

Through the real server and the double: KPEPs pushed and deleted on the default branch, a new
KPEP's pull request merged, its `closed` delivery, and the number on the default branch.
"""

from __future__ import annotations

from bot.engine.config import load_preset
from bot.github.numbers import HISTORY_REFS, NUMBER_REFS
from bot.sandbox.cost import critical_path, route
from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import pull_request_event
from bot.sandbox.pipeline import RecordedRequest
from bot.sandbox.testing import app_credentials, new_double

OWNER, NAME = "kplane-dev", "enhancements"
REPO = f"{OWNER}/{NAME}"
CREDENTIALS = app_credentials()


def kpep(number: str, title: str) -> str:
    """A KPEP as kplane's template writes one."""
    return (
        f"# KPEP-{number}: {title}\n\n| Field | Value |\n|---|---|\n"
        "| **Status** | `provisional` |\n| **Authors** | @alice |\n"
        "| **Created** | 2026-11-01 |\n| **Last updated** | 2026-11-01 |\n"
        "| **Tracking issue** | TBD |\n| **Affected repos** | TBD |\n| **Supersedes** | N/A |\n\n"
        "## Summary\n\nText.\n\n## Motivation\n\nText.\n"
    )


def seed() -> GitHubDouble:
    double = new_double(CREDENTIALS)
    double.add_org(OWNER)
    double.add_repo(
        OWNER,
        NAME,
        {
            "README.md": "kplane enhancements\n",
            ".github/kepbot.yml": "extends: kpep\n",
            ".github/CODEOWNERS": f"* @{OWNER}/leads\n",
            "kpeps/0001-storage/README.md": kpep("0001", "Storage"),
            "kpeps/0002-quota/README.md": kpep("0002", "Quota"),
        },
    )
    double.add_team_member(OWNER, "leads", "carol")
    double.add_installation(OWNER)
    # 0003 was merged once and deleted since: its number is spent.
    double.push(REPO, "main", {"kpeps/0003-sharding/README.md": kpep("0003", "Sharding")})
    double.push(REPO, "main", {"kpeps/0003-sharding/README.md": None}, "Drop 0003")
    double.push(REPO, "main", {"docs/notes.md": "Notes.\n"}, "Notes")
    return double


async def merge_new(
    box: Harness, slug: str, latency: float = 0.0
) -> tuple[str, list[RecordedRequest]]:
    """A new KPEP's pull request merged and delivered (answers slowed by `latency`): the
    folder it was numbered to, and the requests the bot made for the delivery."""
    double = box.double
    files: dict[str, str | None] = {f"kpeps/NNNN-{slug}/README.md": kpep("NNNN", slug.title())}
    number = double.open_pull_request(REPO, slug, files, f"KPEP: {slug}", author="alice")
    double.merge(REPO, number)
    if latency:
        double.inject("*", r".", None, times=None, latency=latency)
    start = len(double.requests)
    assert await box.deliver(pull_request_event(double, REPO, number, "closed")) == 202
    await box.idle()
    double.clear_faults()
    made = double.requests[start:]
    folders = [
        path.split("/")[1]
        for path in double.paths_at(REPO, "main")
        if path.startswith("kpeps/") and path.endswith(f"-{slug}/README.md")
    ]
    assert len(folders) == 1, folders
    return folders[0], made


def history_marks(double: GitHubDouble) -> dict[str, str]:
    refs = double.state.repo(REPO).refs
    return {name: sha for name, sha in refs.items() if name.startswith(HISTORY_REFS)}


def test_kplane_never_reuses_numbers_and_the_others_need_not_read_history() -> None:
    assert load_preset("kpep").numbering.history
    others = ("kep", "kep-2017", "gep", "agentic")
    assert not any(load_preset(name).numbering.history for name in others)


async def test_a_number_deleted_from_the_tree_is_not_given_again() -> None:
    async with harness(seed(), CREDENTIALS) as box:
        folder, made = await merge_new(box, "autoscaling")
        assert folder == "0004-autoscaling"
        text = (box.double.file_at(REPO, "main", f"kpeps/{folder}/README.md") or b"").decode()
        assert text.startswith("# KPEP-0004: Autoscaling\n")
        # the first merge read the history of kpeps/ once, and left the mark on its commit:
        # 3 is the highest number no reservation holds
        assert [route(r, REPO) for r in made].count("GET commits") == 1
        assert f"{NUMBER_REFS}4" in box.double.state.repo(REPO).refs
        marks = history_marks(box.double)
        assert marks == {f"{HISTORY_REFS}3": box.double.branch_sha(REPO, "main")}


async def test_a_second_merge_reads_only_what_came_since_the_mark() -> None:
    async with harness(seed(), CREDENTIALS) as box:
        await merge_new(box, "autoscaling")
        commits = len(box.double.commits(REPO, "main"))
        folder, made = await merge_new(box, "federation", latency=0.02)
        assert folder == "0005-federation"
        # the first page of the history beside the reserved numbers, the mark moved beside
        # the comment: within a merge's 8 round trips
        assert len(critical_path(made)) <= 8
        routes = sorted(route(r, REPO) for r in made)
        # The merge's own requests (docs/design.md C6), and the history since the mark: one
        # page of commits and the mark moved; no tree but the merge commit's is read.
        assert routes == sorted(
            [
                "GET pulls/N/files",
                "GET branches/main",
                "GET git/trees/{sha}",
                "GET git/blobs/{sha}",
                "GET git/matching-refs/kepbot/numbers",
                "GET commits",
                "GET issues/N/comments",
                "POST git/refs",
                "POST git/trees",
                "POST git/commits",
                "PATCH git/refs/heads/main",
                "PATCH git/refs/kepbot/numbers/history/N",
                "POST issues/N/comments",
            ]
        )
        history = next(r for r in made if route(r, REPO) == "GET commits")
        assert history.query.get("path") == "kpeps"
        assert len(box.double.commits(REPO, "main")) == commits + 2
        head = box.double.branch_sha(REPO, "main")
        assert history_marks(box.double) == {f"{HISTORY_REFS}3": head}


async def test_a_number_pushed_and_deleted_between_merges_is_not_given_again() -> None:
    async with harness(seed(), CREDENTIALS) as box:
        await merge_new(box, "autoscaling")
        double = box.double
        double.push(REPO, "main", {"kpeps/0009-typed/README.md": kpep("0009", "Typed")}, "9")
        double.push(REPO, "main", {"kpeps/0009-typed/README.md": None}, "Drop 0009")
        folder, made = await merge_new(box, "federation")
        assert folder == "0010-federation"
        assert f"{NUMBER_REFS}10" in double.state.repo(REPO).refs
        # only the trees of the two commits since the mark were read, besides the merge's
        assert [route(r, REPO) for r in made].count("GET git/trees/{sha}") == 3
        assert history_marks(double) == {f"{HISTORY_REFS}9": double.branch_sha(REPO, "main")}


async def test_a_history_longer_than_a_page_is_read_to_its_first_commit() -> None:
    double = seed()
    for edit in range(120):  # 0003's commits end up past the first page of 100
        text = kpep("0001", "Storage") + f"\nEdit {edit}.\n"
        double.push(REPO, "main", {"kpeps/0001-storage/README.md": text}, f"Edit {edit}")
    async with harness(double, CREDENTIALS) as box:
        folder, made = await merge_new(box, "autoscaling")
        assert folder == "0004-autoscaling"
        pages = [r.query.get("page") for r in made if route(r, REPO) == "GET commits"]
        assert pages == ["1", "2"]
