"""Two new KEPs of one SIG and their production readiness review files (docs/design.md B4).

Kubernetes names the approval file by the KEP's number (`keps/prod-readiness/<sig>/<N>.yaml`);
until a KEP has its number, `NNNN.yaml` would be the file of every new KEP of the SIG. Each
may name its own by its folder (`NNNN-<slug>.yaml`), and numbering at merge renames each to
its own number; two KEPs sharing `NNNN.yaml` get a check finding that names the files.

Through the real server and the double, on the demo's kubernetes/enhancements.
"""

from __future__ import annotations

from bot import demo
from bot.engine.config import load_preset
from bot.engine.tree import MemoryTree
from bot.engine.validate import validate_tree
from bot.sandbox.cost import KEP
from bot.sandbox.harness import Harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event

REPO = demo.REPO
REVIEWS = "keps/prod-readiness/sig-node"
SLUGS = ("pod-restart-budget", "pod-quota")


def kep_files(slug: str, own_review: bool) -> dict[str, str | None]:
    folder = f"keps/sig-node/NNNN-{slug}"
    title = slug.replace("-", " ").capitalize()
    review = f"{REVIEWS}/NNNN-{slug}.yaml" if own_review else f"{REVIEWS}/NNNN.yaml"
    return {
        f"{folder}/kep.yaml": KEP.replace("Pod restart budget", title),
        f"{folder}/README.md": demo.NEW_README.replace("Pod restart budget", title),
        review: demo.NEW_REVIEW,
    }


async def open_pr(box: Harness, own_review: bool) -> int:
    files: dict[str, str | None] = {}
    for slug in SLUGS:
        files.update(kep_files(slug, own_review))
    double = box.double
    number = double.open_pull_request(REPO, "two-keps", files, "Two KEPs", author="alice")
    await box.deliver(pull_request_event(double, REPO, number, "opened"))
    await box.idle()
    return number


def main_files(box: Harness) -> dict[str, str]:
    return {
        path: (box.double.file_at(REPO, "main", path) or b"").decode()
        for path in box.double.paths_at(REPO, "main")
    }


async def test_two_new_keps_of_one_sig_each_get_their_review_file_under_their_number(
    box: Harness,
) -> None:
    double = box.double
    number = await open_pr(box, own_review=True)
    head = double.branch_sha(REPO, "two-keps") or ""
    check = await box.check_run(REPO, head)
    assert "prr." not in str(check.output), check.output
    made = double.add_comment(REPO, number, "/kep approve", "carol")
    await box.deliver(issue_comment_event(double, REPO, made.id, "created"))
    await box.idle()
    approved = await box.check_run(REPO, double.branch_sha(REPO, "two-keps") or "")
    assert approved.conclusion == "success", approved.output  # implementable: PRR read
    double.merge(REPO, number)
    await box.deliver(pull_request_event(double, REPO, number, "closed"))
    await box.idle()
    main = main_files(box)
    # numbers in the order of the folders' names: pod-quota, then pod-restart-budget
    assert "keps/sig-node/754-pod-quota/kep.yaml" in main
    assert "keps/sig-node/755-pod-restart-budget/kep.yaml" in main
    assert main[f"{REVIEWS}/754.yaml"] == demo.NEW_REVIEW.replace("NNNN", "754")
    assert main[f"{REVIEWS}/755.yaml"] == demo.NEW_REVIEW.replace("NNNN", "755")
    assert not [p for p in main if p.startswith(f"{REVIEWS}/NNNN")]
    report = validate_tree(load_preset("kep"), MemoryTree(main))
    assert [f for f in report.findings if f.rule.startswith("prr.")] == []


async def test_two_new_keps_sharing_the_placeholder_review_file_are_told_what_to_name_them(
    box: Harness,
) -> None:
    double = box.double
    await open_pr(box, own_review=False)
    check = await box.check_run(REPO, double.branch_sha(REPO, "two-keps") or "")
    assert check.conclusion == "failure", check.output
    shared = [a for a in check.annotations if "prr.shared" in str(a)]
    assert sorted(a["path"] for a in shared) == [
        f"keps/sig-node/NNNN-{slug}/kep.yaml" for slug in sorted(SLUGS)
    ]
    messages = " ".join(str(a["message"]) for a in shared)
    for slug in SLUGS:
        assert f"{REVIEWS}/NNNN-{slug}.yaml" in messages
    assert f"{REVIEWS}/NNNN.yaml" in messages
