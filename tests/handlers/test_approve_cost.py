"""A command that moves several proposals is one commit (docs/design.md B3, C7) with a pinned
request list, and keeps what a single edit promises: only the status lines change (I4), a
commit someone pushes meanwhile is kept (I3), a fork gets the changes as suggestions, and
`/kep undo` takes every proposal back, in one commit too.

Each test runs the real server against the double with a PR adding three new KEPs, whose
texts differ from each other (so no two files share a blob).
"""

from __future__ import annotations

from kep_pr import comment

from bot import demo
from bot.sandbox.cost import KEP, approve, critical_path, kep_folder, open_checked_pr, route
from bot.sandbox.harness import Harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event

REPO = demo.REPO
COUNT = 3
BRANCH = "many"
# The requests of `/kep approve` on the PR once the caches are warm (the check runs are
# bot.github.feedback's and are left out here), in no particular order.
APPROVE_MANY = sorted(
    [
        "GET pulls/N",  # the PR (head, labels)
        "POST issues/comments/N/reactions",  # claim (eyes), beside the two reads below
        "GET issues/N/comments",  # the command history
        "GET git/trees/main",  # the default branch's files (304)
        f"GET branches/{BRANCH}",  # the branch is still at the head the files were read at
        "POST git/trees",  # three metadata edits: one tree,
        "POST git/commits",  # one commit,
        f"PATCH git/refs/heads/{BRANCH}",  # one fast-forward
        "POST issues/N/labels",
        "DELETE issues/N/labels/{name}",
        "PATCH issues/comments/N",  # the status comment
        "POST issues/comments/N/reactions",  # the outcome (+1)
    ]
)


def metadata(index: int) -> str:
    return f"{kep_folder(index)}/kep.yaml"


def proposals(count: int = COUNT) -> dict[str, str | None]:
    files: dict[str, str | None] = {}
    for index in range(count):
        title = f"Budget number {index}"
        files[metadata(index)] = KEP.replace("Pod restart budget", title)
        files[f"{kep_folder(index)}/README.md"] = demo.NEW_README.replace(
            "Pod restart budget", title
        )
    return files


def text(box: Harness, path: str, branch: str = BRANCH, repo: str = REPO) -> str:
    return (box.double.file_at(repo, branch, path) or b"").decode()


async def open_many(box: Harness) -> int:
    number = box.double.open_pull_request(REPO, BRANCH, proposals(), "KEPs", author="alice")
    await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
    await box.idle()
    return number


async def test_approving_three_proposals_is_one_commit_with_a_pinned_request_list(
    box: Harness,
) -> None:
    await approve(box, await open_checked_pr(box, 9))  # warms the role, label and ETag caches
    number = await open_many(box)
    before = {metadata(i): text(box, metadata(i)) for i in range(COUNT)}
    commits = len(box.double.commits(REPO, BRANCH))
    box.double.inject("*", r".", None, times=None, latency=0.02)
    _, made = await approve(box, number)
    box.double.clear_faults()
    assert len(box.double.commits(REPO, BRANCH)) == commits + 1
    assert sorted(route(r) for r in made if "check-runs" not in r.path) == APPROVE_MANY
    # pull → claim, history, tree → branch → tree → commit → ref → check, labels, status
    # comment, outcome
    assert len(critical_path(made)) == 7
    head = box.double.commits(REPO, BRANCH)[0][1]
    assert head.message.startswith(f"KEP: {COUNT} proposals → implementable\n")
    for path, old in before.items():
        assert f"{path} → implementable" in head.message
        new = text(box, path)
        removed = [line for line in old.splitlines() if line not in new.splitlines()]
        added = [line for line in new.splitlines() if line not in old.splitlines()]
        assert removed == ["status: provisional"]
        assert added[0] == "status: implementable"
        assert [line.split(":")[0] for line in added[1:]] == ["last-updated"]
    labels = box.double.labels(REPO, number)
    assert "kep/implementable" in labels and "kep/provisional" not in labels


async def test_a_commit_pushed_between_read_and_write_is_kept(box: Harness) -> None:
    number = await open_many(box)
    readme = f"{kep_folder(1)}/README.md"
    slow = box.double.inject("POST", r"/git/trees$", status=None, latency=0.5, times=1)
    made = box.double.add_comment(REPO, number, "/kep approve", "carol")
    await box.deliver(issue_comment_event(box.double, REPO, made.id, "created"))
    await box.until(lambda: slow.hits >= 1)
    human = box.double.push(REPO, BRANCH, {readme: text(box, readme) + "A fix.\n"}, "fix", "alice")
    await box.idle()
    history = [sha for sha, _ in box.double.commits(REPO, BRANCH)]
    assert history[1] == human, "the bot's one commit is on top of alice's"
    assert text(box, readme).endswith("A fix.\n")
    assert all("status: implementable" in text(box, metadata(i)) for i in range(COUNT))
    refused = [r for r in box.double.requests if r.method == "PATCH" and r.status == 422]
    assert len(refused) == 1


async def test_a_fork_gets_every_change_as_a_suggestion(box: Harness) -> None:
    number = box.double.open_pull_request(
        REPO,
        BRANCH,
        proposals(),
        "KEPs",
        author="alice",
        fork_owner="alice",
        maintainer_can_modify=False,
    )
    await comment(box, number, "/kep approve", "carol")
    fork = "alice/enhancements"
    assert all("status: provisional" in text(box, metadata(i), repo=fork) for i in range(COUNT))
    (reply,) = [c.body for c in box.double.comments(REPO, number) if "```diff" in c.body]
    assert reply.count("+status: implementable") == COUNT
    assert all(metadata(i) in reply for i in range(COUNT))


async def test_undo_takes_every_proposal_back_in_one_commit(box: Harness) -> None:
    number = await open_many(box)
    before = {metadata(i): text(box, metadata(i)) for i in range(COUNT)}
    await comment(box, number, "/kep approve", "carol")
    assert all("status: implementable" in text(box, p) for p in before)
    commits = len(box.double.commits(REPO, BRANCH))
    await comment(box, number, "/kep undo", "carol")
    assert {path: text(box, path) for path in before} == before
    assert len(box.double.commits(REPO, BRANCH)) == commits + 1
    await comment(box, number, "/kep undo", "carol")  # nothing left to undo: no commit
    assert len(box.double.commits(REPO, BRANCH)) == commits + 1
    await comment(box, number, "/kep approve", "carol")  # approving again works as before
    assert all("status: implementable" in text(box, p) for p in before)
