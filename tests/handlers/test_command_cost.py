"""What one `/kep approve` costs in GitHub requests (docs/design.md C1: at most 10 requests and 6
sequential round trips), and that what makes it cheap never makes it wrong: a head moved
by someone else is read again."""

import re

from bot import demo
from bot.sandbox.cost import KEP, approve, critical_path, kep_folder, open_checked_pr
from bot.sandbox.harness import Harness
from bot.sandbox.pipeline import RecordedRequest

REPO = demo.REPO
# The requests of one approve once the caches are warm, in no particular order.
APPROVE = sorted(
    [
        "GET pulls/N",  # the PR (head, labels); every later step reuses it
        "POST issues/comments/N/reactions",  # claim (eyes), beside the two reads below
        "GET issues/N/comments",  # the command history
        "GET git/trees/main",  # the default branch's files (304)
        "PUT contents/{path}",  # the edit
        "POST check-runs",
        "POST issues/N/labels",
        "DELETE issues/N/labels/{name}",
        "PATCH issues/comments/N",  # the status comment
        "POST issues/comments/N/reactions",  # the outcome (+1)
    ]
)


def route(request: RecordedRequest) -> str:
    path = request.path.split(f"/repos/{REPO}/", 1)[-1].split("?", 1)[0]
    path = re.sub(r"(?<=/)\d+(?=/|$)", "N", path)
    path = re.sub(r"^contents/.*", "contents/{path}", path)
    path = re.sub(r"^git/blobs/.*", "git/blobs/{sha}", path)
    path = re.sub(r"/labels/.+$", "/labels/{name}", path)
    return f"{request.method} {path}"


async def test_one_approve_costs_ten_requests_in_four_round_trips(box: Harness) -> None:
    numbers = [await open_checked_pr(box, index) for index in range(3)]
    await approve(box, numbers[0])  # warms the config, role, label and ETag caches
    _, made = await approve(box, numbers[1])
    assert sorted(route(r) for r in made) == APPROVE
    assert "kep/implementable" in box.double.labels(REPO, numbers[1])

    box.double.inject("*", r".", None, times=None, latency=0.02)
    _, slow = await approve(box, numbers[2])
    assert len(slow) == len(APPROVE)
    # pull → claim, history, tree → edit → check, labels, status comment, outcome
    assert len(critical_path(slow)) == 4


async def test_a_head_pushed_after_the_check_is_read_again(box: Harness) -> None:
    number = await open_checked_pr(box, 0)
    kep = f"{kep_folder(0)}/kep.yaml"
    box.double.push(REPO, "kep-0", {kep: KEP + "# a note pushed after the check\n"})
    _, made = await approve(box, number)
    routes = [route(r) for r in made]
    # the new head's file list, and the one file it changed, by its blob sha
    assert "GET pulls/N/files" in routes and routes.count("GET git/blobs/{sha}") == 1
    after = (box.double.file_at(REPO, "kep-0", kep) or b"").decode()
    assert "# a note pushed after the check" in after
    assert "status: implementable" in after
